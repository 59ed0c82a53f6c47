//! Bots end to end on the devnet over HTTP, with real transactions.

mod common;

use std::time::{Duration, Instant};

use common::*;
use dgcm_bots::BotKind;
use dgcm_contracts::build;
use dgcm_contracts::listing::Listing;
use dgcm_contracts::order::Order;
use dgcm_contracts::trees::Kind;
use dgcm_contracts::Typed;
use ergo_lib::ergotree_ir::mir::constant::TryExtractInto;

/// Two matchers race on 40 orders: every order is matched exactly once, both stay healthy,
/// and a matcher restarted in the middle loses nothing and doubles nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_matchers_race_on_40_orders_each_matched_exactly_once() {
    let (net, node) = devnet().await;
    let c = contracts();
    let (provider, consumer) = (signer(1), signer(2));
    let h = height(&node).await;
    // one listing per order: a listing takes one lease at a time (the busy rule); 40 of each keeps
    // a round short enough that restarting a matcher mid-round stops it within its bound
    for i in 0..40 {
        let l = listing(&c, &provider, 1_000 + i * 2, 100_000);
        submit(&node, &provider, |e| build::list_listing(&c, &l, h + 1, e)).await;
    }
    // two batches of orders: the first raced by A and B, the second by A and a restarted B (a
    // round matches every open order it can, so one batch would be gone before the restart)
    async fn place(
        node: &dgcm_chain::NodeClient,
        c: &dgcm_contracts::Contracts,
        consumer: &dgcm_chain::Signer,
        h: u32,
        from: i64,
        to: i64,
    ) {
        for i in from..to {
            let o = order(consumer, 1_500 + (i % 7) * 50, 1 + i % 3, h as i64 + 500);
            submit(node, consumer, |e| build::place_order(c, &o, h + 1, e)).await;
        }
    }
    place(&node, &c, &consumer, h, 0, 20).await;
    mine(&net.url(), 1).await;
    assert_eq!(
        unspent::<Order>(&node, &c, Kind::Order, false).await.len(),
        20
    );

    let a = spawn_bots(&net.url(), vec![BotKind::Matcher], signer(3), |_| {});
    let mut b = spawn_bots(&net.url(), vec![BotKind::Matcher], signer(4), |_| {});
    let t0 = Instant::now();
    let mut restarted = false;
    loop {
        tokio::time::sleep(Duration::from_millis(400)).await;
        mine(&net.url(), 1).await;
        let left = unspent::<Order>(&node, &c, Kind::Order, true).await.len();
        let idle = node
            .unconfirmed_transactions(0, 10)
            .await
            .unwrap()
            .is_empty();
        if !restarted && left == 0 && idle {
            // Restart matcher B with a fresh runtime (nothing carried over), then the second batch.
            b.stop().await.unwrap();
            b = spawn_bots(&net.url(), vec![BotKind::Matcher], signer(4), |_| {});
            restarted = true;
            let h2 = height(&node).await;
            place(&node, &c, &consumer, h2, 20, 40).await;
            continue;
        }
        if restarted && left == 0 && idle {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(90),
            "{left} orders still open"
        );
    }
    assert!(restarted);
    let leases = leases(&node, &c).await;
    assert_eq!(leases.len(), 40, "one lease per order");
    // Each refund payout names the order it came from (R4).
    let refunds: Vec<Vec<u8>> = node
        .unspent_boxes_by_tree(&consumer.tree, false)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|b| {
            b.additional_registers
                .get_constant(ergo_lib::ergotree_ir::chain::ergo_box::NonMandatoryRegisterId::R4)
                .ok()
                .flatten()
                .and_then(|c| c.try_extract_into::<Vec<u8>>().ok())
        })
        .collect();
    let distinct: std::collections::HashSet<_> = refunds.iter().collect();
    // (the first batch's refunds funded the second batch's orders: only distinctness is checked;
    // 40 leases from 40 spent orders, one order per match, is the exactly-once)
    assert!(!refunds.is_empty());
    assert_eq!(refunds.len(), distinct.len(), "no order refunded twice");
    assert!(
        !a.task.is_finished() && !b.task.is_finished(),
        "both still running"
    );
    for m in [&a.metrics, &b.metrics] {
        // a round comes every interval; under a loaded machine give it a few
        let rounds = m.rounds.load(std::sync::atomic::Ordering::Relaxed);
        let t = Instant::now();
        while m.rounds.load(std::sync::atomic::Ordering::Relaxed) <= rounds {
            assert!(t.elapsed() < Duration::from_secs(10), "rounds keep coming");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(m.node_errors.load(std::sync::atomic::Ordering::Relaxed), 0);
    }
    let (ma, mb) = (a.metrics.counts("matcher"), b.metrics.counts("matcher"));
    assert!(
        ma.submitted > 0 && mb.submitted > 0,
        "both matchers competed: {ma:?} {mb:?}"
    );
    assert!(
        ma.errors == 0 && mb.errors == 0,
        "no errors other than lost races: {ma:?} {mb:?}"
    );
    assert!(a.metrics.render().contains("bot_txs_won"));
    a.stop().await.unwrap();
    b.stop().await.unwrap();
    net.stop().await;
}

