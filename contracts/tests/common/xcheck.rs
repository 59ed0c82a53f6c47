//! Cross-check records: when `DGCM_XCHECK_DIR` is set, every transaction the suite validates is
//! written there as one JSON file (boxes in Fleet/node JSON with amounts as strings, the
//! unsigned transaction with its context extensions, the signed inputs' proofs and the bytes they
//! sign, the height, ergo-lib's own reduction of every input and its validation verdict).
//! `npm run xcheck -- DIR` (contracts/test/xcheck.mjs) reduces the same inputs with the
//! reference interpreter (sigmastate-js) and requires the verdicts to agree.

use std::cell::Cell;
use std::path::PathBuf;

use dgcm_contracts::{Contracts, ProtocolParams};
use ergo_lib::chain::ergo_state_context::ErgoStateContext;
use ergo_lib::chain::transaction::unsigned::UnsignedTransaction;
use ergo_lib::chain::transaction::Transaction;
use ergo_lib::ergotree_interpreter::eval::reduce_to_crypto;
use ergo_lib::ergotree_ir::chain::ergo_box::ErgoBox;
use ergo_lib::ergotree_ir::ergo_tree::ErgoTree;
use ergo_lib::ergotree_ir::serialization::SigmaSerializable;
use ergo_lib::ergotree_ir::sigma_protocol::sigma_boolean::{
    SigmaBoolean, SigmaConjecture, SigmaProofOfKnowledgeTree,
};
use ergo_lib::wallet::signing::{make_context, TransactionContext};
use serde_json::{json, Value};

use super::Verdict;

thread_local! {
    static CASE: Cell<u32> = const { Cell::new(0) };
    static DEPLOYMENT: Contracts =
        Contracts::new(ProtocolParams::devnet_default()).expect("devnet deployment");
}

/// Protocol kind of each box (by template hash), `null` for other boxes.
fn kinds<'a>(trees: impl Iterator<Item = &'a ErgoTree>) -> Vec<Value> {
    DEPLOYMENT.with(|c| {
        trees
            .map(|t| {
                c.kind_of(t)
                    .map(|k| Value::from(k.name()))
                    .unwrap_or(Value::Null)
            })
            .collect()
    })
}

/// The output folder, when cross-check records are wanted.
pub fn dir() -> Option<PathBuf> {
    std::env::var_os("DGCM_XCHECK_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
}

/// Node/Fleet JSON with every `value` and `amount` as a string (JS numbers lose precision above 2^53).
fn stringify_amounts(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if (k == "value" || k == "amount") && x.is_number() {
                    *x = Value::String(x.to_string());
                } else {
                    stringify_amounts(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(stringify_amounts),
        _ => {}
    }
}

fn to_json<T: serde::Serialize>(x: &T) -> Value {
    let mut v = serde_json::to_value(x).expect("serialises");
    stringify_amounts(&mut v);
    v
}

/// `true`, `false`, `dlog:<point>`, `dht`, `and(..)`, `or(..)`, `atLeast(k;..)` — the same
/// notation xcheck.mjs prints for the reference interpreter's result.
pub fn describe(sb: &SigmaBoolean) -> String {
    let list = |xs: &mut dyn Iterator<Item = &SigmaBoolean>| {
        xs.map(describe).collect::<Vec<_>>().join(",")
    };
    match sb {
        SigmaBoolean::TrivialProp(b) => b.to_string(),
        SigmaBoolean::ProofOfKnowledge(SigmaProofOfKnowledgeTree::ProveDlog(pd)) => {
            format!(
                "dlog:{}",
                hex::encode(pd.h.sigma_serialize_bytes().unwrap())
            )
        }
        SigmaBoolean::ProofOfKnowledge(SigmaProofOfKnowledgeTree::ProveDhTuple(_)) => "dht".into(),
        SigmaBoolean::SigmaConjecture(SigmaConjecture::Cand(c)) => {
            format!("and({})", list(&mut c.items.iter()))
        }
        SigmaBoolean::SigmaConjecture(SigmaConjecture::Cor(c)) => {
            format!("or({})", list(&mut c.items.iter()))
        }
        SigmaBoolean::SigmaConjecture(SigmaConjecture::Cthreshold(c)) => {
            format!("atLeast({};{})", c.k, list(&mut c.children.iter()))
        }
    }
}

/// ergo-lib's reduction of every input (independently of validation, which stops at the first
/// failing input).
fn reductions(
    tx: &UnsignedTransaction,
    inputs: &[ErgoBox],
    data: &[ErgoBox],
    state: &ErgoStateContext,
) -> Vec<Value> {
    let Ok(tcx) = TransactionContext::new(tx.clone(), inputs.to_vec(), data.to_vec()) else {
        return vec![];
    };
    (0..tx.inputs.len())
        .map(|i| {
            let r = make_context(state, &tcx, i)
                .map_err(|e| e.to_string())
                .and_then(|ctx| {
                    let bx = tcx
                        .get_input_box(&tx.inputs.as_vec()[i].box_id)
                        .ok_or("input box missing")?;
                    let expr = bx.ergo_tree.proposition().map_err(|e| e.to_string())?;
                    reduce_to_crypto(&expr, &ctx).map_err(|e| e.to_string())
                });
            match r {
                Ok(r) => Value::String(describe(&r.sigma_prop)),
                Err(e) => Value::String(format!("error: {e}")),
            }
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
pub fn record(
    dir: &std::path::Path,
    tx: &UnsignedTransaction,
    inputs: &[ErgoBox],
    data: &[ErgoBox],
    signed: Option<&Transaction>,
    state: &ErgoStateContext,
    height: u32,
    verdict: &Verdict,
) {
    let n = CASE.with(|c| {
        c.set(c.get() + 1);
        c.get()
    });
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("unnamed").replace("::", "__");
    let krate = env!("CARGO_CRATE_NAME");
    let name = format!("{krate}__{test}__{n}");
    let (bytes_to_sign, proofs) = match signed {
        Some(s) => (
            s.bytes_to_sign().ok().map(hex::encode),
            s.inputs
                .iter()
                .map(|i| {
                    let b: Vec<u8> = i.spending_proof.proof.clone().into();
                    hex::encode(b)
                })
                .collect::<Vec<_>>(),
        ),
        None => (None, vec![]),
    };
    let verdict = match verdict {
        Verdict::Valid => json!({"result": "ok"}),
        Verdict::Script(i, m) => json!({"result": "script", "input": i, "message": m}),
        Verdict::Other(m) => json!({"result": "other", "message": m}),
    };
    let case = json!({
        "name": name,
        "crate": krate,
        "test": test,
        "case": n,
        "height": height,
        "inputs": inputs.iter().map(to_json).collect::<Vec<_>>(),
        "dataInputs": data.iter().map(to_json).collect::<Vec<_>>(),
        "unsignedTx": to_json(tx),
        "bytesToSign": bytes_to_sign,
        "proofs": proofs,
        "inputKinds": kinds(inputs.iter().map(|b| &b.ergo_tree)),
        "outputKinds": kinds(tx.output_candidates.iter().map(|b| &b.ergo_tree)),
        "ergoLibReductions": reductions(tx, inputs, data, state),
        "verdict": verdict,
    });
    std::fs::create_dir_all(dir).expect("DGCM_XCHECK_DIR is writable");
    std::fs::write(
        dir.join(format!("{name}.json")),
        serde_json::to_string(&case).expect("serialises"),
    )
    .expect("DGCM_XCHECK_DIR is writable");
}
