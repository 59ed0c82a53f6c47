//! Lease and arbitration paths: honest transactions and the attacks each must refuse.

mod common;

use common::*;
use dgcm_contracts::build;
use dgcm_contracts::util::p2pk_tree;
use ergo_lib::ergotree_ir::mir::constant::Constant;

const WIN: i64 = 60;

fn after_window() -> u32 {
    (COMPLETED_AT + WIN + 1) as u32
}

// ------------------------------------------------------------------------------ complete

fn completing() -> (Env, dgcm_contracts::TxPlan, dgcm_contracts::Executor, u32) {
    let e = env();
    let l = running_lease(&e);
    let h = (START + 50) as u32;
    let ex = exec_of("provider", ERG, &[]);
    let p = build::complete(&e.c, &l, 45, [0xcd; 32], h, &ex).unwrap();
    (e, p, ex, h)
}

#[test]
fn completion_with_slack_stays_valid_until_completed_at_and_no_later() {
    let e = env();
    let l = running_lease(&e);
    let h = (START + 50) as u32;
    let ex = exec_of("provider", ERG, &[]);
    let slack = build::COMPLETION_SLACK;
    let p = build::complete_within(&e.c, &l, 45, [0xcd; 32], h, slack, &ex).unwrap();
    assert_valid(&p, &everyone(), h);
    assert_valid(&p, &everyone(), h + slack);
    assert_script_rejects(&p, &everyone(), h + slack + 1, 0);
    assert!(build::complete_within(&e.c, &l, 45, [0xcd; 32], h, 31, &ex).is_err());
}

#[test]
fn honest_complete() {
    let (_, p, _, h) = completing();
    assert_valid(&p, &everyone(), h);
}

#[test]
fn attack_lease_complete_after_deadline() {
    let (e, p, ex, h) = completing();
    assert_valid(&p, &everyone(), h);
    let deadline = running_lease(&e).v.terms.deadline;
    let hh = (deadline + 1) as u32;
    let bad = refinish(&p, &ex, |d| {
        let v = longs_with(&d.outputs[0], 6, 8, hh as i64);
        set_reg(&mut d.outputs[0], 6, v);
    });
    assert_script_rejects(&bad, &everyone(), hh, 0);
}

#[test]
fn attack_lease_complete_swaps_consumer_register() {
    let (_, p, ex, h) = completing();
    assert_valid(&p, &everyone(), h);
    let bad = refinish(&p, &ex, |d| {
        set_reg(
            &mut d.outputs[0],
            4,
            dgcm_contracts::util::sigma_const(&pk("provider")),
        )
    });
    assert_script_rejects(&bad, &everyone(), h, 0);
}

#[test]
fn attack_lease_complete_swaps_script() {
    let (_, p, ex, h) = completing();
    assert_valid(&p, &everyone(), h);
    let bad = refinish(&p, &ex, |d| d.outputs[0].ergo_tree = tree_of("provider"));
    assert_script_rejects(&bad, &everyone(), h, 0);
}

#[test]
fn attack_lease_complete_changes_price() {
    let (_, p, ex, h) = completing();
    assert_valid(&p, &everyone(), h);
    let bad = refinish(&p, &ex, |d| {
        let v = longs_with(&d.outputs[0], 6, 0, 5000);
        set_reg(&mut d.outputs[0], 6, v);
    });
    assert_script_rejects(&bad, &everyone(), h, 0);
}

#[test]
fn attack_lease_complete_takes_tokens() {
    let (e, p, ex, h) = completing();
    assert_valid(&p, &everyone(), h);
    let bad = refinish(&p, &ex, |d| {
        set_tokens(&mut d.outputs[0], &[(e.gpuc, 2000)])
    });
    assert_script_rejects(&bad, &everyone(), h, 0);
}

#[test]
fn attack_lease_complete_usage_beyond_hours() {
    let (_, p, ex, h) = completing();
    assert_valid(&p, &everyone(), h);
    let bad = refinish(&p, &ex, |d| {
        let v = longs_with(&d.outputs[0], 6, 7, 61);
        set_reg(&mut d.outputs[0], 6, v);
    });
    assert_script_rejects(&bad, &everyone(), h, 0);
}

#[test]
fn attack_lease_complete_short_commitment() {
    let (_, p, ex, h) = completing();
    assert_valid(&p, &everyone(), h);
    let bad = refinish(&p, &ex, |d| {
        set_reg(&mut d.outputs[0], 9, Constant::from(vec![1u8; 31]))
    });
    assert_script_rejects(&bad, &everyone(), h, 0);
}

