//! Settings: defaults < the `[onramp]` table of the TOML file < `DGCM_ONRAMP__*` environment
//! variables < command-line flags ([`crate::OnrampArgs`]).
//!
//! Secrets (the treasury key, the provider's API key and webhook secret) are never printed:
//! `Debug` redacts them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use dgcm_contracts::deployment::{network_name, Deployment};
use dgcm_contracts::ProtocolParams;
use ergo_lib::ergotree_ir::chain::address::NetworkPrefix;
use ergo_lib::ergotree_ir::chain::token::TokenId;
use serde::{Deserialize, Deserializer};

/// Everything `dgcm onramp` needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OnrampConfig {
    /// Address the HTTP service listens on.
    pub listen: SocketAddr,
    /// PostgreSQL URL (may be the indexer's database: every table is prefixed `onramp_`).
    pub database_url: Option<String>,
    /// Connections in the service's pool.
    pub pool_size: u32,
    /// Ergo node REST URL.
    pub node: String,
    /// `api_key` header for the node (optional).
    pub node_api_key: Option<String>,
    /// Deployment file written by `dgcm tx deploy-vault` (also `--deployment`,
    /// `DGCM_DEPLOYMENT`): the defaults of `network` and of `assets.oracle_pool_nft`,
    /// `assets.sigusd_id`, `assets.gpuc_id` and `assets.gpuc_price_cents`, which stay settable
    /// one by one. Without it those default to the built-in devnet deployment.
    pub deployment: Option<PathBuf>,
    /// `mainnet` or `testnet`: which addresses are accepted.
    #[serde(deserialize_with = "de_network")]
    pub network: NetworkPrefix,
    /// How long a quote (and its checkout) may be paid.
    #[serde(deserialize_with = "de_duration")]
    pub quote_ttl: Duration,
    /// Confirmations after which an order is `confirmed`.
    pub confirmations: u32,
    /// How often the fulfilment worker looks at the chain when nothing wakes it earlier.
    #[serde(deserialize_with = "de_duration")]
    pub poll_interval: Duration,
    /// First retry delay after a failed fulfilment step (node down, treasury short); doubles per
    /// attempt up to `backoff_max`.
    #[serde(deserialize_with = "de_duration")]
    pub backoff_initial: Duration,
    #[serde(deserialize_with = "de_duration")]
    pub backoff_max: Duration,
    pub fees: FeeConfig,
    pub limits: LimitsConfig,
    pub assets: AssetsConfig,
    pub treasury: TreasuryConfig,
    pub provider: ProviderConfig,
    /// Test hooks that stop the fulfilment worker at a chosen point (simulated crashes). Not
    /// settable from files or the environment.
    #[serde(skip)]
    pub faults: Faults,
}

/// The operator's fee, taken from the fiat amount before conversion.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeeConfig {
    /// Proportional fee in basis points (250 = 2.5 %), rounded up to the cent.
    pub percent_bps: u32,
    /// Fixed fee in cents per order (covers the miner fee and the ERG in a token box).
    pub fixed_cents: i64,
}

/// Limits, in fiat cents. Orders count from checkout on, unless expired, cancelled or refunded.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    pub min_order_cents: i64,
    pub max_order_cents: i64,
    /// Per destination address over the last 24 hours.
    pub per_address_daily_cents: i64,
    /// All orders since 00:00 UTC.
    pub daily_total_cents: i64,
}

/// Which tokens are sold and where prices come from.
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AssetsConfig {
    /// ERG/USD oracle pool NFT (hex): the pool box holds it at tokens(0), R4 = nanoERG per USD.
    #[serde(deserialize_with = "de_token_id")]
    pub oracle_pool_nft: TokenId,
    #[serde(deserialize_with = "de_token_id")]
    pub sigusd_id: TokenId,
    #[serde(deserialize_with = "de_token_id")]
    pub gpuc_id: TokenId,
    /// USD cents per whole GPUC (the protocol parameter `GPUC_PRICE_CENTS`).
    pub gpuc_price_cents: i64,
    /// nanoERG placed in a box that delivers a token (also the smallest ERG delivery).
    pub token_box_nanoerg: u64,
    /// Refuse quotes when the oracle pool box is older than this many blocks (0: no check).
    /// On by default: a fiat price must not come from a pool that stopped posting (the ERG/USD
    /// pool posts about every 30 blocks; the protocol's own bound is a day).
    pub oracle_max_age_blocks: u32,
}

