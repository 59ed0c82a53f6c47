//! The devnet through HTTP: validation, mempool rules, test controls, bad input.

mod common;

use common::*;
use dgcm_chain::types::{ScanRequest, TrackingRule};
use dgcm_devnet::genesis::ERG;
use ergo_lib::chain::ergo_box::box_builder::ErgoBoxCandidateBuilder;
use ergo_lib::chain::transaction::input::prover_result::ProverResult;
use ergo_lib::chain::transaction::{Input, Transaction};
use ergo_lib::ergotree_interpreter::sigma_protocol::prover::ContextExtension;
use ergo_lib::ergotree_ir::chain::ergo_box::box_value::BoxValue;
use ergo_lib::ergotree_ir::ergo_tree::{ErgoTree, ErgoTreeHeader};
use ergo_lib::ergotree_ir::mir::bin_op::{BinOp, BinOpKind, LogicalOp, RelationOp};
use ergo_lib::ergotree_ir::mir::bool_to_sigma::BoolToSigmaProp;
use ergo_lib::ergotree_ir::mir::expr::Expr;
use ergo_lib::ergotree_ir::mir::global_vars::GlobalVars;
use ergo_lib::wallet::box_selector::{BoxSelection, BoxSelector, SimpleBoxSelector};
use ergo_lib::wallet::tx_builder::{TxBuilder, SUGGESTED_TX_FEE};
use ergo_lib::wallet::tx_context::TransactionContext;
use ergo_lib::wallet::Wallet;

/// `HEIGHT > h && blob == blob` as an ErgoTree: a script box nobody can spend before height h.
/// (The constant blob only makes the box big enough for ergo-lib's box builder, which panics on
/// boxes under 30 bytes.)
fn height_lock(h: i32) -> ErgoTree {
    let blob: Expr = Expr::Const(vec![7u8; 40].into());
    let expr: Expr = BoolToSigmaProp {
        input: Box::new(
            BinOp {
                kind: BinOpKind::Logical(LogicalOp::And),
                left: Box::new(
                    BinOp {
                        kind: BinOpKind::Relation(RelationOp::Gt),
                        left: Box::new(GlobalVars::Height.into()),
                        right: Box::new(Expr::Const(h.into())),
                    }
                    .into(),
                ),
                right: Box::new(
                    BinOp {
                        kind: BinOpKind::Relation(RelationOp::Eq),
                        left: Box::new(blob.clone()),
                        right: Box::new(blob),
                    }
                    .into(),
                ),
            }
            .into(),
        ),
    }
    .into();
    ErgoTree::new(ErgoTreeHeader::v0(false), &expr).unwrap()
}

fn api_detail(e: &dgcm_chain::NodeError) -> String {
    match e {
        dgcm_chain::NodeError::Api { status, error, .. } => {
            assert_eq!(*status, 400, "expected 400, got {status}: {error:?}");
            format!(
                "{} {}",
                error.reason,
                error.detail.clone().unwrap_or_default()
            )
        }
        other => panic!("expected an API error, got {other}"),
    }
}

#[tokio::test]
async fn valid_transfer_is_accepted_and_mined() {
    let (dn, node) = devnet().await;
    let d = dn.devnet.clone();
    let to = wallet(&d, 1).tree;
    let tx = transfer(&d, 0, boxes_of(&d, 0), &to, 5 * ERG);
    let id = node.submit_transaction(&tx).await.expect("accepted");
    assert_eq!(id, tx.id());
    assert!(node.unconfirmed_transaction(&id).await.unwrap().is_some());
    let out = tx.outputs.first().box_id();
    assert!(
        node.unspent_box(&out).await.unwrap().is_none(),
        "not confirmed yet"
    );
    assert!(node.unspent_box_with_pool(&out).await.unwrap().is_some());
    mine(&dn.url(), 1).await;
    assert_eq!(node.info().await.unwrap().full_height, Some(1));
    assert_eq!(
        node.unspent_box(&out)
            .await
            .unwrap()
            .unwrap()
            .value
            .as_u64(),
        &(5 * ERG)
    );
    assert!(node.unconfirmed_transaction(&id).await.unwrap().is_none());
    let block = node
        .block(&node.block_ids_at(1).await.unwrap()[0])
        .await
        .unwrap();
    assert_eq!(block.transactions().len(), 1);
    assert_eq!(block.transactions()[0].id(), id);
    dn.stop().await;
}

