//! Settings: a TOML file with a `[worker]` table (and sub-tables), then `DGCM_WORKER__*`
//! environment overrides (`DGCM_WORKER__LISTEN`, `DGCM_WORKER__DOCKER__MEMORY_MIB`: a double
//! underscore separates table and key), then command-line flags ([`crate::WorkerArgs`]).
//!
//! Every field has a default except what identifies the provider (a key file or an address);
//! [`WorkerConfig::validate`] checks values and names the field in its errors.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use dgcm_contracts::capacity::{Capacity, DEFAULT_LIMITS};
use dgcm_contracts::deployment::Deployment;
use ergo_lib::ergotree_ir::chain::address::NetworkPrefix;
use serde::{Deserialize, Serialize};

/// The whole worker configuration (`[worker]` in the TOML file).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerConfig {
    /// Address of the auth/job API, /health and /metrics.
    pub listen: String,
    /// URL renters use to reach this worker; written into the listing (R6 workerEndpoint).
    /// Default: `http://<listen>`.
    pub public_url: Option<String>,
    /// Jobs, tokens, nonces, commitments and the listing id live here (survives restarts).
    pub state_dir: PathBuf,
    /// Ergo node (or devnet) REST URL.
    pub node: String,
    /// `api_key` header for the node, when it needs one.
    pub node_api_key: Option<String>,
    /// DGCM query API base URL (e.g. `http://127.0.0.1:8080`), for follow-the-market pricing.
    pub query_api: Option<String>,
    /// `mainnet` or `testnet`: address prefix (default: the deployment's network; testnet for
    /// the devnet).
    pub network: Option<String>,
    /// Deployment file written by `dgcm tx deploy-vault` (also `--deployment` and
    /// `DGCM_DEPLOYMENT`): the contracts the worker builds with. When set it replaces
    /// `protocol`.
    pub deployment: Option<PathBuf>,
    /// Deployment without a `deployment` file: `devnet` (the built-in devnet deployment, which
    /// the devnet's genesis carries; the only name defined).
    pub protocol: String,
    /// Override of the deployment's GPUC token id (hex), e.g. a devnet stand-in.
    pub gpuc_id: Option<String>,
    /// Provider key file: 64 hex characters. The worker signs and submits its own transactions.
    pub provider_key_file: Option<PathBuf>,
    /// Provider P2PK address for an external wallet (no key here): every transaction is written
    /// as EIP-12 JSON under `eip12_dir` for the wallet to sign.
    pub provider_address: Option<String>,
    /// Where unsigned EIP-12 transactions go (default: `<state_dir>/eip12`).
    pub eip12_dir: Option<PathBuf>,
    /// Miner fee per transaction, nanoERG.
    pub fee_nanoerg: u64,
    /// Expected time between blocks (mainnet: 2m); converts lease heights into wall time.
    #[serde(with = "humantime_serde_compat")]
    pub block_time: Duration,
    /// How often the chain height is read (and the listing/pricing re-checked).
    #[serde(with = "humantime_serde_compat")]
    pub poll_interval: Duration,
    /// Bearer tokens expire after this, or at the lease deadline when that comes first.
    #[serde(with = "humantime_serde_compat")]
    pub token_ttl: Duration,
    /// A challenge nonce is valid this long (and once).
    #[serde(with = "humantime_serde_compat")]
    pub nonce_ttl: Duration,
    /// Jobs are stopped this many blocks before the lease deadline, so that the completion
    /// transaction still lands in time (`HEIGHT <= deadline`).
    pub stop_margin_blocks: u32,
    /// Blocks a lease must be under before it is served (a challenge answered): 1 = in a block,
    /// 2 = one more on top, … (at most 30). 0 also serves leases still in the mempool, which a
    /// renter could double-spend: for a devnet only.
    pub lease_confirmations: u32,
    /// Blocks claimed when completing a lease whose consumer never submitted a job (the no-show
    /// rule; one hour by default, never more than the blocks that passed since the start).
    pub no_show_blocks: u32,
    /// `docker` (isolated, the default) or `process` (no isolation; development and demo only).
    pub runtime: String,
    /// Must be true for `runtime = "process"`: jobs then run as plain child processes.
    pub allow_process_runtime: bool,
    /// Whether to create/update the listing on start.
    pub listing: ListingConfig,
    pub pricing: PricingConfig,
    pub docker: DockerConfig,
    pub gpu: GpuConfig,
}