impl std::fmt::Debug for AssetsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssetsConfig")
            .field("oracle_pool_nft", &hex_id(&self.oracle_pool_nft))
            .field("sigusd_id", &hex_id(&self.sigusd_id))
            .field("gpuc_id", &hex_id(&self.gpuc_id))
            .field("gpuc_price_cents", &self.gpuc_price_cents)
            .field("token_box_nanoerg", &self.token_box_nanoerg)
            .field("oracle_max_age_blocks", &self.oracle_max_age_blocks)
            .finish()
    }
}

/// The operator's treasury wallet (one P2PK key).
#[derive(Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct TreasuryConfig {
    /// File holding the secret key as 64 hex characters.
    pub secret_file: Option<PathBuf>,
    /// The secret key itself (prefer `secret_file` or `DGCM_ONRAMP__TREASURY__SECRET_HEX`).
    pub secret_hex: Option<String>,
    /// Miner fee per payout, nanoERG (default: ergo-lib's suggested 0.0011 ERG).
    pub miner_fee_nanoerg: Option<u64>,
}

impl std::fmt::Debug for TreasuryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreasuryConfig")
            .field("secret_file", &self.secret_file)
            .field(
                "secret_hex",
                &self.secret_hex.as_ref().map(|_| "<redacted>"),
            )
            .field("miner_fee_nanoerg", &self.miner_fee_nanoerg)
            .finish()
    }
}

/// The payment provider (adapter `stripe`: a Stripe-style API; in tests and the demo the
/// simulator of [`crate::simulator`] plays it).
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProviderConfig {
    /// The adapter and the `{provider}` of `POST /v1/webhooks/{provider}`; only `stripe` exists.
    pub name: String,
    /// The provider's API base URL (`https://api.stripe.com` or a simulator's URL).
    pub api_url: String,
    /// Secret API key (`Authorization: Bearer …`).
    pub api_key: String,
    /// Webhook signing secret (`whsec_…`).
    pub webhook_secret: String,
    /// How far a webhook's signed timestamp may be from now.
    #[serde(deserialize_with = "de_duration")]
    pub webhook_tolerance: Duration,
    /// Where the provider sends the payer after paying / cancelling.
    pub success_url: String,
    pub cancel_url: String,
    /// Refund flagged orders through the provider's API automatically (otherwise they stay
    /// `refund_required` for the operator).
    pub auto_refund: bool,
    /// Per-request timeout for the provider's API.
    #[serde(deserialize_with = "de_duration")]
    pub timeout: Duration,
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("name", &self.name)
            .field("api_url", &self.api_url)
            .field("api_key", &"<redacted>")
            .field("webhook_secret", &"<redacted>")
            .field("webhook_tolerance", &self.webhook_tolerance)
            .field("success_url", &self.success_url)
            .field("cancel_url", &self.cancel_url)
            .field("auto_refund", &self.auto_refund)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Points where a test stops the fulfilment worker, as a crash would (the HTTP side keeps
/// answering until the test stops the service).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// After the signed transaction is recorded, before it is submitted.
    pub crash_after_sign: bool,
    /// After the node accepted the transaction, before that is recorded.
    pub crash_after_submit: bool,
}

pub(crate) fn hex_id(id: &TokenId) -> String {
    String::from(*id)
}

fn parse_token_id(s: &str) -> Result<TokenId, String> {
    let bytes = hex::decode(s.trim()).map_err(|e| format!("{s:?} is not hex: {e}"))?;
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|b: Vec<u8>| format!("{} bytes, expected 32", b.len()))?;
    Ok(dgcm_contracts::util::token_id(arr))
}

impl Default for OnrampConfig {
    fn default() -> Self {
        OnrampConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8096)),
            database_url: None,
            pool_size: 8,
            node: "http://127.0.0.1:9053".into(),
            node_api_key: None,
            deployment: None,
            network: NetworkPrefix::Testnet,
            quote_ttl: Duration::from_secs(30 * 60),
            confirmations: 10,
            poll_interval: Duration::from_secs(2),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            fees: FeeConfig::default(),
            limits: LimitsConfig::default(),
            assets: AssetsConfig::default(),
            treasury: TreasuryConfig::default(),
            provider: ProviderConfig::default(),
            faults: Faults::default(),
        }
    }
}

impl Default for FeeConfig {
    fn default() -> Self {
        FeeConfig {
            percent_bps: 250,
            fixed_cents: 30,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            min_order_cents: 500,
            max_order_cents: 100_000,
            per_address_daily_cents: 200_000,
            daily_total_cents: 5_000_000,
        }
    }
}

