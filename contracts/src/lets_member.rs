//! LETS member box: a collateral-backed mutual-credit account; plus the oracle rate and the
//! health rule the script applies.

use ergo_lib::ergotree_ir::chain::ergo_box::{ErgoBox, ErgoBoxCandidate};
use ergo_lib::ergotree_ir::mir::constant::Constant;
use ergo_lib::ergotree_ir::sigma_protocol::sigma_boolean::ProveDlog;

use crate::codec::{candidate, expect_tree, tok_err, toks, BoxKind, CodecError, Regs};
use crate::trees::{Contracts, Kind, ProtocolParams};
use crate::util::{sigma_const, tokens};

const K: &str = "lets_member";

/// The least a top-up by anyone must add (the script's rule: at least one of the two): a free or
/// dust re-spend of someone's account would grief their pending transactions.
pub const MIN_TOP_UP_NANOERG: u64 = 10_000_000;
/// … or this many SigUSD cents (1 USD).
pub const MIN_TOP_UP_SIGUSD: u64 = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// ERG collateral.
    pub value: u64,
    /// tokens(1): SigUSD collateral in cents (0 = no second token).
    pub sigusd: u64,
    /// R4: balance in mGPUC (negative = debt).
    pub balance: i64,
    /// R5.
    pub owner: ProveDlog,
}

impl BoxKind for Member {
    const KIND: Kind = Kind::LetsMember;

    fn parse(c: &Contracts, b: &ErgoBox) -> Result<Member, CodecError> {
        expect_tree(K, b, &c.lets_member)?;
        let p = &c.params;
        let sigusd = match toks(b).as_slice() {
            [(m, 1)] if *m == p.membership_id => 0,
            [(m, 1), (s, n)] if *m == p.membership_id && *s == p.sigusd_id => *n,
            _ => {
                return Err(tok_err(
                    K,
                    "expected (MEMBERSHIP_ID, 1) and optionally (SIGUSD_ID, n)",
                ))
            }
        };
        let r = Regs {
            kind: K,
            regs: &b.additional_registers,
        };
        Ok(Member {
            value: *b.value.as_u64(),
            sigusd,
            balance: r.long(4)?,
            owner: r.owner(5)?,
        })
    }
}

impl Member {
    pub fn to_candidate(&self, c: &Contracts, height: u32) -> Result<ErgoBoxCandidate, CodecError> {
        let p = &c.params;
        candidate(
            K,
            c.lets_member.clone(),
            self.value,
            tokens(&[(p.membership_id, 1), (p.sigusd_id, self.sigusd)]),
            vec![Constant::from(self.balance), sigma_const(&self.owner)],
            height,
        )
    }

    /// The script's `healthy`: balance ≥ 0, or a genuine rate and
    /// collateral (cents) ≥ debt (cents) × ratio %.
    pub fn healthy(&self, p: &ProtocolParams, rate: i64) -> bool {
        healthy(p, self.balance, self.value, self.sigusd, rate)
    }
}

/// See [`Member::healthy`]; exact integer arithmetic as in the script.
pub fn healthy(p: &ProtocolParams, balance: i64, value: u64, sigusd: u64, rate: i64) -> bool {
    if balance >= 0 {
        return true;
    }
    if rate <= 0 {
        return false;
    }
    let coll = (value as i128 * 100 + sigusd as i128 * rate as i128) * 100_000;
    let need = (-(balance as i128))
        * p.gpuc_price_cents as i128
        * p.collateral_ratio_pct as i128
        * rate as i128;
    coll >= need
}

/// Upper bound of `(ergOut·100 + sigOut·rate)·100000` a liquidator repaying `r` may take.
pub fn liquidation_allowance(p: &ProtocolParams, r: i64, rate: i64) -> i128 {
    r as i128 * p.gpuc_price_cents as i128 * p.liq_payout_pct as i128 * rate as i128
}

/// The oracle pool rate (nanoERG per USD) of a data-input box for a transaction in block
/// `height`, as the script reads it: the box's tokens(0) must be the pool NFT, it must have been
/// created at most `ORACLE_MAX_AGE` blocks before `height` (a stale box prices nothing), and R4 a
/// positive Long; otherwise `None`.
pub fn oracle_rate(p: &ProtocolParams, b: &ErgoBox, height: u32) -> Option<i64> {
    let t = toks(b);
    if t.first().map(|(id, _)| *id) != Some(p.oracle_pool_nft) {
        return None;
    }
    if (b.creation_height as i64) < height as i64 - p.oracle_max_age as i64 {
        return None;
    }
    Regs {
        kind: "oracle",
        regs: &b.additional_registers,
    }
    .long(4)
    .ok()
    .filter(|r| *r > 0)
}
