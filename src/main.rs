//! `dgcm`: the command-line entry point of DGCM, one subcommand per service.

mod settings;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use settings::Settings;

#[derive(Parser)]
#[command(
    name = "dgcm",
    version,
    about = "DGCM — a decentralized GPU rental market on Ergo",
    long_about = "DGCM — a decentralized GPU rental market on Ergo.\n\n\
Settings come from (lowest to highest precedence): built-in defaults, the TOML file given with \
--config (or ./dgcm.toml when present), DGCM_* environment variables (DGCM_DEVNET__LISTEN, \
DGCM_DEVNET__BLOCK_TIME, ...; double underscore separates section and key), and finally \
command-line flags."
)]
struct Cli {
    /// TOML settings file (default: ./dgcm.toml when it exists).
    #[arg(long, global = true, env = "DGCM_CONFIG")]
    config: Option<PathBuf>,
    /// Log format: human-readable lines or one JSON object per line.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "human",
        env = "DGCM_LOG_FORMAT"
    )]
    log_format: LogFormat,
    /// Log filter, e.g. `info` or `dgcm_devnet=debug` (RUST_LOG syntax).
    #[arg(long, global = true, default_value = "info", env = "DGCM_LOG")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process; size does not matter
enum Command {
    /// The white paper end to end on the embedded default: devnet, PostgreSQL, indexer, API,
    /// bots and a worker in one process; scenarios "white-paper" and "missed-deadline". Checks
    /// its own results and exits non-zero when any does not hold.
    Demo(DemoArgs),
    /// Run a local Ergo node (devnet) that speaks the real node's REST API, validates every
    /// transaction with ergo-lib and has test controls under /devnet/*.
    Devnet(DevnetArgs),
    /// Follow an Ergo node into PostgreSQL (reorg-exact, resumable); serves /metrics and /health.
    Index(IndexArgs),
    /// Serve the read-only query API (JSON under /api/v1, OpenAPI at /api/openapi.json,
    /// /health, /metrics) over the indexer's PostgreSQL.
    Api(ApiArgs),
    /// Run bots that keep the market moving and earn the contracts' capped fees: matcher,
    /// settler, slasher, liquidator, rosen-relay (several in one process). Safe beside other
    /// people's bots: a lost race is normal and never retried hot.
    Bot(BotArgs),
    /// The provider daemon: lists the GPU, authenticates renters by their lease key, runs their
    /// committed jobs in hardened Docker containers, meters them and posts the completion.
    Worker(dgcm_worker::WorkerArgs),
    /// Build any user action of PROTOCOL.md: print it as an EIP-12 unsigned transaction for any
    /// Ergo wallet, or sign it with --key and --submit it.
    Tx(TxCmd),
    /// The fiat on-ramp service (quotes, checkout through a payment-provider adapter, signed
    /// webhooks, exactly-once payout from the operator's treasury), or its payment-provider
    /// simulator.
    Onramp(dgcm_onramp::OnrampArgs),
    /// Benchmarks; each prints one JSON line comparing against a baseline measured in the same run.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
struct DevnetArgs {
    #[command(subcommand)]
    action: Option<DevnetAction>,
    /// Address to listen on [default: 127.0.0.1:9053].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Block interval (e.g. `2s`, `500ms`), or `manual` to mine only on POST /devnet/mine
    /// [default: manual].
    #[arg(long)]
    block_time: Option<String>,
    /// Directory for the chain log; the devnet resumes from it on restart. Without it the
    /// chain lives in memory only.
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Number of funded test wallets in genesis [default: 8].
    #[arg(long)]
    wallets: Option<usize>,
}

#[derive(Subcommand)]
enum DevnetAction {
    /// Write the devnet's test keys as files named after their roles (alice.key: renter,
    /// bob.key: provider, operator.key: bots, ...; the same wallets /devnet/info names), one
    /// secret (64 hex characters) per file, with <name>.address beside it (testnet), and print
    /// each file, role and address.
    /// Public test secrets: never use them on a real network.
    Keys {
        /// Directory to write the key files into (created when missing).
        #[arg(long, default_value = ".")]
        out: PathBuf,
        /// Number of wallets, as the devnet's --wallets [default: [devnet] wallets, else 8].
        #[arg(long)]
        wallets: Option<usize>,
    },
}

#[derive(clap::Args)]
struct IndexArgs {
    /// Node REST URL [default: [index] node, else http://127.0.0.1:9053].
    #[arg(long, env = "DGCM_NODE")]
    node: Option<String>,
    /// PostgreSQL URL (also DATABASE_URL); migrations are applied on start. Without one, a
    /// private cluster from the system's PostgreSQL binaries is started (or reused) under
    /// [index] pg_dir (.dgcm/pg) on 127.0.0.1:[index] pg_port (55434), database `dgcm`, and
    /// its URL printed; `dgcm api` without a URL reads it.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// First block to index on an empty database [default: genesis, with /utxo/genesis].
    #[arg(long)]
    from_height: Option<u32>,
    /// Address for /metrics and /health [default: 127.0.0.1:9101].
    #[arg(long)]
    metrics_listen: Option<SocketAddr>,
    /// Deployment whose boxes are decoded into the protocol tables: `devnet` (built in),
    /// `none` (raw chain tables only) or the path of a deployment file written by
    /// `dgcm tx deploy-vault` [default: [index] protocol, else devnet].
    #[arg(long, env = "DGCM_DEPLOYMENT")]
    protocol: Option<String>,
}

#[derive(clap::Args)]
struct ApiArgs {
    /// PostgreSQL URL of the indexer's database (also DATABASE_URL) [default: the private
    /// cluster `dgcm index` starts without one: postgres://dgcm@127.0.0.1:<[index] pg_port,
    /// 55434>/dgcm].
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Node REST URL, for `node_height` and `lag_blocks` in /api/v1/status (also DGCM_NODE)
    /// [default: none].
    #[arg(long, env = "DGCM_NODE")]
    node: Option<String>,
    /// Deployment file written by `dgcm tx deploy-vault`: GPUC id, oracle pool NFT, GPUC price,
    /// collateral ratio, address network [default: [api] deployment, else the built-in devnet
    /// deployment].
    #[arg(long, env = "DGCM_DEPLOYMENT")]
    deployment: Option<PathBuf>,
}

#[derive(clap::Args)]
struct DemoArgs {
    /// One JSON line per scenario on stdout (the story goes to stderr).
    #[arg(long)]
    json: bool,
    /// Which scenario(s).
    #[arg(long, value_enum, default_value = "all")]
    scenario: DemoScenario,
    /// Where the private PostgreSQL cluster, the people's keys and the worker's state live.
    #[arg(long, default_value = ".dgcm/demo")]
    data_dir: PathBuf,
    /// Use this PostgreSQL (a fresh database is created) instead of a private cluster.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Devnet block interval.
    #[arg(long, default_value = "150ms")]
    block_time: String,
    /// Job image for the Docker runtime.
    #[arg(long, default_value = "dgcm/busybox:test")]
    image: String,
    /// Use the worker's process runtime even when Docker is reachable (no isolation).
    #[arg(long)]
    process_runtime: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum DemoScenario {
    All,
    WhitePaper,
    MissedDeadline,
    /// The consumer never submits a job: the worker completes the idle lease (no-show rule).
    NoShow,
}

#[derive(clap::Args)]
struct TxCmd {
    /// Node REST URL.
    #[arg(
        long,
        global = true,
        default_value = "http://127.0.0.1:9053",
        env = "DGCM_NODE"
    )]
    node: String,
    #[command(flatten)]
    tx: dgcm_tx::TxArgs,
}