#[tokio::test]
async fn script_box_spent_without_satisfying_script_is_refused() {
    let (dn, node) = devnet().await;
    let d = dn.devnet.clone();
    // Lock 10 ERG behind `HEIGHT > 1000`, confirm it.
    let lock = height_lock(1000);
    let tx = transfer(&d, 0, boxes_of(&d, 0), &lock, 10 * ERG);
    node.submit_transaction(&tx).await.unwrap();
    mine(&dn.url(), 1).await;
    let locked = tx.outputs.first().clone();
    assert_eq!(locked.ergo_tree, lock);

    // Wallet 2 tries to take it at height 2: the script reduces to false.
    let thief = wallet(&d, 2);
    let height = 2;
    let selection = BoxSelection {
        boxes: vec![locked.clone()].try_into().unwrap(),
        change_boxes: vec![],
    };
    let out = ErgoBoxCandidateBuilder::new(
        BoxValue::new(10 * ERG - SUGGESTED_TX_FEE().as_u64()).unwrap(),
        thief.tree.clone(),
        height,
    )
    .build()
    .unwrap();
    let unsigned = TxBuilder::new(
        selection,
        vec![out],
        height,
        SUGGESTED_TX_FEE(),
        thief.address.clone(),
    )
    .build()
    .unwrap();
    // No secret is needed for a height lock, so the transaction "signs" with an empty proof.
    let signed = Transaction::new(
        vec![Input::new(
            locked.box_id(),
            ProverResult {
                proof: vec![].into(),
                extension: ContextExtension::empty(),
            },
        )]
        .try_into()
        .unwrap(),
        None,
        unsigned.output_candidates.clone(),
    )
    .unwrap();
    let err = node
        .submit_transaction(&signed)
        .await
        .expect_err("must be refused");
    let detail = api_detail(&err);
    assert!(
        detail.contains("reduced to false") || detail.contains("false"),
        "{detail}"
    );
    // The box is still there and the devnet still serves.
    assert!(node.unspent_box(&locked.box_id()).await.unwrap().is_some());

    // A P2PK box with a forged (empty) proof is refused as well.
    let victim_box = boxes_of(&d, 3).remove(0);
    let honest = transfer(&d, 3, vec![victim_box.clone()], &thief.tree, ERG);
    let forged = Transaction::new(
        vec![Input::new(
            victim_box.box_id(),
            ProverResult {
                proof: vec![].into(),
                extension: ContextExtension::empty(),
            },
        )]
        .try_into()
        .unwrap(),
        None,
        honest
            .outputs
            .iter()
            .map(|b| b.clone().into())
            .collect::<Vec<_>>()
            .try_into()
            .unwrap(),
    )
    .unwrap();
    let err = node
        .submit_transaction(&forged)
        .await
        .expect_err("forged proof refused");
    api_detail(&err);
    // The honest version passes: the refusal was for the proof, not the shape.
    node.submit_transaction(&honest)
        .await
        .expect("honest spend accepted");
    dn.stop().await;
}

