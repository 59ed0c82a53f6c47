//! The devnet's HTTP API: the real node's endpoints (same paths, same JSON) and `/devnet/*`
//! test controls. Every error is the node's `ApiError` JSON; nothing in a request can panic it.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer, ResponseError};
use dgcm_chain::types::{ApiError, ScanRequest};
use ergo_lib::chain::transaction::{Transaction, TxId};
use ergo_lib::ergo_chain_types::{BlockId, Digest32};
use ergo_lib::ergotree_ir::chain::address::{Address, AddressEncoder};
use ergo_lib::ergotree_ir::chain::ergo_box::{BoxId, ErgoBox};
use ergo_lib::ergotree_ir::ergo_tree::ErgoTree;
use ergo_lib::ergotree_ir::serialization::SigmaSerializable;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::state::{tx_json, SubmitError};
use crate::{traffic, Devnet};
use dgcm_chain::scan;

/// Largest request body accepted (a node refuses transactions above ~100 KB anyway).
const MAX_BODY: usize = 2 * 1024 * 1024;

#[derive(Debug)]
pub struct HttpError {
    status: StatusCode,
    reason: String,
    detail: String,
}

impl HttpError {
    pub fn bad_request(detail: impl Into<String>) -> Self {
        HttpError {
            status: StatusCode::BAD_REQUEST,
            reason: "bad.request".into(),
            detail: detail.into(),
        }
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        HttpError {
            status: StatusCode::NOT_FOUND,
            reason: "not-found".into(),
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.reason, self.detail)
    }
}

impl ResponseError for HttpError {
    fn status_code(&self) -> StatusCode {
        self.status
    }
    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(ApiError {
            error: self.status.as_u16(),
            reason: self.reason.clone(),
            detail: Some(self.detail.clone()),
        })
    }
}

impl From<SubmitError> for HttpError {
    fn from(e: SubmitError) -> Self {
        HttpError {
            status: StatusCode::BAD_REQUEST,
            reason: "Malformed transaction".into(),
            detail: e.to_string(),
        }
    }
}

type Reply = Result<HttpResponse, HttpError>;

fn ok(v: impl serde::Serialize) -> Reply {
    Ok(HttpResponse::Ok().json(v))
}

fn parse32(field: &str, s: &str) -> Result<[u8; 32], HttpError> {
    let bytes =
        hex::decode(s).map_err(|e| HttpError::bad_request(format!("{field}: not hex ({e})")))?;
    bytes.try_into().map_err(|b: Vec<u8>| {
        HttpError::bad_request(format!("{field}: expected 32 bytes, got {}", b.len()))
    })
}

fn block_id(s: &str) -> Result<BlockId, HttpError> {
    parse32("headerId", s).map(|b| BlockId(Digest32::from(b)))
}

fn box_id(s: &str) -> Result<BoxId, HttpError> {
    parse32("boxId", s).map(|b| BoxId::from(Digest32::from(b)))
}

fn box_json(b: &ErgoBox) -> Value {
    serde_json::to_value(b).unwrap_or(Value::Null)
}

#[derive(Deserialize)]
struct Paging {
    offset: Option<u32>,
    limit: Option<u32>,
}

impl Paging {
    fn window(&self, default_limit: u32) -> Result<(usize, usize), HttpError> {
        let limit = self.limit.unwrap_or(default_limit);
        if limit == 0 || limit > 16384 {
            return Err(HttpError::bad_request("limit: must be between 1 and 16384"));
        }
        Ok((self.offset.unwrap_or(0) as usize, limit as usize))
    }
}

