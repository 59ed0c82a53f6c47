//! Capacity (issues 23 and 24, PROTOCOL.md "Capacity"): a listing serves one lease at a time
//! (R7 busyUntil) and publishes its worker's limits (R5[7..10]); an order's requests
//! (R5[8..11]) must fit them. Each `attack_*` builds its honest twin first and requires it to be
//! accepted.

mod common;

use common::*;
use dgcm_contracts::build;
use dgcm_contracts::capacity::Capacity;
use dgcm_contracts::listing::Listing;
use dgcm_contracts::order::Order;
use dgcm_contracts::tx::{sel, Spend};
use dgcm_contracts::{TxPlan, Typed};
use ergo_lib::ergotree_ir::chain::ergo_box::{ErgoBoxCandidate, NonMandatoryRegisters};
use ergo_lib::ergotree_ir::mir::constant::Constant;

fn listing_busy(busy_until: Option<i64>) -> Listing {
    Listing {
        busy_until,
        ..listing()
    }
}

/// The honest match of `order()` against `l` (built with the builders, at height `H`).
fn match_with(o: Order, l: Listing) -> (Env, TxPlan, dgcm_contracts::Executor) {
    let e = env();
    let order: Typed<Order> = typed(&e, &o.to_candidate(&e.c, H).unwrap());
    let listing: Typed<Listing> = typed(&e, &l.to_candidate(&e.c, H).unwrap());
    let ex = exec_of("exec", ERG, &[]);
    let p = build::match_order(&e.c, &order, &listing, H, &ex).unwrap();
    (e, p, ex)
}

/// Replaces the spent listing (input 1) with `l`, keeping the honest outputs.
fn with_listing_input(e: &Env, p: &TxPlan, ex: &dgcm_contracts::Executor, l: &Listing) -> TxPlan {
    let bx = on_chain(&l.to_candidate(&e.c, H).unwrap());
    refinish(p, ex, |d| {
        d.inputs[1] = Spend {
            bx,
            ext: d.inputs[1].ext.clone(),
        }
    })
}

fn order_requesting(r: Capacity) -> Order {
    let mut o = order();
    o.terms.requests = r;
    o
}

fn limits() -> Capacity {
    listing_terms().limits
}

fn drop_reg(c: &mut ErgoBoxCandidate, keep: usize) {
    let regs = regs_of(c);
    c.additional_registers = NonMandatoryRegisters::try_from(regs[..keep].to_vec()).unwrap();
}

// ------------------------------------------------------------------------------ issue 23: busy

#[test]
fn honest_match_makes_the_listing_busy_until_the_leases_deadline() {
    let (e, p, _) = match_with(order(), listing());
    assert_valid(&p, &everyone(), H);
    let succ: Typed<Listing> = typed(&e, &p.draft.outputs[1]);
    let lease: Typed<dgcm_contracts::lease::Lease> = typed(&e, &p.draft.outputs[0]);
    assert_eq!(succ.v.busy_until, Some(lease.v.terms.deadline));
    assert!(!succ.v.free_at(H), "busy while the lease runs");
    assert!(!succ.v.free_at(lease.v.terms.deadline as u32));
    assert!(succ.v.free_at(lease.v.terms.deadline as u32 + 1));
}

#[test]
fn honest_match_of_a_listing_whose_last_lease_has_ended() {
    let (_, p, _) = match_with(order(), listing_busy(Some(H as i64 - 1)));
    assert_valid(&p, &everyone(), H);
}

/// Finding 7 (issue 23): a listing matched again while its lease runs put two paying renters on
/// one GPU. The builder refuses; a transaction built by hand is refused by the listing (and by
/// the order, whoever spends the listing).
#[test]
fn attack_match_a_busy_listing() {
    let (e, good, ex) = match_with(order(), listing_busy(Some(H as i64 - 1)));
    assert_valid(&good, &everyone(), H);
    let busy = listing_busy(Some(H as i64));
    let lb: Typed<Listing> = typed(&e, &busy.to_candidate(&e.c, H).unwrap());
    let o: Typed<Order> = typed(&e, &order().to_candidate(&e.c, H).unwrap());
    let err = build::match_order(&e.c, &o, &lb, H, &ex).unwrap_err();
    assert!(err.to_string().contains("busy"), "{err}");
    let bad = with_listing_input(&e, &good, &ex, &busy);
    assert_script_rejects(&bad, &everyone(), H, 0);
    // the order alone refuses it too: the provider's own path skips the listing's checks
    let bad = refinish(&bad, &ex, |d| d.inputs[1].ext = sel(0));
    assert_script_rejects(&bad, &wallet(&["provider", "exec"]), H, 0);
}