/// Listing terms (R5/R6 of the listing box), except price (see [`PricingConfig`]) and the GPU
/// spec (NVML or [`GpuConfig`]).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListingConfig {
    /// Create or update the listing on start (false: only serve leases already made).
    pub enabled: bool,
    pub region: String,
    /// mGPUC of collateral per leased hour (sliced from the stake by each match).
    pub collateral_per_hour: i64,
    pub min_hours: i64,
    pub max_hours: i64,
    /// Benchmark score published in the listing.
    pub benchmark_score: i64,
    /// GPUC (mGPUC) staked in the listing box.
    pub stake: u64,
    /// nanoERG kept in the listing box (raised to the dust minimum when lower).
    pub box_value: u64,
}

/// `fixed`: `price_per_hour`; `market`: the median price of comparable listings (same model,
/// from the query API), clamped to `[min_price, max_price]`, re-checked every `interval`; the
/// listing is updated when the price drifts more than `drift_pct` percent.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PricingConfig {
    pub mode: String,
    /// mGPUC per hour (fixed price, and the market mode's starting price).
    pub price_per_hour: i64,
    pub min_price: i64,
    pub max_price: i64,
    pub drift_pct: u32,
    #[serde(with = "humantime_serde_compat")]
    pub interval: Duration,
}

/// How jobs run in Docker, and the limits every job gets (a job spec may ask for less).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DockerConfig {
    /// Docker endpoint (`unix:///path/docker.sock`, `tcp://...`); default: `DOCKER_HOST`, else
    /// the default socket.
    pub host: Option<String>,
    /// `uid:gid` the job runs as (never root).
    pub user: String,
    pub memory_mib: u64,
    /// CPU limit in thousandths of a core.
    pub cpu_millis: u64,
    pub pids_limit: i64,
    /// Size of the tmpfs scratch at /tmp.
    pub tmpfs_mib: u64,
    /// Per-job log cap; output beyond it is dropped (and the log says so).
    pub log_cap_bytes: u64,
    /// Between SIGTERM and SIGKILL when a job is stopped at its deadline.
    #[serde(with = "humantime_serde_compat")]
    pub stop_grace: Duration,
    /// Pull an image that the daemon lacks (needs a reachable registry); only images that
    /// `allowed_images` names.
    pub pull: bool,
    /// The images a job may name, as normalised reference prefixes: `docker.io/library/` (the
    /// official images; `python:3.12` is `docker.io/library/python:3.12`), `ghcr.io/acme/`, or
    /// one full name. Anything else is refused, present in the daemon or not. An image a renter
    /// uploaded for its lease is named by its ID (`sha256:…`) and needs no entry.
    pub allowed_images: Vec<String>,
    /// The listing offers network egress: jobs join `egress_network` (which the worker creates)
    /// behind the worker's egress policy (the host, link-local and private ranges rejected;
    /// `runtime::egress`) instead of having no network. The worker does not start when it cannot
    /// install that policy.
    pub egress: bool,
    /// The Docker network egress jobs join; created by the worker when missing.
    pub egress_network: String,
    /// Request GPUs from the daemon (NVIDIA container runtime needed).
    pub gpus: bool,
    /// OCI runtime for job containers (e.g. `nvidia`, `runsc`); default: the daemon's.
    pub oci_runtime: Option<String>,
    /// Largest image tarball accepted by `POST .../image` (`docker load`).
    pub max_image_mib: u64,
    /// Usage samples are taken this often.
    #[serde(with = "humantime_serde_compat")]
    pub sample_interval: Duration,
    /// Largest results archive served (the output directory as tar).
    pub max_results_mib: u64,
    /// Quota of a job's `/output` (host disk): checked every sample and when the job ends; a
    /// job over it is stopped, its output deleted, and it ends `failed` saying why.
    pub max_output_mib: u64,
    /// Open files per job process (`nofile` ulimit, soft = hard).
    pub nofile: u64,
    /// Log followers (`logs?follow=true`) one lease may hold open at once.
    pub max_log_followers: usize,
}

