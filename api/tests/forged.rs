//! Provenance (protocol v2): a lease created directly at the lease script, naming a provider and
//! their listing NFT, then slashed on the devnet, is recorded by the indexer as forged and leaves
//! that provider's record in the API unchanged; the honest twin, a lease created by a match of
//! the provider's listing, is genuine and counts.

mod common;

use std::time::{Duration, Instant};

use common::Api;
use dgcm_chain::{FollowerConfig, NodeClient, Signer};
use dgcm_contracts::lease::{Lease, LeaseTerms};
use dgcm_contracts::listing::{Listing, ListingTerms};
use dgcm_contracts::order::{Order, OrderTerms};
use dgcm_contracts::{build, Contracts, Executor, TxDraft, TxPlan, Typed};
use dgcm_devnet::DevnetConfig;
use dgcm_indexer::pgcluster::fresh_test_database;
use dgcm_indexer::{IndexerConfig, IndexerMetrics};
use ergo_lib::ergotree_ir::chain::address::{Address, AddressEncoder, NetworkPrefix};
use ergo_lib::ergotree_ir::chain::ergo_box::ErgoBox;
use serde_json::Value;

fn wallet(i: usize) -> Signer {
    Signer::from_secret_hex(&dgcm_devnet::genesis::test_wallet(i).secret_hex).unwrap()
}

async fn exec_of(node: &NodeClient, s: &Signer) -> Executor {
    Executor {
        funding: node.unspent_boxes_by_tree(&s.tree, true).await.unwrap(),
        change: s.tree.clone(),
        fee: 1_100_000,
    }
}

async fn height(node: &NodeClient) -> u32 {
    node.info().await.unwrap().full_height.unwrap_or(0)
}

/// Signs, submits, mines a block; returns the transaction's outputs.
async fn land(node: &NodeClient, url: &str, s: &Signer, plan: TxPlan) -> Vec<ErgoBox> {
    let ctx = node.state_context().await.unwrap();
    let tx = s
        .sign(plan.unsigned, plan.inputs, plan.data_inputs, &ctx)
        .unwrap();
    node.submit_transaction(&tx).await.unwrap();
    dgcm_devnet::testing::mine(url, 1).await;
    tx.outputs.to_vec()
}

