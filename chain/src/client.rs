//! Async client for the Ergo node REST API.
//!
//! Why not `ergo-node-interface`: it pins ergo-lib 0.23 and blocking reqwest 0.11 (a new client
//! per call, no timeout); mixed with ergo-lib 0.28 it duplicates every sigma crate and its boxes
//! do not type-check against ours. This client covers the endpoints the suite uses, with one
//! connection pool, timeouts, retries with backoff on transport errors, an optional `api_key`, and
//! errors that keep the node's own message.

use std::time::Duration;

use ergo_lib::chain::ergo_state_context::ErgoStateContext;
use ergo_lib::chain::parameters::Parameters;
use ergo_lib::chain::transaction::{Transaction, TxId};
use ergo_lib::ergo_chain_types::{ec_point, BlockId, Digest32, Header, PreHeader, Votes};
use ergo_lib::ergotree_ir::chain::ergo_box::{BoxId, ErgoBox};
use ergo_lib::ergotree_ir::chain::token::TokenId;
use ergo_lib::ergotree_ir::ergo_tree::ErgoTree;
use ergo_lib::ergotree_ir::serialization::SigmaSerializable;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::types::{ApiError, FullBlock, NodeInfo, ScanId, ScanRequest};

/// How to reach a node.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Base URL, e.g. `http://127.0.0.1:9053`.
    pub url: String,
    /// Sent as the `api_key` header (needed by `/scan/*` on a real node).
    pub api_key: Option<String>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Extra attempts after a transport error (connection refused, reset, timeout).
    pub retries: u32,
    /// First backoff delay; doubles per attempt, capped at 5 s.
    pub backoff: Duration,
}

impl ClientConfig {
    pub fn new(url: impl Into<String>) -> Self {
        ClientConfig {
            url: url.into(),
            api_key: None,
            timeout: Duration::from_secs(30),
            retries: 3,
            backoff: Duration::from_millis(200),
        }
    }
}

/// Errors from the node client. `Api` keeps the node's `ApiError` so callers can tell a lost race
/// ("Double spending attempt") from a bug.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("node unreachable ({url}): {source}")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("node answered HTTP {status} for {url}: {} ({})", .error.reason, .error.detail.as_deref().unwrap_or("no detail"))]
    Api {
        url: String,
        status: u16,
        error: ApiError,
    },
    #[error("unexpected reply from {url}: {reason}")]
    Decode { url: String, reason: String },
    #[error("invalid node URL {0:?}")]
    BadUrl(String),
}

impl NodeError {
    /// 404: the thing asked for is not (yet) known to the node.
    pub fn is_not_found(&self) -> bool {
        matches!(self, NodeError::Api { status: 404, .. })
    }

    /// True when the node already holds this very transaction in its mempool (a resubmission):
    /// the submission has, in effect, succeeded.
    pub fn is_already_in_mempool(&self) -> bool {
        match self {
            NodeError::Api { error, .. } => {
                let text = format!("{} {}", error.reason, error.detail.as_deref().unwrap_or(""));
                text.contains("already in the mempool")
            }
            _ => false,
        }
    }

    /// True for replies that mean another transaction spent the inputs first — normal for bots.
    pub fn is_lost_race(&self) -> bool {
        match self {
            NodeError::Api { error, .. } => {
                let text = format!("{} {}", error.reason, error.detail.as_deref().unwrap_or(""));
                [
                    "Double spending attempt",
                    "already in the mempool",
                    "Missing inputs",
                    "Not enough boxes",
                ]
                .iter()
                .any(|needle| text.contains(needle))
            }
            _ => false,
        }
    }
}

/// Async node client; cheap to clone (one shared connection pool).
#[derive(Debug, Clone)]
pub struct NodeClient {
    http: reqwest::Client,
    base: String,
    config: ClientConfig,
}

