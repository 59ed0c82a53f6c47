//! A deployment: the protocol parameters every tree is built from (token ids, committee, numbers)
//! and the network its addresses use, as a JSON file that `dgcm tx deploy-vault` writes and every
//! other service reads.
//!
//! Why a file: the GPUC, membership and vault NFT token ids of a real deployment are the ids of
//! the first input box of the transactions that mint them, so they are known only after the
//! deployment transactions exist. [`ProtocolParams::devnet_default`] derives them from names
//! instead; no transaction can mint those ids, so that deployment exists only where a chain
//! starts with it: the devnet's genesis carries its LETS vault, SigUSD, GPUC and oracle pool.

use std::path::Path;

use dgcm_contracts::{Contracts, ProtocolParams};
use ergo_lib::ergo_chain_types::EcPoint;
use ergo_lib::ergotree_ir::chain::address::NetworkPrefix;
use ergo_lib::ergotree_ir::chain::token::TokenId;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TxError};
use crate::input::hex_id;

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
    /// The transactions that created this deployment (informational).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deploy_txs: Vec<String>,
    /// The vault box right after deployment (informational: the vault moves with every flow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_box_id: Option<String>,
}

/// A deployment: parameters, the network of its addresses, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub params: ProtocolParams,
    pub network: NetworkPrefix,
    pub deploy_txs: Vec<String>,
    pub vault_box_id: Option<String>,
}

pub(crate) fn network_name(n: NetworkPrefix) -> &'static str {
    match n {
        NetworkPrefix::Mainnet => "mainnet",
        NetworkPrefix::Testnet => "testnet",
    }
}

pub fn parse_network(field: &'static str, s: &str) -> Result<NetworkPrefix> {
    match s {
        "mainnet" => Ok(NetworkPrefix::Mainnet),
        "testnet" | "devnet" => Ok(NetworkPrefix::Testnet),
        other => Err(TxError::input(
            field,
            format!("{other:?} is neither mainnet nor testnet"),
        )),
    }
}

impl Deployment {
    /// [`ProtocolParams::devnet_default`] with testnet addresses: what `dgcm index --protocol
    /// devnet` decodes with, and what the devnet's genesis deploys (its LETS vault included).
    pub fn devnet_default() -> Deployment {
        Deployment {
            params: ProtocolParams::devnet_default(),
            network: NetworkPrefix::Testnet,
            deploy_txs: vec![],
            vault_box_id: None,
        }
    }

    /// Every tree of this deployment.
    pub fn contracts(&self) -> Result<Contracts> {
        Contracts::new(self.params.clone()).map_err(|e| TxError::Deployment(e.to_string()))
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
            deploy_txs: self.deploy_txs.clone(),
            vault_box_id: self.vault_box_id.clone(),
        }
    }

    pub fn from_file(f: &DeploymentFile) -> Result<Deployment> {
        let id = |field: &'static str, s: &str| -> Result<TokenId> {
            crate::input::token_id(field, s).map_err(|e| TxError::Deployment(e.to_string()))
        };
        let committee = f
            .arb_committee
            .iter()
            .map(|k| {
                EcPoint::from_base16_str(k.clone()).ok_or_else(|| {
                    TxError::Deployment(format!(
                        "arb_committee: {k:?} is not a compressed group element"
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let params = ProtocolParams {
            gpuc_id: id("gpuc_id", &f.gpuc_id)?,
            membership_id: id("membership_id", &f.membership_id)?,
            vault_nft: id("vault_nft", &f.vault_nft)?,
            oracle_pool_nft: id("oracle_pool_nft", &f.oracle_pool_nft)?,
            sigusd_id: id("sigusd_id", &f.sigusd_id)?,
            arb_committee: committee,
            arb_k: f.arb_k,
            challenge_window: f.challenge_window,
            arb_timeout: f.arb_timeout,
            deadline_grace: f.deadline_grace,
            gpuc_price_cents: f.gpuc_price_cents,
            collateral_ratio_pct: f.collateral_ratio_pct,
            liq_payout_pct: f.liq_payout_pct,
            max_relay_fee: f.max_relay_fee,
        };
        // Contracts::new checks the numbers.
        Contracts::new(params.clone()).map_err(|e| TxError::Deployment(e.to_string()))?;
        Ok(Deployment {
            params,
            network: parse_network("network", &f.network)
                .map_err(|e| TxError::Deployment(e.to_string()))?,
            deploy_txs: f.deploy_txs.clone(),
            vault_box_id: f.vault_box_id.clone(),
        })
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self.to_file()).unwrap_or(serde_json::Value::Null)
    }

    pub fn from_json(v: &serde_json::Value) -> Result<Deployment> {
        let f: DeploymentFile = serde_json::from_value(v.clone())
            .map_err(|e| TxError::Deployment(format!("not a deployment file: {e}")))?;
        Deployment::from_file(&f)
    }

    /// Reads a deployment file written by `dgcm tx deploy-vault`.
    pub fn load(path: &Path) -> Result<Deployment> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| TxError::Deployment(format!("{}: {e}", path.display())))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| TxError::Deployment(format!("{}: not JSON: {e}", path.display())))?;
        Deployment::from_json(&v)
            .map_err(|e| TxError::Deployment(format!("{}: {e}", path.display())))
    }

    /// Writes the file (pretty JSON).
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(&self.to_file())
            .map_err(|e| TxError::Deployment(e.to_string()))?;
        std::fs::write(path, text + "\n")
            .map_err(|e| TxError::Deployment(format!("{}: {e}", path.display())))
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
        f.arb_k = 5;
        let e = Deployment::from_file(&f).unwrap_err().to_string();
        assert!(e.contains("arb_k"), "{e}");
        let mut v = d.to_json();
        v["surprise"] = serde_json::json!(1);
        assert!(Deployment::from_json(&v)
            .unwrap_err()
            .to_string()
            .contains("unknown field"));
    }
}
