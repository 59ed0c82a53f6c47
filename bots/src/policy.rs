//! The matcher's policy, pure: which open order takes which listing in one round.
//!
//! **Policy.** Maximise total surplus — Σ (order's max price − listing's price) × hours over the
//! matched pairs — then prefer the cheaper listing, then the older order and the older listing.
//! Every listing serves at most one order per round (its successor box, with the stake left,
//! is matchable again in the next round, chained on the unconfirmed transaction).
//!
//! **Solver.** A forward auction (Bertsekas) over the compatibility graph ([`auction_round_with`]):
//! each unmatched order bids for the listing with the best surplus net of its current price,
//! raising it by its margin over the second-best choice (or over staying unmatched) plus ε. The
//! result is within ε per matched order of the optimum. Connected components of the graph share
//! no listing, so they are solved on separate threads. ε = 1 (exact for integer surpluses, up to
//! one unit per match) for books up to [`EXACT_MAX_PAIRS`] pairs; [`LARGE_BOOK_EPS`] beyond,
//! which keeps a 10,000 × 10,000 round under 100 ms. The work is bounded by the book's size,
//! never by the values its orders carry (which the chain does not bound): each component has a
//! work budget ([`WORK_PER_EDGE`]) and is solved again with a coarser ε when a price war between
//! near-equal values would exceed it; [`RoundStats`] says when that happened. `dgcm bench match` measures the round
//! against the exact optimum (an assignment solver per connected component, [`exact`]) and
//! against the simpler greedy solver ([`greedy_round`]).

use std::collections::HashMap;

use dgcm_contracts::capacity::{fits, Capacity};

/// An open order as the policy sees it (amounts in mGPUC, GPU model and region interned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bid {
    pub max_price: i64,
    pub hours: i64,
    pub budget: i64,
    pub min_vram: i64,
    pub min_gpus: i64,
    pub min_score: i64,
    pub model: Option<u32>,
    pub region: Option<u32>,
    /// The one listing the order wants (index into the round's asks), if any.
    pub listing: Option<usize>,
    /// The job's requests (order R5[8..11]).
    pub requests: Capacity,
    /// Smaller is older (creation height, then a box-id rank).
    pub age: u64,
}

/// A listing as the policy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    pub price: i64,
    pub collateral_per_hour: i64,
    pub min_hours: i64,
    pub max_hours: i64,
    pub vram: i64,
    pub gpus: i64,
    pub score: i64,
    pub stake: i64,
    pub model: u32,
    pub region: u32,
    pub age: u64,
    /// The limits the listing's worker enforces (listing R5[7..10]).
    pub limits: Capacity,
}

/// Whether listing `a` (index `ai`) can serve order `b`: the contracts' own conditions
/// (`build::listing_meets`, budget and stake) in integer form, and the fit rule
/// (`capacity::fits`). Busy listings never reach the round (the book leaves them out).
pub fn compatible(b: &Bid, a: &Ask, ai: usize) -> bool {
    b.listing.is_none_or(|l| l == ai)
        && b.model.is_none_or(|m| m == a.model)
        && b.region.is_none_or(|r| r == a.region)
        && a.vram >= b.min_vram
        && a.gpus >= b.min_gpus
        && a.score >= b.min_score
        && a.price <= b.max_price
        && b.hours >= a.min_hours
        && b.hours <= a.max_hours
        && a.price.checked_mul(b.hours).is_some_and(|p| p <= b.budget)
        && a.collateral_per_hour
            .checked_mul(b.hours)
            .is_some_and(|c| c <= a.stake)
        && fits(&b.requests, &a.limits).is_ok()
}

/// Surpluses are clamped to ±this: order registers are chosen by whoever places the order (max
/// price × hours up to the i64 range), and the auction adds prices and increments to them. No
/// real order comes near it (2^60 mGPUC·h); orders beyond it are simply equal to each other.
pub const MAX_SURPLUS: i64 = 1 << 60;

