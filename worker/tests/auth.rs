//! Consumer auth over HTTP against a worker on a devnet with two real leases (A for consumer A,
//! B for consumer B, both on the worker's own listing). These run without Docker: the worker
//! uses the (explicitly allowed) process runtime, which auth does not touch.

mod common;

use std::time::Duration;

use common::*;
use dgcm_chain::wallet::Signer;

async fn m(ttl: Duration) -> Market {
    market(sh("echo a"), sh("echo b"), |c| {
        c.runtime = "process".into();
        c.allow_process_runtime = true;
        c.token_ttl = ttl;
    })
    .await
}

fn reason(v: &serde_json::Value) -> &str {
    v["reason"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_valid_signature_gets_a_lease_scoped_token() {
    let m = m(Duration::from_secs(3600)).await;
    let token = m.token(&m.lease_a, &m.consumer_a).await;
    let (s, v) = m
        .get_json(&format!("/v1/leases/{}/job", m.lease_a), &token)
        .await;
    assert_eq!(
        (s, reason(&v)),
        (404, "no_job"),
        "authorised, no job yet: {v}"
    );
    // Without a token.
    let (s, v) = m
        .get_json(&format!("/v1/leases/{}/job", m.lease_a), "")
        .await;
    assert_eq!((s, reason(&v)), (401, "missing_token"), "{v}");
    let (s, v) = m
        .get_json(&format!("/v1/leases/{}/job", m.lease_a), "made-up")
        .await;
    assert_eq!((s, reason(&v)), (401, "unknown_token"), "{v}");
    m.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_forged_signature_is_refused() {
    let m = m(Duration::from_secs(3600)).await;
    let (nonce, msg) = m.challenge(&m.lease_a).await;
    let mut sig = m.consumer_a.sign_message(msg.as_bytes()).unwrap();
    sig[7] ^= 0x55;
    let (s, v) = m
        .post(
            "/v1/auth/token",
            serde_json::json!({"lease_id": m.lease_a, "nonce": nonce, "signature": hex::encode(&sig)}),
        )
        .await;
    assert_eq!((s, reason(&v)), (401, "bad_signature"), "{v}");
    assert!(
        v["detail"].as_str().unwrap().contains("consumer key"),
        "{v}"
    );
    // A signature of another message (right key) is refused as well.
    let (nonce, _) = m.challenge(&m.lease_a).await;
    let sig = m.consumer_a.sign_message(b"something else").unwrap();
    let (s, v) = m
        .post(
            "/v1/auth/token",
            serde_json::json!({"lease_id": m.lease_a, "nonce": nonce, "signature": hex::encode(&sig)}),
        )
        .await;
    assert_eq!((s, reason(&v)), (401, "bad_signature"), "{v}");
    // Garbage is a 400 naming the field.
    let (nonce, _) = m.challenge(&m.lease_a).await;
    let (s, v) = m
        .post(
            "/v1/auth/token",
            serde_json::json!({"lease_id": m.lease_a, "nonce": nonce, "signature": "zz"}),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["detail"].as_str().unwrap().starts_with("signature:"),
        "{v}"
    );
    m.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_another_leases_key_is_refused() {
    let m = m(Duration::from_secs(3600)).await;
    // Consumer B's key (a real lease holder, but of lease B) on lease A.
    let (s, v) = m.token_with(&m.lease_a, &m.consumer_b).await;
    assert_eq!((s, reason(&v)), (401, "bad_signature"), "{v}");
    // The provider's own key is no consumer key either.
    let (s, v) = m.token_with(&m.lease_a, &m.provider).await;
    assert_eq!((s, reason(&v)), (401, "bad_signature"), "{v}");
    // A stranger.
    let stranger = Signer::from_secret_hex(&"42".repeat(32)).unwrap();
    let (s, v) = m.token_with(&m.lease_b, &stranger).await;
    assert_eq!((s, reason(&v)), (401, "bad_signature"), "{v}");
    // A nonce issued for lease B, used for lease A, is refused (and spent).
    let (nonce, msg) = m.challenge(&m.lease_b).await;
    let sig = m.consumer_b.sign_message(msg.as_bytes()).unwrap();
    let (s, v) = m
        .post(
            "/v1/auth/token",
            serde_json::json!({"lease_id": m.lease_a, "nonce": nonce, "signature": hex::encode(sig)}),
        )
        .await;
    assert_eq!((s, reason(&v)), (403, "nonce_other_lease"), "{v}");
    // Challenges for what is not our open lease.
    let (s, v) = m
        .post(
            "/v1/auth/challenge",
            serde_json::json!({"lease_id": "00".repeat(32)}),
        )
        .await;
    assert_eq!((s, reason(&v)), (404, "lease_not_found"), "{v}");
    let (s, v) = m
        .post("/v1/auth/challenge", serde_json::json!({"lease_id": "xyz"}))
        .await;
    assert_eq!(s, 400, "{v}");
    let (s, v) = m
        .post("/v1/auth/challenge", serde_json::json!({"lease": "x"}))
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("lease"), "{v}");
    m.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_expired_token_is_refused() {
    let m = m(Duration::from_secs(1)).await;
    let token = m.token(&m.lease_a, &m.consumer_a).await;
    let path = format!("/v1/leases/{}/job", m.lease_a);
    let (s, _) = m.get_json(&path, &token).await;
    assert_eq!(s, 404, "valid at first (no job yet)");
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let (s, v) = m.get_json(&path, &token).await;
    assert_eq!((s, reason(&v)), (401, "token_expired"), "{v}");
    m.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_replayed_nonce_is_refused() {
    let m = m(Duration::from_secs(3600)).await;
    let (nonce, msg) = m.challenge(&m.lease_a).await;
    let sig = hex::encode(m.consumer_a.sign_message(msg.as_bytes()).unwrap());
    let body = serde_json::json!({"lease_id": m.lease_a, "nonce": nonce, "signature": sig});
    let (s, v) = m.post("/v1/auth/token", body.clone()).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = m.post("/v1/auth/token", body).await;
    assert_eq!((s, reason(&v)), (401, "nonce_replayed"), "{v}");
    // A failed attempt spends the nonce too.
    let (nonce, msg) = m.challenge(&m.lease_a).await;
    let good = hex::encode(m.consumer_a.sign_message(msg.as_bytes()).unwrap());
    let bad = hex::encode(m.consumer_b.sign_message(msg.as_bytes()).unwrap());
    let (s, _) = m
        .post(
            "/v1/auth/token",
            serde_json::json!({"lease_id": m.lease_a, "nonce": nonce, "signature": bad}),
        )
        .await;
    assert_eq!(s, 401);
    let (s, v) = m
        .post(
            "/v1/auth/token",
            serde_json::json!({"lease_id": m.lease_a, "nonce": nonce, "signature": good}),
        )
        .await;
    assert_eq!((s, reason(&v)), (401, "nonce_replayed"), "{v}");
    let (s, v) = m
        .post(
            "/v1/auth/token",
            serde_json::json!({"lease_id": m.lease_a, "nonce": "ab".repeat(32), "signature": good}),
        )
        .await;
    assert_eq!((s, reason(&v)), (401, "unknown_nonce"), "{v}");
    m.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_token_of_lease_a_on_lease_b_is_forbidden() {
    let m = m(Duration::from_secs(3600)).await;
    let token_a = m.token(&m.lease_a, &m.consumer_a).await;
    for path in ["job", "logs", "logs/download", "usage", "results"] {
        let (s, v) = m
            .get_json(&format!("/v1/leases/{}/{path}", m.lease_b), &token_a)
            .await;
        assert_eq!((s, reason(&v)), (403, "wrong_lease"), "{path}: {v}");
        assert!(v["detail"].as_str().unwrap().contains(&m.lease_a), "{v}");
    }
    let (s, v) = m.submit(&m.lease_b, &token_a, &m.spec_b).await;
    assert_eq!((s, reason(&v)), (403, "wrong_lease"), "{v}");
    m.stop().await;
}

/// A lease box created directly at the lease script (output 0 of the forger's own transaction)
/// naming this worker's key and listing NFT is served only on terms the listing has carried; the
/// honest twin, the same box on the listed terms, gets a challenge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_a_lease_on_terms_the_listing_never_carried_is_refused() {
    let m = m(Duration::from_secs(3600)).await;
    for (price, coll, want) in [(1, 0, 403), (1000, 100, 200)] {
        let lease_id = m.direct_lease(price, coll).await;
        mine(&m.devnet.url(), 1).await;
        let (s, v) = m
            .post(
                "/v1/auth/challenge",
                serde_json::json!({"lease_id": lease_id}),
            )
            .await;
        assert_eq!(s, want, "price {price}, collateral {coll}/h: {v}");
        if want == 403 {
            assert_eq!(reason(&v), "unlisted_terms", "{v}");
        }
    }
    m.stop().await;
}

/// An image upload is refused on its token before its body is read: a body above the image cap
/// without a token answers 401 (it used to be read whole first, and answered 413 at the cap).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_an_image_upload_without_a_token_is_refused_before_its_body_is_read() {
    let m = market(sh("echo a"), sh("echo b"), |c| {
        c.runtime = "process".into();
        c.allow_process_runtime = true;
        c.docker.max_image_mib = 1;
    })
    .await;
    let big = vec![0u8; 3 * 1024 * 1024];
    let r = m
        .http
        .post(m.url(&format!("/v1/leases/{}/image", m.lease_a)))
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // The honest twin: with the lease's token the request gets past auth (this worker runs the
    // process runtime, so the image itself is refused for that reason, not for auth).
    let token = m.token(&m.lease_a, &m.consumer_a).await;
    let r = m
        .http
        .post(m.url(&format!("/v1/leases/{}/image", m.lease_a)))
        .bearer_auth(&token)
        .body(vec![1u8; 1024])
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    let v: serde_json::Value = r.json().await.unwrap_or_default();
    assert_eq!((s, reason(&v)), (400, "no_docker"), "{v}");
    m.stop().await;
}
