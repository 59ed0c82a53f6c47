//! The services of the demo, each the same code its own `dgcm` subcommand runs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use dgcm_bots::{BotKind, BotMetrics, BotsConfig};
use dgcm_chain::{FollowerConfig, NodeClient, Signer};
use dgcm_contracts::trees::{Contracts, ProtocolParams};
use dgcm_indexer::pgcluster::PgCluster;
use ergo_lib::chain::ergo_box::box_builder::ErgoBoxCandidateBuilder;
use ergo_lib::ergotree_ir::chain::address::Address;
use ergo_lib::ergotree_ir::chain::ergo_box::box_value::BoxValue;
use ergo_lib::ergotree_ir::chain::token::{Token, TokenAmount, TokenId};
use ergo_lib::ergotree_ir::ergo_tree::ErgoTree;
use ergo_lib::wallet::box_selector::{BoxSelector, SimpleBoxSelector};
use ergo_lib::wallet::tx_builder::TxBuilder;

use crate::Narrator;

/// Settings of the demo's stack.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Print JSON lines only on stdout (the story goes to stderr).
    pub json: bool,
    /// Where the private PostgreSQL cluster, keys and the worker's state live.
    pub data_dir: PathBuf,
    /// Use this PostgreSQL (a fresh database is created in it) instead of a private cluster.
    pub database_url: Option<String>,
    /// Devnet block interval.
    pub block_time: Duration,
    /// Job image for the Docker runtime.
    pub image: String,
    /// Force the worker's process runtime even when Docker is reachable.
    pub force_process: bool,
}

impl StackOptions {
    pub fn new(data_dir: impl Into<PathBuf>) -> StackOptions {
        StackOptions {
            json: false,
            // Absolute once, here: the worker's job folders below it become Docker bind mounts.
            data_dir: absolute(data_dir.into()),
            database_url: std::env::var("DATABASE_URL").ok(),
            block_time: Duration::from_millis(150),
            image: "dgcm/busybox:test".into(),
            force_process: false,
        }
    }
}

fn absolute(p: PathBuf) -> PathBuf {
    std::path::absolute(&p).unwrap_or(p)
}