#[derive(clap::Args)]
struct BotArgs {
    /// Bots to run [default: [bot] bots in the settings].
    #[arg(value_enum)]
    bots: Vec<dgcm_bots::BotKind>,
    /// Print each transaction as EIP-12 JSON instead of signing and submitting.
    #[arg(long)]
    dry_run: bool,
    /// Node REST URL [default: [bot] node, else http://127.0.0.1:9053].
    #[arg(long, env = "DGCM_NODE")]
    node: Option<String>,
    /// File with the operator's secret key (64 hex characters).
    #[arg(long)]
    key: Option<PathBuf>,
    /// Address that receives the earnings [default: the key's address].
    #[arg(long)]
    reward_address: Option<String>,
    /// Address for /metrics and /health [default: [bot] metrics_listen, else 127.0.0.1:9102].
    #[arg(long)]
    metrics_listen: Option<SocketAddr>,
    /// Directory for the Rosen path journal.
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// The least a transaction must earn the operator, in nanoERG after the miner fee and any
    /// funding from its wallet, to be signed; others (an order or lease with a fee cap of 0, a
    /// dust deposit) are skipped and counted in /metrics as bot_jobs_unprofitable
    /// [default: [bot] min_profit, else 0: never pay out of pocket].
    #[arg(long, env = "DGCM_BOT__MIN_PROFIT")]
    min_profit: Option<i64>,
    /// Deployment file written by `dgcm tx deploy-vault`: the contracts the bots build with and
    /// their address network [default: [bot] deployment, else the built-in devnet deployment].
    #[arg(long, env = "DGCM_DEPLOYMENT")]
    deployment: Option<PathBuf>,
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Job start-to-first-log through the worker against a bare container start of the same
    /// image through the same Docker daemon (needs a daemon and the image).
    Worker(dgcm_worker::BenchArgs),
    /// One matcher round of 10,000 orders against 10,000 listings: round time and total surplus
    /// against the exact optimum of the same round (build with --release).
    Match {
        /// Print only the JSON line.
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 10_000)]
        orders: usize,
        #[arg(long, default_value_t = 10_000)]
        listings: usize,
        /// Seed of the generated book.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Timed repetitions of the round; the median is reported.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Add this many hostile groups to the book (three orders and two listings each, with
        /// max price × hours near the i64 range: a price war the round must bound).
        #[arg(long, default_value_t = 0)]
        hostile: usize,
    },
    /// Transactions per second the devnet validates on submission, against bare ergo-lib
    /// validation of the same transactions (build with --release for meaningful figures).
    Devnet {
        /// Print only the JSON line (no progress on stderr).
        #[arg(long)]
        json: bool,
        /// Number of transactions (about one in four has three inputs).
        #[arg(long, default_value_t = 2000)]
        txs: usize,
        /// Threads for the parallel figure.
        #[arg(long, default_value_t = 2)]
        threads: usize,
    },
    /// Boxes per second through the indexer's write path against raw COPY of the same rows.
    Index {
        /// Print only the JSON line.
        #[arg(long)]
        json: bool,
        /// A PostgreSQL URL whose role may create databases (two are created and dropped).
        /// Without it a private cluster is started under .dgcm/pg-bench.
        #[arg(long, env = "DATABASE_URL")]
        database_url: Option<String>,
        /// Generated blocks.
        #[arg(long, default_value_t = 200)]
        blocks: u32,
        /// Transactions per block.
        #[arg(long, default_value_t = 60)]
        txs: usize,
        /// Blocks per database transaction (as in catch-up).
        #[arg(long, default_value_t = 64)]
        batch: usize,
        /// Repetitions on fresh databases; the run with the median ratio is reported.
        #[arg(long, default_value_t = 3)]
        repeat: usize,
    },
    /// Filtered listing searches per second over HTTP (API served in process) against the same
    /// query straight in SQL, with p99 latency.
    Api {
        /// Print only the JSON line.
        #[arg(long)]
        json: bool,
        /// A PostgreSQL URL whose role may create databases (one is created and dropped).
        /// Without it a private cluster is started under .dgcm/pg-bench.
        #[arg(long, env = "DATABASE_URL")]
        database_url: Option<String>,
        /// Listing boxes inserted.
        #[arg(long, default_value_t = 100_000)]
        listings: u32,
        /// Seconds each side (HTTP, SQL) is driven.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Concurrent client tasks (and SQL connections). The setting is one client
        /// task beside the server; more show throughput under load on this 2-core machine.
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
        /// Before measuring, print EXPLAIN (ANALYZE, BUFFERS) of every search of the mix to
        /// stderr: which index serves which filter, and where the time goes.
        #[arg(long)]
        explain: bool,
    },
}

