//! LETS member box: a collateral-backed mutual-credit account; plus the prices, the borrowing
//! value and the health rule the script applies (one implementation of each, used by the
//! builders, the API and the liquidator).

use ergo_lib::ergotree_ir::chain::ergo_box::{ErgoBox, ErgoBoxCandidate};
use ergo_lib::ergotree_ir::chain::token::TokenId;
use ergo_lib::ergotree_ir::mir::constant::Constant;
use ergo_lib::ergotree_ir::sigma_protocol::sigma_boolean::ProveDlog;
use num_bigint::BigInt;

use crate::codec::{candidate, expect_tree, tok_err, toks, BoxKind, CodecError, Regs};
use crate::trees::{Contracts, Kind, ProtocolParams};
use crate::util::{sigma_const, tokens};

const K: &str = "lets_member";

/// The least ERG a top-up by anyone must add, unless it adds an asset's `min_top_up`: a free or
/// dust re-spend of someone's account would grief their pending transactions.
pub const MIN_TOP_UP_NANOERG: u64 = 10_000_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// ERG collateral.
    pub value: u64,
    /// Listed collateral assets held (token, base units): no zero amount, no id twice, in the
    /// deployment's list order when this side built it.
    pub assets: Vec<(TokenId, u64)>,
    /// R4: balance in mGPUC (negative = debt).
    pub balance: i64,
    /// R5.
    pub owner: ProveDlog,
}

impl BoxKind for Member {
    const KIND: Kind = Kind::LetsMember;

    fn parse(c: &Contracts, b: &ErgoBox) -> Result<Member, CodecError> {
        expect_tree(K, b, &c.lets_member)?;
        let p = &c.params;
        let t = toks(b);
        match t.first() {
            Some((m, 1)) if *m == p.membership_id => {}
            _ => return Err(tok_err(K, "tokens(0) is not (MEMBERSHIP_ID, 1)")),
        }
        let assets = t[1..].to_vec();
        for (i, (id, _)) in assets.iter().enumerate() {
            if p.asset_by_id(id).is_none() {
                return Err(tok_err(
                    K,
                    format!("token {} is not a listed collateral asset", i + 1),
                ));
            }
            if assets[..i].iter().any(|(o, _)| o == id) {
                return Err(tok_err(K, format!("token {} repeats an asset", i + 1)));
            }
        }
        let r = Regs {
            kind: K,
            regs: &b.additional_registers,
        };
        Ok(Member {
            value: *b.value.as_u64(),
            assets,
            balance: r.long(4)?,
            owner: r.owner(5)?,
        })
    }
}

impl Member {
    pub fn to_candidate(&self, c: &Contracts, height: u32) -> Result<ErgoBoxCandidate, CodecError> {
        let mut t = vec![(c.params.membership_id, 1)];
        t.extend(self.assets.iter().copied());
        candidate(
            K,
            c.lets_member.clone(),
            self.value,
            tokens(&t),
            vec![Constant::from(self.balance), sigma_const(&self.owner)],
            height,
        )
    }

    /// Base units of `id` held (0 when none).
    pub fn amount(&self, id: &TokenId) -> u64 {
        amount_in(&self.assets, id)
    }

    /// Sets the amount of `id` (0 removes it), keeping the deployment's list order.
    pub fn set_amount(&mut self, p: &ProtocolParams, id: TokenId, amount: u64) {
        self.assets.retain(|(t, _)| *t != id);
        if amount > 0 {
            self.assets.push((id, amount));
        }
        let rank = |t: &TokenId| p.collateral.iter().position(|a| a.token_id == *t);
        self.assets.sort_by_key(|(t, _)| rank(t));
    }

    /// SigUSD held, in cents.
    pub fn sigusd(&self, p: &ProtocolParams) -> u64 {
        self.amount(&p.sigusd_id)
    }

    /// The script's `healthy` at these prices.
    pub fn healthy(&self, p: &ProtocolParams, prices: &Prices) -> bool {
        healthy(p, prices, self.balance, self.value, &self.assets)
    }
}

/// What a transaction's data inputs price, as the script reads them: the ERG/USD `rate`
/// (nanoERG per USD; prices the debt) and, per listed asset in list order, nanoERG per whole
/// token. 0 = unpriced (no genuine pool box among the data inputs, stale, or not positive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prices {
    pub rate: i64,
    pub assets: Vec<i64>,
}

impl Prices {
    /// Reads every pool the deployment names from `data_inputs` for a transaction in block
    /// `height`.
    pub fn read(p: &ProtocolParams, data_inputs: &[ErgoBox], height: u32) -> Prices {
        Prices::from_pools(p, height, |nft, max_age| {
            pool_price(nft, max_age, data_inputs, height)
        })
    }