impl NodeClient {
    pub fn new(config: ClientConfig) -> Result<Self, NodeError> {
        let base = config.url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(NodeError::BadUrl(config.url.clone()));
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(Duration::from_secs(5).min(config.timeout))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|source| NodeError::Transport {
                url: base.clone(),
                source,
            })?;
        Ok(NodeClient { http, base, config })
    }

    /// Client for `url` with default timeouts and retries.
    pub fn connect(url: impl Into<String>) -> Result<Self, NodeError> {
        Self::new(ClientConfig::new(url))
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    async fn request<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, NodeError> {
        let url = format!("{}{}", self.base, path);
        let mut attempt = 0;
        loop {
            let mut req = self.http.request(method.clone(), &url);
            if let Some(key) = &self.config.api_key {
                req = req.header("api_key", key);
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            match req.send().await {
                Ok(resp) => return decode(&url, resp).await,
                Err(source) if attempt < self.config.retries => {
                    let delay = self
                        .config
                        .backoff
                        .saturating_mul(1 << attempt.min(5))
                        .min(Duration::from_secs(5));
                    tracing::debug!(%url, attempt, ?delay, error = %source, "node request failed, retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Err(source) => return Err(NodeError::Transport { url, source }),
            }
        }
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, NodeError> {
        self.request::<(), T>(Method::GET, path, None).await
    }

    async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, NodeError> {
        self.request(Method::POST, path, Some(body)).await
    }

    /// `GET /info`.
    pub async fn info(&self) -> Result<NodeInfo, NodeError> {
        self.get("/info").await
    }

    /// `GET /blocks/at/{h}`: header ids at height `h`, best chain first.
    pub async fn block_ids_at(&self, height: u32) -> Result<Vec<BlockId>, NodeError> {
        self.get(&format!("/blocks/at/{height}")).await
    }

    /// `GET /blocks/{id}`.
    pub async fn block(&self, id: &BlockId) -> Result<FullBlock, NodeError> {
        self.get(&format!("/blocks/{}", block_hex(id))).await
    }

    /// `POST /blocks/headerIds`: full blocks in one round trip (unknown ids are skipped by the node).
    pub async fn blocks(&self, ids: &[BlockId]) -> Result<Vec<FullBlock>, NodeError> {
        let ids: Vec<String> = ids.iter().map(block_hex).collect();
        self.post("/blocks/headerIds", &ids).await
    }

    /// `GET /blocks/lastHeaders/{n}` (oldest first, as the node answers).
    pub async fn last_headers(&self, n: u32) -> Result<Vec<Header>, NodeError> {
        self.get(&format!("/blocks/lastHeaders/{n}")).await
    }

    /// `POST /transactions`: submit to the mempool; returns the transaction id.
    pub async fn submit_transaction(&self, tx: &Transaction) -> Result<TxId, NodeError> {
        let id: String = self.post("/transactions", tx).await?;
        parse_id(&self.base, &id)
    }

    /// `POST /transactions/check`: validate without submitting.
    pub async fn check_transaction(&self, tx: &Transaction) -> Result<TxId, NodeError> {
        let id: String = self.post("/transactions/check", tx).await?;
        parse_id(&self.base, &id)
    }

    /// `GET /transactions/unconfirmed?offset&limit`.
    pub async fn unconfirmed_transactions(
        &self,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<Transaction>, NodeError> {
        self.get(&format!(
            "/transactions/unconfirmed?offset={offset}&limit={limit}"
        ))
        .await
    }

    /// `GET /transactions/unconfirmed/byTransactionId/{id}`; `None` when not in the mempool.
    pub async fn unconfirmed_transaction(
        &self,
        id: &TxId,
    ) -> Result<Option<Transaction>, NodeError> {
        optional(
            self.get(&format!(
                "/transactions/unconfirmed/byTransactionId/{}",
                hex_id(id)
            ))
            .await,
        )
    }

    /// `GET /transactions/unconfirmed/outputs/byTokenId/{id}`.
    pub async fn unconfirmed_outputs_by_token(
        &self,
        token: &TokenId,
    ) -> Result<Vec<ErgoBox>, NodeError> {
        self.get(&format!(
            "/transactions/unconfirmed/outputs/byTokenId/{}",
            hex_id(token)
        ))
        .await
    }

    /// `GET /transactions/unconfirmed/inputs/byBoxId/{id}`: the mempool input spending a box, if any.
    pub async fn unconfirmed_input_by_box(
        &self,
        id: &BoxId,
    ) -> Result<Option<serde_json::Value>, NodeError> {
        optional(
            self.get(&format!(
                "/transactions/unconfirmed/inputs/byBoxId/{}",
                hex_id(id)
            ))
            .await,
        )
    }

    /// `GET /utxo/byId/{id}`: confirmed unspent box; `None` when spent or unknown.
    pub async fn unspent_box(&self, id: &BoxId) -> Result<Option<ErgoBox>, NodeError> {
        optional(self.get(&format!("/utxo/byId/{}", hex_id(id))).await)
    }

    /// `GET /utxo/withPool/byId/{id}`: like [`Self::unspent_box`] but sees mempool outputs too.
    pub async fn unspent_box_with_pool(&self, id: &BoxId) -> Result<Option<ErgoBox>, NodeError> {
        optional(
            self.get(&format!("/utxo/withPool/byId/{}", hex_id(id)))
                .await,
        )
    }

    /// `GET /utxo/genesis`: the boxes that exist before block 1.
    pub async fn genesis_boxes(&self) -> Result<Vec<ErgoBox>, NodeError> {
        self.get("/utxo/genesis").await
    }

    /// `POST /scan/register` (EIP-1).
    pub async fn register_scan(&self, scan: &ScanRequest) -> Result<i32, NodeError> {
        let id: ScanId = self.post("/scan/register", scan).await?;
        Ok(id.scan_id)
    }

    /// `GET /scan/unspentBoxes/{id}`: the boxes tracked by a scan.
    pub async fn scan_unspent_boxes(&self, scan_id: i32) -> Result<Vec<ErgoBox>, NodeError> {
        #[derive(serde::Deserialize)]
        struct WalletBox {
            #[serde(rename = "box")]
            ergo_box: ErgoBox,
        }
        let boxes: Vec<WalletBox> = self.get(&format!("/scan/unspentBoxes/{scan_id}")).await?;
        Ok(boxes.into_iter().map(|b| b.ergo_box).collect())
    }

    /// The state context for signing a transaction for the next block: the last ten headers
    /// (newest first; a young chain repeats its oldest) and a pre-header at best height + 1.
    pub async fn state_context(&self) -> Result<ErgoStateContext, NodeError> {
        let mut headers = self.last_headers(10).await?;
        headers.reverse();
        let Some(best) = headers.first().cloned() else {
            return Err(NodeError::Decode {
                url: format!("{}/blocks/lastHeaders/10", self.base),
                reason: "the node has no blocks yet; mine or sync one first".into(),
            });
        };
        while headers.len() < 10 {
            let oldest = headers[headers.len() - 1].clone();
            headers.push(oldest);
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let pre_header = PreHeader {
            version: best.version,
            parent_id: best.id,
            timestamp: now.max(best.timestamp + 1),
            n_bits: best.n_bits,
            height: best.height + 1,
            miner_pk: Box::new(ec_point::generator()),
            votes: Votes([0, 0, 0]),
        };
        let headers: [Header; 10] = headers.try_into().map_err(|_| NodeError::Decode {
            url: format!("{}/blocks/lastHeaders/10", self.base),
            reason: "more than ten headers".into(),
        })?;
        Ok(ErgoStateContext::new(
            pre_header,
            headers,
            Parameters::default(),
        ))
    }

    /// `POST /blockchain/box/unspent/byErgoTree`, every page: the unspent boxes of `tree`
    /// (needs `extraIndex` on a real node). With `include_unconfirmed`, mempool outputs are
    /// added and boxes spent in the mempool left out, so a wallet can chain transactions.
    pub async fn unspent_boxes_by_tree(
        &self,
        tree: &ErgoTree,
        include_unconfirmed: bool,
    ) -> Result<Vec<ErgoBox>, NodeError> {
        #[derive(serde::Deserialize)]
        struct Page {
            items: Vec<ErgoBox>,
        }
        let hex_tree =
            tree.sigma_serialize_bytes()
                .map(hex::encode)
                .map_err(|e| NodeError::Decode {
                    url: self.base.clone(),
                    reason: format!("ergo tree: {e}"),
                })?;
        const LIMIT: usize = 500;
        let mut out = Vec::new();
        loop {
            let page: Result<Page, _> = self
                .post(
                    &format!(
                        "/blockchain/box/unspent/byErgoTree?offset={}&limit={LIMIT}&sortDirection=asc&includeUnconfirmed={include_unconfirmed}&excludeMempoolSpent={include_unconfirmed}",
                        out.len()
                    ),
                    &hex_tree,
                )
                .await;
            let page = match page {
                Ok(p) => p,
                // The node answers 404 when the tree has no unspent box.
                Err(e) if e.is_not_found() => break,
                Err(e) => return Err(e),
            };
            let n = page.items.len();
            out.extend(page.items);
            if n < LIMIT {
                break;
            }
        }
        Ok(out)
    }

    /// `GET /blockchain/box/unspent/byTokenId/{id}` (needs `extraIndex` on a real node).
    pub async fn unspent_boxes_by_token(
        &self,
        token: &TokenId,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<ErgoBox>, NodeError> {
        self.get(&format!(
            "/blockchain/box/unspent/byTokenId/{}?offset={offset}&limit={limit}",
            hex_id(token)
        ))
        .await
    }
}

fn hex_id<T: Into<String> + Clone>(id: &T) -> String {
    id.clone().into()
}

/// Hex of a block id (ergo-lib gives `BlockId` no `Into<String>`).
pub fn block_hex(id: &BlockId) -> String {
    String::from(id.0)
}

fn parse_id(url: &str, id: &str) -> Result<TxId, NodeError> {
    Digest32::try_from(id.to_string())
        .map(TxId::from)
        .map_err(|e| NodeError::Decode {
            url: url.to_string(),
            reason: format!("transaction id {id:?}: {e}"),
        })
}

fn optional<T>(r: Result<T, NodeError>) -> Result<Option<T>, NodeError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

async fn decode<T: DeserializeOwned>(url: &str, resp: reqwest::Response) -> Result<T, NodeError> {
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(|source| NodeError::Transport {
        url: url.to_string(),
        source,
    })?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|e| NodeError::Decode {
            url: url.to_string(),
            reason: e.to_string(),
        });
    }
    let error = serde_json::from_slice::<ApiError>(&bytes).unwrap_or_else(|_| ApiError {
        error: status.as_u16(),
        reason: status
            .canonical_reason()
            .unwrap_or("unknown status")
            .to_string(),
        detail: Some(String::from_utf8_lossy(&bytes).chars().take(500).collect()),
    });
    Err(NodeError::Api {
        url: url.to_string(),
        status: status.as_u16(),
        error,
    })
}
