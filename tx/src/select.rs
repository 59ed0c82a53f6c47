//! Funding: which of the user's boxes pay for a transaction — `dgcm_contracts::tx::fund`,
//! starting with the richest box — with errors that name the address and the missing asset.

use dgcm_contracts::tx::FundError;
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
    match dgcm_contracts::tx::fund(candidates, change, fee, true, build) {
        Ok(plan) => Ok(plan),
        Err(FundError::NoBoxes) => Err(funds("the address has no unspent boxes".into())),
        Err(FundError::Build(e)) => Err(TxError::Build { action, source: e }),
        Err(FundError::Short { shortfall, chosen }) => Err(funds(match shortfall {
            BuildError::InsufficientErg { need, have } => format!(
                "outputs and fee need {} ERG, the inputs hold {} ERG",
                format_units(need, ERG_DECIMALS),
                format_units(have, ERG_DECIMALS)
            ),
            BuildError::InsufficientTokens { token, need, .. } => {
                let held: u64 = chosen.iter().map(|b| token_amount(b, &token)).sum();
                format!(
                    "{}: holds {held}, needs {} more",
                    token_name(c, &token),
                    need
                )
            }
            BuildError::DustChange(left, min) => {
                format!("the change of {left} nanoERG is below the {min} nanoERG a box needs")
            }
            other => other.to_string(),
        })),
    }
}