#[tokio::test]
async fn double_spend_is_refused_and_chained_spend_accepted() {
    let (dn, node) = devnet().await;
    let d = dn.devnet.clone();
    let b = boxes_of(&d, 0).remove(0);
    let a = transfer(&d, 0, vec![b.clone()], &wallet(&d, 1).tree, 3 * ERG);
    let conflicting = transfer(&d, 0, vec![b.clone()], &wallet(&d, 2).tree, 4 * ERG);
    node.submit_transaction(&a).await.unwrap();
    let err = node
        .submit_transaction(&conflicting)
        .await
        .expect_err("double spend");
    assert!(api_detail(&err).contains("Double spending attempt"));
    assert!(err.is_lost_race());
    let err = node.submit_transaction(&a).await.expect_err("resubmission");
    assert!(api_detail(&err).contains("already in the mempool"));

    // Wallet 1 spends the unconfirmed output of `a` right away.
    let unconfirmed_out = a.outputs.first().clone();
    let chained = transfer(&d, 1, vec![unconfirmed_out], &wallet(&d, 2).tree, ERG);
    node.submit_transaction(&chained)
        .await
        .expect("chained spend accepted");
    assert_eq!(node.unconfirmed_transactions(0, 50).await.unwrap().len(), 2);
    mine(&dn.url(), 1).await;
    let block = node
        .block(&node.block_ids_at(1).await.unwrap()[0])
        .await
        .unwrap();
    let ids: Vec<_> = block.transactions().iter().map(|t| t.id()).collect();
    assert_eq!(ids, vec![a.id(), chained.id()]);
    // After confirmation the conflicting spend is refused as missing input.
    let err = node
        .submit_transaction(&conflicting)
        .await
        .expect_err("spent box");
    assert!(api_detail(&err).contains("Missing inputs"));
    dn.stop().await;
}

#[tokio::test]
async fn unbalanced_transaction_is_refused() {
    let (dn, node) = devnet().await;
    let d = dn.devnet.clone();
    let w = wallet(&d, 0);
    let b = boxes_of(&d, 0)
        .into_iter()
        .find(|b| b.tokens.is_none())
        .unwrap();
    // Outputs worth more than the input: ergo-lib's preservation check must refuse it.
    let height = 1;
    let sel = SimpleBoxSelector::new()
        .select(
            vec![b.clone()],
            BoxValue::new(ERG + SUGGESTED_TX_FEE().as_u64()).unwrap(),
            &[],
        )
        .unwrap();
    let honest_out =
        ErgoBoxCandidateBuilder::new(BoxValue::new(ERG).unwrap(), w.tree.clone(), height)
            .build()
            .unwrap();
    let honest = TxBuilder::new(
        sel,
        vec![honest_out],
        height,
        SUGGESTED_TX_FEE(),
        w.address.clone(),
    )
    .build()
    .unwrap();
    let inflated = ErgoBoxCandidateBuilder::new(
        BoxValue::new(b.value.as_u64() * 2).unwrap(),
        w.tree.clone(),
        height,
    )
    .build()
    .unwrap();
    let unsigned = ergo_lib::chain::transaction::unsigned::UnsignedTransaction::new(
        honest.inputs.clone(),
        None,
        vec![inflated].try_into().unwrap(),
    )
    .unwrap();
    let ctx = TransactionContext::new(unsigned, vec![b], vec![]).unwrap();
    let signed = Wallet::from_secrets(vec![w.secret.clone()])
        .sign_transaction(ctx, &d.state().context(), None)
        .unwrap();
    let err = node
        .submit_transaction(&signed)
        .await
        .expect_err("inflation refused");
    let detail = api_detail(&err);
    assert!(
        detail.to_lowercase().contains("erg") || detail.contains("value"),
        "{detail}"
    );
    dn.stop().await;
}

