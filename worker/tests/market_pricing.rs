//! Follow-the-market pricing against the real query API: devnet → indexer → PostgreSQL → API,
//! three comparable listings on chain, and a worker in `market` mode that lists at their median.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dgcm_chain::{FollowerConfig, NodeClient, Signer};
use dgcm_contracts::build;
use dgcm_contracts::codec::Typed;
use dgcm_contracts::listing::{Listing, ListingTerms};
use dgcm_contracts::trees::{Contracts, Kind, ProtocolParams};
use dgcm_contracts::tx::Executor;
use dgcm_devnet::{Devnet, DevnetConfig};
use dgcm_worker::WorkerConfig;

fn signer(i: usize) -> Signer {
    Signer::from_secret_hex(&dgcm_devnet::genesis::test_wallet(i).secret_hex).unwrap()
}

async fn list(node: &NodeClient, c: &Contracts, who: &Signer, price: i64) {
    let height = node.info().await.unwrap().full_height.unwrap_or(0) + 1;
    let mut funding = node.unspent_boxes_by_tree(&who.tree, true).await.unwrap();
    funding.sort_by_key(|b| b.tokens.is_none()); // the box with GPUC first
    let listing = Listing {
        value: 2_000_000,
        nft: c.params.gpuc_id, // the builder mints the NFT
        stake: 1_000,
        provider: who.pk.clone(),
        terms: ListingTerms {
            price_per_hour: price,
            collateral_per_hour: 100,
            min_hours: 1,
            max_hours: 8,
            vram_mib: 24_576,
            gpu_count: 1,
            benchmark_score: 9_000,
            limits: dgcm_contracts::capacity::Capacity {
                memory_mib: 4096,
                cpu_millis: 2000,
                pids: 256,
                disk_mib: 1024,
            },
        },
        model: "RTX 4090".into(),
        region: "eu-west".into(),
        endpoint: "http://other.test".into(),
        busy_until: None,
    };
    let exec = Executor {
        funding: funding.into_iter().take(1).collect(),
        change: who.tree.clone(),
        fee: 1_100_000,
    };
    let plan = build::list_listing(c, &listing, height, &exec).unwrap();
    let ctx = node.state_context().await.unwrap();
    let tx = who
        .sign(plan.unsigned, plan.inputs, plan.data_inputs, &ctx)
        .unwrap();
    node.submit_transaction(&tx).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn market_mode_lists_at_the_median_of_comparable_listings_from_the_query_api() {
    let devnet = dgcm_devnet::start(
        Devnet::new(DevnetConfig {
            block_time: Some(Duration::from_millis(200)),
            ..Default::default()
        })
        .unwrap(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let url = devnet.url();
    let node = NodeClient::connect(&url).unwrap();
    let c = Contracts::new(ProtocolParams::devnet_default()).unwrap();
    while node.info().await.unwrap().full_height.unwrap_or(0) < 1 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // devnet → indexer → PostgreSQL → query API
    let db = dgcm_indexer::pgcluster::fresh_test_database().unwrap();
    let mut ic = dgcm_indexer::IndexerConfig::new(db.clone());
    ic.contracts = Some(Contracts::new(ProtocolParams::devnet_default()).unwrap());
    ic.follower = FollowerConfig {
        poll_interval: Duration::from_millis(50),
        ..Default::default()
    };
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let indexer = tokio::spawn(dgcm_indexer::run(
        ic,
        node.clone(),
        Arc::new(dgcm_indexer::IndexerMetrics::default()),
        async move {
            let _ = rx.await;
        },
    ));
    let state = Arc::new(dgcm_api::AppState::new(dgcm_api::ApiConfig::devnet(db)).unwrap());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let api_url = format!("http://{}", listener.local_addr().unwrap());
    let api = dgcm_api::server(state, listener, 1).unwrap();
    let api_handle = api.handle();
    tokio::spawn(api);

    for (i, price) in [(1, 800), (2, 1_000), (3, 1_400)] {
        list(&node, &c, &signer(i), price).await;
    }
    let t0 = Instant::now();
    loop {
        let v: serde_json::Value =
            reqwest::get(format!("{api_url}/api/v1/listings?model=RTX%204090"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        if v["items"].as_array().map_or(0, |a| a.len()) == 3 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the API never showed 3 listings: {v}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("provider.key");
    std::fs::write(&key, &dgcm_devnet::genesis::test_wallet(4).secret_hex).unwrap();
    let mut cfg = WorkerConfig {
        listen: "127.0.0.1:0".into(),
        public_url: Some("http://worker.test:8090".into()),
        state_dir: dir.path().join("state"),
        node: url.clone(),
        query_api: Some(api_url.clone()),
        provider_key_file: Some(key),
        runtime: "process".into(),
        allow_process_runtime: true,
        block_time: Duration::from_millis(200),
        poll_interval: Duration::from_millis(100),
        ..Default::default()
    };
    cfg.gpu.nvml = false;
    cfg.gpu.model = "RTX 4090".into();
    cfg.gpu.vram_mib = 24_576;
    cfg.listing.stake = 1_000;
    cfg.listing.collateral_per_hour = 100;
    cfg.pricing.mode = "market".into();
    cfg.pricing.price_per_hour = 3_000;
    cfg.pricing.min_price = 500;
    cfg.pricing.max_price = 5_000;
    cfg.pricing.interval = Duration::from_millis(200);
    let worker = dgcm_worker::start(cfg).await.unwrap();

    let provider = signer(4);
    let t0 = Instant::now();
    let price = loop {
        let ours: Vec<Typed<Listing>> = node
            .unspent_boxes_by_tree(c.tree(Kind::Listing), false)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|b| Typed::<Listing>::parse(&c, b).ok())
            .filter(|l| l.v.provider == provider.pk)
            .collect();
        if let Some(l) = ours.first() {
            break l.v.terms.price_per_hour;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the worker never listed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        price, 1_000,
        "the median of 800, 1000 and 1400 (not the configured 3000)"
    );
    worker.stop().await;
    api_handle.stop(true).await;
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), indexer).await;
    devnet.stop().await;
}