    /// Prices from pool datapoints known otherwise (an index): `point(nft)` gives the pool box's
    /// creation height and `R4`, and the script's freshness rule is applied here.
    pub fn from_datapoints(
        p: &ProtocolParams,
        height: u32,
        point: impl Fn(&TokenId) -> Option<(u32, i64)>,
    ) -> Prices {
        Prices::from_pools(p, height, |nft, max_age| {
            point(nft)
                .map(|(created, r4)| fresh_price(created, r4, max_age, height))
                .unwrap_or(0)
        })
    }

    fn from_pools(
        p: &ProtocolParams,
        _height: u32,
        price: impl Fn(&TokenId, i32) -> i64,
    ) -> Prices {
        Prices {
            rate: price(&p.oracle_pool_nft, p.oracle_max_age),
            assets: p
                .collateral
                .iter()
                .map(|a| price(&a.pool_nft, a.max_age))
                .collect(),
        }
    }

    /// Prices where the ERG/USD rate is `rate` and every asset priced by that same pool (SigUSD)
    /// has it too; assets of other pools are unpriced.
    pub fn erg_usd(p: &ProtocolParams, rate: i64) -> Prices {
        let rate = rate.max(0);
        Prices {
            rate,
            assets: p
                .collateral
                .iter()
                .map(|a| {
                    if a.pool_nft == p.oracle_pool_nft {
                        rate
                    } else {
                        0
                    }
                })
                .collect(),
        }
    }

    /// The price of a listed asset (0 when unlisted or unpriced).
    pub fn of(&self, p: &ProtocolParams, id: &TokenId) -> i64 {
        p.collateral
            .iter()
            .position(|a| a.token_id == *id)
            .and_then(|k| self.assets.get(k).copied())
            .unwrap_or(0)
    }
}

/// Every pool a deployment prices with, each once, with its freshness bound: the ERG/USD pool,
/// then each listed asset's pool. What a service fetches before building a LETS transaction.
pub fn pool_nfts(p: &ProtocolParams) -> Vec<(TokenId, i32)> {
    let mut out = vec![(p.oracle_pool_nft, p.oracle_max_age)];
    for a in &p.collateral {
        if !out.iter().any(|(n, _)| *n == a.pool_nft) {
            out.push((a.pool_nft, a.max_age));
        }
    }
    out
}

/// The datapoint of the pool box holding NFT `pool` among `boxes` (the last such, as the
/// script's fold), when created at most `max_age` blocks before `height` and positive; else 0.
pub fn pool_price(pool: &TokenId, max_age: i32, boxes: &[ErgoBox], height: u32) -> i64 {
    let mut p = 0;
    for b in boxes {
        if toks(b).first().map(|(id, _)| id) != Some(pool) {
            continue;
        }
        let r4 = Regs {
            kind: "oracle",
            regs: &b.additional_registers,
        }
        .long(4)
        .unwrap_or(0);
        // as the script's fold: the last fresh box with the NFT wins, whatever its datapoint
        if (b.creation_height as i64) >= height as i64 - max_age as i64 {
            p = r4;
        }
    }
    p.max(0)
}

/// A pool box's datapoint `r4` as the script takes it in block `height`: 0 when the box was
/// created more than `max_age` blocks before, or the datapoint is not positive.
pub fn fresh_price(created: u32, r4: i64, max_age: i32, height: u32) -> i64 {
    if (created as i64) < height as i64 - max_age as i64 {
        0
    } else {
        r4.max(0)
    }
}

/// Base units of `id` in a list of (token, amount), summed as the script's fold does.
pub fn amount_in(assets: &[(TokenId, u64)], id: &TokenId) -> u64 {
    assets
        .iter()
        .filter(|(t, _)| t == id)
        .map(|(_, n)| *n)
        .sum()
}

fn big(x: i64) -> BigInt {
    BigInt::from(x)
}

/// The borrowing value of ERG `value` and `assets` in nanoERG: ERG in full, each asset at its
/// price × factor, rounded down (never in the borrower's favour).
pub fn borrow_value(
    p: &ProtocolParams,
    prices: &Prices,
    value: u64,
    assets: &[(TokenId, u64)],
) -> BigInt {
    let mut v = BigInt::from(value);
    for (k, a) in p.collateral.iter().enumerate() {
        let amount = amount_in(assets, &a.token_id);
        let price = prices.assets.get(k).copied().unwrap_or(0);
        v += BigInt::from(amount) * big(price) * big(a.factor_pct) / (big(a.unit()) * big(100));
    }
    v
}

/// The script's `healthy`: balance ≥ 0, or a genuine rate and borrowing value ≥ debt × ratio %.
pub fn healthy(
    p: &ProtocolParams,
    prices: &Prices,
    balance: i64,
    value: u64,
    assets: &[(TokenId, u64)],
) -> bool {
    if balance >= 0 {
        return true;
    }
    if prices.rate <= 0 {
        return false;
    }
    borrow_value(p, prices, value, assets) * big(10_000_000)
        >= debt_scaled(p, balance, p.collateral_ratio_pct, prices.rate)
}