#[test]
fn attack_lease_complete_without_provider_signature() {
    let (_, p, _, h) = completing();
    assert_valid(&p, &everyone(), h);
    // the consumer (and the executor's funding key) sign, the provider does not
    let w = wallet(&["consumer", "provider_is_absent", "other"]);
    let p2 = {
        let e = env();
        let l = running_lease(&e);
        let ex = exec_of("other", ERG, &[]);
        build::complete(&e.c, &l, 45, [0xcd; 32], h, &ex).unwrap()
    };
    assert_script_rejects(&p2, &w, h, 0);
}

#[test]
fn attack_lease_register_of_wrong_type() {
    // R6 of the successor as Coll[Int]: the script reads Coll[Long]
    let (_, p, ex, h) = completing();
    assert_valid(&p, &everyone(), h);
    let bad = refinish(&p, &ex, |d| {
        let ints: Vec<i32> = vec![
            1000,
            2,
            2000,
            1000,
            START as i32,
            (START + 105) as i32,
            1_500_000,
            45,
            h as i32,
        ];
        set_reg(&mut d.outputs[0], 6, Constant::from(ints));
    });
    assert_script_rejects(&bad, &everyone(), h, 0);
}

// ------------------------------------------------------------------------------ finalise / accept

fn finalising() -> (Env, dgcm_contracts::TxPlan, dgcm_contracts::Executor) {
    let e = env();
    let l = done_lease(&e);
    let ex = exec_of("exec", ERG, &[]);
    let p = build::finalise(&e.c, &l, after_window(), &ex).unwrap();
    (e, p, ex)
}

#[test]
fn honest_finalise_pays_pro_rata() {
    let (e, p, _) = finalising();
    // used 45 blocks = 1.5 h -> pay 1500 + collateral 1000 to the provider, 500 back
    let o = &p.unsigned.output_candidates;
    assert_eq!(
        o.get(0)
            .unwrap()
            .tokens
            .as_ref()
            .unwrap()
            .first()
            .amount
            .as_u64(),
        &2500
    );
    assert_eq!(
        o.get(1)
            .unwrap()
            .tokens
            .as_ref()
            .unwrap()
            .first()
            .amount
            .as_u64(),
        &500
    );
    let _ = e;
    assert_valid(&p, &everyone(), after_window());
}

#[test]
fn honest_finalise_pays_only_the_used_blocks() {
    // v2: no one-hour minimum in the contract; 3 blocks of 1000/h = 100
    let e = env();
    let l = typed(&e, &lease(COMPLETED_AT, 3).to_candidate(&e.c, H).unwrap());
    let ex = exec_of("exec", ERG, &[]);
    let p = build::finalise(&e.c, &l, after_window(), &ex).unwrap();
    assert_eq!(
        p.unsigned
            .output_candidates
            .get(0)
            .unwrap()
            .tokens
            .as_ref()
            .unwrap()
            .first()
            .amount
            .as_u64(),
        &1100
    );
    assert_valid(&p, &everyone(), after_window());
}

#[test]
fn attack_lease_finalise_inside_challenge_window() {
    let (_, p, ex) = finalising();
    assert_valid(&p, &everyone(), after_window());
    let h = (COMPLETED_AT + 10) as u32;
    assert_script_rejects(&at_height(&p, &ex, h), &everyone(), h, 0);
}

#[test]
fn attack_lease_finalise_provider_takes_whole_payment() {
    let (e, p, ex) = finalising();
    assert_valid(&p, &everyone(), after_window());
    let bad = refinish(&p, &ex, |d| {
        set_tokens(&mut d.outputs[0], &[(e.gpuc, 3000)]);
        set_tokens(&mut d.outputs[1], &[]);
    });
    assert_script_rejects(&bad, &everyone(), after_window(), 0);
}

#[test]
fn attack_lease_finalise_executor_fee_above_cap() {
    let (_, p, ex) = finalising();
    assert_valid(&p, &everyone(), after_window());
    let bad = refinish(&p, &ex, |d| {
        let v = val(&d.outputs[1]);
        set_value(&mut d.outputs[1], v - 100_000);
    });
    assert_script_rejects(&bad, &everyone(), after_window(), 0);
}

