//! Bridged assets as LETS collateral end to end on the devnet over HTTP (wallets of `dgcm tx`,
//! the devnet's stand-in rsBTC/rsETH/rsUSDT tokens and pools, the liquidator and the Rosen relay
//! as bots): a provider stakes rsBTC, borrows GPUC and lists; the rsBTC price halves and the
//! liquidator takes rsBTC within the discount; a stale rsBTC pool prices nothing; an account of
//! ERG + rsETH + SigUSD + rsUSDT is priced with three pool boxes; bridged rsUSDT becomes GPUC
//! credit at the oracle's price once, even when the relay restarts mid-way; rsUSDT from a wallet
//! buys credit, rsBTC does not.

mod common;

use std::time::{Duration, Instant};

use common::*;
use dgcm_bots::BotKind;
use dgcm_contracts::deployment::Deployment;
use dgcm_contracts::lets_member::{pool_nfts, within_payout, Prices};
use dgcm_contracts::lets_vault::credit_for;
use dgcm_devnet::genesis::{test_wallet, DEFAULT_ORACLE_RATE};
use dgcm_tx::actions::{Action, ListingSpec};
use dgcm_tx::Wallet;
use ergo_lib::ergotree_ir::chain::token::TokenId;

fn wallet(url: &str, i: usize) -> Wallet {
    Wallet::new(
        url,
        &test_wallet(i).secret_hex,
        &Deployment::devnet_default(),
    )
    .unwrap()
}

fn asset(name: &str) -> TokenId {
    Deployment::devnet_default()
        .params
        .asset(name)
        .unwrap()
        .token_id
}

