//! Lease box: escrow of one job (consumer payment + provider collateral slice).

use ergo_lib::ergotree_ir::chain::ergo_box::{ErgoBox, ErgoBoxCandidate};
use ergo_lib::ergotree_ir::mir::constant::Constant;
use ergo_lib::ergotree_ir::sigma_protocol::sigma_boolean::ProveDlog;

use crate::codec::{bad, candidate, expect_tree, tok_err, toks, BoxKind, CodecError, Regs};
use crate::trees::{Contracts, Kind};
use crate::util::{sigma_const, tokens, BLOCKS_PER_HOUR};

const K: &str = "lease";

/// R6 `[price, hours, payment, collateral, start, deadline, execFeeCap, usedBlocks, completedAt]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTerms {
    pub price_per_hour: i64,
    pub hours: i64,
    pub payment: i64,
    pub collateral: i64,
    pub start: i64,
    pub deadline: i64,
    pub exec_fee_cap: i64,
    /// −1 until completed.
    pub used_blocks: i64,
    /// −1 until completed.
    pub completed_at: i64,
}

impl LeaseTerms {
    pub(crate) fn to_vec(self) -> Vec<i64> {
        vec![
            self.price_per_hour,
            self.hours,
            self.payment,
            self.collateral,
            self.start,
            self.deadline,
            self.exec_fee_cap,
            self.used_blocks,
            self.completed_at,
        ]
    }

    pub fn completed(&self) -> bool {
        self.completed_at >= 0
    }

    /// The provider's pay after completion: `min(payment, price·used/30)` (v2: no minimum; a
    /// job that never ran is completed with 0 used blocks and costs the consumer nothing).
    pub fn pay(&self) -> i64 {
        let pro_rata = self.price_per_hour * self.used_blocks.max(0) / BLOCKS_PER_HOUR;
        pro_rata.min(self.payment)
    }

    /// The most used blocks a completion in block `height` may claim: the hours bought, and no
    /// more blocks than have passed since the start.
    pub fn max_used_blocks(&self, height: u32) -> i64 {
        (self.hours * BLOCKS_PER_HOUR)
            .min(height as i64 - self.start)
            .max(0)
    }

    /// Where the lease stands at `height` (after a block at `height` is the next to come).
    pub fn phase(&self, height: u32, challenge_window: i64) -> LeasePhase {
        let h = height as i64;
        if !self.completed() {
            if h <= self.deadline {
                LeasePhase::Running
            } else {
                LeasePhase::Overdue
            }
        } else if h <= self.completed_at + challenge_window {
            LeasePhase::Challengeable
        } else {
            LeasePhase::Finalisable
        }
    }
}

/// The phases of a lease box, by the paths open to a transaction in block `height`
/// (one definition: the builders, bots, worker, indexer and API use this).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeasePhase {
    /// Not completed, `HEIGHT ≤ deadline`: the provider may complete.
    Running,
    /// Not completed, past the deadline: anyone may slash.
    Overdue,
    /// Completed, inside the challenge window: the consumer may accept or dispute.
    Challengeable,
    /// Completed, after the window: anyone may finalise (the consumer may still accept).
    Finalisable,
}

/// Path selectors (context variable 0) of the lease script.
pub mod path {
    pub const COMPLETE: i8 = 0;
    pub const FINALISE: i8 = 1;
    pub const ACCEPT: i8 = 2;
    pub const DISPUTE: i8 = 3;
    pub const SLASH: i8 = 4;
    pub const CANCEL: i8 = 5;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub value: u64,
    /// tokens(0): (GPUC, payment + collateral).
    pub amount: u64,
    /// R4, R5.
    pub consumer: ProveDlog,
    pub provider: ProveDlog,
    /// R6.
    pub terms: LeaseTerms,
    /// R7.
    pub job_spec_hash: Vec<u8>,
    /// R8.
    pub listing_nft: Vec<u8>,
    /// R9: empty until completed, then 32 bytes.
    pub usage_commitment: Vec<u8>,
}

impl BoxKind for Lease {
    const KIND: Kind = Kind::Lease;

    fn parse(c: &Contracts, b: &ErgoBox) -> Result<Lease, CodecError> {
        expect_tree(K, b, &c.lease)?;
        let amount = match toks(b).as_slice() {
            [(id, a)] if *id == c.params.gpuc_id => *a,
            _ => return Err(tok_err(K, "expected exactly (GPUC, payment + collateral)")),
        };
        let r = Regs {
            kind: K,
            regs: &b.additional_registers,
        };
        let v = r.longs(6, 9)?;
        let terms = LeaseTerms {
            price_per_hour: v[0],
            hours: v[1],
            payment: v[2],
            collateral: v[3],
            start: v[4],
            deadline: v[5],
            exec_fee_cap: v[6],
            used_blocks: v[7],
            completed_at: v[8],
        };
        let job_spec_hash = r.bytes(7)?;
        if job_spec_hash.len() != 32 {
            return Err(bad(K, "R7", "the job-spec hash must be 32 bytes"));
        }
        let usage_commitment = r.bytes(9)?;
        if !(usage_commitment.is_empty() || usage_commitment.len() == 32) {
            return Err(bad(
                K,
                "R9",
                "the usage commitment must be empty or 32 bytes",
            ));
        }
        if terms.payment + terms.collateral != amount as i64 {
            return Err(bad(
                K,
                "R6[2..3]",
                "payment + collateral differs from the GPUC held",
            ));
        }
        Ok(Lease {
            value: *b.value.as_u64(),
            amount,
            consumer: r.owner(4)?,
            provider: r.owner(5)?,
            terms,
            job_spec_hash,
            listing_nft: r.bytes(8)?,
            usage_commitment,
        })
    }
}

impl Lease {
    pub fn to_candidate(&self, c: &Contracts, height: u32) -> Result<ErgoBoxCandidate, CodecError> {
        candidate(
            K,
            c.lease.clone(),
            self.value,
            tokens(&[(c.params.gpuc_id, self.amount)]),
            vec![
                sigma_const(&self.consumer),
                sigma_const(&self.provider),
                Constant::from(self.terms.to_vec()),
                Constant::from(self.job_spec_hash.clone()),
                Constant::from(self.listing_nft.clone()),
                Constant::from(self.usage_commitment.clone()),
            ],
            height,
        )
    }
}
