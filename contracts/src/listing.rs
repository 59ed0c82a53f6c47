//! Listing box: a provider's GPU offer with its NFT and GPUC collateral stake.

use ergo_lib::ergotree_ir::chain::ergo_box::{ErgoBox, ErgoBoxCandidate};
use ergo_lib::ergotree_ir::chain::token::TokenId;
use ergo_lib::ergotree_ir::mir::constant::Constant;
use ergo_lib::ergotree_ir::sigma_protocol::sigma_boolean::ProveDlog;

use crate::capacity::Capacity;
use crate::codec::{bad, candidate, expect_tree, tok_err, toks, utf8, BoxKind, CodecError, Regs};
use crate::trees::{Contracts, Kind};
use crate::util::{sigma_const, tokens};

const K: &str = "listing";

/// R5 `[pricePerHour, collateralPerHour, minHours, maxHours, vramMiB, gpuCount, benchmarkScore,
/// maxMemoryMiB, maxCpuMillis, maxPids, maxDiskMiB]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListingTerms {
    pub price_per_hour: i64,
    pub collateral_per_hour: i64,
    pub min_hours: i64,
    pub max_hours: i64,
    pub vram_mib: i64,
    pub gpu_count: i64,
    pub benchmark_score: i64,
    /// R5[7..10]: the limits the provider's worker enforces on a job (the fit rule,
    /// [`crate::capacity`]).
    pub limits: Capacity,
}

/// Elements of a listing's R5.
pub const TERMS_LEN: usize = 11;

impl ListingTerms {
    pub fn to_vec(self) -> Vec<i64> {
        let mut v = vec![
            self.price_per_hour,
            self.collateral_per_hour,
            self.min_hours,
            self.max_hours,
            self.vram_mib,
            self.gpu_count,
            self.benchmark_score,
        ];
        v.extend(self.limits.to_vec());
        v
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub value: u64,
    /// tokens(0): the listing NFT.
    pub nft: TokenId,
    /// tokens(1): GPUC stake (0 = no second token).
    pub stake: u64,
    /// R4.
    pub provider: ProveDlog,
    /// R5.
    pub terms: ListingTerms,
    /// R6 `[model, region, workerEndpoint]`.
    pub model: String,
    pub region: String,
    pub endpoint: String,
    /// R7 `busyUntil` (optional Long): the deadline of the lease the last match created; the
    /// listing is matched again only above it (the busy rule, [`crate::capacity`]).
    pub busy_until: Option<i64>,
}

impl BoxKind for Listing {
    const KIND: Kind = Kind::Listing;

    fn parse(c: &Contracts, b: &ErgoBox) -> Result<Listing, CodecError> {
        expect_tree(K, b, &c.listing)?;
        let t = toks(b);
        let (nft, n) = *t.first().ok_or_else(|| tok_err(K, "no listing NFT"))?;
        if n != 1 {
            return Err(tok_err(K, format!("NFT amount {n}")));
        }
        let stake = match t.get(1) {
            None => 0,
            Some((id, a)) if *id == c.params.gpuc_id => *a,
            Some(_) => return Err(tok_err(K, "tokens(1) is not GPUC")),
        };
        if t.len() > 2 {
            return Err(tok_err(K, "more than 2 tokens"));
        }
        let r = Regs {
            kind: K,
            regs: &b.additional_registers,
        };
        let v = r.longs(5, TERMS_LEN)?;
        let terms = ListingTerms {
            price_per_hour: v[0],
            collateral_per_hour: v[1],
            min_hours: v[2],
            max_hours: v[3],
            vram_mib: v[4],
            gpu_count: v[5],
            benchmark_score: v[6],
            limits: Capacity::from_slice(&v[7..]),
        };
        let mut s = r.bytess(6, 3)?.into_iter();
        let mut next = |f| utf8(K, f, s.next().unwrap_or_default());
        Ok(Listing {
            value: *b.value.as_u64(),
            nft,
            stake,
            provider: r.owner(4)?,
            terms,
            model: next("R6[0] model")?,
            region: next("R6[1] region")?,
            endpoint: next("R6[2] endpoint")?,
            busy_until: r.opt_long(7)?,
        })
    }
}

impl Listing {
    /// Checks the terms a match relies on (positive price, sane hours).
    pub fn check(&self) -> Result<(), CodecError> {
        let t = &self.terms;
        if t.price_per_hour <= 0 {
            return Err(bad(K, "R5[0] price", "must be > 0"));
        }
        if t.collateral_per_hour < 0 {
            return Err(bad(K, "R5[1] collateral", "negative"));
        }
        if t.min_hours < 1 || t.max_hours < t.min_hours {
            return Err(bad(K, "R5[2..3] hours", "need 1 <= min <= max"));
        }
        if let Some(f) = t.limits.negative() {
            return Err(bad(K, "R5[7..10] limits", format!("{f} is negative")));
        }
        Ok(())
    }

    /// Whether a match in block `height` may take this listing (the busy rule).
    pub fn free_at(&self, height: u32) -> bool {
        crate::capacity::free_at(self.busy_until, height)
    }

    pub fn to_candidate(&self, c: &Contracts, height: u32) -> Result<ErgoBoxCandidate, CodecError> {
        let spec: Vec<Vec<u8>> = [&self.model, &self.region, &self.endpoint]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        let mut regs = vec![
            sigma_const(&self.provider),
            Constant::from(self.terms.to_vec()),
            Constant::from(spec),
        ];
        regs.extend(self.busy_until.map(Constant::from));
        candidate(
            K,
            c.listing.clone(),
            self.value,
            tokens(&[(self.nft, 1), (c.params.gpuc_id, self.stake)]),
            regs,
            height,
        )
    }
}