/// A renter's direct match (no order) of `l`: `[renter's GPUC, l (match)]` → `[lease, l']`.
fn direct_match_of(l: &Listing) -> TxPlan {
    let (e, good, _) = match_with(order(), listing());
    let bx = on_chain(&l.to_candidate(&e.c, H).unwrap());
    let ex = exec_of("other", 2 * ERG, &[(e.gpuc, 3000)]);
    refinish(&good, &ex, |d| {
        d.inputs[0] = Spend {
            bx: p2pk_box("other", ERG, &[(e.gpuc, 3000)]),
            ext: ergo_lib::ergotree_interpreter::sigma_protocol::prover::ContextExtension::empty(),
        };
        d.inputs[1] = Spend { bx, ext: sel(1) };
        d.outputs.truncate(2);
        set_reg(
            &mut d.outputs[0],
            4,
            dgcm_contracts::util::sigma_const(&pk("other")),
        );
        // the successor keeps the spent listing's registers (but busyUntil)
        let keep = regs_of(&d.outputs[1]);
        let mut regs = regs_of(&l.to_candidate(&e.c, H).unwrap());
        regs.truncate(3);
        regs.push(keep[3].clone());
        d.outputs[1].additional_registers = NonMandatoryRegisters::try_from(regs).unwrap();
    })
}

#[test]
fn attack_direct_match_of_a_busy_listing() {
    assert_valid(&direct_match_of(&listing()), &wallet(&["other"]), H);
    let bad = direct_match_of(&listing_busy(Some(H as i64 + 5)));
    assert_script_rejects(&bad, &wallet(&["other"]), H, 1);
}

fn assert_listing_successor_refused(f: impl FnOnce(&mut ErgoBoxCandidate)) {
    let (_, good, ex) = match_with(order(), listing());
    assert_valid(&good, &everyone(), H);
    let bad = refinish(&good, &ex, |d| f(&mut d.outputs[1]));
    assert_script_rejects(&bad, &everyone(), H, 1);
}

#[test]
fn attack_listing_successor_drops_busy_until() {
    assert_listing_successor_refused(|c| drop_reg(c, 3));
}

#[test]
fn attack_listing_successor_busy_until_before_the_leases_deadline() {
    assert_listing_successor_refused(|c| {
        let until: i64 = {
            use ergo_lib::ergotree_ir::mir::constant::TryExtractInto;
            regs_of(c)[3].v.clone().try_extract_into().unwrap()
        };
        set_reg(c, 7, Constant::from(until - 1))
    });
}

#[test]
fn attack_listing_successor_busy_until_of_wrong_type() {
    assert_listing_successor_refused(|c| set_reg(c, 7, Constant::from(H as i32 + 200)));
}

#[test]
fn attack_listing_successor_with_an_r8() {
    assert_listing_successor_refused(|c| set_reg(c, 8, Constant::from(1i64)));
}