async fn info(d: web::Data<Devnet>) -> Reply {
    let s = d.state();
    let tip = s.tip();
    let best = tip.map(|b| String::from(b.header.id.0));
    let prev = s
        .last_blocks(2)
        .first()
        .filter(|_| s.height() >= 2)
        .map(|b| String::from(b.header.id.0));
    let genesis_id = s.ids_at(1).first().map(|id| String::from(id.0));
    let height = s.height();
    let full_height = (height > 0).then_some(height);
    ok(json!({
        "name": "dgcm-devnet",
        "appVersion": concat!("dgcm-devnet-", env!("CARGO_PKG_VERSION")),
        "network": "devnet",
        "fullHeight": full_height,
        "headersHeight": full_height,
        "maxPeerHeight": full_height,
        "bestFullHeaderId": best,
        "previousFullHeaderId": prev,
        "bestHeaderId": best,
        "stateRoot": tip.map(|b| String::from(b.header.state_root)),
        "stateType": "utxo",
        "stateVersion": best,
        "isMining": d.config.block_time.is_some(),
        "peersCount": 0,
        "unconfirmedCount": s.mempool_len().min(10000),
        "difficulty": 1,
        "currentTime": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|t| t.as_millis() as u64).unwrap_or(0),
        "launchTime": d.launch_time,
        "headersScore": height,
        "fullBlocksScore": height,
        "genesisBlockId": genesis_id,
        "eip27Supported": true,
        "restApiUrl": "",
        "parameters": {
            "height": 0, "blockVersion": 3, "storageFeeFactor": 1250000, "minValuePerByte": 360,
            "maxBlockSize": 1271009, "maxBlockCost": 8001091, "tokenAccessCost": 100,
            "inputCost": 2407, "dataInputCost": 100, "outputCost": 197
        }
    }))
}

async fn blocks_at(d: web::Data<Devnet>, h: web::Path<String>) -> Reply {
    let h: u32 = h.parse().map_err(|_| {
        HttpError::bad_request(format!("height: {h:?} is not a non-negative integer"))
    })?;
    let ids: Vec<String> = d
        .state()
        .ids_at(h)
        .into_iter()
        .map(|i| String::from(i.0))
        .collect();
    ok(ids)
}

async fn block(d: web::Data<Devnet>, id: web::Path<String>) -> Reply {
    let id = block_id(&id)?;
    let s = d.state();
    let b = s
        .block_by_id(&id)
        .ok_or_else(|| HttpError::not_found(format!("block {} not found", String::from(id.0))))?;
    ok(&b.json)
}

async fn block_header(d: web::Data<Devnet>, id: web::Path<String>) -> Reply {
    let id = block_id(&id)?;
    let s = d.state();
    let b = s
        .block_by_id(&id)
        .ok_or_else(|| HttpError::not_found(format!("block {} not found", String::from(id.0))))?;
    ok(&b.header_json)
}

async fn blocks_by_ids(d: web::Data<Devnet>, ids: web::Json<Vec<String>>) -> Reply {
    if ids.len() > 16384 {
        return Err(HttpError::bad_request(
            "at most 16384 header ids per request",
        ));
    }
    let ids = ids
        .iter()
        .map(|s| block_id(s))
        .collect::<Result<Vec<_>, _>>()?;
    let s = d.state();
    let blocks: Vec<&Value> = ids
        .iter()
        .filter_map(|id| s.block_by_id(id))
        .map(|b| &b.json)
        .collect();
    ok(blocks)
}

async fn last_headers(d: web::Data<Devnet>, n: web::Path<String>) -> Reply {
    let n: usize = n.parse().map_err(|_| {
        HttpError::bad_request(format!("count: {n:?} is not a non-negative integer"))
    })?;
    let s = d.state();
    let headers: Vec<&Value> = s
        .last_blocks(n.min(16384))
        .iter()
        .map(|b| &b.header_json)
        .collect();
    ok(headers)
}

fn parse_tx(body: &[u8]) -> Result<Transaction, HttpError> {
    serde_json::from_slice::<Transaction>(body).map_err(|e| {
        HttpError::from(SubmitError::Malformed(format!(
            "cannot parse transaction JSON: {e}"
        )))
    })
}

/// Validate a transaction against the devnet; put it into the mempool when `submit`.
async fn accept_tx(d: web::Data<Devnet>, body: web::Bytes, submit: bool) -> Reply {
    let tx = Arc::new(parse_tx(&body)?);
    let prepared = d.state().prepare(tx);
    let prepared = match prepared {
        Ok(p) => p,
        Err(e) => {
            d.state().rejected_total += 1;
            return Err(e.into());
        }
    };
    // Script evaluation is the expensive part: done without holding the state lock.
    let prepared = web::block(move || prepared.validate().map(|_| prepared))
        .await
        .map_err(|e| HttpError::bad_request(format!("validation aborted: {e}")))?;
    let mut s = d.state();
    let r = prepared.and_then(|p| if submit { s.commit(p) } else { Ok(p.tx.id()) });
    match r {
        Ok(id) => ok(String::from(id)),
        Err(e) => {
            s.rejected_total += 1;
            Err(e.into())
        }
    }
}