/// [`AssetsConfig::oracle_max_age_blocks`] unless set: two hours of blocks.
pub const DEFAULT_ORACLE_MAX_AGE_BLOCKS: u32 = 60;

impl Default for AssetsConfig {
    /// The devnet deployment (`ProtocolParams::devnet_default()`, which the devnet's genesis
    /// uses for its oracle pool, SigUSD and GPUC).
    fn default() -> Self {
        let p = ProtocolParams::devnet_default();
        AssetsConfig {
            oracle_pool_nft: p.oracle_pool_nft,
            sigusd_id: p.sigusd_id,
            gpuc_id: p.gpuc_id,
            gpuc_price_cents: p.gpuc_price_cents,
            token_box_nanoerg: 1_000_000,
            oracle_max_age_blocks: DEFAULT_ORACLE_MAX_AGE_BLOCKS,
        }
    }
}

impl Default for ProviderConfig {
    fn default() -> Self {
        ProviderConfig {
            name: "stripe".into(),
            api_url: "http://127.0.0.1:8091".into(),
            api_key: "sk_test_simulator".into(),
            webhook_secret: "whsec_simulator".into(),
            webhook_tolerance: Duration::from_secs(300),
            success_url: "http://127.0.0.1:8096/paid".into(),
            cancel_url: "http://127.0.0.1:8096/cancelled".into(),
            auto_refund: false,
            timeout: Duration::from_secs(20),
        }
    }
}

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    humantime::parse_duration(s.trim())
        .map_err(|e| serde::de::Error::custom(format!("{s:?} is not a duration (e.g. 15m): {e}")))
}

fn de_network<'de, D: Deserializer<'de>>(d: D) -> Result<NetworkPrefix, D::Error> {
    let s = String::deserialize(d)?;
    match s.trim() {
        "mainnet" => Ok(NetworkPrefix::Mainnet),
        "testnet" => Ok(NetworkPrefix::Testnet),
        other => Err(serde::de::Error::custom(format!(
            "{other:?} is neither mainnet nor testnet"
        ))),
    }
}

fn de_token_id<'de, D: Deserializer<'de>>(d: D) -> Result<TokenId, D::Error> {
    let s = String::deserialize(d)?;
    parse_token_id(&s).map_err(serde::de::Error::custom)
}

impl OnrampConfig {
    /// Defaults, then the `[onramp]` table of `file` (when given), then `DGCM_ONRAMP__*`
    /// variables (`DGCM_ONRAMP__LISTEN`, `DGCM_ONRAMP__PROVIDER__WEBHOOK_SECRET`, ...).
    pub fn load(file: Option<&Path>) -> anyhow::Result<OnrampConfig> {
        OnrampConfig::load_with_deployment(file, None)
    }

    /// [`OnrampConfig::load`], where the deployment file (`deployment`, else the setting
    /// `onramp.deployment`) provides the defaults of `network` and of the deployment's assets
    /// (oracle pool NFT, SigUSD, GPUC, GPUC price); keys set in the file or the environment
    /// still win.
    pub fn load_with_deployment(
        file: Option<&Path>,
        deployment: Option<&Path>,
    ) -> anyhow::Result<OnrampConfig> {
        let build = |defaults: Option<&Deployment>| -> anyhow::Result<config::Config> {
            let mut b = config::Config::builder();
            if let Some(d) = defaults {
                let p = &d.params;
                b = b
                    .set_default("onramp.network", network_name(d.network))?
                    .set_default("onramp.assets.oracle_pool_nft", hex_id(&p.oracle_pool_nft))?
                    .set_default("onramp.assets.sigusd_id", hex_id(&p.sigusd_id))?
                    .set_default("onramp.assets.gpuc_id", hex_id(&p.gpuc_id))?
                    .set_default("onramp.assets.gpuc_price_cents", p.gpuc_price_cents)?;
            }
            if let Some(f) = file {
                if !f.exists() {
                    anyhow::bail!("--config: {} does not exist", f.display());
                }
                b = b.add_source(config::File::from(f).format(config::FileFormat::Toml));
            }
            b = b.add_source(
                config::Environment::with_prefix("DGCM")
                    .prefix_separator("_")
                    .separator("__"),
            );
            b.build().context("reading settings")
        };
        let mut c = build(None)?;
        let (path, field) = match deployment {
            Some(p) => (Some(p.to_path_buf()), "--deployment (DGCM_DEPLOYMENT)"),
            None => match c.get::<PathBuf>("onramp.deployment") {
                Ok(p) => (Some(p), "onramp.deployment"),
                Err(config::ConfigError::NotFound(_)) => (None, ""),
                Err(e) => anyhow::bail!("onramp.deployment: {e}"),
            },
        };
        if let Some(p) = &path {
            let d = Deployment::load(p).map_err(|e| anyhow::anyhow!("{field}: {e}"))?;
            c = build(Some(&d))?;
        }
        let mut cfg: OnrampConfig = match c.get::<OnrampConfig>("onramp") {
            Ok(cfg) => cfg,
            Err(config::ConfigError::NotFound(_)) => OnrampConfig::default(),
            Err(e) => return Err(anyhow::anyhow!("settings [onramp]: {e}")),
        };
        if path.is_some() {
            cfg.deployment = path;
        }
        Ok(cfg)
    }

