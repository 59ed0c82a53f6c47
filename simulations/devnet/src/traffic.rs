//! Random valid transfers among the test wallets (`POST /devnet/traffic`) and the signing helper
//! the benchmark and tests share.

use ergo_lib::chain::ergo_box::box_builder::ErgoBoxCandidateBuilder;
use ergo_lib::chain::transaction::Transaction;
use ergo_lib::ergotree_ir::chain::ergo_box::box_value::BoxValue;
use ergo_lib::ergotree_ir::chain::ergo_box::{ErgoBox, ErgoBoxCandidate};
use ergo_lib::ergotree_ir::chain::token::{Token, TokenAmount};
use ergo_lib::ergotree_ir::ergo_tree::ErgoTree;
use ergo_lib::wallet::box_selector::{BoxSelector, SimpleBoxSelector};
use ergo_lib::wallet::tx_builder::{TxBuilder, SUGGESTED_TX_FEE};
use ergo_lib::wallet::tx_context::TransactionContext;
use ergo_lib::wallet::Wallet;
use rand::Rng;

use crate::genesis::{TestWallet, ERG};
use crate::state::DevnetState;

/// Boxes of `tree` that are unspent once the mempool is taken into account.
pub fn spendable_boxes(state: &DevnetState, tree: &ErgoTree) -> Vec<ErgoBox> {
    let mut boxes: Vec<ErgoBox> = state
        .utxo()
        .chain(state.mempool_outputs())
        .filter(|b| &b.ergo_tree == tree && state.mempool_spender(&b.box_id()).is_none())
        .cloned()
        .collect();
    // Deterministic order: biggest first keeps the number of inputs small.
    boxes.sort_by(|a, b| {
        b.value
            .as_u64()
            .cmp(a.value.as_u64())
            .then(a.box_id().cmp(&b.box_id()))
    });
    boxes
}

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("wallet has not enough funds: {0}")]
    Funds(String),
    #[error("cannot build transaction: {0}")]
    Build(String),
}

/// Build and sign a transfer of `value` nanoergs (and `tokens`) from `from` to `to`, spending
/// `available` boxes of `from`, for the next block of `state`.
pub fn signed_transfer(
    state: &DevnetState,
    from: &TestWallet,
    available: Vec<ErgoBox>,
    to: &ErgoTree,
    value: u64,
    tokens: Vec<Token>,
) -> Result<Transaction, TransferError> {
    let mut out = ErgoBoxCandidateBuilder::new(
        BoxValue::new(value).map_err(|e| TransferError::Build(e.to_string()))?,
        to.clone(),
        state.height() + 1,
    );
    for t in tokens {
        out.add_token(t);
    }
    let out = out
        .build()
        .map_err(|e| TransferError::Build(e.to_string()))?;
    signed_payment(state, from, available, vec![out])
}

/// Build and sign a transaction from `from`'s `available` boxes paying `outputs` (change back to
/// `from`, the suggested miner fee), for the next block of `state`.
pub fn signed_payment(
    state: &DevnetState,
    from: &TestWallet,
    available: Vec<ErgoBox>,
    outputs: Vec<ErgoBoxCandidate>,
) -> Result<Transaction, TransferError> {
    let height = state.height() + 1;
    let fee = SUGGESTED_TX_FEE();
    let value: u64 = outputs.iter().map(|o| *o.value.as_u64()).sum();
    let tokens: Vec<Token> = outputs
        .iter()
        .flat_map(|o| o.tokens.iter().flatten().cloned())
        .collect();
    let target =
        BoxValue::new(value + fee.as_u64()).map_err(|e| TransferError::Funds(e.to_string()))?;
    let selection = SimpleBoxSelector::new()
        .select(available, target, &tokens)
        .map_err(|e| TransferError::Funds(e.to_string()))?;
    let inputs: Vec<ErgoBox> = selection.boxes.iter().cloned().collect();
    let unsigned = TxBuilder::new(selection, outputs, height, fee, from.address.clone())
        .build()
        .map_err(|e| TransferError::Build(e.to_string()))?;
    let ctx = TransactionContext::new(unsigned, inputs, vec![])
        .map_err(|e| TransferError::Build(e.to_string()))?;
    Wallet::from_secrets(vec![from.secret.clone()])
        .sign_transaction(ctx, &state.context(), None)
        .map_err(|e| TransferError::Build(e.to_string()))
}

/// Submit `n` random valid transfers (ERG, sometimes a token) among `wallets`.
/// Returns the ids of the accepted transactions.
pub fn random_traffic(
    state: &mut DevnetState,
    wallets: &[TestWallet],
    n: usize,
    rng: &mut impl Rng,
) -> Vec<String> {
    let mut ids = Vec::new();
    if wallets.len() < 2 {
        return ids;
    }
    let mut attempts = 0;
    while ids.len() < n && attempts < n * 4 {
        attempts += 1;
        let i = rng.gen_range(0..wallets.len());
        let mut j = rng.gen_range(0..wallets.len() - 1);
        if j >= i {
            j += 1;
        }
        let from = &wallets[i];
        let boxes = spendable_boxes(state, &from.tree);
        let value = rng.gen_range(ERG / 100..10 * ERG);
        let mut tokens = Vec::new();
        if rng.gen_bool(0.3) {
            if let Some(t) = boxes
                .iter()
                .flat_map(|b| b.tokens.iter().flatten())
                .find(|t| t.amount.as_u64() > &1)
            {
                let amount = rng.gen_range(1..=*t.amount.as_u64() / 2);
                tokens.push(Token {
                    token_id: t.token_id,
                    amount: TokenAmount::try_from(amount).expect("positive"),
                });
            }
        }
        match signed_transfer(state, from, boxes, &wallets[j].tree, value, tokens) {
            Ok(tx) => match state.submit(tx) {
                Ok(id) => ids.push(String::from(id)),
                Err(e) => tracing::warn!(error = %e, "devnet traffic transaction refused"),
            },
            Err(e) => tracing::debug!(error = %e, "devnet traffic: skipping a transfer"),
        }
    }
    ids
}