/// The GPU spec used when NVML is unavailable (and NVML switch).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct GpuConfig {
    /// Try NVML (libnvidia-ml) for detection and metrics.
    pub nvml: bool,
    pub model: String,
    pub vram_mib: i64,
    pub count: i64,
    pub driver: String,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            listen: "127.0.0.1:8090".into(),
            public_url: None,
            state_dir: PathBuf::from(".dgcm/worker"),
            node: "http://127.0.0.1:9053".into(),
            node_api_key: None,
            query_api: None,
            network: None,
            deployment: None,
            protocol: "devnet".into(),
            gpuc_id: None,
            provider_key_file: None,
            provider_address: None,
            eip12_dir: None,
            fee_nanoerg: 1_100_000,
            block_time: Duration::from_secs(120),
            poll_interval: Duration::from_secs(5),
            token_ttl: Duration::from_secs(3600),
            nonce_ttl: Duration::from_secs(300),
            stop_margin_blocks: 2,
            lease_confirmations: 1,
            no_show_blocks: 30,
            runtime: "docker".into(),
            allow_process_runtime: false,
            listing: ListingConfig::default(),
            pricing: PricingConfig::default(),
            docker: DockerConfig::default(),
            gpu: GpuConfig::default(),
        }
    }
}

impl Default for ListingConfig {
    fn default() -> Self {
        ListingConfig {
            enabled: true,
            region: "unknown".into(),
            collateral_per_hour: 0,
            min_hours: 1,
            max_hours: 24,
            benchmark_score: 0,
            stake: 0,
            box_value: 2_000_000,
        }
    }
}

impl Default for PricingConfig {
    fn default() -> Self {
        PricingConfig {
            mode: "fixed".into(),
            price_per_hour: 1000,
            min_price: 1,
            max_price: i64::MAX / 1_000_000,
            drift_pct: 10,
            interval: Duration::from_secs(300),
        }
    }
}

impl Default for DockerConfig {
    fn default() -> Self {
        DockerConfig {
            host: None,
            user: "65534:65534".into(),
            memory_mib: DEFAULT_LIMITS.memory_mib as u64,
            cpu_millis: DEFAULT_LIMITS.cpu_millis as u64,
            pids_limit: DEFAULT_LIMITS.pids,
            tmpfs_mib: 256,
            log_cap_bytes: 16 * 1024 * 1024,
            stop_grace: Duration::from_secs(10),
            pull: true,
            allowed_images: vec!["docker.io/library/".into()],
            egress: false,
            egress_network: "dgcm-egress".into(),
            gpus: false,
            oci_runtime: None,
            max_image_mib: 2048,
            sample_interval: Duration::from_secs(1),
            max_results_mib: 1024,
            max_output_mib: DEFAULT_LIMITS.disk_mib as u64,
            nofile: 4096,
            max_log_followers: 4,
        }
    }
}

impl DockerConfig {
    /// The limits this worker enforces on every job, as its listing publishes them (R5[7..10]):
    /// the one place both the listing and the job check take them from.
    pub fn capacity(&self) -> Capacity {
        let n = |x: u64| i64::try_from(x).unwrap_or(i64::MAX);
        Capacity {
            memory_mib: n(self.memory_mib),
            cpu_millis: n(self.cpu_millis),
            pids: self.pids_limit,
            disk_mib: n(self.max_output_mib),
        }
    }
}

impl Default for GpuConfig {
    fn default() -> Self {
        GpuConfig {
            nvml: true,
            model: "unknown".into(),
            vram_mib: 0,
            count: 1,
            driver: String::new(),
        }
    }
}

/// The file's shape: everything under `[worker]`; other tables (`[devnet]`, `[api]`...) of a
/// shared `dgcm.toml` are ignored.
#[derive(Deserialize, Default)]
struct FileShape {
    #[serde(default)]
    worker: WorkerConfig,
}

impl WorkerConfig {
    /// Defaults < `file` (when given; it must exist) < `DGCM_WORKER__*` environment variables.
    pub fn load(file: Option<&Path>) -> anyhow::Result<WorkerConfig> {
        let mut b = config::Config::builder();
        if let Some(f) = file {
            if !f.exists() {
                bail!("--config: {} does not exist", f.display());
            }
            b = b.add_source(config::File::from(f).format(config::FileFormat::Toml));
        }
        b = b.add_source(
            config::Environment::with_prefix("DGCM")
                .prefix_separator("_")
                .separator("__")
                .try_parsing(true),
        );
        let c = b.build().context("reading worker settings")?;
        let shape: FileShape = c.try_deserialize().context("worker settings")?;
        Ok(shape.worker)
    }

