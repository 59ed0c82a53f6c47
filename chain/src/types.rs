//! JSON shapes of the Ergo node REST API that ergo-lib does not model.
//!
//! Field names follow `ergo-node-openapi.yaml` (node v6). Boxes, transactions and headers inside
//! them are ergo-lib types, so a block parsed here is ready for the contracts' codecs.

use ergo_lib::chain::transaction::Transaction;
use ergo_lib::ergo_chain_types::{BlockId, Header};
use serde::{Deserialize, Serialize};

/// `GET /info` — only the fields the suite reads are typed; the node sends many more.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    pub name: String,
    pub app_version: String,
    /// Height of the best full block; `None` while the node has applied no block.
    pub full_height: Option<u32>,
    pub headers_height: Option<u32>,
    pub best_full_header_id: Option<String>,
    pub best_header_id: Option<String>,
    #[serde(default)]
    pub unconfirmed_count: u32,
    #[serde(default)]
    pub network: Option<String>,
}

/// The error body every node endpoint answers with (`ApiError`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ApiError {
    pub error: u16,
    pub reason: String,
    pub detail: Option<String>,
}

/// `GET /blocks/{id}`: a full block. `adProofs` and `extension` are kept as raw JSON because no
/// consumer of the suite interprets them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FullBlock {
    pub header: Header,
    pub block_transactions: BlockTransactions,
    #[serde(default)]
    pub extension: serde_json::Value,
    #[serde(default)]
    pub ad_proofs: serde_json::Value,
    #[serde(default)]
    pub size: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockTransactions {
    pub header_id: BlockId,
    pub transactions: Vec<Transaction>,
    #[serde(default)]
    pub size: u32,
}

impl FullBlock {
    pub fn id(&self) -> BlockId {
        self.header.id
    }
    pub fn height(&self) -> u32 {
        self.header.height
    }
    pub fn parent_id(&self) -> BlockId {
        self.header.parent_id
    }
    pub fn transactions(&self) -> &[Transaction] {
        &self.block_transactions.transactions
    }

    /// A block made here, not mined (tests, benchmarks): a [`synthetic_header`] on `parent`
    /// two minutes after the previous, carrying `txs`.
    ///
    /// [`synthetic_header`]: crate::header::synthetic_header
    pub fn synthetic(height: u32, parent: BlockId, txs: Vec<Transaction>) -> FullBlock {
        let header = crate::header::synthetic_header(
            height,
            parent,
            1_700_000_000_000 + height as u64 * 120_000,
            ergo_lib::ergo_chain_types::Digest32::zero(),
            [0; 8],
        );
        FullBlock {
            block_transactions: BlockTransactions {
                header_id: header.id,
                transactions: txs,
                size: 0,
            },
            header,
            extension: serde_json::Value::Null,
            ad_proofs: serde_json::Value::Null,
            size: 0,
        }
    }
}

/// `POST /scan/register` body (EIP-1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ScanRequest {
    pub scan_name: String,
    #[serde(default = "default_wallet_interaction")]
    pub wallet_interaction: String,
    #[serde(default = "default_true")]
    pub remove_offchain: bool,
    pub tracking_rule: TrackingRule,
}

fn default_wallet_interaction() -> String {
    "off".into()
}
fn default_true() -> bool {
    true
}

/// EIP-1 tracking rule as the node parses it (`value`, not `bytes`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "predicate", rename_all = "camelCase")]
pub enum TrackingRule {
    ContainsAsset {
        #[serde(rename = "assetId")]
        asset_id: String,
    },
    Contains {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        register: Option<String>,
        value: String,
    },
    Equals {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        register: Option<String>,
        value: String,
    },
    And {
        args: Vec<TrackingRule>,
    },
    Or {
        args: Vec<TrackingRule>,
    },
}

/// `{scanId}` as answered by `/scan/register`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ScanId {
    pub scan_id: i32,
}
