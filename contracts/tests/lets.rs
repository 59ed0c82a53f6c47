//! LETS vault/member and Rosen deposit: honest transactions and the attacks each must refuse,
//! including the two known bugs of the published Trustless LETS example.

mod common;

use common::*;
use dgcm_contracts::build;
use dgcm_contracts::lets_member::Member;
use dgcm_contracts::util::sigma_const;
use dgcm_contracts::{Executor, TxPlan, Typed};
use ergo_lib::ergotree_interpreter::sigma_protocol::prover::ContextExtension;
use ergo_lib::ergotree_ir::chain::ergo_box::NonMandatoryRegisters;
use ergo_lib::ergotree_ir::mir::constant::Constant;

fn membership(e: &Env) -> ergo_lib::ergotree_ir::chain::token::TokenId {
    e.c.params.membership_id
}

// ------------------------------------------------------------------------------ join / top up

fn joining() -> (Env, TxPlan, Executor) {
    let e = env();
    let v = vault(&e);
    let ex = exec_of("owner", 2 * ERG, &[]);
    let p = build::join(&e.c, &v, &pk("owner"), ERG, &[], H, &ex).unwrap();
    (e, p, ex)
}

#[test]
fn honest_join() {
    let (_, p, _) = joining();
    assert_valid(&p, &everyone(), H);
}

#[test]
fn attack_vault_join_with_a_positive_opening_balance() {
    let (_, p, ex) = joining();
    assert_valid(&p, &everyone(), H);
    let bad = refinish(&p, &ex, |d| {
        set_reg(&mut d.outputs[1], 4, Constant::from(5000i64))
    });
    assert_script_rejects(&bad, &everyone(), H, 0);
}

#[test]
fn attack_vault_join_takes_two_memberships() {
    let (e, p, ex) = joining();
    assert_valid(&p, &everyone(), H);
    let bad = refinish(&p, &ex, |d| {
        set_tokens(
            &mut d.outputs[0],
            &[
                (e.c.params.vault_nft, 1),
                (e.gpuc, RESERVE),
                (membership(&e), 998),
            ],
        );
        set_tokens(&mut d.outputs[1], &[(membership(&e), 2)]);
    });
    assert_script_rejects(&bad, &everyone(), H, 0);
}

#[test]
fn attack_vault_stolen_into_a_key() {
    let (_, p, ex) = joining();
    assert_valid(&p, &everyone(), H);
    let bad = refinish(&p, &ex, |d| d.outputs[0].ergo_tree = tree_of("other"));
    assert_script_rejects(&bad, &everyone(), H, 0);
}

#[test]
fn honest_top_up_by_anyone() {
    let e = env();
    let m = member(&e, "owner", ERG, 0, -10);
    let sig = e.c.params.sigusd_id;
    // an account in debt takes only priced assets: SigUSD's pool (the ERG/USD pool) goes along
    let ex = exec_of("other", 3 * ERG, &[(sig, 500)]);
    assert!(build::top_up(&e.c, &m, ERG, &[(sig, 500)], H, &ex).is_err());
    let p = build::top_up_priced(&e.c, &m, ERG, &[(sig, 500)], &[oracle(&e)], H, &ex).unwrap();
    assert_valid(&p, &wallet(&["other"]), H);
}

#[test]
fn attack_member_top_up_removes_collateral() {
    let e = env();
    let m = member(&e, "owner", 2 * ERG, 0, -10);
    let ex = exec_of("other", ERG, &[]);
    let p = build::top_up(&e.c, &m, 10_000_000, &[], H, &ex).unwrap();
    assert_valid(&p, &wallet(&["other"]), H);
    let bad = refinish(&p, &ex, |d| set_value(&mut d.outputs[0], ERG));
    assert_script_rejects(&bad, &wallet(&["other"]), H, 0);
}

#[test]
fn attack_member_successor_with_a_foreign_token() {
    let e = env();
    let m = member(&e, "owner", ERG, 0, 0);
    let junk = dgcm_contracts::util::token_id([0x55; 32]);
    let ex = exec_of("other", ERG, &[(junk, 1)]);
    let p = build::top_up(&e.c, &m, 10_000_000, &[], H, &ex).unwrap();
    assert_valid(&p, &wallet(&["other"]), H);
    let bad = refinish(&p, &ex, |d| {
        set_tokens(&mut d.outputs[0], &[(membership(&e), 1), (junk, 1)])
    });
    assert_script_rejects(&bad, &wallet(&["other"]), H, 0);
}