/// The surplus of a compatible pair.
pub fn surplus(b: &Bid, a: &Ask) -> i64 {
    b.max_price
        .saturating_sub(a.price)
        .saturating_mul(b.hours)
        .clamp(-MAX_SURPLUS, MAX_SURPLUS)
}

/// One matched pair: (order index, listing index).
pub type Pair = (usize, usize);

/// Listings grouped by (model, region), each group cheapest first, then oldest.
struct Index {
    groups: HashMap<(u32, u32), Vec<usize>>,
    by_model: HashMap<u32, Vec<(u32, u32)>>,
    all: Vec<(u32, u32)>,
}

impl Index {
    fn new(asks: &[Ask]) -> Index {
        let mut groups: HashMap<(u32, u32), Vec<usize>> = HashMap::new();
        for (i, a) in asks.iter().enumerate() {
            groups.entry((a.model, a.region)).or_default().push(i);
        }
        for g in groups.values_mut() {
            g.sort_by_key(|&i| (asks[i].price, asks[i].age, i));
        }
        let mut by_model: HashMap<u32, Vec<(u32, u32)>> = HashMap::new();
        let mut all: Vec<(u32, u32)> = groups.keys().copied().collect();
        all.sort();
        for k in &all {
            by_model.entry(k.0).or_default().push(*k);
        }
        Index {
            groups,
            by_model,
            all,
        }
    }

    fn keys(&self, b: &Bid) -> KeyIter<'_> {
        match (b.model, b.region) {
            (Some(m), Some(r)) => KeyIter::One(Some((m, r))),
            (Some(m), None) => KeyIter::Many(
                self.by_model
                    .get(&m)
                    .map_or(&[][..], |v| v.as_slice())
                    .iter(),
            ),
            (None, _) => KeyIter::Many(self.all.iter()),
        }
    }

    /// The cheapest compatible listing for `b` that `free` allows.
    fn cheapest(&self, b: &Bid, asks: &[Ask], free: impl Fn(usize) -> bool) -> Option<usize> {
        if let Some(l) = b.listing {
            return (l < asks.len() && free(l) && compatible(b, &asks[l], l)).then_some(l);
        }
        let mut best: Option<usize> = None;
        for k in self.keys(b) {
            let Some(g) = self.groups.get(&k) else {
                continue;
            };
            for &i in g {
                let a = &asks[i];
                if a.price > b.max_price {
                    break; // sorted by price: nothing further is affordable
                }
                if best.is_some_and(|j| (asks[j].price, asks[j].age) <= (a.price, a.age)) {
                    break;
                }
                if free(i) && compatible(b, a, i) {
                    best = Some(i);
                    break;
                }
            }
        }
        best
    }
}

enum KeyIter<'a> {
    One(Option<(u32, u32)>),
    Many(std::slice::Iter<'a, (u32, u32)>),
}

impl Iterator for KeyIter<'_> {
    type Item = (u32, u32);
    fn next(&mut self) -> Option<(u32, u32)> {
        match self {
            KeyIter::One(k) => k.take(),
            KeyIter::Many(it) => it.next().copied(),
        }
    }
}

/// Books up to this many order × listing pairs are solved with ε = 1 (optimal within one unit
/// per matched order); larger ones with [`LARGE_BOOK_EPS`].
pub const EXACT_MAX_PAIRS: usize = 1_000_000;

/// ε for large books: at most this many mGPUC·h of surplus lost per matched order (measured on
/// 10,000 × 10,000: 0.9999 of the optimum in about 60–70 ms on two cores).
pub const LARGE_BOOK_EPS: i64 = 64;

/// ε of the auction for a book of this size.
pub fn eps_for(orders: usize, listings: usize) -> i64 {
    if orders.saturating_mul(listings) <= EXACT_MAX_PAIRS {
        1
    } else {
        LARGE_BOOK_EPS
    }
}

/// Solves one round (see the module documentation): the auction, its independent components
/// on up to two threads. Pairs come out sorted by order.
pub fn match_round(bids: &[Bid], asks: &[Ask]) -> Vec<Pair> {
    match_round_stats(bids, asks).0
}

