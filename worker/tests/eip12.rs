//! External-wallet mode: a provider without a key file on the worker gets every transaction as
//! EIP-12 JSON to sign in their own wallet, and the worker submits nothing itself.

use std::time::{Duration, Instant};

use dgcm_chain::NodeClient;
use dgcm_contracts::trees::{Contracts, Kind, ProtocolParams};
use dgcm_devnet::DevnetConfig;
use dgcm_worker::WorkerConfig;
use ergo_lib::ergotree_ir::chain::address::NetworkPrefix;
use ergo_lib::ergotree_ir::chain::ergo_box::ErgoBox;
use ergo_lib::ergotree_ir::serialization::SigmaSerializable;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_address_mode_writes_the_listing_as_eip12_and_submits_nothing() {
    let devnet = dgcm_devnet::testing::start_local(DevnetConfig::default()).await;
    let url = devnet.url();
    let node = NodeClient::connect(&url).unwrap();
    reqwest::Client::new()
        .post(format!("{url}/devnet/mine"))
        .json(&serde_json::json!({"blocks": 1}))
        .send()
        .await
        .unwrap();
    let provider = dgcm_devnet::genesis::test_wallet(4);
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = WorkerConfig {
        listen: "127.0.0.1:0".into(),
        public_url: Some("http://worker.test:8090".into()),
        state_dir: dir.path().join("state"),
        node: url.clone(),
        provider_address: Some(provider.encoded_address(NetworkPrefix::Testnet)),
        runtime: "process".into(),
        allow_process_runtime: true,
        block_time: Duration::from_millis(500),
        poll_interval: Duration::from_millis(100),
        ..Default::default()
    };
    cfg.gpu.nvml = false;
    cfg.listing.stake = 2_000;
    cfg.listing.collateral_per_hour = 100;
    let eip12_dir = cfg.eip12_dir();
    let worker = dgcm_worker::start(cfg).await.unwrap();

    let t0 = Instant::now();
    let file = loop {
        let found = std::fs::read_dir(&eip12_dir)
            .ok()
            .and_then(|mut d| d.find_map(|e| e.ok().map(|e| e.path())));
        if let Some(f) = found {
            break f;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "no EIP-12 file in {}",
            eip12_dir.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    tokio::time::sleep(Duration::from_millis(200)).await; // the file is written in one call
    let j: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();

    // Full input boxes, unspent on the node and owned by the provider.
    let inputs = j["inputs"].as_array().expect("inputs");
    assert!(!inputs.is_empty());
    for b in inputs {
        assert!(b["value"].is_string(), "amounts as strings: {b}");
        assert!(b["extension"].is_object());
        let parsed: ErgoBox = serde_json::from_value(b.clone()).expect("a full box");
        let on_node = node
            .unspent_box_with_pool(&parsed.box_id())
            .await
            .unwrap()
            .expect("unspent on the node");
        assert_eq!(parsed, on_node);
        assert_eq!(parsed.ergo_tree, provider.tree, "the provider's own box");
    }
    // One output is the listing, staking the configured GPUC.
    let c = Contracts::new(ProtocolParams::devnet_default()).unwrap();
    let listing_tree = hex::encode(c.tree(Kind::Listing).sigma_serialize_bytes().unwrap());
    let listing = j["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["ergoTree"] == listing_tree.as_str())
        .expect("a listing output");
    let gpuc = String::from(c.params.gpuc_id);
    assert!(
        listing["assets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["tokenId"] == gpuc.as_str() && a["amount"] == "2000"),
        "{listing}"
    );
    // The worker submitted nothing: the wallet signs and submits.
    assert!(node
        .unconfirmed_transactions(0, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(node
        .unspent_boxes_by_tree(c.tree(Kind::Listing), true)
        .await
        .unwrap()
        .is_empty());
    worker.stop().await;
    devnet.stop().await;
}
