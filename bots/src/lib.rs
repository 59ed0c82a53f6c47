//! DGCM bots: the executor framework and the bots anyone can run for the contracts' capped fees.
//!
//! - [`executor`]: the runtime every bot shares (box states, building, signing or EIP-12
//!   dry-run, submission, recovery when another bot wins);
//! - [`view`]: the market from the node, mempool-aware, decoded with the contracts' codecs;
//! - [`bots`]: matcher, settler, slasher, liquidator, Rosen relay;
//! - [`policy`]: the matcher's documented policy and its solver; [`bench`]: `dgcm bench match`;
//! - [`metrics`]: `/metrics` and `/health`.
//!
//! Entry point: [`run`] with a [`BotsConfig`] (the `dgcm bot` subcommand builds one).

pub mod bench;
pub mod bots;
pub mod executor;
pub mod metrics;
pub mod policy;
pub mod view;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use dgcm_chain::types::ScanRequest;
use dgcm_chain::wallet::address_tree;
use dgcm_chain::{NodeClient, Signer};
use dgcm_contracts::deployment::Deployment;
use dgcm_contracts::scanner::scanner_rule;
use dgcm_contracts::trees::{Contracts, Kind};

pub use executor::{BotKind, Outcome, Runtime, RuntimeConfig};
pub use metrics::BotMetrics;

/// Everything `dgcm bot` needs.
#[derive(Debug, Clone)]
pub struct BotsConfig {
    pub node: String,
    pub bots: Vec<BotKind>,
    /// The operator's key file (64 hex characters). Without it only `dry_run` works.
    pub key_file: Option<PathBuf>,
    /// Where earnings go (default: the key's own address).
    pub reward_address: Option<String>,
    /// The deployment whose contracts the bots build with; its network is the prefix of the
    /// addresses they read (`reward_address`, `rosen_trigger_address`) and write. Default: the
    /// built-in devnet deployment (testnet addresses), which the devnet's genesis carries.
    pub deployment: Deployment,
    pub dry_run: bool,
    /// Miner fee per transaction (nanoERG).
    pub fee: u64,
    /// The least a transaction must earn the operator after fees (nanoERG) to be signed.
    pub min_profit: i64,
    /// Pause between rounds.
    pub interval: Duration,
    pub metrics_listen: Option<SocketAddr>,
    /// Address of Rosen's EventTrigger boxes (the rosen-relay records paths from them).
    pub rosen_trigger_address: Option<String>,
    /// Directory for the Rosen path journal and the scan id.
    pub state_dir: Option<PathBuf>,
}

impl BotsConfig {
    pub fn new(node: impl Into<String>, bots: Vec<BotKind>) -> BotsConfig {
        BotsConfig {
            node: node.into(),
            bots,
            key_file: None,
            reward_address: None,
            deployment: Deployment::devnet_default(),
            dry_run: false,
            fee: 1_100_000,
            min_profit: 0,
            interval: Duration::from_millis(500),
            metrics_listen: None,
            rosen_trigger_address: None,
            state_dir: None,
        }
    }
}