/// Capacity (issues 23, 24): the matcher takes a listing for one lease, leaves it alone while it
/// is busy (no failed match, no fee spent), never matches an order asking for more than the
/// listing's limits, and matches the next order once the provider freed the listing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matcher_skips_busy_listings_and_orders_over_the_limits() {
    let (net, node) = devnet().await;
    let c = contracts();
    let (provider, consumer) = (signer(1), signer(2));
    let h = height(&node).await;
    let l = listing(&c, &provider, 1_000, 100_000);
    submit(&node, &provider, |e| build::list_listing(&c, &l, h + 1, e)).await;
    let mut big = order(&consumer, 1_200, 1, h as i64 + 500);
    big.terms.requests.memory_mib = l.terms.limits.memory_mib + 1;
    submit(&node, &consumer, |e| build::place_order(&c, &big, h + 1, e)).await;
    for _ in 0..2 {
        let o = order(&consumer, 1_200, 1, h as i64 + 500);
        submit(&node, &consumer, |e| build::place_order(&c, &o, h + 1, e)).await;
    }
    mine(&net.url(), 1).await;
    let matcher = spawn_bots(&net.url(), vec![BotKind::Matcher], signer(3), |_| {});
    let t0 = Instant::now();
    while leases(&node, &c).await.is_empty() {
        tokio::time::sleep(Duration::from_millis(300)).await;
        mine(&net.url(), 1).await;
        assert!(t0.elapsed() < Duration::from_secs(30), "no lease");
    }
    // Several rounds and blocks: the busy listing takes no second lease.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        mine(&net.url(), 1).await;
    }
    assert_eq!(leases(&node, &c).await.len(), 1, "one lease while busy");
    let counts = matcher.metrics.counts("matcher");
    assert_eq!((counts.submitted, counts.errors), (1, 0), "{counts:?}");
    let listing: Typed<Listing> = unspent::<Listing>(&node, &c, Kind::Listing, true)
        .await
        .pop()
        .unwrap();
    assert_eq!(
        listing.v.busy_until,
        Some(leases(&node, &c).await[0].v.terms.deadline)
    );
    // The provider frees it (its lease ended early): the second fitting order is matched.
    let freed = Listing {
        busy_until: None,
        ..listing.v.clone()
    };
    let hh = height(&node).await + 1;
    submit(&node, &provider, |e| {
        build::update_listing(&c, &listing, &freed, hh, e)
    })
    .await;
    let t0 = Instant::now();
    while leases(&node, &c).await.len() < 2 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        mine(&net.url(), 1).await;
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "not matched once free"
        );
    }
    // The oversize order is still open: no listing's limits cover it.
    let open = unspent::<Order>(&node, &c, Kind::Order, true).await;
    assert_eq!(open.len(), 1);
    assert_eq!(
        open[0].v.terms.requests.memory_mib,
        big.terms.requests.memory_mib
    );
    assert_eq!(matcher.metrics.counts("matcher").errors, 0);
    matcher.stop().await.unwrap();
    net.stop().await;
}

