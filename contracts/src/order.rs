//! Order box: a consumer's request for GPU time with a GPUC budget.

use ergo_lib::ergotree_ir::chain::ergo_box::{ErgoBox, ErgoBoxCandidate};
use ergo_lib::ergotree_ir::chain::token::TokenId;
use ergo_lib::ergotree_ir::mir::constant::Constant;
use ergo_lib::ergotree_ir::sigma_protocol::sigma_boolean::ProveDlog;

use crate::capacity::Capacity;
use crate::codec::{bad, candidate, expect_tree, tok_err, toks, utf8, BoxKind, CodecError, Regs};
use crate::trees::{Contracts, Kind};
use crate::util::{sigma_const, token_bytes, token_id, tokens};

const K: &str = "order";

/// R5 `[maxPricePerHour, hours, minVramMiB, minGpuCount, minBenchmarkScore, expiryHeight,
/// matcherFeeCap, leaseExecFeeCap, memoryMiB, cpuMillis, pids, diskMiB]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderTerms {
    pub max_price_per_hour: i64,
    pub hours: i64,
    pub min_vram_mib: i64,
    pub min_gpu_count: i64,
    pub min_benchmark_score: i64,
    pub expiry_height: i64,
    pub matcher_fee_cap: i64,
    pub lease_exec_fee_cap: i64,
    /// R5[8..11]: the job's requests (0 = none); a match needs the listing's limits ≥ each
    /// (the fit rule, [`crate::capacity`]).
    pub requests: Capacity,
}

/// Elements of an order's R5.
pub const TERMS_LEN: usize = 12;

impl OrderTerms {
    pub fn to_vec(self) -> Vec<i64> {
        let mut v = vec![
            self.max_price_per_hour,
            self.hours,
            self.min_vram_mib,
            self.min_gpu_count,
            self.min_benchmark_score,
            self.expiry_height,
            self.matcher_fee_cap,
            self.lease_exec_fee_cap,
        ];
        v.extend(self.requests.to_vec());
        v
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// ERG that funds the lease box, the refund box and the matcher.
    pub value: u64,
    /// tokens(0): (GPUC, budget).
    pub budget: u64,
    /// R4.
    pub consumer: ProveDlog,
    /// R5.
    pub terms: OrderTerms,
    /// R6[0]: the one listing wanted, or any.
    pub listing: Option<TokenId>,
    /// R6[1], R6[2]: required model / region, or any.
    pub model: Option<String>,
    pub region: Option<String>,
    /// R6[3].
    pub job_spec_hash: Vec<u8>,
}

impl BoxKind for Order {
    const KIND: Kind = Kind::Order;

    fn parse(c: &Contracts, b: &ErgoBox) -> Result<Order, CodecError> {
        expect_tree(K, b, &c.order)?;
        let budget = match toks(b).as_slice() {
            [(id, a)] if *id == c.params.gpuc_id => *a,
            _ => return Err(tok_err(K, "expected exactly (GPUC, budget)")),
        };
        let r = Regs {
            kind: K,
            regs: &b.additional_registers,
        };
        let v = r.longs(5, TERMS_LEN)?;
        let terms = OrderTerms {
            max_price_per_hour: v[0],
            hours: v[1],
            min_vram_mib: v[2],
            min_gpu_count: v[3],
            min_benchmark_score: v[4],
            expiry_height: v[5],
            matcher_fee_cap: v[6],
            lease_exec_fee_cap: v[7],
            requests: Capacity::from_slice(&v[8..]),
        };
        let w = r.bytess(6, 4)?;
        let listing = match w[0].len() {
            0 => None,
            32 => Some(token_id(w[0].clone().try_into().unwrap_or([0; 32]))),
            _ => return Err(bad(K, "R6[0] listing", "neither empty nor 32 bytes")),
        };
        let opt = |f, v: &Vec<u8>| -> Result<Option<String>, CodecError> {
            if v.is_empty() {
                Ok(None)
            } else {
                utf8(K, f, v.clone()).map(Some)
            }
        };
        Ok(Order {
            value: *b.value.as_u64(),
            budget,
            consumer: r.owner(4)?,
            terms,
            listing,
            model: opt("R6[1] model", &w[1])?,
            region: opt("R6[2] region", &w[2])?,
            job_spec_hash: w[3].clone(),
        })
    }
}

impl Order {
    /// Checks what a match relies on.
    pub fn check(&self) -> Result<(), CodecError> {
        let t = &self.terms;
        if t.max_price_per_hour <= 0 || t.hours <= 0 {
            return Err(bad(K, "R5", "max price and hours must be > 0"));
        }
        if t.matcher_fee_cap < 0 || t.lease_exec_fee_cap < 0 {
            return Err(bad(K, "R5[6..7] fee caps", "negative"));
        }
        if let Some(f) = t.requests.negative() {
            return Err(bad(K, "R5[8..11] requests", format!("{f} is negative")));
        }
        if self.job_spec_hash.len() != 32 {
            return Err(bad(K, "R6[3] job-spec hash", "must be 32 bytes"));
        }
        let need = t.max_price_per_hour.checked_mul(t.hours);
        if need.is_none_or(|n| (self.budget as i128) < n as i128) {
            return Err(bad(K, "budget", "below maxPricePerHour × hours"));
        }
        Ok(())
    }

    pub fn to_candidate(&self, c: &Contracts, height: u32) -> Result<ErgoBoxCandidate, CodecError> {
        let s = |o: &Option<String>| {
            o.as_ref()
                .map(|s| s.as_bytes().to_vec())
                .unwrap_or_default()
        };
        let w = vec![
            self.listing.map(|id| token_bytes(&id)).unwrap_or_default(),
            s(&self.model),
            s(&self.region),
            self.job_spec_hash.clone(),
        ];
        candidate(
            K,
            c.order.clone(),
            self.value,
            tokens(&[(c.params.gpuc_id, self.budget)]),
            vec![
                sigma_const(&self.consumer),
                Constant::from(self.terms.to_vec()),
                Constant::from(w),
            ],
            height,
        )
    }
}
