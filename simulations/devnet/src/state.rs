//! The devnet's chain state: best chain, UTXO set, mempool, and full transaction validation.
//!
//! Pure state machine, no I/O except the optional append-only chain log: the HTTP layer
//! ([`crate::server`]) locks it, and validation of submitted transactions happens outside the
//! lock ([`DevnetState::prepare`] → [`Prepared::validate`] → [`DevnetState::commit`]) so several
//! submissions are checked in parallel.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use ergo_lib::chain::ergo_state_context::ErgoStateContext;
use ergo_lib::chain::parameters::Parameters;
use ergo_lib::chain::transaction::{Transaction, TxId};
use ergo_lib::ergo_chain_types::{ec_point, BlockId, Digest32, Header, PreHeader, Votes};
use ergo_lib::ergotree_ir::chain::ergo_box::{BoxId, ErgoBox};
use ergo_lib::ergotree_ir::serialization::SigmaSerializable;
use ergo_lib::wallet::tx_context::TransactionContext;
use indexmap::IndexMap;
use serde_json::{json, Value};
use sigma_ser::ScorexSerializable;

use crate::genesis::blake2b256;
use dgcm_chain::header::synthetic_header;

/// nBits of every devnet header (difficulty 1: no proof of work is done).
pub const N_BITS: u64 = dgcm_chain::header::SYNTHETIC_N_BITS;

/// Why a transaction was refused. The `Display` text is what the node's `ApiError.detail` says.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SubmitError {
    #[error("Transaction is already in the mempool: {0}")]
    AlreadyInPool(String),
    #[error(
        "Double spending attempt: box {box_id} is already spent by unconfirmed transaction {by}"
    )]
    DoubleSpend { box_id: String, by: String },
    #[error("Missing inputs: {0}")]
    MissingInputs(String),
    #[error("Missing data inputs: {0}")]
    MissingDataInputs(String),
    #[error("Malformed transaction: {0}")]
    Malformed(String),
    #[error("Transaction validation failed: {0}")]
    Invalid(String),
}

/// One block of the devnet chain with what is needed to serve and to undo it.
pub struct Block {
    pub header: Header,
    pub txs: Vec<Arc<Transaction>>,
    /// Boxes this block spent (restored on rollback).
    pub spent: Vec<ErgoBox>,
    /// Node JSON (`FullBlock`), rendered once.
    pub json: Value,
    pub header_json: Value,
}

#[derive(Clone)]
struct PoolEntry {
    tx: Arc<Transaction>,
    /// Height of the block the transaction was last validated for.
    validated_for: u32,
}

#[derive(Default)]
struct Mempool {
    txs: IndexMap<TxId, PoolEntry>,
    outputs: HashMap<BoxId, ErgoBox>,
    spent_by: HashMap<BoxId, TxId>,
}

impl Mempool {
    fn insert(&mut self, entry: PoolEntry) {
        let id = entry.tx.id();
        for input in entry.tx.inputs.iter() {
            self.spent_by.insert(input.box_id, id);
        }
        for out in entry.tx.outputs.iter() {
            self.outputs.insert(out.box_id(), out.clone());
        }
        self.txs.insert(id, entry);
    }

    fn take_all(&mut self) -> Vec<PoolEntry> {
        self.outputs.clear();
        self.spent_by.clear();
        std::mem::take(&mut self.txs).into_values().collect()
    }
}

/// Everything validation needs, resolved under the lock.
pub struct Prepared {
    pub tx: Arc<Transaction>,
    pub inputs: Vec<ErgoBox>,
    pub data_inputs: Vec<ErgoBox>,
    pub context: Arc<ErgoStateContext>,
}