#[test]
fn attack_lease_finalise_payout_to_someone_else() {
    let (_, p, ex) = finalising();
    assert_valid(&p, &everyone(), after_window());
    let bad = refinish(&p, &ex, |d| d.outputs[1].ergo_tree = tree_of("other"));
    assert_script_rejects(&bad, &everyone(), after_window(), 0);
}

#[test]
fn attack_lease_finalise_payout_without_id_tag() {
    let (_, p, ex) = finalising();
    assert_valid(&p, &everyone(), after_window());
    let bad = refinish(&p, &ex, |d| drop_regs(&mut d.outputs[0]));
    assert_script_rejects(&bad, &everyone(), after_window(), 0);
}

#[test]
fn attack_lease_finalise_burns_consumer_tokens() {
    let (e, p, ex) = finalising();
    assert_valid(&p, &everyone(), after_window());
    let bad = refinish(&p, &ex, |d| {
        set_tokens(&mut d.outputs[1], &[(e.gpuc, 100)]);
        d.burn.push((e.gpuc, 400));
    });
    assert_script_rejects(&bad, &everyone(), after_window(), 0);
}

#[test]
fn attack_lease_finalise_duplicates_tokens() {
    let (e, p, _) = finalising();
    assert_valid(&p, &everyone(), after_window());
    let bad = raw(&p, |o| set_tokens(&mut o[1], &[(e.gpuc, 1500)]));
    assert_tx_rejects(&bad, &everyone(), after_window(), "Token");
}

#[test]
fn attack_lease_finalise_uncompleted_lease() {
    let e = env();
    let running = running_lease(&e);
    let (_, p, ex) = finalising();
    assert_valid(&p, &everyone(), after_window());
    // same payouts shape, spent from a lease that never completed
    let bad = refinish(&p, &ex, |d| {
        d.inputs[0].bx = running.bx.clone();
        let id = Constant::from(running.bx.box_id().as_ref().to_vec());
        set_reg(&mut d.outputs[0], 4, id.clone());
        set_reg(&mut d.outputs[1], 4, id);
    });
    assert_script_rejects(&bad, &everyone(), after_window(), 0);
}

#[test]
fn attack_lease_double_satisfaction_twin_reuses_payouts() {
    let (e, p, ex) = finalising();
    assert_valid(&p, &everyone(), after_window());
    // an identical completed lease spent in the same transaction; its tokens go to the executor
    let twin = done_lease(&e);
    let bad = refinish(&p, &ex, |d| {
        d.inputs.push(dgcm_contracts::Spend {
            bx: twin.bx.clone(),
            ext: dgcm_contracts::tx::sel(1),
        });
    });
    assert_script_rejects(&bad, &everyone(), after_window(), 1);
}

#[test]
fn honest_accept_early() {
    let e = env();
    let l = done_lease(&e);
    let h = (COMPLETED_AT + 5) as u32;
    let p = build::accept(&e.c, &l, h, &exec_of("consumer", ERG, &[])).unwrap();
    assert_valid(&p, &everyone(), h);
}

#[test]
fn attack_lease_accept_without_consumer_signature() {
    let e = env();
    let l = done_lease(&e);
    let h = (COMPLETED_AT + 5) as u32;
    let p = build::accept(&e.c, &l, h, &exec_of("other", ERG, &[])).unwrap();
    assert_valid(&p, &everyone(), h);
    assert_script_rejects(&p, &wallet(&["other", "provider"]), h, 0);
}

#[test]
fn attack_lease_accept_consumer_takes_collateral() {
    let e = env();
    let l = done_lease(&e);
    let h = (COMPLETED_AT + 5) as u32;
    let ex = exec_of("consumer", ERG, &[]);
    let p = build::accept(&e.c, &l, h, &ex).unwrap();
    assert_valid(&p, &everyone(), h);
    let bad = refinish(&p, &ex, |d| {
        set_tokens(&mut d.outputs[0], &[(e.gpuc, 1500)]);
        set_tokens(&mut d.outputs[1], &[(e.gpuc, 1500)]);
    });
    assert_script_rejects(&bad, &everyone(), h, 0);
}

// ------------------------------------------------------------------------------ dispute

fn disputing() -> (Env, dgcm_contracts::TxPlan, dgcm_contracts::Executor, u32) {
    let e = env();
    let l = done_lease(&e);
    let h = (COMPLETED_AT + 10) as u32;
    let ex = exec_of("consumer", ERG, &[]);
    let p = build::dispute(&e.c, &l, h, &ex).unwrap();
    (e, p, ex, h)
}

