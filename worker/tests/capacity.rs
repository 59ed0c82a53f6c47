//! Capacity on the devnet (issues 23 and 24, PROTOCOL.md "Capacity"), with the process runtime
//! (no Docker needed): a busy listing is not matched again while its lease runs and is matched
//! again once the worker has completed it; an order asking for more than the listing's limits
//! is not matched; a job spec over the listing's limits is refused and settled as a no-show; a
//! worker refusing a spec within its listing's limits is slashed.

mod common;

use std::time::{Duration, Instant};

use common::*;
use dgcm_contracts::capacity::Capacity;
use dgcm_contracts::lease::Lease;
use dgcm_contracts::listing::Listing;
use dgcm_contracts::{build, Typed};
use dgcm_worker::{JobSpec, WorkerConfig};

const NO_SHOW: u32 = 5;

fn process(c: &mut WorkerConfig) {
    c.runtime = "process".into();
    c.allow_process_runtime = true;
    c.no_show_blocks = NO_SHOW;
}

fn requests(memory_mib: i64) -> Capacity {
    Capacity {
        memory_mib,
        ..Default::default()
    }
}

fn with_memory(mut s: JobSpec, mib: u64) -> JobSpec {
    s.resources.memory_mib = Some(mib);
    s
}

/// The match the builder refuses, built anyway (the builder's check skipped: `listing` as the
/// builder believes it) and sent: the node must refuse it.
async fn forced_match_refused(
    m: &Market,
    order: &Typed<dgcm_contracts::order::Order>,
    pretend: impl FnOnce(&mut Listing),
) {
    let p = m.parts();
    let mut listing = listing_box(&m.node, &m.contracts, &m.nft()).await;
    pretend(&mut listing.v);
    let h = height(&m.node).await + 1;
    let plan = build::match_order(
        &m.contracts,
        order,
        &listing,
        h,
        &exec_of(&m.node, &p.matcher).await,
    )
    .expect("the pretended listing passes the builder");
    let ctx = m.node.state_context().await.unwrap();
    let tx = p
        .matcher
        .sign(plan.unsigned, plan.inputs, plan.data_inputs, &ctx);
    // ergo-lib may already refuse to sign a transaction whose script reduces to false
    if let Ok(tx) = tx {
        assert!(
            m.node.submit_transaction(&tx).await.is_err(),
            "the node accepted a match the contracts forbid"
        );
    }
}

/// Mines until the worker's listing satisfies `f` (30 s at most); that listing.
async fn listing_until(m: &Market, what: &str, f: impl Fn(&Listing) -> bool) -> Typed<Listing> {
    let t0 = Instant::now();
    loop {
        let l = listing_box(&m.node, &m.contracts, &m.nft()).await;
        if f(&l.v) {
            return l;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "{what}");
        mine(&m.devnet.url(), 1).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < Duration::from_secs(secs), "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Listing limits, busy rule and the oversize no-show, end to end. The worker publishes
/// `docker.memory_mib = 64` (the tests' config). Lease A (a fitting job) and lease B (its
/// renter declared nothing in the order but submits 128 MiB) are matched; the listing is busy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_busy_listing_fit_rule_and_oversize_no_show() {
    let a = sh("echo a");
    let b = with_memory(sh("echo b"), 128);
    let m = market(a.clone(), b.clone(), process).await;
    let (parts, nft) = (m.parts(), m.nft());
    let l = listing_box(&m.node, &m.contracts, &nft).await;
    assert_eq!(
        l.v.terms.limits,
        m.worker.worker.cfg.docker.capacity(),
        "the listing publishes the limits the worker enforces"
    );
    let lb: Typed<Lease> = Typed::parse(&m.contracts, {
        let id = dgcm_worker::chain::parse_box_id(&m.lease_b).unwrap();
        m.node.unspent_box(&id).await.unwrap().unwrap()
    })
    .unwrap();
    assert_eq!(
        l.v.busy_until,
        Some(lb.v.terms.deadline),
        "busy until B's deadline"
    );

    // Busy: a third order is not matched while B runs (the builder refuses, the chain too).
    let c_spec = sh("echo c");
    let order_c = order_for(&parts, &m.consumer_a, &c_spec, nft, requests(32)).await;
    let e = try_match(&parts, &order_c, nft).await.unwrap_err();
    assert!(e.contains("busy"), "{e}");
    forced_match_refused(&m, &order_c, |l| l.busy_until = None).await;

    // Fit: an order asking for more memory than the listing's limit is never matched.
    let order_big = order_for(&parts, &m.consumer_b, &c_spec, nft, requests(65)).await;
    let e = try_match(&parts, &order_big, nft).await.unwrap_err();
    assert!(e.contains("busy") || e.contains("does not fit"), "{e}");
    forced_match_refused(&m, &order_big, |l| {
        l.busy_until = None;
        l.terms.limits.memory_mib = 65;
    })
    .await;

    // B submits its spec, over the listing's limit: refused, the renter's fault.
    let tb = m.token(&m.lease_b, &m.consumer_b).await;
    let (s, v) = m.submit(&m.lease_b, &tb, &b).await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v.to_string().contains("resources.memory_mib") && v.to_string().contains("no-show"),
        "{v}"
    );
    // A runs its job; the worker completes it.
    let ta = m.token(&m.lease_a, &m.consumer_a).await;
    let (s, v) = m.submit(&m.lease_a, &ta, &a).await;
    assert!((200..300).contains(&s), "{v}");
    let jm = m.worker.worker.jobs.clone();
    wait_until("A's completion", 30, || {
        jm.job(&m.lease_a)
            .is_some_and(|j| j.completion_tx.is_some())
    })
    .await;
    mine(&m.devnet.url(), 1).await;

    // B is a no-show once NO_SHOW blocks have passed since its start (not only at its deadline).
    let now = height(&m.node).await as i64;
    mine(
        &m.devnet.url(),
        (lb.v.terms.start + NO_SHOW as i64 - now).max(0) as u32,
    )
    .await;
    let done = m.idle_completion(&m.lease_b).await;
    assert_eq!(
        done.v.terms.used_blocks, NO_SHOW as i64,
        "no_show_blocks billed"
    );
    assert!(
        height(&m.node).await as i64 + 20 < lb.v.terms.deadline,
        "settled well before the deadline"
    );

    // Both leases completed: the worker frees its listing, and order C is matched now.
    listing_until(&m, "the worker never freed its listing", |l| {
        l.busy_until.is_none()
    })
    .await;
    let lease_c = try_match(&parts, &order_c, nft)
        .await
        .expect("matched once free");
    let l = listing_box(&m.node, &m.contracts, &nft).await;
    assert!(
        l.v.busy_until.is_some(),
        "busy again with lease C {lease_c}"
    );
    m.stop().await;
}