impl Prepared {
    /// Full ergo-lib validation: ERG and token preservation, dust, sizes, creation heights and
    /// every input's script. Pure; runs without the state lock.
    pub fn validate(&self) -> Result<(), SubmitError> {
        let ctx = TransactionContext::new(
            (*self.tx).clone(),
            self.inputs.clone(),
            self.data_inputs.clone(),
        )
        .map_err(|e| SubmitError::Malformed(e.to_string()))?;
        ctx.validate(&self.context)
            .map_err(|e| SubmitError::Invalid(e.to_string()))
    }
}

/// What the state writes to the chain log (see [`DevnetState::open_log`]).
pub trait ChainLog: Send {
    fn block(&mut self, header: &Header, txs: &[Arc<Transaction>]);
    fn rollback(&mut self, depth: u32);
}

pub struct DevnetState {
    genesis: Vec<ErgoBox>,
    blocks: Vec<Arc<Block>>,
    by_id: HashMap<BlockId, Arc<Block>>,
    /// Header ids of blocks that were rolled back, by height (served after the best one).
    orphans: HashMap<u32, Vec<BlockId>>,
    utxo: HashMap<BoxId, ErgoBox>,
    mempool: Mempool,
    last_timestamp: u64,
    context: Arc<ErgoStateContext>,
    log: Option<Box<dyn ChainLog>>,
    pub accepted_total: u64,
    pub rejected_total: u64,
}

impl DevnetState {
    pub fn new(genesis: Vec<ErgoBox>) -> Self {
        let utxo = genesis.iter().map(|b| (b.box_id(), b.clone())).collect();
        let mut s = DevnetState {
            genesis,
            blocks: Vec::new(),
            by_id: HashMap::new(),
            orphans: HashMap::new(),
            utxo,
            mempool: Mempool::default(),
            last_timestamp: 0,
            context: Arc::new(placeholder_context()),
            log: None,
            accepted_total: 0,
            rejected_total: 0,
        };
        s.context = Arc::new(s.next_context(s.next_timestamp_peek()));
        s
    }

    pub fn set_log(&mut self, log: Box<dyn ChainLog>) {
        self.log = Some(log);
    }

    pub fn height(&self) -> u32 {
        self.blocks.len() as u32
    }

    pub fn tip(&self) -> Option<&Arc<Block>> {
        self.blocks.last()
    }

    pub fn genesis(&self) -> &[ErgoBox] {
        &self.genesis
    }

    pub fn block_by_id(&self, id: &BlockId) -> Option<&Arc<Block>> {
        self.by_id.get(id)
    }

    /// Header ids at `height`: the best chain's first, then orphans.
    pub fn ids_at(&self, height: u32) -> Vec<BlockId> {
        let mut ids = Vec::new();
        if height >= 1 {
            if let Some(b) = self.blocks.get(height as usize - 1) {
                ids.push(b.header.id);
            }
        }
        if let Some(o) = self.orphans.get(&height) {
            ids.extend(o.iter().copied());
        }
        ids
    }

    /// The last `n` blocks of the best chain, oldest first.
    pub fn last_blocks(&self, n: usize) -> &[Arc<Block>] {
        let start = self.blocks.len().saturating_sub(n);
        &self.blocks[start..]
    }

    pub fn unspent(&self, id: &BoxId) -> Option<&ErgoBox> {
        self.utxo.get(id)
    }

    /// Unspent including mempool outputs and excluding boxes spent in the mempool.
    pub fn unspent_with_pool(&self, id: &BoxId) -> Option<&ErgoBox> {
        if self.mempool.spent_by.contains_key(id) {
            return None;
        }
        self.utxo.get(id).or_else(|| self.mempool.outputs.get(id))
    }

    pub fn utxo(&self) -> impl Iterator<Item = &ErgoBox> {
        self.utxo.values()
    }

    pub fn mempool_txs(&self) -> impl Iterator<Item = &Arc<Transaction>> {
        self.mempool.txs.values().map(|e| &e.tx)
    }

    pub fn mempool_len(&self) -> usize {
        self.mempool.txs.len()
    }

