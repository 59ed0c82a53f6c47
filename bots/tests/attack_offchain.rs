//! Issue 23 against the bots: hostile boxes and orders, each attack with its honest twin, on the
//! devnet over HTTP with real transactions.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;
use dgcm_bots::policy;
use dgcm_bots::BotKind;
use dgcm_contracts::build;
use dgcm_contracts::codec::Typed;
use dgcm_contracts::listing::Listing;
use dgcm_contracts::order::Order;
use dgcm_contracts::trees::Kind;

/// The debug build runs the workspace's own crates unoptimised; the bound the issue sets
/// (100 ms) is for the release build (`dgcm bench match --hostile`).
const ROUND_MS: u128 = if cfg!(debug_assertions) { 1_000 } else { 100 };

/// Three orders and two listings whose values (max price × hours) span the i64 range: a price
/// war between near-equal choices that would take ~value/ε bids. The round stays bounded, and
/// still matches both listings.
#[test]
fn attack_offchain_matcher_order_values_in_the_i64_range_bound_the_round() {
    for (p, h) in [
        (1_000_000_000_000i64, 1_000i64),
        (i64::MAX, 1),
        (i64::MAX / 2, i64::MAX / 4),
        (100_000_000, 1),
    ] {
        let (mut bids, mut asks) = (vec![], vec![]);
        dgcm_bots::bench::hostile_group(&mut bids, &mut asks, 0, p, h);
        let t0 = Instant::now();
        let (pairs, stats) = policy::match_round_stats(&bids, &asks);
        let ms = t0.elapsed().as_millis();
        assert!(ms <= ROUND_MS, "{p}×{h}: {ms} ms");
        assert_eq!(pairs.len(), 2, "{p}×{h}: both listings still matched");
        assert!(stats.raised >= 1, "{p}×{h}: ε raised ({stats:?})");
        // Its own budget twice (before and after ε is raised) and the round's shared pool.
        let own = policy::WORK_BASE + policy::WORK_PER_EDGE * (6 + 3);
        assert!(
            stats.work <= 2 * own + policy::WORK_POOL,
            "{p}×{h}: {stats:?}"
        );
    }
}

/// Its honest twin: a realistic book is solved with ε = 1, within one unit per matched order of
/// the exact optimum, never touching the budget.
#[test]
fn honest_twin_a_realistic_book_keeps_epsilon_one() {
    let (bids, asks) = dgcm_bots::bench::book(400, 400, 5);
    let (pairs, stats) = policy::match_round_stats(&bids, &asks);
    assert_eq!((stats.eps, stats.raised), (1, 0));
    let (opt, _) = policy::exact::solve(&bids, &asks).unwrap();
    let got = policy::total_surplus(&bids, &asks, &pairs);
    assert!(
        got <= opt && opt - got <= pairs.len() as i128,
        "{got} vs {opt}"
    );
}