/// The slasher lands in the first block after the deadline; the settler finalises in the
/// first block after the challenge window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slash_after_deadline_and_settlement_after_window_land_in_the_first_allowed_block() {
    let (net, node) = devnet().await;
    let c = contracts();
    let (provider, consumer) = (signer(1), signer(2));
    let h = height(&node).await;
    for i in 0..2 {
        let l = listing(&c, &provider, 1_000 + i, 1_000_000);
        submit(&node, &provider, |e| build::list_listing(&c, &l, h + 1, e)).await;
        let o = order(&consumer, 1_200, 1, h as i64 + 500);
        submit(&node, &consumer, |e| build::place_order(&c, &o, h + 1, e)).await;
    }
    mine(&net.url(), 1).await;
    let matcher = spawn_bots(&net.url(), vec![BotKind::Matcher], signer(3), |_| {});
    let t0 = Instant::now();
    while leases(&node, &c).await.len() < 2 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        mine(&net.url(), 1).await;
        assert!(t0.elapsed() < Duration::from_secs(30), "leases not created");
    }
    matcher.stop().await.unwrap();
    let ls = leases(&node, &c).await;
    // The provider completes the first lease; the second is left to expire.
    let done_at = height(&node).await + 1;
    let first = ls[0].clone();
    submit(&node, &provider, |e| {
        let used = first.v.terms.max_used_blocks(done_at).min(10);
        build::complete(&c, &first, used, [7; 32], done_at, e)
    })
    .await;
    mine(&net.url(), 1).await;
    let deadline = ls[1].v.terms.deadline as u32;
    let settle_from = done_at + c.params.challenge_window as u32 + 1;

    let bots = spawn_bots(
        &net.url(),
        vec![BotKind::Settler, BotKind::Slasher],
        signer(5),
        |_| {},
    );
    // Walk the chain to one block before each first allowed block; give the bots a round; mine.
    let mut spent_at = std::collections::HashMap::new();
    let watched = [
        (ls[1].bx.box_id(), deadline + 1),
        (first.bx.box_id(), settle_from),
    ];
    let mut targets: Vec<u32> = watched.iter().map(|w| w.1).collect();
    targets.sort();
    for target in targets {
        let now = height(&node).await;
        if now + 1 < target {
            mine(&net.url(), target - 1 - now).await;
        }
        // The lease or its completed successor must not be spent before its first allowed block.
        tokio::time::sleep(Duration::from_millis(700)).await;
        let mined = mine(&net.url(), 1).await;
        assert_eq!(mined, target);
        for (id, allowed) in watched {
            if spent_at.contains_key(&id) {
                continue;
            }
            if id == first.bx.box_id() {
                // The completed lease is a new box; find it spent by checking no lease remains
                // with the first lease's listing and the completion.
                let open = leases(&node, &c).await;
                if !open.iter().any(|l| l.v.terms.completed()) {
                    spent_at.insert(id, mined);
                }
            } else if node.unspent_box(&id).await.unwrap().is_none() {
                spent_at.insert(id, mined);
            }
            let _ = allowed;
        }
    }
    assert_eq!(
        spent_at.get(&ls[1].bx.box_id()),
        Some(&(deadline + 1)),
        "slashed in the first block after the deadline"
    );
    assert_eq!(
        spent_at.get(&first.bx.box_id()),
        Some(&settle_from),
        "finalised in the first block after the window"
    );
    assert!(leases(&node, &c).await.is_empty());
    let m = &bots.metrics;
    assert_eq!(m.counts("slasher").submitted, 1);
    assert_eq!(m.counts("settler").submitted, 1);
    bots.stop().await.unwrap();
    net.stop().await;
}

async fn vault(
    node: &dgcm_chain::NodeClient,
    c: &dgcm_contracts::trees::Contracts,
) -> dgcm_contracts::codec::Typed<dgcm_contracts::lets_vault::Vault> {
    unspent::<dgcm_contracts::lets_vault::Vault>(node, c, Kind::LetsVault, true)
        .await
        .into_iter()
        .find(|v| {
            v.bx.tokens
                .iter()
                .flatten()
                .any(|t| t.token_id == c.params.vault_nft)
        })
        .expect("the genesis vault")
}

/// `who` joins the genesis LETS vault with `erg` nanoERG of collateral (mined).
async fn join_vault(
    url: &str,
    node: &dgcm_chain::NodeClient,
    c: &dgcm_contracts::trees::Contracts,
    who: &dgcm_chain::Signer,
    erg: u64,
) {
    let h = height(node).await;
    let v = vault(node, c).await;
    submit(node, who, |e| {
        build::join(c, &v, &who.pk, erg, &[], h + 1, e)
    })
    .await;
    mine(url, 1).await;
}

async fn member_of(
    node: &dgcm_chain::NodeClient,
    c: &dgcm_contracts::trees::Contracts,
    owner: &dgcm_chain::Signer,
) -> Option<dgcm_contracts::codec::Typed<dgcm_contracts::lets_member::Member>> {
    unspent::<dgcm_contracts::lets_member::Member>(node, c, Kind::LetsMember, true)
        .await
        .into_iter()
        .find(|m| m.v.owner == owner.pk)
}

