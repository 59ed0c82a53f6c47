//! Shared helpers for the devnet's HTTP tests: a devnet on a free port and a node client for it.
#![allow(dead_code)]

use std::sync::Arc;

use dgcm_chain::NodeClient;
use dgcm_devnet::genesis::TestWallet;
use dgcm_devnet::{Devnet, DevnetConfig, RunningDevnet};
use ergo_lib::chain::transaction::Transaction;
use ergo_lib::ergotree_ir::chain::ergo_box::ErgoBox;
use ergo_lib::ergotree_ir::ergo_tree::ErgoTree;

pub async fn devnet() -> (RunningDevnet, NodeClient) {
    devnet_with(DevnetConfig::default()).await
}

pub async fn devnet_with(config: DevnetConfig) -> (RunningDevnet, NodeClient) {
    let d = Devnet::new(config).expect("devnet");
    let running = dgcm_devnet::start(d, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("devnet starts");
    let client = NodeClient::connect(running.url()).expect("client");
    (running, client)
}

pub fn wallet(d: &Arc<Devnet>, i: usize) -> TestWallet {
    d.wallets[i].clone()
}

/// A signed transfer of `value` nanoergs from wallet `from` to `to`, spending `boxes`.
pub fn transfer(
    d: &Arc<Devnet>,
    from: usize,
    boxes: Vec<ErgoBox>,
    to: &ErgoTree,
    value: u64,
) -> Transaction {
    let s = d.state();
    dgcm_devnet::traffic::signed_transfer(&s, &d.wallets[from], boxes, to, value, vec![])
        .expect("transfer builds")
}

/// Wallet `i`'s spendable boxes (mempool-aware).
pub fn boxes_of(d: &Arc<Devnet>, i: usize) -> Vec<ErgoBox> {
    let s = d.state();
    dgcm_devnet::traffic::spendable_boxes(&s, &d.wallets[i].tree)
}

pub use dgcm_devnet::testing::mine;

pub async fn rollback(url: &str, depth: u32) -> serde_json::Value {
    let r = reqwest::Client::new()
        .post(format!("{url}/devnet/rollback"))
        .json(&serde_json::json!({"depth": depth}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "rollback {depth}: {}", r.status());
    r.json().await.unwrap()
}