/// A hostile book (three orders, two listings, values ~3·10^7 with real GPUC budgets, the case
/// the review measured at 910 ms) sits next to an overdue lease: the slasher, run in the same
/// process as the matcher, still slashes in the first block after the deadline, and the matcher
/// keeps matching an honest order. `hostile = false` is the honest twin.
async fn slasher_beside_a_matcher(hostile: bool) {
    let (net, node) = devnet().await;
    let c = contracts();
    let (provider, consumer, attacker) = (signer(1), signer(2), signer(6));
    // The lease that will be overdue: matched by hand (signer 3) before the bots start.
    listing_and_order(&net.url(), &node, &c, &provider, &consumer).await;
    let (ls, os) = (
        unspent::<Listing>(&node, &c, Kind::Listing, false).await,
        unspent::<Order>(&node, &c, Kind::Order, false).await,
    );
    let h = height(&node).await;
    submit(&node, &signer(3), |e| {
        build::match_order(&c, &os[0], &ls[0], h + 1, e)
    })
    .await;
    mine(&net.url(), 1).await;
    let lease = leases(&node, &c).await.remove(0);
    let deadline = lease.v.terms.deadline as u32;

    let h = height(&node).await;
    if hostile {
        for price in [1, 2] {
            let mut l = listing(&c, &attacker, price, 1_000);
            l.model = "hostile".into();
            submit(&node, &attacker, |e| build::list_listing(&c, &l, h + 1, e)).await;
        }
        for max_price in [30_000_000, 30_000_000, 29_999_999] {
            let mut o = order(&attacker, max_price, 1, h as i64 + 500);
            o.model = Some("hostile".into());
            submit(&node, &attacker, |e| build::place_order(&c, &o, h + 1, e)).await;
        }
    }
    if hostile {
        // Order boxes written directly at the order script: a 1 GPUC budget under a max price
        // × hours of 10^15. No match can be built from them (cooling until the next block), so
        // they come back into every block's book.
        for max_price in [50_000_000_000_000, 50_000_000_000_000, 49_999_999_999_999] {
            let mut o = order(&attacker, max_price, 20, h as i64 + 500);
            o.model = Some("hostile".into());
            o.budget = 1_000;
            forge(&node, &attacker, o.to_candidate(&c, h + 1).unwrap()).await;
        }
    }
    // An honest order for the same provider's listing successor: the matcher must keep working.
    let o = order(&consumer, 1_300, 1, h as i64 + 500);
    submit(&node, &consumer, |e| build::place_order(&c, &o, h + 1, e)).await;
    mine(&net.url(), 1).await;

    let bots = spawn_bots(
        &net.url(),
        vec![BotKind::Matcher, BotKind::Slasher],
        signer(5),
        |_| {},
    );
    let now = height(&node).await;
    assert!(now + 1 < deadline);
    mine(&net.url(), deadline - 1 - now).await;
    // One block before the first allowed one: give the bots a round, then mine.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let mined = mine(&net.url(), 1).await;
    assert_eq!(mined, deadline);
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let mined = mine(&net.url(), 1).await;
    assert_eq!(mined, deadline + 1);
    assert!(
        node.unspent_box(&lease.bx.box_id())
            .await
            .unwrap()
            .is_none(),
        "slashed in the first block after the deadline (hostile book: {hostile})"
    );
    assert_eq!(bots.metrics.counts("slasher").submitted, 1);
    // The honest order was matched (its listing is the provider's; the lease names the consumer).
    let honest: Vec<Typed<_>> = leases(&node, &c).await;
    assert!(
        honest.iter().any(|l| l.v.terms.price_per_hour == 1_000),
        "the honest order was matched"
    );
    let m = &bots.metrics;
    let solve_ms = m.matcher_solve_ms.load(Ordering::Relaxed) as u128;
    assert!(solve_ms <= ROUND_MS, "matcher round {solve_ms} ms");
    let raised = m.matcher_eps_raised.load(Ordering::Relaxed);
    assert_eq!(raised > 0, hostile, "ε raised only for the hostile book");
    bots.stop().await.unwrap();
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_offchain_hostile_order_values_hold_no_bot() {
    slasher_beside_a_matcher(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_twin_slasher_beside_a_matcher() {
    slasher_beside_a_matcher(false).await;
}

/// Submits a transaction whose output 0 is `out`, funded by `who`.
async fn forge(
    node: &dgcm_chain::NodeClient,
    who: &dgcm_chain::Signer,
    out: ergo_lib::ergotree_ir::chain::ergo_box::ErgoBoxCandidate,
) {
    let h = height(node).await + 1;
    let mut d = dgcm_contracts::TxDraft::new(h);
    d.outputs.push(out);
    let funding = node.unspent_boxes_by_tree(&who.tree, true).await.unwrap();
    let exec = dgcm_contracts::Executor {
        funding,
        change: who.tree.clone(),
        fee: 1_100_000,
    };
    let plan = d.finish(&exec).unwrap();
    let ctx = node.state_context().await.unwrap();
    let tx = who
        .sign(plan.unsigned, plan.inputs, plan.data_inputs, &ctx)
        .unwrap();
    node.submit_transaction(&tx).await.unwrap();
}

/// Zero fee caps: an order whose matcher and lease fee caps are 0, and three lease boxes forged
/// at the lease script, overdue, whose executor fee cap is 0. Matching or slashing them would be
/// paid from the operator's wallet (the miner fee, 1.1 mERG each). With `zero = false` (the
/// honest twin) the same boxes carry 3 mERG fee caps and are matched and slashed at a profit.
async fn fee_caps(zero: bool) {
    use dgcm_contracts::lease::{Lease, LeaseTerms};
    let (net, node) = devnet().await;
    let c = contracts();
    let (provider, consumer, operator) = (signer(1), signer(2), signer(5));
    let cap = if zero { 0 } else { 3_000_000 };
    let h = height(&node).await;
    let l = listing(&c, &provider, 1_000, 1_000_000);
    submit(&node, &provider, |e| build::list_listing(&c, &l, h + 1, e)).await;
    let mut o = order(&consumer, 1_200, 1, h as i64 + 500);
    (o.terms.matcher_fee_cap, o.terms.lease_exec_fee_cap) = (cap, cap);
    submit(&node, &consumer, |e| build::place_order(&c, &o, h + 1, e)).await;
    mine(&net.url(), 40).await;
    let h = height(&node).await;
    for i in 0..3 {
        let forged = Lease {
            value: 5_000_000,
            amount: 1_200,
            consumer: consumer.pk.clone(),
            provider: provider.pk.clone(),
            terms: LeaseTerms {
                price_per_hour: 1_000,
                hours: 1,
                payment: 1_000,
                collateral: 200,
                start: h as i64 - 39,
                deadline: h as i64 - 2 - i,
                exec_fee_cap: cap,
                used_blocks: -1,
                completed_at: -1,
            },
            job_spec_hash: vec![7; 32],
            listing_nft: vec![9; 32],
            usage_commitment: vec![],
        };
        forge(&node, &consumer, forged.to_candidate(&c, h + 1).unwrap()).await;
    }
    mine(&net.url(), 1).await;
    assert_eq!(leases(&node, &c).await.len(), 3);
    let wallet = |node: dgcm_chain::NodeClient, tree| async move {
        node.unspent_boxes_by_tree(&tree, true)
            .await
            .unwrap()
            .iter()
            .map(|b| *b.value.as_u64())
            .sum::<u64>()
    };
    let before = wallet(node.clone(), operator.tree.clone()).await;

    let bots = spawn_bots(
        &net.url(),
        vec![BotKind::Matcher, BotKind::Slasher],
        operator.clone(),
        |_| {},
    );
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(700)).await;
        mine(&net.url(), 1).await;
    }
    let m = &bots.metrics;
    let (matcher, slasher) = (m.counts("matcher"), m.counts("slasher"));
    let after = wallet(node.clone(), operator.tree.clone()).await;
    let orders_left = unspent::<Order>(&node, &c, Kind::Order, true).await.len();
    let leases_left: Vec<_> = leases(&node, &c).await;
    if zero {
        assert_eq!(orders_left, 1, "the zero-fee order is not matched");
        assert_eq!(
            leases_left.len(),
            3,
            "the forged zero-fee leases are not slashed"
        );
        assert_eq!(after, before, "the operator paid nothing");
        assert_eq!((matcher.submitted, slasher.submitted), (0, 0));
        assert!(matcher.unprofitable >= 1 && slasher.unprofitable >= 3);
        assert!(m
            .render()
            .contains("bot_jobs_unprofitable_total{bot=\"slasher\"}"));
    } else {
        assert_eq!(orders_left, 0, "the order is matched");
        // The three forged leases are slashed; the new, genuine lease runs.
        assert_eq!(leases_left.len(), 1);
        assert!(after > before, "the operator earned: {before} → {after}");
        assert_eq!((matcher.submitted, slasher.submitted), (1, 3));
        assert_eq!(matcher.unprofitable + slasher.unprofitable, 0);
    }
    bots.stop().await.unwrap();
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_offchain_zero_fee_boxes_cost_the_operator_nothing() {
    fee_caps(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_twin_fee_capped_boxes_are_worked_at_a_profit() {
    fee_caps(false).await;
}