#[test]
fn honest_dispute() {
    let (_, p, _, h) = disputing();
    assert_valid(&p, &everyone(), h);
}

#[test]
fn attack_lease_dispute_after_window() {
    let (_, p, _, h) = disputing();
    assert_valid(&p, &everyone(), h);
    assert_script_rejects(&p, &everyone(), after_window(), 0);
}

#[test]
fn attack_lease_dispute_into_a_fake_arbitration_script() {
    let (_, p, ex, h) = disputing();
    assert_valid(&p, &everyone(), h);
    let bad = refinish(&p, &ex, |d| d.outputs[0].ergo_tree = tree_of("consumer"));
    assert_script_rejects(&bad, &everyone(), h, 0);
}

#[test]
fn attack_lease_dispute_short_timeout() {
    let (_, p, ex, h) = disputing();
    assert_valid(&p, &everyone(), h);
    let bad = refinish(&p, &ex, |d| {
        let v = longs_with(&d.outputs[0], 6, 4, h as i64 + 10);
        set_reg(&mut d.outputs[0], 6, v);
    });
    assert_script_rejects(&bad, &everyone(), h, 0);
}

#[test]
fn attack_lease_dispute_rewrites_the_claim() {
    let (_, p, ex, h) = disputing();
    assert_valid(&p, &everyone(), h);
    let bad = refinish(&p, &ex, |d| {
        let v = longs_with(&d.outputs[0], 6, 2, 0);
        set_reg(&mut d.outputs[0], 6, v);
    });
    assert_script_rejects(&bad, &everyone(), h, 0);
}

// ------------------------------------------------------------------------------ slash / cancel

fn slashing() -> (Env, dgcm_contracts::TxPlan, dgcm_contracts::Executor, u32) {
    let e = env();
    let l = running_lease(&e);
    let h = (l.v.terms.deadline + 1) as u32;
    let ex = exec_of("exec", ERG, &[]);
    let p = build::slash(&e.c, &l, h, &ex).unwrap();
    (e, p, ex, h)
}

#[test]
fn honest_slash_after_deadline() {
    let (_, p, _, h) = slashing();
    assert_valid(&p, &everyone(), h);
}

#[test]
fn attack_lease_slash_before_deadline() {
    let (_, p, ex, h) = slashing();
    assert_valid(&p, &everyone(), h);
    assert_script_rejects(&at_height(&p, &ex, h - 1), &everyone(), h - 1, 0);
}

#[test]
fn attack_lease_slash_of_completed_lease() {
    let (e, p, ex, h) = slashing();
    assert_valid(&p, &everyone(), h);
    let done = done_lease(&e);
    let bad = refinish(&p, &ex, |d| {
        d.inputs[0].bx = done.bx.clone();
        set_reg(
            &mut d.outputs[0],
            4,
            Constant::from(done.bx.box_id().as_ref().to_vec()),
        );
    });
    assert_script_rejects(&bad, &everyone(), h, 0);
}

#[test]
fn attack_lease_slash_executor_fee_above_cap() {
    let (_, p, ex, h) = slashing();
    assert_valid(&p, &everyone(), h);
    let bad = refinish(&p, &ex, |d| {
        let v = val(&d.outputs[0]);
        set_value(&mut d.outputs[0], v - 1_000_000);
    });
    assert_script_rejects(&bad, &everyone(), h, 0);
}

#[test]
fn attack_lease_slash_pays_the_executor() {
    let (_, p, ex, h) = slashing();
    assert_valid(&p, &everyone(), h);
    let bad = refinish(&p, &ex, |d| d.outputs[0].ergo_tree = tree_of("exec"));
    assert_script_rejects(&bad, &everyone(), h, 0);
}

#[test]
fn honest_mutual_cancel() {
    let e = env();
    let l = running_lease(&e);
    let p = build::cancel_lease(&e.c, &l, 1000, H, &exec_of("consumer", ERG, &[])).unwrap();
    assert_valid(&p, &everyone(), H);
}

#[test]
fn attack_lease_cancel_with_one_signature() {
    let e = env();
    let l = running_lease(&e);
    let p = build::cancel_lease(&e.c, &l, 0, H, &exec_of("consumer", ERG, &[])).unwrap();
    assert_valid(&p, &everyone(), H);
    assert_script_rejects(&p, &wallet(&["consumer"]), H, 0);
}

// ------------------------------------------------------------------------------ arbitration

