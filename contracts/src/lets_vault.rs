//! LETS vault box: the GPUC reserve singleton, with the stable reserve it bought credit with;
//! plus the credit rule of its credit path (one implementation, used by the builders, the relay
//! and the tests).

use ergo_lib::ergotree_ir::chain::ergo_box::{ErgoBox, ErgoBoxCandidate};
use ergo_lib::ergotree_ir::chain::token::TokenId;
use num_bigint::BigInt;

use crate::codec::{candidate, expect_tree, tok_err, toks, BoxKind, CodecError};
use crate::lets_member::{amount_in, Prices};
use crate::trees::{Contracts, Kind, ProtocolParams};
use crate::util::tokens;

const K: &str = "lets_vault";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vault {
    pub value: u64,
    /// tokens(1): GPUC not in circulation.
    pub reserve: u64,
    /// tokens(2): membership tokens not yet issued.
    pub stock: u64,
    /// tokens(3..): listed assets taken for credit (each with `credit_pct > 0`, no id twice, no
    /// zero amount), in the order the box holds them.
    pub stable: Vec<(TokenId, u64)>,
}

impl BoxKind for Vault {
    const KIND: Kind = Kind::LetsVault;

    fn parse(c: &Contracts, b: &ErgoBox) -> Result<Vault, CodecError> {
        expect_tree(K, b, &c.lets_vault)?;
        let p = &c.params;
        let t = toks(b);
        let (head, stable) = t.split_at(t.len().min(3));
        let [(n, 1), (g, reserve), (m, stock)] = head else {
            return Err(tok_err(
                K,
                "expected (vault NFT, 1), (GPUC, reserve), (MEMBERSHIP_ID, stock) first",
            ));
        };
        if (*n, *g, *m) != (p.vault_nft, p.gpuc_id, p.membership_id) {
            return Err(tok_err(
                K,
                "expected (vault NFT, 1), (GPUC, reserve), (MEMBERSHIP_ID, stock) first",
            ));
        }
        for (i, (id, _)) in stable.iter().enumerate() {
            if p.credit_asset(id).is_none() {
                return Err(tok_err(
                    K,
                    format!("token {} is not an asset the vault takes for credit", i + 3),
                ));
            }
            if stable[..i].iter().any(|(o, _)| o == id) {
                return Err(tok_err(K, format!("token {} repeats an asset", i + 3)));
            }
        }
        Ok(Vault {
            value: *b.value.as_u64(),
            reserve: *reserve,
            stock: *stock,
            stable: stable.to_vec(),
        })
    }
}

impl Vault {
    pub fn to_candidate(&self, c: &Contracts, height: u32) -> Result<ErgoBoxCandidate, CodecError> {
        let p = &c.params;
        // the vault always carries all three tokens: a zero reserve or stock cannot be encoded
        if self.reserve == 0 || self.stock == 0 {
            return Err(tok_err(K, "reserve and stock must stay > 0"));
        }
        let mut t = vec![
            (p.vault_nft, 1),
            (p.gpuc_id, self.reserve),
            (p.membership_id, self.stock),
        ];
        t.extend(self.stable.iter().copied());
        candidate(
            K,
            c.lets_vault.clone(),
            self.value,
            tokens(&t),
            vec![],
            height,
        )
    }

    /// Base units of `id` in the stable reserve (0 when none).
    pub fn stable_amount(&self, id: &TokenId) -> u64 {
        amount_in(&self.stable, id)
    }

    /// This vault with `add` taken into its stable reserve (a new asset goes last).
    pub fn with_stable(&self, add: &[(TokenId, u64)]) -> Option<Vault> {
        let mut out = self.clone();
        for (id, n) in add {
            match out.stable.iter_mut().find(|(t, _)| t == id) {
                Some((_, have)) => {
                    *have = have.checked_add(*n).filter(|t| *t <= i64::MAX as u64)?
                }
                None => out.stable.push((*id, *n)),
            }
        }
        Some(out)
    }
}

/// The least credit the vault's credit path grants, mGPUC (1 GPUC): a dust credit would let
/// anyone re-spend any account and the vault for nothing.
pub const MIN_CREDIT: i64 = 1_000;

/// The credit path's rule: the mGPUC the vault credits for taking `gained` (listed asset, base
/// units) at these prices, exactly as the script computes it —
/// `floor(W / (GPUC_PRICE_CENTS · rate))` with
/// `W = Σ floor(g · min(price, rate) · credit_pct · 1000 / unit)`: a credit asset is a USD
/// stablecoin, valued at its pool price but never above $1 (the ERG/USD rate), and taken only
/// while its pool prices it at `credit_peg_floor_pct` % of $1 or more. `None` when the rate or a
/// gained asset's price is missing, an asset is not taken for credit or is off its peg, or the
/// credit is below [`MIN_CREDIT`].
pub fn credit_for(p: &ProtocolParams, prices: &Prices, gained: &[(TokenId, u64)]) -> Option<i64> {
    if prices.rate <= 0 {
        return None;
    }
    let rate = BigInt::from(prices.rate);
    let mut w = BigInt::from(0);
    for (id, g) in gained {
        let a = p.credit_asset(id)?;
        let price = BigInt::from(prices.of(p, id));
        if price <= BigInt::from(0) || price.clone() * 100 < rate.clone() * p.credit_peg_floor_pct {
            return None;
        }
        let unit_price = price.min(rate.clone());
        w += BigInt::from(*g) * unit_price * a.credit_pct * 1000 / a.unit();
    }
    let c = w / (BigInt::from(p.gpuc_price_cents) * rate);
    i64::try_from(c).ok().filter(|c| *c >= MIN_CREDIT)
}
