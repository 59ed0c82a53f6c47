//! `dgcm bench devnet`: how many submitted transactions per second the devnet validates.
//!
//! The measured path is what `POST /transactions` does once the body is read: parse the node JSON,
//! resolve inputs against UTXO + mempool, full ergo-lib validation (scripts, preservation, dust,
//! sizes), insert into the mempool. The baseline, in the same run and on the same transactions, is
//! bare `TransactionContext::validate` — the physical limit the devnet's own overhead is compared to.

use std::sync::Arc;
use std::time::Instant;

use ergo_lib::chain::transaction::Transaction;
use ergo_lib::ergotree_ir::chain::ergo_box::ErgoBox;
use ergo_lib::wallet::tx_context::TransactionContext;
use serde::Serialize;

use crate::genesis::{self, ERG};
use crate::state::DevnetState;
use crate::traffic::signed_transfer;

#[derive(Debug, Serialize)]
pub struct DevnetBench {
    pub bench: &'static str,
    pub txs: usize,
    pub one_input_txs: usize,
    pub multi_input_txs: usize,
    pub inputs_total: usize,
    /// Parse + resolve + validate + mempool insert, one thread.
    pub validated_tx_per_s: f64,
    /// The same with validation spread over `threads` (prepare/commit under the lock).
    pub parallel_validated_tx_per_s: f64,
    pub threads: usize,
    /// Bare ergo-lib `TransactionContext::validate` on the same transactions, one thread.
    pub baseline_validate_only_tx_per_s: f64,
    /// validated_tx_per_s / baseline_validate_only_tx_per_s.
    pub overhead_ratio: f64,
    pub goal_tx_per_s: f64,
    pub meets_goal: bool,
}

/// Build `n` signed transactions (about one in four with three inputs) over a fresh genesis.
fn workload(n: usize) -> (DevnetState, Vec<(Transaction, Vec<ErgoBox>)>) {
    let wallets: Vec<_> = (0..64).map(genesis::test_wallet).collect();
    let per_wallet = (n * 2 / wallets.len()).max(4) + 4;
    let state = DevnetState::new(genesis::genesis_boxes(&wallets, per_wallet));
    let mut by_owner: Vec<Vec<ErgoBox>> = wallets
        .iter()
        .map(|w| {
            state
                .utxo()
                .filter(|b| b.ergo_tree == w.tree)
                .cloned()
                .collect()
        })
        .collect();
    let mut txs = Vec::with_capacity(n);
    for k in 0..n {
        let i = k % wallets.len();
        // Every wallet takes turns: one round in four spends three boxes per transaction.
        let inputs_wanted = if (k / wallets.len()) % 4 == 3 { 3 } else { 1 };
        let mut picked: Vec<ErgoBox> = Vec::new();
        while picked.len() < inputs_wanted {
            match by_owner[i].pop() {
                Some(b) if b.tokens.is_none() => picked.push(b),
                Some(_) => continue,
                None => break,
            }
        }
        if picked.len() < inputs_wanted {
            continue; // this wallet ran out; the others go on
        }
        let total: u64 = picked.iter().map(|b| *b.value.as_u64()).sum();
        let to = &wallets[(i + 1) % wallets.len()].tree;
        // Send more than one box holds so every picked box is needed.
        let value = total - total / (picked.len() as u64 * 2) - ERG;
        let tx = signed_transfer(&state, &wallets[i], picked.clone(), to, value, vec![])
            .expect("benchmark transfer builds");
        txs.push((tx, picked));
    }
    (state, txs)
}

pub fn run(n: usize, threads: usize) -> DevnetBench {
    let (state, txs) = workload(n);
    let bodies: Vec<Vec<u8>> = txs
        .iter()
        .map(|(t, _)| serde_json::to_vec(t).expect("tx json"))
        .collect();
    let multi = txs.iter().filter(|(t, _)| t.inputs.len() > 1).count();
    let inputs_total = txs.iter().map(|(t, _)| t.inputs.len()).sum();

    // Baseline: bare validation.
    let ctx = state.context();
    let t0 = Instant::now();
    for (tx, inputs) in &txs {
        TransactionContext::new(tx.clone(), inputs.clone(), vec![])
            .expect("context")
            .validate(&ctx)
            .expect("benchmark transactions are valid");
    }
    let baseline = txs.len() as f64 / t0.elapsed().as_secs_f64();

    // The devnet's submit path, one thread.
    let mut s1 = fresh_like(&state);
    let t0 = Instant::now();
    for body in &bodies {
        let tx: Transaction = serde_json::from_slice(body).expect("parse");
        s1.submit(tx).expect("accepted");
    }
    let single = bodies.len() as f64 / t0.elapsed().as_secs_f64();

    // Several threads: prepare/commit under the lock, validation outside (as the HTTP layer does).
    let shared = Arc::new(std::sync::Mutex::new(fresh_like(&state)));
    let chunks: Vec<Vec<Vec<u8>>> = (0..threads.max(1))
        .map(|t| {
            bodies
                .iter()
                .skip(t)
                .step_by(threads.max(1))
                .cloned()
                .collect()
        })
        .collect();
    let t0 = Instant::now();
    std::thread::scope(|scope| {
        for chunk in &chunks {
            let shared = shared.clone();
            scope.spawn(move || {
                for body in chunk {
                    let tx: Transaction = serde_json::from_slice(body).expect("parse");
                    let p = shared
                        .lock()
                        .expect("lock")
                        .prepare(Arc::new(tx))
                        .expect("prepare");
                    p.validate().expect("valid");
                    shared.lock().expect("lock").commit(p).expect("commit");
                }
            });
        }
    });
    let parallel = bodies.len() as f64 / t0.elapsed().as_secs_f64();

    DevnetBench {
        bench: "devnet",
        txs: txs.len(),
        one_input_txs: txs.len() - multi,
        multi_input_txs: multi,
        inputs_total,
        validated_tx_per_s: round(single),
        parallel_validated_tx_per_s: round(parallel),
        threads,
        baseline_validate_only_tx_per_s: round(baseline),
        overhead_ratio: (single / baseline * 1000.0).round() / 1000.0,
        goal_tx_per_s: 1000.0,
        meets_goal: single >= 1000.0,
    }
}

fn fresh_like(state: &DevnetState) -> DevnetState {
    DevnetState::new(state.genesis().to_vec())
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}
