//! Settings: defaults < TOML file < `DGCM_*` environment < command-line flags.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// Top level tolerates unknown keys: `DGCM_CONFIG`, `DGCM_LOG`, ... are flags, not settings.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct Settings {
    pub devnet: DevnetSettings,
    pub index: IndexSettings,
    pub api: ApiSettings,
    pub bot: BotSettings,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BotSettings {
    pub node: String,
    /// Which bots run when none are named on the command line.
    pub bots: Vec<String>,
    /// File holding the operator's secret key (64 hex characters).
    pub key_file: Option<PathBuf>,
    /// Where earnings go (default: the key's address).
    pub reward_address: Option<String>,
    /// Deployment file written by `dgcm tx deploy-vault` (default: the built-in devnet
    /// deployment, which the devnet's genesis carries).
    pub deployment: Option<PathBuf>,
    /// `mainnet` or `testnet` (default: the deployment's network; testnet for the devnet).
    pub network: Option<String>,
    /// Miner fee per transaction, nanoERG.
    pub fee: u64,
    /// The least a transaction must earn the operator after fees (nanoERG) to be signed; jobs
    /// below it are skipped and counted (`bot_jobs_unprofitable`).
    pub min_profit: i64,
    /// Pause between rounds (e.g. `500ms`).
    pub interval: String,
    pub metrics_listen: String,
    /// Address of Rosen EventTrigger boxes (the relay reads event paths from them).
    pub rosen_trigger_address: Option<String>,
    /// Directory for the Rosen path journal and scan id.
    pub state_dir: Option<PathBuf>,
}

impl Default for BotSettings {
    fn default() -> Self {
        BotSettings {
            node: "http://127.0.0.1:9053".into(),
            bots: vec![],
            key_file: None,
            reward_address: None,
            deployment: None,
            network: None,
            fee: 1_100_000,
            min_profit: 0,
            interval: "500ms".into(),
            metrics_listen: "127.0.0.1:9102".into(),
            rosen_trigger_address: None,
            state_dir: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSettings {
    pub listen: String,
    pub database_url: Option<String>,
    /// Node REST URL, for `node_height` in /api/v1/status.
    pub node: Option<String>,
    /// HTTP worker threads.
    pub workers: usize,
    pub pool_size: u32,
    /// Queries running longer are cancelled (e.g. `5s`).
    pub statement_timeout: String,
    /// Deployment file written by `dgcm tx deploy-vault`: GPUC id, oracle pool NFT, GPUC price,
    /// collateral ratio and network (default: the built-in devnet deployment).
    pub deployment: Option<PathBuf>,
    /// ERG/USD oracle pool NFT id (hex); default: the deployment's.
    pub oracle_pool_nft: Option<String>,
    /// `mainnet` or `testnet`: prefix of the addresses in replies (default: the deployment
    /// file's network; `mainnet` without a deployment file).
    pub network: Option<String>,
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings {
            listen: "127.0.0.1:8080".into(),
            database_url: None,
            node: None,
            workers: 2,
            pool_size: 8,
            statement_timeout: "5s".into(),
            deployment: None,
            oracle_pool_nft: None,
            network: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IndexSettings {
    pub node: String,
    pub api_key: Option<String>,
    pub database_url: Option<String>,
    pub from_height: Option<u32>,
    pub metrics_listen: String,
    /// Which deployment's boxes to decode: `devnet` (built in), `none` (raw chain tables only)
    /// or the path of a deployment file written by `dgcm tx deploy-vault`.
    pub protocol: String,
    /// Without a database URL `dgcm index` starts (or reuses) a private PostgreSQL cluster from
    /// the system's binaries in this directory, on 127.0.0.1:`pg_port`, database `dgcm`; `dgcm
    /// api` without a database URL reads that database.
    pub pg_dir: std::path::PathBuf,
    pub pg_port: u16,
}

impl Default for IndexSettings {
    fn default() -> Self {
        IndexSettings {
            node: "http://127.0.0.1:9053".into(),
            api_key: None,
            database_url: None,
            from_height: None,
            metrics_listen: "127.0.0.1:9101".into(),
            protocol: "devnet".into(),
            pg_dir: ".dgcm/pg".into(),
            pg_port: 55434,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DevnetSettings {
    pub listen: String,
    pub block_time: String,
    pub state_dir: Option<PathBuf>,
    pub wallets: usize,
}

impl Default for DevnetSettings {
    fn default() -> Self {
        DevnetSettings {
            listen: "127.0.0.1:9053".into(),
            block_time: "manual".into(),
            state_dir: None,
            wallets: 8,
        }
    }
}

impl Settings {
    pub fn load(file: Option<&Path>) -> anyhow::Result<Settings> {
        let mut b = config::Config::builder();
        match file {
            Some(f) => {
                if !f.exists() {
                    anyhow::bail!("--config: {} does not exist", f.display());
                }
                b = b.add_source(config::File::from(f).format(config::FileFormat::Toml));
            }
            None => {
                b = b.add_source(
                    config::File::with_name("dgcm.toml")
                        .format(config::FileFormat::Toml)
                        .required(false),
                );
            }
        }
        b = b.add_source(
            config::Environment::with_prefix("DGCM")
                .prefix_separator("_")
                .separator("__")
                .try_parsing(true),
        );
        let c = b.build().context("reading settings")?;
        c.try_deserialize().context("settings")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test touches the process environment, so everything that reads it is in here.
    #[test]
    fn file_then_environment_then_errors() {
        let dir = std::env::temp_dir().join(format!("dgcm-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("dgcm.toml");
        std::fs::write(
            &file,
            "[devnet]\nlisten = \"127.0.0.1:7000\"\nwallets = 3\n",
        )
        .unwrap();

        let s = Settings::load(Some(&file)).unwrap();
        assert_eq!(s.devnet.listen, "127.0.0.1:7000");
        assert_eq!(s.devnet.wallets, 3);
        assert_eq!(s.devnet.block_time, "manual", "default kept");

        std::env::set_var("DGCM_DEVNET__WALLETS", "5");
        std::env::set_var("DGCM_DEVNET__BLOCK_TIME", "2s");
        let s = Settings::load(Some(&file)).unwrap();
        std::env::remove_var("DGCM_DEVNET__WALLETS");
        std::env::remove_var("DGCM_DEVNET__BLOCK_TIME");
        assert_eq!(s.devnet.wallets, 5, "environment beats the file");
        assert_eq!(s.devnet.block_time, "2s");
        assert_eq!(s.devnet.listen, "127.0.0.1:7000");

        std::fs::write(&file, "[devnet]\nlistn = \"x\"\n").unwrap();
        let err = format!("{:#}", Settings::load(Some(&file)).unwrap_err());
        assert!(err.contains("listn"), "the unknown key is named: {err}");
        std::fs::write(&file, "[devnet]\nwallets = \"many\"\n").unwrap();
        let err = format!("{:#}", Settings::load(Some(&file)).unwrap_err());
        assert!(err.contains("wallets") || err.contains("many"), "{err}");
        assert!(Settings::load(Some(&dir.join("missing.toml"))).is_err());

        std::fs::write(&file, "[api]\nlisten = \"0.0.0.0:9000\"\n").unwrap();
        std::env::set_var("DGCM_API__POOL_SIZE", "3");
        let s = Settings::load(Some(&file)).unwrap();
        std::env::remove_var("DGCM_API__POOL_SIZE");
        assert_eq!(s.api.listen, "0.0.0.0:9000");
        assert_eq!(s.api.pool_size, 3);
        assert_eq!(s.api.statement_timeout, "5s", "default kept");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
