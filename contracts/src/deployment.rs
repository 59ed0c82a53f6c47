//! A deployment: the protocol parameters every tree is built from (token ids, committee, numbers)
//! and the network its addresses use, as a JSON file that `dgcm tx deploy-vault` writes and every
//! service reads (`dgcm tx --deployment`, `dgcm index --protocol FILE`, `dgcm api --deployment`,
//! `dgcm bot --deployment`, `[worker] deployment`, `[onramp] deployment`; `DGCM_DEPLOYMENT`).
//!
//! Why a file: the GPUC, membership and vault NFT token ids of a real deployment are the ids of
//! the first input box of the transactions that mint them, so they are known only after the
//! deployment transactions exist. [`ProtocolParams::devnet_default`] derives them from names
//! instead; no transaction can mint those ids, so that deployment exists only where a chain
//! starts with it: the devnet's genesis carries its LETS vault, SigUSD, GPUC and oracle pool.
//!
//! The only I/O here is reading and writing that one file ([`Deployment::load`],
//! [`Deployment::save`]).

use std::path::{Path, PathBuf};

use ergo_lib::ergo_chain_types::{Digest32, EcPoint};
use ergo_lib::ergotree_ir::chain::address::NetworkPrefix;
use ergo_lib::ergotree_ir::chain::token::TokenId;
use serde::{Deserialize, Serialize};

use crate::trees::{CollateralAsset, Contracts, ProtocolParams, TreeError};

/// Why a deployment file cannot be read, written or used. The message names the file (when
/// there is one), the field and the reason.
#[derive(Debug, thiserror::Error)]
pub enum DeploymentError {
    /// The file cannot be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Not JSON, or JSON that is not a deployment file (a missing or unknown field, a wrong
    /// type).
    #[error("{}{reason}", in_file(path))]
    Format {
        path: Option<PathBuf>,
        reason: String,
    },
    /// A field holds a malformed value, or a number the contracts refuse.
    #[error("{}{field}: {reason}", in_file(path))]
    Field {
        path: Option<PathBuf>,
        field: &'static str,
        reason: String,
    },
}

fn in_file(path: &Option<PathBuf>) -> String {
    match path {
        Some(p) => format!("{}: ", p.display()),
        None => String::new(),
    }
}

impl DeploymentError {
    fn field(field: &'static str, reason: impl Into<String>) -> DeploymentError {
        DeploymentError::Field {
            path: None,
            field,
            reason: reason.into(),
        }
    }

    /// The same error, said of the file at `file`.
    fn in_file(self, file: &Path) -> DeploymentError {
        match self {
            DeploymentError::Format { reason, .. } => DeploymentError::Format {
                path: Some(file.to_path_buf()),
                reason,
            },
            DeploymentError::Field { field, reason, .. } => DeploymentError::Field {
                path: Some(file.to_path_buf()),
                field,
                reason,
            },
            io @ DeploymentError::Io { .. } => io,
        }
    }
}

/// The file form of a deployment (ids in hex, committee keys as 33-byte compressed points).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentFile {
    /// `mainnet` or `testnet` (the devnet uses testnet addresses).
    pub network: String,
    pub gpuc_id: String,
    pub membership_id: String,
    pub vault_nft: String,
    pub oracle_pool_nft: String,
    pub sigusd_id: String,
    pub arb_committee: Vec<String>,
    pub arb_k: i32,
    pub challenge_window: i64,
    pub arb_timeout: i64,
    pub deadline_grace: i64,
    pub gpuc_price_cents: i64,
    pub collateral_ratio_pct: i64,
    pub liq_payout_pct: i64,
    pub max_relay_fee: i64,
    /// Blocks after which an oracle pool box prices nothing (absent in v1 files: the real-network
    /// default, 720).
    #[serde(default = "default_oracle_max_age")]
    pub oracle_max_age: i32,
    /// The collateral assets a member may hold beside ERG (absent in early v2 files: SigUSD alone,
    /// priced by the ERG/USD pool).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collateral: Option<Vec<AssetFile>>,
    /// The vault credits a stablecoin only while its pool prices it at this % of $1 or more
    /// (absent: 98).
    #[serde(default = "default_credit_peg_floor_pct")]
    pub credit_peg_floor_pct: i64,
    /// The transactions that created this deployment (informational).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deploy_txs: Vec<String>,
    /// The vault box right after deployment (informational: the vault moves with every flow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_box_id: Option<String>,
}