/// [`match_round`] and what it cost ([`RoundStats`]).
pub fn match_round_stats(bids: &[Bid], asks: &[Ask]) -> (Vec<Pair>, RoundStats) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
    auction_round_stats(bids, asks, eps_for(bids.len(), asks.len()), threads)
}

/// The greedy solver, kept as the benchmark's reference point: each order's best attainable
/// surplus orders the queue, and each order in turn takes the cheapest compatible listing still
/// free.
pub fn greedy_round(bids: &[Bid], asks: &[Ask]) -> Vec<Pair> {
    let index = Index::new(asks);
    let mut queue: Vec<(i64, u64, usize)> = bids
        .iter()
        .enumerate()
        .filter_map(|(bi, b)| {
            index
                .cheapest(b, asks, |_| true)
                .map(|ai| (surplus(b, &asks[ai]), b.age, bi))
        })
        .collect();
    queue.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
    // holder[a] = the order holding listing a.
    let mut holder: Vec<Option<usize>> = vec![None; asks.len()];
    for &(_, _, bi) in &queue {
        if let Some(ai) = index.cheapest(&bids[bi], asks, |i| holder[i].is_none()) {
            holder[ai] = Some(bi);
        }
    }

    let mut pairs: Vec<Pair> = holder
        .iter()
        .enumerate()
        .filter_map(|(ai, b)| b.map(|bi| (bi, ai)))
        .collect();
    pairs.sort_unstable();
    pairs
}

/// The round solved by a forward auction (Bertsekas) over the compatibility graph (each pair
/// weighs its surplus + 1, so that a trade at the order's maximum price still beats no trade): each
/// unmatched order bids for the listing with the best surplus net of its price, raising the
/// price by the margin over its second-best choice (or over staying unmatched) plus ε = 1.
/// The result is within one unit of surplus per matched order of the optimum unless a component
/// exceeded its work budget ([`WORK_PER_EDGE`]).
pub fn auction_round(bids: &[Bid], asks: &[Ask]) -> Vec<Pair> {
    auction_round_with(bids, asks, 1, 1)
}

/// The compatibility graph in compressed rows: order `i`'s listings are
/// `to[start[i]..start[i+1]]` with weights `val[..]` (surplus + 1).
struct Graph {
    start: Vec<u32>,
    to: Vec<u32>,
    val: Vec<i64>,
}

impl Graph {
    fn build(bids: &[Bid], asks: &[Ask]) -> Graph {
        let index = Index::new(asks);
        let mut g = Graph {
            start: Vec::with_capacity(bids.len() + 1),
            to: Vec::new(),
            val: Vec::new(),
        };
        g.start.push(0);
        for b in bids {
            if let Some(l) = b.listing {
                if l < asks.len() && compatible(b, &asks[l], l) {
                    g.to.push(l as u32);
                    g.val.push(surplus(b, &asks[l]) + 1);
                }
            } else {
                for k in index.keys(b) {
                    let Some(grp) = index.groups.get(&k) else {
                        continue;
                    };
                    for &i in grp {
                        if asks[i].price > b.max_price {
                            break;
                        }
                        if compatible(b, &asks[i], i) {
                            g.to.push(i as u32);
                            g.val.push(surplus(b, &asks[i]) + 1);
                        }
                    }
                }
            }
            g.start.push(g.to.len() as u32);
        }
        g
    }

    fn row(&self, i: usize) -> std::ops::Range<usize> {
        self.start[i] as usize..self.start[i + 1] as usize
    }

