//! For tests of every crate that drive a devnet over HTTP: start one on a free loopback port and
//! mine through its own endpoint. These panic on failure, as a test should.

use crate::{Devnet, DevnetConfig, RunningDevnet};

/// A devnet with `config` on 127.0.0.1 and a free port.
pub async fn start_local(config: DevnetConfig) -> RunningDevnet {
    crate::start(
        Devnet::new(config).expect("devnet config"),
        "127.0.0.1:0".parse().expect("loopback address"),
    )
    .await
    .expect("devnet starts")
}

/// `POST {url}/devnet/mine {"blocks"}`; the answer's JSON (`height`, block ids).
pub async fn mine(url: &str, blocks: u32) -> serde_json::Value {
    let r = reqwest::Client::new()
        .post(format!("{url}/devnet/mine"))
        .json(&serde_json::json!({ "blocks": blocks }))
        .send()
        .await
        .expect("devnet reachable");
    assert!(r.status().is_success(), "mine {blocks}: {}", r.status());
    r.json().await.expect("mine answers JSON")
}
