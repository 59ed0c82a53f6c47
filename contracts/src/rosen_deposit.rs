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
    /// All tokens; convertible only when empty or exactly `[(SIGUSD_ID, n)]`.
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
    /// SigUSD a conversion credits, or `None` when the tokens make it owner-only.
    pub fn convertible_sigusd(&self, c: &Contracts) -> Option<u64> {
        match self.tokens.as_slice() {
            [] => Some(0),
            [(id, n)] if *id == c.params.sigusd_id => Some(*n),
            _ => None,
        }
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