fn init_logging(format: LogFormat, filter: &str) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .with_context(|| format!("--log: invalid filter {filter:?}"))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    Ok(())
}

/// `2s`, `500ms`, `1m` or `manual`.
fn parse_block_time(s: &str) -> anyhow::Result<Option<Duration>> {
    if s.eq_ignore_ascii_case("manual") {
        return Ok(None);
    }
    let d = humantime::parse_duration(s)
        .with_context(|| format!("block_time: {s:?} is neither a duration like 2s nor `manual`"))?;
    if d < Duration::from_millis(10) {
        anyhow::bail!("block_time: {s:?} is too short (at least 10ms)");
    }
    Ok(Some(d))
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // The demo tells its story itself; service logs only when they warn (unless asked).
    let log = match (&cli.command, cli.log.as_str()) {
        (Command::Demo(_), "info") => "warn",
        (_, l) => l,
    };
    init_logging(cli.log_format, log)?;
    let settings = Settings::load(cli.config.as_deref())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(run(cli.command, settings, cli.config))
}

async fn run(
    command: Command,
    settings: Settings,
    config_file: Option<PathBuf>,
) -> anyhow::Result<()> {
    match command {
        Command::Demo(args) => run_demo(args).await,
        Command::Worker(args) => dgcm_worker::run_command(args, config_file.as_deref()).await,
        Command::Bench(BenchCommand::Worker(args)) => {
            let r = dgcm_worker::bench(&args).await?;
            println!("{}", serde_json::to_string(&r)?);
            Ok(())
        }
        Command::Tx(c) => {
            let out = dgcm_tx::run(c.tx, &c.node).await?;
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(())
        }
        Command::Onramp(args) => dgcm_onramp::run_command(config_file.as_deref(), args).await,
        Command::Devnet(args) => run_devnet(args, settings).await,
        Command::Index(args) => run_index(args, settings).await,
        Command::Api(args) => run_api(args, settings).await,
        Command::Bot(args) => run_bot(args, settings).await,
        Command::Bench(BenchCommand::Match {
            json,
            orders,
            listings,
            seed,
            rounds,
            hostile,
        }) => {
            if orders == 0 || listings == 0 || rounds == 0 {
                anyhow::bail!("--orders, --listings and --rounds must be at least 1");
            }
            if !json {
                eprintln!("generating {orders} orders and {listings} listings, timing {rounds} matcher rounds, then solving the round exactly ...");
                if cfg!(debug_assertions) {
                    eprintln!("warning: debug build; run `cargo run --release -- bench match` for real figures");
                }
            }
            let r = tokio::task::spawn_blocking(move || {
                dgcm_bots::bench::run(orders, listings, seed, rounds, hostile)
            })
            .await??;
            println!("{}", serde_json::to_string(&r)?);
            Ok(())
        }
        Command::Bench(BenchCommand::Api {
            json,
            database_url,
            listings,
            seconds,
            concurrency,
            explain,
        }) => {
            if listings == 0 || concurrency == 0 || !seconds.is_finite() || seconds <= 0.0 {
                anyhow::bail!("--listings, --seconds and --concurrency must be positive");
            }
            let url = match database_url {
                Some(u) => u,
                None => bench_cluster(json).await?,
            };
            if !json {
                eprintln!("inserting {listings} listings, then {seconds}s of searches over HTTP and {seconds}s in SQL ...");
                if cfg!(debug_assertions) {
                    eprintln!("warning: debug build; run `cargo run --release -- bench api` for real figures");
                }
            }
            let r = dgcm_api::bench::run(&url, listings, seconds, concurrency, explain).await?;
            println!("{}", serde_json::to_string(&r)?);
            Ok(())
        }
        Command::Bench(BenchCommand::Index {
            json,
            database_url,
            blocks,
            txs,
            batch,
            repeat,
        }) => {
            if blocks == 0 || txs == 0 || batch == 0 || repeat == 0 {
                anyhow::bail!("--blocks, --txs, --batch and --repeat must be at least 1");
            }
            let url = match database_url {
                Some(u) => u,
                None => bench_cluster(json).await?,
            };
            if !json {
                eprintln!("generating {blocks} blocks of {txs} transactions, then indexing them and COPYing the same rows ...");
            }
            let r = tokio::task::spawn_blocking(move || {
                dgcm_indexer::bench::run(&url, blocks, txs, batch, repeat)
            })
            .await??;
            println!("{}", serde_json::to_string(&r)?);
            Ok(())
        }
        Command::Bench(BenchCommand::Devnet { json, txs, threads }) => {
            if txs == 0 {
                anyhow::bail!("--txs: must be at least 1");
            }
            if !json {
                eprintln!("signing {txs} transactions, then validating them three ways ...");
                if cfg!(debug_assertions) {
                    eprintln!("warning: debug build; run `cargo run --release -- bench devnet` for real figures");
                }
            }
            let r =
                tokio::task::spawn_blocking(move || dgcm_devnet::bench::run(txs, threads)).await?;
            println!("{}", serde_json::to_string(&r)?);
            Ok(())
        }
    }
}

