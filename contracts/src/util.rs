//! Small helpers shared by the codecs and builders.

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use ergo_lib::ergo_chain_types::Digest32;
use ergo_lib::ergotree_ir::chain::ergo_box::box_value::BoxValue;
use ergo_lib::ergotree_ir::chain::ergo_box::{BoxId, BoxTokens, ErgoBox};
use ergo_lib::ergotree_ir::chain::token::{Token, TokenAmount, TokenId};
use ergo_lib::ergotree_ir::ergo_tree::ErgoTree;
use ergo_lib::ergotree_ir::mir::constant::Constant;
use ergo_lib::ergotree_ir::mir::expr::Expr;
use ergo_lib::ergotree_ir::sigma_protocol::sigma_boolean::{
    ProveDlog, SigmaBoolean, SigmaProofOfKnowledgeTree, SigmaProp,
};

/// Blocks per hour (the protocol's unit of lease time).
pub const BLOCKS_PER_HOUR: i64 = 30;

/// nanoERG per byte of a box (the node's default `minValuePerByte`).
pub const MIN_VALUE_PER_BYTE: u64 = 360;

pub fn blake2b256(data: &[u8]) -> [u8; 32] {
    Blake2b::<U32>::digest(data).into()
}

pub fn token_id(bytes: [u8; 32]) -> TokenId {
    TokenId::from(Digest32::from(bytes))
}

pub fn token_bytes(id: &TokenId) -> Vec<u8> {
    let d: Digest32 = (*id).into();
    d.0.to_vec()
}

pub fn box_id_bytes(id: &BoxId) -> Vec<u8> {
    id.as_ref().to_vec()
}

/// The key of a `SigmaProp` that is a single `proveDlog`.
pub fn prove_dlog(sp: &SigmaProp) -> Option<ProveDlog> {
    match sp.value() {
        SigmaBoolean::ProofOfKnowledge(SigmaProofOfKnowledgeTree::ProveDlog(pd)) => {
            Some(pd.clone())
        }
        _ => None,
    }
}

pub fn sigma_const(pk: &ProveDlog) -> Constant {
    SigmaProp::from(pk.clone()).into()
}

/// The P2PK tree `0008cd<key>` (= `proveDlog(key).propBytes`).
pub fn p2pk_tree(pk: &ProveDlog) -> ErgoTree {
    #[allow(clippy::expect_used)] // a constant proveDlog always makes a tree
    ErgoTree::try_from(Expr::Const(sigma_const(pk))).expect("P2PK tree")
}

pub fn box_value(v: u64) -> BoxValue {
    BoxValue::new(v.max(1)).unwrap_or(BoxValue::SAFE_USER_MIN)
}

pub fn token(id: TokenId, amount: u64) -> Option<Token> {
    TokenAmount::try_from(amount).ok().map(|amount| Token {
        token_id: id,
        amount,
    })
}

/// Tokens from `(id, amount)` pairs; zero amounts are dropped, `None` when nothing remains.
pub fn tokens(list: &[(TokenId, u64)]) -> Option<BoxTokens> {
    let v: Vec<Token> = list.iter().filter_map(|(id, a)| token(*id, *a)).collect();
    BoxTokens::from_vec(v).ok()
}

/// `(id, amount)` pairs of a box, in order.
pub fn box_tokens(b: &ErgoBox) -> Vec<(TokenId, u64)> {
    b.tokens
        .as_ref()
        .map(|t| t.iter().map(|t| (t.token_id, *t.amount.as_u64())).collect())
        .unwrap_or_default()
}