async fn submit_tx(d: web::Data<Devnet>, body: web::Bytes) -> Reply {
    accept_tx(d, body, true).await
}

async fn check_tx(d: web::Data<Devnet>, body: web::Bytes) -> Reply {
    accept_tx(d, body, false).await
}

async fn unconfirmed(d: web::Data<Devnet>, q: web::Query<Paging>) -> Reply {
    let (offset, limit) = q.window(50)?;
    let s = d.state();
    let txs: Vec<Value> = s
        .mempool_txs()
        .skip(offset)
        .take(limit)
        .map(|t| tx_json(t))
        .collect();
    ok(txs)
}

async fn unconfirmed_by_id(d: web::Data<Devnet>, id: web::Path<String>) -> Reply {
    let id = TxId::from(Digest32::from(parse32("transactionId", &id)?));
    let s = d.state();
    let tx = s.mempool_tx(&id).ok_or_else(|| {
        HttpError::not_found(format!(
            "transaction {} is not in the mempool",
            String::from(id)
        ))
    })?;
    ok(tx_json(tx))
}

async fn unconfirmed_outputs_by_token(d: web::Data<Devnet>, id: web::Path<String>) -> Reply {
    let token = hex::encode(parse32("tokenId", &id)?);
    let s = d.state();
    let outs: Vec<Value> = s
        .mempool_outputs()
        .filter(|b| {
            b.tokens
                .iter()
                .flatten()
                .any(|t| String::from(t.token_id) == token)
        })
        .map(box_json)
        .collect();
    ok(outs)
}

async fn unconfirmed_input_by_box(d: web::Data<Devnet>, id: web::Path<String>) -> Reply {
    let id = box_id(&id)?;
    let s = d.state();
    let spender = s
        .mempool_spender(&id)
        .and_then(|tx| s.mempool_tx(tx))
        .ok_or_else(|| {
            HttpError::not_found(format!("no mempool input spends box {}", String::from(id)))
        })?;
    let input = spender
        .inputs
        .iter()
        .find(|i| i.box_id == id)
        .ok_or_else(|| HttpError::not_found("mempool index out of date"))?;
    ok(input)
}

async fn utxo_by_id(d: web::Data<Devnet>, id: web::Path<String>) -> Reply {
    let id = box_id(&id)?;
    let s = d.state();
    let b = s.unspent(&id).ok_or_else(|| {
        HttpError::not_found(format!("box {} is not in the UTXO set", String::from(id)))
    })?;
    ok(box_json(b))
}

async fn utxo_with_pool_by_id(d: web::Data<Devnet>, id: web::Path<String>) -> Reply {
    let id = box_id(&id)?;
    let s = d.state();
    let b = s.unspent_with_pool(&id).ok_or_else(|| {
        HttpError::not_found(format!(
            "box {} is not unspent (confirmed or in the mempool)",
            String::from(id)
        ))
    })?;
    ok(box_json(b))
}

async fn utxo_genesis(d: web::Data<Devnet>) -> Reply {
    let s = d.state();
    ok(s.genesis().iter().map(box_json).collect::<Vec<_>>())
}