#[test]
fn attack_member_balance_register_of_wrong_type() {
    let e = env();
    let m = member(&e, "owner", ERG, 0, -10);
    let ex = exec_of("other", ERG, &[]);
    let p = build::top_up(&e.c, &m, 10_000_000, &[], H, &ex).unwrap();
    assert_valid(&p, &wallet(&["other"]), H);
    let bad = refinish(&p, &ex, |d| {
        set_reg(&mut d.outputs[0], 4, Constant::from(-10i32))
    });
    assert_script_rejects(&bad, &wallet(&["other"]), H, 0);
}

// ------------------------------------------------------------------------------ withdraw / deposit

struct W {
    e: Env,
    p: TxPlan,
    ex: Executor,
}

/// Alice: 20 SigUSD + 1 ERG of collateral, balance 0, withdraws 10 GPUC at $1.01, 150 %.
fn withdrawing() -> W {
    let e = env();
    let v = vault(&e);
    let m = member(&e, "owner", ERG, 2000, 0);
    let ex = exec_of("owner", ERG, &[]);
    let p = build::withdraw(
        &e.c,
        &v,
        &m,
        10_000,
        &[oracle(&e)],
        &tree_of("owner"),
        H,
        &ex,
    )
    .unwrap();
    W { e, p, ex }
}

#[test]
fn honest_withdraw_ten_gpuc() {
    let w = withdrawing();
    assert_valid(&w.p, &everyone(), H);
}

#[test]
fn attack_member_withdrawal_beyond_credit_limit() {
    let w = withdrawing();
    assert_valid(&w.p, &everyone(), H);
    // 30 GPUC of debt needs $45.45 of collateral; Alice has $21.03
    let bad = refinish(&w.p, &w.ex, |d| {
        set_tokens(
            &mut d.outputs[0],
            &[
                (w.e.c.params.vault_nft, 1),
                (w.e.gpuc, RESERVE - 30_000),
                (membership(&w.e), 1000),
            ],
        );
        set_reg(&mut d.outputs[1], 4, Constant::from(-30_000i64));
        set_tokens(&mut d.outputs[2], &[(w.e.gpuc, 30_000)]);
    });
    assert_script_rejects(&bad, &everyone(), H, 1);
}

#[test]
fn attack_member_negative_balance_with_fake_oracle() {
    let w = withdrawing();
    assert_valid(&w.p, &everyone(), H);
    let bad = refinish(&w.p, &w.ex, |d| d.data_inputs = vec![fake_oracle()]);
    assert_script_rejects(&bad, &everyone(), H, 1);
}

#[test]
fn attack_member_negative_balance_without_oracle() {
    let w = withdrawing();
    assert_valid(&w.p, &everyone(), H);
    let bad = refinish(&w.p, &w.ex, |d| d.data_inputs.clear());
    assert_script_rejects(&bad, &everyone(), H, 1);
}

#[test]
fn attack_vault_withdraw_more_than_the_balance_change() {
    let w = withdrawing();
    assert_valid(&w.p, &everyone(), H);
    let bad = refinish(&w.p, &w.ex, |d| {
        set_tokens(
            &mut d.outputs[0],
            &[
                (w.e.c.params.vault_nft, 1),
                (w.e.gpuc, RESERVE - 20_000),
                (membership(&w.e), 1000),
            ],
        );
        set_tokens(&mut d.outputs[2], &[(w.e.gpuc, 20_000)]);
    });
    assert_script_rejects(&bad, &everyone(), H, 0);
}

#[test]
fn attack_member_withdraw_without_owner_signature() {
    let w = withdrawing();
    assert_valid(&w.p, &everyone(), H);
    let e = &w.e;
    let p = build::withdraw(
        &e.c,
        &vault(e),
        &member(e, "owner", ERG, 2000, 0),
        10_000,
        &[oracle(e)],
        &tree_of("other"),
        H,
        &exec_of("other", ERG, &[]),
    )
    .unwrap();
    assert_script_rejects(&p, &wallet(&["other"]), H, 1);
}