/// One listed collateral asset in the file (see [`CollateralAsset`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetFile {
    pub name: String,
    pub token_id: String,
    /// NFT of the oracle pool box whose `R4: Long` is nanoERG per whole token.
    pub pool_nft: String,
    pub decimals: u8,
    /// % of the asset's value that counts for borrowing (1..=100).
    pub factor_pct: i64,
    /// Blocks after which its pool box prices nothing.
    pub max_age: i32,
    /// Least a top-up by anyone adds, in base units.
    pub min_top_up: u64,
    /// % of its oracle value the vault credits in GPUC when it takes the asset (stable assets
    /// such as rsUSDT: 100); 0 or absent = the vault does not take it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub credit_pct: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

impl AssetFile {
    /// The asset, its ids checked (errors name `collateral.<field>`).
    pub fn to_asset(&self) -> Result<CollateralAsset, DeploymentError> {
        Ok(CollateralAsset {
            name: self.name.clone(),
            token_id: token_id("collateral.token_id", &self.token_id)?,
            pool_nft: token_id("collateral.pool_nft", &self.pool_nft)?,
            decimals: self.decimals,
            factor_pct: self.factor_pct,
            max_age: self.max_age,
            min_top_up: self.min_top_up,
            credit_pct: self.credit_pct,
        })
    }
}

fn default_credit_peg_floor_pct() -> i64 {
    crate::trees::CREDIT_PEG_FLOOR_PCT_DEFAULT
}

fn default_oracle_max_age() -> i32 {
    crate::trees::ORACLE_MAX_AGE_DEFAULT
}

/// A deployment: parameters, the network of its addresses, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub params: ProtocolParams,
    pub network: NetworkPrefix,
    pub deploy_txs: Vec<String>,
    pub vault_box_id: Option<String>,
}

/// `mainnet` or `testnet`.
pub fn network_name(n: NetworkPrefix) -> &'static str {
    match n {
        NetworkPrefix::Mainnet => "mainnet",
        NetworkPrefix::Testnet => "testnet",
    }
}

/// `mainnet`, or `testnet` (also `devnet`: the devnet uses testnet addresses). Errors name
/// `field`.
pub fn parse_network(field: &'static str, s: &str) -> Result<NetworkPrefix, DeploymentError> {
    match s {
        "mainnet" => Ok(NetworkPrefix::Mainnet),
        "testnet" | "devnet" => Ok(NetworkPrefix::Testnet),
        other => Err(DeploymentError::field(
            field,
            format!("{other:?} is neither mainnet nor testnet"),
        )),
    }
}

/// A 32-byte id as 64 hex characters.
fn token_id(field: &'static str, text: &str) -> Result<TokenId, DeploymentError> {
    let t = text.trim();
    let bytes = hex::decode(t)
        .map_err(|e| DeploymentError::field(field, format!("{t:?} is not hex ({e})")))?;
    let a: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
        DeploymentError::field(
            field,
            format!("{} bytes, expected 32 (64 hex characters)", b.len()),
        )
    })?;
    Ok(TokenId::from(Digest32::from(a)))
}

fn hex_id(id: &TokenId) -> String {
    hex::encode(id.as_ref())
}

/// A [`TreeError`] of [`Contracts::new`] as a deployment error (parameter errors name the field).
fn tree_error(e: TreeError) -> DeploymentError {
    match e {
        TreeError::Param(field, reason) => DeploymentError::field(field, reason),
        other => DeploymentError::Format {
            path: None,
            reason: format!("the contracts cannot be built from it: {other}"),
        },
    }
}

impl Deployment {
    /// [`ProtocolParams::devnet_default`] with testnet addresses: what every service uses
    /// without a deployment file (`dgcm index --protocol devnet`), and what the devnet's genesis
    /// deploys (its LETS vault included).
    pub fn devnet_default() -> Deployment {
        Deployment {
            params: ProtocolParams::devnet_default(),
            network: NetworkPrefix::Testnet,
            deploy_txs: vec![],
            vault_box_id: None,
        }
    }