/// Runs the configured bots until `stop` resolves.
pub async fn run(
    config: BotsConfig,
    signer: Option<Signer>,
    metrics: Arc<BotMetrics>,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    if config.bots.is_empty() {
        anyhow::bail!(
            "bots: name at least one of matcher, settler, slasher, liquidator, rosen-relay"
        );
    }
    let signer = match (signer, &config.key_file) {
        (Some(s), _) => Some(s),
        (None, Some(f)) => Some(Signer::load(f)?),
        (None, None) => None,
    };
    if signer.is_none() && !config.dry_run {
        anyhow::bail!(
            "key_file: required to sign transactions (or use --dry-run for EIP-12 output)"
        );
    }
    let network = config.deployment.network;
    let reward = match (&config.reward_address, &signer) {
        (Some(a), _) => {
            address_tree(a, network).map_err(|e| anyhow::anyhow!("reward_address: {e}"))?
        }
        (None, Some(s)) => s.tree.clone(),
        (None, None) => anyhow::bail!("reward_address: required in --dry-run without a key"),
    };
    let node = NodeClient::new(dgcm_chain::ClientConfig::new(config.node.clone()))
        .context("node client")?;
    let contracts = Arc::new(
        config
            .deployment
            .contracts()
            .context("deployment: the bots' contracts")?,
    );
    let _server = match config.metrics_listen {
        Some(addr) => {
            let s = metrics::metrics_server(addr, metrics.clone())
                .with_context(|| format!("metrics_listen: cannot listen on {addr}"))?;
            let h = s.handle();
            tokio::spawn(s);
            Some(h)
        }
        None => None,
    };
    let relay = bots::RosenRelay::new(
        match &config.rosen_trigger_address {
            Some(a) => Some(
                address_tree(a, network)
                    .map_err(|e| anyhow::anyhow!("rosen_trigger_address: {e}"))?,
            ),
            None => None,
        },
        network,
        config
            .state_dir
            .as_ref()
            .map(|d| d.join("rosen-paths.jsonl")),
    );
    if let Some(d) = &config.state_dir {
        std::fs::create_dir_all(d).with_context(|| format!("state_dir: {}", d.display()))?;
    }
    let rt = Arc::new(tokio::sync::Mutex::new(Runtime::new(
        node.clone(),
        signer,
        reward,
        RuntimeConfig {
            fee: config.fee,
            dry_run: config.dry_run,
            min_profit: config.min_profit,
            ..Default::default()
        },
        metrics.clone(),
    )));
    tracing::info!(bots = ?config.bots, node = %config.node, dry_run = config.dry_run, "bots starting");
    // One loop per bot: a bot whose round is slow (the matcher's policy on a hostile book, a
    // Rosen scan that hangs) never holds the others. They share one runtime (claims, cooling,
    // the operator's wallet), locked only while a round resolves claims, lists its jobs and
    // submits them; the matcher's policy runs on a blocking thread outside the lock.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let lane = Lane {
        node,
        contracts,
        rt,
        metrics,
        interval: config.interval,
        state_dir: config.state_dir.clone(),
        network,
    };
    let mut bots_seen = config.bots.clone();
    bots_seen.sort();
    bots_seen.dedup();
    let mut relay = Some(relay);
    let mut lanes = tokio::task::JoinSet::new();
    for bot in bots_seen {
        let relay = if bot == BotKind::RosenRelay {
            relay.take()
        } else {
            None
        };
        lanes.spawn(lane.clone().run(bot, relay, stop_rx.clone()));
    }
    stop.await;
    let _ = stop_tx.send(true);
    while let Some(r) = lanes.join_next().await {
        if let Err(e) = r {
            tracing::error!(error = %e, "a bot loop ended abnormally");
        }
    }
    tracing::info!("bots stopped");
    Ok(())
}

/// What every bot's loop shares.
#[derive(Clone)]
struct Lane {
    node: NodeClient,
    contracts: Arc<Contracts>,
    rt: Arc<tokio::sync::Mutex<Runtime>>,
    metrics: Arc<BotMetrics>,
    interval: Duration,
    state_dir: Option<PathBuf>,
    network: ergo_lib::ergotree_ir::chain::address::NetworkPrefix,
}

impl Lane {
    /// `bot`'s loop until `stop` turns true: a round, then the interval (doubling up to 10 s
    /// while the node fails).
    async fn run(
        self,
        bot: BotKind,
        mut relay: Option<bots::RosenRelay>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let needs = view::Needs {
            orders: bot == BotKind::Matcher,
            listings: bot == BotKind::Matcher,
            leases: matches!(bot, BotKind::Settler | BotKind::Slasher),
            // the relay credits stable deposits through the vault at the oracles' prices
            lets: matches!(bot, BotKind::Liquidator | BotKind::RosenRelay),
            rosen: bot == BotKind::RosenRelay,
        };
        let mut rosen_scan: Option<i32> = None;
        let mut backoff = self.interval;
        loop {
            if needs.rosen && rosen_scan.is_none() {
                rosen_scan =
                    register_rosen_scan(&self.node, &self.contracts, self.state_dir.as_ref()).await;
            }
            match self.round(bot, needs, rosen_scan, relay.as_mut()).await {
                Ok(()) => {
                    backoff = self.interval;
                    self.metrics.rounds.fetch_add(1, Ordering::Relaxed);
                    self.metrics
                        .last_round_unix
                        .store(unix_now(), Ordering::Relaxed);
                }
                Err(e) => {
                    self.metrics.node_errors.fetch_add(1, Ordering::Relaxed);
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                    tracing::warn!(bot = bot.name(), error = %e, retry_in = ?backoff, "round failed; backing off");
                }
            }
            tokio::select! {
                _ = stop.changed() => break,
                _ = tokio::time::sleep(backoff) => {}
            }
            if *stop.borrow() {
                break;
            }
        }
    }