#[test]
fn attack_member_withdraw_changes_the_owner() {
    let w = withdrawing();
    assert_valid(&w.p, &everyone(), H);
    let bad = refinish(&w.p, &w.ex, |d| {
        set_reg(&mut d.outputs[1], 5, sigma_const(&pk("other")))
    });
    assert_script_rejects(&bad, &everyone(), H, 0);
}

#[test]
fn honest_deposit_gpuc() {
    let e = env();
    let m = member(&e, "owner", ERG, 0, -5000);
    let ex = exec_of("owner", ERG, &[(e.gpuc, 5000)]);
    let p = build::deposit(&e.c, &vault(&e), &m, 5000, &[], H, &ex).unwrap();
    assert_valid(&p, &everyone(), H);
}

#[test]
fn attack_member_deposit_credits_more_than_paid() {
    let e = env();
    let m = member(&e, "owner", ERG, 0, -5000);
    let ex = exec_of("owner", ERG, &[(e.gpuc, 5000)]);
    let p = build::deposit(&e.c, &vault(&e), &m, 5000, &[], H, &ex).unwrap();
    assert_valid(&p, &everyone(), H);
    let bad = refinish(&p, &ex, |d| {
        set_reg(&mut d.outputs[1], 4, Constant::from(5000i64))
    });
    assert_script_rejects(&bad, &everyone(), H, 0);
}

// ------------------------------------------------------------------------------ transfer

fn paying() -> (Env, TxPlan, Executor) {
    let e = env();
    let alice = member(&e, "owner", ERG, 2000, -1000);
    let bob = member(&e, "provider", 1_000_000, 0, 0);
    let ex = exec_of("owner", ERG, &[]);
    let p = build::transfer(&e.c, &alice, &bob, 4000, &[oracle(&e)], H, &ex).unwrap();
    (e, p, ex)
}

#[test]
fn honest_transfer() {
    let (_, p, _) = paying();
    assert_valid(&p, &everyone(), H);
}

#[test]
fn attack_member_transfer_not_conserving_balances() {
    let (_, p, ex) = paying();
    assert_valid(&p, &everyone(), H);
    let bad = refinish(&p, &ex, |d| {
        set_reg(&mut d.outputs[1], 4, Constant::from(9000i64))
    });
    assert_script_rejects(&bad, &everyone(), H, 0);
}

#[test]
fn attack_member_receive_without_a_paying_member() {
    // the receive path alone (no counterpart member at input 0) cannot mint credit
    let (e, p, ex) = paying();
    assert_valid(&p, &everyone(), H);
    let fake_payer = p2pk_box("owner", ERG, &[]);
    let bad = refinish(&p, &ex, |d| {
        d.inputs[0].bx = fake_payer.clone();
        d.inputs[0].ext = ContextExtension::empty();
        d.data_inputs.clear();
        d.outputs[0] = ergo_lib::ergotree_ir::chain::ergo_box::ErgoBoxCandidate {
            ergo_tree: tree_of("owner"),
            tokens: None,
            additional_registers: NonMandatoryRegisters::empty(),
            ..d.outputs[0].clone()
        };
        let _ = &e;
    });
    assert_script_rejects(&bad, &everyone(), H, 1);
}

/// Published-LETS bug 1 (a balance check computed but unused): a payment that leaves the payer
/// under-collateralised must be refused.
#[test]
fn attack_lets_bug1_overdraft_through_a_payment() {
    let (_, p, ex) = paying();
    assert_valid(&p, &everyone(), H);
    let bad = refinish(&p, &ex, |d| {
        set_reg(&mut d.outputs[0], 4, Constant::from(-101_000i64));
        set_reg(&mut d.outputs[1], 4, Constant::from(100_000i64));
    });
    assert_script_rejects(&bad, &everyone(), H, 0);
}

/// Published-LETS bug 2 (registers read from SELF instead of the output): the receiver's output
/// with a swapped owner key must be refused.
#[test]
fn attack_lets_bug2_receive_swaps_the_owner_register() {
    let (_, p, ex) = paying();
    assert_valid(&p, &everyone(), H);
    let bad = refinish(&p, &ex, |d| {
        set_reg(&mut d.outputs[1], 5, sigma_const(&pk("other")))
    });
    assert_script_rejects(&bad, &everyone(), H, 1);
}

