//! Rosen actions on the devnet: a deposit to Alice's per-user address converted into her LETS
//! collateral by anyone, and a lock request in Rosen's format.

mod common;

use dgcm_contracts::rosen_deposit::RosenDeposit;
use dgcm_contracts::util::p2pk_tree;
use dgcm_contracts::TxDraft;
use dgcm_tx::rosen::LockRequest;
use dgcm_tx::select::fund;
use dgcm_tx::{BridgeOut, Planned, TxError};

#[tokio::test]
async fn a_rosen_deposit_becomes_collateral_and_bridge_out_writes_a_lock_request() {
    let net = common::net().await;
    let (alice, carol, dave) = (net.wallet(0), net.wallet(2), net.wallet(3));
    let c = alice.contracts().clone();
    alice.join_credit(500, 0).await.unwrap();
    net.mine(1).await;

    // What Rosen's guards would pay to Alice's deposit address: 1 ERG and 5 SigUSD, no registers
    // (Dave plays the guards).
    let addr = alice.rosen_deposit_address().unwrap();
    assert!(!addr.is_empty());
    let deposit = RosenDeposit {
        value: 1_000_000_000,
        owner: alice.pk().clone(),
        tokens: vec![(c.params.sigusd_id, 500)],
    };
    let p = &dave.planner;
    let height = p.next_height().await.unwrap();
    let boxes = p.wallet_boxes(dave.pk()).await.unwrap();
    let cand = deposit.to_candidate(&c, height).unwrap();
    let plan = fund(&c, "pay", &dave.address(), boxes, dave.tree(), p.fee, |e| {
        let mut d = TxDraft::new(height);
        d.outputs.push(cand.clone());
        d.finish(e)
    })
    .unwrap();
    let paid = dave
        .submit(
            Planned {
                action: "pay",
                plan,
                created: Some((0, "rosen_deposit")),
                cosigner: None,
            },
            &[],
        )
        .await
        .unwrap();
    net.mine(1).await;

    // Carol (a relay) converts it; Alice's account gains the SigUSD and the ERG less the fee cap.
    let before = alice.member().await.unwrap().unwrap().v;
    let conv = carol.convert_rosen(&paid.box_id().unwrap()).await.unwrap();
    assert_eq!(conv.kind, Some("lets_member"));
    net.mine(1).await;
    let after = alice.member().await.unwrap().unwrap().v;
    assert_eq!(after.sigusd(&c.params), before.sigusd(&c.params) + 500);
    assert!(after.value >= before.value + 1_000_000_000 - 2_000_001);
    assert_eq!(after.balance, before.balance);

    // A box that is not a deposit is refused, naming the flag.
    let e = carol
        .convert_rosen(&conv.box_id().unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            TxError::Box {
                field: "deposit",
                ..
            }
        ),
        "{e}"
    );

    // Bridge out 2 rsUSDT to Ethereum (the devnet has no lock contract: Dave's address stands in).
    let rs_usdt = dgcm_devnet::genesis::token_id("rsUSDT");
    let out = BridgeOut {
        lock: p2pk_tree(dave.pk()),
        to_chain: "ethereum".into(),
        to_address: "0x52908400098527886E0F7030069857D2E4169EE7".into(),
        token: Some(rs_usdt),
        amount: 2_000_000,
        bridge_fee: 100_000,
        network_fee: 50_000,
    };
    let before = alice.token_balance(&rs_usdt).await.unwrap();
    let s = alice.bridge_out(out.clone()).await.unwrap();
    net.mine(1).await;
    let lock = net
        .node
        .unspent_box(&s.box_id().unwrap())
        .await
        .unwrap()
        .expect("lock box mined");
    assert_eq!(lock.ergo_tree, p2pk_tree(dave.pk()));
    let req = LockRequest::from_box(&lock).expect("R4 in Rosen's format");
    assert_eq!(
        req,
        LockRequest {
            to_chain: "ethereum".into(),
            to_address: "0x52908400098527886E0F7030069857D2E4169EE7".into(),
            network_fee: "50000".into(),
            bridge_fee: "100000".into(),
            from_address: alice.address(),
        }
    );
    let toks: Vec<_> = lock.tokens.iter().flatten().collect();
    assert_eq!(toks.len(), 1);
    assert_eq!(
        (toks[0].token_id, *toks[0].amount.as_u64()),
        (rs_usdt, 2_000_000)
    );
    assert_eq!(
        alice.token_balance(&rs_usdt).await.unwrap(),
        before - 2_000_000
    );

    // ERG out: the amount is the box value.
    let erg = BridgeOut {
        token: None,
        amount: 3_000_000_000,
        to_chain: "cardano".into(),
        to_address: "addr1qyze7rcs29ad2c2ymy4mw50g8uvngd088vsxe0vk8nvqw93zma5v8lfqyjg7h368rpqw5jk8n3ncj5h2t4g0nnlaggnqd0s5sl".into(),
        ..out.clone()
    };
    let s = alice.bridge_out(erg).await.unwrap();
    assert_eq!(*s.tx.outputs.get(0).unwrap().value.as_u64(), 3_000_000_000);
    net.mine(1).await;

    // Fees that eat the amount, or a bad chain name: refused with the flag.
    for (bad, field) in [
        (
            BridgeOut {
                amount: 150_000,
                ..out.clone()
            },
            "amount",
        ),
        (
            BridgeOut {
                to_chain: "Ethereum!".into(),
                ..out.clone()
            },
            "to-chain",
        ),
        (
            BridgeOut {
                to_chain: "ergo".into(),
                ..out.clone()
            },
            "to-chain",
        ),
        (
            BridgeOut {
                to_address: "has space".into(),
                ..out.clone()
            },
            "to-address",
        ),
    ] {
        let e = alice.bridge_out(bad).await.unwrap_err();
        assert!(
            matches!(&e, TxError::Input { field: f, .. } if *f == field),
            "{e}"
        );
    }
    assert_eq!(net.mempool_len().await, 0);
    net.stop().await;
}
