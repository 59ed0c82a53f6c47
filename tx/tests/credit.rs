//! LETS credit actions on the devnet, each submitted and mined: deploy, join, "get 10 GPUC with
//! SigUSD", top up, transfer, deposit, withdraw, close.

mod common;

use dgcm_tx::TxError;

#[tokio::test]
async fn deploy_vault_creates_a_vault_the_wallets_can_use() {
    let net = common::net().await;
    let d = &net.deployment;
    assert_eq!(d.deploy_txs.len(), 3, "mint GPUC, mint membership, vault");
    let alice = net.wallet(0);
    let vault = alice.planner.vault().await.unwrap();
    assert_eq!(vault.v.reserve, dgcm_tx::wallet::DEFAULT_GPUC_SUPPLY);
    assert_eq!(vault.v.stock, dgcm_tx::wallet::DEFAULT_MEMBERSHIPS);
    assert_eq!(
        Some(hex::encode(vault.bx.box_id().as_ref())),
        d.vault_box_id,
        "the vault box the deployment names, now mined"
    );
    assert_eq!(
        d.params.sigusd_id,
        dgcm_devnet::genesis::token_id("SigUSD"),
        "the devnet's SigUSD stand-in"
    );
    assert_eq!(
        d.params.oracle_pool_nft,
        dgcm_devnet::genesis::oracle_pool_nft()
    );
    net.stop().await;
}

#[tokio::test]
async fn alice_gets_10_gpuc_with_sigusd() {
    let net = common::net().await;
    let alice = net.wallet(0);
    let sigusd = net.deployment.params.sigusd_id;
    let sig_before = alice.token_balance(&sigusd).await.unwrap();
    let done = alice.deposit_sigusd_for_gpuc(2000, 10_000).await.unwrap();
    let (join, withdraw) = (&done[0], &done[1]);
    assert_eq!(join.action, "join");
    assert_eq!(withdraw.action, "withdraw-credit");
    net.mine(1).await;
    assert_eq!(net.mempool_len().await, 0, "both mined");
    assert_eq!(
        alice.gpuc_balance().await.unwrap(),
        10_000,
        "10 GPUC in the wallet"
    );
    let m = alice.member().await.unwrap().expect("member account");
    assert_eq!(
        m.v.balance, -10_000,
        "balance fell by exactly the amount withdrawn"
    );
    assert_eq!(
        m.v.sigusd(&net.deployment.params),
        2000,
        "20 SigUSD of collateral"
    );
    assert_eq!(
        Some(hex::encode(m.bx.box_id().as_ref())),
        withdraw.box_id,
        "the member box the withdrawal reported"
    );
    assert_eq!(
        alice.token_balance(&sigusd).await.unwrap(),
        sig_before - 2000
    );
    let vault = alice.planner.vault().await.unwrap();
    assert_eq!(
        vault.v.reserve,
        dgcm_tx::wallet::DEFAULT_GPUC_SUPPLY - 10_000
    );

    // Not enough collateral for 10 more: refused before anything is submitted.
    let e = alice
        .deposit_sigusd_for_gpuc(100, 10_000)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            TxError::Input {
                field: "sigusd",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("SigUSD of collateral"), "{e}");
    let e = alice.withdraw_gpuc(10_000).await.unwrap_err().to_string();
    assert!(
        e.contains("withdraw-credit") && e.contains("top up first"),
        "{e}"
    );
    assert_eq!(net.mempool_len().await, 0, "nothing submitted");
    net.stop().await;
}

#[tokio::test]
async fn every_credit_action_is_submitted_and_mined() {
    let net = common::net().await;
    let (alice, bob) = (net.wallet(0), net.wallet(1));
    // join with ERG only, then top up with SigUSD and ERG
    let j = bob.join_credit(0, 2_000_000_000).await.unwrap();
    assert_eq!(j.kind, Some("lets_member"));
    net.mine(1).await;
    let t = bob.top_up_credit(1500, 1_000_000_000).await.unwrap();
    net.mine(1).await;
    let m = bob.member().await.unwrap().unwrap();
    assert_eq!(Some(hex::encode(m.bx.box_id().as_ref())), t.box_id);
    assert_eq!((m.v.sigusd(&net.deployment.params), m.v.balance), (1500, 0));
    assert!(m.v.value >= 3_000_000_000, "ERG collateral added");

    alice.deposit_sigusd_for_gpuc(3000, 10_000).await.unwrap();
    net.mine(1).await;
    // transfer 2 GPUC of credit to Bob's account
    alice.transfer_credit(bob.pk(), 2_000).await.unwrap();
    net.mine(1).await;
    assert_eq!(alice.member().await.unwrap().unwrap().v.balance, -12_000);
    assert_eq!(bob.member().await.unwrap().unwrap().v.balance, 2_000);
    // deposit 4 GPUC back into the vault
    alice.deposit_gpuc(4_000).await.unwrap();
    net.mine(1).await;
    assert_eq!(alice.member().await.unwrap().unwrap().v.balance, -8_000);
    assert_eq!(alice.gpuc_balance().await.unwrap(), 6_000);
    // a non-zero balance cannot be closed
    let e = bob.close_member().await.unwrap_err().to_string();
    assert!(e.contains("only a zero balance"), "{e}");
    // Bob takes his 2 GPUC out, then closes
    bob.withdraw_gpuc(2_000).await.unwrap();
    net.mine(1).await;
    assert_eq!(bob.gpuc_balance().await.unwrap(), 2_000);
    let sig_before = bob
        .token_balance(&net.deployment.params.sigusd_id)
        .await
        .unwrap();
    let c = bob.close_member().await.unwrap();
    assert_eq!(c.box_id, None);
    net.mine(1).await;
    assert!(bob.member().await.unwrap().is_none(), "account closed");
    assert_eq!(
        bob.token_balance(&net.deployment.params.sigusd_id)
            .await
            .unwrap(),
        sig_before + 1500,
        "SigUSD collateral back"
    );
    assert_eq!(net.mempool_len().await, 0);
    net.stop().await;
}
