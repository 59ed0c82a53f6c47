//! The on-ramp against a real PostgreSQL, the devnet over HTTP and the payment-provider simulator.

mod common;

use std::time::{Duration, Instant};

use common::*;
use dgcm_devnet::genesis::TestWallet;
use dgcm_onramp::signature;
use ergo_lib::ergotree_ir::chain::token::TokenId;
use serde_json::{json, Value};

const ORACLE_RATE: i64 = dgcm_devnet::genesis::DEFAULT_ORACLE_RATE;

fn sigusd() -> TokenId {
    dgcm_devnet::genesis::token_id("SigUSD")
}

fn gpuc() -> TokenId {
    dgcm_devnet::genesis::token_id("GPUC")
}

fn base_units(v: &Value) -> u64 {
    v["asset_amount_base_units"].as_u64().unwrap()
}

/// After two more blocks: `u` holds exactly the quoted ERG in one box, and one payout exists.
async fn assert_paid_exactly_once(env: &Env, u: &TestWallet, quote: &Value) {
    env.mine(2).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (erg, _, boxes) = env.holdings(u).await;
    assert_eq!(erg, base_units(quote));
    assert_eq!(boxes, 1);
    assert_eq!(env.payouts().await, 1);
}

/// The detail of a 400 names the field.
async fn refused(env: &Env, body: Value, field: &str) -> Value {
    let (s, v) = env.post("/v1/quotes", body.clone()).await;
    assert_eq!(s, 400, "{body} → {v}");
    let detail = v["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with(&format!("{field}:")),
        "{body} → detail {detail:?} should name {field}"
    );
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onramp_quotes_read_the_chain_and_refuse_bad_input_with_reasons() {
    let mut env = Env::new().await;
    env.start(env.config()).await;
    let u = user("quotes");
    let a = addr(&u);

    // ERG at the oracle pool's rate: $10 − (0.30 + 2.5 %) = $9.45 → 9.45 × 0.5 ERG.
    let q = env.quote("10", "ERG", &a).await;
    assert_eq!(q["fee"], "0.55");
    assert_eq!(q["net_fiat_amount"], "9.45");
    assert_eq!(q["rate"]["source"], "oracle_pool");
    assert_eq!(q["rate"]["nanoerg_per_usd"], ORACLE_RATE);
    let oracle = env
        .node
        .unspent_boxes_by_token(&dgcm_devnet::genesis::oracle_pool_nft(), 0, 5)
        .await
        .unwrap();
    assert_eq!(
        q["rate"]["oracle_box_id"],
        String::from(oracle[0].box_id()),
        "the rate names the pool box it came from"
    );
    assert_eq!(base_units(&q), 945 * ORACLE_RATE as u64 / 100);
    assert_eq!(q["asset_amount"], "4.725000000");
    assert_eq!(q["status"], "quoted");
    assert!(q["expires_at"].as_str().unwrap().ends_with('Z'));

    // The oracle moves (1 ERG = 4 USD): the next quote follows the new pool box.
    let r = env
        .http
        .post(format!("{}/devnet/oracle", env.node_url()))
        .json(&json!({"rate": 250_000_000}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    env.mine(1).await;
    let q2 = env.quote("10", "ERG", &a).await;
    assert_eq!(q2["rate"]["nanoerg_per_usd"], 250_000_000);
    assert_eq!(base_units(&q2), 945 * 250_000_000 / 100);
    assert_ne!(q2["rate"]["oracle_box_id"], q["rate"]["oracle_box_id"]);

    // SigUSD at 1 USD; GPUC at the protocol's 101 cents.
    let q = env.quote("10.00", "SigUSD", &a).await;
    assert_eq!(base_units(&q), 945);
    assert_eq!(q["token_id"], String::from(sigusd()));
    let q = env.quote("10.10", "gpuc", &a).await;
    assert_eq!(q["fee"], "0.56");
    assert_eq!(base_units(&q), 954 * 1000 / 101);
    assert_eq!(q["rate"]["gpuc_price_cents"], 101);
    assert_eq!(q["asset_decimals"], 3);

    let ok = json!({"fiat_currency": "USD", "fiat_amount": "10", "asset": "ERG", "address": a});
    let with = |k: &str, v: Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    refused(&env, with("address", json!("3WxNotAnAddress")), "address").await;
    let mainnet = u.encoded_address(ergo_lib::ergotree_ir::chain::address::NetworkPrefix::Mainnet);
    let v = refused(&env, with("address", json!(mainnet)), "address").await;
    assert!(
        v["detail"].as_str().unwrap().contains("network")
            || v["detail"].as_str().unwrap().contains("Testnet"),
        "{v}"
    );
    refused(&env, with("address", json!(12)), "address").await;
    for bad in [
        json!("-5"),
        json!("abc"),
        json!("1.234"),
        json!("0"),
        json!(null),
        json!(true),
    ] {
        refused(&env, with("fiat_amount", bad), "fiat_amount").await;
    }
    let v = refused(&env, with("fiat_amount", json!("4.99")), "fiat_amount").await;
    assert!(v["detail"].as_str().unwrap().contains("minimum"), "{v}");
    let v = refused(&env, with("fiat_amount", json!("1000.01")), "fiat_amount").await;
    assert_eq!(v["error"], "limit_exceeded");
    refused(&env, with("fiat_currency", json!("EUR")), "fiat_currency").await;
    refused(&env, with("asset", json!("BTC")), "asset").await;
    let mut missing = ok.clone();
    missing.as_object_mut().unwrap().remove("address");
    refused(&env, missing, "address").await;
    let r = env
        .http
        .post(format!("{}/v1/quotes", env.url()))
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert!(v["detail"].as_str().unwrap().starts_with("body:"), "{v}");

    let (s, v) = env.get("/v1/orders/ord_nope").await;
    assert_eq!((s, v["error"].as_str()), (404, Some("not_found")));
    let (s, _) = env.post("/v1/quotes/ord_nope/checkout", json!({})).await;
    assert_eq!(s, 404);
    let (s, h) = env.get("/health").await;
    assert_eq!(s, 200, "{h}");
    assert_eq!(h["node"]["reachable"], true);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onramp_pays_erg_end_to_end_and_the_order_tells_the_story() {
    let mut env = Env::new().await;
    env.start(env.config()).await;
    let u = user("erg");
    let q = env.quote("25.00", "ERG", &addr(&u)).await;
    let id = q["id"].as_str().unwrap();
    let session = env.checkout(id).await;
    // A second checkout call returns the same session (idempotent).
    assert_eq!(env.checkout(id).await, session);

    let paid = env.pay(&session, 1).await;
    let d = &paid["events"][0]["deliveries"][0];
    assert_eq!(d["status"], 200, "{paid}");
    let o = env.wait_status(id, "confirmed", true).await;

    let (erg, tokens, boxes) = env.holdings(&u).await;
    assert_eq!(erg, base_units(&q), "the user holds exactly the quoted ERG");
    assert!(tokens.is_empty());
    assert_eq!(boxes, 1);
    assert_eq!(env.payouts().await, 1);

    assert_eq!(o["quote"]["fiat_amount"], "25.00");
    assert_eq!(o["checkout"]["checkout_id"], session);
    assert_eq!(o["payment"]["amount"], "25.00");
    assert_eq!(o["payment"]["currency"], "USD");
    let tx = &o["transaction"];
    assert!(tx["confirmations"].as_i64().unwrap() >= 2, "{o:#}");
    assert!(tx["inclusion_height"].as_i64().unwrap() >= 2);
    let statuses: Vec<&str> = o["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "quoted",
            "checkout_open",
            "paid",
            "signed",
            "submitted",
            "confirmed"
        ]
    );
    assert_eq!(o["events"].as_array().unwrap().len(), 1);

    let m = env.metrics().await;
    assert!(m.contains("dgcm_onramp_payouts_confirmed_total 1"), "{m}");
    assert!(
        m.contains("dgcm_onramp_webhooks_total{outcome=\"paid\"} 1"),
        "{m}"
    );
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onramp_same_webhook_three_times_pays_once() {
    let mut env = Env::new().await;
    env.start(env.config()).await;
    let u = user("thrice");
    let q = env.quote("40", "SigUSD", &addr(&u)).await;
    let id = q["id"].as_str().unwrap();
    let session = env.checkout(id).await;

    let paid = env.pay(&session, 3).await;
    let event = paid["events"][0]["event_id"].as_str().unwrap().to_string();
    let outcomes: Vec<Value> = paid["events"][0]["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["status"], 200, "{d}");
            serde_json::from_str::<Value>(d["body"].as_str().unwrap()).unwrap()["outcome"].clone()
        })
        .collect();
    assert_eq!(
        outcomes,
        [json!("paid"), json!("duplicate"), json!("duplicate")]
    );

    env.wait_status(id, "confirmed", true).await;
    // Three more deliveries after the payout: still nothing new.
    let r: Value = env
        .http
        .post(format!("{}/sim/events/{event}/resend", env.sim.url))
        .json(&json!({"deliveries": 3}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for d in r["deliveries"].as_array().unwrap() {
        assert!(d["body"].as_str().unwrap().contains("\"duplicate\""), "{d}");
    }
    env.mine(2).await;
    tokio::time::sleep(Duration::from_millis(600)).await;

    let (erg, tokens, boxes) = env.holdings(&u).await;
    assert_eq!(
        tokens,
        vec![(sigusd(), base_units(&q))],
        "exactly the quoted SigUSD"
    );
    assert_eq!(erg, q["box_nanoerg"].as_u64().unwrap());
    assert_eq!(boxes, 1, "one payment");
    assert_eq!(env.payouts().await, 1);
    assert_eq!(
        count(&env.db, "SELECT COUNT(*) AS n FROM onramp_events").await,
        1
    );
    env.shutdown().await;
}

/// A webhook for `session` signed with `secret` at `t`.
fn forged(session: &str, order: &str, cents: i64, secret: &str, t: i64) -> (Vec<u8>, String) {
    let body = json!({
        "id": format!("evt_forged_{t}"),
        "object": "event",
        "type": "checkout.session.completed",
        "created": t,
        "data": {"object": {
            "id": session, "object": "checkout.session", "client_reference_id": order,
            "payment_status": "paid", "amount_total": cents, "currency": "usd",
            "payment_intent": "pi_forged"}}
    })
    .to_string()
    .into_bytes();
    let sig = signature::sign(secret, t, &body);
    (body, sig)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onramp_forged_or_stale_signature_is_refused_and_nothing_paid() {
    let mut env = Env::new().await;
    env.start(env.config()).await;
    let u = user("forged");
    let q = env.quote("20", "ERG", &addr(&u)).await;
    let id = q["id"].as_str().unwrap();
    let session = env.checkout(id).await;
    let now = signature::unix_now();
    let hook = format!("{}/v1/webhooks/stripe", env.url());

    let send = |body: Vec<u8>, header: Option<String>| {
        let mut r = env
            .http
            .post(&hook)
            .header("Content-Type", "application/json")
            .body(body);
        if let Some(h) = header {
            r = r.header("Stripe-Signature", h);
        }
        async move {
            let r = r.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };

    // Wrong secret.
    let (body, sig) = forged(&session, id, 2000, "whsec_attacker", now);
    let (s, v) = send(body, Some(sig)).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (400, Some("bad_signature")),
        "{v}"
    );
    // Right secret, an hour old: a replay.
    let (body, sig) = forged(&session, id, 2000, WEBHOOK_SECRET, now - 3600);
    let (s, v) = send(body, Some(sig)).await;
    assert_eq!(s, 400, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("tolerance"), "{v}");
    // Right secret, body altered after signing.
    let (body, sig) = forged(&session, id, 2000, WEBHOOK_SECRET, now);
    let altered = String::from_utf8(body)
        .unwrap()
        .replace("2000", "2001")
        .into_bytes();
    let (s, _) = send(altered, Some(sig)).await;
    assert_eq!(s, 400);
    // No signature at all; a garbage one.
    let (body, _) = forged(&session, id, 2000, WEBHOOK_SECRET, now);
    assert_eq!(send(body.clone(), None).await.0, 400);
    assert_eq!(send(body, Some("t=abc,v1=zz".into())).await.0, 400);
    // Unknown provider route.
    let r = env
        .http
        .post(format!("{}/v1/webhooks/paypal", env.url()))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // Nothing happened: no event, no payout, no coins, while the chain moves on.
    env.mine(3).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let o = env.order(id).await;
    assert_eq!(o["status"], "checkout_open", "{o:#}");
    assert!(o["payment"].is_null());
    assert_eq!(env.payouts().await, 0);
    assert_eq!(
        count(&env.db, "SELECT COUNT(*) AS n FROM onramp_events").await,
        0
    );
    assert_eq!(env.holdings(&u).await.2, 0);
    let m = env.metrics().await;
    assert!(
        m.contains("dgcm_onramp_webhooks_total{outcome=\"bad_signature\"} 5"),
        "{m}"
    );
    env.shutdown().await;
}

/// Runs one crash scenario: the first instance stops at `faults`, a second one resumes.
async fn crash_and_resume(faults: dgcm_onramp::Faults, tag: &str) {
    let mut env = Env::new().await;
    let mut cfg = env.config();
    cfg.faults = faults;
    env.start(cfg).await;
    let u = user(tag);
    let q = env.quote("30", "SigUSD", &addr(&u)).await;
    let id = q["id"].as_str().unwrap().to_string();
    let session = env.checkout(&id).await;
    env.pay(&session, 1).await;

    let start = Instant::now();
    while !env.onramp().worker_stopped() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the fault never fired"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let o = env.order(&id).await;
    assert_eq!(o["status"], "signed", "{o:#}");
    let recorded = o["transaction"]["tx_id"].as_str().unwrap().to_string();
    let in_mempool = env
        .node
        .unconfirmed_transactions(0, 100)
        .await
        .unwrap()
        .iter()
        .any(|t| String::from(t.id()) == recorded);
    assert_eq!(
        in_mempool, faults.crash_after_submit,
        "mempool after the crash"
    );

    // Restart on the same database, healthy.
    env.start(env.config()).await;
    let o = env.wait_status(&id, "confirmed", true).await;
    assert_eq!(
        o["transaction"]["tx_id"], recorded,
        "the recorded transaction is the one that was mined"
    );
    env.mine(2).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (_, tokens, boxes) = env.holdings(&u).await;
    assert_eq!(
        tokens,
        vec![(sigusd(), base_units(&q))],
        "paid exactly once"
    );
    assert_eq!(boxes, 1);
    assert_eq!(env.payouts().await, 1);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onramp_crash_between_payment_and_submission_pays_once_after_restart() {
    crash_and_resume(
        dgcm_onramp::Faults {
            crash_after_sign: true,
            crash_after_submit: false,
        },
        "crash-sign",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onramp_crash_after_submission_before_recording_pays_once_after_restart() {
    crash_and_resume(
        dgcm_onramp::Faults {
            crash_after_sign: false,
            crash_after_submit: true,
        },
        "crash-submit",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onramp_node_down_pays_once_when_it_returns() {
    let mut env = Env::new().await;
    env.start(env.config()).await;
    let u = user("node-down");
    let q = env.quote("15", "ERG", &addr(&u)).await;
    let id = q["id"].as_str().unwrap().to_string();
    let session = env.checkout(&id).await;

    env.stop_node().await;
    let paid = env.pay(&session, 1).await;
    assert_eq!(paid["events"][0]["deliveries"][0]["status"], 200, "{paid}");
    // The worker keeps failing and backing off while the node is away.
    let start = Instant::now();
    let o = loop {
        let o = env.order(&id).await;
        if o["attempts"].as_i64().unwrap() >= 2 {
            break o;
        }
        assert!(start.elapsed() < Duration::from_secs(40), "{o:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(o["status"], "paid", "{o:#}");
    assert!(
        o["last_error"].as_str().unwrap().contains("unreachable"),
        "{o:#}"
    );
    assert!(o["next_attempt_at"].is_string());
    assert_eq!(env.payouts().await, 0);

    env.restart_node().await;
    env.wait_status(&id, "confirmed", true).await;
    assert_paid_exactly_once(&env, &u, &q).await;
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onramp_expired_quote_is_flagged_for_refund_not_filled() {
    let mut env = Env::new().await;
    let mut cfg = env.config();
    cfg.quote_ttl = Duration::from_secs(2);
    cfg.provider.auto_refund = true;
    env.start(cfg).await;
    let u = user("expired");
    let q = env.quote("12", "ERG", &addr(&u)).await;
    let id = q["id"].as_str().unwrap().to_string();
    let session = env.checkout(&id).await;
    tokio::time::sleep(Duration::from_millis(3200)).await;
    // The worker has meanwhile marked it expired; the payer pays the open session anyway.
    assert_eq!(env.order(&id).await["status"], "expired");
    let paid = env.pay(&session, 1).await;
    let body: Value =
        serde_json::from_str(paid["events"][0]["deliveries"][0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["outcome"], "refund_flagged", "{paid}");

    // Flagged with the reason, refunded through the provider (simulator), never paid out.
    let o = env.wait_status(&id, "refunded", false).await;
    assert!(
        o["refund"]["reason"].as_str().unwrap().contains("expired"),
        "{o:#}"
    );
    assert!(o["refund"]["refund_id"]
        .as_str()
        .unwrap()
        .starts_with("re_"));
    let statuses: Vec<&str> = o["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert!(statuses.contains(&"refund_required"), "{statuses:?}");
    let refunds: Value = env
        .http
        .get(format!("{}/sim/refunds", env.sim.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(refunds.as_array().unwrap().len(), 1);
    assert_eq!(refunds[0]["amount"], 1200);
    env.mine(3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(env.payouts().await, 0);
    assert_eq!(env.holdings(&u).await.2, 0);
    // An expired quote cannot be checked out either.
    let q2 = env.quote("12", "ERG", &addr(&u)).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (s, v) = env
        .post(
            &format!("/v1/quotes/{}/checkout", q2["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onramp_limits_are_enforced_per_address_and_per_day() {
    let mut env = Env::new().await;
    let mut cfg = env.config();
    cfg.limits.max_order_cents = 2500;
    cfg.limits.per_address_daily_cents = 3000;
    cfg.limits.daily_total_cents = 5000;
    env.start(cfg).await;
    let (a, b, c) = (
        addr(&user("lim-a")),
        addr(&user("lim-b")),
        addr(&user("lim-c")),
    );
    let quote = |usd: &str, address: &str| json!({"fiat_currency": "USD", "fiat_amount": usd, "asset": "SigUSD", "address": address});

    // Per order.
    let v = refused(&env, quote("25.01", &a), "fiat_amount").await;
    assert_eq!(v["error"], "limit_exceeded");

    // Per address: 25 paid, then 10 more is refused for a but fine for b.
    let q1 = env.quote("25", "SigUSD", &a).await;
    // Two quotes for a within the limit each; only paid orders count.
    let q1b = env.quote("5", "SigUSD", &a).await;
    let s1 = env.checkout(q1["id"].as_str().unwrap()).await;
    env.pay(&s1, 1).await;
    let v = refused(&env, quote("10", &a), "address").await;
    assert_eq!(v["error"], "limit_exceeded");
    assert!(v["detail"].as_str().unwrap().contains("per-address"), "{v}");
    // 25 + 5 = 30 ≤ 30: still allowed at checkout.
    let s1b = env.checkout(q1b["id"].as_str().unwrap()).await;
    env.pay(&s1b, 1).await;

    // Per day across addresses: 30 paid; b takes 20 → 50; c's 5 is over.
    let q2 = env.quote("20", "SigUSD", &b).await;
    let s2 = env.checkout(q2["id"].as_str().unwrap()).await;
    env.pay(&s2, 1).await;
    let v = refused(&env, quote("5", &c), "fiat_amount").await;
    assert!(v["detail"].as_str().unwrap().contains("daily"), "{v}");
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onramp_checkout_rechecks_limits_for_quotes_given_earlier() {
    let env = Env::with_address_limit(3000).await;
    let a = addr(&user("recheck"));
    // Both quotes fit alone; together they do not.
    let q1 = env.quote("20", "ERG", &a).await;
    let q2 = env.quote("20", "ERG", &a).await;
    let s1 = env.checkout(q1["id"].as_str().unwrap()).await;
    env.pay(&s1, 1).await;
    let (s, v) = env
        .post(
            &format!("/v1/quotes/{}/checkout", q2["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["error"], "limit_exceeded");
    assert_eq!(
        env.order(q2["id"].as_str().unwrap()).await["status"],
        "quoted"
    );
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onramp_pays_gpuc_at_the_protocol_price() {
    // The devnet's genesis gives every test wallet (the treasury among them) the protocol's GPUC.
    let mut env = Env::new().await;
    env.start(env.config()).await;
    let u = user("gpuc");
    // $10.10 − $0.56 fee = $9.54 at 101 cents per GPUC = 9.445 GPUC (rounded down to the mGPUC).
    let q = env.quote("10.10", "GPUC", &addr(&u)).await;
    assert_eq!(base_units(&q), 9445);
    assert_eq!(q["asset_amount"], "9.445");
    assert_eq!(q["token_id"], String::from(gpuc()));
    let id = q["id"].as_str().unwrap();
    let session = env.checkout(id).await;
    env.pay(&session, 1).await;
    env.wait_status(id, "confirmed", true).await;
    let (erg, tokens, boxes) = env.holdings(&u).await;
    assert_eq!(tokens, vec![(gpuc(), 9445)], "exactly the quoted mGPUC");
    assert_eq!(erg, q["box_nanoerg"].as_u64().unwrap());
    assert_eq!(boxes, 1);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onramp_rolled_back_payout_is_followed_not_repaid() {
    let mut env = Env::new().await;
    env.start(env.config()).await;
    let u = user("rollback");
    let q = env.quote("18", "ERG", &addr(&u)).await;
    let id = q["id"].as_str().unwrap().to_string();
    let session = env.checkout(&id).await;
    env.pay(&session, 1).await;
    // Mined once (one confirmation of the two required) ...
    let start = Instant::now();
    let included = loop {
        let o = env.order(&id).await;
        if let Some(h) = o["transaction"]["inclusion_height"].as_i64() {
            break h;
        }
        if o["status"] == "submitted" {
            env.mine(1).await;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{o:#}");
        tokio::time::sleep(Duration::from_millis(150)).await;
    };
    // ... then its block is rolled back: the payout goes back to the mempool and is mined again
    // in another block; the worker notices, and nothing is signed twice.
    let tip = env.node.info().await.unwrap().full_height.unwrap() as i64;
    let r = env
        .http
        .post(format!("{}/devnet/rollback", env.node_url()))
        .json(&json!({"depth": tip - included + 1}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let o = env.wait_status(&id, "confirmed", true).await;
    let notes: Vec<&str> = o["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["note"].as_str().unwrap())
        .collect();
    assert!(
        notes.iter().any(|n| n.contains("rolled back")),
        "the rollback was seen: {notes:?}"
    );
    assert!(o["history"]
        .as_array()
        .unwrap()
        .iter()
        .all(|h| h["status"] != "stuck"));
    assert_paid_exactly_once(&env, &u, &q).await;
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onramp_wrong_amount_is_flagged_for_refund() {
    let mut env = Env::new().await;
    env.start(env.config()).await;
    let u = user("wrong-amount");
    let q = env.quote("20", "ERG", &addr(&u)).await;
    let id = q["id"].as_str().unwrap();
    let session = env.checkout(id).await;
    // Correctly signed (the provider's secret), but the provider charged another amount.
    let (body, sig) = forged(&session, id, 1999, WEBHOOK_SECRET, signature::unix_now());
    let r = env
        .http
        .post(format!("{}/v1/webhooks/stripe", env.url()))
        .header("Stripe-Signature", sig)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["outcome"], "refund_flagged", "{v}");
    let o = env.order(id).await;
    assert_eq!(o["status"], "refund_required");
    assert!(
        o["refund"]["reason"].as_str().unwrap().contains("1999"),
        "{o:#}"
    );
    env.mine(2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(env.payouts().await, 0);
    assert_eq!(env.order(id).await["status"], "refund_required");
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onramp_shares_a_database_with_the_indexer() {
    use diesel::migration::MigrationSource;
    use diesel::pg::Pg;

    let versions = |s: &diesel_migrations::EmbeddedMigrations| -> Vec<String> {
        MigrationSource::<Pg>::migrations(s)
            .unwrap()
            .iter()
            .map(|m| m.name().version().to_string())
            .collect()
    };
    let ours = versions(&dgcm_onramp::ledger::MIGRATIONS);
    let theirs = versions(&dgcm_indexer::store::MIGRATIONS);
    assert!(!ours.is_empty() && !theirs.is_empty());
    for v in &ours {
        assert!(
            !theirs.contains(v),
            "migration version {v} collides with the indexer's"
        );
    }
    for order in [true, false] {
        let db = tokio::task::spawn_blocking(dgcm_indexer::pgcluster::fresh_test_database)
            .await
            .unwrap()
            .unwrap();
        let db2 = db.clone();
        tokio::task::spawn_blocking(move || {
            if order {
                dgcm_indexer::Store::connect(&db2).unwrap();
                dgcm_onramp::ledger::connect(&db2, 2).unwrap();
            } else {
                dgcm_onramp::ledger::connect(&db2, 2).unwrap();
                dgcm_indexer::Store::connect(&db2).unwrap();
            }
            // Both again: nothing pending, nothing refused.
            dgcm_indexer::Store::connect(&db2).unwrap();
            dgcm_onramp::ledger::connect(&db2, 2).unwrap();
        })
        .await
        .unwrap();
        let n = count(
            &db,
            "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_name LIKE 'onramp\\_%'",
        )
        .await;
        assert_eq!(n, 5);
        let boxes = count(
            &db,
            "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_name = 'boxes'",
        )
        .await;
        assert_eq!(boxes, 1);
    }
}

#[test]
fn onramp_devnet_defaults_match_the_devnet() {
    let a = dgcm_onramp::config::AssetsConfig::default();
    assert_eq!(a.oracle_pool_nft, dgcm_devnet::genesis::oracle_pool_nft());
    assert_eq!(a.sigusd_id, sigusd());
    let p = dgcm_contracts::ProtocolParams::devnet_default();
    assert_eq!(a.gpuc_id, gpuc());
    assert_eq!(a.gpuc_price_cents, p.gpuc_price_cents);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `dgcm onramp` and `dgcm onramp simulator` as the CLI runs them (one TOML file for both), and
/// a payer who goes through the simulator's hosted checkout page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onramp_command_line_runs_the_service_and_the_simulator_from_one_config() {
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[arg(long, global = true)]
        config: Option<std::path::PathBuf>,
        #[command(subcommand)]
        command: Command,
    }
    #[derive(clap::Subcommand)]
    enum Command {
        Onramp(dgcm_onramp::OnrampArgs),
    }

    let env = Env::new().await;
    let (onramp_port, sim_port) = (free_port(), free_port());
    let dir = std::env::temp_dir().join(format!("dgcm-onramp-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("treasury.key");
    std::fs::write(
        &key,
        dgcm_devnet::genesis::test_wallet(TREASURY).secret_hex + "\n",
    )
    .unwrap();
    let file = dir.join("onramp.toml");
    std::fs::write(
        &file,
        format!(
            "[onramp]\nlisten = \"127.0.0.1:{onramp_port}\"\nnode = \"{}\"\nnetwork = \"testnet\"\n\
             confirmations = 1\npoll_interval = \"150ms\"\n\
             [onramp.treasury]\nsecret_file = \"{}\"\n\
             [onramp.provider]\napi_url = \"http://127.0.0.1:{sim_port}\"\napi_key = \"sk_test_cli\"\n\
             webhook_secret = \"whsec_cli\"\n",
            env.node_url(),
            key.display()
        ),
    )
    .unwrap();
    let f = file.display().to_string();
    let service =
        Cli::try_parse_from(["dgcm", "--config", &f, "onramp", "--database-url", &env.db]).unwrap();
    let sim = Cli::try_parse_from(["dgcm", "onramp", "--config", &f, "simulator"]).unwrap();
    let mut tasks = Vec::new();
    for cli in [sim, service] {
        let Command::Onramp(args) = cli.command;
        let config = cli.config.clone();
        tasks.push(tokio::spawn(async move {
            dgcm_onramp::run_command(config.as_deref(), args).await
        }));
    }
    let base = format!("http://127.0.0.1:{onramp_port}");
    let sim_base = format!("http://127.0.0.1:{sim_port}");
    let start = Instant::now();
    loop {
        let up = env.http.get(format!("{base}/health")).send().await;
        let sim_up = env.http.get(format!("{sim_base}/health")).send().await;
        if up.is_ok_and(|r| r.status() == 200) && sim_up.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "services did not come up: {:?}",
            tasks.iter().map(|t| t.is_finished()).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let u = user("cli");
    let q: Value = env
        .http
        .post(format!("{base}/v1/quotes"))
        .json(&json!({"fiat_currency": "usd", "fiat_amount": 9.99, "asset": "SigUSD", "address": addr(&u)}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = q["id"].as_str().expect("a quote").to_string();
    let c: Value = env
        .http
        .post(format!("{base}/v1/quotes/{id}/checkout"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The payer's side: the hosted page, then its button (webhook delivered in the background).
    let page_url = c["checkout_url"].as_str().unwrap().to_string();
    let page = env
        .http
        .get(&page_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("SIMULATOR") && page.contains("9.99 USD"),
        "{page}"
    );
    let r = env.http.post(&page_url).send().await.unwrap();
    assert!(r.status().is_success());

    let start = Instant::now();
    loop {
        let o: Value = env
            .http
            .get(format!("{base}/v1/orders/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if o["status"] == "confirmed" {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{o:#}");
        if o["status"] == "submitted" {
            env.mine(1).await;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let (_, tokens, _) = env.holdings(&u).await;
    assert_eq!(tokens, vec![(sigusd(), base_units(&q))]);
    for t in tasks {
        t.abort();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Several orders paid together: their payouts chain through the treasury's change (mempool
/// outputs) without ever selecting the same box twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onramp_many_orders_paid_together_each_paid_once() {
    let mut env = Env::new().await;
    env.start(env.config()).await;
    let assets = ["ERG", "SigUSD", "GPUC", "ERG", "SigUSD", "GPUC"];
    let mut orders = Vec::new();
    for (i, asset) in assets.iter().enumerate() {
        let u = user(&format!("many-{i}"));
        let q = env.quote(&format!("{}.00", 10 + i), asset, &addr(&u)).await;
        let id = q["id"].as_str().unwrap().to_string();
        let session = env.checkout(&id).await;
        orders.push((u, q, id, session));
    }
    for (_, _, _, session) in &orders {
        env.pay(session, 1).await;
    }
    // Nothing mined yet: every payout must reach the mempool, chained.
    let start = Instant::now();
    loop {
        let mut submitted = 0;
        for (_, _, id, _) in &orders {
            if env.order(id).await["status"] == "submitted" {
                submitted += 1;
            }
        }
        if submitted == orders.len() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{submitted} submitted"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    for (_, _, id, _) in &orders {
        env.wait_status(id, "confirmed", true).await;
    }
    for (u, q, _, _) in &orders {
        let (erg, tokens, boxes) = env.holdings(u).await;
        assert_eq!(boxes, 1);
        match q["asset"].as_str().unwrap() {
            "ERG" => assert_eq!(erg, base_units(q)),
            "SigUSD" => assert_eq!(tokens, vec![(sigusd(), base_units(q))]),
            _ => assert_eq!(tokens, vec![(gpuc(), base_units(q))]),
        }
    }
    assert_eq!(env.payouts().await, orders.len() as i64);
    env.shutdown().await;
}
