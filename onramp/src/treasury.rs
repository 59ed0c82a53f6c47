//! The payout transaction: from the operator's treasury (one P2PK key) to the quoted address,
//! built with ergo-lib's `TxBuilder` and `SimpleBoxSelector`, signed with
//! [`dgcm_chain::wallet::Signer`]. Pure: boxes and state context in, signed transaction out.

use dgcm_chain::wallet::Signer;
use ergo_lib::chain::ergo_box::box_builder::ErgoBoxCandidateBuilder;
use ergo_lib::chain::ergo_state_context::ErgoStateContext;
use ergo_lib::chain::transaction::Transaction;
use ergo_lib::ergotree_ir::chain::address::Address;
use ergo_lib::ergotree_ir::chain::ergo_box::box_value::BoxValue;
use ergo_lib::ergotree_ir::chain::ergo_box::ErgoBox;
use ergo_lib::ergotree_ir::chain::token::{Token, TokenAmount, TokenId};
use ergo_lib::ergotree_ir::ergo_tree::ErgoTree;
use ergo_lib::wallet::box_selector::{BoxSelector, SimpleBoxSelector};
use ergo_lib::wallet::tx_builder::TxBuilder;

#[derive(Debug, thiserror::Error)]
pub enum PayoutError {
    #[error("treasury cannot cover the payout: {0}")]
    Funds(String),
    #[error("cannot build the payout: {0}")]
    Build(String),
    #[error("cannot sign the payout: {0}")]
    Sign(String),
}

/// What to deliver: `nanoerg` in one box to `to`, with `token` when set.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub to: ErgoTree,
    pub nanoerg: u64,
    pub token: Option<(TokenId, u64)>,
}

/// Builds and signs the payout for the block after `ctx`'s best header, from `available`
/// treasury boxes; change goes back to the treasury.
pub fn build_payout(
    signer: &Signer,
    available: Vec<ErgoBox>,
    ctx: &ErgoStateContext,
    delivery: &Delivery,
    fee_nanoerg: u64,
) -> Result<Transaction, PayoutError> {
    // Outputs are created at the current best height: never above the block that includes them.
    let height = ctx.pre_header.height.saturating_sub(1);
    let value =
        BoxValue::new(delivery.nanoerg).map_err(|e| PayoutError::Build(format!("value: {e}")))?;
    let mut out = ErgoBoxCandidateBuilder::new(value, delivery.to.clone(), height);
    let mut tokens = Vec::new();
    if let Some((id, amount)) = delivery.token {
        let t = Token {
            token_id: id,
            amount: TokenAmount::try_from(amount)
                .map_err(|e| PayoutError::Build(format!("token amount {amount}: {e}")))?,
        };
        out.add_token(t.clone());
        tokens.push(t);
    }
    let min = out
        .calc_min_box_value()
        .map_err(|e| PayoutError::Build(e.to_string()))?;
    if *min.as_u64() > delivery.nanoerg {
        return Err(PayoutError::Build(format!(
            "the box would hold {} nanoERG, below the minimum of {}",
            delivery.nanoerg,
            min.as_u64()
        )));
    }
    let out = out.build().map_err(|e| PayoutError::Build(e.to_string()))?;
    let fee = BoxValue::new(fee_nanoerg).map_err(|e| PayoutError::Build(format!("fee: {e}")))?;
    let target = delivery
        .nanoerg
        .checked_add(fee_nanoerg)
        .ok_or_else(|| PayoutError::Build("value overflows".into()))?;
    let target = BoxValue::new(target).map_err(|e| PayoutError::Build(e.to_string()))?;
    if available.is_empty() {
        return Err(PayoutError::Funds(
            "the treasury has no spendable boxes".into(),
        ));
    }
    let selection = SimpleBoxSelector::new()
        .select(available, target, &tokens)
        .map_err(|e| PayoutError::Funds(e.to_string()))?;
    let inputs: Vec<ErgoBox> = selection.boxes.iter().cloned().collect();
    let change = Address::P2Pk(signer.pk.clone());
    let unsigned = TxBuilder::new(selection, vec![out], height, fee, change)
        .build()
        .map_err(|e| PayoutError::Build(e.to_string()))?;
    signer
        .sign(unsigned, inputs, vec![], ctx)
        .map_err(|e| PayoutError::Sign(e.to_string()))
}