async fn oracle_box(
    node: &dgcm_chain::NodeClient,
    c: &dgcm_contracts::trees::Contracts,
) -> ergo_lib::ergotree_ir::chain::ergo_box::ErgoBox {
    node.unspent_boxes_by_token(&c.params.oracle_pool_nft, 0, 5)
        .await
        .unwrap()
        .remove(0)
}

async fn post(url: &str, body: serde_json::Value) -> serde_json::Value {
    let r = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{url}: {}", r.status());
    r.json().await.unwrap()
}

/// An account borrowed to its limit becomes unhealthy when the oracle's ERG price halves; the
/// liquidator repays the debt with its own GPUC and takes the collateral within the allowance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn liquidation_when_the_oracle_price_drops() {
    let (net, node) = devnet().await;
    let c = contracts();
    let alice = signer(2);
    join_vault(&net.url(), &node, &c, &alice, 10_000_000_000).await;
    let (v, m, o) = (
        vault(&node, &c).await,
        member_of(&node, &c, &alice).await.unwrap(),
        oracle_box(&node, &c).await,
    );
    let h = height(&node).await;
    submit(&node, &alice, |e| {
        build::withdraw(
            &c,
            &v,
            &m,
            12_000,
            std::slice::from_ref(&o),
            &alice.tree,
            h + 1,
            e,
        )
    })
    .await;
    mine(&net.url(), 1).await;
    assert_eq!(
        member_of(&node, &c, &alice).await.unwrap().v.balance,
        -12_000
    );

    let bots = spawn_bots(&net.url(), vec![BotKind::Liquidator], signer(5), |_| {});
    tokio::time::sleep(Duration::from_millis(600)).await;
    mine(&net.url(), 1).await;
    assert_eq!(
        bots.metrics.counts("liquidator").submitted,
        0,
        "healthy at 1 ERG = 2 USD"
    );

    // At 1 ERG = 1 USD the account is insolvent: its 10 ERG are worth less than the 12.12 USD of
    // GPUC a liquidator would repay, so liquidating it would cost the operator (profit check).
    post(
        &format!("{}/devnet/oracle", net.url()),
        serde_json::json!({"rate": 1_000_000_000}),
    )
    .await;
    for _ in 0..2 {
        mine(&net.url(), 1).await;
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    let counts = bots.metrics.counts("liquidator");
    assert_eq!(counts.submitted, 0, "not liquidated at a loss");
    assert!(counts.unprofitable >= 1, "{counts:?}");
    // At 1 ERG = 1.43 USD it is unhealthy (14.3 USD < 150 % of 12.12) and solvent: the
    // liquidator earns the discount (7 % of the debt) less the miner fee.
    post(
        &format!("{}/devnet/oracle", net.url()),
        serde_json::json!({"rate": 700_000_000}),
    )
    .await;
    mine(&net.url(), 1).await;
    let t0 = Instant::now();
    let after = loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        mine(&net.url(), 1).await;
        let m = member_of(&node, &c, &alice).await.unwrap();
        if m.v.balance == 0
            && node
                .unconfirmed_transactions(0, 5)
                .await
                .unwrap()
                .is_empty()
        {
            break m;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "not liquidated: {:?}",
            m.v
        );
    };
    assert!(
        after.v.value < 10_000_000_000,
        "collateral taken: {}",
        after.v.value
    );
    assert_eq!(
        vault(&node, &c).await.v.reserve,
        v.v.reserve,
        "the debt went back into the reserve"
    );
    let counts = bots.metrics.counts("liquidator");
    assert_eq!(counts.submitted, 1);
    bots.stop().await.unwrap();
    net.stop().await;
}

