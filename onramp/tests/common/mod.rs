//! The on-ramp end to end: a devnet over HTTP, a fresh PostgreSQL database, the payment-provider
//! simulator, and the on-ramp service, each on its own port.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dgcm_chain::NodeClient;
use dgcm_devnet::genesis::TestWallet;
use dgcm_devnet::{Devnet, DevnetConfig, RunningDevnet};
use dgcm_onramp::simulator::{self, RunningSimulator, SimulatorConfig};
use dgcm_onramp::{OnrampConfig, RunningOnramp};
use ergo_lib::ergotree_ir::chain::address::NetworkPrefix;
use ergo_lib::ergotree_ir::chain::token::TokenId;
use serde_json::{json, Value};

pub const API_KEY: &str = "sk_test_onramp_tests";
pub const WEBHOOK_SECRET: &str = "whsec_onramp_tests";
/// Test wallet that plays the operator's treasury.
pub const TREASURY: usize = 1;

pub struct Env {
    pub devnet: Arc<Devnet>,
    pub devnet_addr: SocketAddr,
    running_devnet: Option<RunningDevnet>,
    pub node: NodeClient,
    pub sim: RunningSimulator,
    pub onramp: Option<RunningOnramp>,
    pub db: String,
    pub http: reqwest::Client,
}

/// Settings every test starts from (fast polling, 2 confirmations, short backoff).
pub fn base_config(db: &str, node: &str, sim: &str) -> OnrampConfig {
    let mut c = OnrampConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: Some(db.to_string()),
        node: node.to_string(),
        network: NetworkPrefix::Testnet,
        quote_ttl: Duration::from_secs(120),
        confirmations: 2,
        poll_interval: Duration::from_millis(150),
        backoff_initial: Duration::from_millis(150),
        backoff_max: Duration::from_millis(800),
        ..OnrampConfig::default()
    };
    c.treasury.secret_hex = Some(dgcm_devnet::genesis::test_wallet(TREASURY).secret_hex);
    c.provider.api_url = sim.to_string();
    c.provider.api_key = API_KEY.into();
    c.provider.webhook_secret = WEBHOOK_SECRET.into();
    c
}

