//! Shared test helpers: the real Docker daemon (or a loud skip), job managers on a temporary
//! state directory, and a devnet market with a running worker, its listing and matched leases.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dgcm_chain::wallet::Signer;
use dgcm_chain::NodeClient;
use dgcm_contracts::codec::candidate;
use dgcm_contracts::lease::Lease;
use dgcm_contracts::listing::Listing;
use dgcm_contracts::order::{Order, OrderTerms};
use dgcm_contracts::util::tokens;
use dgcm_contracts::{build, Contracts, Executor, Kind, TxDraft, TxPlan, Typed};
use dgcm_devnet::{DevnetConfig, RunningDevnet};
use dgcm_worker::jobs::JobManager;
use dgcm_worker::state::{now_ms, JobRecord, LeaseRecord};
use dgcm_worker::{job_spec_hash, JobSpec, RunningWorker, WorkerConfig};
use ergo_lib::ergotree_ir::chain::ergo_box::ErgoBox;
use ergo_lib::ergotree_ir::chain::token::TokenId;

pub const IMAGE_DEFAULT: &str = "dgcm/busybox:test";

pub fn image() -> String {
    std::env::var("DGCM_TEST_IMAGE").unwrap_or_else(|_| IMAGE_DEFAULT.into())
}

fn require_docker() -> bool {
    std::env::var("DGCM_REQUIRE_DOCKER").is_ok_and(|v| v == "1")
}

/// The daemon of `DOCKER_HOST` (or the default socket) with the test image, or `None` after a
/// loud message (a failure instead with `DGCM_REQUIRE_DOCKER=1`).
pub async fn docker(test: &str) -> Option<bollard::Docker> {
    let why = match dgcm_worker::runtime::docker::connect(None).await {
        Ok(d) => match d.inspect_image(&image()).await {
            Ok(_) => return Some(d),
            Err(e) => format!(
                "image {} is missing ({e}); `eval \"$(bash worker/ci-docker.sh)\"` builds it",
                image()
            ),
        },
        Err(e) => format!(
            "no Docker daemon at {} ({e}); `eval \"$(bash worker/ci-docker.sh)\"` starts one",
            std::env::var("DOCKER_HOST").unwrap_or_else(|_| "the default socket".into())
        ),
    };
    if require_docker() {
        panic!("{test}: DGCM_REQUIRE_DOCKER=1 but {why}");
    }
    // Straight to the stream, past the test harness's capture: a skip must be seen.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!!!!!!!! SKIPPED {test}: {why} (set DGCM_REQUIRE_DOCKER=1 to fail instead) !!!!!!!!!!\n"
    );
    None
}

/// A job manager (no chain) on the test daemon with `tweak` applied to [`config`], or `None`
/// when the test is skipped ([`docker`]).
pub async fn manager(
    test: &str,
    tweak: impl FnOnce(&mut WorkerConfig),
) -> Option<(tempfile::TempDir, Arc<JobManager>)> {
    docker(test).await?;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    tweak(&mut cfg);
    let jm = dgcm_worker::local_job_manager(&cfg).await.unwrap();
    Some((dir, jm))
}

/// A worker config on `dir` with small, fast limits.
pub fn config(dir: &Path) -> WorkerConfig {
    let mut c = WorkerConfig {
        state_dir: dir.to_path_buf(),
        block_time: Duration::from_millis(500),
        stop_margin_blocks: 0,
        ..Default::default()
    };
    c.docker.memory_mib = 64;
    c.docker.pids_limit = 64;
    c.docker.cpu_millis = 500;
    c.docker.tmpfs_mib = 16;
    c.docker.stop_grace = Duration::from_secs(1);
    c.docker.sample_interval = Duration::from_millis(200);
    c.docker.pull = false;
    c.docker.allowed_images.push(image());
    c.gpu.nvml = false;
    c
}

pub fn spec(command: &[&str]) -> JobSpec {
    JobSpec {
        image: image(),
        command: command.iter().map(|s| s.to_string()).collect(),
        env: Default::default(),
        resources: Default::default(),
    }
}

pub fn sh(script: &str) -> JobSpec {
    spec(&["sh", "-c", script])
}