    pub fn mempool_tx(&self, id: &TxId) -> Option<&Arc<Transaction>> {
        self.mempool.txs.get(id).map(|e| &e.tx)
    }

    pub fn mempool_outputs(&self) -> impl Iterator<Item = &ErgoBox> {
        self.mempool.outputs.values()
    }

    pub fn mempool_spender(&self, id: &BoxId) -> Option<&TxId> {
        self.mempool.spent_by.get(id)
    }

    /// State context for the next block (what a submitted transaction is validated against).
    pub fn context(&self) -> Arc<ErgoStateContext> {
        self.context.clone()
    }

    /// Resolve a submitted transaction's inputs (confirmed or in the mempool) and refuse double
    /// spends. Cheap; done under the lock.
    pub fn prepare(&self, tx: Arc<Transaction>) -> Result<Prepared, SubmitError> {
        let id = tx.id();
        if self.mempool.txs.contains_key(&id) {
            return Err(SubmitError::AlreadyInPool(String::from(id)));
        }
        let mut inputs = Vec::with_capacity(tx.inputs.len());
        let mut missing = Vec::new();
        for (i, input) in tx.inputs.iter().enumerate() {
            if let Some(by) = self.mempool.spent_by.get(&input.box_id) {
                return Err(SubmitError::DoubleSpend {
                    box_id: String::from(input.box_id),
                    by: String::from(*by),
                });
            }
            match self
                .utxo
                .get(&input.box_id)
                .or_else(|| self.mempool.outputs.get(&input.box_id))
            {
                Some(b) => inputs.push(b.clone()),
                None => missing.push(i.to_string()),
            }
        }
        if !missing.is_empty() {
            return Err(SubmitError::MissingInputs(missing.join(",")));
        }
        let mut data_inputs = Vec::new();
        let mut missing = Vec::new();
        for (i, d) in tx.data_inputs.iter().flatten().enumerate() {
            match self
                .utxo
                .get(&d.box_id)
                .or_else(|| self.mempool.outputs.get(&d.box_id))
            {
                Some(b) => data_inputs.push(b.clone()),
                None => missing.push(i.to_string()),
            }
        }
        if !missing.is_empty() {
            return Err(SubmitError::MissingDataInputs(missing.join(",")));
        }
        Ok(Prepared {
            tx,
            inputs,
            data_inputs,
            context: self.context.clone(),
        })
    }

    /// Put a validated transaction into the mempool, unless something changed since `prepare`.
    pub fn commit(&mut self, prepared: Prepared) -> Result<TxId, SubmitError> {
        // Inputs may have been spent (or rolled back) while we validated without the lock.
        self.recheck(&prepared)?;
        let height = self.height() + 1;
        let id = prepared.tx.id();
        self.mempool.insert(PoolEntry {
            tx: prepared.tx,
            validated_for: height,
        });
        self.accepted_total += 1;
        Ok(id)
    }

    /// The checks of `prepare` again, without cloning boxes: every input and data input still
    /// resolves to the same box, and nothing in the mempool spends it.
    fn recheck(&self, p: &Prepared) -> Result<(), SubmitError> {
        let id = p.tx.id();
        if self.mempool.txs.contains_key(&id) {
            return Err(SubmitError::AlreadyInPool(String::from(id)));
        }
        for (i, input) in p.tx.inputs.iter().enumerate() {
            if let Some(by) = self.mempool.spent_by.get(&input.box_id) {
                return Err(SubmitError::DoubleSpend {
                    box_id: String::from(input.box_id),
                    by: String::from(*by),
                });
            }
            if !self.resolves(&input.box_id) {
                return Err(SubmitError::MissingInputs(i.to_string()));
            }
        }
        for (i, d) in p.tx.data_inputs.iter().flatten().enumerate() {
            if !self.resolves(&d.box_id) {
                return Err(SubmitError::MissingDataInputs(i.to_string()));
            }
        }
        Ok(())
    }

