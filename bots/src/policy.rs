//! The matcher's policy, pure: which open order takes which listing in one round.
//!
//! **Policy.** Maximise total surplus — Σ (order's max price − listing's price) × hours over the
//! matched pairs — then prefer the cheaper listing, then the older order and the older listing.
//! Every listing serves at most one order per round (its successor box, with the stake left,
//! is matchable again in the next round, chained on the unconfirmed transaction).
//!
//! **Solvers.** Books of up to [`AUCTION_MAX_PAIRS`] order × listing pairs are solved by a
//! forward auction ([`auction_round`]), which is optimal within one unit of surplus per
//! matched order. An exact assignment on 10,000 × 10,000 is far too slow for a round (and the
//! auction's price wars take seconds there), so larger books are solved greedily in two
//! passes ([`greedy_round`]): each order's best attainable surplus (against the cheapest
//! compatible listing) orders the queue, highest first (ties: older first), and each order in
//! turn takes the cheapest compatible listing still free. `dgcm bench match` measures the
//! round against the exact optimum (an assignment solver per connected component of the
//! compatibility graph, [`exact`]).

use std::collections::HashMap;

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
}

/// Whether listing `a` (index `ai`) can serve order `b`: the contracts' own conditions
/// (`build::listing_meets`, budget and stake) in integer form.
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
}

/// The surplus of a compatible pair.
pub fn surplus(b: &Bid, a: &Ask) -> i64 {
    (b.max_price - a.price).saturating_mul(b.hours)
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

/// Books up to this many order × listing pairs are solved by the auction (optimal within
/// one mGPUC per matched order, milliseconds at this size); larger ones greedily.
pub const AUCTION_MAX_PAIRS: usize = 1_000_000;

/// Solves one round (see the module documentation): the auction for books of up to
/// [`AUCTION_MAX_PAIRS`] pairs, the greedy solver beyond. Pairs come out sorted by order.
pub fn match_round(bids: &[Bid], asks: &[Ask]) -> Vec<Pair> {
    if bids.len().saturating_mul(asks.len()) <= AUCTION_MAX_PAIRS {
        auction_round(bids, asks)
    } else {
        greedy_round(bids, asks)
    }
}

/// The greedy solver (see the module documentation).
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
/// The result is within one unit of surplus per matched order of the optimum; its cost grows
/// with price wars, so large books go to the greedy solver.
pub fn auction_round(bids: &[Bid], asks: &[Ask]) -> Vec<Pair> {
    let index = Index::new(asks);
    let mut edges: Vec<Vec<(u32, i64)>> = Vec::with_capacity(bids.len());
    for b in bids {
        let mut e = Vec::new();
        if let Some(l) = b.listing {
            if l < asks.len() && compatible(b, &asks[l], l) {
                e.push((l as u32, surplus(b, &asks[l]) + 1));
            }
        } else {
            for k in index.keys(b) {
                let Some(g) = index.groups.get(&k) else {
                    continue;
                };
                for &i in g {
                    if asks[i].price > b.max_price {
                        break;
                    }
                    if compatible(b, &asks[i], i) {
                        e.push((i as u32, surplus(b, &asks[i]) + 1));
                    }
                }
            }
        }
        edges.push(e);
    }
    let mut price = vec![0i64; asks.len()];
    let mut owner: Vec<Option<u32>> = vec![None; asks.len()];
    // One phase at ε = 1 (ε-scaling keeps prices of listings nobody ends up holding, which
    // hurts when listings outnumber the orders that want them).
    let eps = 1;
    {
        // Older orders bid first: on equal terms the first bidder keeps the listing.
        let mut first: Vec<u32> = (0..bids.len() as u32)
            .filter(|&i| !edges[i as usize].is_empty())
            .collect();
        first.sort_by_key(|&i| (bids[i as usize].age, i));
        let mut queue: std::collections::VecDeque<u32> = first.into();
        while let Some(i) = queue.pop_front() {
            let (mut best, mut v1, mut v2) = (u32::MAX, 0i64, 0i64);
            for &(j, a) in &edges[i as usize] {
                let v = a - price[j as usize];
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
            price[best as usize] += v1 - v2 + eps;
            if let Some(k) = owner[best as usize].replace(i) {
                queue.push_back(k);
            }
        }
    }
    let mut pairs: Vec<Pair> = owner
        .iter()
        .enumerate()
        .filter_map(|(j, o)| o.map(|i| (i as usize, j)))
        .collect();
    pairs.sort_unstable();
    pairs
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
        let index = Index::new(asks);
        // Union-find over bids (0..n) and asks (n..n+m).
        let n = bids.len();
        let mut parent: Vec<usize> = (0..n + asks.len()).collect();
        fn find(p: &mut [usize], mut x: usize) -> usize {
            while p[x] != x {
                p[x] = p[p[x]];
                x = p[x];
            }
            x
        }
        let mut edges: Vec<(usize, usize)> = Vec::new();
        for (bi, b) in bids.iter().enumerate() {
            let keys: Vec<(u32, u32)> = match (b.model, b.region) {
                (Some(m), Some(r)) => vec![(m, r)],
                (Some(m), None) => index.by_model.get(&m).cloned().unwrap_or_default(),
                (None, _) => index.all.clone(),
            };
            for k in keys {
                for &ai in index.groups.get(&k).map_or(&[][..], |v| v.as_slice()) {
                    if asks[ai].price > b.max_price {
                        break;
                    }
                    if compatible(b, &asks[ai], ai) {
                        edges.push((bi, ai));
                        let (x, y) = (find(&mut parent, bi), find(&mut parent, n + ai));
                        parent[x] = y;
                    }
                }
            }
        }
        let mut comps: HashMap<usize, (Vec<usize>, Vec<usize>)> = HashMap::new();
        for &(bi, ai) in &edges {
            let r = find(&mut parent, bi);
            let e = comps.entry(r).or_default();
            e.0.push(bi);
            e.1.push(ai);
        }
        let mut total: i128 = 0;
        let mut pairs = Vec::new();
        for (_, (mut rows, mut cols)) in comps {
            rows.sort_unstable();
            rows.dedup();
            cols.sort_unstable();
            cols.dedup();
            let row_of: HashMap<usize, usize> =
                rows.iter().enumerate().map(|(i, &b)| (b, i)).collect();
            let col_of: HashMap<usize, usize> =
                cols.iter().enumerate().map(|(i, &a)| (a, i)).collect();
            let (nr, nc) = (rows.len(), cols.len());
            let mut w = vec![0f64; nr * nc];
            for &(bi, ai) in &edges {
                if let (Some(&r), Some(&c)) = (row_of.get(&bi), col_of.get(&ai)) {
                    w[r * nc + c] = surplus(&bids[bi], &asks[ai]) as f64;
                }
            }
            let (ri, ci) =
                lsap::solve(nr, nc, &w, true).map_err(|e| format!("assignment solver: {e:?}"))?;
            for (r, c) in ri.into_iter().zip(ci) {
                let (bi, ai) = (rows[r], cols[c]);
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
            "small books go to the auction"
        );
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