/// A worker that refuses a spec within the limits its listing published is at fault: it does
/// not complete the lease, and the renter slashes it (payment and collateral). Here the
/// provider lowered its memory limit after the match (64 → 32 MiB) and A asks for 48.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_a_worker_refusing_a_fitting_spec_is_slashed() {
    let a = with_memory(sh("echo a"), 48);
    let m = market(a.clone(), sh("echo b"), process).await;
    let m = m.restart(|c| c.docker.memory_mib = 32).await;
    // the restarted worker publishes its new limit, and keeps the listing busy
    let l = listing_until(&m, "listing not updated", |l| {
        l.terms.limits.memory_mib == 32
    })
    .await;
    assert!(l.v.busy_until.is_some(), "an update keeps busyUntil");
    let ta = m.token(&m.lease_a, &m.consumer_a).await;
    let (s, v) = m.submit(&m.lease_a, &ta, &a).await;
    assert_eq!(s, 400, "{v}");
    assert!(v.to_string().contains("provider is at fault"), "{v}");
    let id = dgcm_worker::chain::parse_box_id(&m.lease_a).unwrap();
    let lease: Typed<Lease> = Typed::parse(
        &m.contracts,
        m.node.unspent_box(&id).await.unwrap().unwrap(),
    )
    .unwrap();
    // Past the deadline: the worker never completed it.
    let now = height(&m.node).await as i64;
    mine(
        &m.devnet.url(),
        (lease.v.terms.deadline + 1 - now).max(0) as u32,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        m.worker
            .worker
            .store
            .read(|s| !s.idle_completions.contains_key(&m.lease_a)
                && s.fault_refused.contains(&m.lease_a)),
        "no no-show claim on a lease refused by the provider's fault"
    );
    let still: Typed<Lease> = Typed::parse(
        &m.contracts,
        m.node.unspent_box(&id).await.unwrap().unwrap(),
    )
    .unwrap();
    assert!(!still.v.terms.completed());
    // Anyone slashes: the renter gets the payment and the collateral.
    let parts = m.parts();
    let h = height(&m.node).await + 1;
    let plan = build::slash(
        &m.contracts,
        &still,
        h,
        &exec_of(&m.node, &parts.matcher).await,
    )
    .unwrap();
    let first = plan.unsigned.output_candidates.first().clone();
    let got: u64 = first
        .tokens
        .iter()
        .flatten()
        .map(|t| *t.amount.as_u64())
        .sum();
    assert_eq!(
        got as i64,
        still.v.terms.payment + still.v.terms.collateral,
        "payment and collateral to the renter"
    );
    assert_eq!(
        first.ergo_tree,
        dgcm_chain::wallet::p2pk_tree(&m.consumer_a.pk)
    );
    sign_submit(&m.node, &parts.matcher, plan).await;
    mine(&m.devnet.url(), 1).await;
    assert!(m.node.unspent_box(&id).await.unwrap().is_none(), "slashed");
    m.stop().await;
}