/// `(−balance) · GPUC_PRICE_CENTS · pct · rate`: a debt in nanoERG × 10^7, times `pct`.
fn debt_scaled(p: &ProtocolParams, balance: i64, pct: i64, rate: i64) -> BigInt {
    -BigInt::from(balance) * big(p.gpuc_price_cents) * big(pct) * big(rate)
}

/// Whether a liquidation may price this account: the ERG/USD rate and every listed asset it
/// holds are priced (a missing or stale pool never makes an account liquidatable).
pub fn fully_priced(p: &ProtocolParams, prices: &Prices, assets: &[(TokenId, u64)]) -> bool {
    prices.rate > 0
        && p.collateral.iter().enumerate().all(|(k, a)| {
            assets.iter().all(|(t, n)| *t != a.token_id || *n == 0)
                || prices.assets.get(k).copied().unwrap_or(0) > 0
        })
}

/// The script's rule on what an account in debt may hold (paths 0 and 3): going from `before` to
/// `after` with `after` in debt, every asset it gains must be priced, and when the debt grows every
/// asset it holds must be (an asset whose pool has lapsed blocks liquidation). `Err` names the
/// first asset that breaks it.
pub fn debt_holdings_ok(
    p: &ProtocolParams,
    prices: &Prices,
    before: &Member,
    after: &Member,
) -> Result<(), String> {
    if after.balance >= 0 {
        return Ok(());
    }
    let debt_grows = after.balance < before.balance;
    for (k, a) in p.collateral.iter().enumerate() {
        let priced = prices.assets.get(k).copied().unwrap_or(0) > 0;
        if priced {
            continue;
        }
        let (was, is) = (before.amount(&a.token_id), after.amount(&a.token_id));
        if is > was {
            return Err(format!(
                "{} is unpriced (no fresh pool box): an account in debt cannot take it on",
                a.name
            ));
        }
        if debt_grows && is > 0 {
            return Err(format!(
                "{} is unpriced (no fresh pool box): no borrowing beside it (take it out first)",
                a.name
            ));
        }
    }
    Ok(())
}

/// Whether anyone may liquidate this account now: fully priced and not healthy.
pub fn liquidatable(p: &ProtocolParams, prices: &Prices, m: &Member) -> bool {
    fully_priced(p, prices, &m.assets) && !m.healthy(p, prices)
}

/// The value a liquidator takes (nanoERG, full price, each asset rounded up: never in the
/// liquidator's favour).
pub fn taken_value(
    p: &ProtocolParams,
    prices: &Prices,
    erg: u64,
    assets: &[(TokenId, u64)],
) -> BigInt {
    let mut v = BigInt::from(erg);
    for (k, a) in p.collateral.iter().enumerate() {
        let amount = amount_in(assets, &a.token_id);
        let price = prices.assets.get(k).copied().unwrap_or(0);
        let u = big(a.unit());
        v += (BigInt::from(amount) * big(price) + &u - 1) / u;
    }
    v
}

/// Whether taking `erg` and `assets` for repaying `r` mGPUC is within the liquidation payout.
pub fn within_payout(
    p: &ProtocolParams,
    prices: &Prices,
    r: i64,
    erg: u64,
    assets: &[(TokenId, u64)],
) -> bool {
    taken_value(p, prices, erg, assets) * big(10_000_000)
        <= debt_scaled(p, -r, p.liq_payout_pct, prices.rate)
}

/// The most collateral a liquidator repaying `repay` mGPUC may take from `m` at `prices`: ERG
/// first (leaving `keep_erg` in the box), then each listed asset in list order, each amount the
/// largest [`within_payout`] allows. Pure: the liquidator bot and `dgcm tx` use it.
pub fn liquidation_take(
    p: &ProtocolParams,
    prices: &Prices,
    m: &Member,
    repay: i64,
    keep_erg: u64,
) -> (u64, Vec<(TokenId, u64)>) {
    use num_traits::{ToPrimitive, Zero};
    if prices.rate <= 0 || repay <= 0 {
        return (0, vec![]);
    }
    // the allowance in nanoERG, rounded down
    let mut left: BigInt = debt_scaled(p, -repay, p.liq_payout_pct, prices.rate) / big(10_000_000);
    let erg = left
        .to_u64()
        .unwrap_or(u64::MAX)
        .min(m.value.saturating_sub(keep_erg));
    left -= BigInt::from(erg);
    let mut take = vec![];
    for (k, a) in p.collateral.iter().enumerate() {
        let price = prices.assets.get(k).copied().unwrap_or(0);
        let held = m.amount(&a.token_id);
        if price <= 0 || held == 0 || left <= BigInt::zero() {
            continue;
        }
        // ceil(n·price/unit) ≤ left  ⇔  n ≤ floor(left·unit/price)
        let n = (&left * big(a.unit()) / big(price))
            .to_u64()
            .unwrap_or(u64::MAX)
            .min(held);
        if n > 0 {
            left -= (BigInt::from(n) * big(price) + big(a.unit()) - 1) / big(a.unit());
            take.push((a.token_id, n));
        }
    }
    (erg, take)
}
