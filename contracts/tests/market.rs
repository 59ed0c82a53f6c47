//! Listing, order and match: honest transactions and the attacks each must refuse.

mod common;

use common::*;
use dgcm_contracts::build;
use dgcm_contracts::listing::Listing;
use dgcm_contracts::order::Order;
use dgcm_contracts::util::sigma_const;
use dgcm_contracts::{Executor, TxPlan, Typed};
use ergo_lib::ergotree_ir::mir::constant::Constant;

struct M {
    e: Env,
    order: Typed<Order>,
    listing: Typed<Listing>,
    p: TxPlan,
    ex: Executor,
}

fn matching_with(o: Order, l: Listing) -> M {
    let e = env();
    let order = typed(&e, &o.to_candidate(&e.c, H).unwrap());
    let listing = typed(&e, &l.to_candidate(&e.c, H).unwrap());
    let ex = exec_of("exec", ERG, &[]);
    let p = build::match_order(&e.c, &order, &listing, H, &ex).unwrap();
    M {
        e,
        order,
        listing,
        p,
        ex,
    }
}

fn matching() -> M {
    matching_with(order(), listing())
}

/// Spends `order` instead of the honest one (refund tagged with its id).
fn swap_order(m: &M, o: Order) -> TxPlan {
    let other: Typed<Order> = typed(&m.e, &o.to_candidate(&m.e.c, H).unwrap());
    refinish(&m.p, &m.ex, |d| {
        d.inputs[0].bx = other.bx.clone();
        set_reg(
            &mut d.outputs[2],
            4,
            Constant::from(other.bx.box_id().as_ref().to_vec()),
        );
    })
}

#[test]
fn honest_match() {
    let m = matching();
    assert_valid(&m.p, &everyone(), H);
    let _ = (&m.order, &m.listing);
}

#[test]
fn honest_match_any_listing() {
    let o = Order {
        listing: None,
        model: None,
        ..order()
    };
    let m = matching_with(o, listing());
    assert_valid(&m.p, &everyone(), H);
}

#[test]
fn attack_match_matcher_fee_above_cap() {
    let m = matching();
    assert_valid(&m.p, &everyone(), H);
    let bad = refinish(&m.p, &m.ex, |d| {
        let v = val(&d.outputs[0]);
        set_value(&mut d.outputs[0], v - 100_000);
    });
    assert_script_rejects(&bad, &everyone(), H, 0);
}

#[test]
fn attack_match_price_above_order_max() {
    let m = matching();
    assert_valid(&m.p, &everyone(), H);
    let mut o = order();
    o.terms.max_price_per_hour = 900;
    assert_script_rejects(&swap_order(&m, o), &everyone(), H, 0);
}

#[test]
fn attack_match_listing_below_vram_spec() {
    let m = matching();
    assert_valid(&m.p, &everyone(), H);
    let mut o = order();
    o.terms.min_vram_mib = 32000;
    assert_script_rejects(&swap_order(&m, o), &everyone(), H, 0);
}

#[test]
fn attack_match_listing_below_benchmark_spec() {
    let m = matching();
    assert_valid(&m.p, &everyone(), H);
    let mut o = order();
    o.terms.min_benchmark_score = 9001;
    assert_script_rejects(&swap_order(&m, o), &everyone(), H, 0);
}

#[test]
fn attack_match_other_listing_than_named() {
    let m = matching();
    assert_valid(&m.p, &everyone(), H);
    let mut o = order();
    o.listing = Some(dgcm_contracts::util::token_id([0x77; 32]));
    assert_script_rejects(&swap_order(&m, o), &everyone(), H, 0);
}

#[test]
fn attack_match_wrong_gpu_model() {
    let m = matching();
    assert_valid(&m.p, &everyone(), H);
    let mut o = order();
    o.model = Some("H100".into());
    assert_script_rejects(&swap_order(&m, o), &everyone(), H, 0);
}

#[test]
fn attack_match_after_order_expiry() {
    let m = matching();
    assert_valid(&m.p, &everyone(), H);
    let mut o = order();
    o.terms.expiry_height = H as i64 - 1;
    assert_script_rejects(&swap_order(&m, o), &everyone(), H, 0);
}