/// The private cluster the benchmarks use without --database-url.
async fn bench_cluster(json: bool) -> anyhow::Result<String> {
    if !json {
        eprintln!("no --database-url: starting a private PostgreSQL cluster under .dgcm/pg-bench");
    }
    let c = tokio::task::spawn_blocking(|| {
        dgcm_indexer::pgcluster::PgCluster::start(std::path::Path::new(".dgcm/pg-bench"), 55433)
    })
    .await??;
    Ok(c.url("postgres"))
}

async fn run_demo(args: DemoArgs) -> anyhow::Result<()> {
    let block_time = parse_block_time(&args.block_time)?
        .context("block_time: the demo needs timed blocks, not `manual`")?;
    let mut options = dgcm_demo::StackOptions::new(args.data_dir);
    options.json = args.json;
    options.database_url = args.database_url;
    options.block_time = block_time;
    options.image = args.image;
    options.force_process = args.process_runtime;
    use dgcm_demo::Scenario;
    let scenarios: &[Scenario] = match args.scenario {
        DemoScenario::All => &[
            Scenario::WhitePaper,
            Scenario::MissedDeadline,
            Scenario::NoShow,
        ],
        DemoScenario::WhitePaper => &[Scenario::WhitePaper],
        DemoScenario::MissedDeadline => &[Scenario::MissedDeadline],
        DemoScenario::NoShow => &[Scenario::NoShow],
    };
    let t0 = std::time::Instant::now();
    let reports = dgcm_demo::run(options, scenarios).await?;
    let failed: Vec<&str> = reports
        .iter()
        .filter(|r| !r.ok)
        .map(|r| r.scenario)
        .collect();
    eprintln!("demo finished in {:.0} s", t0.elapsed().as_secs_f64());
    if !failed.is_empty() {
        anyhow::bail!("scenario(s) failed: {}", failed.join(", "));
    }
    Ok(())
}

/// The deployment file given by `--deployment` (or `DGCM_DEPLOYMENT`), else by the setting
/// `setting` (e.g. `api.deployment`); `None` when neither names one. Errors name the flag or the
/// setting, the file and the reason (missing file, not JSON, a bad field).
fn load_deployment(
    flag: Option<&Path>,
    setting: Option<&Path>,
    setting_name: &str,
) -> anyhow::Result<Option<dgcm_contracts::deployment::Deployment>> {
    let (path, name) = match (flag, setting) {
        (Some(p), _) => (p, "--deployment (DGCM_DEPLOYMENT)"),
        (None, Some(p)) => (p, setting_name),
        (None, None) => return Ok(None),
    };
    dgcm_contracts::deployment::Deployment::load(path)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("{name}: {e}"))
}

