//! Shared codec machinery: errors, register reading with type checks, candidate assembly.

use std::sync::Arc;

use ergo_lib::ergotree_ir::chain::ergo_box::box_value::BoxValue;
use ergo_lib::ergotree_ir::chain::ergo_box::{
    BoxTokens, ErgoBox, ErgoBoxCandidate, NonMandatoryRegisterId, NonMandatoryRegisters,
};
use ergo_lib::ergotree_ir::chain::token::TokenId;
use ergo_lib::ergotree_ir::chain::tx_id::TxId;
use ergo_lib::ergotree_ir::ergo_tree::ErgoTree;
use ergo_lib::ergotree_ir::mir::constant::{Constant, Literal, TryExtractFrom, TryExtractInto};
use ergo_lib::ergotree_ir::serialization::SigmaSerializable;
use ergo_lib::ergotree_ir::sigma_protocol::sigma_boolean::{ProveDlog, SigmaProp};
use ergo_lib::ergotree_ir::types::stype::SType;

use crate::trees::{Contracts, Kind};
use crate::util::{prove_dlog, MIN_VALUE_PER_BYTE};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("{kind}: wrong tree: {reason}")]
    WrongTree { kind: &'static str, reason: String },
    #[error("{kind}: register {reg} is missing")]
    MissingRegister {
        kind: &'static str,
        reg: &'static str,
    },
    #[error("{kind}: register {reg} has type {found}, expected {expected}")]
    WrongType {
        kind: &'static str,
        reg: &'static str,
        expected: &'static str,
        found: String,
    },
    #[error("{kind}: {field}: {reason}")]
    BadValue {
        kind: &'static str,
        field: &'static str,
        reason: String,
    },
    #[error("{kind}: tokens: {reason}")]
    Tokens { kind: &'static str, reason: String },
    #[error("{kind}: cannot build the box: {reason}")]
    Build { kind: &'static str, reason: String },
}

pub(crate) fn bad(
    kind: &'static str,
    field: &'static str,
    reason: impl Into<String>,
) -> CodecError {
    CodecError::BadValue {
        kind,
        field,
        reason: reason.into(),
    }
}

pub(crate) fn tok_err(kind: &'static str, reason: impl Into<String>) -> CodecError {
    CodecError::Tokens {
        kind,
        reason: reason.into(),
    }
}

/// A protocol box kind with one codec.
pub trait BoxKind: Sized {
    const KIND: Kind;
    /// Parses and checks a box of this kind.
    fn parse(c: &Contracts, b: &ErgoBox) -> Result<Self, CodecError>;
}

/// A box together with its parsed form: what builders take.
#[derive(Debug, Clone)]
pub struct Typed<T> {
    pub bx: ErgoBox,
    pub v: T,
}

impl<T: BoxKind> Typed<T> {
    pub fn parse(c: &Contracts, bx: ErgoBox) -> Result<Typed<T>, CodecError> {
        let v = T::parse(c, &bx)?;
        Ok(Typed { bx, v })
    }
}

/// Requires `b` to be guarded exactly by `tree`. Structural equality of parsed trees is byte
/// equality (serialisation is deterministic) and needs no serialisation: indexing decodes many
/// boxes, and serialising a tree with group elements costs field inversions.
pub(crate) fn expect_tree(
    kind: &'static str,
    b: &ErgoBox,
    tree: &ErgoTree,
) -> Result<(), CodecError> {
    if b.ergo_tree != *tree {
        return Err(CodecError::WrongTree {
            kind,
            reason: "not this deployment's script".into(),
        });
    }
    Ok(())
}

const REG_NAMES: [&str; 6] = ["R4", "R5", "R6", "R7", "R8", "R9"];

fn reg_id(r: usize) -> NonMandatoryRegisterId {
    match r {
        4 => NonMandatoryRegisterId::R4,
        5 => NonMandatoryRegisterId::R5,
        6 => NonMandatoryRegisterId::R6,
        7 => NonMandatoryRegisterId::R7,
        8 => NonMandatoryRegisterId::R8,
        _ => NonMandatoryRegisterId::R9,
    }
}

/// Typed reads of a box's registers R4..R9 (`r` is the register number).
pub(crate) struct Regs<'a> {
    pub kind: &'static str,
    pub regs: &'a NonMandatoryRegisters,
}

fn coll(t: SType) -> SType {
    SType::SColl(Arc::new(t))
}

impl Regs<'_> {
    fn typed(&self, r: usize, tpe: SType, expected: &'static str) -> Result<Constant, CodecError> {
        let reg = REG_NAMES[r - 4];
        let c = self
            .regs
            .get_constant(reg_id(r))
            .map_err(|e| CodecError::WrongType {
                kind: self.kind,
                reg,
                expected,
                found: format!("unparseable ({e})"),
            })?
            .ok_or(CodecError::MissingRegister {
                kind: self.kind,
                reg,
            })?;
        if c.tpe != tpe {
            return Err(CodecError::WrongType {
                kind: self.kind,
                reg,
                expected,
                found: format!("{:?}", c.tpe),
            });
        }
        Ok(c)
    }

    fn extract<T: TryExtractFrom<Literal>>(&self, r: usize, c: Constant) -> Result<T, CodecError> {
        c.v.try_extract_into::<T>()
            .map_err(|e| bad(self.kind, REG_NAMES[r - 4], e.to_string()))
    }

    pub fn long(&self, r: usize) -> Result<i64, CodecError> {
        let c = self.typed(r, SType::SLong, "Long")?;
        self.extract(r, c)
    }

    /// An optional Long: absent is `None`; present of any other type is an error (the
    /// scripts' typed read fails on it too).
    pub fn opt_long(&self, r: usize) -> Result<Option<i64>, CodecError> {
        match self.long(r) {
            Err(CodecError::MissingRegister { .. }) => Ok(None),
            x => x.map(Some),
        }
    }

    pub fn longs(&self, r: usize, len: usize) -> Result<Vec<i64>, CodecError> {
        let c = self.typed(r, coll(SType::SLong), "Coll[Long]")?;
        let v: Vec<i64> = self.extract(r, c)?;
        if v.len() != len {
            return Err(bad(
                self.kind,
                REG_NAMES[r - 4],
                format!("{} elements, expected {len}", v.len()),
            ));
        }
        Ok(v)
    }

    pub fn bytes(&self, r: usize) -> Result<Vec<u8>, CodecError> {
        let c = self.typed(r, coll(SType::SByte), "Coll[Byte]")?;
        self.extract(r, c)
    }

    pub fn bytess(&self, r: usize, len: usize) -> Result<Vec<Vec<u8>>, CodecError> {
        let c = self.typed(r, coll(coll(SType::SByte)), "Coll[Coll[Byte]]")?;
        let v: Vec<Vec<u8>> = self.extract(r, c)?;
        if v.len() != len {
            return Err(bad(
                self.kind,
                REG_NAMES[r - 4],
                format!("{} elements, expected {len}", v.len()),
            ));
        }
        Ok(v)
    }

    pub fn owner(&self, r: usize) -> Result<ProveDlog, CodecError> {
        let c = self.typed(r, SType::SSigmaProp, "SigmaProp")?;
        let sp: SigmaProp = self.extract(r, c)?;
        prove_dlog(&sp)
            .ok_or_else(|| bad(self.kind, REG_NAMES[r - 4], "not a single proveDlog key"))
    }
}

