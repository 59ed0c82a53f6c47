//! Chains built with the dgcm-contracts builders (as in the indexer's protocol test) and an API
//! service over a fresh database.
#![allow(dead_code)]

use std::sync::Arc;

use dgcm_api::{ApiConfig, AppState};
use dgcm_chain::types::BlockTransactions;
use dgcm_chain::FullBlock;
use dgcm_contracts::trees::devnet_pk;
use dgcm_contracts::util::p2pk_tree;
use dgcm_contracts::{Contracts, Executor, Kind, TxPlan};
use ergo_lib::chain::transaction::input::prover_result::ProverResult;
use ergo_lib::chain::transaction::{Input, Transaction, TxId};
use ergo_lib::ergo_chain_types::{
    ec_point, ADDigest, AutolykosSolution, BlockId, Digest32, Header, Votes,
};
use ergo_lib::ergotree_ir::chain::address::{Address, AddressEncoder, NetworkPrefix};
use ergo_lib::ergotree_ir::chain::ergo_box::box_value::BoxValue;
use ergo_lib::ergotree_ir::chain::ergo_box::{ErgoBox, NonMandatoryRegisters};
use ergo_lib::ergotree_ir::chain::token::{Token, TokenAmount, TokenId};
use ergo_lib::ergotree_ir::sigma_protocol::sigma_boolean::ProveDlog;
use serde_json::Value;

pub const ERG: u64 = 1_000_000_000;

pub fn digest(tag: &str) -> Digest32 {
    Digest32::from(dgcm_contracts::util::blake2b256(tag.as_bytes()))
}

pub fn pk(tag: &str) -> ProveDlog {
    ProveDlog::new(devnet_pk(tag))
}

pub fn address(tag: &str) -> String {
    AddressEncoder::encode_address_as_string(NetworkPrefix::Mainnet, &Address::P2Pk(pk(tag)))
}

pub fn exec(tag: &str, value: u64, tokens: &[(TokenId, u64)]) -> Executor {
    let toks: Vec<Token> = tokens
        .iter()
        .map(|(id, n)| Token {
            token_id: *id,
            amount: TokenAmount::try_from(*n).unwrap(),
        })
        .collect();
    let funding = ErgoBox::new(
        BoxValue::new(value).unwrap(),
        p2pk_tree(&pk(tag)),
        (!toks.is_empty()).then(|| toks.try_into().unwrap()),
        NonMandatoryRegisters::empty(),
        1,
        TxId::from(digest(&format!("funding/{tag}/{value}"))),
        0,
    )
    .unwrap();
    Executor {
        funding: vec![funding],
        change: p2pk_tree(&pk(tag)),
        fee: 1_100_000,
    }
}

/// The transaction a wallet would sign, proofs left empty (the indexer does not validate).
pub fn tx(plan: &TxPlan) -> Transaction {
    let inputs: Vec<Input> = plan
        .unsigned
        .inputs
        .iter()
        .map(|i| {
            Input::new(
                i.box_id,
                ProverResult {
                    proof: vec![].into(),
                    extension: i.extension.clone(),
                },
            )
        })
        .collect();
    Transaction::new(
        inputs.try_into().unwrap(),
        plan.unsigned.data_inputs.clone(),
        plan.unsigned.output_candidates.clone(),
    )
    .unwrap()
}

pub fn block(height: u32, parent: BlockId, txs: Vec<Transaction>) -> Arc<FullBlock> {
    let header = Header {
        version: 3,
        id: BlockId(digest(&format!("block/{height}"))),
        parent_id: parent,
        ad_proofs_root: Digest32::zero(),
        state_root: ADDigest::zero(),
        transaction_root: Digest32::zero(),
        timestamp: 1_700_000_000_000 + height as u64,
        n_bits: 16_842_752,
        height,
        extension_root: Digest32::zero(),
        autolykos_solution: AutolykosSolution {
            miner_pk: Box::new(ec_point::generator()),
            pow_onetime_pk: None,
            nonce: vec![0; 8],
            pow_distance: None,
        },
        votes: Votes([0, 0, 0]),
    };
    Arc::new(FullBlock {
        block_transactions: BlockTransactions {
            header_id: header.id,
            transactions: txs,
            size: 0,
        },
        header,
        extension: Value::Null,
        ad_proofs: Value::Null,
        size: 0,
    })
}

pub fn output_of(t: &Transaction, c: &Contracts, kind: Kind) -> ErgoBox {
    t.outputs
        .iter()
        .find(|b| c.kind_of(&b.ergo_tree) == Some(kind))
        .unwrap()
        .clone()
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