    /// The orders of each connected component (components share no listing), largest first.
    fn components(&self, n_asks: usize) -> Vec<Vec<u32>> {
        let n = self.start.len() - 1;
        let mut parent: Vec<u32> = (0..(n + n_asks) as u32).collect();
        fn find(p: &mut [u32], mut x: u32) -> u32 {
            while p[x as usize] != x {
                p[x as usize] = p[p[x as usize] as usize];
                x = p[x as usize];
            }
            x
        }
        for i in 0..n {
            for e in self.row(i) {
                let (a, b) = (
                    find(&mut parent, i as u32),
                    find(&mut parent, (n + self.to[e] as usize) as u32),
                );
                parent[a as usize] = b;
            }
        }
        let mut by_root: std::collections::HashMap<u32, Vec<u32>> =
            std::collections::HashMap::new();
        for i in 0..n {
            if !self.row(i).is_empty() {
                let r = find(&mut parent, i as u32);
                by_root.entry(r).or_default().push(i as u32);
            }
        }
        let mut comps: Vec<Vec<u32>> = by_root.into_values().collect();
        comps.sort_by_key(|c| std::cmp::Reverse(c.len()));
        comps
    }

    /// Forward auction over one component's `orders` (sorted older first), `eps` the bid
    /// increment. Gives up (`None`) once it has scanned more than `budget` row entries, the unit
    /// of [`WORK_PER_EDGE`]. Returns the pairs and the work done; `s` is left as it was found.
    fn auction(
        &self,
        orders: &[u32],
        eps: i64,
        budget: u64,
        s: &mut Scratch,
    ) -> (Option<Vec<(u32, u32)>>, u64) {
        let mut work = 0u64;
        let mut queue: std::collections::VecDeque<u32> = orders.iter().copied().collect();
        let mut done = true;
        while let Some(i) = queue.pop_front() {
            let (mut best, mut v1, mut v2) = (u32::MAX, 0i64, 0i64);
            let r = self.row(i as usize);
            work += r.len() as u64 + 1;
            if work > budget {
                done = false;
                break;
            }
            for (&j, &a) in self.to[r.clone()].iter().zip(&self.val[r]) {
                let v = a - s.price[j as usize];
                if v > v1 {
                    v2 = v1;
                    v1 = v;
                    best = j;
                } else if v > v2 {
                    v2 = v;
                }
            }
            if best == u32::MAX {
                continue; // staying unmatched is best
            }
            // Values are clamped (MAX_SURPLUS) and ε stays below 2^62: no overflow.
            s.price[best as usize] += v1 - v2 + eps;
            let prev = std::mem::replace(&mut s.owner[best as usize], i);
            if prev != u32::MAX {
                queue.push_back(prev);
            }
        }
        let mut pairs = Vec::new();
        for &i in orders {
            for e in self.row(i as usize) {
                let j = self.to[e] as usize;
                if s.owner[j] != u32::MAX {
                    pairs.push((s.owner[j], j as u32));
                }
                s.owner[j] = u32::MAX;
                s.price[j] = 0;
            }
        }
        (done.then_some(pairs), work)
    }

    /// One component's size (row entries + orders), widest row + 1, listings and top value.
    fn shape(&self, orders: &[u32]) -> (u64, u64, u64, i64) {
        let (mut size, mut widest, mut top) = (orders.len() as u64, 1u64, 1i64);
        let mut listings: Vec<u32> = Vec::new();
        for &i in orders {
            let r = self.row(i as usize);
            size += r.len() as u64;
            widest = widest.max(r.len() as u64 + 1);
            top = self.val[r.clone()].iter().fold(top, |t, &v| t.max(v));
            listings.extend_from_slice(&self.to[r]);
        }
        listings.sort_unstable();
        listings.dedup();
        (size, widest, listings.len().max(1) as u64, top)
    }

