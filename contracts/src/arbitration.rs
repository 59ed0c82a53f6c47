//! Arbitration box: a disputed lease's funds, split by a k-of-n committee.

use ergo_lib::ergotree_ir::chain::ergo_box::{ErgoBox, ErgoBoxCandidate};
use ergo_lib::ergotree_ir::mir::constant::Constant;
use ergo_lib::ergotree_ir::sigma_protocol::sigma_boolean::ProveDlog;

use crate::codec::{candidate, expect_tree, tok_err, toks, BoxKind, CodecError, Regs};
use crate::trees::{Contracts, Kind};
use crate::util::{sigma_const, tokens};

const K: &str = "arbitration";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arbitration {
    pub value: u64,
    /// tokens(0): (GPUC, payment + collateral).
    pub amount: u64,
    /// R4, R5.
    pub consumer: ProveDlog,
    pub provider: ProveDlog,
    /// R6 `[payment, collateral, claimedPay, execFeeCap, timeout]`.
    pub payment: i64,
    pub collateral: i64,
    pub claimed_pay: i64,
    pub exec_fee_cap: i64,
    pub timeout: i64,
    /// R7: id of the disputed lease box.
    pub lease_id: Vec<u8>,
}

impl BoxKind for Arbitration {
    const KIND: Kind = Kind::Arbitration;

    fn parse(c: &Contracts, b: &ErgoBox) -> Result<Arbitration, CodecError> {
        expect_tree(K, b, &c.arbitration)?;
        let amount = match toks(b).as_slice() {
            [(id, a)] if *id == c.params.gpuc_id => *a,
            _ => return Err(tok_err(K, "expected exactly (GPUC, payment + collateral)")),
        };
        let r = Regs {
            kind: K,
            regs: &b.additional_registers,
        };
        let a = r.longs(6, 5)?;
        Ok(Arbitration {
            value: *b.value.as_u64(),
            amount,
            consumer: r.owner(4)?,
            provider: r.owner(5)?,
            payment: a[0],
            collateral: a[1],
            claimed_pay: a[2],
            exec_fee_cap: a[3],
            timeout: a[4],
            lease_id: r.bytes(7)?,
        })
    }
}

impl Arbitration {
    pub fn to_candidate(&self, c: &Contracts, height: u32) -> Result<ErgoBoxCandidate, CodecError> {
        candidate(
            K,
            c.arbitration.clone(),
            self.value,
            tokens(&[(c.params.gpuc_id, self.amount)]),
            vec![
                sigma_const(&self.consumer),
                sigma_const(&self.provider),
                Constant::from(vec![
                    self.payment,
                    self.collateral,
                    self.claimed_pay,
                    self.exec_fee_cap,
                    self.timeout,
                ]),
                Constant::from(self.lease_id.clone()),
            ],
            height,
        )
    }
}
