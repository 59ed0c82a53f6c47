//! Issue 23, finding 9, against the on-ramp: each attack with its honest twin, on a real
//! PostgreSQL, the devnet over HTTP and the payment-provider simulator (the stand-in for Stripe).

mod common;

use std::time::{Duration, Instant};

use common::*;
use dgcm_onramp::signature;
use serde_json::{json, Value};

/// POSTs a webhook body with a `Stripe-Signature` header; returns (status, JSON reply).
async fn hook(env: &Env, body: Vec<u8>, header: String) -> (u16, Value) {
    let r = env
        .http
        .post(format!("{}/v1/webhooks/stripe", env.url()))
        .header("Content-Type", "application/json")
        .header("Stripe-Signature", header)
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// A signed Stripe-style event of `kind` about `object`.
fn event(id: &str, kind: &str, object: Value) -> Vec<u8> {
    json!({"id": id, "object": "event", "type": kind, "created": signature::unix_now(),
           "data": {"object": object}})
    .to_string()
    .into_bytes()
}

/// A header of 5,000 `v1=` entries over a 250 KB body (an HMAC of the whole body per entry
/// before the fix: seconds of the web thread per request) is refused before any HMAC.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_offchain_onramp_signature_header_with_thousands_of_entries_is_refused_at_once() {
    let mut env = Env::new().await;
    env.start(env.config()).await;
    let mut body = event("evt_big", "checkout.session.completed", json!({}));
    body.resize(250 * 1024, b' ');
    let header = format!(
        "t={},{}",
        signature::unix_now(),
        "v1=,".repeat(5_000).trim_end_matches(',')
    );
    let t0 = Instant::now();
    let (s, v) = hook(&env, body, header).await;
    let took = t0.elapsed();
    assert_eq!(
        (s, v["error"].as_str()),
        (400, Some("bad_signature")),
        "{v}"
    );
    assert!(v["detail"].as_str().unwrap().contains("longer than"), "{v}");
    assert!(took < Duration::from_millis(500), "{took:?}");
    env.shutdown().await;
}

/// Its honest twin: a rotated secret (three `v1` entries, one valid) pays the order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_twin_a_rotated_signature_is_accepted() {
    let mut env = Env::new().await;
    env.start(env.config()).await;
    let u = user("rotated");
    let q = env.quote("10", "ERG", &addr(&u)).await;
    let id = q["id"].as_str().unwrap();
    let session = env.checkout(id).await;
    let body = event(
        "evt_rotated",
        "checkout.session.completed",
        json!({"id": session, "object": "checkout.session", "client_reference_id": id,
               "payment_status": "paid", "amount_total": 1000, "currency": "usd",
               "payment_intent": "pi_rotated"}),
    );
    let now = signature::unix_now();
    let good = signature::sign(WEBHOOK_SECRET, now, &body);
    let sig = good.split("v1=").nth(1).unwrap();
    let header = format!(
        "t={now},v1={},v1={sig},v1={}",
        "0".repeat(64),
        "1".repeat(64)
    );
    let (s, v) = hook(&env, body, header).await;
    assert_eq!((s, v["outcome"].as_str()), (200, Some("paid")), "{v}");
    env.wait_status(id, "confirmed", true).await;
    env.shutdown().await;
}

/// Unpaid checkouts opened by anyone for a victim's address up to its daily limit reserve
/// nothing: the victim still checks out and is paid. Before the fix the victim was refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_offchain_onramp_unpaid_checkouts_reserve_no_limit() {
    let env = Env::with_address_limit(3000).await;
    let victim = user("victim");
    let a = addr(&victim);
    for _ in 0..3 {
        let q = env.quote("10", "ERG", &a).await;
        env.checkout(q["id"].as_str().unwrap()).await;
    }
    let (_, id) = env.paid_order("25", "ERG", &a).await;
    env.wait_status(&id, "confirmed", true).await;
    env.shutdown().await;
}

