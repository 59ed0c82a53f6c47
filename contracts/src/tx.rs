//! Transaction assembly: protocol inputs and outputs at exact indices, then the executor's
//! funding inputs, change and miner fee.

use std::collections::BTreeMap;

use ergo_lib::chain::transaction::unsigned::UnsignedTransaction;
use ergo_lib::chain::transaction::{DataInput, UnsignedInput};
use ergo_lib::ergotree_interpreter::sigma_protocol::prover::ContextExtension;
use ergo_lib::ergotree_ir::chain::ergo_box::{ErgoBox, ErgoBoxCandidate};
use ergo_lib::ergotree_ir::chain::token::TokenId;
use ergo_lib::ergotree_ir::ergo_tree::ErgoTree;
use ergo_lib::ergotree_ir::mir::constant::Constant;
use ergo_lib::ergotree_ir::serialization::SigmaSerializable;
use ergo_lib::wallet::miner_fee::MINERS_FEE_BASE16_BYTES;

use crate::codec::{candidate, CodecError};
use crate::util::{box_tokens, token_bytes, tokens};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error("not allowed: {0}")]
    Invalid(String),
    #[error("not enough ERG: outputs and fee need {need}, inputs hold {have}")]
    InsufficientErg { need: u64, have: u64 },
    #[error("not enough of token {token}: outputs need {need}, inputs hold {have}")]
    InsufficientTokens { token: String, need: u64, have: u64 },
    #[error("change of {0} nanoERG is below the dust minimum of the change box ({1})")]
    DustChange(u64, u64),
    #[error("transaction: {0}")]
    Tx(String),
}

pub(crate) fn invalid(msg: impl Into<String>) -> BuildError {
    BuildError::Invalid(msg.into())
}

/// Context extension with the path selector (var 0, Byte).
pub fn sel(path: i8) -> ContextExtension {
    let mut e = ContextExtension::empty();
    e.values.insert(0, Constant::from(path));
    e
}

/// Selector plus var 1 (Int): the input index of the member box.
pub fn sel_idx(path: i8, index: i32) -> ContextExtension {
    let mut e = sel(path);
    e.values.insert(1, Constant::from(index));
    e
}

/// A protocol input with its context extension.
#[derive(Debug, Clone)]
pub struct Spend {
    pub bx: ErgoBox,
    pub ext: ContextExtension,
}

/// Who executes a transaction: boxes that fund it (P2PK boxes it can sign), where the
/// remainder goes, and the miner fee.
#[derive(Debug, Clone)]
pub struct Executor {
    pub funding: Vec<ErgoBox>,
    pub change: ErgoTree,
    pub fee: u64,
}

/// The protocol part of a transaction, before the executor's funding, change and fee are added.
#[derive(Debug, Clone)]
pub struct TxDraft {
    pub height: u32,
    /// Protocol inputs at their exact indices (funding inputs follow).
    pub inputs: Vec<Spend>,
    pub data_inputs: Vec<ErgoBox>,
    /// Protocol outputs at their exact indices (change and fee follow).
    pub outputs: Vec<ErgoBoxCandidate>,
    /// Tokens deliberately burnt (kept out of the change).
    pub burn: Vec<(TokenId, u64)>,
}

/// A built transaction with everything needed to sign and validate it.
#[derive(Debug, Clone)]
pub struct TxPlan {
    pub unsigned: UnsignedTransaction,
    pub inputs: Vec<ErgoBox>,
    pub data_inputs: Vec<ErgoBox>,
    /// Index of the change output, if any.
    pub change_index: Option<usize>,
    /// What it was built from (tests re-finish altered drafts).
    pub draft: TxDraft,
}

/// Why [`fund`] found no funding that makes the builder succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FundError {
    #[error("no unspent boxes to fund the transaction")]
    NoBoxes,
    /// The builder still reports `shortfall` with every useful candidate in `chosen`.
    #[error("not enough funds: {shortfall}")]
    Short {
        shortfall: BuildError,
        chosen: Vec<ErgoBox>,
    },
    /// The builder refused for a reason funding cannot cure.
    #[error(transparent)]
    Build(BuildError),
}

/// Runs `build` with funding drawn from `candidates` (P2PK boxes the executor can sign): the
/// builders report exactly what is missing (ERG, a token, room for change), so each shortfall
/// adds the candidate that best covers it until the builder succeeds or nothing helps. With
/// `start_with_richest` the richest box is taken first (a wallet's own action, whose first input
/// may also mint a token); otherwise the protocol boxes are tried alone first (a bot whose
/// boxes pay the fee themselves needs nothing of its own).
pub fn fund(
    candidates: Vec<ErgoBox>,
    change: &ErgoTree,
    fee: u64,
    start_with_richest: bool,
    build: impl Fn(&Executor) -> Result<TxPlan, BuildError>,
) -> Result<TxPlan, FundError> {
    let mut pool = candidates;
    // Deterministic: richest first, then by id.
    pool.sort_by(|a, b| {
        b.value
            .as_u64()
            .cmp(a.value.as_u64())
            .then_with(|| a.box_id().cmp(&b.box_id()))
    });
    let mut chosen = Vec::new();
    if start_with_richest {
        if pool.is_empty() {
            return Err(FundError::NoBoxes);
        }
        chosen.push(pool.remove(0));
    }
    loop {
        let exec = Executor {
            funding: chosen.clone(),
            change: change.clone(),
            fee,
        };
        let err = match build(&exec) {
            Ok(plan) => return Ok(plan),
            Err(e) => e,
        };
        let next = match &err {
            BuildError::InsufficientErg { .. } | BuildError::DustChange(..) => {
                take_max(&mut pool, |b| *b.value.as_u64())
            }
            BuildError::InsufficientTokens { token, .. } => take_max(&mut pool, |b| {
                box_tokens(b)
                    .iter()
                    .filter(|(id, _)| hex::encode(token_bytes(id)) == *token)
                    .map(|(_, n)| *n)
                    .sum()
            }),
            _ => return Err(FundError::Build(err)),
        };
        match next {
            Some(b) => chosen.push(b),
            None => {
                return Err(FundError::Short {
                    shortfall: err,
                    chosen,
                })
            }
        }
    }
}