    /// Command-line flags win over everything else.
    pub fn apply_args(&mut self, args: &crate::OnrampArgs) {
        if let Some(l) = args.listen {
            self.listen = l;
        }
        if let Some(u) = &args.database_url {
            self.database_url = Some(u.clone());
        }
        if let Some(n) = &args.node {
            self.node = n.clone();
        }
        if let Some(k) = &args.treasury_key_file {
            self.treasury.secret_file = Some(k.clone());
        }
    }

    /// Checks that do not need the network; each error names the setting.
    pub fn validate(&self) -> anyhow::Result<()> {
        let l = &self.limits;
        if l.min_order_cents <= 0 {
            anyhow::bail!("limits.min_order_cents: must be positive");
        }
        if l.max_order_cents < l.min_order_cents {
            anyhow::bail!("limits.max_order_cents: below limits.min_order_cents");
        }
        if l.per_address_daily_cents <= 0 || l.daily_total_cents <= 0 {
            anyhow::bail!("limits: daily limits must be positive");
        }
        if self.fees.percent_bps >= 10_000 {
            anyhow::bail!("fees.percent_bps: must be below 10000 (100 %)");
        }
        if self.fees.fixed_cents < 0 {
            anyhow::bail!("fees.fixed_cents: must not be negative");
        }
        if self.assets.gpuc_price_cents <= 0 {
            anyhow::bail!("assets.gpuc_price_cents: must be positive");
        }
        if self.assets.token_box_nanoerg < 100_000 {
            anyhow::bail!("assets.token_box_nanoerg: below 100000 nanoERG, boxes would be dust");
        }
        if self.provider.name != "stripe" {
            anyhow::bail!(
                "provider.name: {:?} is not a known adapter (known: stripe)",
                self.provider.name
            );
        }
        if self.provider.webhook_secret.is_empty() {
            anyhow::bail!("provider.webhook_secret: empty");
        }
        if self.quote_ttl.is_zero() {
            anyhow::bail!("quote_ttl: must be positive");
        }
        if self.treasury.secret_file.is_none() && self.treasury.secret_hex.is_none() {
            anyhow::bail!(
                "treasury: set treasury.secret_file (or DGCM_ONRAMP__TREASURY__SECRET_HEX)"
            );
        }
        Ok(())
    }

