//! Issue 4's check through the API: after indexing a devnet chain with traffic, the unspent
//! boxes by token id equal the node's `/blockchain/box/unspent/byTokenId/{id}`, box for box.

mod common;

use std::time::{Duration, Instant};

use common::Api;
use dgcm_chain::FollowerConfig;
use dgcm_devnet::DevnetConfig;
use dgcm_indexer::pgcluster::fresh_test_database;
use dgcm_indexer::{IndexerConfig, IndexerMetrics};
use serde_json::{json, Value};

async fn post(url: &str, path: &str, body: Value) {
    let r = reqwest::Client::new()
        .post(format!("{url}{path}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
}

async fn get(url: &str) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unspent_by_token_equals_the_node() {
    let dn = dgcm_devnet::testing::start_local(DevnetConfig::default()).await;
    let node_url = dn.url();
    let node = dgcm_chain::NodeClient::connect(&node_url).unwrap();
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
        ..IndexerConfig::new(db.clone())
    };
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let indexer = tokio::spawn(dgcm_indexer::run(
        config,
        node,
        std::sync::Arc::new(IndexerMetrics::default()),
        async move {
            let _ = rx.await;
        },
    ));
    for _ in 0..4 {
        post(&node_url, "/devnet/traffic", json!({"txs": 20})).await;
        post(&node_url, "/devnet/mine", json!({"blocks": 2})).await;
    }
    post(&node_url, "/devnet/rollback", json!({"depth": 1})).await;
    post(&node_url, "/devnet/mine", json!({"blocks": 2})).await;
    let best = get(&format!("{node_url}/info")).await["bestFullHeaderId"].clone();

    let mut config = dgcm_api::ApiConfig::devnet(&db);
    config.node = Some(node_url.clone());
    let api = Api::start_with(config);
    let t0 = Instant::now();
    loop {
        let s = api.ok("/api/v1/status").await;
        if s["header_id"] == best {
            assert_eq!(s["lag_blocks"], 0, "{s}");
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "indexer did not catch up: {s}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let info = get(&format!("{node_url}/devnet/info")).await;
    let mut tokens: Vec<String> = info["tokens"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    tokens.push(String::from(
        dgcm_contracts::ProtocolParams::devnet_default().oracle_pool_nft,
    ));
    for token in tokens {
        let want: Vec<Value> = get(&format!(
            "{node_url}/blockchain/box/unspent/byTokenId/{token}?limit=16384"
        ))
        .await
        .as_array()
        .unwrap()
        .clone();
        assert!(!want.is_empty(), "{token} is held somewhere");
        // Small pages, to walk the cursor.
        let mut got = Vec::new();
        let mut cursor = String::new();
        loop {
            let page = api
                .ok(&format!(
                    "/api/v1/boxes/unspent/byTokenId/{token}?limit=3{cursor}"
                ))
                .await;
            for mut b in page["items"].as_array().unwrap().iter().cloned() {
                let o = b.as_object_mut().unwrap();
                assert!(o.remove("spentTransactionId").unwrap().is_null());
                assert!(o.remove("inclusionHeight").unwrap().is_number());
                got.push(b);
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = format!("&cursor={c}"),
                None => break,
            }
        }
        assert_eq!(got.len(), want.len(), "{token}");
        assert!(
            got == want,
            "{token}: the API's boxes differ from the node's"
        );
    }
    api.stop().await;
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), indexer).await;
    dn.stop().await;
}