    fn resolves(&self, id: &BoxId) -> bool {
        self.utxo.contains_key(id) || self.mempool.outputs.contains_key(id)
    }

    /// Prepare, validate and commit in one go (used by tests, rollback and traffic).
    pub fn submit(&mut self, tx: Transaction) -> Result<TxId, SubmitError> {
        let r = self
            .prepare(Arc::new(tx))
            .and_then(|p| p.validate().map(|_| p))
            .and_then(|p| self.commit(p));
        if r.is_err() {
            self.rejected_total += 1;
        }
        r
    }

    /// Produce `n` blocks now; each takes every mempool transaction that is still valid.
    pub fn mine(&mut self, n: u32) -> Vec<BlockId> {
        (0..n).map(|_| self.mine_one()).collect()
    }

    fn mine_one(&mut self) -> BlockId {
        let height = self.height() + 1;
        let timestamp = self.next_timestamp();
        let context = if self.context.pre_header.timestamp == timestamp {
            self.context.clone()
        } else {
            Arc::new(self.next_context(timestamp))
        };
        let mut included = Vec::new();
        let mut spent = Vec::new();
        let mut dropped = 0;
        for entry in self.mempool.take_all() {
            let tx = entry.tx;
            let inputs: Option<Vec<ErgoBox>> = tx
                .inputs
                .iter()
                .map(|i| self.utxo.get(&i.box_id).cloned())
                .collect();
            let data: Option<Vec<ErgoBox>> = tx
                .data_inputs
                .iter()
                .flatten()
                .map(|d| self.utxo.get(&d.box_id).cloned())
                .collect();
            let (Some(inputs), Some(data)) = (inputs, data) else {
                dropped += 1;
                continue;
            };
            // A transaction validated for this very height needs no second check; one that
            // waited (or came back from a rollback) is checked again: scripts read HEIGHT.
            if entry.validated_for != height {
                let p = Prepared {
                    tx: tx.clone(),
                    inputs: inputs.clone(),
                    data_inputs: data,
                    context: context.clone(),
                };
                if let Err(e) = p.validate() {
                    tracing::info!(tx = %String::from(tx.id()), error = %e, "dropping mempool transaction at mining");
                    dropped += 1;
                    continue;
                }
            }
            for b in inputs {
                self.utxo.remove(&b.box_id());
                spent.push(b);
            }
            for out in tx.outputs.iter() {
                self.utxo.insert(out.box_id(), out.clone());
            }
            included.push(tx);
        }
        if dropped > 0 {
            tracing::info!(
                dropped,
                height,
                "mempool transactions no longer valid were dropped"
            );
        }
        let header = self.make_header(height, timestamp, &included);
        let block = Arc::new(render_block(header, included, spent));
        if let Some(log) = self.log.as_mut() {
            log.block(&block.header, &block.txs);
        }
        let id = block.header.id;
        self.by_id.insert(id, block.clone());
        self.blocks.push(block);
        self.context = Arc::new(self.next_context(self.next_timestamp_peek()));
        id
    }

    /// Drop the top `depth` blocks; their transactions go back to the mempool (before the ones
    /// already there) when they are still valid.
    pub fn rollback(&mut self, depth: u32) -> Result<Vec<BlockId>, String> {
        if depth as usize > self.blocks.len() {
            return Err(format!(
                "depth {depth} is deeper than the chain ({} blocks)",
                self.blocks.len()
            ));
        }
        let mut undone = Vec::new();
        let mut returning: Vec<Arc<Transaction>> = Vec::new();
        for _ in 0..depth {
            let block = self.blocks.pop().expect("checked depth");
            // Restore the spent boxes first, then remove every output: a box created and spent
            // inside this block must end up gone, not restored.
            for b in &block.spent {
                self.utxo.insert(b.box_id(), b.clone());
            }
            for tx in block.txs.iter() {
                for out in tx.outputs.iter() {
                    self.utxo.remove(&out.box_id());
                }
            }
            self.orphans
                .entry(block.header.height)
                .or_default()
                .push(block.header.id);
            undone.push(block.header.id);
            // Blocks are popped newest first; keep transactions in chain order.
            let mut txs = block.txs.clone();
            txs.extend(returning);
            returning = txs;
        }
        if let Some(log) = self.log.as_mut() {
            log.rollback(depth);
        }
        self.context = Arc::new(self.next_context(self.next_timestamp_peek()));
        let waiting = self.mempool.take_all();
        for tx in returning
            .into_iter()
            .chain(waiting.into_iter().map(|e| e.tx))
        {
            let _ = self.submit((*tx).clone());
        }
        Ok(undone)
    }

