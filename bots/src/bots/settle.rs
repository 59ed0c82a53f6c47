//! Settler and slasher: the lease's two "anyone" exits, each in the first block the contract
//! allows (transactions are built for the next block, `height + 1`).

use std::sync::Arc;

use dgcm_contracts::build;
use dgcm_contracts::trees::Contracts;

use crate::executor::{BotKind, Job, Runtime};
use crate::view::MarketView;

/// Completed leases whose challenge window has passed: finalise (provider paid).
pub fn settler_jobs(c: &Arc<Contracts>, view: &MarketView, rt: &Runtime) -> Vec<Job> {
    let next = view.height as i64 + 1;
    view.leases
        .iter()
        .filter(|l| {
            let t = &l.v.terms;
            t.completed()
                && next > t.completed_at + c.params.challenge_window
                && !rt.is_busy(&l.bx.box_id(), view.height)
        })
        .map(|l| {
            let (lease, c) = (l.clone(), c.clone());
            Job {
                bot: BotKind::Settler,
                what: format!("finalise lease {}", String::from(lease.bx.box_id())),
                spends: vec![lease.bx.box_id()],
                build: Box::new(move |exec| build::finalise(&c, &lease, next as u32, exec)),
                token_prices: vec![],
            }
        })
        .collect()
}

/// Uncompleted leases past their deadline: slash (the consumer gets everything back).
pub fn slasher_jobs(c: &Arc<Contracts>, view: &MarketView, rt: &Runtime) -> Vec<Job> {
    let next = view.height as i64 + 1;
    view.leases
        .iter()
        .filter(|l| {
            !l.v.terms.completed()
                && next > l.v.terms.deadline
                && !rt.is_busy(&l.bx.box_id(), view.height)
        })
        .map(|l| {
            let (lease, c) = (l.clone(), c.clone());
            Job {
                bot: BotKind::Slasher,
                what: format!("slash lease {}", String::from(lease.bx.box_id())),
                spends: vec![lease.bx.box_id()],
                build: Box::new(move |exec| build::slash(&c, &lease, next as u32, exec)),
                token_prices: vec![],
            }
        })
        .collect()
}