    /// Every tree of this deployment.
    pub fn contracts(&self) -> Result<Contracts, DeploymentError> {
        Contracts::new(self.params.clone()).map_err(tree_error)
    }

    pub fn to_file(&self) -> DeploymentFile {
        let p = &self.params;
        DeploymentFile {
            network: network_name(self.network).into(),
            gpuc_id: hex_id(&p.gpuc_id),
            membership_id: hex_id(&p.membership_id),
            vault_nft: hex_id(&p.vault_nft),
            oracle_pool_nft: hex_id(&p.oracle_pool_nft),
            sigusd_id: hex_id(&p.sigusd_id),
            arb_committee: p
                .arb_committee
                .iter()
                .map(|k| String::from(k.clone()))
                .collect(),
            arb_k: p.arb_k,
            challenge_window: p.challenge_window,
            arb_timeout: p.arb_timeout,
            deadline_grace: p.deadline_grace,
            gpuc_price_cents: p.gpuc_price_cents,
            collateral_ratio_pct: p.collateral_ratio_pct,
            liq_payout_pct: p.liq_payout_pct,
            max_relay_fee: p.max_relay_fee,
            oracle_max_age: p.oracle_max_age,
            credit_peg_floor_pct: p.credit_peg_floor_pct,
            collateral: Some(
                p.collateral
                    .iter()
                    .map(|a| AssetFile {
                        name: a.name.clone(),
                        token_id: hex_id(&a.token_id),
                        pool_nft: hex_id(&a.pool_nft),
                        decimals: a.decimals,
                        factor_pct: a.factor_pct,
                        max_age: a.max_age,
                        min_top_up: a.min_top_up,
                        credit_pct: a.credit_pct,
                    })
                    .collect(),
            ),
            deploy_txs: self.deploy_txs.clone(),
            vault_box_id: self.vault_box_id.clone(),
        }
    }

