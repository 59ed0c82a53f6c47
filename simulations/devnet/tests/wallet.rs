//! The suite's wallet path over HTTP: find a key's boxes with the node's
//! `/blockchain/box/unspent/byErgoTree`, sign with `dgcm_chain::Signer` against the node's
//! state context, submit, and chain a second spend on the unconfirmed change.

mod common;

use dgcm_chain::Signer;
use ergo_lib::chain::ergo_box::box_builder::ErgoBoxCandidateBuilder;
use ergo_lib::ergotree_ir::chain::ergo_box::box_value::BoxValue;
use ergo_lib::wallet::box_selector::{BoxSelector, SimpleBoxSelector};
use ergo_lib::wallet::tx_builder::{TxBuilder, SUGGESTED_TX_FEE};

#[tokio::test]
async fn signer_spends_boxes_found_by_tree_and_chains_on_unconfirmed_change() {
    let (net, node) = common::devnet().await;
    common::mine(&net.url(), 1).await;
    let from = Signer::from_secret_hex(&common::wallet(&net.devnet, 0).secret_hex).unwrap();
    let to = Signer::from_secret_hex(&common::wallet(&net.devnet, 1).secret_hex).unwrap();
    let confirmed = node.unspent_boxes_by_tree(&from.tree, false).await.unwrap();
    assert_eq!(confirmed.len(), common::boxes_of(&net.devnet, 0).len());

    for round in 0..2 {
        let boxes = node.unspent_boxes_by_tree(&from.tree, true).await.unwrap();
        let height = node.info().await.unwrap().full_height.unwrap_or(0) as u32 + 1;
        let out = ErgoBoxCandidateBuilder::new(
            BoxValue::new(1_000_000_000).unwrap(),
            to.tree.clone(),
            height,
        )
        .build()
        .unwrap();
        let target = BoxValue::new(1_000_000_000 + SUGGESTED_TX_FEE().as_u64()).unwrap();
        // Round 1 must spend the unconfirmed change of round 0: keep only the newest box.
        let pick = if round == 0 {
            boxes
        } else {
            vec![boxes.last().unwrap().clone()]
        };
        let sel = SimpleBoxSelector::new().select(pick, target, &[]).unwrap();
        let inputs = sel.boxes.clone().to_vec();
        let change =
            ergo_lib::ergotree_ir::chain::address::Address::recreate_from_ergo_tree(&from.tree)
                .unwrap();
        let unsigned = TxBuilder::new(sel, vec![out], height, SUGGESTED_TX_FEE(), change)
            .build()
            .unwrap();
        let ctx = node.state_context().await.unwrap();
        let tx = from.sign(unsigned, inputs.clone(), vec![], &ctx).unwrap();
        node.submit_transaction(&tx).await.unwrap();
        let after = node.unspent_boxes_by_tree(&from.tree, true).await.unwrap();
        for i in &inputs {
            assert!(
                !after.iter().any(|b| b.box_id() == i.box_id()),
                "a box spent in the mempool is left out"
            );
        }
        assert!(
            after.iter().any(|b| b.transaction_id == tx.id()),
            "the change is listed"
        );
    }
    common::mine(&net.url(), 1).await;
    let received = node.unspent_boxes_by_tree(&to.tree, false).await.unwrap();
    assert_eq!(
        received.len(),
        common::boxes_of(&net.devnet, 1).len(),
        "both payments confirmed"
    );
    net.stop().await;
}

#[tokio::test]
async fn by_tree_rejects_bad_input_with_a_reason() {
    let (net, _node) = common::devnet().await;
    let http = reqwest::Client::new();
    let url = format!("{}/blockchain/box/unspent/byErgoTree", net.url());
    for (body, q, want) in [
        ("\"zz\"", "", "not hex"),
        ("\"00\"", "", "not a tree"),
        ("\"0008cd\"", "", "not a tree"),
        (
            "\"0008cd0327e65711a59378c59359c3e1d0f7abe906479eccb76094e50fe79d743ccc15e6\"",
            "?sortDirection=up",
            "sortDirection",
        ),
        (
            "\"0008cd0327e65711a59378c59359c3e1d0f7abe906479eccb76094e50fe79d743ccc15e6\"",
            "?limit=0",
            "limit",
        ),
    ] {
        let r = http
            .post(format!("{url}{q}"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{body} {q}");
        let text = r.text().await.unwrap();
        assert!(text.contains(want), "{text} should say {want}");
    }
    net.stop().await;
}