    /// Re-apply a logged block without validation (restart from `--state-dir`).
    pub fn replay_block(&mut self, header: Header, txs: Vec<Transaction>) -> Result<(), String> {
        let expected = self
            .tip()
            .map(|b| b.header.id)
            .unwrap_or(BlockId(Digest32::zero()));
        if header.parent_id != expected || header.height != self.height() + 1 {
            return Err(format!(
                "logged block at height {} does not extend the chain",
                header.height
            ));
        }
        let mut spent = Vec::new();
        for tx in &txs {
            for i in tx.inputs.iter() {
                let b = self.utxo.remove(&i.box_id).ok_or_else(|| {
                    format!(
                        "logged transaction spends unknown box {}",
                        String::from(i.box_id)
                    )
                })?;
                spent.push(b);
            }
            for out in tx.outputs.iter() {
                self.utxo.insert(out.box_id(), out.clone());
            }
        }
        self.last_timestamp = header.timestamp;
        let block = Arc::new(render_block(
            header,
            txs.into_iter().map(Arc::new).collect(),
            spent,
        ));
        self.by_id.insert(block.header.id, block.clone());
        self.blocks.push(block);
        self.context = Arc::new(self.next_context(self.next_timestamp_peek()));
        Ok(())
    }

    /// Forget every unconfirmed transaction (after replaying a chain log).
    pub fn clear_mempool(&mut self) {
        self.mempool.take_all();
    }

    /// Re-apply a logged rollback (restart from `--state-dir`).
    pub fn replay_rollback(&mut self, depth: u32) -> Result<(), String> {
        let log = self.log.take();
        let r = self.rollback(depth).map(|_| ());
        self.log = log;
        r
    }

    fn next_timestamp_peek(&self) -> u64 {
        now_ms().max(self.last_timestamp + 1)
    }

    /// Strictly increasing, so a block that replaces a rolled-back one gets a new id.
    fn next_timestamp(&mut self) -> u64 {
        let t = self.next_timestamp_peek();
        self.last_timestamp = t;
        t
    }

    fn parent_id(&self) -> BlockId {
        self.tip()
            .map(|b| b.header.id)
            .unwrap_or(BlockId(Digest32::zero()))
    }

    fn make_header(&self, height: u32, timestamp: u64, txs: &[Arc<Transaction>]) -> Header {
        let mut ids = Vec::with_capacity(txs.len() * 32);
        for tx in txs {
            ids.extend_from_slice(tx.id().as_ref());
        }
        let mut nonce = [0u8; 8];
        nonce[4..].copy_from_slice(&height.to_be_bytes());
        synthetic_header(
            height,
            self.parent_id(),
            timestamp,
            Digest32::from(blake2b256(&ids)),
            nonce,
        )
    }

    /// Context for validating transactions of the next block: its pre-header and the last ten
    /// headers newest first (padded with a fixed pre-genesis header on a young chain).
    fn next_context(&self, timestamp: u64) -> ErgoStateContext {
        let pre_header = PreHeader {
            version: 3,
            parent_id: self.parent_id(),
            timestamp,
            n_bits: N_BITS,
            height: self.height() + 1,
            miner_pk: Box::new(ec_point::generator()),
            votes: Votes([0, 0, 0]),
        };
        let mut headers: Vec<Header> = self
            .blocks
            .iter()
            .rev()
            .take(10)
            .map(|b| b.header.clone())
            .collect();
        while headers.len() < 10 {
            headers.push(pre_genesis_header());
        }
        let headers: [Header; 10] = headers.try_into().expect("exactly ten headers");
        ErgoStateContext::new(pre_header, headers, Parameters::default())
    }
}