pub(crate) fn utf8(
    kind: &'static str,
    field: &'static str,
    b: Vec<u8>,
) -> Result<String, CodecError> {
    String::from_utf8(b).map_err(|_| bad(kind, field, "not UTF-8"))
}

/// Serialized size of a candidate as a box (what the dust rule charges for).
pub fn box_size(c: &ErgoBoxCandidate) -> u64 {
    ErgoBox::from_box_candidate(c, TxId::zero(), 0)
        .ok()
        .and_then(|b| b.sigma_serialize_bytes().ok())
        .map(|v| v.len() as u64)
        .unwrap_or(4096)
}

/// The least value the dust rule accepts for this candidate.
pub fn min_value(c: &ErgoBoxCandidate) -> u64 {
    box_size(c) * MIN_VALUE_PER_BYTE
}

/// Builds a candidate; `value` is raised to the dust minimum when below it.
pub fn candidate(
    kind: &'static str,
    tree: ErgoTree,
    value: u64,
    tokens: Option<BoxTokens>,
    regs: Vec<Constant>,
    height: u32,
) -> Result<ErgoBoxCandidate, CodecError> {
    let additional_registers =
        NonMandatoryRegisters::try_from(regs).map_err(|e| CodecError::Build {
            kind,
            reason: e.to_string(),
        })?;
    let mut c = ErgoBoxCandidate {
        value: BoxValue::new(value.max(BoxValue::MIN_RAW)).map_err(|e| CodecError::Build {
            kind,
            reason: e.to_string(),
        })?,
        ergo_tree: tree,
        tokens,
        additional_registers,
        creation_height: height,
    };
    // the size depends on the value's own VLQ length: raise until it is stable
    loop {
        let min = min_value(&c);
        if *c.value.as_u64() >= min {
            return Ok(c);
        }
        c.value = BoxValue::new(min).map_err(|e| CodecError::Build {
            kind,
            reason: e.to_string(),
        })?;
    }
}

/// Token list of a box as `(id, amount)`; checks nothing.
pub(crate) fn toks(b: &ErgoBox) -> Vec<(TokenId, u64)> {
    crate::util::box_tokens(b)
}
