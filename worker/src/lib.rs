//! DGCM worker: the provider daemon (listing, consumer auth, isolated Docker jobs, GPU metrics,
//! completion).
//!
//! **Wiring (for `src/main.rs`, which this crate does not edit):**
//! - `dgcm worker`: add `Worker(dgcm_worker::WorkerArgs)` to the `Command` enum and call
//!   `dgcm_worker::run_command(args, cli.config.as_deref()).await`. It loads the `[worker]`
//!   table of the `--config` file plus `DGCM_WORKER__*` variables ([`WorkerConfig::load`]),
//!   applies the flags ([`WorkerArgs::apply`]) and runs until Ctrl-C ([`run`]); with
//!   `--withdraw-listing` it withdraws the listing and returns. [`start`] gives a background
//!   [`RunningWorker`] (tests, the demo).
//! - `dgcm bench worker`: add `Worker(dgcm_worker::BenchArgs)` to `BenchCommand` and print
//!   `dgcm_worker::bench(&args).await?` (one JSON line with `overhead_ratio`).
//!
//! Modules: [`config`] (settings), [`jobspec`] (job spec and its canonical hash), [`auth`]
//! (challenge, token), [`chain`] (provider key, leases, submission), [`listing`] (listing and
//! pricing), [`runtime`] (Docker and process runtimes), [`jobs`] (job manager, restart
//! recovery), [`metering`] (samples, commitment, logs, Prometheus), [`gpu`] (NVML),
//! [`state`] (durable state), [`server`] (HTTP), [`bench`].

pub mod auth;
pub mod bench;
pub mod chain;
pub mod config;
pub mod evidence;
pub mod gpu;
pub mod jobs;
pub mod jobspec;
pub mod listing;
pub mod metering;
pub mod runtime;
pub mod server;
pub mod state;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

pub use bench::{bench, BenchArgs};
pub use config::WorkerConfig;
pub use jobspec::{job_spec_hash, JobSpec};

use auth::Auth;
use chain::ChainCtx;
use gpu::Gpu;
use jobs::{JobManager, JobSettings};
use listing::ListingManager;
use metering::Metrics;
use runtime::Runtime;
use state::{JobStatus, Store};

/// `dgcm worker` flags; each overrides the setting of the same name.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct WorkerArgs {
    /// Address of the auth/job API, /health and /metrics [default: 127.0.0.1:8090].
    #[arg(long)]
    pub listen: Option<String>,
    /// URL renters use to reach this worker, published in the listing [default: http://<listen>].
    #[arg(long)]
    pub public_url: Option<String>,
    /// Node (or devnet) REST URL [default: worker.node, else http://127.0.0.1:9053]. Also
    /// DGCM_NODE, which every command reads.
    #[arg(long, env = "DGCM_NODE")]
    pub node: Option<String>,
    /// Directory of the worker's durable state (jobs, tokens, nonces, listing)
    /// [default: .dgcm/worker].
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Provider key file (64 hex characters): the worker signs and submits its transactions.
    #[arg(long)]
    pub provider_key_file: Option<PathBuf>,
    /// Provider address of an external wallet: transactions are written as EIP-12 JSON
    /// (under worker.eip12_dir) for that wallet to sign.
    #[arg(long, conflicts_with = "provider_key_file")]
    pub provider_address: Option<String>,
    /// `docker` (isolated containers) or `process` (no isolation; development only).
    #[arg(long)]
    pub runtime: Option<String>,
    /// Accept `--runtime process`: jobs run as plain child processes WITHOUT isolation.
    #[arg(long)]
    pub allow_process_runtime: bool,
    /// Do not create or update the listing (serve existing leases only).
    #[arg(long)]
    pub no_listing: bool,
    /// Withdraw the listing (burn its NFT, stake back to the provider) and exit.
    #[arg(long)]
    pub withdraw_listing: bool,
    /// Deployment file written by `dgcm tx deploy-vault`: the contracts the worker builds with
    /// and its address network [default: worker.deployment, else the built-in devnet
    /// deployment].
    #[arg(long, env = "DGCM_DEPLOYMENT")]
    pub deployment: Option<PathBuf>,
}