fn take_max(pool: &mut Vec<ErgoBox>, key: impl Fn(&ErgoBox) -> u64) -> Option<ErgoBox> {
    let (i, _) = pool
        .iter()
        .enumerate()
        .filter(|(_, b)| key(b) > 0)
        .max_by_key(|(_, b)| key(b))?;
    Some(pool.remove(i))
}

/// The miner-fee tree.
pub fn miner_fee_tree() -> ErgoTree {
    #[allow(clippy::expect_used)] // a constant, well-formed tree
    let bytes = hex::decode(MINERS_FEE_BASE16_BYTES).expect("hex");
    #[allow(clippy::expect_used)]
    ErgoTree::sigma_parse_bytes(&bytes).expect("miner fee tree")
}

impl TxDraft {
    pub fn new(height: u32) -> TxDraft {
        TxDraft {
            height,
            inputs: vec![],
            data_inputs: vec![],
            outputs: vec![],
            burn: vec![],
        }
    }

    /// Adds the executor's funding, a change box for whatever ERG and tokens are left, and the
    /// fee. A token missing from the inputs may only be the one minted (id = first input's id).
    pub fn finish(self, exec: &Executor) -> Result<TxPlan, BuildError> {
        let mut inputs: Vec<ErgoBox> = self.inputs.iter().map(|s| s.bx.clone()).collect();
        inputs.extend(exec.funding.iter().cloned());
        let first = inputs
            .first()
            .ok_or_else(|| invalid("a transaction needs an input"))?
            .box_id();
        let minted: TokenId = first.into();

        let have: u64 = inputs.iter().map(|b| *b.value.as_u64()).sum();
        let spent: u64 = self.outputs.iter().map(|b| *b.value.as_u64()).sum::<u64>() + exec.fee;
        if spent > have {
            return Err(BuildError::InsufficientErg { need: spent, have });
        }
        let mut left: BTreeMap<Vec<u8>, (TokenId, i128)> = BTreeMap::new();
        let mut add = |id: TokenId, n: i128| {
            left.entry(token_bytes(&id)).or_insert((id, 0)).1 += n;
        };
        for b in &inputs {
            for (id, n) in box_tokens(b) {
                add(id, n as i128);
            }
        }
        for o in &self.outputs {
            for t in o.tokens.iter().flatten() {
                add(t.token_id, -(*t.amount.as_u64() as i128));
            }
        }
        for (id, n) in &self.burn {
            add(*id, -(*n as i128));
        }
        let mut change_tokens = vec![];
        for (id, n) in left.into_values() {
            if n < 0 && id != minted {
                let need = (-n) as u64;
                return Err(BuildError::InsufficientTokens {
                    token: hex::encode(token_bytes(&id)),
                    need,
                    have: 0,
                });
            }
            if n > 0 {
                change_tokens.push((id, n as u64));
            }
        }

        let mut outputs = self.outputs.clone();
        let mut change_value = have - spent;
        let mut fee = exec.fee;
        let mut change_index = None;
        if change_value > 0 || !change_tokens.is_empty() {
            let c = candidate(
                "change",
                exec.change.clone(),
                change_value,
                tokens(&change_tokens),
                vec![],
                self.height,
            )?;
            if *c.value.as_u64() > change_value {
                if change_tokens.is_empty() {
                    // too little to keep: the miner gets it
                    fee += change_value;
                    change_value = 0;
                } else {
                    return Err(BuildError::DustChange(change_value, *c.value.as_u64()));
                }
            }
            if change_value > 0 {
                change_index = Some(outputs.len());
                outputs.push(c);
            }
        }
        if fee > 0 {
            outputs.push(candidate(
                "fee",
                miner_fee_tree(),
                fee,
                None,
                vec![],
                self.height,
            )?);
        }
        let mut unsigned_inputs: Vec<UnsignedInput> = self
            .inputs
            .iter()
            .map(|s| UnsignedInput::new(s.bx.box_id(), s.ext.clone()))
            .collect();
        unsigned_inputs.extend(
            exec.funding
                .iter()
                .map(|b| UnsignedInput::new(b.box_id(), ContextExtension::empty())),
        );
        let data: Vec<DataInput> = self
            .data_inputs
            .iter()
            .map(|b| DataInput { box_id: b.box_id() })
            .collect();
        let unsigned = UnsignedTransaction::new_from_vec(unsigned_inputs, data, outputs)
            .map_err(|e| BuildError::Tx(e.to_string()))?;
        Ok(TxPlan {
            unsigned,
            inputs,
            data_inputs: self.data_inputs.clone(),
            change_index,
            draft: self,
        })
    }
}