async fn unspent_by_token(
    d: web::Data<Devnet>,
    id: web::Path<String>,
    q: web::Query<Paging>,
) -> Reply {
    let token = hex::encode(parse32("tokenId", &id)?);
    let (offset, limit) = q.window(5)?;
    let s = d.state();
    let mut boxes: Vec<&ErgoBox> = s
        .utxo()
        .filter(|b| {
            b.tokens
                .iter()
                .flatten()
                .any(|t| String::from(t.token_id) == token)
        })
        .collect();
    boxes.sort_by_key(|b| (b.creation_height, b.box_id()));
    ok(boxes
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(box_json)
        .collect::<Vec<_>>())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ByTreeQuery {
    offset: Option<u32>,
    limit: Option<u32>,
    sort_direction: Option<String>,
    #[serde(default)]
    include_unconfirmed: bool,
    #[serde(default)]
    exclude_mempool_spent: bool,
}

/// `POST /blockchain/box/unspent/byErgoTree` (the node's extra index): `{items, total}` with the
/// IndexedErgoBox fields. The devnet has no separate inclusion record, so `inclusionHeight` is
/// the creation height and `globalIndex` the position in the answer.
async fn unspent_by_tree(
    d: web::Data<Devnet>,
    q: web::Query<ByTreeQuery>,
    body: web::Json<String>,
) -> Reply {
    let bytes = hex::decode(body.trim())
        .map_err(|e| HttpError::bad_request(format!("ergoTree: not hex ({e})")))?;
    let tree = ErgoTree::sigma_parse_bytes(&bytes)
        .map_err(|e| HttpError::bad_request(format!("ergoTree: not a tree ({e})")))?;
    // ergo-lib keeps an unparsable body as an "unparsed" tree; the node refuses it.
    tree.proposition()
        .map_err(|e| HttpError::bad_request(format!("ergoTree: not a tree ({e})")))?;
    let paging = Paging {
        offset: q.offset,
        limit: q.limit,
    };
    let (offset, limit) = paging.window(5)?;
    let desc = match q.sort_direction.as_deref().unwrap_or("desc") {
        "desc" => true,
        "asc" => false,
        other => {
            return Err(HttpError::bad_request(format!(
                "sortDirection: {other:?} is neither asc nor desc"
            )))
        }
    };
    let address = Address::recreate_from_ergo_tree(&tree)
        .map(|a| AddressEncoder::encode_address_as_string(d.config.network, &a))
        .unwrap_or_default();
    let s = d.state();
    let pool: Vec<&ErgoBox> = if q.include_unconfirmed {
        s.mempool_outputs().collect()
    } else {
        vec![]
    };
    let mut boxes: Vec<&ErgoBox> = s
        .utxo()
        .chain(pool)
        .filter(|b| b.ergo_tree == tree)
        .filter(|b| !q.exclude_mempool_spent || s.mempool_spender(&b.box_id()).is_none())
        .collect();
    boxes.sort_by_key(|b| (b.creation_height, b.box_id()));
    if desc {
        boxes.reverse();
    }
    let total = boxes.len();
    let items: Vec<Value> = boxes
        .into_iter()
        .enumerate()
        .skip(offset)
        .take(limit)
        .map(|(i, b)| {
            let mut v = box_json(b);
            if let Value::Object(m) = &mut v {
                m.insert("address".into(), json!(address));
                m.insert("spentTransactionId".into(), Value::Null);
                m.insert("spendingHeight".into(), Value::Null);
                m.insert("inclusionHeight".into(), json!(b.creation_height));
                m.insert("globalIndex".into(), json!(i));
            }
            v
        })
        .collect();
    ok(json!({"items": items, "total": total}))
}

async fn scan_register(d: web::Data<Devnet>, req: web::Json<ScanRequest>) -> Reply {
    scan::check_rule(&req.tracking_rule).map_err(HttpError::bad_request)?;
    let mut scans = d.scans();
    scans.push(req.into_inner().tracking_rule);
    ok(json!({"scanId": scans.len() as i32}))
}

/// The devnet evaluates a scan against the current UTXO set when asked, so it also finds boxes
/// created before the scan was registered (a real node tracks boxes from registration on).
async fn scan_unspent(d: web::Data<Devnet>, id: web::Path<String>) -> Reply {
    let n: usize = id
        .parse()
        .map_err(|_| HttpError::bad_request(format!("scanId: {id:?} is not an integer")))?;
    let rule = d
        .scans()
        .get(n.wrapping_sub(1))
        .cloned()
        .ok_or_else(|| HttpError::not_found(format!("scan {n} is not registered")))?;
    let s = d.state();
    let height = s.height();
    let mut boxes: Vec<&ErgoBox> = s.utxo().filter(|b| scan::matches(&rule, b)).collect();
    boxes.sort_by_key(|b| (b.creation_height, b.box_id()));
    ok(boxes
        .into_iter()
        .map(|b| {
            json!({
                "box": box_json(b),
                "confirmationsNum": height.saturating_sub(b.creation_height) + 1,
                "address": "",
                "creationTransaction": String::from(b.transaction_id),
                "creationOutIndex": b.index,
                "inclusionHeight": b.creation_height,
                "onchain": true,
                "spent": false,
                "scans": [n],
            })
        })
        .collect::<Vec<_>>())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MineReq {
    #[serde(default = "one")]
    blocks: u32,
}
fn one() -> u32 {
    1
}

async fn devnet_mine(d: web::Data<Devnet>, req: web::Json<MineReq>) -> Reply {
    if req.blocks == 0 || req.blocks > 10_000 {
        return Err(HttpError::bad_request(
            "blocks: must be between 1 and 10000",
        ));
    }
    let n = req.blocks;
    let d2 = d.clone();
    let ids = web::block(move || d2.state().mine(n))
        .await
        .map_err(|e| HttpError::bad_request(format!("mining aborted: {e}")))?;
    let s = d.state();
    ok(
        json!({"height": s.height(), "mined": ids.iter().map(|i| String::from(i.0)).collect::<Vec<_>>()}),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RollbackReq {
    depth: u32,
}

async fn devnet_rollback(d: web::Data<Devnet>, req: web::Json<RollbackReq>) -> Reply {
    if req.depth == 0 {
        return Err(HttpError::bad_request("depth: must be at least 1"));
    }
    let mut s = d.state();
    let undone = s
        .rollback(req.depth)
        .map_err(|e| HttpError::bad_request(format!("depth: {e}")))?;
    ok(json!({
        "height": s.height(),
        "rolled_back": undone.iter().map(|i| String::from(i.0)).collect::<Vec<_>>(),
        "mempool": s.mempool_len(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TrafficReq {
    txs: usize,
}

async fn devnet_traffic(d: web::Data<Devnet>, req: web::Json<TrafficReq>) -> Reply {
    if req.txs == 0 || req.txs > 10_000 {
        return Err(HttpError::bad_request("txs: must be between 1 and 10000"));
    }
    let n = req.txs;
    let d2 = d.clone();
    let ids = web::block(move || {
        let mut rng = rand::thread_rng();
        let wallets = d2.wallets.clone();
        traffic::random_traffic(&mut d2.state(), &wallets, n, &mut rng)
    })
    .await
    .map_err(|e| HttpError::bad_request(format!("traffic aborted: {e}")))?;
    ok(json!({"submitted": ids}))
}

async fn devnet_rosen_transfer(
    d: web::Data<Devnet>,
    req: web::Json<crate::rosen::RosenTransfer>,
) -> Reply {
    let req = req.into_inner();
    let d2 = d.clone();
    let done = web::block(move || crate::rosen::transfer(&mut d2.state(), &req))
        .await
        .map_err(|e| HttpError::bad_request(format!("rosen transfer aborted: {e}")))?
        .map_err(HttpError::bad_request)?;
    ok(done)
}

async fn devnet_oracle(d: web::Data<Devnet>, req: web::Json<crate::oracle::OracleUpdate>) -> Reply {
    let req = req.into_inner();
    let d2 = d.clone();
    let done = web::block(move || crate::oracle::set_rate(&mut d2.state(), &req))
        .await
        .map_err(|e| HttpError::bad_request(format!("oracle update aborted: {e}")))?
        .map_err(HttpError::bad_request)?;
    ok(done)
}

async fn devnet_info(d: web::Data<Devnet>) -> Reply {
    ok(d.info_json())
}

async fn health(d: web::Data<Devnet>) -> Reply {
    ok(json!({"status": "ok", "height": d.state().height()}))
}

async fn metrics(d: web::Data<Devnet>) -> HttpResponse {
    use prometheus_client::encoding::text::encode;
    use prometheus_client::metrics::gauge::Gauge;
    use prometheus_client::registry::Registry;
    let s = d.state();
    let mut reg = Registry::default();
    let values = [
        (
            "devnet_height",
            "Height of the best block",
            s.height() as i64,
        ),
        (
            "devnet_mempool_transactions",
            "Transactions in the mempool",
            s.mempool_len() as i64,
        ),
        (
            "devnet_utxo_boxes",
            "Boxes in the UTXO set",
            s.utxo().count() as i64,
        ),
        (
            "devnet_transactions_accepted",
            "Transactions accepted into the mempool since start",
            s.accepted_total as i64,
        ),
        (
            "devnet_transactions_rejected",
            "Transactions refused since start",
            s.rejected_total as i64,
        ),
    ];
    drop(s);
    for (name, help, v) in values {
        let g: Gauge = Gauge::default();
        g.set(v);
        reg.register(name, help, g);
    }
    let mut out = String::new();
    if encode(&mut out, &reg).is_err() {
        return HttpResponse::InternalServerError().finish();
    }
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(out)
}

async fn not_found(req: HttpRequest) -> Reply {
    Err(HttpError::not_found(format!(
        "no route for {} {}",
        req.method(),
        req.path()
    )))
}

/// All routes, for `App::configure`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(MAX_BODY)
            .error_handler(|e, _| HttpError::bad_request(format!("request body: {e}")).into()),
    )
    .app_data(web::PayloadConfig::default().limit(MAX_BODY))
    .app_data(
        web::QueryConfig::default()
            .error_handler(|e, _| HttpError::bad_request(format!("query: {e}")).into()),
    )
    .app_data(
        web::PathConfig::default()
            .error_handler(|e, _| HttpError::bad_request(format!("path: {e}")).into()),
    )
    .route("/info", web::get().to(info))
    .route("/blocks/at/{height}", web::get().to(blocks_at))
    .route("/blocks/lastHeaders/{count}", web::get().to(last_headers))
    .route("/blocks/headerIds", web::post().to(blocks_by_ids))
    .route("/blocks/{id}/header", web::get().to(block_header))
    .route("/blocks/{id}", web::get().to(block))
    .route("/transactions", web::post().to(submit_tx))
    .route("/transactions/check", web::post().to(check_tx))
    .route("/transactions/unconfirmed", web::get().to(unconfirmed))
    .route(
        "/transactions/unconfirmed/byTransactionId/{id}",
        web::get().to(unconfirmed_by_id),
    )
    .route(
        "/transactions/unconfirmed/outputs/byTokenId/{id}",
        web::get().to(unconfirmed_outputs_by_token),
    )
    .route(
        "/transactions/unconfirmed/inputs/byBoxId/{id}",
        web::get().to(unconfirmed_input_by_box),
    )
    .route("/utxo/byId/{id}", web::get().to(utxo_by_id))
    .route(
        "/utxo/withPool/byId/{id}",
        web::get().to(utxo_with_pool_by_id),
    )
    .route("/utxo/genesis", web::get().to(utxo_genesis))
    .route(
        "/blockchain/box/unspent/byErgoTree",
        web::post().to(unspent_by_tree),
    )
    .route(
        "/blockchain/box/unspent/byTokenId/{id}",
        web::get().to(unspent_by_token),
    )
    .route("/scan/register", web::post().to(scan_register))
    .route("/scan/unspentBoxes/{id}", web::get().to(scan_unspent))
    .route("/devnet/mine", web::post().to(devnet_mine))
    .route("/devnet/rollback", web::post().to(devnet_rollback))
    .route("/devnet/traffic", web::post().to(devnet_traffic))
    .route("/devnet/info", web::get().to(devnet_info))
    .route("/devnet/oracle", web::post().to(devnet_oracle))
    .route(
        "/devnet/rosen/transfer",
        web::post().to(devnet_rosen_transfer),
    )
    .route("/health", web::get().to(health))
    .route("/metrics", web::get().to(metrics))
    .default_service(web::to(not_found));
}

pub fn http_server(
    devnet: Arc<Devnet>,
    listener: std::net::TcpListener,
) -> std::io::Result<actix_web::dev::Server> {
    let data = web::Data::from(devnet);
    Ok(
        HttpServer::new(move || App::new().app_data(data.clone()).configure(routes))
            .workers(2)
            .disable_signals()
            .shutdown_timeout(1)
            .listen(listener)?
            .run(),
    )
}