impl Env {
    /// Devnet (one block mined), database, simulator; the on-ramp is started by [`Env::start`].
    pub async fn new() -> Env {
        let devnet = Devnet::new(DevnetConfig {
            wallets: 3,
            ..DevnetConfig::default()
        })
        .expect("devnet");
        let running = dgcm_devnet::start(devnet.clone(), "127.0.0.1:0".parse().unwrap())
            .await
            .expect("devnet starts");
        let devnet_addr = running.addr;
        let node = NodeClient::connect(running.url()).unwrap();
        let db = tokio::task::spawn_blocking(dgcm_indexer::pgcluster::fresh_test_database)
            .await
            .unwrap()
            .expect("a fresh PostgreSQL database");
        let sim = simulator::start(SimulatorConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            api_key: API_KEY.into(),
            webhook_url: "http://127.0.0.1:9/unset".into(),
            webhook_secret: WEBHOOK_SECRET.into(),
            webhook_attempts: 3,
            retry_delay: Duration::from_millis(200),
        })
        .await
        .expect("simulator starts");
        let env = Env {
            devnet,
            devnet_addr,
            running_devnet: Some(running),
            node,
            sim,
            onramp: None,
            db,
            http: reqwest::Client::new(),
        };
        env.mine(1).await;
        env
    }

    /// [`Env::new`], started with a per-address daily limit of `cents`.
    pub async fn with_address_limit(cents: i64) -> Env {
        let mut env = Env::new().await;
        let mut cfg = env.config();
        cfg.limits.per_address_daily_cents = cents;
        env.start(cfg).await;
        env
    }

    pub fn node_url(&self) -> String {
        format!("http://{}", self.devnet_addr)
    }

    pub fn config(&self) -> OnrampConfig {
        base_config(&self.db, &self.node_url(), &self.sim.url)
    }

    /// Starts (or restarts) the on-ramp with `cfg`; the simulator's webhooks follow it.
    pub async fn start(&mut self, cfg: OnrampConfig) {
        if let Some(o) = self.onramp.take() {
            o.stop().await;
        }
        let o = dgcm_onramp::start(cfg).await.expect("on-ramp starts");
        self.sim
            .sim
            .set_webhook_url(format!("{}/v1/webhooks/stripe", o.url));
        self.onramp = Some(o);
    }

    pub fn onramp(&self) -> &RunningOnramp {
        self.onramp.as_ref().expect("on-ramp started")
    }

    pub fn url(&self) -> String {
        self.onramp().url.clone()
    }

    pub async fn stop_node(&mut self) {
        if let Some(r) = self.running_devnet.take() {
            r.stop().await;
        }
    }

    /// The same chain served again on the same address.
    pub async fn restart_node(&mut self) {
        let mut tries = 0;
        loop {
            match dgcm_devnet::start(self.devnet.clone(), self.devnet_addr).await {
                Ok(r) => {
                    self.running_devnet = Some(r);
                    return;
                }
                Err(e) if tries < 50 => {
                    tries += 1;
                    tracing_note(&format!("devnet restart: {e}"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("devnet restart: {e}"),
            }
        }
    }

    /// `POST /devnet/mine`.
    pub async fn mine(&self, blocks: u32) {
        dgcm_devnet::testing::mine(&self.node_url(), blocks).await;
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.url()))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.url()))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn order(&self, id: &str) -> Value {
        let (s, v) = self.get(&format!("/v1/orders/{id}")).await;
        assert_eq!(s, 200, "{v}");
        v
    }

    /// A quote that must succeed.
    pub async fn quote(&self, usd: &str, asset: &str, address: &str) -> Value {
        let (s, v) = self
            .post(
                "/v1/quotes",
                json!({"fiat_currency": "USD", "fiat_amount": usd, "asset": asset, "address": address}),
            )
            .await;
        assert_eq!(s, 201, "quote {usd} {asset}: {v}");
        v
    }

    /// A checkout that must succeed; returns the session id.
    pub async fn checkout(&self, order_id: &str) -> String {
        let (s, v) = self
            .post(&format!("/v1/quotes/{order_id}/checkout"), json!({}))
            .await;
        assert!(s == 201 || s == 200, "checkout: {v}");
        v["checkout_id"].as_str().unwrap().to_string()
    }

    /// The service's `/metrics` text.
    pub async fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.url()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// A quote for `address`, its checkout and its payment (one delivery): (quote, order id).
    pub async fn paid_order(&self, usd: &str, asset: &str, address: &str) -> (Value, String) {
        let q = self.quote(usd, asset, address).await;
        let id = q["id"].as_str().unwrap().to_string();
        let session = self.checkout(&id).await;
        self.pay(&session, 1).await;
        (q, id)
    }

    /// The simulator marks the session paid and delivers its webhook `deliveries` times.
    pub async fn pay(&self, session: &str, deliveries: u32) -> Value {
        let r = self
            .http
            .post(format!("{}/sim/sessions/{session}/pay", self.sim.url))
            .json(&json!({"deliveries": deliveries}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        r.json().await.unwrap()
    }

    /// Waits until the order has `status` (mining a block per round when `mine`).
    pub async fn wait_status(&self, id: &str, status: &str, mine: bool) -> Value {
        let start = Instant::now();
        loop {
            let o = self.order(id).await;
            if o["status"] == status {
                return o;
            }
            if start.elapsed() > Duration::from_secs(60) {
                panic!("order {id} never reached {status}: {o:#}");
            }
            if mine && matches!(o["status"].as_str(), Some("submitted")) {
                self.mine(1).await;
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// ERG and tokens held by `tree` on the chain (confirmed boxes).
    pub async fn holdings(&self, w: &TestWallet) -> (u64, Vec<(TokenId, u64)>, usize) {
        let boxes = self
            .node
            .unspent_boxes_by_tree(&w.tree, false)
            .await
            .unwrap();
        let erg = boxes.iter().map(|b| *b.value.as_u64()).sum();
        let mut tokens: Vec<(TokenId, u64)> = Vec::new();
        for b in &boxes {
            for t in b.tokens.iter().flatten() {
                match tokens.iter_mut().find(|(id, _)| *id == t.token_id) {
                    Some((_, a)) => *a += *t.amount.as_u64(),
                    None => tokens.push((t.token_id, *t.amount.as_u64())),
                }
            }
        }
        (erg, tokens, boxes.len())
    }

    pub async fn payouts(&self) -> i64 {
        count(&self.db, "SELECT COUNT(*) AS n FROM onramp_payouts").await
    }

    pub async fn shutdown(mut self) {
        if let Some(o) = self.onramp.take() {
            o.stop().await;
        }
        self.stop_node().await;
        self.sim.stop().await;
    }
}

fn tracing_note(s: &str) {
    eprintln!("{s}");
}

/// `SELECT … AS n` on the test database.
pub async fn count(db: &str, sql: &str) -> i64 {
    let (db, sql) = (db.to_string(), sql.to_string());
    tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut c = diesel::PgConnection::establish(&db).unwrap();
        diesel::sql_query(sql).get_result::<N>(&mut c).unwrap().n
    })
    .await
    .unwrap()
}

/// A fresh user with no funds on the devnet.
pub fn user(tag: &str) -> TestWallet {
    TestWallet::derive(&format!("dgcm-onramp-test/user/{tag}"))
}

pub fn addr(w: &TestWallet) -> String {
    w.encoded_address(NetworkPrefix::Testnet)
}
