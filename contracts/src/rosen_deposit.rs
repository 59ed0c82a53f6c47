//! Rosen deposit box: a per-user landing address (owner spends, anyone converts into the
//! owner's LETS collateral).

use ergo_lib::ergotree_ir::chain::ergo_box::{ErgoBox, ErgoBoxCandidate};
use ergo_lib::ergotree_ir::chain::token::TokenId;
use ergo_lib::ergotree_ir::sigma_protocol::sigma_boolean::ProveDlog;

use crate::codec::{candidate, toks, BoxKind, CodecError};
use crate::trees::{Contracts, Kind};
use crate::util::tokens;

const K: &str = "rosen_deposit";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosenDeposit {
    pub value: u64,
    /// The OWNER constant of the box's tree.
    pub owner: ProveDlog,
    /// All tokens; convertible only when each is a listed collateral asset.
    pub tokens: Vec<(TokenId, u64)>,
}

impl BoxKind for RosenDeposit {
    const KIND: Kind = Kind::RosenDeposit;

    fn parse(c: &Contracts, b: &ErgoBox) -> Result<RosenDeposit, CodecError> {
        let owner = c.rosen_owner(&b.ergo_tree).ok_or(CodecError::WrongTree {
            kind: K,
            reason: "not this deployment's rosen_deposit template".into(),
        })?;
        Ok(RosenDeposit {
            value: *b.value.as_u64(),
            owner,
            tokens: toks(b),
        })
    }
}

impl RosenDeposit {
    /// The listed assets a conversion credits (summed per token, in the deployment's list
    /// order), or `None` when a token that is not listed makes the box owner-only.
    pub fn convertible_assets(&self, c: &Contracts) -> Option<Vec<(TokenId, u64)>> {
        if self
            .tokens
            .iter()
            .any(|(id, _)| c.params.asset_by_id(id).is_none())
        {
            return None;
        }
        let mut out = Vec::new();
        for a in &c.params.collateral {
            let n = self
                .tokens
                .iter()
                .filter(|(id, _)| *id == a.token_id)
                .try_fold(0u64, |s, (_, n)| s.checked_add(*n))?;
            if n > 0 {
                out.push((a.token_id, n));
            }
        }
        Some(out)
    }

    /// The assets of a deposit the vault's credit path takes (`credit_pct > 0`, e.g. rsUSDT),
    /// summed per token, when every token it holds is one; `None` otherwise (it converts as
    /// collateral, path 1, or stays for its owner).
    pub fn credit_assets(&self, c: &Contracts) -> Option<Vec<(TokenId, u64)>> {
        let all = self.convertible_assets(c)?;
        let creditable = |id: &TokenId| c.params.credit_asset(id).is_some();
        (!all.is_empty() && all.iter().all(|(id, _)| creditable(id))).then_some(all)
    }

    /// A deposit as Rosen's guards create it (no registers).
    pub fn to_candidate(&self, c: &Contracts, height: u32) -> Result<ErgoBoxCandidate, CodecError> {
        let tree = c
            .rosen_deposit(&self.owner)
            .map_err(|e| CodecError::Build {
                kind: K,
                reason: e.to_string(),
            })?;
        candidate(K, tree, self.value, tokens(&self.tokens), vec![], height)
    }
}