impl WorkerArgs {
    pub fn apply(&self, c: &mut WorkerConfig) {
        if let Some(v) = &self.listen {
            c.listen = v.clone();
        }
        if let Some(v) = &self.public_url {
            c.public_url = Some(v.clone());
        }
        if let Some(v) = &self.node {
            c.node = v.clone();
        }
        if let Some(v) = &self.state_dir {
            c.state_dir = v.clone();
        }
        if let Some(v) = &self.provider_key_file {
            c.provider_key_file = Some(v.clone());
            c.provider_address = None;
        }
        if let Some(v) = &self.provider_address {
            c.provider_address = Some(v.clone());
            c.provider_key_file = None;
        }
        if let Some(v) = &self.runtime {
            c.runtime = v.clone();
        }
        if self.allow_process_runtime {
            c.allow_process_runtime = true;
        }
        if self.no_listing {
            c.listing.enabled = false;
        }
        if let Some(v) = &self.deployment {
            c.deployment = Some(v.clone());
        }
    }
}

/// `dgcm worker`: settings from `config_file` and the environment, then the flags; runs until
/// Ctrl-C.
pub async fn run_command(args: WorkerArgs, config_file: Option<&Path>) -> anyhow::Result<()> {
    let mut cfg = WorkerConfig::load(config_file)?;
    args.apply(&mut cfg);
    if args.withdraw_listing {
        let tx = withdraw_listing(cfg).await?;
        println!("listing withdrawn: {tx}");
        return Ok(());
    }
    run(cfg, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}

/// Everything the HTTP handlers and background tasks share.
pub struct Worker {
    pub cfg: WorkerConfig,
    pub store: Arc<Store>,
    pub metrics: Arc<Metrics>,
    pub gpu: Arc<Gpu>,
    pub jobs: Arc<JobManager>,
    pub auth: Auth,
    pub chain: Option<Arc<ChainCtx>>,
    pub listing: Option<ListingManager>,
    /// Leases whose completion is being built or submitted right now: the finish hook and the
    /// ticker may both ask, and only one of them may build it.
    completing: std::sync::Mutex<std::collections::HashSet<String>>,
    /// A completion was posted: the listing's busyUntil (R7) is cleared on the next rounds,
    /// once that completion is in a block (the busy rule; an early end frees the GPU).
    freeing: std::sync::atomic::AtomicBool,
}

/// The runtime of `cfg` (Docker connection checked; the process runtime only when allowed).
pub async fn make_runtime(cfg: &WorkerConfig) -> anyhow::Result<Runtime> {
    match cfg.runtime.as_str() {
        "docker" => Ok(Runtime::Docker(
            runtime::docker::DockerRuntime::connect(&cfg.docker).await?,
        )),
        "process" if cfg.allow_process_runtime => {
            tracing::warn!(
                "RUNTIME = PROCESS: jobs run as plain child processes WITHOUT ISOLATION (host \
                 filesystem, network and processes are reachable). Development and demo only; \
                 never offer this to real renters."
            );
            Ok(Runtime::Process(runtime::process::ProcessRuntime))
        }
        "process" => anyhow::bail!(
            "worker.runtime: `process` refused; set worker.allow_process_runtime = true to run \
             jobs without isolation (development only)"
        ),
        other => anyhow::bail!("worker.runtime: {other:?} is not `docker` or `process`"),
    }
}

/// A job manager for `cfg` without chain or HTTP (benchmarks and runtime tests).
pub async fn local_job_manager(cfg: &WorkerConfig) -> anyhow::Result<Arc<JobManager>> {
    cfg.validate()?;
    let store = Arc::new(Store::open(&cfg.state_dir)?);
    let gpu = Arc::new(Gpu::detect(&cfg.gpu));
    let runtime = Arc::new(make_runtime(cfg).await?);
    Ok(JobManager::new(
        store,
        Arc::new(Metrics::default()),
        gpu.clone(),
        runtime,
        job_settings(cfg, &gpu),
    ))
}

fn job_settings(cfg: &WorkerConfig, gpu: &Gpu) -> JobSettings {
    JobSettings {
        docker: cfg.docker.clone(),
        block_time: cfg.block_time,
        stop_margin_blocks: cfg.stop_margin_blocks,
        gpu_count: gpu.info.count.max(0) as u32,
    }
}

impl Worker {
    /// Opens the state, detects GPUs, connects to Docker and the node.
    pub async fn new(cfg: WorkerConfig) -> anyhow::Result<Arc<Worker>> {
        cfg.validate()?;
        let store = Arc::new(Store::open(&cfg.state_dir)?);
        let metrics = Arc::new(Metrics::default());
        let gpu = Arc::new(Gpu::detect(&cfg.gpu));
        metrics.nvml_available.set(gpu.available() as i64);
        let runtime = Arc::new(make_runtime(&cfg).await?);
        let chain = Arc::new(ChainCtx::new(&cfg)?);
        if let Err(e) = chain.refresh_height().await {
            tracing::warn!(error = %format!("{e:#}"), "node not reachable yet; auth answers 503 until it is");
        }
        let jobs = JobManager::new(
            store.clone(),
            metrics.clone(),
            gpu.clone(),
            runtime,
            job_settings(&cfg, &gpu),
        );
        let auth = Auth {
            store: store.clone(),
            metrics: metrics.clone(),
            token_ttl: cfg.token_ttl,
            nonce_ttl: cfg.nonce_ttl,
            provider_pk: chain::pk_hex(chain.pk()),
        };
        let listing = ListingManager::new(
            chain.clone(),
            store.clone(),
            cfg.clone(),
            gpu.info.clone(),
            metrics.clone(),
        );
        let w = Arc::new(Worker {
            cfg,
            store,
            metrics,
            gpu,
            jobs,
            auth,
            chain: Some(chain),
            listing: Some(listing),
            completing: Default::default(),
            freeing: Default::default(),
        });
        let weak = Arc::downgrade(&w);
        w.jobs.set_finish_hook(Arc::new(move |lease_id: String| {
            let weak = weak.clone();
            Box::pin(async move {
                if let Some(w) = weak.upgrade() {
                    w.complete(&lease_id).await;
                }
            })
        }));
        Ok(w)
    }

    /// Posts the completion of a finished job (once; recorded in the job).
    pub async fn complete(&self, lease_id: &str) {
        let Some(chain) = &self.chain else {
            return;
        };
        let fresh = self
            .completing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(lease_id.to_string());
        if !fresh {
            return; // another caller is completing this lease
        }
        self.complete_once(chain, lease_id).await;
        self.completing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(lease_id);
    }

    async fn complete_once(&self, chain: &ChainCtx, lease_id: &str) {
        let Some(j) = self.jobs.job(lease_id) else {
            return;
        };
        if j.completion_tx.is_some() || !j.status.finished() || j.status == JobStatus::Lost {
            return;
        }
        let Some(commitment) = j
            .usage_commitment
            .as_deref()
            .and_then(|c| hex::decode(c).ok())
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
        else {
            return;
        };
        let used = j.used_blocks.unwrap_or(0);
        let r = chain.complete(lease_id, used, commitment).await;
        let label = match &r {
            Ok(tx) if tx.starts_with("eip12:") => "eip12",
            Ok(_) => "submitted",
            Err(_) => "failed",
        };
        self.metrics
            .completions
            .get_or_create(&metering::StatusLabel {
                status: label.into(),
            })
            .inc();
        let _ = self.store.update(|s| {
            if let Some(j) = s.jobs.get_mut(lease_id) {
                j.completion_attempts += 1;
                match &r {
                    Ok(tx) => {
                        j.completion_tx = Some(tx.clone());
                        j.completion_height = Some(chain.height());
                        j.completion_error = None;
                    }
                    Err(e) => j.completion_error = Some(format!("{e:#}")),
                }
            }
        });
        if r.is_ok() {
            self.freeing
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        match r {
            Ok(tx) => tracing::info!(lease = %lease_id, %tx, used, "completion posted"),
            Err(e) => {
                tracing::warn!(lease = %lease_id, error = %format!("{e:#}"), "completion failed")
            }
        }
    }

    /// The no-show rule: a lease of our listing whose consumer never submitted a job is completed
    /// by us shortly before its deadline, claiming `no_show_blocks` (bounded by the blocks that
    /// passed), so that a consumer who never shows up cannot slash the lease and take the
    /// collateral; the rest of the payment goes back to them at finalisation. A job spec over
    /// the limits the listing publishes is refused and its lease is a no-show the same way (the
    /// renter declared less in the order than the spec asks). A lease whose job we refused
    /// because no GPU was free is completed the same way claiming 0 blocks; one whose spec fits
    /// limits our listing published but we refused (`fault_refused`) is not completed at all.
    async fn complete_idle_leases(&self, chain: &ChainCtx, height: u32) {
        let st = self.store.snapshot();
        let nft = st.listing_nft.as_deref().and_then(|n| hex::decode(n).ok());
        let margin = self.cfg.stop_margin_blocks as i64 + build_slack();
        let due: Vec<_> = match chain.our_open_leases(nft.as_deref()).await {
            Ok(ls) => ls
                .into_iter()
                .filter(|l| {
                    let id = String::from(l.bx.box_id());
                    let t = &l.v.terms;
                    // a spec over our listing's limits never runs: no need to wait for more
                    // than the blocks the no-show rule bills
                    let refused_early = st.spec_refused.contains(&id)
                        && height as i64 >= t.start + self.cfg.no_show_blocks as i64;
                    (height as i64 >= t.deadline - margin || refused_early)
                        && height as i64 <= t.deadline
                        && !st.jobs.contains_key(&id)
                        && !st.idle_completions.contains_key(&id)
                        // refused although within limits our listing published: our fault
                        && !st.fault_refused.contains(&id)
                })
                .collect(),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "cannot list our leases");
                return;
            }
        };
        for l in due {
            let id = String::from(l.bx.box_id());
            let commitment = metering::usage_commitment(b"");
            // A renter we turned away for want of a free GPU showed up: nothing is claimed.
            let claim = if st.gpu_refused.contains(&id) {
                0
            } else {
                self.cfg.no_show_blocks as i64
            };
            match chain.complete(&id, claim, commitment).await {
                Ok(tx) => {
                    tracing::warn!(lease = %id, %tx, claim, "the consumer never submitted a job: lease completed (no-show rule)");
                    self.metrics
                        .completions
                        .get_or_create(&metering::StatusLabel {
                            status: "no_show".into(),
                        })
                        .inc();
                    let _ = self.store.update(|s| {
                        s.idle_completions.insert(id.clone(), tx.clone());
                    });
                    self.freeing
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                }
                Err(e) => {
                    tracing::warn!(lease = %id, error = %format!("{e:#}"), "no-show completion failed")
                }
            }
        }
    }

    /// One round of background work: height, jobs at their deadline height, owed completions,
    /// and (every pricing interval) the listing.
    async fn tick(&self, listing_due: bool) {
        let Some(chain) = &self.chain else {
            return;
        };
        let height = match chain.refresh_height().await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "node unreachable");
                return;
            }
        };
        self.metrics.chain_height.set(height as i64);
        let margin = self.cfg.stop_margin_blocks as i64;
        let st = self.store.snapshot();
        for lease_id in self.jobs.running() {
            if let Some(l) = st.leases.get(&lease_id) {
                if height as i64 >= l.deadline_height - margin {
                    tracing::warn!(lease = %lease_id, height, deadline = l.deadline_height, "deadline height reached: stopping the job");
                    self.jobs.stop(&lease_id);
                }
            }
        }
        for j in st.jobs.values() {
            let owed = j.status.finished()
                && j.status != JobStatus::Lost
                && j.completion_tx.is_none()
                && j.completion_attempts < 5;
            let open = st
                .leases
                .get(&j.lease_id)
                .is_some_and(|l| height as i64 <= l.deadline_height);
            if owed && open {
                self.complete(&j.lease_id).await;
            }
        }
        self.complete_idle_leases(chain, height).await;
        // Disk: a lease is completed by its deadline at the latest, and disputed within the
        // challenge window after that; past both (and a margin) nobody can ask for its job's
        // evidence any more.
        let keep = chain.contracts.params.challenge_window + CLEAN_MARGIN_BLOCKS;
        for j in st.jobs.values() {
            let over = st
                .leases
                .get(&j.lease_id)
                .is_some_and(|l| height as i64 > l.deadline_height + keep);
            if over && j.status.finished() && j.cleaned_ms.is_none() {
                self.jobs.clean(&j.lease_id).await;
            }
        }
        let freeing = self.freeing.load(std::sync::atomic::Ordering::Relaxed);
        if listing_due || freeing {
            if let Some(l) = &self.listing {
                match l.sync().await {
                    Ok(a) => {
                        tracing::debug!(?a, "listing");
                        if !matches!(a, listing::ListingAction::Busy { .. }) {
                            self.freeing
                                .store(false, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                    Err(e) => tracing::warn!(error = %format!("{e:#}"), "listing sync failed"),
                }
            }
        }
    }
}

/// A worker serving in the background.
pub struct RunningWorker {
    pub worker: Arc<Worker>,
    pub addr: std::net::SocketAddr,
    handle: actix_web::dev::ServerHandle,
    ticker: tokio::task::JoinHandle<()>,
}

impl RunningWorker {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving and the background loop. Running jobs keep running (a new worker on the
    /// same state directory finds them again).
    pub async fn stop(self) {
        self.ticker.abort();
        self.handle.stop(true).await;
    }
}

/// Starts the worker: state, runtime, chain, job recovery, listing, then the HTTP server and the
/// background loop.
pub async fn start(cfg: WorkerConfig) -> anyhow::Result<RunningWorker> {
    let listen = cfg.listen_addr()?;
    let w = Worker::new(cfg).await?;
    for (lease, status) in w.jobs.recover().await {
        tracing::info!(%lease, ?status, "job after restart");
    }
    let listener = std::net::TcpListener::bind(listen)
        .with_context(|| format!("worker.listen: cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let server = server::http_server(w.clone(), listener)?;
    let handle = server.handle();
    tokio::spawn(server);
    let tw = w.clone();
    let ticker = tokio::spawn(async move {
        let mut last_listing: Option<Instant> = None;
        loop {
            let due = last_listing.is_none_or(|t| t.elapsed() >= tw.cfg.pricing.interval);
            if due {
                last_listing = Some(Instant::now());
            }
            tw.tick(due).await;
            tokio::time::sleep(tw.cfg.poll_interval.max(Duration::from_millis(10))).await;
        }
    });
    tracing::info!(%addr, runtime = w.jobs.runtime.name(), gpu = %w.gpu.info.source, "worker listening");
    Ok(RunningWorker {
        worker: w,
        addr,
        handle,
        ticker,
    })
}

/// Blocks a completion may wait for inclusion (see [`build::COMPLETION_SLACK`]).
fn build_slack() -> i64 {
    dgcm_contracts::build::COMPLETION_SLACK as i64
}

/// Runs the worker until `shutdown` completes.
/// Blocks past a lease's deadline and challenge window before its job's files are removed.
pub const CLEAN_MARGIN_BLOCKS: i64 = 30;

pub async fn run(config: WorkerConfig, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let running = start(config).await?;
    println!(
        "worker on {} (runtime {}, GPU spec from {})",
        running.url(),
        running.worker.jobs.runtime.name(),
        running.worker.gpu.info.source
    );
    shutdown.await;
    running.stop().await;
    Ok(())
}

/// Withdraws the provider's listing; returns the transaction id (or the EIP-12 file).
pub async fn withdraw_listing(cfg: WorkerConfig) -> anyhow::Result<String> {
    cfg.validate()?;
    let store = Arc::new(Store::open(&cfg.state_dir)?);
    let chain = Arc::new(ChainCtx::new(&cfg)?);
    let gpu = Gpu::detect(&cfg.gpu);
    let l = ListingManager::new(chain, store, cfg, gpu.info, Arc::new(Metrics::default()));
    l.withdraw().await
}