/// The running services.
pub struct Stack {
    pub options: StackOptions,
    pub node: NodeClient,
    pub node_url: String,
    pub api_url: String,
    pub contracts: Contracts,
    /// `docker` or `process`: what Bob's worker runs jobs with.
    pub runtime: String,
    pub bot_metrics: Arc<BotMetrics>,
    pub bot_key: Signer,
    pub faucet: Signer,
    devnet: Option<dgcm_devnet::RunningDevnet>,
    pg: Option<PgCluster>,
    stops: Vec<tokio::sync::oneshot::Sender<()>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    api: Option<actix_web::dev::ServerHandle>,
    pub narrator: Narrator,
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Stack {
    pub async fn start(options: StackOptions, n: Narrator) -> anyhow::Result<Stack> {
        std::fs::create_dir_all(&options.data_dir)
            .with_context(|| format!("data_dir: cannot create {}", options.data_dir.display()))?;
        let contracts = Contracts::new(ProtocolParams::devnet_default())?;

        // The chain.
        let devnet = dgcm_devnet::Devnet::new(dgcm_devnet::DevnetConfig {
            block_time: Some(options.block_time),
            ..Default::default()
        })?;
        let devnet = dgcm_devnet::start(devnet, "127.0.0.1:0".parse()?).await?;
        let node_url = devnet.url();
        let node = NodeClient::connect(&node_url)?;
        // Transactions are signed against the last headers: wait for the first block.
        let t0 = Instant::now();
        while node.info().await?.full_height.unwrap_or(0) < 1 {
            anyhow::ensure!(
                t0.elapsed() < Duration::from_secs(10),
                "the devnet mined no block in 10 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        n.say(format!(
            "devnet up at {node_url}: a block every {:?}, genesis with the LETS vault, SigUSD, \
             the ERG/USD oracle pool and funded test wallets",
            options.block_time
        ));

        // PostgreSQL.
        let (pg, database_url) = match &options.database_url {
            Some(url) => {
                let db = fresh_database(url).await?;
                n.say("PostgreSQL: a fresh database in the cluster of DATABASE_URL");
                (None, db)
            }
            None => {
                let dir = options.data_dir.join("pg");
                let port = free_port()?;
                let cluster =
                    tokio::task::spawn_blocking(move || PgCluster::start(&dir, port)).await??;
                // A fresh database each run: the devnet starts from genesis every time.
                let db = {
                    use diesel::prelude::*;
                    let mut c = diesel::PgConnection::establish(&cluster.url("postgres"))?;
                    diesel::sql_query("DROP DATABASE IF EXISTS dgcm_demo WITH (FORCE)")
                        .execute(&mut c)?;
                    cluster.create_database("dgcm_demo")?
                };
                n.say(format!(
                    "PostgreSQL: a private cluster from the system's binaries under {} (port {port}; stopped at exit)",
                    options.data_dir.join("pg").display()
                ));
                (Some(cluster), db)
            }
        };
        let mut stack = Stack {
            options: options.clone(),
            node: node.clone(),
            node_url: node_url.clone(),
            api_url: String::new(),
            contracts,
            runtime: String::new(),
            bot_metrics: Arc::new(BotMetrics::default()),
            bot_key: Signer::from_secret_hex(&dgcm_devnet::genesis::test_wallet(5).secret_hex)?,
            faucet: Signer::from_secret_hex(&dgcm_devnet::genesis::test_wallet(0).secret_hex)?,
            devnet: Some(devnet),
            pg,
            stops: vec![],
            tasks: vec![],
            api: None,
            narrator: n.clone(),
        };

        // The indexer.
        let mut ic = dgcm_indexer::IndexerConfig::new(database_url.clone());
        ic.contracts = Some(Contracts::new(ProtocolParams::devnet_default())?);
        ic.follower = FollowerConfig {
            poll_interval: Duration::from_millis(100),
            ..Default::default()
        };
        ic.mempool_every = Some(Duration::from_millis(500));
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let metrics = Arc::new(dgcm_indexer::IndexerMetrics::default());
        let client = node.clone();
        stack.stops.push(stop);
        stack.tasks.push(tokio::spawn(async move {
            if let Err(e) = dgcm_indexer::run(ic, client, metrics, async move {
                let _ = rx.await;
            })
            .await
            {
                tracing::error!(error = %format!("{e:#}"), "demo indexer stopped");
            }
        }));
        n.say("indexer following the devnet into PostgreSQL");

        // The query API.
        let mut ac = dgcm_api::ApiConfig::devnet(database_url);
        ac.node = Some(node_url.clone());
        ac.network = ergo_lib::ergotree_ir::chain::address::NetworkPrefix::Testnet;
        let state = Arc::new(dgcm_api::AppState::new(ac)?);
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let api_addr: SocketAddr = listener.local_addr()?;
        let server = dgcm_api::server(state, listener, 1)?;
        stack.api = Some(server.handle());
        tokio::spawn(server);
        stack.api_url = format!("http://{api_addr}");
        n.say(format!("query API at {}/api/v1", stack.api_url));

        // The bots.
        let mut bc = BotsConfig::new(
            node_url.clone(),
            vec![BotKind::Matcher, BotKind::Settler, BotKind::Slasher],
        );
        bc.interval = Duration::from_millis(200);
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let key = stack.bot_key.clone();
        let bm = stack.bot_metrics.clone();
        stack.stops.push(stop);
        stack.tasks.push(tokio::spawn(async move {
            if let Err(e) = dgcm_bots::run(bc, Some(key), bm, async move {
                let _ = rx.await;
            })
            .await
            {
                tracing::error!(error = %format!("{e:#}"), "demo bots stopped");
            }
        }));
        n.say(format!(
            "bots: matcher, settler and slasher, run by the operator {}",
            short(&stack.bot_key.address(testnet()))
        ));

        stack.runtime = stack.choose_runtime().await;
        Ok(stack)
    }

    /// Docker when a daemon answers and has the job image; the process runtime otherwise.
    async fn choose_runtime(&self) -> String {
        if self.options.force_process {
            self.narrator
                .warn("the worker uses its `process` runtime (asked for): jobs are NOT isolated");
            return "process".into();
        }
        match docker_has_image(&self.options.image).await {
            Ok(()) => {
                self.narrator.say(format!(
                    "Docker daemon reachable with image {}: jobs run in isolated containers",
                    self.options.image
                ));
                "docker".into()
            }
            Err(why) => {
                self.narrator.warn(format!(
                    "no usable Docker ({why}); the worker falls back to its `process` runtime: \
                     jobs run as plain child processes WITHOUT isolation (development and demo only)"
                ));
                "process".into()
            }
        }
    }

    /// Best full height of the devnet.
    pub async fn height(&self) -> anyhow::Result<u32> {
        Ok(self.node.info().await?.full_height.unwrap_or(0))
    }

    /// Waits until `cond` holds, checking every 100 ms, up to `limit`.
    pub async fn wait_for<F, Fut>(
        &self,
        what: &str,
        limit: Duration,
        mut cond: F,
    ) -> anyhow::Result<()>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<bool>>,
    {
        self.wait_some(what, limit, || {
            let f = cond();
            async move { Ok(f.await?.then_some(())) }
        })
        .await
    }

    /// Waits until `probe` finds something, checking every 100 ms, up to `limit`.
    pub async fn wait_some<T, F, Fut>(
        &self,
        what: &str,
        limit: Duration,
        mut probe: F,
    ) -> anyhow::Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<Option<T>>>,
    {
        let t0 = Instant::now();
        loop {
            match probe().await {
                Ok(Some(v)) => return Ok(v),
                Ok(None) => {}
                Err(e) => tracing::debug!(error = %format!("{e:#}"), what, "still waiting"),
            }
            if t0.elapsed() > limit {
                anyhow::bail!("timed out after {limit:?} waiting for {what}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends `erg` nanoERG and `tokens` from the faucet (a funded test wallet) to `to`.
    pub async fn fund(
        &self,
        to: &ErgoTree,
        erg: u64,
        tokens: &[(TokenId, u64)],
    ) -> anyhow::Result<String> {
        let height = self.height().await? + 1;
        let mut out = ErgoBoxCandidateBuilder::new(BoxValue::new(erg)?, to.clone(), height);
        let mut toks = Vec::new();
        for (id, n) in tokens {
            let t = Token {
                token_id: *id,
                amount: TokenAmount::try_from(*n)?,
            };
            out.add_token(t.clone());
            toks.push(t);
        }
        let out = out.build()?;
        let fee = BoxValue::new(1_100_000)?;
        let boxes = self
            .node
            .unspent_boxes_by_tree(&self.faucet.tree, true)
            .await?;
        let sel = SimpleBoxSelector::new().select(boxes, BoxValue::new(erg + 1_100_000)?, &toks)?;
        let inputs = sel.boxes.clone().to_vec();
        let change = Address::recreate_from_ergo_tree(&self.faucet.tree)?;
        let unsigned = TxBuilder::new(sel, vec![out], height, fee, change).build()?;
        let ctx = self.node.state_context().await?;
        let tx = self.faucet.sign(unsigned, inputs, vec![], &ctx)?;
        Ok(String::from(self.node.submit_transaction(&tx).await?))
    }

    /// A wallet of the story with a fresh random key (saved under the data directory).
    pub fn new_person(&self, name: &str) -> anyhow::Result<(Signer, dgcm_tx::Wallet, PathBuf)> {
        let mut bytes = [0u8; 32];
        loop {
            rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
            if let Ok(s) = Signer::from_bytes(&bytes) {
                let key = self.options.data_dir.join(format!("{name}.key"));
                std::fs::write(&key, hex::encode(bytes))?;
                let w = dgcm_tx::Wallet::new(
                    &self.node_url,
                    &hex::encode(bytes),
                    &dgcm_tx::Deployment::devnet_default(),
                )?;
                return Ok((s, w, key));
            }
        }
    }

    pub async fn stop(mut self) {
        for s in self.stops.drain(..) {
            let _ = s.send(());
        }
        for t in self.tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
        if let Some(h) = self.api.take() {
            h.stop(true).await;
        }
        if let Some(d) = self.devnet.take() {
            d.stop().await;
        }
        if let Some(pg) = self.pg.take() {
            if let Err(e) = pg.stop() {
                self.narrator.warn(format!("stopping PostgreSQL: {e:#}"));
            } else {
                self.narrator.say("PostgreSQL stopped");
            }
        }
    }
}

/// A fresh database in the cluster of `url` (its role must be allowed to create databases).
async fn fresh_database(url: &str) -> anyhow::Result<String> {
    let url = url.to_string();
    tokio::task::spawn_blocking(move || {
        std::env::set_var("DATABASE_URL", &url);
        dgcm_indexer::pgcluster::fresh_test_database()
    })
    .await?
}

async fn docker_has_image(image: &str) -> Result<(), String> {
    let out = tokio::process::Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", image])
        .output()
        .await
        .map_err(|e| format!("no docker client: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("No such image") {
        Err(format!("the daemon has no image {image}"))
    } else {
        Err(format!(
            "no daemon answering: {}",
            err.lines().next().unwrap_or("docker image inspect failed")
        ))
    }
}

pub fn testnet() -> ergo_lib::ergotree_ir::chain::address::NetworkPrefix {
    ergo_lib::ergotree_ir::chain::address::NetworkPrefix::Testnet
}

/// An address or id shortened for the story.
pub fn short(s: &str) -> String {
    if s.len() > 16 {
        format!("{}…{}", &s[..8], &s[s.len() - 6..])
    } else {
        s.to_string()
    }
}
