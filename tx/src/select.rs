//! Funding: which of the user's boxes pay for a transaction. The builders report exactly what is
//! missing (ERG, a token, room for change), so selection starts with the richest box and adds the
//! box that best covers each shortfall until the builder succeeds or the boxes run out.

use dgcm_contracts::{BuildError, Contracts, Executor, TxPlan};
use ergo_lib::ergotree_ir::chain::ergo_box::ErgoBox;
use ergo_lib::ergotree_ir::ergo_tree::ErgoTree;

use crate::error::{Result, TxError};
use crate::input::{format_units, hex_id, ERG_DECIMALS};

/// A readable name for a token of the deployment.
pub fn token_name(c: &Contracts, hex: &str) -> String {
    let p = &c.params;
    let named = [
        (&p.gpuc_id, "GPUC (in mGPUC)"),
        (&p.sigusd_id, "SigUSD (in cents)"),
        (&p.membership_id, "the membership token"),
        (&p.vault_nft, "the vault NFT"),
    ];
    for (id, name) in named {
        if hex_id(id) == hex {
            return name.to_string();
        }
    }
    format!("token {hex}")
}

fn token_amount(b: &ErgoBox, hex: &str) -> u64 {
    b.tokens
        .iter()
        .flatten()
        .filter(|t| hex_id(&t.token_id) == hex)
        .map(|t| *t.amount.as_u64())
        .sum()
}

fn take_max(pool: &mut Vec<ErgoBox>, key: impl Fn(&ErgoBox) -> u64) -> Option<ErgoBox> {
    let (i, _) = pool
        .iter()
        .enumerate()
        .filter(|(_, b)| key(b) > 0)
        .max_by_key(|(_, b)| key(b))?;
    Some(pool.remove(i))
}

/// Runs `build` with funding from `candidates` (the user's P2PK boxes), change to `change`.
/// `address` and `action` only label errors.
pub fn fund(
    c: &Contracts,
    action: &'static str,
    address: &str,
    candidates: Vec<ErgoBox>,
    change: &ErgoTree,
    fee: u64,
    build: impl Fn(&Executor) -> std::result::Result<TxPlan, BuildError>,
) -> Result<TxPlan> {
    let funds = |reason: String| TxError::Funds {
        address: address.to_string(),
        reason,
    };
    let mut pool = candidates;
    // deterministic order: richest first, then by id
    pool.sort_by(|a, b| {
        b.value
            .as_u64()
            .cmp(a.value.as_u64())
            .then_with(|| hex_id(&a.box_id()).cmp(&hex_id(&b.box_id())))
    });
    if pool.is_empty() {
        return Err(funds("the address has no unspent boxes".into()));
    }
    let mut chosen = vec![pool.remove(0)];
    loop {
        let exec = Executor {
            funding: chosen.clone(),
            change: change.clone(),
            fee,
        };
        let next = match build(&exec) {
            Ok(plan) => return Ok(plan),
            Err(BuildError::InsufficientErg { need, have }) => {
                take_max(&mut pool, |b| *b.value.as_u64()).ok_or_else(|| {
                    funds(format!(
                        "outputs and fee need {} ERG, the inputs hold {} ERG",
                        format_units(need, ERG_DECIMALS),
                        format_units(have, ERG_DECIMALS)
                    ))
                })?
            }
            Err(BuildError::InsufficientTokens { token, need, .. }) => {
                take_max(&mut pool, |b| token_amount(b, &token)).ok_or_else(|| {
                    let held: u64 = chosen.iter().map(|b| token_amount(b, &token)).sum();
                    funds(format!(
                        "{}: holds {held}, needs {} more",
                        token_name(c, &token),
                        need
                    ))
                })?
            }
            Err(BuildError::DustChange(left, min)) => take_max(&mut pool, |b| *b.value.as_u64())
                .ok_or_else(|| {
                    funds(format!(
                        "the change of {left} nanoERG is below the {min} nanoERG a box needs"
                    ))
                })?,
            Err(e) => return Err(TxError::Build { action, source: e }),
        };
        chosen.push(next);
    }
}
