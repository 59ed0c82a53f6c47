//! Properties: random valid parameters build valid transactions, and every box kind has a
//! path that resolves it without the counterparty.

mod common;

use common::*;
use dgcm_contracts::build;
use dgcm_contracts::lease::Lease;
use dgcm_contracts::lets_member::{healthy, Prices};
use dgcm_contracts::listing::{Listing, ListingTerms};
use dgcm_contracts::order::{Order, OrderTerms};
use proptest::prelude::*;

fn cfg() -> ProptestConfig {
    ProptestConfig {
        cases: 24,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn random_valid_matches_validate(
        price in 1i64..5_000,
        extra in 0i64..2_000,
        cph in 0i64..3_000,
        hours in 1i64..12,
        slack in 0u64..5_000,
        fee_cap in 0i64..5_000_000,
        named in any::<bool>(),
    ) {
        let e = env();
        let l = Listing {
            stake: (cph * hours) as u64 + slack,
            terms: ListingTerms { price_per_hour: price, collateral_per_hour: cph, min_hours: 1, max_hours: 12, ..listing_terms() },
            ..listing()
        };
        let o = Order {
            budget: ((price + extra) * hours) as u64 + slack,
            terms: OrderTerms { max_price_per_hour: price + extra, hours, matcher_fee_cap: fee_cap, ..order_terms() },
            listing: if named { Some(l.nft) } else { None },
            ..order()
        };
        let lt = typed(&e, &l.to_candidate(&e.c, H).unwrap());
        let ot = typed(&e, &o.to_candidate(&e.c, H).unwrap());
        let p = build::match_order(&e.c, &ot, &lt, H, &exec_of("exec", ERG, &[])).unwrap();
        assert_valid(&p, &everyone(), H);
    }

    /// A running lease always resolves: completion before the deadline, slash by anyone after.
    #[test]
    fn running_leases_resolve(price in 1i64..10_000, hours in 1i64..24, cph in 0i64..5_000, used_frac in 0i64..=100) {
        let e = env();
        let mut l = lease(-1, -1);
        l.terms.price_per_hour = price;
        l.terms.hours = hours;
        l.terms.payment = price * hours;
        l.terms.collateral = cph * hours;
        l.terms.deadline = START + hours * 30 + 45;
        l.amount = ((price + cph) * hours) as u64;
        let t = typed::<Lease>(&e, &l.to_candidate(&e.c, H).unwrap());
        let used = hours * 30 * used_frac / 100;
        // v2: a completion claims no more blocks than have passed since the start
        let h = (START + used) as u32;
        let p = build::complete(&e.c, &t, used, [7; 32], h, &exec_of("provider", ERG, &[])).unwrap();
        assert_valid(&p, &everyone(), h);
        let after = (l.terms.deadline + 1) as u32;
        let p = build::slash(&e.c, &t, after, &exec_of("exec", ERG, &[])).unwrap();
        assert_valid(&p, &wallet(&["exec"]), after);
    }

    /// A completed lease always resolves: finalise by anyone after the window pays pro rata.
    #[test]
    fn completed_leases_finalise(price in 1i64..10_000, hours in 1i64..24, cph in 0i64..5_000, used_frac in 0i64..=100) {
        let e = env();
        let used = hours * 30 * used_frac / 100;
        let mut l = lease(COMPLETED_AT, used);
        l.terms.price_per_hour = price;
        l.terms.hours = hours;
        l.terms.payment = price * hours;
        l.terms.collateral = cph * hours;
        l.amount = ((price + cph) * hours) as u64;
        let t = typed::<Lease>(&e, &l.to_candidate(&e.c, H).unwrap());
        let h = (COMPLETED_AT + 61) as u32;
        let p = build::finalise(&e.c, &t, h, &exec_of("exec", ERG, &[])).unwrap();
        assert_valid(&p, &wallet(&["exec"]), h);
    }

    /// An arbitration always resolves by timeout; the committee may pick any split.
    #[test]
    fn arbitrations_resolve(x in 0u64..=3000) {
        let e = env();
        let a = arbitration(&e);
        let p = build::arbitrate(&e.c, &a, x, H, &exec_of("arb1", ERG, &[])).unwrap();
        assert_valid(&p, &wallet(&["arb1", "arb2"]), H);
        let p = build::arbitration_timeout(&e.c, &a, H + 101, &exec_of("exec", ERG, &[])).unwrap();
        assert_valid(&p, &wallet(&["exec"]), H + 101);
    }

    /// Withdrawals within the credit limit validate; the builder refuses the others.
    #[test]
    fn withdrawals_within_the_credit_limit(sigusd in 0u64..100_000, erg in 1u64..20, amount in 1u64..200_000) {
        let e = env();
        let m = member(&e, "owner", erg * ERG, sigusd, 0);
        let r = build::withdraw(&e.c, &vault(&e), &m, amount, &[oracle(&e)], &tree_of("owner"), H, &exec_of("owner", ERG, &[]));
        let ok = healthy(&e.c.params, &Prices::erg_usd(&e.c.params, RATE), -(amount as i64), erg * ERG, &cents(&e, sigusd));
        prop_assert_eq!(r.is_ok(), ok);
        if let Ok(p) = r {
            assert_valid(&p, &everyone(), H);
        }
    }

    /// Member accounts always resolve: a transfer of any affordable amount validates, and a
    /// zero balance closes.
    #[test]
    fn transfers_conserve_and_validate(amount in 1u64..10_000) {
        let e = env();
        let a = member(&e, "owner", ERG, 100_000, 0);
        let b = member(&e, "provider", 1_000_000, 0, 0);
        let p = build::transfer(&e.c, &a, &b, amount, &[oracle(&e)], H, &exec_of("owner", ERG, &[])).unwrap();
        assert_valid(&p, &everyone(), H);
        let p = build::close_member(&e.c, &b, H, &exec_of("provider", ERG, &[])).unwrap();
        assert_valid(&p, &everyone(), H);
    }

    /// Rosen deposits convert for any value above the relay cap.
    #[test]
    fn rosen_deposits_convert(value in 3_000_000u64..100 * ERG, sigusd in 0u64..100_000) {
        let e = env();
        let m = member(&e, "owner", 1_000_000, 0, 0);
        let d = rosen_deposit(&e, "owner", value, sigusd);
        let p = build::convert_rosen(&e.c, &d, &m, H, &exec_of("exec", ERG, &[])).unwrap();
        assert_valid(&p, &wallet(&["exec"]), H);
    }
}
