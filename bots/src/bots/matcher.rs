//! Matcher: the order book from chain, one policy round ([`crate::policy`]), one match
//! transaction per pair. The book is taken from the view under the runtime ([`Book::new`]) and
//! solved apart from it ([`Book::solve`], on a blocking thread in [`crate::run`]), so a long
//! round holds no other bot.

use std::collections::HashMap;
use std::sync::Arc;

use dgcm_contracts::build;
use dgcm_contracts::codec::Typed;
use dgcm_contracts::listing::Listing;
use dgcm_contracts::order::Order;
use dgcm_contracts::trees::Contracts;

use crate::executor::{BotKind, Job, Runtime};
use crate::policy::{self, Ask, Bid, RoundStats};
use crate::view::MarketView;

/// One round's book: the open orders and free listings (not busy: `Listing::free_at` the next
/// block), and the policy's view of them.
pub struct Book {
    next: u32,
    orders: Vec<Typed<Order>>,
    listings: Vec<Typed<Listing>>,
    bids: Vec<Bid>,
    asks: Vec<Ask>,
}

impl Book {
    /// The book of `view` without the boxes our own transactions are spending. Orders that break
    /// what a match relies on (`Order::check`: budget below max price × hours, …) are left out:
    /// their registers are whatever their creator wrote.
    pub fn new(view: &MarketView, rt: &Runtime) -> Book {
        let next = view.height + 1;
        let mut names: HashMap<String, u32> = HashMap::new();
        let mut intern = |s: &str| {
            let n = names.len() as u32;
            *names.entry(s.to_string()).or_insert(n)
        };
        let listings: Vec<_> = view
            .listings
            .iter()
            // our own pending spends, and listings a match in the next block may not take (the
            // busy rule: a lease of theirs is running; the match would fail and cost a fee)
            .filter(|l| !rt.is_busy(&l.bx.box_id(), view.height) && l.v.free_at(next))
            .cloned()
            .collect();
        let asks: Vec<Ask> = listings
            .iter()
            .map(|l| {
                let t = &l.v.terms;
                Ask {
                    price: t.price_per_hour,
                    collateral_per_hour: t.collateral_per_hour,
                    min_hours: t.min_hours,
                    max_hours: t.max_hours,
                    vram: t.vram_mib,
                    gpus: t.gpu_count,
                    score: t.benchmark_score,
                    stake: l.v.stake as i64,
                    model: intern(&l.v.model),
                    region: intern(&l.v.region),
                    age: l.bx.creation_height as u64,
                    limits: t.limits,
                }
            })
            .collect();
        let by_nft: HashMap<_, usize> = listings
            .iter()
            .enumerate()
            .map(|(i, l)| (l.v.nft, i))
            .collect();
        let orders: Vec<_> = view
            .orders
            .iter()
            .filter(|o| {
                o.v.terms.expiry_height >= next as i64
                    && o.v.check().is_ok()
                    && !rt.is_busy(&o.bx.box_id(), view.height)
            })
            .cloned()
            .collect();
        let bids: Vec<Bid> = orders
            .iter()
            .map(|o| {
                let t = &o.v.terms;
                Bid {
                    max_price: t.max_price_per_hour,
                    hours: t.hours,
                    budget: o.v.budget.min(i64::MAX as u64) as i64,
                    min_vram: t.min_vram_mib,
                    min_gpus: t.min_gpu_count,
                    min_score: t.min_benchmark_score,
                    model: o.v.model.as_deref().map(&mut intern),
                    region: o.v.region.as_deref().map(&mut intern),
                    // A named listing that is not in the book matches nothing this round.
                    listing: o
                        .v
                        .listing
                        .map(|id| by_nft.get(&id).copied().unwrap_or(usize::MAX)),
                    age: o.bx.creation_height as u64,
                    requests: t.requests,
                }
            })
            .collect();
        Book {
            next,
            orders,
            listings,
            bids,
            asks,
        }
    }

    /// The policy round (CPU only; its work is bounded by the book's size, see
    /// [`policy::WORK_PER_EDGE`]) and one match job per pair.
    pub fn solve(self, c: &Arc<Contracts>) -> (Vec<Job>, RoundStats) {
        let (pairs, stats) = policy::match_round_stats(&self.bids, &self.asks);
        let next = self.next;
        let jobs = pairs
            .into_iter()
            .map(|(bi, ai)| {
                let (order, listing) = (self.orders[bi].clone(), self.listings[ai].clone());
                let c = c.clone();
                Job {
                    bot: BotKind::Matcher,
                    what: format!(
                        "match order {} with listing {}",
                        String::from(order.bx.box_id()),
                        String::from(listing.bx.box_id())
                    ),
                    spends: vec![order.bx.box_id(), listing.bx.box_id()],
                    build: Box::new(move |exec| {
                        build::match_order(&c, &order, &listing, next, exec)
                    }),
                    token_prices: vec![],
                }
            })
            .collect();
        (jobs, stats)
    }
}

/// The round's match jobs, solved in place (tests and tools; the bots solve off the runtime).
pub fn matcher_jobs(c: &Arc<Contracts>, view: &MarketView, rt: &Runtime) -> Vec<Job> {
    Book::new(view, rt).solve(c).0
}