    /// The auction on one component (`orders` sorted older first) with `eps` within `budget`.
    /// When that fails and `retry` is given, again with the ε that fits `retry` (coarser still
    /// if need be, until ε reaches every value, where each listing takes at most one bid and the
    /// run is bounded by the component's size alone).
    fn solve_component(
        &self,
        orders: &[u32],
        eps: i64,
        budget: u64,
        retry: Option<u64>,
        s: &mut Scratch,
    ) -> (Option<Vec<(u32, u32)>>, RoundStats) {
        let mut stats = RoundStats::default();
        let (pairs, work) = self.auction(orders, eps, budget, s);
        stats.work += work;
        if pairs.is_some() {
            stats.eps = eps;
            return (pairs, stats);
        }
        let Some(retry) = retry else {
            return (None, stats);
        };
        let (_, widest, m, top) = self.shape(orders);
        let n = orders.len() as u64;
        let mut eps = eps.max(1);
        loop {
            stats.raised += 1;
            // Each bid raises a listing's price by ≥ ε and no bid happens at a price above
            // `top`: at most m·⌈top/ε⌉ bids, each after a scan of at most `widest` entries, plus
            // one scan per order. Pick ε so that this fits `retry` (at least a 16-fold step).
            let k = ((retry / widest).saturating_sub(n) / m).max(1);
            let fit = top / k as i64 + 1;
            eps = eps.saturating_mul(16).max(fit).min(MAX_SURPLUS);
            let bounded = eps < top;
            let (pairs, work) =
                self.auction(orders, eps, if bounded { retry } else { u64::MAX }, s);
            stats.work += work;
            if pairs.is_some() {
                stats.eps = eps;
                return (pairs, stats);
            }
        }
    }
}

/// A component's own work budget is `WORK_PER_EDGE` × its size (row entries plus orders) +
/// `WORK_BASE`; what it needs beyond that comes from the round's shared [`WORK_POOL`], largest
/// components first, at most [`WORK_POOL`] / 2 each. A component that exceeds what it got is
/// solved again with the ε its own budget allows. So a round scans at most about
/// 2·(`WORK_PER_EDGE` × book size + `WORK_BASE` × components) + `WORK_POOL` row entries,
/// whatever its orders' values (max price × hours up to the i64 range: the chain does not bound
/// them). Honest books finish within their own budgets or a small part of the pool (the
/// benchmark's 1,000 × 1,000 book draws 2.2 M from it, 10,000 × 10,000 at ε = 64 draws 2.2 M,
/// its largest component 1.3 M); a price war between near-equal hostile values is cut at its
/// budget.
pub const WORK_PER_EDGE: u64 = 64;
/// See [`WORK_PER_EDGE`].
pub const WORK_BASE: u64 = 4096;
/// See [`WORK_PER_EDGE`]: row entries shared by the components of one round (per thread, the
/// pool divided by the threads).
pub const WORK_POOL: u64 = 1 << 23;
/// What a round cost and how close to the optimum it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundStats {
    /// Row entries scanned by the auctions (the unit of the work budget).
    pub work: u64,
    /// The largest ε a component was solved with: the result is within this much surplus per
    /// matched order of the optimum.
    pub eps: i64,
    /// How many times a component's ε had to be raised to stay within its work budget.
    pub raised: usize,
}

impl RoundStats {
    fn add(&mut self, o: RoundStats) {
        self.work += o.work;
        self.eps = self.eps.max(o.eps);
        self.raised += o.raised;
    }
}

/// A component's own work budget (see [`WORK_PER_EDGE`]).
fn own_budget(g: &Graph, orders: &[u32]) -> u64 {
    let size: u64 = orders
        .iter()
        .map(|&i| g.row(i as usize).len() as u64 + 1)
        .sum();
    WORK_BASE.saturating_add(WORK_PER_EDGE.saturating_mul(size))
}

/// A thread's reusable price and owner per listing (each component resets what it touched).
struct Scratch {
    price: Vec<i64>,
    owner: Vec<u32>,
}

impl Scratch {
    fn new(n_asks: usize) -> Scratch {
        Scratch {
            price: vec![0; n_asks],
            owner: vec![u32::MAX; n_asks],
        }
    }
}

/// The auction with bid increment `eps` (the result is within `eps` per matched order of the
/// optimum), its connected components spread over `threads` threads.
pub fn auction_round_with(bids: &[Bid], asks: &[Ask], eps: i64, threads: usize) -> Vec<Pair> {
    auction_round_stats(bids, asks, eps, threads).0
}