/// Bug 2, payer side: the payer's output keeps its old balance while the payee is credited
/// (the payer's own path sees a plain collateral change; the payee's receive path reads the
/// payer's *output* register and refuses).
#[test]
fn attack_lets_bug2_payer_output_keeps_old_balance() {
    let (_, p, ex) = paying();
    assert_valid(&p, &everyone(), H);
    let bad = refinish(&p, &ex, |d| {
        set_reg(&mut d.outputs[0], 4, Constant::from(-1000i64))
    });
    assert_script_rejects(&bad, &everyone(), H, 1);
}

// ------------------------------------------------------------------------------ liquidation / close

/// Debt 30 GPUC ($30.30, needs $45.45), collateral 20 SigUSD + 1 ERG: unhealthy. Repay 10 GPUC
/// ($10.10) and take 1080 cents (≤ 107 % = $10.807).
fn liquidating(sigusd: u64) -> (Env, Typed<Member>, TxPlan, Executor) {
    let e = env();
    let m = member(&e, "owner", ERG, sigusd, -30_000);
    let ex = exec_of("other", ERG, &[(e.gpuc, 10_000)]);
    let p = build::liquidate(
        &e.c,
        &vault(&e),
        &m,
        10_000,
        0,
        &cents(&e, 1080),
        &[oracle(&e)],
        H,
        &ex,
    );
    (e, m, p.unwrap_or_else(|err| panic!("{err}")), ex)
}

#[test]
fn honest_liquidation() {
    let (_, _, p, _) = liquidating(2000);
    assert_valid(&p, &wallet(&["other"]), H);
}

#[test]
fn attack_member_liquidation_beyond_the_discount() {
    let (e, _, p, ex) = liquidating(2000);
    assert_valid(&p, &wallet(&["other"]), H);
    let bad = refinish(&p, &ex, |d| {
        set_tokens(
            &mut d.outputs[1],
            &[(membership(&e), 1), (e.c.params.sigusd_id, 900)],
        )
    });
    assert_script_rejects(&bad, &wallet(&["other"]), H, 1);
}

#[test]
fn attack_member_liquidation_of_a_healthy_account() {
    let (e, _, p, ex) = liquidating(2000);
    assert_valid(&p, &wallet(&["other"]), H);
    let healthy = member(&e, "owner", ERG, 5000, -30_000);
    let bad = refinish(&p, &ex, |d| {
        d.inputs[1].bx = healthy.bx.clone();
        set_tokens(
            &mut d.outputs[1],
            &[(membership(&e), 1), (e.c.params.sigusd_id, 3920)],
        );
    });
    assert_script_rejects(&bad, &wallet(&["other"]), H, 1);
}

#[test]
fn attack_member_liquidation_with_fake_oracle() {
    let (_, _, p, ex) = liquidating(2000);
    assert_valid(&p, &wallet(&["other"]), H);
    let bad = refinish(&p, &ex, |d| d.data_inputs = vec![fake_oracle()]);
    assert_script_rejects(&bad, &wallet(&["other"]), H, 1);
}

#[test]
fn attack_member_liquidation_repays_less_than_credited() {
    let (e, _, p, ex) = liquidating(2000);
    assert_valid(&p, &wallet(&["other"]), H);
    let bad = refinish(&p, &ex, |d| {
        set_tokens(
            &mut d.outputs[0],
            &[
                (e.c.params.vault_nft, 1),
                (e.gpuc, RESERVE + 1000),
                (membership(&e), 1000),
            ],
        );
    });
    assert_script_rejects(&bad, &wallet(&["other"]), H, 0);
}

#[test]
fn honest_close_member() {
    let e = env();
    let m = member(&e, "owner", ERG, 0, 0);
    let p = build::close_member(&e.c, &m, H, &exec_of("owner", ERG, &[])).unwrap();
    assert_valid(&p, &everyone(), H);
}