#[tokio::test]
async fn garbage_requests_get_4xx_with_reason_and_devnet_keeps_serving() {
    let (dn, node) = devnet().await;
    let url = dn.url();
    let http = reqwest::Client::new();
    let cases: Vec<(&str, &str, Option<&str>)> = vec![
        ("POST", "/transactions", Some("not json")),
        ("POST", "/transactions", Some("{}")),
        ("POST", "/transactions", Some("{\"id\":\"00\",\"inputs\":[],\"dataInputs\":[],\"outputs\":[]}")),
        ("POST", "/transactions/check", Some("[1,2,3]")),
        ("POST", "/transactions", Some("\u{0}\u{1}\u{2}")),
        ("GET", "/blocks/zz", None),
        ("GET", "/blocks/00", None),
        ("GET", "/blocks/at/-1", None),
        ("GET", "/blocks/at/99999999999999", None),
        ("GET", "/blocks/lastHeaders/abc", None),
        ("GET", "/utxo/byId/xyz", None),
        ("GET", "/utxo/byId/0000000000000000000000000000000000000000000000000000000000000000", None),
        ("GET", "/transactions/unconfirmed?limit=-5", None),
        ("GET", "/transactions/unconfirmed?limit=0", None),
        ("POST", "/blocks/headerIds", Some("{\"a\":1}")),
        ("POST", "/blocks/headerIds", Some("[\"nothex\"]")),
        ("POST", "/scan/register", Some("{\"scanName\":\"x\",\"trackingRule\":{\"predicate\":\"containsAsset\",\"assetId\":\"12\"}}")),
        ("POST", "/scan/register", Some("{\"scanName\":\"x\",\"trackingRule\":{\"predicate\":\"nope\"}}")),
        ("GET", "/scan/unspentBoxes/77", None),
        ("POST", "/devnet/mine", Some("{\"blocks\":-1}")),
        ("POST", "/devnet/mine", Some("{\"blocks\":0}")),
        ("POST", "/devnet/rollback", Some("{\"depth\":5}")),
        ("POST", "/devnet/rollback", Some("{}")),
        ("POST", "/devnet/traffic", Some("{\"txs\":\"many\"}")),
        ("GET", "/no/such/route", None),
    ];
    for (method, path, body) in cases {
        let req = match method {
            "POST" => http
                .post(format!("{url}{path}"))
                .header("content-type", "application/json")
                .body(body.unwrap_or("").to_string()),
            _ => http.get(format!("{url}{path}")),
        };
        let resp = req.send().await.unwrap();
        let status = resp.status();
        assert!(
            status.is_client_error(),
            "{method} {path}: expected 4xx, got {status}"
        );
        let err: dgcm_chain::ApiError = resp
            .json()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: body is not ApiError: {e}"));
        assert_eq!(err.error, status.as_u16());
        assert!(
            !err.detail.unwrap_or_default().is_empty(),
            "{method} {path}: no reason given"
        );
    }
    // Still alive and consistent.
    assert_eq!(node.info().await.unwrap().full_height, None);
    mine(&url, 2).await;
    assert_eq!(node.info().await.unwrap().full_height, Some(2));
    dn.stop().await;
}

#[tokio::test]
async fn rollback_returns_transactions_to_mempool() {
    let (dn, node) = devnet().await;
    let d = dn.devnet.clone();
    let tx = transfer(&d, 0, boxes_of(&d, 0), &wallet(&d, 1).tree, 2 * ERG);
    node.submit_transaction(&tx).await.unwrap();
    mine(&dn.url(), 3).await;
    let old_ids: Vec<_> = (1..=3).map(|h| d.state().ids_at(h)[0]).collect();
    let r = rollback(&dn.url(), 3).await;
    assert_eq!(r["height"], 0);
    assert!(
        node.unconfirmed_transaction(&tx.id())
            .await
            .unwrap()
            .is_some(),
        "back in the mempool"
    );
    mine(&dn.url(), 3).await;
    let new_first = node.block_ids_at(1).await.unwrap();
    assert_ne!(new_first[0], old_ids[0], "a replacement block has a new id");
    assert!(
        new_first.contains(&old_ids[0]),
        "the orphan is still listed at its height"
    );
    assert!(
        node.block(&old_ids[0]).await.is_ok(),
        "orphans stay retrievable by id"
    );
    let b1 = node.block(&new_first[0]).await.unwrap();
    assert_eq!(b1.transactions()[0].id(), tx.id());
    dn.stop().await;
}