async fn post(url: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

/// Sets a pool's datapoint (nanoERG per whole token; the ERG/USD pool: per USD).
async fn set_pool(url: &str, pool: &str, rate: i64) {
    let (s, v) = post(
        &format!("{url}/devnet/oracle"),
        serde_json::json!({"pool": pool, "rate": rate}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
}

/// Mines until `done` holds and the mempool is empty (the bots answer each block).
async fn until<F, Fut>(url: &str, node: &dgcm_chain::NodeClient, what: &str, done: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let t0 = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        mine(url, 1).await;
        if done().await
            && node
                .unconfirmed_transactions(0, 5)
                .await
                .unwrap()
                .is_empty()
        {
            return;
        }
        assert!(t0.elapsed() < Duration::from_secs(40), "timed out: {what}");
    }
}

const BTC: u64 = 100_000_000; // base units per rsBTC (8 decimals)

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsbtc_staked_borrowed_listed_then_liquidated_when_its_price_halves() {
    let (net, node) = devnet().await;
    let url = net.url();
    let c = contracts();
    let btc = asset("rsBTC");
    let bob = wallet(&url, 3);
    // 0.01 rsBTC at $90,000 (factor 70 %) = $630 of borrowing value; 300 GPUC need $454.50
    bob.join_with(10_000_000, &[(btc, BTC / 100)])
        .await
        .unwrap();
    mine(&url, 1).await;
    bob.withdraw_gpuc(300_000).await.unwrap();
    mine(&url, 1).await;
    bob.list_gpu(ListingSpec {
        price_per_hour: 1_000,
        collateral_per_hour: 500,
        max_hours: 4,
        model: "RTX 4090".into(),
        region: "eu-west".into(),
        endpoint: "https://bob.example:8443".into(),
        ..ListingSpec::default()
    })
    .await
    .unwrap();
    mine(&url, 1).await;
    let m = bob.member().await.unwrap().unwrap();
    assert_eq!((m.v.balance, m.v.amount(&btc)), (-300_000, BTC / 100));
    let reserve = bob.planner.vault().await.unwrap().v.reserve;

    let bots = spawn_bots(&url, vec![BotKind::Liquidator], signer(5), |_| {});
    tokio::time::sleep(Duration::from_millis(600)).await;
    mine(&url, 1).await;
    assert_eq!(bots.metrics.counts("liquidator").submitted, 0, "healthy");

    // rsBTC halves: $315 of borrowing value < $454.50
    let half = 45_000 * DEFAULT_ORACLE_RATE;
    set_pool(&url, "rsBTC", half).await;
    until(&url, &node, "liquidation", || async {
        bob.member().await.unwrap().unwrap().v.balance == 0
    })
    .await;
    let after = bob.member().await.unwrap().unwrap();
    let taken_btc = m.v.amount(&btc) - after.v.amount(&btc);
    let taken_erg = m.v.value - after.v.value;
    assert!(taken_btc > 0, "rsBTC taken: {:?}", after.v);
    // within the discount at the prices of the liquidation
    let prices = Prices::read(&c.params, &bob.planner.oracles().await.unwrap(), 0);
    assert!(within_payout(
        &c.params,
        &prices,
        300_000,
        taken_erg,
        &[(btc, taken_btc)]
    ));
    assert!(
        !within_payout(
            &c.params,
            &prices,
            300_000,
            taken_erg,
            &[(btc, taken_btc + 10)]
        ),
        "the liquidator took about as much as the discount allows"
    );
    assert_eq!(
        bob.planner.vault().await.unwrap().v.reserve,
        reserve + 300_000,
        "the debt went back into the reserve"
    );
    assert_eq!(bots.metrics.counts("liquidator").submitted, 1);
    bots.stop().await.unwrap();
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_rsbtc_pool_cannot_be_used_to_borrow() {
    let (net, node) = devnet().await;
    let url = net.url();
    let btc = asset("rsBTC");
    let bob = wallet(&url, 3);
    bob.join_with(10_000_000, &[(btc, BTC / 100)])
        .await
        .unwrap();
    mine(&url, 1).await;
    // built while the rsBTC pool is fresh, kept unsigned
    let fresh = bob
        .planner
        .plan(
            &Action::WithdrawCredit {
                member: None,
                amount: 300_000,
                to: None,
            },
            &bob.pk().clone(),
        )
        .await
        .unwrap();
    assert_eq!(fresh.plan.data_inputs.len(), 2, "ERG/USD and rsBTC pools");
    // the devnet's rsBTC pool goes stale after 720 blocks (its genesis box is from height 0)
    mine(&url, 721).await;
    let e = bob.withdraw_gpuc(300_000).await.unwrap_err().to_string();
    assert!(e.contains("rsBTC unpriced"), "{e}");
    // the transaction built while it was fresh is refused now (the script reads HEIGHT)
    let ctx = node.state_context().await.unwrap();
    let signer = signer(3);
    let refused = match signer.sign(
        fresh.plan.unsigned.clone(),
        fresh.plan.inputs.clone(),
        fresh.plan.data_inputs.clone(),
        &ctx,
    ) {
        Err(_) => true,
        Ok(tx) => node.submit_transaction(&tx).await.is_err(),
    };
    assert!(refused, "a stale pool priced a borrow");
    // the twin: refreshed, the same borrow goes through
    set_pool(&url, "rsBTC", 90_000 * DEFAULT_ORACLE_RATE).await;
    mine(&url, 1).await;
    bob.withdraw_gpuc(300_000).await.unwrap();
    mine(&url, 1).await;
    assert_eq!(bob.member().await.unwrap().unwrap().v.balance, -300_000);
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_of_four_assets_is_priced_with_three_pool_boxes() {
    let (net, _node) = devnet().await;
    let url = net.url();
    let p = Deployment::devnet_default().params;
    let (eth, usdt, sig) = (asset("rsETH"), asset("rsUSDT"), p.sigusd_id);
    let alice = wallet(&url, 2);
    // 0.01 rsETH ($30 at 70 %) + 20 SigUSD + 20 rsUSDT (95 %) + 0.01 ERG ($0.02): $60 of value
    alice
        .join_with(
            10_000_000,
            &[(eth, 1_000_000), (sig, 2_000), (usdt, 20_000_000)],
        )
        .await
        .unwrap();
    mine(&url, 1).await;
    // 39 GPUC need $59.09: only all three prices together cover it
    let planned = alice
        .planner
        .plan(
            &Action::WithdrawCredit {
                member: None,
                amount: 39_000,
                to: None,
            },
            &alice.pk().clone(),
        )
        .await
        .unwrap();
    let pools: Vec<TokenId> = planned
        .plan
        .data_inputs
        .iter()
        .map(|b| b.tokens.as_ref().unwrap().first().token_id)
        .collect();
    let want = [
        p.oracle_pool_nft,
        p.asset("rsETH").unwrap().pool_nft,
        p.asset("rsUSDT").unwrap().pool_nft,
    ];
    assert_eq!(pools.len(), 3, "{pools:?}");
    for w in want {
        assert!(pools.contains(&w), "{pools:?}");
    }
    alice.withdraw_gpuc(39_000).await.unwrap();
    mine(&url, 1).await;
    assert_eq!(alice.member().await.unwrap().unwrap().v.balance, -39_000);
    // one GPUC more is beyond the four assets' borrowing value
    let e = alice.withdraw_gpuc(2_000).await.unwrap_err().to_string();
    assert!(e.contains("borrowing value"), "{e}");
    net.stop().await;
}

/// What the vault credits for `amount` of `id` at the devnet's pools now (the contracts' rule).
async fn credit_now(node: &dgcm_chain::NodeClient, id: TokenId, amount: u64) -> i64 {
    let c = contracts();
    let mut pools = vec![];
    for (nft, _) in pool_nfts(&c.params) {
        pools.extend(node.unspent_boxes_by_token(&nft, 0, 5).await.unwrap());
    }
    let h = node.info().await.unwrap().full_height.unwrap_or(0);
    let prices = Prices::read(&c.params, &pools, h + 1);
    credit_for(&c.params, &prices, &[(id, amount)]).expect("priced")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bridged_rsusdt_becomes_gpuc_credit_once_across_a_relay_restart() {
    let (net, node) = devnet().await;
    let url = net.url();
    let c = contracts();
    let usdt = asset("rsUSDT");
    let alice = wallet(&url, 2);
    alice.join_with(1_000_000_000, &[]).await.unwrap();
    mine(&url, 1).await;
    let tree = c.rosen_deposit(&alice.pk().clone()).unwrap();
    let addr = ergo_lib::ergotree_ir::chain::address::AddressEncoder::encode_address_as_string(
        ergo_lib::ergotree_ir::chain::address::NetworkPrefix::Testnet,
        &ergo_lib::ergotree_ir::chain::address::Address::recreate_from_ergo_tree(&tree).unwrap(),
    );
    let (s, done) = post(
        &format!("{url}/devnet/rosen/transfer"),
        serde_json::json!({"to_address": addr, "token": "rsUSDT", "amount": 25_000_000u64,
                           "from_chain": "ethereum", "bridge_fee": 500_000u64}),
    )
    .await;
    assert_eq!(s, 200, "{done}");
    mine(&url, 1).await;
    let paid = done["paid"].as_u64().unwrap();
    let want = credit_now(&node, usdt, paid).await;
    assert!(want > 0);
    let reserve_before = c_vault(&node).await.v.stable_amount(&usdt);
    let info: serde_json::Value = reqwest::get(format!("{url}/devnet/info"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let guards = info["rosen_guards"]["address"]
        .as_str()
        .unwrap()
        .to_string();
    let dir = std::env::temp_dir().join(format!("dgcm-relay-usdt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = |cfg: &mut dgcm_bots::BotsConfig| {
        cfg.rosen_trigger_address = Some(guards.clone());
        cfg.state_dir = Some(dir.clone());
    };
    // the relay submits its conversion and is stopped before any block includes it
    let relay = spawn_bots(&url, vec![BotKind::RosenRelay], signer(6), cfg);
    let t0 = Instant::now();
    while node
        .unconfirmed_transactions(0, 5)
        .await
        .unwrap()
        .is_empty()
    {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the relay did not submit"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    relay.stop().await.unwrap();
    // a restarted relay sees the deposit spent in the mempool and submits nothing twice
    let relay = spawn_bots(&url, vec![BotKind::RosenRelay], signer(6), cfg);
    until(&url, &node, "credit", || async {
        alice.member().await.unwrap().unwrap().v.balance != 0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    mine(&url, 2).await;
    assert_eq!(
        relay.metrics.counts("rosen-relay").submitted,
        0,
        "nothing twice"
    );
    relay.stop().await.unwrap();
    let m = alice.member().await.unwrap().unwrap();
    assert_eq!(
        m.v.balance, want,
        "the whole bridged rsUSDT as GPUC credit at the oracle price, once"
    );
    assert_eq!(m.v.amount(&usdt), 0, "credit, not collateral");
    assert_eq!(
        c_vault(&node).await.v.stable_amount(&usdt),
        reserve_before + paid
    );
    // the credit is the owner's to take out as GPUC
    let before = alice.token_balance(&c.params.gpuc_id).await.unwrap();
    alice.withdraw_gpuc(want as u64).await.unwrap();
    mine(&url, 1).await;
    assert_eq!(
        alice.token_balance(&c.params.gpuc_id).await.unwrap(),
        before + want as u64
    );
    assert_eq!(alice.member().await.unwrap().unwrap().v.balance, 0);
    let text = std::fs::read_to_string(dir.join("rosen-paths.jsonl")).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    let _ = std::fs::remove_dir_all(&dir);
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsusdt_from_a_wallet_buys_credit_and_rsbtc_does_not() {
    let (net, node) = devnet().await;
    let url = net.url();
    let (usdt, btc) = (asset("rsUSDT"), asset("rsBTC"));
    let bob = wallet(&url, 3);
    bob.join_with(1_000_000_000, &[]).await.unwrap();
    mine(&url, 1).await;
    let want = credit_now(&node, usdt, 5_000_000).await;
    bob.execute(Action::BuyCredit {
        member: None,
        assets: vec![(usdt, 5_000_000)],
    })
    .await
    .unwrap();
    mine(&url, 1).await;
    assert_eq!(bob.member().await.unwrap().unwrap().v.balance, want);
    let e = bob
        .execute(Action::BuyCredit {
            member: None,
            assets: vec![(btc, 1_000)],
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("not an asset the vault takes"), "{e}");
    net.stop().await;
}

async fn c_vault(
    node: &dgcm_chain::NodeClient,
) -> dgcm_contracts::Typed<dgcm_contracts::lets_vault::Vault> {
    let c = contracts();
    let boxes = node
        .unspent_boxes_by_token(&c.params.vault_nft, 0, 5)
        .await
        .unwrap();
    dgcm_contracts::Typed::parse(&c, boxes.into_iter().next().expect("the vault")).unwrap()
}
