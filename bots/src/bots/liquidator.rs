//! Liquidator: repays an under-collateralised LETS account's debt into the vault at the oracle
//! price and takes collateral up to the contract's liquidation allowance (ERG first, then
//! SigUSD). The repayment comes from the operator's own GPUC.

use std::sync::Arc;

use dgcm_contracts::build;
use dgcm_contracts::lets_member::liquidation_allowance;
use dgcm_contracts::trees::Contracts;

use crate::executor::{BotKind, Job, Runtime};
use crate::view::MarketView;

/// ERG a member box keeps so it stays above the dust minimum.
const MEMBER_KEEP: u64 = 2_000_000;

pub fn liquidator_jobs(c: &Arc<Contracts>, view: &MarketView, rt: &Runtime) -> Vec<Job> {
    let (Some(vault), Some((oracle, rate))) = (&view.vault, &view.oracle) else {
        return vec![];
    };
    if *rate <= 0 || rt.is_busy(&vault.bx.box_id(), view.height) {
        return vec![];
    }
    let next = view.height + 1;
    // One liquidation per round: each spends the vault box.
    view.members
        .iter()
        .filter(|m| {
            m.v.balance < 0
                && !m.v.healthy(&c.params, *rate)
                && !rt.is_busy(&m.bx.box_id(), view.height)
        })
        .take(1)
        .map(|m| {
            let repay = m.v.balance.unsigned_abs();
            let allowance = liquidation_allowance(&c.params, repay as i64, *rate).max(0);
            // taken = (erg·100 + sigusd·rate)·100000 ≤ allowance
            let erg_cap = (allowance / (100 * 100_000)) as u64;
            let take_erg = erg_cap.min(m.v.value.saturating_sub(MEMBER_KEEP));
            let left = allowance - take_erg as i128 * 100 * 100_000;
            let take_sigusd = ((left / (*rate as i128 * 100_000)).max(0) as u64).min(m.v.sigusd);
            // At the oracle rate (nanoERG per USD): a mGPUC is worth gpuc_price_cents / 10^5
            // USD, a SigUSD cent 1/100 USD. The profit check weighs what is repaid against them.
            let token_prices = vec![
                (
                    c.params.gpuc_id,
                    c.params.gpuc_price_cents as i128 * *rate as i128,
                    100_000,
                ),
                (c.params.sigusd_id, *rate as i128, 100),
            ];
            let (vault, member, oracle, c) = (vault.clone(), m.clone(), oracle.clone(), c.clone());
            Job {
                bot: BotKind::Liquidator,
                what: format!(
                    "liquidate member {} repaying {repay} mGPUC for {take_erg} nanoERG + {take_sigusd} SigUSD cents",
                    String::from(member.bx.box_id())
                ),
                spends: vec![vault.bx.box_id(), member.bx.box_id()],
                build: Box::new(move |exec| {
                    build::liquidate(
                        &c, &vault, &member, repay, take_erg, take_sigusd, &oracle, next, exec,
                    )
                }),
                token_prices,
            }
        })
        .collect()
}