/// A lease record (no chain) for `spec`, whose deadline is `secs` from now.
pub fn lease_for(spec: &JobSpec, secs: u64) -> LeaseRecord {
    let id = hex::encode(dgcm_contracts::util::blake2b256(
        format!("test/{}/{}", now_ms(), rand_u64()).as_bytes(),
    ));
    LeaseRecord {
        lease_id: id,
        consumer_pk: String::new(),
        hours: 1,
        start_height: 0,
        deadline_height: 1_000_000,
        job_spec_hash: hex::encode(job_spec_hash(spec)),
        deadline_ms: now_ms() + secs * 1000,
        evidence_until_height: None,
        evidence_until_ms: None,
    }
}

fn rand_u64() -> u64 {
    use rand::RngCore;
    rand::rngs::OsRng.next_u64()
}

/// Waits until the job has finished (or `timeout`); returns its record and log.
pub async fn finished(
    jm: &Arc<JobManager>,
    lease_id: &str,
    timeout: Duration,
) -> (JobRecord, String) {
    let t0 = Instant::now();
    loop {
        if let Some(j) = jm.job(lease_id) {
            if j.status.finished() && !jm.running().contains(&lease_id.to_string()) {
                let log = std::fs::read_to_string(jm.log_path(lease_id)).unwrap_or_default();
                return (j, log);
            }
        }
        assert!(
            t0.elapsed() < timeout,
            "job {lease_id} did not finish within {timeout:?}: {:?}\nlog: {}",
            jm.job(lease_id),
            std::fs::read_to_string(jm.log_path(lease_id)).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Submits `spec` on a fresh lease with a deadline `secs` away and waits for the end.
pub async fn run(jm: &Arc<JobManager>, spec: JobSpec, secs: u64) -> (JobRecord, String) {
    let lease = lease_for(&spec, secs);
    jm.submit(&lease, spec).await.expect("job accepted");
    finished(jm, &lease.lease_id, Duration::from_secs(secs + 30)).await
}

// ------------------------------------------------------------------------------ devnet market

pub const ERG: u64 = 1_000_000_000;

pub struct Market {
    pub devnet: RunningDevnet,
    pub node: NodeClient,
    pub contracts: Contracts,
    pub worker: RunningWorker,
    pub provider: Signer,
    pub consumer_a: Signer,
    pub consumer_b: Signer,
    pub spec_a: JobSpec,
    pub spec_b: JobSpec,
    pub lease_a: String,
    pub lease_b: String,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
}

pub async fn mine(url: &str, blocks: u32) {
    dgcm_devnet::testing::mine(url, blocks).await;
}

pub async fn sign_submit(node: &NodeClient, signer: &Signer, plan: TxPlan) -> String {
    let ctx = node.state_context().await.unwrap();
    let tx = signer
        .sign(plan.unsigned, plan.inputs, plan.data_inputs, &ctx)
        .unwrap();
    String::from(node.submit_transaction(&tx).await.unwrap())
}

pub async fn exec_of(node: &NodeClient, s: &Signer) -> Executor {
    Executor {
        funding: node.unspent_boxes_by_tree(&s.tree, true).await.unwrap(),
        change: s.tree.clone(),
        fee: 1_100_000,
    }
}

pub async fn height(node: &NodeClient) -> u32 {
    node.info().await.unwrap().full_height.unwrap_or(0)
}

/// Our listing box, once on chain.
pub async fn listing_box(node: &NodeClient, c: &Contracts, nft: &TokenId) -> Typed<Listing> {
    let t0 = Instant::now();
    loop {
        let boxes: Vec<ErgoBox> = node
            .unspent_boxes_by_token(nft, 0, 10)
            .await
            .unwrap_or_default();
        if let Some(b) = boxes
            .into_iter()
            .find(|b| c.kind_of(&b.ergo_tree) == Some(Kind::Listing))
        {
            return Typed::parse(c, b).unwrap();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "listing never appeared"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A consumer's order for `spec` on the listing `nft`, declaring `requests`: placed and mined.
pub async fn order_for(
    m: &MarketParts,
    consumer: &Signer,
    spec: &JobSpec,
    nft: TokenId,
    requests: dgcm_contracts::capacity::Capacity,
) -> Typed<Order> {
    let c = &m.contracts;
    let node = &m.node;
    let h = height(node).await + 1;
    let order = Order {
        value: 20_000_000,
        budget: 2000,
        consumer: consumer.pk.clone(),
        terms: OrderTerms {
            max_price_per_hour: 1200,
            hours: 1,
            min_vram_mib: 16000,
            min_gpu_count: 1,
            min_benchmark_score: 0,
            expiry_height: h as i64 + 500,
            matcher_fee_cap: 3_000_000,
            lease_exec_fee_cap: 1_500_000,
            requests,
        },
        listing: Some(nft),
        model: None,
        region: None,
        job_spec_hash: job_spec_hash(spec).to_vec(),
    };
    let plan = build::place_order(c, &order, h, &exec_of(node, consumer).await).unwrap();
    let tx = sign_submit(node, consumer, plan).await;
    mine(&m.url, 1).await;
    let order_box = node
        .unspent_boxes_by_tree(&c.order, false)
        .await
        .unwrap()
        .into_iter()
        .find(|b| String::from(b.transaction_id) == tx)
        .expect("order box");
    Typed::parse(c, order_box).unwrap()
}

/// The matcher matches `order` with the listing `nft` as it is on chain now: the lease id (the
/// match mined), or why the builder refused.
pub async fn try_match(
    m: &MarketParts,
    order: &Typed<Order>,
    nft: TokenId,
) -> Result<String, String> {
    let (c, node) = (&m.contracts, &m.node);
    let listing = listing_box(node, c, &nft).await;
    let h = height(node).await + 1;
    let plan = build::match_order(c, order, &listing, h, &exec_of(node, &m.matcher).await)
        .map_err(|e| e.to_string())?;
    let tx = sign_submit(node, &m.matcher, plan).await;
    mine(&m.url, 1).await;
    let lease_box = node
        .unspent_boxes_by_tree(&c.lease, false)
        .await
        .unwrap()
        .into_iter()
        .find(|b| String::from(b.transaction_id) == tx)
        .expect("lease box");
    let _l: Typed<Lease> = Typed::parse(c, lease_box.clone()).unwrap();
    Ok(hex::encode(lease_box.box_id().as_ref()))
}

/// A consumer's order for `spec` matched against the worker's listing: the lease id.
async fn lease(m: &MarketParts, consumer: &Signer, spec: &JobSpec, nft: TokenId) -> String {
    let order = order_for(m, consumer, spec, nft, Default::default()).await;
    try_match(m, &order, nft).await.expect("the match")
}

/// The provider clears its listing's busyUntil (R7) with its own path and the match is mined:
/// the listing takes another lease while the first one runs (two leases at once on one worker,
/// as the tests of GPU allocation need; the busy rule otherwise allows one at a time).
pub async fn free_listing(m: &MarketParts, provider: &Signer, nft: TokenId) {
    let (c, node) = (&m.contracts, &m.node);
    let cur = listing_box(node, c, &nft).await;
    let new = Listing {
        busy_until: None,
        ..cur.v.clone()
    };
    let h = height(node).await + 1;
    let plan = build::update_listing(c, &cur, &new, h, &exec_of(node, provider).await).unwrap();
    sign_submit(node, provider, plan).await;
    mine(&m.url, 1).await;
}

pub struct MarketParts {
    pub url: String,
    pub node: NodeClient,
    pub contracts: Contracts,
    pub matcher: Signer,
}

/// A devnet, a GPUC stand-in minted for the test, a worker (with `tweak` applied to its config)
/// that lists itself, and two leases on its listing: A (consumer A, `spec_a`) and B
/// (consumer B, `spec_b`).
pub async fn market(
    spec_a: JobSpec,
    spec_b: JobSpec,
    tweak: impl FnOnce(&mut WorkerConfig),
) -> Market {
    let devnet = dgcm_devnet::testing::start_local(DevnetConfig::default()).await;
    let url = devnet.url();
    let node = NodeClient::connect(&url).unwrap();
    mine(&url, 1).await;
    let w = |i| Signer::from_secret_hex(&dgcm_devnet::genesis::test_wallet(i).secret_hex).unwrap();
    let (provider, consumer_a, consumer_b, matcher) = (w(0), w(1), w(3), w(2));

    // Mint the GPUC stand-in: id = the first input's id; shares for the provider and consumers.
    let funding = node
        .unspent_boxes_by_tree(&consumer_a.tree, true)
        .await
        .unwrap();
    let gpuc: TokenId = funding[0].box_id().into();
    let h = height(&node).await + 1;
    let mut d = TxDraft::new(h);
    for (tree, n) in [
        (&provider.tree, 100_000u64),
        (&consumer_a.tree, 100_000),
        (&consumer_b.tree, 100_000),
    ] {
        d.outputs
            .push(candidate("mint", tree.clone(), ERG, tokens(&[(gpuc, n)]), vec![], h).unwrap());
    }
    let plan = d
        .finish(&Executor {
            funding: vec![funding[0].clone()],
            change: consumer_a.tree.clone(),
            fee: 1_100_000,
        })
        .unwrap();
    sign_submit(&node, &consumer_a, plan).await;
    mine(&url, 1).await;

    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("provider.key");
    std::fs::write(&key, &dgcm_devnet::genesis::test_wallet(0).secret_hex).unwrap();
    let mut cfg = config(&dir.path().join("state"));
    cfg.listen = "127.0.0.1:0".into();
    cfg.public_url = Some("http://worker.test:8090".into());
    cfg.node = url.clone();
    cfg.gpuc_id = Some(hex::encode(dgcm_contracts::util::token_bytes(&gpuc)));
    cfg.provider_key_file = Some(key);
    cfg.poll_interval = Duration::from_millis(200);
    cfg.block_time = Duration::from_secs(2);
    cfg.listing.region = "eu-test".into();
    cfg.listing.stake = 10_000;
    cfg.listing.collateral_per_hour = 100;
    cfg.pricing.price_per_hour = 1000;
    cfg.gpu.model = "RTX 4090".into();
    cfg.gpu.vram_mib = 24576;
    tweak(&mut cfg);
    let contracts = dgcm_worker::chain::contracts(&cfg).unwrap();
    let worker = dgcm_worker::start(cfg).await.expect("worker starts");

    // The worker lists itself on its first tick.
    let t0 = Instant::now();
    let nft = loop {
        if let Some(n) = worker.worker.store.read(|s| s.listing_nft.clone()) {
            break n;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the worker did not list itself"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    mine(&url, 1).await;
    let nft: TokenId = ergo_lib::ergo_chain_types::Digest32::try_from(nft)
        .unwrap()
        .into();
    let parts = MarketParts {
        url: url.clone(),
        node: node.clone(),
        contracts: contracts.clone(),
        matcher,
    };
    let lease_a = lease(&parts, &consumer_a, &spec_a, nft).await;
    free_listing(&parts, &provider, nft).await;
    let lease_b = lease(&parts, &consumer_b, &spec_b, nft).await;
    Market {
        devnet,
        node,
        contracts,
        worker,
        provider,
        consumer_a,
        consumer_b,
        spec_a,
        spec_b,
        lease_a,
        lease_b,
        dir,
        http: reqwest::Client::new(),
    }
}

impl Market {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.worker.url())
    }

    /// POST JSON → (status, body).
    pub async fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let r = self
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// A challenge for `lease`: (nonce, message).
    pub async fn challenge(&self, lease: &str) -> (String, String) {
        let (s, v) = self
            .post("/v1/auth/challenge", serde_json::json!({"lease_id": lease}))
            .await;
        assert_eq!(s, 200, "challenge: {v}");
        (
            v["nonce"].as_str().unwrap().to_string(),
            v["message"].as_str().unwrap().to_string(),
        )
    }

    /// Asks for a token signing with `key`: (status, body).
    pub async fn token_with(&self, lease: &str, key: &Signer) -> (u16, serde_json::Value) {
        let (nonce, msg) = self.challenge(lease).await;
        let sig = key.sign_message(msg.as_bytes()).unwrap();
        self.post(
            "/v1/auth/token",
            serde_json::json!({"lease_id": lease, "nonce": nonce, "signature": hex::encode(sig)}),
        )
        .await
    }

    pub async fn token(&self, lease: &str, key: &Signer) -> String {
        let (s, v) = self.token_with(lease, key).await;
        assert_eq!(s, 200, "token: {v}");
        v["token"].as_str().unwrap().to_string()
    }

    /// GET with a bearer token → (status, body bytes).
    pub async fn get(&self, path: &str, token: &str) -> (u16, Vec<u8>, reqwest::header::HeaderMap) {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        let h = r.headers().clone();
        (s, r.bytes().await.unwrap().to_vec(), h)
    }

    pub async fn get_json(&self, path: &str, token: &str) -> (u16, serde_json::Value) {
        let (s, b, _) = self.get(path, token).await;
        (
            s,
            serde_json::from_slice(&b).unwrap_or(serde_json::Value::Null),
        )
    }

    pub async fn submit(
        &self,
        lease: &str,
        token: &str,
        spec: &JobSpec,
    ) -> (u16, serde_json::Value) {
        let r = self
            .http
            .post(self.url(&format!("/v1/leases/{lease}/job")))
            .bearer_auth(token)
            .json(spec)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// A lease box written directly at the lease script by consumer A (output 0 of its own
    /// transaction) naming this worker's key and listing, at `price` and `coll_per_hour`:
    /// submitted, not mined. Its box id.
    pub async fn direct_lease(&self, price: i64, coll_per_hour: i64) -> String {
        use dgcm_contracts::lease::{Lease, LeaseTerms};
        let nft = self
            .worker
            .worker
            .store
            .read(|s| s.listing_nft.clone())
            .unwrap();
        let h = self.node.info().await.unwrap().full_height.unwrap() + 1;
        let lease = Lease {
            value: 5_000_000,
            amount: (price + coll_per_hour) as u64,
            consumer: self.consumer_a.pk.clone(),
            provider: self.provider.pk.clone(),
            terms: LeaseTerms {
                price_per_hour: price,
                hours: 1,
                payment: price,
                collateral: coll_per_hour,
                start: h as i64,
                deadline: h as i64 + 30 + 45,
                exec_fee_cap: 1_000_000,
                used_blocks: -1,
                completed_at: -1,
            },
            job_spec_hash: vec![3; 32],
            listing_nft: hex::decode(&nft).unwrap(),
            usage_commitment: vec![],
        };
        let mut d = TxDraft::new(h);
        d.outputs
            .push(lease.to_candidate(&self.contracts, h).unwrap());
        let plan = d
            .finish(&exec_of(&self.node, &self.consumer_a).await)
            .unwrap();
        let ctx = self.node.state_context().await.unwrap();
        let tx = self
            .consumer_a
            .sign(plan.unsigned, plan.inputs, plan.data_inputs, &ctx)
            .unwrap();
        self.node.submit_transaction(&tx).await.unwrap();
        hex::encode(tx.outputs.first().box_id().as_ref())
    }

    /// Waits for the worker's idle (no-show) completion of `lease`, mines it, and returns the
    /// completed lease.
    pub async fn idle_completion(&self, lease: &str) -> Typed<Lease> {
        let t0 = Instant::now();
        let tx = loop {
            if let Some(tx) = self
                .worker
                .worker
                .store
                .read(|s| s.idle_completions.get(lease).cloned())
            {
                break tx;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "no idle completion of {lease}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        mine(&self.devnet.url(), 1).await;
        Typed::parse(&self.contracts, self.lease_of_tx(&tx).await).unwrap()
    }

    /// The (confirmed) lease box the transaction `tx` created.
    pub async fn lease_of_tx(&self, tx: &str) -> ErgoBox {
        self.node
            .unspent_boxes_by_tree(&self.contracts.lease, false)
            .await
            .unwrap()
            .into_iter()
            .find(|b| String::from(b.transaction_id) == tx)
            .expect("a lease box created by the transaction")
    }

    pub async fn stop(self) {
        self.worker.stop().await;
        self.devnet.stop().await;
    }

    /// The chain side of the market (what [`order_for`] and [`try_match`] take).
    pub fn parts(&self) -> MarketParts {
        let w =
            |i| Signer::from_secret_hex(&dgcm_devnet::genesis::test_wallet(i).secret_hex).unwrap();
        MarketParts {
            url: self.devnet.url(),
            node: self.node.clone(),
            contracts: self.contracts.clone(),
            matcher: w(2),
        }
    }

    /// The listing NFT of the worker.
    pub fn nft(&self) -> TokenId {
        let n = self
            .worker
            .worker
            .store
            .read(|s| s.listing_nft.clone())
            .unwrap();
        ergo_lib::ergo_chain_types::Digest32::try_from(n)
            .unwrap()
            .into()
    }

    /// Stops the worker and starts it again on the same state directory with `tweak` applied
    /// to its configuration.
    pub async fn restart(self, tweak: impl FnOnce(&mut WorkerConfig)) -> Market {
        let mut cfg = self.worker.worker.cfg.clone();
        tweak(&mut cfg);
        self.worker.stop().await;
        let worker = dgcm_worker::start(cfg).await.expect("worker restarts");
        Market { worker, ..self }
    }
}