    /// Parses a TOML text (the `[worker]` table), without the environment.
    pub fn from_toml(text: &str) -> anyhow::Result<WorkerConfig> {
        let c = config::Config::builder()
            .add_source(config::File::from_str(text, config::FileFormat::Toml))
            .build()
            .context("worker settings")?;
        let shape: FileShape = c.try_deserialize().context("worker settings")?;
        Ok(shape.worker)
    }

    /// Checks every value; errors name the field and the reason.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.listen_addr()?;
        if self.lease_confirmations > 30 {
            bail!(
                "worker.lease_confirmations: {} is more than 30 blocks",
                self.lease_confirmations
            );
        }
        // the deployment file (or protocol), the GPUC override and the network
        self.deployment()?;
        if !(self.node.starts_with("http://") || self.node.starts_with("https://")) {
            bail!("worker.node: {:?} is not an http(s) URL", self.node);
        }
        if let Some(q) = &self.query_api {
            if !(q.starts_with("http://") || q.starts_with("https://")) {
                bail!("worker.query_api: {q:?} is not an http(s) URL");
            }
        }
        if self.provider_key_file.is_some() && self.provider_address.is_some() {
            bail!("worker.provider_key_file and worker.provider_address: give one, not both");
        }
        if self.block_time < Duration::from_millis(10) {
            bail!("worker.block_time: too short (at least 10ms)");
        }
        if self.poll_interval < Duration::from_millis(10) {
            bail!("worker.poll_interval: too short (at least 10ms)");
        }
        if self.token_ttl.is_zero() || self.nonce_ttl.is_zero() {
            bail!("worker.token_ttl / worker.nonce_ttl: must be positive");
        }
        match self.runtime.as_str() {
            "docker" => {}
            "process" if self.allow_process_runtime => {}
            "process" => bail!(
                "worker.runtime: `process` runs jobs as plain child processes WITHOUT isolation \
                 (no container, no network or filesystem confinement); it is for development and \
                 the demo only. Set worker.allow_process_runtime = true (or \
                 --allow-process-runtime) to accept that, or use `docker`"
            ),
            other => bail!("worker.runtime: {other:?} is not `docker` or `process`"),
        }
        let l = &self.listing;
        if l.min_hours < 1 || l.max_hours < l.min_hours {
            bail!("worker.listing.min_hours/max_hours: need 1 <= min_hours <= max_hours");
        }
        if l.collateral_per_hour < 0 {
            bail!("worker.listing.collateral_per_hour: must be >= 0");
        }
        if l.region.len() > 64 {
            bail!("worker.listing.region: longer than 64 bytes");
        }
        let p = &self.pricing;
        match p.mode.as_str() {
            "fixed" | "market" => {}
            other => bail!("worker.pricing.mode: {other:?} is not `fixed` or `market`"),
        }
        if p.price_per_hour <= 0 {
            bail!("worker.pricing.price_per_hour: must be > 0");
        }
        if p.min_price <= 0 || p.max_price < p.min_price {
            bail!("worker.pricing.min_price/max_price: need 0 < min_price <= max_price");
        }
        if p.mode == "market" && self.query_api.is_none() {
            bail!("worker.query_api: required by pricing.mode = \"market\"");
        }
        let d = &self.docker;
        parse_user(&d.user)?;
        if d.memory_mib < 4 {
            bail!("worker.docker.memory_mib: at least 4");
        }
        if d.cpu_millis < 10 {
            bail!("worker.docker.cpu_millis: at least 10");
        }
        if d.pids_limit < 1 {
            bail!("worker.docker.pids_limit: at least 1");
        }
        if d.tmpfs_mib < 1 {
            bail!("worker.docker.tmpfs_mib: at least 1");
        }
        if d.log_cap_bytes < 1024 {
            bail!("worker.docker.log_cap_bytes: at least 1024");
        }
        if d.sample_interval < Duration::from_millis(100) {
            bail!("worker.docker.sample_interval: at least 100ms");
        }
        if let Some(h) = &d.host {
            if !(h.starts_with("unix://") || h.starts_with("tcp://") || h.starts_with("http://")) {
                bail!("worker.docker.host: {h:?} is not unix://, tcp:// or http://");
            }
        }
        Ok(())
    }

    pub fn listen_addr(&self) -> anyhow::Result<std::net::SocketAddr> {
        self.listen
            .parse()
            .with_context(|| format!("worker.listen: {:?} is not an address", self.listen))
    }

    /// The address prefix: `network` when set, else the deployment's.
    pub fn network_prefix(&self) -> anyhow::Result<NetworkPrefix> {
        match self.network.as_deref() {
            Some(n) => parse_network(n),
            None => Ok(self.deployment()?.network),
        }
    }

    /// The deployment the worker builds with: the `deployment` file, else `protocol`
    /// (`devnet`); then the `gpuc_id` and `network` overrides. Reads the file on every call.
    /// Errors name the setting, the file and the reason (missing file, not JSON, a bad field).
    pub fn deployment(&self) -> anyhow::Result<Deployment> {
        let mut d = match &self.deployment {
            Some(path) => Deployment::load(path).map_err(|e| anyhow!("worker.deployment: {e}"))?,
            None if self.protocol == "devnet" => Deployment::devnet_default(),
            None => bail!(
                "worker.protocol: {:?} is not a known deployment (only `devnet`; give a \
                 deployment file with worker.deployment)",
                self.protocol
            ),
        };
        if let Some(id) = &self.gpuc_id {
            let b: [u8; 32] = hex::decode(id)
                .ok()
                .and_then(|b| b.try_into().ok())
                .with_context(|| format!("worker.gpuc_id: {id:?} is not a 32-byte hex token id"))?;
            d.params.gpuc_id = dgcm_contracts::util::token_id(b);
        }
        if let Some(n) = &self.network {
            d.network = parse_network(n)?;
        }
        Ok(d)
    }

    pub fn eip12_dir(&self) -> PathBuf {
        self.eip12_dir
            .clone()
            .unwrap_or_else(|| self.state_dir.join("eip12"))
    }
}