/// [`auction_round_with`], and what the round cost: each component within its work budget
/// ([`WORK_PER_EDGE`]), its ε raised when its values would have taken it past it.
pub fn auction_round_stats(
    bids: &[Bid],
    asks: &[Ask],
    eps: i64,
    threads: usize,
) -> (Vec<Pair>, RoundStats) {
    let graph = Graph::build(bids, asks);
    let comps = graph.components(asks.len());
    // Largest component first onto the least loaded thread.
    let threads = threads.clamp(1, 8);
    let mut load = vec![0usize; threads];
    let mut work: Vec<Vec<Vec<u32>>> = vec![Vec::new(); threads];
    for c in comps {
        let t = (0..threads).min_by_key(|&t| load[t]).unwrap_or(0);
        load[t] += c
            .iter()
            .map(|&i| graph.row(i as usize).len())
            .sum::<usize>()
            + c.len();
        work[t].push(c);
    }
    let pool_per_thread = WORK_POOL / threads as u64;
    let solve = |comps: Vec<Vec<u32>>| {
        let mut s = Scratch::new(asks.len());
        let mut stats = RoundStats::default();
        let mut pairs = Vec::new();
        // First every component within its own budget; the ones that need more share the pool,
        // largest first (comps arrive largest first).
        let mut rest = Vec::new();
        for mut c in comps {
            // Older orders bid first: on equal terms the first bidder keeps the listing.
            c.sort_by_key(|&i| (bids[i as usize].age, i));
            let own = own_budget(&graph, &c);
            match graph.solve_component(&c, eps, own, None, &mut s) {
                (Some(p), st) => {
                    pairs.extend(p);
                    stats.add(st);
                }
                (None, st) => {
                    stats.add(st);
                    rest.push((c, own));
                }
            }
        }
        let mut pool = pool_per_thread;
        for (c, own) in rest {
            let budget = own + pool.min(pool_per_thread / 2);
            let (p, st) = graph.solve_component(&c, eps, budget, Some(own), &mut s);
            pool = pool.saturating_sub(st.work.saturating_sub(own));
            pairs.extend(p.unwrap_or_default());
            stats.add(st);
        }
        (pairs, stats)
    };
    let mut stats = RoundStats::default();
    let mut pairs: Vec<Pair> = Vec::new();
    let mut collect = |(p, st): (Vec<(u32, u32)>, RoundStats)| {
        pairs.extend(p.into_iter().map(|(i, j)| (i as usize, j as usize)));
        stats.add(st);
    };
    if threads == 1 {
        collect(solve(work.pop().unwrap_or_default()));
    } else {
        std::thread::scope(|sc| {
            let handles: Vec<_> = work
                .into_iter()
                .map(|w| {
                    let solve = &solve;
                    sc.spawn(move || solve(w))
                })
                .collect();
            for h in handles {
                collect(h.join().unwrap_or_default());
            }
        });
    }
    pairs.sort_unstable();
    stats.eps = stats.eps.max(eps);
    (pairs, stats)
}

/// Total surplus of `pairs`.
pub fn total_surplus(bids: &[Bid], asks: &[Ask], pairs: &[Pair]) -> i128 {
    pairs
        .iter()
        .map(|&(b, a)| surplus(&bids[b], &asks[a]) as i128)
        .sum()
}

/// The exact optimum, for the benchmark and tests: the compatibility graph is split into
/// connected components and each is solved as a linear sum assignment (the `lsap` crate, the
/// algorithm of SciPy's `linear_sum_assignment`); an incompatible pair weighs 0, which is the
/// same as leaving both unmatched.
pub mod exact {
    use super::*;