fn placeholder_context() -> ErgoStateContext {
    let h = pre_genesis_header();
    ErgoStateContext::new(
        PreHeader::from(h.clone()),
        std::array::from_fn(|_| h.clone()),
        Parameters::default(),
    )
}

fn pre_genesis_header() -> Header {
    synthetic_header(0, BlockId(Digest32::zero()), 0, Digest32::zero(), [0; 8])
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn hex32(d: &Digest32) -> String {
    String::from(*d)
}

/// A section id: blake2b256(type byte ‖ header id ‖ section root), as the node computes it.
fn section_id(kind: u8, header: &Header, root: &Digest32) -> String {
    let mut data = vec![kind];
    data.extend_from_slice(header.id.0.as_ref());
    data.extend_from_slice(root.as_ref());
    hex::encode(blake2b256(&data))
}

/// The node's `BlockHeader` JSON for a devnet header.
pub fn header_json(h: &Header) -> Value {
    let size = h.scorex_serialize_bytes().map(|b| b.len()).unwrap_or(0);
    json!({
        "id": hex32(&h.id.0),
        "parentId": hex32(&h.parent_id.0),
        "version": h.version,
        "height": h.height,
        "timestamp": h.timestamp,
        "nBits": h.n_bits,
        "difficulty": "1",
        "adProofsRoot": hex32(&h.ad_proofs_root),
        "stateRoot": String::from(h.state_root),
        "transactionsRoot": hex32(&h.transaction_root),
        "extensionHash": hex32(&h.extension_root),
        "powSolutions": {
            "pk": hex::encode(h.autolykos_solution.miner_pk.scorex_serialize_bytes().unwrap_or_default()),
            "w": hex::encode(ec_point::generator().scorex_serialize_bytes().unwrap_or_default()),
            "n": hex::encode(&h.autolykos_solution.nonce),
            "d": 0
        },
        "votes": hex::encode(h.votes.0),
        "size": size,
        "extensionId": section_id(108, h, &h.extension_root),
        "transactionsId": section_id(102, h, &h.transaction_root),
        "adProofsId": section_id(104, h, &h.ad_proofs_root),
    })
}

/// The node's JSON for a transaction inside a block or the mempool (adds `size`).
pub fn tx_json(tx: &Transaction) -> Value {
    let mut v = serde_json::to_value(tx).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        let size = tx.sigma_serialize_bytes().map(|b| b.len()).unwrap_or(0);
        m.insert("size".into(), json!(size));
    }
    v
}

fn render_block(header: Header, txs: Vec<Arc<Transaction>>, spent: Vec<ErgoBox>) -> Block {
    let id = hex32(&header.id.0);
    let tx_values: Vec<Value> = txs.iter().map(|t| tx_json(t)).collect();
    let txs_size: u64 = tx_values
        .iter()
        .map(|v| v["size"].as_u64().unwrap_or(0))
        .sum();
    let header_json = header_json(&header);
    let header_size = header_json["size"].as_u64().unwrap_or(0);
    let json = json!({
        "header": header_json,
        "blockTransactions": {"headerId": id, "transactions": tx_values, "size": txs_size},
        "extension": {"headerId": id, "digest": hex32(&header.extension_root), "fields": []},
        "adProofs": {"headerId": id, "proofBytes": "", "digest": hex32(&header.ad_proofs_root), "size": 0},
        "size": header_size + txs_size,
    });
    Block {
        header,
        txs,
        spent,
        json,
        header_json,
    }
}