    /// The treasury's signer.
    pub fn treasury_signer(&self) -> anyhow::Result<dgcm_chain::wallet::Signer> {
        use dgcm_chain::wallet::Signer;
        match (&self.treasury.secret_file, &self.treasury.secret_hex) {
            (Some(f), _) => {
                Signer::load(f).map_err(|e| anyhow::anyhow!("treasury.secret_file: {e}"))
            }
            (None, Some(h)) => {
                Signer::from_secret_hex(h).map_err(|e| anyhow::anyhow!("treasury.secret_hex: {e}"))
            }
            (None, None) => anyhow::bail!("treasury: no key configured"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_section_parses_and_errors_name_the_field() {
        let dir = std::env::temp_dir().join(format!("dgcm-onramp-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("onramp.toml");
        std::fs::write(
            &f,
            "[onramp]\nlisten = \"127.0.0.1:7001\"\nquote_ttl = \"2m\"\nnetwork = \"mainnet\"\n\
             [onramp.limits]\nmax_order_cents = 5000\n[onramp.provider]\nauto_refund = true\n",
        )
        .unwrap();
        let c = OnrampConfig::load(Some(&f)).unwrap();
        assert_eq!(c.listen.port(), 7001);
        assert_eq!(c.quote_ttl, Duration::from_secs(120));
        assert_eq!(c.network, NetworkPrefix::Mainnet);
        assert_eq!(c.limits.max_order_cents, 5000);
        assert_eq!(c.limits.min_order_cents, 500);
        assert!(c.provider.auto_refund);

        std::fs::write(&f, "[onramp]\nquote_ttl = \"soon\"\n").unwrap();
        let e = format!("{:#}", OnrampConfig::load(Some(&f)).unwrap_err());
        assert!(e.contains("quote_ttl") || e.contains("soon"), "{e}");
        std::fs::write(&f, "[onramp]\nlistn = \"x\"\n").unwrap();
        let e = format!("{:#}", OnrampConfig::load(Some(&f)).unwrap_err());
        assert!(e.contains("listn"), "{e}");
        std::fs::write(&f, "[onramp.assets]\nsigusd_id = \"abcd\"\n").unwrap();
        let e = format!("{:#}", OnrampConfig::load(Some(&f)).unwrap_err());
        assert!(e.contains("2 bytes"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn deployment_file_gives_the_assets_and_network_and_keys_still_win() {
        let dir = std::env::temp_dir().join(format!("dgcm-onramp-dep-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dep = dir.join("deployment.json");
        let mut d = Deployment::devnet_default();
        d.params.gpuc_id = dgcm_contracts::util::token_id([6; 32]);
        d.params.sigusd_id = dgcm_contracts::util::token_id([7; 32]);
        d.params.oracle_pool_nft = dgcm_contracts::util::token_id([8; 32]);
        d.params.gpuc_price_cents = 120;
        d.network = NetworkPrefix::Mainnet;
        d.save(&dep).unwrap();
        let f = dir.join("onramp.toml");

        // [onramp] deployment
        std::fs::write(
            &f,
            format!("[onramp]\ndeployment = {:?}\n", dep.display().to_string()),
        )
        .unwrap();
        let c = OnrampConfig::load(Some(&f)).unwrap();
        assert_eq!(c.deployment.as_deref(), Some(dep.as_path()));
        assert_eq!(c.assets.gpuc_id, d.params.gpuc_id);
        assert_eq!(c.assets.sigusd_id, d.params.sigusd_id);
        assert_eq!(c.assets.oracle_pool_nft, d.params.oracle_pool_nft);
        assert_eq!(c.assets.gpuc_price_cents, 120);
        assert_eq!(c.network, NetworkPrefix::Mainnet);
        assert_eq!(c.assets.token_box_nanoerg, 1_000_000, "default kept");

        // explicit keys beat the deployment; --deployment without the setting
        std::fs::write(
            &f,
            "[onramp]\nnetwork = \"testnet\"\n[onramp.assets]\ngpuc_price_cents = 99\n",
        )
        .unwrap();
        let c = OnrampConfig::load_with_deployment(Some(&f), Some(&dep)).unwrap();
        assert_eq!(c.network, NetworkPrefix::Testnet);
        assert_eq!(c.assets.gpuc_price_cents, 99);
        assert_eq!(c.assets.gpuc_id, d.params.gpuc_id);
        // without one: the devnet's
        let c = OnrampConfig::load(Some(&f)).unwrap();
        assert_eq!(c.assets.gpuc_id, ProtocolParams::devnet_default().gpuc_id);
        assert!(c.deployment.is_none());

        // bad files: the setting (or flag), the file and the reason
        std::fs::write(
            &f,
            format!(
                "[onramp]\ndeployment = {:?}\n",
                dir.join("missing.json").display().to_string()
            ),
        )
        .unwrap();
        let e = format!("{:#}", OnrampConfig::load(Some(&f)).unwrap_err());
        assert!(
            e.starts_with("onramp.deployment: ") && e.contains("missing.json"),
            "{e}"
        );
        std::fs::write(&dep, "{\"network\": 1}").unwrap();
        let e = format!(
            "{:#}",
            OnrampConfig::load_with_deployment(None, Some(&dep)).unwrap_err()
        );
        assert!(
            e.starts_with("--deployment") && e.contains("not a deployment file"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn secrets_are_redacted() {
        let mut c = OnrampConfig::default();
        c.treasury.secret_hex = Some("11".repeat(32));
        c.provider.webhook_secret = "whsec_topsecret".into();
        let s = format!("{c:?}");
        assert!(
            !s.contains(&"11".repeat(32)) && !s.contains("topsecret"),
            "{s}"
        );
    }

    #[test]
    fn validation_names_the_setting() {
        let mut c = OnrampConfig::default();
        let e = c.validate().unwrap_err().to_string();
        assert!(e.starts_with("treasury"), "{e}");
        c.treasury.secret_hex = Some("11".repeat(32));
        c.validate().unwrap();
        c.fees.percent_bps = 10_000;
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .starts_with("fees.percent_bps"));
    }
}