#[test]
fn honest_arbitration_decide_two_of_three() {
    let e = env();
    let a = arbitration(&e);
    let p = build::arbitrate(&e.c, &a, 1200, H, &exec_of("arb1", ERG, &[])).unwrap();
    assert_valid(&p, &wallet(&["arb1", "arb2"]), H);
}

#[test]
fn attack_arbitration_with_one_signature() {
    let e = env();
    let a = arbitration(&e);
    let p = build::arbitrate(&e.c, &a, 1200, H, &exec_of("arb1", ERG, &[])).unwrap();
    assert_valid(&p, &wallet(&["arb1", "arb2"]), H);
    assert_script_rejects(&p, &wallet(&["arb1"]), H, 0);
}

#[test]
fn attack_arbitration_committee_pays_a_third_party() {
    let e = env();
    let a = arbitration(&e);
    let ex = exec_of("arb1", ERG, &[]);
    let p = build::arbitrate(&e.c, &a, 1200, H, &ex).unwrap();
    let w = wallet(&["arb1", "arb2"]);
    assert_valid(&p, &w, H);
    let bad = refinish(&p, &ex, |d| d.outputs[1].ergo_tree = p2pk_tree(&pk("arb2")));
    assert_script_rejects(&bad, &w, H, 0);
}

#[test]
fn attack_arbitration_committee_takes_erg_above_cap() {
    let e = env();
    let a = arbitration(&e);
    let ex = exec_of("arb1", ERG, &[]);
    let p = build::arbitrate(&e.c, &a, 1200, H, &ex).unwrap();
    let w = wallet(&["arb1", "arb2"]);
    assert_valid(&p, &w, H);
    let bad = refinish(&p, &ex, |d| {
        let v = val(&d.outputs[1]);
        set_value(&mut d.outputs[1], v - 500_000);
    });
    assert_script_rejects(&bad, &w, H, 0);
}

#[test]
fn honest_arbitration_timeout() {
    let e = env();
    let a = arbitration(&e);
    let h = H + 101;
    let p = build::arbitration_timeout(&e.c, &a, h, &exec_of("exec", ERG, &[])).unwrap();
    assert_valid(&p, &everyone(), h);
}

#[test]
fn attack_arbitration_timeout_early() {
    let e = env();
    let a = arbitration(&e);
    let ex = exec_of("exec", ERG, &[]);
    let p = build::arbitration_timeout(&e.c, &a, H + 101, &ex).unwrap();
    assert_valid(&p, &everyone(), H + 101);
    assert_script_rejects(&at_height(&p, &ex, H + 100), &everyone(), H + 100, 0);
}

#[test]
fn attack_arbitration_timeout_gives_provider_everything() {
    let e = env();
    let a = arbitration(&e);
    let ex = exec_of("exec", ERG, &[]);
    let p = build::arbitration_timeout(&e.c, &a, H + 101, &ex).unwrap();
    assert_valid(&p, &everyone(), H + 101);
    let bad = refinish(&p, &ex, |d| {
        set_tokens(&mut d.outputs[0], &[(e.gpuc, 3000)]);
        set_tokens(&mut d.outputs[1], &[]);
    });
    assert_script_rejects(&bad, &everyone(), H + 101, 0);
}

#[test]
fn attack_arbitration_double_satisfaction() {
    let e = env();
    let a = arbitration(&e);
    let ex = exec_of("exec", ERG, &[]);
    let p = build::arbitration_timeout(&e.c, &a, H + 101, &ex).unwrap();
    assert_valid(&p, &everyone(), H + 101);
    let twin = arbitration(&e);
    let bad = refinish(&p, &ex, |d| {
        d.inputs.push(dgcm_contracts::Spend {
            bx: twin.bx.clone(),
            ext: dgcm_contracts::tx::sel(1),
        });
    });
    assert_script_rejects(&bad, &everyone(), H + 101, 1);
}

#[test]
fn builders_refuse_what_the_scripts_refuse() {
    let e = env();
    let ex = exec_of("exec", ERG, &[]);
    assert!(build::finalise(&e.c, &done_lease(&e), (COMPLETED_AT + 5) as u32, &ex).is_err());
    assert!(build::slash(&e.c, &running_lease(&e), H - 150, &ex).is_err());
    assert!(build::dispute(&e.c, &done_lease(&e), after_window(), &ex).is_err());
    assert!(build::complete(&e.c, &done_lease(&e), 1, [0; 32], H, &ex).is_err());
}