/// The provider's own path may write anything, a wrong-typed R7 included: its listing is then
/// unmatchable (it hurts only its creator) until the provider writes it again. The honest twin:
/// an update that frees the listing (no R7) is matched.
#[test]
fn attack_provider_update_sets_a_wrong_typed_r7() {
    let e = env();
    let cur: Typed<Listing> = typed(
        &e,
        &listing_busy(Some(H as i64 + 50))
            .to_candidate(&e.c, H)
            .unwrap(),
    );
    let freed = Listing {
        busy_until: None,
        ..cur.v.clone()
    };
    let ex = exec_of("provider", ERG, &[]);
    let up = build::update_listing(&e.c, &cur, &freed, H, &ex).unwrap();
    assert_valid(&up, &wallet(&["provider"]), H);
    let (_, good, mex) = match_with(order(), freed.clone());
    assert_valid(&good, &everyone(), H);
    // the provider's update writing R7 = Int: accepted (its own path)...
    let bad_up = refinish(&up, &ex, |d| {
        set_reg(&mut d.outputs[0], 7, Constant::from(0i32))
    });
    assert_valid(&bad_up, &wallet(&["provider"]), H);
    // ...the codec refuses such a listing (no tool offers it), and no match takes it
    let wrong = on_chain(&bad_up.draft.outputs[0]);
    let err = Typed::<Listing>::parse(&e.c, wrong.clone()).unwrap_err();
    assert!(err.to_string().contains("R7"), "{err}");
    let bad = refinish(&good, &mex, |d| {
        d.inputs[1] = Spend {
            bx: wrong,
            ext: sel(1),
        }
    });
    assert!(!matches!(run(&bad, &everyone(), H), Verdict::Valid));
}

// ------------------------------------------------------------------------------ issue 24: fit

#[test]
fn honest_match_with_requests_equal_to_the_listings_limits() {
    let (e, p, _) = match_with(order_requesting(limits()), listing());
    assert_valid(&p, &everyone(), H);
    let o: Typed<Order> = typed(
        &e,
        &order_requesting(limits()).to_candidate(&e.c, H).unwrap(),
    );
    assert_eq!(
        o.v.terms.requests,
        limits(),
        "the codec reads what it wrote"
    );
}

/// Finding 1 (issue 24): a listing that does not publish its worker's limits was matched with
/// an order for more than the worker runs. Each request above its limit is refused by the
/// builder and by the order script.
#[test]
fn attack_match_with_an_order_whose_requests_exceed_the_listing() {
    let (e, good, ex) = match_with(order_requesting(limits()), listing());
    assert_valid(&good, &everyone(), H);
    for i in 0..4 {
        let mut v = limits().to_vec();
        v[i] += 1;
        let big = order_requesting(Capacity::from_slice(&v));
        let ob: Typed<Order> = typed(&e, &big.to_candidate(&e.c, H).unwrap());
        let lb: Typed<Listing> = typed(&e, &listing().to_candidate(&e.c, H).unwrap());
        let err = build::match_order(&e.c, &ob, &lb, H, &ex).unwrap_err();
        assert!(err.to_string().contains("does not fit"), "{err}");
        let bx = ob.bx.clone();
        let bad = refinish(&good, &ex, |d| {
            d.inputs[0] = Spend { bx, ext: sel(1) };
            // the refund names the spent order
            set_reg(
                &mut d.outputs[2],
                4,
                Constant::from(dgcm_contracts::util::box_id_bytes(&ob.bx.box_id())),
            );
        });
        assert_script_rejects(&bad, &everyone(), H, 0);
    }
}

#[test]
fn attack_listing_successor_drops_its_limits() {
    assert_listing_successor_refused(|c| {
        let mut v = listing_terms().to_vec();
        v.truncate(7);
        set_reg(c, 5, Constant::from(v))
    });
}

#[test]
fn attack_listing_successor_changes_its_limits() {
    assert_listing_successor_refused(|c| {
        let mut v = listing_terms().to_vec();
        v[7] *= 2;
        set_reg(c, 5, Constant::from(v))
    });
}

/// A listing without the limits (the older R5 of 7) is matched by nobody, directly or by an
/// order: its worker's limits are unknown. The honest twin is the full listing.
#[test]
fn attack_direct_match_of_a_listing_without_limits() {
    assert_valid(&direct_match_of(&listing()), &wallet(&["other"]), H);
    let e = env();
    let mut short = listing().to_candidate(&e.c, H).unwrap();
    let mut v = listing_terms().to_vec();
    v.truncate(7);
    set_reg(&mut short, 5, Constant::from(v.clone()));
    let mut base = direct_match_of(&listing());
    base.draft.inputs[1].bx = on_chain(&short);
    let ex = exec_of("other", 2 * ERG, &[(e.gpuc, 3000)]);
    let bad = refinish(&base, &ex, |d| {
        set_reg(&mut d.outputs[1], 5, Constant::from(v))
    });
    assert_script_rejects(&bad, &wallet(&["other"]), H, 1);
}