    /// Checks every field (ids, committee keys, network, and the numbers as the contracts do).
    pub fn from_file(f: &DeploymentFile) -> Result<Deployment, DeploymentError> {
        let committee = f
            .arb_committee
            .iter()
            .map(|k| {
                EcPoint::from_base16_str(k.clone()).ok_or_else(|| {
                    DeploymentError::field(
                        "arb_committee",
                        format!("{k:?} is not a compressed group element"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let oracle_pool_nft = token_id("oracle_pool_nft", &f.oracle_pool_nft)?;
        let sigusd_id = token_id("sigusd_id", &f.sigusd_id)?;
        let collateral = match &f.collateral {
            None => vec![CollateralAsset {
                name: "SigUSD".into(),
                token_id: sigusd_id,
                pool_nft: oracle_pool_nft,
                decimals: 2,
                factor_pct: 100,
                max_age: f.oracle_max_age,
                min_top_up: 100,
                credit_pct: 0,
            }],
            Some(list) => list
                .iter()
                .map(AssetFile::to_asset)
                .collect::<Result<Vec<_>, DeploymentError>>()?,
        };
        let params = ProtocolParams {
            gpuc_id: token_id("gpuc_id", &f.gpuc_id)?,
            membership_id: token_id("membership_id", &f.membership_id)?,
            vault_nft: token_id("vault_nft", &f.vault_nft)?,
            oracle_pool_nft,
            sigusd_id,
            arb_committee: committee,
            arb_k: f.arb_k,
            challenge_window: f.challenge_window,
            arb_timeout: f.arb_timeout,
            deadline_grace: f.deadline_grace,
            gpuc_price_cents: f.gpuc_price_cents,
            collateral_ratio_pct: f.collateral_ratio_pct,
            liq_payout_pct: f.liq_payout_pct,
            max_relay_fee: f.max_relay_fee,
            oracle_max_age: f.oracle_max_age,
            collateral,
            credit_peg_floor_pct: f.credit_peg_floor_pct,
        };
        let network = parse_network("network", &f.network)?;
        let d = Deployment {
            params,
            network,
            deploy_txs: f.deploy_txs.clone(),
            vault_box_id: f.vault_box_id.clone(),
        };
        // Contracts::new checks the numbers.
        d.contracts()?;
        Ok(d)
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self.to_file()).unwrap_or(serde_json::Value::Null)
    }

    pub fn from_json(v: &serde_json::Value) -> Result<Deployment, DeploymentError> {
        let f: DeploymentFile =
            serde_json::from_value(v.clone()).map_err(|e| DeploymentError::Format {
                path: None,
                reason: format!("not a deployment file: {e}"),
            })?;
        Deployment::from_file(&f)
    }

    /// Reads a deployment file written by `dgcm tx deploy-vault` (or [`Deployment::save`]).
    pub fn load(path: &Path) -> Result<Deployment, DeploymentError> {
        let text = std::fs::read_to_string(path).map_err(|source| DeploymentError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| DeploymentError::Format {
                path: Some(path.to_path_buf()),
                reason: format!("not JSON: {e}"),
            })?;
        Deployment::from_json(&v).map_err(|e| e.in_file(path))
    }

    /// Writes the file (pretty JSON and a newline).
    pub fn save(&self, path: &Path) -> Result<(), DeploymentError> {
        let text =
            serde_json::to_string_pretty(&self.to_file()).map_err(|e| DeploymentError::Format {
                path: Some(path.to_path_buf()),
                reason: e.to_string(),
            })?;
        std::fs::write(path, text + "\n").map_err(|source| DeploymentError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_file_roundtrip_and_errors() {
        let d = Deployment::devnet_default();
        let back = Deployment::from_json(&d.to_json()).unwrap();
        assert_eq!(back, d);
        let mut f = d.to_file();
        f.gpuc_id = "zz".into();
        let e = Deployment::from_file(&f).unwrap_err().to_string();
        assert!(e.contains("gpuc_id") && e.contains("not hex"), "{e}");
        let mut f = d.to_file();
        f.sigusd_id = "ab".into();
        let e = Deployment::from_file(&f).unwrap_err().to_string();
        assert!(e.starts_with("sigusd_id: 1 bytes, expected 32"), "{e}");
        let mut f = d.to_file();
        f.arb_k = 5;
        let e = Deployment::from_file(&f).unwrap_err().to_string();
        assert!(e.contains("arb_k"), "{e}");
        let mut f = d.to_file();
        f.network = "moonnet".into();
        let e = Deployment::from_file(&f).unwrap_err().to_string();
        assert!(e.starts_with("network:") && e.contains("moonnet"), "{e}");
        let mut v = d.to_json();
        v["surprise"] = serde_json::json!(1);
        assert!(Deployment::from_json(&v)
            .unwrap_err()
            .to_string()
            .contains("unknown field"));
    }

    #[test]
    fn file_round_trip_and_bad_files_name_the_file_and_the_reason() {
        let dir = std::env::temp_dir().join(format!("dgcm-deployment-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("deployment.json");
        let mut d = Deployment::devnet_default();
        d.network = NetworkPrefix::Mainnet;
        d.deploy_txs = vec!["aa".repeat(32)];
        d.vault_box_id = Some("bb".repeat(32));
        d.save(&path).unwrap();
        assert_eq!(Deployment::load(&path).unwrap(), d);
        // the file format: pretty JSON of DeploymentFile, one trailing newline
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            serde_json::to_string_pretty(&d.to_file()).unwrap() + "\n"
        );
        assert!(text.starts_with("{\n  \"network\": \"mainnet\",\n  \"gpuc_id\": \""));
        // informational fields are left out when empty
        Deployment::devnet_default().save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("deploy_txs") && !text.contains("vault_box_id"));

        let missing = dir.join("missing.json");
        let e = Deployment::load(&missing).unwrap_err();
        assert!(matches!(e, DeploymentError::Io { .. }), "{e:?}");
        assert!(e.to_string().starts_with(&missing.display().to_string()));

        std::fs::write(&path, "{ not json").unwrap();
        let e = Deployment::load(&path).unwrap_err().to_string();
        assert!(e.contains("deployment.json: not JSON"), "{e}");

        std::fs::write(&path, "{}").unwrap();
        let e = Deployment::load(&path).unwrap_err().to_string();
        assert!(
            e.contains("deployment.json: not a deployment file: missing field"),
            "{e}"
        );

        let mut f = Deployment::devnet_default().to_file();
        f.vault_nft = "00".into();
        std::fs::write(&path, serde_json::to_string(&f).unwrap()).unwrap();
        let e = Deployment::load(&path).unwrap_err().to_string();
        assert!(e.contains("deployment.json: vault_nft: 1 bytes"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
