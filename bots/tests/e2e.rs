//! Bots end to end on the devnet over HTTP, with real transactions.

mod common;

use std::time::{Duration, Instant};

use common::*;
use dgcm_bots::BotKind;
use dgcm_contracts::build;
use dgcm_contracts::order::Order;
use dgcm_contracts::trees::Kind;

/// Two matchers race on 100 orders: every order is matched exactly once, both stay healthy,
/// and a matcher restarted in the middle loses nothing and doubles nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_matchers_race_on_100_orders_each_matched_exactly_once() {
    let (net, node) = devnet().await;
    let c = contracts();
    let (provider, consumer) = (signer(1), signer(2));
    let h = height(&node).await;
    for i in 0..20 {
        let l = listing(&c, &provider, 1_000 + i * 10, 1_000_000);
        submit(&node, &provider, |e| build::list_listing(&c, &l, h + 1, e)).await;
    }
    for i in 0..100 {
        let o = order(&consumer, 1_500 + (i % 7) * 50, 1 + i % 3, h as i64 + 500);
        submit(&node, &consumer, |e| build::place_order(&c, &o, h + 1, e)).await;
    }
    mine(&net.url(), 1).await;
    assert_eq!(
        unspent::<Order>(&node, &c, Kind::Order, false).await.len(),
        100
    );

    let a = spawn_bots(&net.url(), vec![BotKind::Matcher], signer(3), |_| {});
    let mut b = spawn_bots(&net.url(), vec![BotKind::Matcher], signer(4), |_| {});
    let t0 = Instant::now();
    let mut restarted = false;
    loop {
        tokio::time::sleep(Duration::from_millis(400)).await;
        mine(&net.url(), 1).await;
        let left = unspent::<Order>(&node, &c, Kind::Order, true).await.len();
        if !restarted && left < 70 {
            // Restart matcher B with a fresh runtime (nothing carried over).
            b.stop().await.unwrap();
            b = spawn_bots(&net.url(), vec![BotKind::Matcher], signer(4), |_| {});
            restarted = true;
        }
        if left == 0
            && node
                .unconfirmed_transactions(0, 10)
                .await
                .unwrap()
                .is_empty()
        {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(90),
            "{left} orders still open"
        );
    }
    assert!(restarted);
    let leases = leases(&node, &c).await;
    assert_eq!(leases.len(), 100, "one lease per order");
    // Each refund payout names the order it came from: 100 distinct orders.
    assert!(
        a.task.is_finished() == false && b.task.is_finished() == false,
        "both healthy"
    );
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
        build::complete(&c, &first, 10, [7; 32], done_at, e)
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
