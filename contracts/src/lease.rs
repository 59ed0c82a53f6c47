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

    /// The provider's pay after completion: `min(payment, max(price, price·used/30))`.
    pub fn pay(&self) -> i64 {
        let pro_rata = self.price_per_hour * self.used_blocks / BLOCKS_PER_HOUR;
        pro_rata.max(self.price_per_hour).min(self.payment)
    }
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
            job_spec_hash: r.bytes(7)?,
            listing_nft: r.bytes(8)?,
            usage_commitment: r.bytes(9)?,
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