#[test]
fn attack_match_lease_created_completed() {
    let m = matching();
    assert_valid(&m.p, &everyone(), H);
    let bad = refinish(&m.p, &m.ex, |d| {
        let v = longs_with(&d.outputs[0], 6, 8, H as i64);
        set_reg(&mut d.outputs[0], 6, v);
    });
    assert_script_rejects(&bad, &everyone(), H, 0);
}

#[test]
fn attack_match_deadline_extended() {
    let m = matching();
    assert_valid(&m.p, &everyone(), H);
    let bad = refinish(&m.p, &m.ex, |d| {
        let v: Vec<i64> = {
            let c = &regs_of(&d.outputs[0])[2];
            let mut v: Vec<i64> = c.v.clone().try_extract_into().unwrap();
            v[5] += 100;
            v
        };
        set_reg(&mut d.outputs[0], 6, Constant::from(v));
    });
    assert_script_rejects(&bad, &everyone(), H, 0);
}

#[test]
fn attack_match_without_collateral_slice() {
    let m = matching();
    assert_valid(&m.p, &everyone(), H);
    // the listing keeps its whole stake and the lease holds only the payment
    let bad = refinish(&m.p, &m.ex, |d| {
        let v = longs_with(&d.outputs[0], 6, 3, 0);
        set_reg(&mut d.outputs[0], 6, v);
        set_tokens(&mut d.outputs[0], &[(m.e.gpuc, 2000)]);
        set_tokens(
            &mut d.outputs[1],
            &[(m.listing.v.nft, 1), (m.e.gpuc, 10_000)],
        );
    });
    // v2: the order refuses first (its terms include the listed collateral, whoever matches);
    // the listing's own refusal is the reference interpreter's case of the same name
    assert_script_rejects(&bad, &everyone(), H, 0);
}

#[test]
fn attack_match_listing_terms_rewritten() {
    let m = matching();
    assert_valid(&m.p, &everyone(), H);
    let bad = refinish(&m.p, &m.ex, |d| {
        let v = longs_with(&d.outputs[1], 5, 0, 1);
        set_reg(&mut d.outputs[1], 5, v);
    });
    assert_script_rejects(&bad, &everyone(), H, 1);
}

#[test]
fn attack_match_listing_successor_script_swapped() {
    let m = matching();
    assert_valid(&m.p, &everyone(), H);
    let bad = refinish(&m.p, &m.ex, |d| d.outputs[1].ergo_tree = tree_of("exec"));
    assert_script_rejects(&bad, &everyone(), H, 1);
}

#[test]
fn attack_match_listing_owner_register_swapped() {
    let m = matching();
    assert_valid(&m.p, &everyone(), H);
    let bad = refinish(&m.p, &m.ex, |d| {
        set_reg(&mut d.outputs[1], 4, sigma_const(&pk("other")))
    });
    assert_script_rejects(&bad, &everyone(), H, 1);
}

#[test]
fn attack_match_refund_to_someone_else() {
    let m = matching();
    assert_valid(&m.p, &everyone(), H);
    let bad = refinish(&m.p, &m.ex, |d| d.outputs[2].ergo_tree = tree_of("exec"));
    assert_script_rejects(&bad, &everyone(), H, 0);
}

#[test]
fn attack_match_lease_to_a_fake_script() {
    let m = matching();
    assert_valid(&m.p, &everyone(), H);
    let bad = refinish(&m.p, &m.ex, |d| d.outputs[0].ergo_tree = tree_of("exec"));
    assert_script_rejects(&bad, &everyone(), H, 0);
}

#[test]
fn attack_match_lease_for_another_consumer() {
    let m = matching();
    assert_valid(&m.p, &everyone(), H);
    let bad = refinish(&m.p, &m.ex, |d| {
        set_reg(&mut d.outputs[0], 4, sigma_const(&pk("other")))
    });
    assert_script_rejects(&bad, &everyone(), H, 0);
}

#[test]
fn attack_match_duplicates_tokens() {
    let m = matching();
    assert_valid(&m.p, &everyone(), H);
    let bad = raw(&m.p, |o| set_tokens(&mut o[2], &[(m.e.gpuc, 5000)]));
    assert_tx_rejects(&bad, &everyone(), H, "Token");
}

#[test]
fn attack_match_inputs_swapped() {
    let m = matching();
    assert_valid(&m.p, &everyone(), H);
    let bad = refinish(&m.p, &m.ex, |d| d.inputs.swap(0, 1));
    // the listing script now sits at input 0 and requires SELF to be INPUTS(1)
    assert_script_rejects(&bad, &everyone(), H, 0);
}