fn address(s: &Signer) -> String {
    AddressEncoder::encode_address_as_string(NetworkPrefix::Testnet, &Address::P2Pk(s.pk.clone()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_lease_slashed_on_the_devnet_leaves_the_providers_record_unchanged() {
    let dn = dgcm_devnet::testing::start_local(DevnetConfig::default()).await;
    let url = dn.url();
    let node = NodeClient::connect(&url).unwrap();
    let c = Contracts::new(dgcm_contracts::ProtocolParams::devnet_default()).unwrap();
    let (bob, alice, mallory, matcher) = (wallet(0), wallet(1), wallet(2), wallet(3));
    dgcm_devnet::testing::mine(&url, 1).await;

    // Bob lists his GPU (genuine).
    let listing = Listing {
        value: 2_000_000,
        nft: ergo_lib::ergotree_ir::chain::token::TokenId::from(
            ergo_lib::ergo_chain_types::Digest32::zero(),
        ),
        stake: 10_000,
        provider: bob.pk.clone(),
        terms: ListingTerms {
            price_per_hour: 1000,
            collateral_per_hour: 500,
            min_hours: 1,
            max_hours: 4,
            vram_mib: 24576,
            gpu_count: 1,
            benchmark_score: 9000,
            limits: dgcm_contracts::capacity::Capacity {
                memory_mib: 4096,
                cpu_millis: 2000,
                pids: 256,
                disk_mib: 1024,
            },
        },
        model: "RTX 4090".into(),
        region: "eu-west".into(),
        endpoint: "https://bob.example:8090".into(),
        busy_until: None,
    };
    let h = height(&node).await + 1;
    let plan = build::list_listing(&c, &listing, h, &exec_of(&node, &bob).await).unwrap();
    let outs = land(&node, &url, &bob, plan).await;
    let listing: Typed<Listing> = Typed::parse(&c, outs[0].clone()).unwrap();

    // Mallory creates a lease box directly at the lease script naming Bob and his listing, with
    // a deadline two blocks away, pays it with her own GPUC, and slashes it herself.
    let h = height(&node).await + 1;
    let forged = Lease {
        value: 5_000_000,
        amount: 1500,
        consumer: mallory.pk.clone(),
        provider: bob.pk.clone(),
        terms: LeaseTerms {
            price_per_hour: 1000,
            hours: 1,
            payment: 1000,
            collateral: 500,
            start: h as i64 - 100,
            deadline: h as i64 + 1,
            exec_fee_cap: 1_500_000,
            used_blocks: -1,
            completed_at: -1,
        },
        job_spec_hash: vec![7; 32],
        listing_nft: dgcm_contracts::util::token_bytes(&listing.v.nft),
        usage_commitment: vec![],
    };
    let mut d = TxDraft::new(h);
    d.outputs.push(forged.to_candidate(&c, h).unwrap());
    let plan = d.finish(&exec_of(&node, &mallory).await).unwrap();
    let outs = land(&node, &url, &mallory, plan).await;
    let forged_box: Typed<Lease> = Typed::parse(&c, outs[0].clone()).unwrap();
    dgcm_devnet::testing::mine(&url, 2).await;
    let h = height(&node).await + 1;
    let plan = build::slash(&c, &forged_box, h, &exec_of(&node, &mallory).await).unwrap();
    land(&node, &url, &mallory, plan).await;

    // The honest twin: Alice orders, a matcher matches Bob's listing: a genuine lease.
    let h = height(&node).await + 1;
    let order = Order {
        value: 20_000_000,
        budget: 2000,
        consumer: alice.pk.clone(),
        terms: OrderTerms {
            max_price_per_hour: 1200,
            hours: 1,
            min_vram_mib: 16000,
            min_gpu_count: 1,
            min_benchmark_score: 0,
            expiry_height: h as i64 + 500,
            matcher_fee_cap: 3_000_000,
            lease_exec_fee_cap: 1_500_000,
            requests: Default::default(),
        },
        listing: Some(listing.v.nft),
        model: None,
        region: None,
        job_spec_hash: vec![9; 32],
    };
    let plan = build::place_order(&c, &order, h, &exec_of(&node, &alice).await).unwrap();
    let outs = land(&node, &url, &alice, plan).await;
    let order: Typed<Order> = Typed::parse(&c, outs[0].clone()).unwrap();
    let h = height(&node).await + 1;
    let plan =
        build::match_order(&c, &order, &listing, h, &exec_of(&node, &matcher).await).unwrap();
    let outs = land(&node, &url, &matcher, plan).await;
    let genuine = hex::encode(outs[0].box_id().as_ref());

    // Index it all and ask the API.
    let db = tokio::task::spawn_blocking(fresh_test_database)
        .await
        .unwrap()
        .unwrap();
    let config = IndexerConfig {
        follower: FollowerConfig {
            poll_interval: Duration::from_millis(20),
            ..Default::default()
        },
        mempool_every: None,
        contracts: Some(c.clone()),
        ..IndexerConfig::new(db.clone())
    };
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let indexer = tokio::spawn(dgcm_indexer::run(
        config,
        node.clone(),
        std::sync::Arc::new(IndexerMetrics::default()),
        async move {
            let _ = rx.await;
        },
    ));
    let mut config = dgcm_api::ApiConfig::devnet(&db);
    config.node = Some(url.clone());
    let api = Api::start_with(config);
    let tip = height(&node).await as i64;
    let t0 = Instant::now();
    loop {
        // 500 until the indexer has created its tables
        let (_, s) = api.get("/api/v1/status").await;
        if s["height"].as_i64() == Some(tip) {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "indexer lags: {s}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let bob_addr = address(&bob);
    let leases: Value = api
        .ok(&format!("/api/v1/leases?provider={bob_addr}&limit=50"))
        .await;
    let all = api.ok("/api/v1/leases?limit=50").await;
    let items = leases["items"].as_array().unwrap();
    let forged_id = hex::encode(forged_box.bx.box_id().as_ref());
    let f = items
        .iter()
        .find(|l| l["box_id"] == forged_id.as_str())
        .unwrap_or_else(|| panic!("the forged lease is listed: {leases}\nall: {all}"));
    assert!(
        f["forged"].as_str().is_some_and(|r| r.contains("listing")),
        "marked forged with the reason: {f}"
    );
    assert_eq!(f["state"], "slashed", "{f}");
    let g = items
        .iter()
        .find(|l| l["box_id"] == genuine.as_str())
        .unwrap_or_else(|| panic!("the genuine lease is listed: {leases}"));
    assert!(g["forged"].is_null(), "the matched lease is genuine: {g}");

    let profile = api.ok(&format!("/api/v1/providers/{bob_addr}")).await;
    let rep = &profile["reputation"];
    assert_eq!(
        rep["slashed"], 0,
        "the forged slash does not count: {profile}"
    );
    assert_eq!(rep["leases"], 1, "only the genuine lease counts: {profile}");

    api.stop().await;
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), indexer).await;
    dn.stop().await;
}