fn parse_network(n: &str) -> anyhow::Result<NetworkPrefix> {
    match n {
        "mainnet" => Ok(NetworkPrefix::Mainnet),
        "testnet" => Ok(NetworkPrefix::Testnet),
        other => bail!("worker.network: {other:?} is not `mainnet` or `testnet`"),
    }
}

/// `uid:gid` (numeric, uid not 0).
pub fn parse_user(user: &str) -> anyhow::Result<(u32, u32)> {
    let (u, g) = user
        .split_once(':')
        .with_context(|| format!("worker.docker.user: {user:?} is not uid:gid"))?;
    let u: u32 = u
        .parse()
        .with_context(|| format!("worker.docker.user: uid {u:?} is not a number"))?;
    let g: u32 = g
        .parse()
        .with_context(|| format!("worker.docker.user: gid {g:?} is not a number"))?;
    if u == 0 {
        bail!("worker.docker.user: jobs never run as root (uid 0)");
    }
    Ok((u, g))
}

/// Durations as humantime strings (`2s`, `5m`) in the TOML file and the environment.
mod humantime_serde_compat {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map_err(|e| {
            serde::de::Error::custom(format!("{text:?} is not a duration like 5s or 2m ({e})"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_defaults_and_errors_name_the_field() {
        let c = WorkerConfig::from_toml(
            "[worker]\nlisten = \"127.0.0.1:7000\"\nblock_time = \"2s\"\n[worker.docker]\nmemory_mib = 64\n",
        )
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:7000");
        assert_eq!(c.block_time, Duration::from_secs(2));
        assert_eq!(c.docker.memory_mib, 64);
        assert_eq!(c.docker.pids_limit, 256, "default kept");
        c.validate().unwrap();

        let e = format!(
            "{:#}",
            WorkerConfig::from_toml("[worker]\nlistn = \"x\"\n").unwrap_err()
        );
        assert!(e.contains("listn"), "{e}");
        let e = format!(
            "{:#}",
            WorkerConfig::from_toml("[worker]\nblock_time = \"soon\"\n").unwrap_err()
        );
        assert!(e.contains("soon"), "{e}");

        let mut c = WorkerConfig {
            runtime: "process".into(),
            ..Default::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("allow_process_runtime") && e.contains("WITHOUT isolation"),
            "{e}"
        );
        c.allow_process_runtime = true;
        c.validate().unwrap();

        let c = WorkerConfig {
            docker: DockerConfig {
                user: "0:0".into(),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("root"));
        let c = WorkerConfig {
            pricing: PricingConfig {
                mode: "market".into(),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("query_api"));
    }

    #[test]
    fn deployment_file_replaces_protocol_and_gpuc_id_and_network_override_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deployment.json");
        let mut d = Deployment::devnet_default();
        d.params.gpuc_id = dgcm_contracts::util::token_id([9; 32]);
        d.params.challenge_window = 40;
        d.network = NetworkPrefix::Mainnet;
        d.save(&path).unwrap();

        // default: the devnet deployment, testnet addresses
        let c = WorkerConfig::default();
        assert_eq!(c.deployment().unwrap(), Deployment::devnet_default());
        assert_eq!(c.network_prefix().unwrap(), NetworkPrefix::Testnet);

        // [worker] deployment: the file's parameters and network
        let c = WorkerConfig::from_toml(&format!(
            "[worker]\ndeployment = {:?}\n",
            path.display().to_string()
        ))
        .unwrap();
        c.validate().unwrap();
        assert_eq!(c.deployment().unwrap(), d);
        assert_eq!(c.network_prefix().unwrap(), NetworkPrefix::Mainnet);
        assert_eq!(
            crate::chain::contracts(&c).unwrap().params.challenge_window,
            40
        );
        // gpuc_id and network still override it
        let c = WorkerConfig {
            gpuc_id: Some("01".repeat(32)),
            network: Some("testnet".into()),
            ..c
        };
        let o = c.deployment().unwrap();
        assert_eq!(o.params.gpuc_id, dgcm_contracts::util::token_id([1; 32]));
        assert_eq!(o.params.challenge_window, 40);
        assert_eq!(c.network_prefix().unwrap(), NetworkPrefix::Testnet);

        // --deployment (DGCM_DEPLOYMENT) sets it too
        let mut c = WorkerConfig::default();
        crate::WorkerArgs {
            deployment: Some(path.clone()),
            ..Default::default()
        }
        .apply(&mut c);
        assert_eq!(c.deployment.as_deref(), Some(path.as_path()));

        // bad files: the setting, the file and the reason
        let c = WorkerConfig {
            deployment: Some(dir.path().join("missing.json")),
            ..Default::default()
        };
        let e = format!("{:#}", c.validate().unwrap_err());
        assert!(
            e.starts_with("worker.deployment: ") && e.contains("missing.json"),
            "{e}"
        );
        std::fs::write(&path, "[]").unwrap();
        let c = WorkerConfig {
            deployment: Some(path.clone()),
            ..Default::default()
        };
        let e = format!("{:#}", c.network_prefix().unwrap_err());
        assert!(
            e.starts_with("worker.deployment: ") && e.contains("not a deployment file"),
            "{e}"
        );
        let c = WorkerConfig {
            protocol: "mainnet".into(),
            ..Default::default()
        };
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("worker.protocol"));
    }

    #[test]
    fn environment_overrides_the_file() {
        // The only test that touches DGCM_WORKER__* variables.
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("worker.toml");
        std::fs::write(
            &f,
            "[worker]\nlisten = \"127.0.0.1:7001\"\n[worker.docker]\npids_limit = 9\n[devnet]\nwallets = 3\n",
        )
        .unwrap();
        std::env::set_var("DGCM_WORKER__DOCKER__PIDS_LIMIT", "33");
        std::env::set_var("DGCM_WORKER__TOKEN_TTL", "7s");
        let c = WorkerConfig::load(Some(&f));
        std::env::remove_var("DGCM_WORKER__DOCKER__PIDS_LIMIT");
        std::env::remove_var("DGCM_WORKER__TOKEN_TTL");
        let c = c.unwrap();
        assert_eq!(c.listen, "127.0.0.1:7001");
        assert_eq!(c.docker.pids_limit, 33);
        assert_eq!(c.token_ttl, Duration::from_secs(7));
        assert!(WorkerConfig::load(Some(&dir.path().join("missing.toml"))).is_err());
    }
}
