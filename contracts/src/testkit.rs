//! Helpers for tests and benchmarks that build DGCM chains without wallets: executors funded by
//! made-up boxes, and builder plans turned into transactions with empty proofs (for consumers,
//! like the indexer, that do not validate). Keys come from [`devnet_pk`]: public, test only.

use ergo_lib::chain::transaction::input::prover_result::ProverResult;
use ergo_lib::chain::transaction::{Input, Transaction, TxId};
use ergo_lib::ergo_chain_types::Digest32;
use ergo_lib::ergotree_ir::chain::ergo_box::box_value::BoxValue;
use ergo_lib::ergotree_ir::chain::ergo_box::{ErgoBox, NonMandatoryRegisters};
use ergo_lib::ergotree_ir::chain::token::{Token, TokenAmount, TokenId};
use ergo_lib::ergotree_ir::sigma_protocol::sigma_boolean::ProveDlog;

use crate::trees::{devnet_pk, Contracts, Kind};
use crate::tx::{Executor, TxPlan};
use crate::util::{blake2b256, p2pk_tree};

/// The public test key named `tag`.
pub fn pk(tag: &str) -> ProveDlog {
    ProveDlog::new(devnet_pk(tag))
}

/// An executor `tag` paying from one made-up box of `value` nanoergs and `tokens`.
pub fn funded_executor(tag: &str, value: u64, tokens: &[(TokenId, u64)]) -> Executor {
    let toks: Vec<Token> = tokens
        .iter()
        .map(|(id, n)| Token {
            token_id: *id,
            amount: TokenAmount::try_from(*n).expect("positive token amount"),
        })
        .collect();
    let funding = ErgoBox::new(
        BoxValue::new(value).expect("box value"),
        p2pk_tree(&pk(tag)),
        (!toks.is_empty()).then(|| toks.try_into().expect("1..=255 tokens")),
        NonMandatoryRegisters::empty(),
        1,
        TxId::from(Digest32::from(blake2b256(
            format!("funding/{tag}/{value}").as_bytes(),
        ))),
        0,
    )
    .expect("funding box");
    Executor {
        funding: vec![funding],
        change: p2pk_tree(&pk(tag)),
        fee: 1_100_000,
    }
}

/// The transaction a wallet would sign from `plan`: same inputs, context extensions (path
/// selectors) and outputs, with empty proofs.
pub fn unproven(plan: &TxPlan) -> Transaction {
    let inputs: Vec<Input> = plan
        .unsigned
        .inputs
        .iter()
        .map(|i| {
            Input::new(
                i.box_id,
                ProverResult {
                    proof: vec![].into(),
                    extension: i.extension.clone(),
                },
            )
        })
        .collect();
    Transaction::new(
        inputs.try_into().expect("plans have inputs"),
        plan.unsigned.data_inputs.clone(),
        plan.unsigned.output_candidates.clone(),
    )
    .expect("transaction")
}

/// The first output of `tx` guarded by `kind`'s script.
pub fn output_of(tx: &Transaction, c: &Contracts, kind: Kind) -> ErgoBox {
    tx.outputs
        .iter()
        .find(|b| c.kind_of(&b.ergo_tree) == Some(kind))
        .expect("an output of that kind")
        .clone()
}