#[test]
fn attack_match_hours_above_listing_max() {
    let mut l = listing();
    l.terms.max_hours = 8;
    let m = matching_with(order(), l);
    assert_valid(&m.p, &everyone(), H);
    let mut l2 = listing();
    l2.terms.max_hours = 1;
    let other: Typed<Listing> = typed(&m.e, &l2.to_candidate(&m.e.c, H).unwrap());
    let honest_succ: Typed<Listing> = typed(&m.e, &m.p.draft.outputs[1]);
    let bad = refinish(&m.p, &m.ex, |d| {
        d.inputs[1].bx = other.bx.clone();
        d.outputs[1] = Listing {
            stake: 9000,
            busy_until: honest_succ.v.busy_until,
            ..l2.clone()
        }
        .to_candidate(&m.e.c, H)
        .unwrap();
    });
    assert_script_rejects(&bad, &everyone(), H, 1);
}

// ------------------------------------------------------------------------------ owner paths

#[test]
fn honest_list_update_withdraw_listing() {
    let e = env();
    let ex = exec_of("provider", ERG, &[(e.gpuc, 10_000)]);
    let p = build::list_listing(&e.c, &listing(), H, &ex).unwrap();
    assert_valid(&p, &everyone(), H);
    let created: Typed<Listing> = Typed::parse(
        &e.c,
        on_chain(&p.unsigned.output_candidates.first().clone()),
    )
    .unwrap();
    let new = Listing {
        stake: 4000,
        ..created.v.clone()
    };
    let p = build::update_listing(&e.c, &created, &new, H, &exec_of("provider", ERG, &[])).unwrap();
    assert_valid(&p, &everyone(), H);
    let p = build::withdraw_listing(&e.c, &created, H, &exec_of("provider", ERG, &[])).unwrap();
    assert_valid(&p, &everyone(), H);
}

#[test]
fn attack_listing_withdraw_by_someone_else() {
    let e = env();
    let l: Typed<Listing> = typed(&e, &listing().to_candidate(&e.c, H).unwrap());
    let p = build::withdraw_listing(&e.c, &l, H, &exec_of("other", ERG, &[])).unwrap();
    assert_valid(&p, &everyone(), H);
    assert_script_rejects(&p, &wallet(&["other"]), H, 0);
}

#[test]
fn honest_place_and_cancel_order() {
    let e = env();
    let ex = exec_of("consumer", 20 * ERG, &[(e.gpuc, 2500)]);
    let p = build::place_order(&e.c, &order(), H, &ex).unwrap();
    assert_valid(&p, &everyone(), H);
    let o: Typed<Order> = Typed::parse(
        &e.c,
        on_chain(&p.unsigned.output_candidates.first().clone()),
    )
    .unwrap();
    let p = build::cancel_order(&e.c, &o, H, &exec_of("consumer", ERG, &[])).unwrap();
    assert_valid(&p, &everyone(), H);
}

#[test]
fn attack_order_cancel_by_someone_else() {
    let e = env();
    let o: Typed<Order> = typed(&e, &order().to_candidate(&e.c, H).unwrap());
    let p = build::cancel_order(&e.c, &o, H, &exec_of("other", ERG, &[])).unwrap();
    assert_valid(&p, &everyone(), H);
    assert_script_rejects(&p, &wallet(&["other"]), H, 0);
}

#[test]
fn builders_refuse_bad_matches() {
    let e = env();
    let ex = exec_of("exec", ERG, &[]);
    let l: Typed<Listing> = typed(&e, &listing().to_candidate(&e.c, H).unwrap());
    for o in [
        Order {
            terms: dgcm_contracts::order::OrderTerms {
                max_price_per_hour: 999,
                ..order_terms()
            },
            ..order()
        },
        Order {
            region: Some("us".into()),
            ..order()
        },
        Order {
            terms: dgcm_contracts::order::OrderTerms {
                hours: 9,
                max_price_per_hour: 100,
                ..order_terms()
            },
            budget: 100_000,
            ..order()
        },
    ] {
        let o: Typed<Order> = typed(&e, &o.to_candidate(&e.c, H).unwrap());
        assert!(build::match_order(&e.c, &o, &l, H, &ex).is_err());
    }
}

use ergo_lib::ergotree_ir::mir::constant::TryExtractInto;
