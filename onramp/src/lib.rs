//! DGCM fiat on-ramp: quotes, payment-provider adapter, exactly-once fulfilment.
//!
//! # Wiring `dgcm onramp` (for `src/main.rs`)
//! ```text
//! Command::Onramp(args)  // args: dgcm_onramp::OnrampArgs  (#[derive(clap::Args)])
//!     => dgcm_onramp::run_command(cli.config.as_deref(), args).await
//! ```
//! `run_command` reads the `[onramp]` table of the `--config` file plus `DGCM_ONRAMP__*`
//! variables, applies the flags, and runs the service ([`run`]) or, for
//! `dgcm onramp simulator`, the payment-provider simulator ([`run_simulator`]). `OnrampArgs`
//! defines no `--config` of its own (the CLI's global `--config` is passed in).
//!
//! # Parts
//! - [`config`]: settings; [`pricing`]: quote arithmetic (pure); [`rates`]: rates from the chain;
//! - [`provider`]: the payment-provider adapter trait and the Stripe-style adapter;
//!   [`signature`]: `Stripe-Signature` HMAC;
//! - [`ledger`]: PostgreSQL (diesel, embedded migrations, tables `onramp_*`);
//! - [`treasury`]: the payout transaction; [`fulfil`]: the exactly-once worker;
//! - [`server`]: the HTTP API; [`metrics`]; [`simulator`]: the payment-provider SIMULATOR.

pub mod config;
pub mod fulfil;
pub mod ledger;
pub mod metrics;
pub mod pricing;
pub mod provider;
pub mod rates;
pub mod server;
pub mod signature;
pub mod simulator;
pub mod treasury;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use dgcm_chain::wallet::Signer;
use dgcm_chain::{ClientConfig, NodeClient};

pub use config::{Faults, OnrampConfig};
pub use fulfil::WorkerExit;
pub use simulator::{run_simulator, SimulatorConfig};

/// `dgcm onramp`: the fiat on-ramp service (or, with `simulator`, the payment-provider
/// simulator). Settings: the `[onramp]` table of the `--config` file, `DGCM_ONRAMP__*` variables
/// (e.g. `DGCM_ONRAMP__PROVIDER__WEBHOOK_SECRET`), then these flags.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct OnrampArgs {
    /// Address to listen on [default: 127.0.0.1:8096].
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// PostgreSQL URL for the ledger (also DATABASE_URL); migrations are applied on start. May be
    /// the indexer's database: every table is prefixed `onramp_`.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Ergo node REST URL (also DGCM_NODE) [default: onramp.node, else http://127.0.0.1:9053].
    #[arg(long, env = "DGCM_NODE")]
    pub node: Option<String>,
    /// File with the treasury's secret key (64 hex characters).
    #[arg(long)]
    pub treasury_key_file: Option<PathBuf>,
    /// Deployment file written by `dgcm tx deploy-vault`: the defaults of `network` and of the
    /// assets (oracle pool NFT, SigUSD, GPUC, GPUC price) [default: onramp.deployment, else the
    /// built-in devnet deployment].
    #[arg(long, env = "DGCM_DEPLOYMENT")]
    pub deployment: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<OnrampCommand>,
}

