//! The index equals a reference index of the final chain after many random reorgs and
//! interruptions: real PostgreSQL, the devnet over HTTP.

mod common;

use common::*;
use dgcm_devnet::DevnetConfig;
use dgcm_indexer::pgcluster::fresh_test_database;
use rand::{Rng, SeedableRng};

async fn post(url: &str, path: &str, body: serde_json::Value) -> serde_json::Value {
    let r = reqwest::Client::new()
        .post(format!("{url}{path}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_reorgs_and_interruptions_match_a_reference_index() {
    let dn = dgcm_devnet::testing::start_local(DevnetConfig::default()).await;
    let url = dn.url();
    let node = dgcm_chain::NodeClient::connect(&url).unwrap();
    let db = tokio::task::spawn_blocking(fresh_test_database)
        .await
        .unwrap()
        .unwrap();
    let indexer = spawn(config(&db), node.clone());

    let seed: u64 = std::env::var("DGCM_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("seed {seed} (DGCM_TEST_SEED to replay)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (mut reorgs, mut kills) = (0, 0);
    post(&url, "/devnet/mine", serde_json::json!({"blocks": 12})).await;
    let mut round = 0;
    while reorgs < 55 || kills < 22 {
        round += 1;
        assert!(round < 400, "too many rounds");
        let height = node.info().await.unwrap().full_height.unwrap_or(0);
        // Transactions waiting when a rollback happens mostly die with it (their outputs'
        // creation height is above the new tip), so new traffic comes after the rollback.
        let depth = if rng.gen_bool(0.6) && height > 1 {
            let depth = rng.gen_range(1..=10u32.min(height - 1));
            post(
                &url,
                "/devnet/rollback",
                serde_json::json!({"depth": depth}),
            )
            .await;
            reorgs += 1;
            depth
        } else {
            0
        };
        post(
            &url,
            "/devnet/traffic",
            serde_json::json!({"txs": rng.gen_range(1..6)}),
        )
        .await;
        post(
            &url,
            "/devnet/mine",
            serde_json::json!({"blocks": depth + rng.gen_range(1..3)}),
        )
        .await;
        if rng.gen_bool(0.4) {
            // Mid-sync: the indexer is usually between fetching and committing right now.
            tokio::time::sleep(std::time::Duration::from_millis(rng.gen_range(0..30))).await;
            let d = db.clone();
            if tokio::task::spawn_blocking(move || kill_connections(&d))
                .await
                .unwrap()
                > 0
            {
                kills += 1;
            }
        }
        if rng.gen_bool(0.3) {
            wait_synced(&db, &node).await;
        }
    }
    wait_synced(&db, &node).await;
    assert!(
        indexer
            .metrics
            .errors
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1,
        "interruptions were noticed"
    );
    eprintln!(
        "{round} rounds, {reorgs} reorgs, {kills} interruptions, {} rollbacks applied",
        indexer
            .metrics
            .blocks_rolled_back
            .load(std::sync::atomic::Ordering::Relaxed)
    );
    indexer.stop().await;

    // Reference: the final chain indexed once from genesis, never forked.
    let reference = tokio::task::spawn_blocking(fresh_test_database)
        .await
        .unwrap()
        .unwrap();
    let clean = spawn(config(&reference), node.clone());
    wait_synced(&reference, &node).await;
    clean.stop().await;
    let (a, b) = (db.clone(), reference.clone());
    let (got, want) = tokio::task::spawn_blocking(move || (dump(&a), dump(&b)))
        .await
        .unwrap();
    for ((t, g), (_, w)) in got.iter().zip(want.iter()) {
        assert_eq!(g.len(), w.len(), "table {t}: row count differs");
        assert!(g == w, "table {t}: rows differ");
    }
    let counts: Vec<(String, usize)> = got.iter().map(|(t, r)| (t.clone(), r.len())).collect();
    eprintln!("rows per table: {counts:?}");
    assert!(
        counts.iter().find(|(t, _)| t == "transactions").unwrap().1 > 50,
        "{counts:?}"
    );

    // The unspent boxes holding each stand-in token are exactly the node's set.
    let info: serde_json::Value = reqwest::get(format!("{url}/devnet/info"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (_, id) in info["tokens"].as_object().unwrap() {
        let token = ergo_lib::ergotree_ir::chain::token::TokenId::from(
            ergo_lib::ergo_chain_types::Digest32::try_from(id.as_str().unwrap().to_string())
                .unwrap(),
        );
        let mut node_ids: Vec<Vec<u8>> = node
            .unspent_boxes_by_token(&token, 0, 16384)
            .await
            .unwrap()
            .into_iter()
            .map(|b| b.box_id().as_ref().to_vec())
            .collect();
        node_ids.sort();
        let d = db.clone();
        let tid = hex::decode(id.as_str().unwrap()).unwrap();
        let ours = tokio::task::spawn_blocking(move || {
            dgcm_indexer::Store::connect(&d)
                .unwrap()
                .unspent_box_ids_with_token(&tid)
                .unwrap()
        })
        .await
        .unwrap();
        let hexes = |v: &Vec<Vec<u8>>| v.iter().map(hex::encode).collect::<Vec<_>>();
        assert_eq!(
            hexes(&ours),
            hexes(&node_ids),
            "unspent boxes with token {id}"
        );
    }
    dn.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bridged_deposit_through_the_devnet_rosen_stand_in_is_indexed_with_its_path() {
    use dgcm_contracts::{Contracts, ProtocolParams};
    use diesel::prelude::*;
    use diesel::sql_types::Text;
    use ergo_lib::ergotree_ir::chain::address::{Address, AddressEncoder, NetworkPrefix};
    use ergo_lib::ergotree_ir::sigma_protocol::sigma_boolean::ProveDlog;

    let dn = dgcm_devnet::testing::start_local(DevnetConfig::default()).await;
    let url = dn.url();
    let node = dgcm_chain::NodeClient::connect(&url).unwrap();
    let db = tokio::task::spawn_blocking(fresh_test_database)
        .await
        .unwrap()
        .unwrap();
    let contracts = Contracts::new(ProtocolParams::devnet_default()).unwrap();
    let deposit_tree = contracts
        .rosen_deposit(&ProveDlog::new(dgcm_contracts::trees::devnet_pk("alice")))
        .unwrap();
    let deposit_address = AddressEncoder::encode_address_as_string(
        NetworkPrefix::Testnet,
        &Address::recreate_from_ergo_tree(&deposit_tree).unwrap(),
    );
    let mut cfg = config(&db);
    cfg.contracts = Some(contracts);
    let indexer = spawn(cfg, node.clone());
    let done = post(
        &url,
        "/devnet/rosen/transfer",
        serde_json::json!({"to_address": deposit_address, "token": "rsUSDT", "amount": 7_000_000, "source_tx": "0xsource-eth-tx"}),
    )
    .await;
    post(&url, "/devnet/mine", serde_json::json!({"blocks": 2})).await;
    wait_synced(&db, &node).await;
    indexer.stop().await;

    #[derive(QueryableByName, Debug)]
    struct P {
        #[diesel(sql_type = Text)]
        source_tx_id: String,
        #[diesel(sql_type = Text)]
        payment: String,
        #[diesel(sql_type = Text)]
        kind: String,
    }
    let d = db.clone();
    let rows: Vec<P> = tokio::task::spawn_blocking(move || {
        let mut c = PgConnection::establish(&d).unwrap();
        diesel::sql_query(
            "SELECT p.source_tx_id, encode(p.payment_box_id, 'hex') AS payment, pb.kind \
             FROM rosen_paths p JOIN protocol_boxes pb ON pb.box_id = p.payment_box_id",
        )
        .load(&mut c)
        .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].source_tx_id, "0xsource-eth-tx");
    assert_eq!(rows[0].payment, done["payment_box"].as_str().unwrap());
    assert_eq!(
        rows[0].kind, "rosen_deposit",
        "the payment is a DGCM Rosen deposit box"
    );
    dn.stop().await;
}
