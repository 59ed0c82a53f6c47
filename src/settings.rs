//! Settings: defaults < TOML file < `DGCM_*` environment < command-line flags.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// Top level tolerates unknown keys: `DGCM_CONFIG`, `DGCM_LOG`, ... are flags, not settings.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct Settings {
    pub devnet: DevnetSettings,
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
                .separator("__")
                .try_parsing(true),
        );
        let c = b.build().context("reading settings")?;
        c.try_deserialize().context("settings")
    }
}