/// Its honest twin: the limit still holds where money moves. Two checkouts for one address
/// that fit alone but not together are both opened and both paid: the second payment is flagged
/// for refund, never paid out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_twin_a_payment_over_the_limit_is_flagged_for_refund() {
    let env = Env::with_address_limit(3000).await;
    let a = addr(&user("over"));
    let (q1, q2) = (
        env.quote("20", "ERG", &a).await,
        env.quote("20", "ERG", &a).await,
    );
    let (id1, id2) = (q1["id"].as_str().unwrap(), q2["id"].as_str().unwrap());
    let (s1, s2) = (env.checkout(id1).await, env.checkout(id2).await);
    env.pay(&s1, 1).await;
    let paid = env.pay(&s2, 1).await;
    let body: Value =
        serde_json::from_str(paid["events"][0]["deliveries"][0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["outcome"], "refund_flagged", "{paid}");
    env.wait_status(id1, "confirmed", true).await;
    let o = env.order(id2).await;
    assert_eq!(o["status"], "refund_required", "{o:#}");
    assert!(
        o["refund"]["reason"]
            .as_str()
            .unwrap()
            .contains("per-address"),
        "{o:#}"
    );
    assert_eq!(env.payouts().await, 1);
    env.shutdown().await;
}

/// A charge refunded or disputed after the order was paid out (chargeback fraud) is recorded
/// and flagged on the order next to its payout; before the fix it was ignored (`no_change`).
/// The same order before any such event shows no chargeback (the honest path).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_offchain_onramp_chargeback_after_payout_is_flagged() {
    let mut env = Env::new().await;
    env.start(env.config()).await;
    let (_, id) = env
        .paid_order("15", "ERG", &addr(&user("chargeback")))
        .await;
    let id = id.as_str();
    let o = env.wait_status(id, "confirmed", true).await;
    assert!(o["chargeback"].is_null(), "honest: {o:#}");
    assert!(!o["transaction"]["tx_id"].is_null());
    let pi = o["payment"]["payment_id"].as_str().unwrap().to_string();

    let now = signature::unix_now();
    let refunded = event(
        "evt_refund_after_payout",
        "charge.refunded",
        json!({"id": "ch_1", "object": "charge", "payment_intent": pi,
               "refunds": {"data": [{"id": "re_fraud"}]}}),
    );
    let (s, v) = hook(
        &env,
        refunded.clone(),
        signature::sign(WEBHOOK_SECRET, now, &refunded),
    )
    .await;
    assert_eq!(
        (s, v["outcome"].as_str()),
        (200, Some("chargeback_flagged")),
        "{v}"
    );
    let disputed = event(
        "evt_dispute",
        "charge.dispute.created",
        json!({"id": "dp_1", "object": "dispute", "payment_intent": pi,
               "status": "needs_response", "reason": "fraudulent"}),
    );
    let (s, v) = hook(
        &env,
        disputed.clone(),
        signature::sign(WEBHOOK_SECRET, now, &disputed),
    )
    .await;
    assert_eq!(
        (s, v["outcome"].as_str()),
        (200, Some("chargeback_flagged")),
        "{v}"
    );

    let o = env.order(id).await;
    assert_eq!(
        o["status"], "confirmed",
        "what was paid out stays on record"
    );
    let reason = o["chargeback"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("charge.dispute.created") && reason.contains("fraudulent"),
        "{o:#}"
    );
    assert!(!o["chargeback"]["flagged_at"].is_null());
    let notes: Vec<&str> = o["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["note"].as_str().unwrap())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("chargeback: charge.refunded")),
        "{notes:?}"
    );
    let m = env.metrics().await;
    assert!(
        m.contains("dgcm_onramp_webhooks_total{outcome=\"chargeback_flagged\"} 2"),
        "{m}"
    );
    env.shutdown().await;
}

/// With the default settings a quote is not priced from an oracle pool box that stopped posting
/// (61 blocks old, the default limit 60); before the fix the check was off unless configured.
/// The honest twin in the same run: once the pool posts again, quotes are priced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_offchain_onramp_stale_oracle_is_refused_by_default() {
    let mut env = Env::new().await;
    let cfg = env.config();
    assert_eq!(
        cfg.assets.oracle_max_age_blocks,
        dgcm_onramp::config::DEFAULT_ORACLE_MAX_AGE_BLOCKS
    );
    env.start(cfg).await;
    let a = addr(&user("stale"));
    env.mine(61).await;
    let (s, v) = env
        .post(
            "/v1/quotes",
            json!({"fiat_currency": "USD", "fiat_amount": "10", "asset": "ERG", "address": a}),
        )
        .await;
    assert_eq!(s, 503, "{v}");
    let detail = v["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("rate:") && detail.contains("blocks old"),
        "{v}"
    );
    let r = env
        .http
        .post(format!("{}/devnet/oracle", env.node_url()))
        .json(&json!({"rate": 500_000_000}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    env.mine(1).await;
    let q = env.quote("10", "ERG", &a).await;
    assert_eq!(q["rate"]["nanoerg_per_usd"], 500_000_000);
    env.shutdown().await;
}
