//! Liquidator: repays an under-collateralised LETS account's debt into the vault and takes
//! collateral up to the contract's liquidation allowance at the oracle prices (ERG first, then
//! each listed asset: SigUSD, rsBTC, ...). An account holding an asset whose pool is missing or
//! stale is left alone (the contract refuses to price it). The repayment comes from the
//! operator's own GPUC.

use std::sync::Arc;

use dgcm_contracts::build;
use dgcm_contracts::lets_member::{liquidatable, liquidation_take};
use dgcm_contracts::trees::Contracts;

use crate::executor::{BotKind, Job, Runtime};
use crate::view::MarketView;

/// ERG a member box keeps so it stays above the dust minimum.
const MEMBER_KEEP: u64 = 2_000_000;

pub fn liquidator_jobs(c: &Arc<Contracts>, view: &MarketView, rt: &Runtime) -> Vec<Job> {
    let (Some(vault), Some(prices)) = (&view.vault, &view.prices) else {
        return vec![];
    };
    if prices.rate <= 0 || rt.is_busy(&vault.bx.box_id(), view.height) {
        return vec![];
    }
    let next = view.height + 1;
    // One liquidation per round: each spends the vault box.
    view.members
        .iter()
        .filter(|m| {
            m.v.balance < 0
                && liquidatable(&c.params, prices, &m.v)
                && !rt.is_busy(&m.bx.box_id(), view.height)
        })
        .take(1)
        .map(|m| {
            let repay = m.v.balance.unsigned_abs();
            let (take_erg, take) =
                liquidation_take(&c.params, prices, &m.v, repay as i64, MEMBER_KEEP);
            let names: Vec<String> = take
                .iter()
                .map(|(id, n)| {
                    let name = c
                        .params
                        .asset_by_id(id)
                        .map(|a| a.name.as_str())
                        .unwrap_or("?");
                    format!("{n} {name}")
                })
                .collect();
            let (vault, member, oracles, c) =
                (vault.clone(), m.clone(), view.oracles.clone(), c.clone());
            // What the profit check weighs (nanoERG per base unit, as num/den): the repaid mGPUC
            // at GPUC_PRICE_CENTS and the ERG/USD rate, each listed asset at its own pool.
            let mut token_prices = vec![(
                c.params.gpuc_id,
                c.params.gpuc_price_cents as i128 * prices.rate as i128,
                100_000,
            )];
            for (k, a) in c.params.collateral.iter().enumerate() {
                let price = prices.assets.get(k).copied().unwrap_or(0);
                if price > 0 {
                    token_prices.push((a.token_id, price as i128, a.unit() as i128));
                }
            }
            Job {
                bot: BotKind::Liquidator,
                what: format!(
                    "liquidate member {} repaying {repay} mGPUC for {take_erg} nanoERG{}{}",
                    String::from(member.bx.box_id()),
                    if names.is_empty() { "" } else { " + " },
                    names.join(" + ")
                ),
                spends: vec![vault.bx.box_id(), member.bx.box_id()],
                build: Box::new(move |exec| {
                    build::liquidate(
                        &c, &vault, &member, repay, take_erg, &take, &oracles, next, exec,
                    )
                }),
                token_prices,
            }
        })
        .collect()
}
