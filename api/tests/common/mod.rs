//! Chains built with the dgcm-contracts builders (as in the indexer's protocol test) and an API
//! service over a fresh database.
#![allow(dead_code)]

use std::sync::Arc;

use dgcm_api::{ApiConfig, AppState};
use dgcm_chain::FullBlock;
use dgcm_contracts::{Executor, TxPlan};
use ergo_lib::chain::transaction::Transaction;
use ergo_lib::ergo_chain_types::{BlockId, Digest32};
use ergo_lib::ergotree_ir::chain::address::{Address, AddressEncoder, NetworkPrefix};
use ergo_lib::ergotree_ir::chain::ergo_box::ErgoBox;
use ergo_lib::ergotree_ir::chain::token::TokenId;
use serde_json::Value;

pub const ERG: u64 = 1_000_000_000;

pub fn digest(tag: &str) -> Digest32 {
    Digest32::from(dgcm_contracts::util::blake2b256(tag.as_bytes()))
}

#[allow(unused_imports)]
pub use dgcm_contracts::testkit::{output_of, pk};

pub fn address(tag: &str) -> String {
    AddressEncoder::encode_address_as_string(NetworkPrefix::Testnet, &Address::P2Pk(pk(tag)))
}

pub fn exec(tag: &str, value: u64, tokens: &[(TokenId, u64)]) -> Executor {
    dgcm_contracts::testkit::funded_executor(tag, value, tokens)
}

/// The transaction a wallet would sign, proofs left empty (the indexer does not validate).
pub fn tx(plan: &TxPlan) -> Transaction {
    dgcm_contracts::testkit::unproven(plan)
}

pub fn block(height: u32, parent: BlockId, txs: Vec<Transaction>) -> Arc<FullBlock> {
    Arc::new(FullBlock::synthetic(height, parent, txs))
}

/// Indexes a synthetic chain into a fresh database: block `first + i` holds `blocks[i]`, the
/// first block's parent is a fixed "before" block. Returns the database URL and its store.
pub fn index_chain(
    first: u32,
    blocks: Vec<Vec<Transaction>>,
    c: dgcm_contracts::Contracts,
) -> (String, dgcm_indexer::Store) {
    let before = BlockId(digest("before"));
    let mut parent = before;
    let mut chain = Vec::with_capacity(blocks.len());
    for (i, txs) in blocks.into_iter().enumerate() {
        let b = block(first + i as u32, parent, txs);
        parent = b.id();
        chain.push(b);
    }
    let db = dgcm_indexer::pgcluster::fresh_test_database().unwrap();
    let mut store = dgcm_indexer::Store::connect(&db).unwrap();
    store
        .initialise(
            None,
            dgcm_chain::Cursor {
                height: first - 1,
                header_id: before,
            },
        )
        .unwrap();
    let decoder = dgcm_indexer::decode::Decoder::new(Some(c));
    store
        .apply_many(&dgcm_indexer::rows::BlockRows::from_blocks(
            &chain, &decoder, 2,
        ))
        .unwrap();
    (db, store)
}

pub fn hex_id(b: &ErgoBox) -> String {
    hex::encode(b.box_id().as_ref())
}

/// The API served over real HTTP on an ephemeral port (1 worker).
pub struct Api {
    pub url: String,
    pub state: Arc<AppState>,
    handle: actix_web::dev::ServerHandle,
}

impl Api {
    pub fn start(db: &str) -> Api {
        Api::start_with(ApiConfig::devnet(db))
    }

    pub fn start_with(config: ApiConfig) -> Api {
        let state = Arc::new(AppState::new(config).unwrap());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = dgcm_api::server(state.clone(), listener, 1).unwrap();
        let handle = server.handle();
        tokio::spawn(server);
        Api { url, state, handle }
    }

    pub async fn stop(self) {
        self.handle.stop(true).await;
    }

    /// GET `path`: status and JSON body (a JSON string when the body is not JSON).
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = reqwest::get(format!("{}{path}", self.url)).await.unwrap();
        let status = r.status().as_u16();
        let body = r.bytes().await.unwrap();
        let v = serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
        (status, v)
    }

    /// GET `path`, expecting 200.
    pub async fn ok(&self, path: &str) -> Value {
        let (status, v) = self.get(path).await;
        assert_eq!(status, 200, "{path}: {v}");
        v
    }

    /// Expect a 400 whose detail names `param`.
    pub async fn bad(&self, path: &str, param: &str) {
        let (status, v) = self.get(path).await;
        assert_eq!(status, 400, "{path}: {v}");
        assert_eq!(v["error"], "bad_request", "{path}: {v}");
        let detail = v["detail"].as_str().unwrap();
        assert!(detail.starts_with(&format!("{param}:")), "{path}: {detail}");
    }
}

/// Undo the block at the cursor of `db` through the indexer's store (as a reorg would).
pub fn undo_tip(db: &str, store: &mut dgcm_indexer::Store) {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct H {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        height: i32,
        #[diesel(sql_type = diesel::sql_types::Bytea)]
        header_id: Vec<u8>,
        #[diesel(sql_type = diesel::sql_types::Bytea)]
        parent_id: Vec<u8>,
    }
    let mut c = PgConnection::establish(db).unwrap();
    let h: H = diesel::sql_query(
        "SELECT height, header_id, parent_id FROM headers ORDER BY height DESC LIMIT 1",
    )
    .get_result(&mut c)
    .unwrap();
    let id = |b: Vec<u8>| BlockId(Digest32::try_from(b).unwrap());
    store
        .rollback(h.height as u32, &id(h.header_id), &id(h.parent_id))
        .unwrap();
}
