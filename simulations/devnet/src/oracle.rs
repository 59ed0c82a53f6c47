//! The ERG/USD oracle pool stand-in: `POST /devnet/oracle {rate}` has the devnet's oracle
//! operator publish a new rate, spending the pool box into its successor (same NFT, R4 = the
//! new nanoERG per USD, R5 = epoch + 1), as the real pool's refresh does. Tests use it to make
//! LETS accounts unhealthy.

use ergo_lib::ergotree_ir::chain::ergo_box::box_value::BoxValue;
use ergo_lib::ergotree_ir::chain::ergo_box::{ErgoBoxCandidate, NonMandatoryRegisterId};
use ergo_lib::ergotree_ir::mir::constant::TryExtractInto;
use ergo_lib::wallet::tx_builder::SUGGESTED_TX_FEE;
use serde::{Deserialize, Serialize};

use crate::genesis::{oracle_operator, oracle_pool_nft, oracle_registers};
use crate::state::DevnetState;
use crate::traffic::signed_payment;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OracleUpdate {
    /// nanoERG per 1 USD (500000000 = 1 ERG is 2 USD).
    pub rate: i64,
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
        return Err("rate: must be a positive number of nanoERG per USD".into());
    }
    let nft = oracle_pool_nft();
    let pool = state
        .utxo()
        .chain(state.mempool_outputs())
        .find(|b| {
            b.tokens.iter().flatten().any(|t| t.token_id == nft)
                && state.mempool_spender(&b.box_id()).is_none()
        })
        .cloned()
        .ok_or("the oracle pool box is not unspent")?;
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
        additional_registers: oracle_registers(req.rate, epoch + 1),
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
        epoch: epoch + 1,
    })
}