#[test]
fn attack_member_close_with_a_debt() {
    let e = env();
    let ex = exec_of("owner", ERG, &[]);
    let p = build::close_member(&e.c, &member(&e, "owner", ERG, 0, 0), H, &ex).unwrap();
    assert_valid(&p, &everyone(), H);
    let debtor = member(&e, "owner", ERG, 0, -10);
    let bad = refinish(&p, &ex, |d| d.inputs[0].bx = debtor.bx.clone());
    assert_script_rejects(&bad, &everyone(), H, 0);
}

#[test]
fn attack_member_close_keeping_the_membership_token() {
    let e = env();
    let ex = exec_of("owner", ERG, &[]);
    let p = build::close_member(&e.c, &member(&e, "owner", ERG, 0, 0), H, &ex).unwrap();
    assert_valid(&p, &everyone(), H);
    let bad = refinish(&p, &ex, |d| d.burn.clear());
    assert_script_rejects(&bad, &everyone(), H, 0);
}

// ------------------------------------------------------------------------------ Rosen deposit

fn converting() -> (Env, TxPlan, Executor) {
    let e = env();
    let m = member(&e, "owner", 1_000_000, 0, 0);
    let d = rosen_deposit(&e, "owner", 50_000_000, 1500);
    let ex = exec_of("exec", ERG, &[]);
    let p = build::convert_rosen(&e.c, &d, &m, H, &ex).unwrap();
    (e, p, ex)
}

#[test]
fn honest_rosen_convert() {
    let (_, p, _) = converting();
    assert_valid(&p, &wallet(&["exec"]), H);
}

#[test]
fn attack_rosen_convert_relay_fee_above_cap() {
    let (_, p, ex) = converting();
    assert_valid(&p, &wallet(&["exec"]), H);
    let bad = refinish(&p, &ex, |d| {
        let v = val(&d.outputs[0]);
        set_value(&mut d.outputs[0], v - 1_000_000);
    });
    assert_script_rejects(&bad, &wallet(&["exec"]), H, 1);
}

#[test]
fn attack_rosen_convert_into_someone_elses_account() {
    let (e, p, ex) = converting();
    assert_valid(&p, &wallet(&["exec"]), H);
    let other = member(&e, "other", 1_000_000, 0, 0);
    let bad = refinish(&p, &ex, |d| {
        d.inputs[0].bx = other.bx.clone();
        set_reg(&mut d.outputs[0], 4, Constant::from(0i64));
        set_reg(&mut d.outputs[0], 5, sigma_const(&pk("other")));
    });
    assert_script_rejects(&bad, &wallet(&["exec"]), H, 1);
}

#[test]
fn attack_rosen_convert_keeps_the_sigusd() {
    let (e, p, ex) = converting();
    assert_valid(&p, &wallet(&["exec"]), H);
    let bad = refinish(&p, &ex, |d| {
        set_tokens(&mut d.outputs[0], &[(membership(&e), 1)])
    });
    assert_script_rejects(&bad, &wallet(&["exec"]), H, 1);
}

#[test]
fn honest_rosen_owner_spend_without_selector() {
    let e = env();
    let d = rosen_deposit(&e, "owner", 50_000_000, 1500);
    let ex = exec_of("owner", ERG, &[]);
    let mut draft = dgcm_contracts::TxDraft::new(H);
    draft.inputs.push(dgcm_contracts::Spend {
        bx: d.bx.clone(),
        ext: ContextExtension::empty(),
    });
    let p = draft.finish(&ex).unwrap();
    assert_valid(&p, &everyone(), H);
    // twin attack: someone else cannot spend it
    assert_script_rejects(&p, &wallet(&["other", "exec"]), H, 0);
}

#[test]
fn attack_rosen_owner_path_by_someone_else() {
    let e = env();
    let d = rosen_deposit(&e, "owner", 50_000_000, 0);
    let mut draft = dgcm_contracts::TxDraft::new(H);
    draft.inputs.push(dgcm_contracts::Spend {
        bx: d.bx.clone(),
        ext: dgcm_contracts::tx::sel(0),
    });
    let p = draft.finish(&exec_of("other", ERG, &[])).unwrap();
    assert_valid(&p, &everyone(), H);
    assert_script_rejects(&p, &wallet(&["other"]), H, 0);
}