    async fn round(
        &self,
        bot: BotKind,
        needs: view::Needs,
        rosen_scan: Option<i32>,
        relay: Option<&mut bots::RosenRelay>,
    ) -> Result<(), dgcm_chain::NodeError> {
        let c = &self.contracts;
        let v = view::MarketView::fetch(&self.node, c, needs, rosen_scan).await?;
        self.metrics
            .height
            .store(v.height as i64, Ordering::Relaxed);
        if bot == BotKind::Matcher {
            let book = {
                let mut rt = self.rt.lock().await;
                rt.resolve_claims(&v).await;
                bots::matcher::Book::new(&v, &rt)
            };
            let c2 = c.clone();
            let t0 = std::time::Instant::now();
            let (jobs, stats) = tokio::task::spawn_blocking(move || book.solve(&c2))
                .await
                .unwrap_or_default();
            let ms = t0.elapsed().as_millis() as i64;
            self.metrics.matcher_solve_ms.store(ms, Ordering::Relaxed);
            if stats.raised > 0 {
                self.metrics
                    .matcher_eps_raised
                    .fetch_add(stats.raised as i64, Ordering::Relaxed);
                tracing::warn!(
                    eps = stats.eps,
                    raised = stats.raised,
                    ms,
                    "order values would have stretched the round; solved with a coarser epsilon"
                );
            }
            self.rt.lock().await.execute(jobs, &v).await;
            return Ok(());
        }
        let mut rt = self.rt.lock().await;
        rt.resolve_claims(&v).await;
        match bot {
            BotKind::Settler => {
                let jobs = bots::settler_jobs(c, &v, &rt);
                rt.execute(jobs, &v).await;
            }
            BotKind::Slasher => {
                let jobs = bots::slasher_jobs(c, &v, &rt);
                rt.execute(jobs, &v).await;
            }
            BotKind::Liquidator => {
                let jobs = bots::liquidator_jobs(c, &v, &rt);
                rt.execute(jobs, &v).await;
            }
            BotKind::RosenRelay => {
                let Some(relay) = relay else { return Ok(()) };
                relay.refresh(&self.node).await;
                let (jobs, deposits): (Vec<_>, Vec<_>) = bots::rosen_jobs(c, &v, &rt, self.network)
                    .into_iter()
                    .unzip();
                let out = rt.execute(jobs, &v).await;
                for (o, d) in out.iter().zip(&deposits) {
                    if let Outcome::Submitted(tx) = o {
                        let path = relay.path_of(d, String::from(*tx));
                        relay.record(&path);
                    }
                }
            }
            BotKind::Matcher => {}
        }
        Ok(())
    }
}

/// Registers (once per state directory) the node scan that tracks Rosen deposit boxes.
async fn register_rosen_scan(
    node: &NodeClient,
    c: &Contracts,
    state_dir: Option<&PathBuf>,
) -> Option<i32> {
    let file = state_dir.map(|d| d.join("rosen-scan-id"));
    if let Some(id) = file
        .as_ref()
        .and_then(|f| std::fs::read_to_string(f).ok())
        .and_then(|s| s.trim().parse().ok())
    {
        return Some(id);
    }
    let rule = scanner_rule(c, Kind::RosenDeposit).ok()?;
    let req: ScanRequest = serde_json::from_value(serde_json::json!({
        "scanName": "dgcm-rosen-deposits",
        "trackingRule": rule,
    }))
    .ok()?;
    match node.register_scan(&req).await {
        Ok(id) => {
            if let Some(f) = file {
                let _ = std::fs::write(f, id.to_string());
            }
            Some(id)
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot register the Rosen deposit scan");
            None
        }
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