/// `mainnet` or `testnet`; errors name `field`.
fn parse_network(
    field: &str,
    s: &str,
) -> anyhow::Result<ergo_lib::ergotree_ir::chain::address::NetworkPrefix> {
    use ergo_lib::ergotree_ir::chain::address::NetworkPrefix;
    match s {
        "mainnet" => Ok(NetworkPrefix::Mainnet),
        "testnet" => Ok(NetworkPrefix::Testnet),
        other => anyhow::bail!("{field}: {other:?} is not `mainnet` or `testnet`"),
    }
}

/// `dgcm bot`'s configuration from its flags and `[bot]` settings.
fn bots_config(args: BotArgs, s: settings::BotSettings) -> anyhow::Result<dgcm_bots::BotsConfig> {
    let bots = if args.bots.is_empty() {
        s.bots
            .iter()
            .map(|b| {
                <dgcm_bots::BotKind as ValueEnum>::from_str(b, true).map_err(|_| {
                    anyhow::anyhow!(
                        "bot.bots: {b:?} is not one of matcher, settler, slasher, liquidator, rosen-relay"
                    )
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?
    } else {
        args.bots
    };
    let mut deployment = load_deployment(
        args.deployment.as_deref(),
        s.deployment.as_deref(),
        "bot.deployment",
    )?
    .unwrap_or_else(dgcm_contracts::deployment::Deployment::devnet_default);
    if let Some(n) = &s.network {
        deployment.network = parse_network("bot.network", n)?;
    }
    let interval = humantime::parse_duration(&s.interval).with_context(|| {
        format!(
            "bot.interval: {:?} is not a duration like 500ms",
            s.interval
        )
    })?;
    let metrics_listen: SocketAddr = match args.metrics_listen {
        Some(a) => a,
        None => s.metrics_listen.parse().with_context(|| {
            format!(
                "bot.metrics_listen: {:?} is not an address",
                s.metrics_listen
            )
        })?,
    };
    let mut config = dgcm_bots::BotsConfig::new(args.node.unwrap_or(s.node), bots);
    config.key_file = args.key.or(s.key_file);
    config.reward_address = args.reward_address.or(s.reward_address);
    config.deployment = deployment;
    config.dry_run = args.dry_run;
    config.fee = s.fee;
    config.min_profit = args.min_profit.unwrap_or(s.min_profit);
    config.interval = interval;
    config.metrics_listen = Some(metrics_listen);
    config.rosen_trigger_address = s.rosen_trigger_address;
    config.state_dir = args.state_dir.or(s.state_dir);
    Ok(config)
}

async fn run_bot(args: BotArgs, settings: Settings) -> anyhow::Result<()> {
    let config = bots_config(args, settings.bot)?;
    eprintln!(
        "bots {:?} on {}; metrics on http://{}/metrics",
        config.bots,
        config.node,
        config
            .metrics_listen
            .map(|a| a.to_string())
            .unwrap_or_default()
    );
    let metrics = std::sync::Arc::new(dgcm_bots::BotMetrics::default());
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    dgcm_bots::run(config, None, metrics, shutdown).await
}

/// `dgcm api`'s configuration (all but the listener) from its flags and `[api]` settings.
fn api_config(
    args: ApiArgs,
    s: &settings::ApiSettings,
    index: &settings::IndexSettings,
) -> anyhow::Result<dgcm_api::ApiConfig> {
    let database_url = args
        .database_url
        .or(s.database_url.clone())
        .unwrap_or_else(|| index_cluster_url(index));
    let mut config = match load_deployment(
        args.deployment.as_deref(),
        s.deployment.as_deref(),
        "api.deployment",
    )? {
        Some(d) => dgcm_api::ApiConfig::for_deployment(database_url, &d),
        None => dgcm_api::ApiConfig::devnet(database_url),
    };
    config.node = args.node.or(s.node.clone());
    config.pool_size = s.pool_size;
    config.statement_timeout =
        humantime::parse_duration(&s.statement_timeout).with_context(|| {
            format!(
                "api.statement_timeout: {:?} is not a duration like 5s",
                s.statement_timeout
            )
        })?;
    if let Some(nft) = &s.oracle_pool_nft {
        config.oracle_pool_nft = hex::decode(nft)
            .ok()
            .filter(|b| b.len() == 32)
            .with_context(|| format!("api.oracle_pool_nft: {nft:?} is not a 32-byte hex id"))?;
    }
    if let Some(n) = &s.network {
        config.network = parse_network("api.network", n)?;
    }
    Ok(config)
}

async fn run_api(args: ApiArgs, settings: Settings) -> anyhow::Result<()> {
    let s = settings.api;
    let listen: SocketAddr = match args.listen {
        Some(a) => a,
        None => s
            .listen
            .parse()
            .with_context(|| format!("api.listen: {:?} is not an address", s.listen))?,
    };
    if !(1..=64).contains(&s.workers) || !(1..=256).contains(&s.pool_size) {
        anyhow::bail!("api.workers (1..=64) or api.pool_size (1..=256) is out of range");
    }
    let config = api_config(args, &s, &settings.index)?;
    let state = std::sync::Arc::new(dgcm_api::AppState::new(config)?);
    let listener = std::net::TcpListener::bind(listen)
        .with_context(|| format!("api.listen: cannot listen on {listen}"))?;
    let server = dgcm_api::server(state, listener, s.workers)?;
    let handle = server.handle();
    let task = tokio::spawn(server);
    println!("query API on http://{listen}/api/v1 (OpenAPI: /api/openapi.json)");
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    handle.stop(true).await;
    task.await??;
    Ok(())
}

async fn run_devnet(args: DevnetArgs, settings: Settings) -> anyhow::Result<()> {
    let s = settings.devnet;
    if let Some(DevnetAction::Keys { out, wallets }) = args.action {
        return devnet_keys(&out, wallets.unwrap_or(s.wallets));
    }
    let listen: SocketAddr = match args.listen {
        Some(a) => a,
        None => s.listen.parse().with_context(|| {
            format!(
                "devnet.listen: {:?} is not an address like 127.0.0.1:9053",
                s.listen
            )
        })?,
    };
    let block_time = parse_block_time(args.block_time.as_deref().unwrap_or(&s.block_time))?;
    let wallets = args.wallets.unwrap_or(s.wallets);
    if !(2..=1000).contains(&wallets) {
        anyhow::bail!("wallets: {wallets} is out of range (2..=1000)");
    }
    let config = dgcm_devnet::DevnetConfig {
        block_time,
        state_dir: args.state_dir.or(s.state_dir),
        wallets,
        ..Default::default()
    };
    let devnet = dgcm_devnet::Devnet::new(config)?;
    let running = dgcm_devnet::start(devnet, listen).await?;
    println!(
        "devnet listening on {} (GET /devnet/info lists the test wallets)",
        running.url()
    );
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    println!("stopping devnet");
    running.stop().await;
    Ok(())
}

/// `dgcm devnet keys`: the test wallets' secrets as `<name>.key` files in `out`.
fn devnet_keys(out: &Path, wallets: usize) -> anyhow::Result<()> {
    if !(2..=1000).contains(&wallets) {
        anyhow::bail!("wallets: {wallets} is out of range (2..=1000)");
    }
    std::fs::create_dir_all(out).with_context(|| format!("--out: creating {}", out.display()))?;
    for i in 0..wallets {
        let w = dgcm_devnet::genesis::test_wallet(i);
        let (name, role) = dgcm_devnet::genesis::wallet_role(i);
        let address =
            w.encoded_address(ergo_lib::ergotree_ir::chain::address::NetworkPrefix::Testnet);
        let path = out.join(format!("{name}.key"));
        std::fs::write(&path, format!("{}\n", w.secret_hex))
            .with_context(|| format!("--out: writing {}", path.display()))?;
        let addr_path = out.join(format!("{name}.address"));
        std::fs::write(&addr_path, format!("{address}\n"))
            .with_context(|| format!("--out: writing {}", addr_path.display()))?;
        println!("{}  {role}  {address}", path.display());
    }
    Ok(())
}

/// The private cluster of `dgcm index` without a database URL: started (or reused) under
/// `[index] pg_dir` on `[index] pg_port`, database `dgcm`; its URL.
async fn index_cluster(s: &settings::IndexSettings) -> anyhow::Result<String> {
    let (dir, port) = (s.pg_dir.clone(), s.pg_port);
    let shown = dir.display().to_string();
    let url = tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
        let c = dgcm_indexer::pgcluster::PgCluster::start(&dir, port)?;
        c.create_database("dgcm")
    })
    .await?
    .with_context(|| {
        format!(
            "database_url: none given (--database-url, DATABASE_URL, [index] database_url), and \
             the private PostgreSQL cluster under {shown} on port {port} did not start \
             (index.pg_dir, index.pg_port; `apt-get install postgresql` provides the binaries)"
        )
    })?;
    println!(
        "no database URL: a private PostgreSQL cluster under {shown} (port {port}; it keeps \
         running after the indexer, stop it with `pg_ctl -D {shown}/data stop`); database {url}"
    );
    Ok(url)
}

/// The database `dgcm api` reads without a URL: the private cluster's of `dgcm index`.
fn index_cluster_url(s: &settings::IndexSettings) -> String {
    format!("postgres://dgcm@127.0.0.1:{}/dgcm", s.pg_port)
}

async fn run_index(args: IndexArgs, settings: Settings) -> anyhow::Result<()> {
    let s = settings.index;
    let node_url = args.node.clone().unwrap_or(s.node.clone());
    let database_url = match args.database_url.clone().or(s.database_url.clone()) {
        Some(u) => u,
        None => index_cluster(&s).await?,
    };
    let metrics_listen: SocketAddr = match args.metrics_listen {
        Some(a) => a,
        None => s.metrics_listen.parse().with_context(|| {
            format!(
                "index.metrics_listen: {:?} is not an address",
                s.metrics_listen
            )
        })?,
    };
    let contracts = match &args.protocol {
        Some(p) => dgcm_indexer::protocol_contracts("--protocol (DGCM_DEPLOYMENT)", p)?,
        None => dgcm_indexer::protocol_contracts("index.protocol", &s.protocol)?,
    };
    let mut client_config = dgcm_chain::ClientConfig::new(node_url.clone());
    client_config.api_key = s.api_key;
    let client = dgcm_chain::NodeClient::new(client_config)
        .with_context(|| format!("node: {node_url:?}"))?;
    let mut config = dgcm_indexer::IndexerConfig::new(database_url);
    config.from_height = args.from_height.or(s.from_height);
    config.contracts = contracts;
    let metrics = std::sync::Arc::new(dgcm_indexer::IndexerMetrics::default());
    let server = dgcm_indexer::serve::metrics_server(metrics_listen, metrics.clone())
        .with_context(|| format!("metrics_listen: cannot listen on {metrics_listen}"))?;
    let handle = server.handle();
    tokio::spawn(server);
    println!("indexing {node_url}; metrics on http://{metrics_listen}/metrics");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let r = dgcm_indexer::run(config, client, metrics, shutdown).await;
    handle.stop(true).await;
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use dgcm_contracts::deployment::Deployment;
    use ergo_lib::ergotree_ir::chain::address::NetworkPrefix;

    /// A deployment unlike the devnet's (another GPUC, price, oracle pool), saved to a file.
    fn custom_deployment(dir: &Path) -> (Deployment, PathBuf) {
        let mut d = Deployment::devnet_default();
        d.params.gpuc_id = dgcm_contracts::util::token_id([3; 32]);
        d.params.oracle_pool_nft = dgcm_contracts::util::token_id([4; 32]);
        d.params.gpuc_price_cents = 250;
        d.params.collateral_ratio_pct = 175;
        d.network = NetworkPrefix::Testnet;
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join("deployment.json");
        d.save(&path).unwrap();
        (d, path)
    }

    fn temp_dir(tag: &str) -> PathBuf {
        std::env::temp_dir().join(format!("dgcm-main-{tag}-{}", std::process::id()))
    }

    fn api_args(deployment: Option<PathBuf>) -> ApiArgs {
        ApiArgs {
            database_url: Some("postgres://dgcm@127.0.0.1/dgcm".into()),
            listen: None,
            node: None,
            deployment,
        }
    }

    #[test]
    fn api_takes_its_parameters_from_the_deployment_file() {
        let dir = temp_dir("api");
        let (d, path) = custom_deployment(&dir);
        let bytes = dgcm_contracts::util::token_bytes;

        // no file: the devnet deployment and its network (testnet, as the devnet writes them)
        let s = settings::ApiSettings::default();
        let c = api_config(api_args(None), &s, &Default::default()).unwrap();
        let devnet = Deployment::devnet_default().params;
        assert_eq!(c.gpuc_id, bytes(&devnet.gpuc_id));
        assert_eq!(c.network, NetworkPrefix::Testnet);

        // [api] deployment: ids, numbers and network from the file
        let s = settings::ApiSettings {
            deployment: Some(path.clone()),
            ..Default::default()
        };
        let c = api_config(api_args(None), &s, &Default::default()).unwrap();
        assert_eq!(c.gpuc_id, bytes(&d.params.gpuc_id));
        assert_eq!(c.oracle_pool_nft, bytes(&d.params.oracle_pool_nft));
        assert_eq!((c.gpuc_price_cents, c.collateral_ratio_pct), (250, 175));
        assert_eq!(c.network, NetworkPrefix::Testnet);
        // explicit keys still override the file
        let s = settings::ApiSettings {
            deployment: Some(path.clone()),
            network: Some("mainnet".into()),
            oracle_pool_nft: Some("05".repeat(32)),
            ..Default::default()
        };
        let c = api_config(api_args(None), &s, &Default::default()).unwrap();
        assert_eq!(c.network, NetworkPrefix::Mainnet);
        assert_eq!(c.oracle_pool_nft, vec![5; 32]);
        assert_eq!(c.gpuc_id, bytes(&d.params.gpuc_id));

        // --deployment beats [api] deployment; bad files name the field, the file, the reason
        let missing = dir.join("missing.json");
        let s = settings::ApiSettings {
            deployment: Some(missing.clone()),
            ..Default::default()
        };
        let c = api_config(api_args(Some(path.clone())), &s, &Default::default()).unwrap();
        assert_eq!(c.gpuc_id, bytes(&d.params.gpuc_id));
        let e = format!(
            "{:#}",
            api_config(api_args(None), &s, &Default::default()).unwrap_err()
        );
        assert!(
            e.starts_with("api.deployment: ") && e.contains("missing.json"),
            "{e}"
        );
        let bad = dir.join("bad.json");
        std::fs::write(&bad, "not json").unwrap();
        let e = format!(
            "{:#}",
            api_config(
                api_args(Some(bad)),
                &settings::ApiSettings::default(),
                &Default::default()
            )
            .unwrap_err()
        );
        assert!(
            e.starts_with("--deployment (DGCM_DEPLOYMENT): ") && e.contains("not JSON"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn bot_args(deployment: Option<PathBuf>) -> BotArgs {
        BotArgs {
            bots: vec![dgcm_bots::BotKind::Matcher],
            dry_run: true,
            node: None,
            key: None,
            reward_address: None,
            metrics_listen: None,
            state_dir: None,
            min_profit: None,
            deployment,
        }
    }

    #[test]
    fn bots_take_their_contracts_and_network_from_the_deployment_file() {
        let dir = temp_dir("bot");
        let (mut d, path) = custom_deployment(&dir);
        let s = settings::BotSettings::default;

        let c = bots_config(bot_args(None), s()).unwrap();
        assert_eq!(c.deployment, Deployment::devnet_default());

        let c = bots_config(
            bot_args(None),
            settings::BotSettings {
                deployment: Some(path.clone()),
                ..s()
            },
        )
        .unwrap();
        assert_eq!(c.deployment, d);
        assert_eq!(
            c.deployment.contracts().unwrap().params.gpuc_id,
            d.params.gpuc_id
        );

        d.network = NetworkPrefix::Mainnet;
        d.save(&path).unwrap();
        let c = bots_config(bot_args(Some(path.clone())), s()).unwrap();
        assert_eq!(c.deployment.network, NetworkPrefix::Mainnet, "the file's");
        let c = bots_config(
            bot_args(Some(path.clone())),
            settings::BotSettings {
                network: Some("testnet".into()),
                ..s()
            },
        )
        .unwrap();
        assert_eq!(
            c.deployment.network,
            NetworkPrefix::Testnet,
            "[bot] network wins"
        );

        let e = format!(
            "{:#}",
            bots_config(
                bot_args(None),
                settings::BotSettings {
                    deployment: Some(dir.join("missing.json")),
                    ..s()
                }
            )
            .unwrap_err()
        );
        assert!(
            e.starts_with("bot.deployment: ") && e.contains("missing.json"),
            "{e}"
        );
        std::fs::write(&path, "{\"network\": \"mainnet\"}").unwrap();
        let e = format!(
            "{:#}",
            bots_config(bot_args(Some(path.clone())), s()).unwrap_err()
        );
        assert!(
            e.starts_with("--deployment (DGCM_DEPLOYMENT): ") && e.contains("missing field"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn devnet_keys_writes_named_key_and_address_files() {
        let dir = temp_dir("keys");
        devnet_keys(&dir, 8).unwrap();
        let alice = dgcm_devnet::genesis::test_wallet(0);
        assert_eq!(
            std::fs::read_to_string(dir.join("alice.key"))
                .unwrap()
                .trim(),
            alice.secret_hex
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("alice.address"))
                .unwrap()
                .trim(),
            alice.encoded_address(NetworkPrefix::Testnet)
        );
        for name in ["bob", "operator", "deployer"] {
            assert!(dir.join(format!("{name}.key")).exists(), "{name}");
        }
        assert!(devnet_keys(&dir, 1).is_err(), "wallets out of range");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn node_flags_read_dgcm_node() {
        let cmd = <Cli as clap::CommandFactory>::command();
        for sub in ["index", "api", "bot", "worker", "tx", "onramp"] {
            let c = cmd.find_subcommand(sub).unwrap();
            let a = c
                .get_arguments()
                .find(|a| a.get_id() == "node")
                .unwrap_or_else(|| panic!("{sub} --node"));
            assert_eq!(
                a.get_env().and_then(|e| e.to_str()),
                Some("DGCM_NODE"),
                "{sub} --node"
            );
        }
    }

    #[test]
    fn deployment_flags_read_dgcm_deployment() {
        // clap's `env`: the flag's value when the variable is set (checked on the parser only,
        // without touching the process environment).
        let cmd = <Cli as clap::CommandFactory>::command();
        for (sub, flag) in [
            ("api", "deployment"),
            ("bot", "deployment"),
            ("index", "protocol"),
        ] {
            let c = cmd.find_subcommand(sub).unwrap();
            let a = c
                .get_arguments()
                .find(|a| a.get_id() == flag)
                .unwrap_or_else(|| panic!("{sub} --{flag}"));
            assert_eq!(
                a.get_env().and_then(|e| e.to_str()),
                Some("DGCM_DEPLOYMENT"),
                "{sub} --{flag}"
            );
        }
    }
}