/// A bridged deposit (ERG coming home through the Rosen stand-in) is converted into the owner's
/// LETS collateral and its path — source chain and tx, EventTrigger, payment, conversion — is
/// recorded; a restarted relay neither converts nor records it twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rosen_deposit_converted_and_its_path_recorded() {
    let (net, node) = devnet().await;
    let c = contracts();
    let alice = signer(2);
    join_vault(&net.url(), &node, &c, &alice, 5_000_000_000).await;
    let before = member_of(&node, &c, &alice).await.unwrap().v.value;

    let tree = c.rosen_deposit(&alice.pk).unwrap();
    let addr = ergo_lib::ergotree_ir::chain::address::AddressEncoder::encode_address_as_string(
        ergo_lib::ergotree_ir::chain::address::NetworkPrefix::Testnet,
        &ergo_lib::ergotree_ir::chain::address::Address::recreate_from_ergo_tree(&tree).unwrap(),
    );
    let done = post(
        &format!("{}/devnet/rosen/transfer", net.url()),
        serde_json::json!({"to_address": addr, "token": "ERG", "amount": 3_000_000_000u64,
                           "from_chain": "cardano", "bridge_fee": 10_000_000u64}),
    )
    .await;
    mine(&net.url(), 1).await;
    let info: serde_json::Value = reqwest::get(format!("{}/devnet/info", net.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let guards = info["rosen_guards"]["address"]
        .as_str()
        .unwrap()
        .to_string();
    let dir = std::env::temp_dir().join(format!("dgcm-relay-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = |cfg: &mut dgcm_bots::BotsConfig| {
        cfg.rosen_trigger_address = Some(guards.clone());
        cfg.state_dir = Some(dir.clone());
    };
    let relay = spawn_bots(&net.url(), vec![BotKind::RosenRelay], signer(6), cfg);
    let t0 = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        mine(&net.url(), 1).await;
        let m = member_of(&node, &c, &alice).await.unwrap();
        if m.v.value > before
            && node
                .unconfirmed_transactions(0, 5)
                .await
                .unwrap()
                .is_empty()
        {
            let paid = done["paid"].as_u64().unwrap();
            assert_eq!(m.v.value, before + paid - c.params.max_relay_fee as u64);
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "deposit not converted"
        );
    }
    relay.stop().await.unwrap();
    // Restart: nothing left to convert, nothing recorded twice.
    let relay = spawn_bots(&net.url(), vec![BotKind::RosenRelay], signer(6), cfg);
    tokio::time::sleep(Duration::from_millis(800)).await;
    mine(&net.url(), 1).await;
    assert_eq!(relay.metrics.counts("rosen-relay").submitted, 0);
    relay.stop().await.unwrap();
    let text = std::fs::read_to_string(dir.join("rosen-paths.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    let p = &lines[0];
    assert_eq!(p["source_chain"], "cardano");
    assert_eq!(p["source_tx"], done["source_tx"]);
    assert_eq!(p["event_box"], done["event_box"]);
    assert_eq!(p["deposit_box"], done["payment_box"]);
    assert_eq!(p["payment_tx"], done["payment_tx"]);
    assert!(p["convert_tx"].as_str().unwrap().len() == 64);
    let _ = std::fs::remove_dir_all(&dir);
    net.stop().await;
}

/// Without a key, `--dry-run` prints EIP-12 transactions and submits nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_builds_eip12_and_submits_nothing() {
    let (net, node) = devnet().await;
    let c = contracts();
    let (provider, consumer) = (signer(1), signer(2));
    listing_and_order(&net.url(), &node, &c, &provider, &consumer).await;
    let mut cfg = dgcm_bots::BotsConfig::new(net.url(), vec![BotKind::Matcher]);
    cfg.dry_run = true;
    cfg.reward_address =
        Some(signer(3).address(ergo_lib::ergotree_ir::chain::address::NetworkPrefix::Testnet));
    cfg.interval = Duration::from_millis(100);
    let metrics = std::sync::Arc::new(dgcm_bots::BotMetrics::default());
    let m2 = metrics.clone();
    let run = tokio::spawn(dgcm_bots::run(
        cfg,
        None,
        m2,
        tokio::time::sleep(Duration::from_millis(800)),
    ));
    run.await.unwrap().unwrap();
    assert!(
        metrics.counts("matcher").submitted >= 1,
        "printed at least one EIP-12 match"
    );
    assert!(
        node.unconfirmed_transactions(0, 5)
            .await
            .unwrap()
            .is_empty(),
        "nothing submitted"
    );
    assert_eq!(
        unspent::<Order>(&node, &c, Kind::Order, true).await.len(),
        1
    );
    // Without a key and without dry-run: refused with the field named.
    let cfg = dgcm_bots::BotsConfig::new(net.url(), vec![BotKind::Matcher]);
    let err = dgcm_bots::run(cfg, None, metrics, async {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("key_file"), "{err}");
    net.stop().await;
}