#[derive(clap::Subcommand, Debug, Clone)]
pub enum OnrampCommand {
    /// Run the payment-provider SIMULATOR (a stand-in for a Stripe-style provider; no real money):
    /// it listens on the configured provider.api_url and sends signed webhooks to this
    /// service's /v1/webhooks/{provider}.
    Simulator {
        /// Address to listen on [default: the host:port of provider.api_url].
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Where to send webhooks [default: http://<onramp listen>/v1/webhooks/stripe].
        #[arg(long)]
        webhook_url: Option<String>,
    },
}

/// What the HTTP handlers and the worker share.
pub struct App {
    pub cfg: OnrampConfig,
    pub pool: ledger::PgPool,
    pub node: NodeClient,
    pub signer: Signer,
    pub provider: Arc<dyn provider::PaymentProvider>,
    pub metrics: metrics::Metrics,
    /// Wakes the worker (a payment was recorded).
    pub notify: tokio::sync::Notify,
}

/// A running on-ramp (tests, the demo).
pub struct RunningOnramp {
    pub url: String,
    pub addr: SocketAddr,
    pub app: Arc<App>,
    handle: actix_web::dev::ServerHandle,
    worker: tokio::task::JoinHandle<WorkerExit>,
}

impl RunningOnramp {
    /// Whether the worker stopped (a simulated crash).
    pub fn worker_stopped(&self) -> bool {
        self.worker.is_finished()
    }

    /// Stops the HTTP server and the worker (the worker's lock connection closes with it).
    pub async fn stop(self) {
        self.worker.abort();
        let _ = self.worker.await;
        self.handle.stop(true).await;
    }
}

/// Starts the service in the background: migrations, the worker, the HTTP server (port 0 in
/// `config.listen` picks a free port).
pub async fn start(config: OnrampConfig) -> anyhow::Result<RunningOnramp> {
    config.validate()?;
    let url = config
        .database_url
        .clone()
        .context("database_url: not set (settings, DATABASE_URL or --database-url)")?;
    let signer = config.treasury_signer()?;
    let node = NodeClient::new(ClientConfig {
        api_key: config.node_api_key.clone(),
        ..ClientConfig::new(config.node.clone())
    })
    .map_err(|e| anyhow::anyhow!("node: {e}"))?;
    let provider: Arc<dyn provider::PaymentProvider> =
        Arc::new(provider::StripeAdapter::new(&config.provider)?);
    let (u, size) = (url.clone(), config.pool_size);
    let pool = tokio::task::spawn_blocking(move || ledger::connect(&u, size))
        .await
        .context("database task")?
        .map_err(|e| anyhow::anyhow!("database_url: {e}"))?;
    let listener = std::net::TcpListener::bind(config.listen)
        .with_context(|| format!("listen: cannot bind {}", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(
        %addr,
        treasury = %signer.address(config.network),
        node = %config.node,
        provider = %config.provider.name,
        "on-ramp starting"
    );
    let app = Arc::new(App {
        cfg: config,
        pool,
        node,
        signer,
        provider,
        metrics: metrics::Metrics::default(),
        notify: tokio::sync::Notify::new(),
    });
    let server = server::http_server(app.clone(), listener, 2)?;
    let handle = server.handle();
    tokio::spawn(server);
    let worker = tokio::spawn(fulfil::run_worker(app.clone(), url));
    Ok(RunningOnramp {
        url: format!("http://{addr}"),
        addr,
        app,
        handle,
        worker,
    })
}

/// Runs the on-ramp until Ctrl-C (or until a configured fault stops its worker).
pub async fn run(config: OnrampConfig) -> anyhow::Result<()> {
    let running = start(config).await?;
    tracing::info!(url = %running.url, "on-ramp listening");
    tokio::signal::ctrl_c().await?;
    running.stop().await;
    Ok(())
}

/// `dgcm onramp [simulator]` with the CLI's `--config` file.
pub async fn run_command(config_file: Option<&Path>, args: OnrampArgs) -> anyhow::Result<()> {
    let mut cfg = OnrampConfig::load_with_deployment(config_file, args.deployment.as_deref())?;
    cfg.apply_args(&args);
    match args.command {
        None => run(cfg).await,
        Some(OnrampCommand::Simulator {
            listen,
            webhook_url,
        }) => {
            let mut sc = SimulatorConfig::for_onramp(&cfg)?;
            if let Some(l) = listen {
                sc.listen = l;
            }
            if let Some(w) = webhook_url {
                sc.webhook_url = w;
            }
            run_simulator(sc).await
        }
    }
}