#[tokio::test]
async fn traffic_scans_and_token_queries() {
    let (dn, node) = devnet().await;
    let url = dn.url();
    let info: serde_json::Value = reqwest::get(format!("{url}/devnet/info"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["wallets"].as_array().unwrap().len(), 8);
    let sigusd = info["tokens"]["SigUSD"].as_str().unwrap().to_string();
    let nft = info["oracle_pool_nft"].as_str().unwrap().to_string();

    let r: serde_json::Value = reqwest::Client::new()
        .post(format!("{url}/devnet/traffic"))
        .json(&serde_json::json!({"txs": 20}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["submitted"].as_array().unwrap().len(), 20);
    assert_eq!(
        node.unconfirmed_transactions(0, 100).await.unwrap().len(),
        20
    );
    mine(&url, 1).await;
    assert_eq!(
        node.unconfirmed_transactions(0, 100).await.unwrap().len(),
        0
    );
    let block = node
        .block(&node.block_ids_at(1).await.unwrap()[0])
        .await
        .unwrap();
    assert_eq!(block.transactions().len(), 20);

    let token = ergo_lib::ergotree_ir::chain::token::TokenId::from(
        ergo_lib::ergo_chain_types::Digest32::try_from(nft.clone()).unwrap(),
    );
    let pool = node.unspent_boxes_by_token(&token, 0, 10).await.unwrap();
    assert_eq!(pool.len(), 1);
    let rate = pool[0]
        .get_register(ergo_lib::ergotree_ir::chain::ergo_box::NonMandatoryRegisterId::R4.into())
        .unwrap()
        .unwrap();
    assert_eq!(rate.v, dgcm_devnet::genesis::DEFAULT_ORACLE_RATE.into());

    let scan = node
        .register_scan(&ScanRequest {
            scan_name: "sigusd".into(),
            wallet_interaction: "off".into(),
            remove_offchain: true,
            tracking_rule: TrackingRule::ContainsAsset {
                asset_id: sigusd.clone(),
            },
        })
        .await
        .unwrap();
    let holders = node.scan_unspent_boxes(scan).await.unwrap();
    assert!(!holders.is_empty());
    assert!(holders.iter().all(|b| b
        .tokens
        .iter()
        .flatten()
        .any(|t| String::from(t.token_id) == sigusd)));
    let tree_hex = hex::encode(
        ergo_lib::ergotree_ir::serialization::SigmaSerializable::sigma_serialize_bytes(
            &dn.devnet.wallets[0].tree,
        )
        .unwrap(),
    );
    let scan2 = node
        .register_scan(&ScanRequest {
            scan_name: "w0 sigusd".into(),
            wallet_interaction: "off".into(),
            remove_offchain: true,
            tracking_rule: TrackingRule::And {
                args: vec![
                    TrackingRule::ContainsAsset {
                        asset_id: sigusd.clone(),
                    },
                    TrackingRule::Equals {
                        register: Some("R1".into()),
                        value: tree_hex,
                    },
                ],
            },
        })
        .await
        .unwrap();
    let mine_only = node.scan_unspent_boxes(scan2).await.unwrap();
    assert!(!mine_only.is_empty() && mine_only.len() < holders.len());
    assert!(mine_only
        .iter()
        .all(|b| b.ergo_tree == dn.devnet.wallets[0].tree));

    let metrics = reqwest::get(format!("{url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("devnet_height 1"), "{metrics}");
    dn.stop().await;
}

#[tokio::test]
async fn state_dir_resumes_the_same_chain() {
    let dir = std::env::temp_dir().join(format!("dgcm-devnet-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = dgcm_devnet::DevnetConfig {
        state_dir: Some(dir.clone()),
        ..Default::default()
    };
    let (dn, node) = devnet_with(config.clone()).await;
    let d = dn.devnet.clone();
    let tx = transfer(&d, 0, boxes_of(&d, 0), &wallet(&d, 1).tree, 2 * ERG);
    node.submit_transaction(&tx).await.unwrap();
    mine(&dn.url(), 4).await;
    rollback(&dn.url(), 2).await;
    mine(&dn.url(), 1).await;
    let before = node.info().await.unwrap();
    let out = tx.outputs.first().box_id();
    dn.stop().await;

    let (dn, node) = devnet_with(config).await;
    let after = node.info().await.unwrap();
    assert_eq!(after.full_height, before.full_height);
    assert_eq!(after.best_full_header_id, before.best_full_header_id);
    assert!(node.unspent_box(&out).await.unwrap().is_some());
    dn.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn rollback_of_a_chained_spend_leaves_no_intermediate_box() {
    // Regression: a box created and spent inside one block must not come back on rollback.
    let (dn, node) = devnet().await;
    let d = dn.devnet.clone();
    let a = transfer(&d, 0, boxes_of(&d, 0), &wallet(&d, 1).tree, 3 * ERG);
    node.submit_transaction(&a).await.unwrap();
    let middle = a.outputs.first().clone();
    let b = transfer(&d, 1, vec![middle.clone()], &wallet(&d, 2).tree, ERG);
    node.submit_transaction(&b).await.unwrap();
    mine(&dn.url(), 1).await;
    assert!(
        node.unspent_box(&middle.box_id()).await.unwrap().is_none(),
        "spent in the block"
    );
    rollback(&dn.url(), 1).await;
    assert!(
        node.unspent_box(&middle.box_id()).await.unwrap().is_none(),
        "its creator was rolled back too"
    );
    assert!(
        node.unspent_box_with_pool(&middle.box_id())
            .await
            .unwrap()
            .is_none(),
        "spent again in the mempool"
    );
    mine(&dn.url(), 1).await;
    assert!(node
        .unspent_box(&b.outputs.first().box_id())
        .await
        .unwrap()
        .is_some());
    dn.stop().await;
}

#[tokio::test]
async fn rosen_stand_in_creates_an_event_trigger_and_pays_the_destination() {
    let (dn, node) = devnet().await;
    let url = dn.url();
    let http = reqwest::Client::new();
    let to = dn.devnet.wallets[1]
        .encoded_address(ergo_lib::ergotree_ir::chain::address::NetworkPrefix::Testnet);
    let r = http
        .post(format!("{url}/devnet/rosen/transfer"))
        .json(&serde_json::json!({"to_address": to, "token": "rsUSDT", "amount": 5_000_000, "bridge_fee": 20_000, "network_fee": 10_000, "source_tx": "0xabc"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let done: serde_json::Value = r.json().await.unwrap();
    assert_eq!(done["paid"], 4_970_000);
    mine(&url, 1).await;
    let id = |k: &str| {
        ergo_lib::ergotree_ir::chain::ergo_box::BoxId::from(
            ergo_lib::ergo_chain_types::Digest32::try_from(done[k].as_str().unwrap().to_string())
                .unwrap(),
        )
    };
    let payment = node
        .unspent_box(&id("payment_box"))
        .await
        .unwrap()
        .expect("payment confirmed");
    assert_eq!(payment.ergo_tree, dn.devnet.wallets[1].tree);
    let t = payment.tokens.as_ref().unwrap().first();
    assert_eq!(t.token_id, dgcm_devnet::genesis::token_id("rsUSDT"));
    assert_eq!(*t.amount.as_u64(), 4_970_000);
    let event = node
        .unspent_box(&id("event_box"))
        .await
        .unwrap()
        .expect("event confirmed");
    let ev = dgcm_chain::rosen::RosenEvent::from_box(&event).expect("EventTrigger shape");
    assert_eq!(ev.source_tx_id, "0xabc");
    assert_eq!(ev.to_address, to);
    assert_eq!(
        (ev.amount, ev.bridge_fee, ev.network_fee),
        (5_000_000, 20_000, 10_000)
    );
    assert_eq!(ev.to_chain, "ergo");
    // Bad requests are refused with a reason and pay nothing.
    for body in [
        serde_json::json!({"to_address": to, "token": "SigUSD", "amount": 5}),
        serde_json::json!({"to_address": to, "token": "rsUSDT", "amount": 0}),
        serde_json::json!({"to_address": "not-an-address", "token": "rsUSDT", "amount": 5}),
        serde_json::json!({"to_address": to, "token": "rsUSDT", "amount": 10, "bridge_fee": 10}),
    ] {
        let r = http
            .post(format!("{url}/devnet/rosen/transfer"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{body}");
    }
    assert_eq!(node.unconfirmed_transactions(0, 10).await.unwrap().len(), 0);
    dn.stop().await;
}