    /// Maximum total surplus and the pairs that reach it.
    pub fn solve(bids: &[Bid], asks: &[Ask]) -> Result<(i128, Vec<Pair>), String> {
        // The auction's graph and components: one assignment problem per component.
        let graph = Graph::build(bids, asks);
        let mut total: i128 = 0;
        let mut pairs = Vec::new();
        for rows in graph.components(asks.len()) {
            let mut cols: Vec<u32> = rows
                .iter()
                .flat_map(|&i| graph.to[graph.row(i as usize)].iter().copied())
                .collect();
            cols.sort_unstable();
            cols.dedup();
            let col_of: HashMap<u32, usize> =
                cols.iter().enumerate().map(|(i, &a)| (a, i)).collect();
            let (nr, nc) = (rows.len(), cols.len());
            let mut w = vec![0f64; nr * nc];
            for (r, &i) in rows.iter().enumerate() {
                for e in graph.row(i as usize) {
                    // The graph weighs surplus + 1; the optimum is in surplus.
                    w[r * nc + col_of[&graph.to[e]]] = (graph.val[e] - 1) as f64;
                }
            }
            let (ri, ci) =
                lsap::solve(nr, nc, &w, true).map_err(|e| format!("assignment solver: {e:?}"))?;
            for (r, c) in ri.into_iter().zip(ci) {
                let (bi, ai) = (rows[r] as usize, cols[c] as usize);
                if compatible(&bids[bi], &asks[ai], ai) {
                    total += surplus(&bids[bi], &asks[ai]) as i128;
                    pairs.push((bi, ai));
                }
            }
        }
        Ok((total, pairs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(price: i64, model: u32, region: u32, age: u64) -> Ask {
        Ask {
            price,
            collateral_per_hour: 100,
            min_hours: 1,
            max_hours: 100,
            vram: 24_576,
            gpus: 1,
            score: 0,
            stake: 100_000,
            model,
            region,
            age,
            limits: dgcm_contracts::capacity::DEFAULT_LIMITS,
        }
    }

    fn bid(max_price: i64, hours: i64, model: Option<u32>, age: u64) -> Bid {
        Bid {
            max_price,
            hours,
            budget: max_price * hours,
            min_vram: 0,
            min_gpus: 1,
            min_score: 0,
            model,
            region: None,
            listing: None,
            requests: Default::default(),
            age,
        }
    }

    fn check(pairs: &[Pair], bids: &[Bid], asks: &[Ask]) {
        let mut seen_b = std::collections::HashSet::new();
        let mut seen_a = std::collections::HashSet::new();
        for &(b, a) in pairs {
            assert!(seen_b.insert(b) && seen_a.insert(a), "one-to-one");
            assert!(compatible(&bids[b], &asks[a], a));
        }
    }

    #[test]
    fn longer_order_gets_the_cheaper_listing_and_ties_go_to_the_older() {
        let asks = vec![ask(1_000, 0, 0, 1), ask(1_500, 0, 0, 2)];
        let bids = vec![bid(2_000, 1, Some(0), 1), bid(2_000, 10, Some(0), 2)];
        let pairs = match_round(&bids, &asks);
        check(&pairs, &bids, &asks);
        assert_eq!(pairs, vec![(0, 1), (1, 0)]);
        // Equal orders: the older one is served first.
        let bids = vec![bid(2_000, 5, Some(0), 9), bid(2_000, 5, Some(0), 3)];
        let pairs = match_round(&bids, &asks[..1]);
        assert_eq!(pairs, vec![(1, 0)]);
    }

    #[test]
    fn a_trade_at_the_orders_maximum_price_still_happens() {
        let asks = vec![ask(1_000, 0, 0, 1)];
        let mut b = bid(1_000, 1, Some(0), 1);
        assert_eq!(auction_round(&[b.clone()], &asks), vec![(0, 0)]);
        assert_eq!(greedy_round(&[b.clone()], &asks), vec![(0, 0)]);
        b.listing = Some(0);
        assert_eq!(match_round(&[b], &asks), vec![(0, 0)], "named listing too");
    }

    #[test]
    fn constraints_are_respected() {
        let mut asks = vec![
            ask(1_000, 0, 0, 1),
            ask(1_000, 1, 1, 2),
            ask(1_000, 1, 0, 3),
        ];
        asks[2].stake = 50; // cannot back collateral for one hour
        let mut b = bid(2_000, 1, Some(1), 1);
        b.region = Some(0);
        assert!(
            match_round(&[b.clone()], &asks).is_empty(),
            "only the underfunded ask fits"
        );
        b.region = Some(1);
        assert_eq!(match_round(&[b.clone()], &asks), vec![(0, 1)]);
        b.listing = Some(0);
        assert!(
            match_round(&[b.clone()], &asks).is_empty(),
            "names a listing of another model"
        );
        let mut cheap = bid(999, 1, None, 1);
        assert!(
            match_round(&[cheap.clone()], &asks).is_empty(),
            "price above max"
        );
        cheap.max_price = 1_000;
        cheap.budget = 999;
        assert!(
            match_round(&[cheap], &asks).is_empty(),
            "budget below payment"
        );
    }

    #[test]
    fn auction_reaches_the_optimum_on_random_small_books() {
        let (bids, asks) = crate::bench::book(300, 300, 11);
        let (opt, _) = exact::solve(&bids, &asks).unwrap();
        let pairs = auction_round(&bids, &asks);
        check(&pairs, &bids, &asks);
        let got = total_surplus(&bids, &asks, &pairs);
        // Within one unit per matched order (ε = 1).
        assert!(
            got <= opt && opt - got <= pairs.len() as i128,
            "{got} vs {opt}"
        );
        let greedy = greedy_round(&bids, &asks);
        check(&greedy, &bids, &asks);
        assert!(total_surplus(&bids, &asks, &greedy) <= opt);
        assert_eq!(
            match_round(&bids, &asks),
            pairs,
            "ε = 1 for small books; threads do not change the result"
        );
        let coarse = auction_round_with(&bids, &asks, LARGE_BOOK_EPS, 2);
        check(&coarse, &bids, &asks);
        let got = total_surplus(&bids, &asks, &coarse);
        assert!(opt - got <= LARGE_BOOK_EPS as i128 * coarse.len() as i128);
    }

    #[test]
    fn honest_books_stay_well_inside_the_work_budget() {
        for (n, seed) in [(300, 11), (1_000, 7)] {
            let (bids, asks) = crate::bench::book(n, n, seed);
            let (pairs, stats) = match_round_stats(&bids, &asks);
            check(&pairs, &bids, &asks);
            assert_eq!((stats.raised, stats.eps), (0, 1), "{n}: ε never raised");
            // Unbounded, what the components need beyond their own budgets is a small part
            // of the shared pool.
            let g = Graph::build(&bids, &asks);
            let mut s = Scratch::new(asks.len());
            let mut drawn = 0;
            for mut c in g.components(asks.len()) {
                c.sort_by_key(|&i| (bids[i as usize].age, i));
                let (_, work) = g.auction(&c, 1, u64::MAX, &mut s);
                let excess = work.saturating_sub(own_budget(&g, &c));
                assert!(excess < WORK_POOL / 8, "{n}: {excess}");
                drawn += excess;
            }
            assert!(drawn < WORK_POOL / 4, "{n}: {drawn}");
        }
    }

    #[test]
    fn exact_solver_beats_or_equals_greedy_and_finds_the_swap() {
        // Greedy by best surplus: bid 0 (any model) takes ask 0 first, leaving bid 1 (model 0
        // only) nothing; the optimum gives ask 0 to bid 1 and ask 1 to bid 0.
        let asks = vec![ask(1_000, 0, 0, 1), ask(1_100, 1, 0, 2)];
        let bids = vec![bid(3_000, 10, None, 1), bid(2_000, 10, Some(0), 2)];
        let greedy = greedy_round(&bids, &asks);
        check(&greedy, &bids, &asks);
        let auction = auction_round(&bids, &asks);
        assert_eq!(
            total_surplus(&bids, &asks, &auction),
            29_000,
            "the auction finds the swap"
        );
        let (opt, pairs) = exact::solve(&bids, &asks).unwrap();
        check(&pairs, &bids, &asks);
        assert_eq!(opt, 19_000 + 10_000);
        assert!(total_surplus(&bids, &asks, &greedy) <= opt);
    }
}
