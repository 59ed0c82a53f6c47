//! The oracle pool stand-ins: `POST /devnet/oracle {rate, pool?, epoch?}` has the devnet's oracle
//! operator publish a new datapoint, spending the pool box into its successor (same NFT, R4 = the
//! new rate, R5 = the given epoch or epoch + 1, created in the next block), as a real pool's
//! refresh does. `pool` names a listed collateral asset (`rsBTC`, `rsETH`, `rsUSDT`: R4 is
//! nanoERG per whole token) or a pool NFT id; absent, the ERG/USD pool (nanoERG per USD). Tests
//! use it to make LETS accounts unhealthy and to refresh a stale pool.

use ergo_lib::ergotree_ir::chain::ergo_box::box_value::BoxValue;
use ergo_lib::ergotree_ir::chain::ergo_box::{ErgoBoxCandidate, NonMandatoryRegisterId};
use ergo_lib::ergotree_ir::chain::token::TokenId;
use ergo_lib::ergotree_ir::mir::constant::TryExtractInto;
use ergo_lib::wallet::tx_builder::SUGGESTED_TX_FEE;
use serde::{Deserialize, Serialize};

use crate::genesis::{oracle_operator, oracle_pool_nft, oracle_registers};
use crate::state::DevnetState;
use crate::traffic::signed_payment;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OracleUpdate {
    /// The datapoint: nanoERG per 1 USD for the ERG/USD pool (500000000 = 1 ERG is 2 USD),
    /// nanoERG per whole token for an asset's pool.
    pub rate: i64,
    /// A listed asset's name or a pool NFT id (hex) [default: the ERG/USD pool].
    #[serde(default)]
    pub pool: Option<String>,
    /// The new epoch counter [default: the pool box's + 1].
    #[serde(default)]
    pub epoch: Option<i32>,
}

/// The pool NFT `req.pool` names.
fn pool_nft(req: &OracleUpdate) -> Result<TokenId, String> {
    let Some(name) = req.pool.as_deref() else {
        return Ok(oracle_pool_nft());
    };
    let p = crate::genesis::protocol();
    if let Some(a) = p.asset(name) {
        return Ok(a.pool_nft);
    }
    let bytes: [u8; 32] = hex::decode(name)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            format!(
                "pool: {name:?} is neither a listed asset ({}) nor a 32-byte pool NFT id",
                p.collateral
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
    Ok(dgcm_contracts::util::token_id(bytes))
}

#[derive(Debug, Serialize)]
pub struct OracleUpdated {
    pub tx_id: String,
    pub pool_box: String,
    pub rate: i64,
    pub epoch: i32,
}

pub fn set_rate(state: &mut DevnetState, req: &OracleUpdate) -> Result<OracleUpdated, String> {
    if req.rate <= 0 {
        return Err("rate: must be a positive number of nanoERG per USD (or per token)".into());
    }
    let nft = pool_nft(req)?;
    let pool = state
        .utxo()
        .chain(state.mempool_outputs())
        .find(|b| {
            b.tokens.iter().flatten().any(|t| t.token_id == nft)
                && state.mempool_spender(&b.box_id()).is_none()
        })
        .cloned()
        .ok_or("pool: no unspent box holds this pool's NFT")?;
    let epoch: i32 = pool
        .additional_registers
        .get_constant(NonMandatoryRegisterId::R5)
        .ok()
        .flatten()
        .and_then(|c| c.try_extract_into::<i32>().ok())
        .unwrap_or(0);
    let fee = *SUGGESTED_TX_FEE().as_u64();
    let value = pool
        .value
        .as_u64()
        .checked_sub(fee)
        .filter(|v| *v >= 100_000_000)
        .ok_or("the oracle pool box has no ERG left for the fee")?;
    let out = ErgoBoxCandidate {
        value: BoxValue::new(value).map_err(|e| e.to_string())?,
        ergo_tree: pool.ergo_tree.clone(),
        tokens: pool.tokens.clone(),
        additional_registers: oracle_registers(req.rate, req.epoch.unwrap_or(epoch + 1)),
        creation_height: state.height() + 1,
    };
    let tx = signed_payment(state, &oracle_operator(), vec![pool], vec![out])
        .map_err(|e| e.to_string())?;
    let pool_box = String::from(tx.outputs.first().box_id());
    let id = state.submit(tx).map_err(|e| e.to_string())?;
    Ok(OracleUpdated {
        tx_id: String::from(id),
        pool_box,
        rate: req.rate,
        epoch: req.epoch.unwrap_or(epoch + 1),
    })
}
