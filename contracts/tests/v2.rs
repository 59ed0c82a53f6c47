//! Protocol v2: the four holes an outside review found in v1, and the v2 properties
//! (fully constrained outputs, no cross-contract double satisfaction, per-party ERG, fair idle
//! and early ends, the order's terms whoever matches, oracle freshness, no free no-op re-spends).
//! Each `attack_*` builds the honest twin first and requires it to be accepted.

mod common;

use common::*;
use dgcm_contracts::build;
use dgcm_contracts::lease::Lease;
use dgcm_contracts::lets_member::Member;
use dgcm_contracts::listing::Listing;
use dgcm_contracts::order::Order;
use dgcm_contracts::tx::{sel, sel_idx, Spend};
use dgcm_contracts::util::{sigma_const, token_id};
use dgcm_contracts::{Contracts, Executor, ProtocolParams, TxPlan, Typed};
use ergo_lib::ergotree_ir::chain::ergo_box::{ErgoBox, NonMandatoryRegisters};
use ergo_lib::ergotree_ir::mir::constant::{Constant, TryExtractInto};

// ------------------------------------------------------------------------------ hole 1

/// v1: inputs `[vault (join), zero-balance member M (top-up, var 1 = 1), funding]`, outputs
/// `[vault', M' (M, topped up), FORGED member, change]`: M' satisfied both the vault's "new
/// member at OUTPUTS(1)" and M's own top-up; the released membership token went to FORGED.
/// v2: the vault refuses a join when another input holds a membership token. The honest join
/// (for `joiner`) and the honest top-up of M (owned by `passer`) are each accepted first.
fn assert_join_beside_a_top_up_refused(joiner: &str, passer: &str, forged: Member) {
    let e = env();
    let ex = exec_of("other", 3 * ERG, &[]);
    let honest = build::join(&e.c, &vault(&e), &pk(joiner), ERG, &[], H, &ex).unwrap();
    assert_valid(&honest, &wallet(&["other"]), H);
    let m = member(&e, passer, ERG, 0, 0);
    let topped = build::top_up(&e.c, &m, 10_000_000, &[], H, &ex).unwrap();
    assert_valid(&topped, &wallet(&["other"]), H);
    let bad = refinish(&honest, &ex, |d| {
        d.inputs.insert(
            1,
            Spend {
                bx: m.bx.clone(),
                ext: sel_idx(3, 1),
            },
        );
        d.outputs[1] = topped.draft.outputs[0].clone();
        d.outputs.insert(2, forged.to_candidate(&e.c, H).unwrap());
    });
    assert_script_rejects(&bad, &wallet(&["other"]), H, 0);
}

#[test]
fn attack_hole1_join_beside_a_member_top_up_forges_a_member() {
    let forged = Member {
        value: ERG,
        assets: vec![],
        balance: 999_999_999,
        owner: pk("other"),
    };
    assert_join_beside_a_top_up_refused("other", "owner", forged);
}

/// The forged-negative-balance variant: the released token lands on a member box of a victim
/// with a debt it never took.
#[test]
fn attack_hole1_join_beside_a_member_top_up_forges_a_victims_debt() {
    let victim = Member {
        value: ERG,
        assets: vec![],
        balance: -5_000_000,
        owner: pk("owner"),
    };
    assert_join_beside_a_top_up_refused("owner", "other", victim);
}

#[test]
fn attack_vault_join_new_member_with_a_foreign_token() {
    let e = env();
    let junk = token_id([0x55; 32]);
    let ex = exec_of("owner", 3 * ERG, &[(junk, 5)]);
    let p = build::join(&e.c, &vault(&e), &pk("owner"), ERG, &[], H, &ex).unwrap();
    assert_valid(&p, &everyone(), H);
    let bad = refinish(&p, &ex, |d| {
        set_tokens(
            &mut d.outputs[1],
            &[(e.c.params.membership_id, 1), (junk, 5)],
        )
    });
    assert_script_rejects(&bad, &everyone(), H, 0);
}

#[test]
fn attack_vault_join_with_sigusd_collateral_in_the_wrong_place() {
    let e = env();
    let sig = e.c.params.sigusd_id;
    let ex = exec_of("owner", 3 * ERG, &[(sig, 2000)]);
    let p = build::join(&e.c, &vault(&e), &pk("owner"), ERG, &[(sig, 2000)], H, &ex).unwrap();
    assert_valid(&p, &everyone(), H);
    // SigUSD first, membership second: every later member path reads tokens(0)
    let bad = refinish(&p, &ex, |d| {
        set_tokens(
            &mut d.outputs[1],
            &[(sig, 2000), (e.c.params.membership_id, 1)],
        )
    });
    assert_script_rejects(&bad, &everyone(), H, 0);
}

#[test]
fn attack_vault_join_owner_register_of_wrong_type() {
    let e = env();
    let ex = exec_of("owner", 3 * ERG, &[]);
    let p = build::join(&e.c, &vault(&e), &pk("owner"), ERG, &[], H, &ex).unwrap();
    assert_valid(&p, &everyone(), H);
    let bad = refinish(&p, &ex, |d| {
        set_reg(&mut d.outputs[1], 5, Constant::from(7i64))
    });
    assert!(!matches!(run(&bad, &everyone(), H), Verdict::Valid));
}

// ------------------------------------------------------------------------------ hole 2

struct M {
    e: Env,
    p: TxPlan,
    ex: Executor,
    listing: Typed<Listing>,
}

fn matching() -> M {
    let e = env();
    let order: Typed<Order> = typed(&e, &order().to_candidate(&e.c, H).unwrap());
    let listing: Typed<Listing> = typed(&e, &listing().to_candidate(&e.c, H).unwrap());
    let ex = exec_of("exec", ERG, &[]);
    let p = build::match_order(&e.c, &order, &listing, H, &ex).unwrap();
    M { e, p, ex, listing }
}

/// A renter's own match without an order: `[renter's GPUC, listing (match)]` →
/// `[lease, listing']`; `f` alters the lease.
fn direct_match(
    m: &M,
    f: impl FnOnce(&mut ergo_lib::ergotree_ir::chain::ergo_box::ErgoBoxCandidate),
) -> (TxPlan, Executor) {
    let gpuc = m.e.gpuc;
    let ex = exec_of("other", 2 * ERG, &[(gpuc, 3000)]);
    let p = refinish(&m.p, &ex, |d| {
        let renter = p2pk_box("other", ERG, &[(gpuc, 3000)]);
        d.inputs[0] = Spend {
            bx: renter,
            ext: ergo_lib::ergotree_interpreter::sigma_protocol::prover::ContextExtension::empty(),
        };
        d.outputs.truncate(2); // lease, listing' (no refund: there is no order)
        set_reg(&mut d.outputs[0], 4, sigma_const(&pk("other")));
        f(&mut d.outputs[0]);
    });
    (p, ex)
}

#[test]
fn honest_direct_match_by_a_renter_creates_a_lease_every_tool_can_read() {
    let m = matching();
    let (p, _) = direct_match(&m, |_| {});
    assert_valid(&p, &wallet(&["other"]), H);
    let lease: Typed<Lease> = typed(&m.e, &p.draft.outputs[0]);
    assert_eq!(lease.v.consumer, pk("other"));
    assert_eq!(lease.v.listing_nft, m.listing.v.nft.as_ref().to_vec());
}

fn assert_direct_match_refused(
    f: impl FnOnce(&mut ergo_lib::ergotree_ir::chain::ergo_box::ErgoBoxCandidate),
) {
    let m = matching();
    let (good, _) = direct_match(&m, |_| {});
    assert_valid(&good, &wallet(&["other"]), H);
    let (bad, _) = direct_match(&m, f);
    assert_script_rejects(&bad, &wallet(&["other"]), H, 1);
}

#[test]
fn attack_hole2_direct_match_with_a_job_hash_of_wrong_type() {
    assert_direct_match_refused(|l| set_reg(l, 7, Constant::from(0i32)));
}

#[test]
fn attack_hole2_direct_match_with_a_consumer_of_wrong_type() {
    assert_direct_match_refused(|l| set_reg(l, 4, Constant::from(0i32)));
}

#[test]
fn attack_hole2_direct_match_with_a_consumer_that_is_not_a_key() {
    // a 1-of-2 of two keys: a SigmaProp, but not the P2PK every payout and tool expects
    use ergo_lib::ergotree_ir::sigma_protocol::sigma_boolean::cthreshold::Cthreshold;
    use ergo_lib::ergotree_ir::sigma_protocol::sigma_boolean::{SigmaBoolean, SigmaProp};
    let sb = Cthreshold::reduce(
        1,
        [pk("other"), pk("exec")]
            .map(SigmaBoolean::from)
            .to_vec()
            .try_into()
            .unwrap(),
    );
    let sp = SigmaProp::new(sb);
    assert_direct_match_refused(|l| set_reg(l, 4, Constant::from(sp)));
}

#[test]
fn attack_hole2_direct_match_with_a_short_job_hash() {
    assert_direct_match_refused(|l| set_reg(l, 7, Constant::from(vec![0x11u8; 31])));
}

#[test]
fn attack_hole2_direct_match_with_a_usage_commitment_already_set() {
    assert_direct_match_refused(|l| set_reg(l, 9, Constant::from(vec![0xcdu8; 32])));
}

#[test]
fn attack_hole2_direct_match_without_r9() {
    assert_direct_match_refused(|l| {
        let regs = regs_of(l);
        l.additional_registers = NonMandatoryRegisters::try_from(regs[..5].to_vec()).unwrap();
    });
}

#[test]
fn attack_hole2_direct_match_with_a_provider_register_of_wrong_type() {
    assert_direct_match_refused(|l| set_reg(l, 5, Constant::from(vec![1u8; 33])));
}

#[test]
fn attack_match_by_order_with_a_usage_commitment_already_set() {
    let m = matching();
    assert_valid(&m.p, &everyone(), H);
    let bad = refinish(&m.p, &m.ex, |d| {
        set_reg(&mut d.outputs[0], 9, Constant::from(vec![0xcdu8; 32]))
    });
    assert!(matches!(
        run(&bad, &everyone(), H),
        Verdict::Script(0 | 1, _)
    ));
}

// ------------------------------------------------------------------------------ the order's terms, whoever matches

/// The provider spends their own listing by its provider path (signing), so the listing's match
/// checks do not run: the order alone must hold its terms.
fn provider_matches(m: &M, f: impl FnOnce(&mut dgcm_contracts::tx::TxDraft)) -> TxPlan {
    refinish(&m.p, &m.ex, |d| {
        d.inputs[1].ext = sel(0);
        f(d);
    })
}

#[test]
fn honest_provider_matches_an_order_with_its_own_listing() {
    let m = matching();
    let p = provider_matches(&m, |_| {});
    assert_valid(&p, &wallet(&["provider", "exec"]), H);
}

fn assert_order_refuses_provider_match(f: impl FnOnce(&mut dgcm_contracts::tx::TxDraft)) {
    let m = matching();
    let good = provider_matches(&m, |_| {});
    assert_valid(&good, &wallet(&["provider", "exec"]), H);
    let bad = provider_matches(&m, f);
    assert_script_rejects(&bad, &wallet(&["provider", "exec"]), H, 0);
}

#[test]
fn attack_provider_match_without_the_listed_collateral() {
    assert_order_refuses_provider_match(|d| {
        let v = longs_with(&d.outputs[0], 6, 3, 0);
        set_reg(&mut d.outputs[0], 6, v);
        set_tokens(&mut d.outputs[0], &[(env().gpuc, 2000)]);
        set_tokens(
            &mut d.outputs[1],
            &[(token_id(LISTING_NFT), 1), (env().gpuc, 10_000)],
        );
    });
}

#[test]
fn attack_provider_match_above_the_listed_price() {
    // the order allows 1200, the listing says 1000: the provider may not charge more than listed
    assert_order_refuses_provider_match(|d| {
        let mut v: Vec<i64> = regs_of(&d.outputs[0])[2]
            .v
            .clone()
            .try_extract_into()
            .unwrap();
        v[0] = 1200;
        v[2] = 2400;
        set_reg(&mut d.outputs[0], 6, Constant::from(v));
        set_tokens(&mut d.outputs[0], &[(env().gpuc, 3400)]);
        set_tokens(&mut d.outputs[2], &[(env().gpuc, 100)]);
    });
}

#[test]
fn attack_provider_match_with_a_start_in_the_past() {
    // an old start makes the deadline already passed: the consumer's hours are gone
    assert_order_refuses_provider_match(|d| {
        let mut v: Vec<i64> = regs_of(&d.outputs[0])[2]
            .v
            .clone()
            .try_extract_into()
            .unwrap();
        v[4] -= 100;
        v[5] -= 100;
        set_reg(&mut d.outputs[0], 6, Constant::from(v));
    });
}

#[test]
fn attack_provider_match_with_another_job_hash() {
    assert_order_refuses_provider_match(|d| {
        set_reg(&mut d.outputs[0], 7, Constant::from(vec![0x22u8; 32]))
    });
}

#[test]
fn attack_provider_match_with_fewer_hours() {
    assert_order_refuses_provider_match(|d| {
        let mut v: Vec<i64> = regs_of(&d.outputs[0])[2]
            .v
            .clone()
            .try_extract_into()
            .unwrap();
        v[1] = 1;
        v[2] = 1000;
        v[3] = 500;
        v[5] = v[4] + 30 + 45;
        set_reg(&mut d.outputs[0], 6, Constant::from(v));
        set_tokens(&mut d.outputs[0], &[(env().gpuc, 1500)]);
        set_tokens(&mut d.outputs[2], &[(env().gpuc, 1500)]);
        set_tokens(
            &mut d.outputs[1],
            &[(token_id(LISTING_NFT), 1), (env().gpuc, 9500)],
        );
    });
}

#[test]
fn attack_provider_match_with_a_usage_commitment_already_set() {
    assert_order_refuses_provider_match(|d| {
        set_reg(&mut d.outputs[0], 9, Constant::from(vec![0xcdu8; 32]))
    });
}

// ------------------------------------------------------------------------------ hole 3: no-show

/// A consumer who never submits a job: the provider's worker completes the idle lease before
/// the deadline claiming the blocks it held the GPU (here one hour), so the slash that would
/// hand the consumer the collateral is closed and the consumer gets the rest back.
#[test]
fn attack_hole3_no_show_consumer_cannot_slash_an_idle_lease_the_provider_completed() {
    let e = env();
    let l = running_lease(&e);
    let h = (START + 40) as u32;
    let ex = exec_of("provider", ERG, &[]);
    let done = build::complete(&e.c, &l, 30, [0xcd; 32], h, &ex).unwrap();
    assert_valid(&done, &everyone(), h);
    let completed: Typed<Lease> = typed(&e, &done.draft.outputs[0]);
    // the slash of the idle lease, after its deadline, as the consumer would do without the
    // worker's completion
    let after = (l.v.terms.deadline + 1) as u32;
    let slash = build::slash(&e.c, &l, after, &exec_of("consumer", ERG, &[])).unwrap();
    assert_valid(&slash, &everyone(), after);
    // once completed, it is closed for good
    let bad = refinish(&slash, &exec_of("consumer", ERG, &[]), |d| {
        d.inputs[0].bx = completed.bx.clone();
        set_reg(
            &mut d.outputs[0],
            4,
            Constant::from(completed.bx.box_id().as_ref().to_vec()),
        );
    });
    assert_script_rejects(&bad, &everyone(), after, 0);
    // and the finalise pays the provider one hour plus the collateral back, the consumer the rest
    let fin = build::finalise(
        &e.c,
        &completed,
        (completed.v.terms.completed_at + 61) as u32,
        &ex,
    )
    .unwrap();
    assert_valid(
        &fin,
        &everyone(),
        (completed.v.terms.completed_at + 61) as u32,
    );
    let amt = |i: usize| {
        *fin.draft.outputs[i]
            .tokens
            .as_ref()
            .unwrap()
            .first()
            .amount
            .as_u64()
    };
    assert_eq!(amt(0), 1000 + 1000);
    assert_eq!(amt(1), 1000);
}

// ------------------------------------------------------------------------------ hole 4

#[test]
fn attack_hole4_complete_claims_more_blocks_than_have_passed() {
    let e = env();
    let l = running_lease(&e);
    let h = (START + 1) as u32;
    let ex = exec_of("provider", ERG, &[]);
    let p = build::complete(&e.c, &l, 1, [0xcd; 32], h, &ex).unwrap();
    assert_valid(&p, &everyone(), h);
    let bad = refinish(&p, &ex, |d| {
        let v = longs_with(&d.outputs[0], 6, 7, 60);
        set_reg(&mut d.outputs[0], 6, v);
    });
    assert_script_rejects(&bad, &everyone(), h, 0);
    assert!(build::complete(&e.c, &l, 2, [0xcd; 32], h, &ex).is_err());
}

#[test]
fn attack_hole4_complete_a_full_day_one_block_after_the_start() {
    let e = env();
    let mut long = lease(-1, -1);
    long.terms.hours = 24;
    long.terms.payment = 24_000;
    long.terms.collateral = 0;
    long.amount = 24_000;
    long.terms.deadline = START + 24 * 30 + 45;
    let l: Typed<Lease> = typed(&e, &long.to_candidate(&e.c, H).unwrap());
    let h = (START + 1) as u32;
    let ex = exec_of("provider", ERG, &[]);
    let p = build::complete(&e.c, &l, 1, [0xcd; 32], h, &ex).unwrap();
    assert_valid(&p, &everyone(), h);
    let bad = refinish(&p, &ex, |d| {
        let v = longs_with(&d.outputs[0], 6, 7, 24 * 30);
        set_reg(&mut d.outputs[0], 6, v);
    });
    assert_script_rejects(&bad, &everyone(), h, 0);
}

// ------------------------------------------------------------------------------ early ends: a job that never ran

#[test]
fn honest_a_job_that_never_ran_costs_the_consumer_nothing() {
    let e = env();
    let l = running_lease(&e);
    let h = (START + 40) as u32;
    let ex = exec_of("provider", ERG, &[]);
    let done = build::complete(&e.c, &l, 0, [0xcd; 32], h, &ex).unwrap();
    assert_valid(&done, &everyone(), h);
    let c: Typed<Lease> = typed(&e, &done.draft.outputs[0]);
    let at = (c.v.terms.completed_at + 61) as u32;
    let fin = build::finalise(&e.c, &c, at, &ex).unwrap();
    assert_valid(&fin, &everyone(), at);
    let amt = |i: usize| {
        *fin.draft.outputs[i]
            .tokens
            .as_ref()
            .unwrap()
            .first()
            .amount
            .as_u64()
    };
    assert_eq!(
        amt(0),
        1000,
        "the provider gets its collateral back, nothing more"
    );
    assert_eq!(amt(1), 2000, "the consumer gets the whole payment back");
}

#[test]
fn attack_finalise_bills_a_minimum_hour_for_a_job_that_never_ran() {
    let e = env();
    let c: Typed<Lease> = typed(&e, &lease(COMPLETED_AT, 0).to_candidate(&e.c, H).unwrap());
    let at = (COMPLETED_AT + 61) as u32;
    let ex = exec_of("exec", ERG, &[]);
    let fin = build::finalise(&e.c, &c, at, &ex).unwrap();
    assert_valid(&fin, &everyone(), at);
    let bad = refinish(&fin, &ex, |d| {
        set_tokens(&mut d.outputs[0], &[(e.gpuc, 2000)]);
        set_tokens(&mut d.outputs[1], &[(e.gpuc, 1000)]);
    });
    assert_script_rejects(&bad, &everyone(), at, 0);
}

// ------------------------------------------------------------------------------ per-party ERG

/// The honest settlement is accepted; the same with the consumer's ERG moved into the provider's
/// payout (output 0) is refused by the spent box's script.
#[track_caller]
fn assert_erg_stays_the_consumers(
    p: &TxPlan,
    ex: &Executor,
    w: &ergo_lib::wallet::Wallet,
    at: u32,
) {
    assert_valid(p, w, at);
    let bad = refinish(p, ex, |d| {
        let total = val(&d.outputs[0]) + val(&d.outputs[1]);
        set_value(&mut d.outputs[0], total - 100_000);
        set_value(&mut d.outputs[1], 100_000);
    });
    assert_script_rejects(&bad, w, at, 0);
}

#[test]
fn attack_finalise_moves_the_consumers_erg_to_the_provider() {
    let e = env();
    let l = done_lease(&e);
    let at = (COMPLETED_AT + 61) as u32;
    let ex = exec_of("provider", ERG, &[]);
    let fin = build::finalise(&e.c, &l, at, &ex).unwrap();
    assert_erg_stays_the_consumers(&fin, &ex, &everyone(), at);
}

#[test]
fn attack_accept_moves_the_consumers_erg_to_the_provider() {
    let e = env();
    let l = done_lease(&e);
    let at = (COMPLETED_AT + 5) as u32;
    let ex = exec_of("consumer", ERG, &[]);
    let p = build::accept(&e.c, &l, at, &ex).unwrap();
    assert_erg_stays_the_consumers(&p, &ex, &everyone(), at);
}

#[test]
fn attack_arbitration_timeout_moves_the_consumers_erg_to_the_provider() {
    let e = env();
    let a = arbitration(&e);
    let at = (a.v.timeout + 1) as u32;
    let ex = exec_of("provider", ERG, &[]);
    let p = build::arbitration_timeout(&e.c, &a, at, &ex).unwrap();
    assert_erg_stays_the_consumers(&p, &ex, &everyone(), at);
}

#[test]
fn attack_arbitration_committee_moves_the_consumers_erg_to_the_provider() {
    let e = env();
    let a = arbitration(&e);
    let ex = exec_of("arb1", ERG, &[]);
    let p = build::arbitrate(&e.c, &a, 1500, H, &ex).unwrap();
    let w = wallet(&["arb1", "arb2"]);
    assert_erg_stays_the_consumers(&p, &ex, &w, H);
}

// ------------------------------------------------------------------------------ oracle freshness

/// A deployment whose pool boxes go stale after 720 blocks (the real-network default).
fn env_720() -> Env {
    let c = Contracts::new(ProtocolParams {
        oracle_max_age: dgcm_contracts::trees::ORACLE_MAX_AGE_DEFAULT,
        ..ProtocolParams::devnet_default()
    })
    .unwrap();
    let gpuc = c.params.gpuc_id;
    Env { c, gpuc }
}

fn oracle_at(e: &Env, created: u32) -> ErgoBox {
    let o = oracle(e);
    let cand = ergo_lib::ergotree_ir::chain::ergo_box::ErgoBoxCandidate {
        value: o.value,
        ergo_tree: o.ergo_tree.clone(),
        tokens: o.tokens.clone(),
        additional_registers: o.additional_registers.clone(),
        creation_height: created,
    };
    let tx = ergo_lib::ergotree_ir::chain::tx_id::TxId(ergo_lib::ergo_chain_types::Digest32::from(
        dgcm_contracts::util::blake2b256(format!("oracle-at-{created}").as_bytes()),
    ));
    ErgoBox::from_box_candidate(&cand, tx, 0).unwrap()
}

#[test]
fn attack_withdraw_credit_priced_by_a_stale_oracle() {
    let e = env_720();
    let m = member(&e, "owner", ERG, 2000, 0);
    let ex = exec_of("owner", ERG, &[]);
    let fresh = oracle_at(&e, H - 720);
    let p = build::withdraw(
        &e.c,
        &vault(&e),
        &m,
        10_000,
        std::slice::from_ref(&fresh),
        &tree_of("owner"),
        H,
        &ex,
    )
    .unwrap();
    assert_valid(&p, &everyone(), H);
    let stale = oracle_at(&e, H - 721);
    assert!(build::withdraw(
        &e.c,
        &vault(&e),
        &m,
        10_000,
        std::slice::from_ref(&stale),
        &tree_of("owner"),
        H,
        &ex
    )
    .is_err());
    let bad = refinish(&p, &ex, |d| d.data_inputs = vec![stale.clone()]);
    assert_script_rejects(&bad, &everyone(), H, 1);
}

#[test]
fn attack_liquidation_priced_by_a_stale_oracle() {
    let e = env_720();
    let m = member(&e, "owner", ERG, 2000, -30_000);
    let ex = exec_of("other", ERG, &[(e.gpuc, 10_000)]);
    let fresh = oracle_at(&e, H - 10);
    let p = build::liquidate(
        &e.c,
        &vault(&e),
        &m,
        10_000,
        0,
        &cents(&e, 1080),
        std::slice::from_ref(&fresh),
        H,
        &ex,
    )
    .unwrap();
    assert_valid(&p, &wallet(&["other"]), H);
    let stale = oracle_at(&e, H - 800);
    assert!(build::liquidate(
        &e.c,
        &vault(&e),
        &m,
        10_000,
        0,
        &cents(&e, 1080),
        std::slice::from_ref(&stale),
        H,
        &ex
    )
    .is_err());
    let bad = refinish(&p, &ex, |d| d.data_inputs = vec![stale.clone()]);
    assert_script_rejects(&bad, &wallet(&["other"]), H, 1);
}

#[test]
fn attack_transfer_into_debt_priced_by_a_stale_oracle() {
    let e = env_720();
    let payer = member(&e, "owner", ERG, 2000, 0);
    let payee = member(&e, "other", ERG, 0, 0);
    let ex = exec_of("owner", ERG, &[]);
    let fresh = oracle_at(&e, H - 100);
    let p = build::transfer(
        &e.c,
        &payer,
        &payee,
        5_000,
        std::slice::from_ref(&fresh),
        H,
        &ex,
    )
    .unwrap();
    assert_valid(&p, &everyone(), H);
    let stale = oracle_at(&e, H - 5000);
    let bad = refinish(&p, &ex, |d| d.data_inputs = vec![stale.clone()]);
    assert_script_rejects(&bad, &everyone(), H, 0);
}

#[test]
fn attack_oracle_with_a_negative_rate_prices_nothing() {
    let e = env();
    let m = member(&e, "owner", 2 * ERG, 0, -10_000);
    let ex = exec_of("other", ERG, &[(e.gpuc, 10_000)]);
    // healthy at the real rate: a liquidation is refused; with a negative "rate" it must still be
    let o = oracle_with(e.c.params.oracle_pool_nft, -RATE);
    let p = build::top_up(&e.c, &m, 10_000_000, &[], H, &ex).unwrap();
    assert_valid(&p, &wallet(&["other"]), H);
    assert!(build::liquidate(
        &e.c,
        &vault(&e),
        &m,
        5_000,
        ERG,
        &cents(&e, 0),
        std::slice::from_ref(&o),
        H,
        &ex
    )
    .is_err());
    let honest_shape = build::liquidate(
        &e.c,
        &vault(&e),
        &member(&e, "owner", ERG, 0, -30_000),
        10_000,
        0,
        &[],
        &[oracle(&e)],
        H,
        &ex,
    )
    .unwrap();
    assert_valid(&honest_shape, &wallet(&["other"]), H);
    let bad = refinish(&honest_shape, &ex, |d| {
        d.inputs[1].bx = m.bx.clone();
        d.outputs[1] = Member {
            balance: -10_000 + 10_000,
            ..m.v.clone()
        }
        .to_candidate(&e.c, H)
        .unwrap();
        d.data_inputs = vec![o.clone()];
    });
    assert_script_rejects(&bad, &wallet(&["other"]), H, 1);
}

// ------------------------------------------------------------------------------ no free no-op re-spends

#[test]
fn attack_member_top_up_that_adds_nothing_griefs_the_owner() {
    let e = env();
    let m = member(&e, "owner", ERG, 500, -10);
    let ex = exec_of("other", ERG, &[]);
    let p = build::top_up(&e.c, &m, 10_000_000, &[], H, &ex).unwrap();
    assert_valid(&p, &wallet(&["other"]), H);
    assert!(build::top_up(&e.c, &m, 0, &[], H, &ex).is_err());
    assert!(build::top_up(&e.c, &m, 9_999_999, &[(e.c.params.sigusd_id, 99)], H, &ex).is_err());
    let bad = refinish(&p, &ex, |d| set_value(&mut d.outputs[0], ERG));
    assert_script_rejects(&bad, &wallet(&["other"]), H, 0);
}

/// Red team A2: v2's first rule (add anything) cost a griefer one nanoERG per re-spend.
#[test]
fn attack_member_top_up_of_dust_griefs_the_owner() {
    let e = env();
    let m = member(&e, "owner", ERG, 500, -10);
    let ex = exec_of("other", ERG, &[(e.c.params.sigusd_id, 100)]);
    let p = build::top_up_priced(
        &e.c,
        &m,
        0,
        &[(e.c.params.sigusd_id, 100)],
        &[oracle(&e)],
        H,
        &ex,
    )
    .unwrap();
    assert_valid(&p, &wallet(&["other"]), H);
    let one = refinish(&p, &ex, |d| {
        set_value(&mut d.outputs[0], ERG + 1);
        set_tokens(
            &mut d.outputs[0],
            &[(e.c.params.membership_id, 1), (e.c.params.sigusd_id, 501)],
        );
    });
    assert_script_rejects(&one, &wallet(&["other"]), H, 0);
}

// ------------------------------------------------------------------------------ red team: matches

/// Red team A1: a listing with a negative collateral per hour, matched directly by a renter:
/// the "collateral" took the renter's payment into the provider's stake.
#[test]
fn attack_direct_match_of_a_listing_with_negative_collateral() {
    let m = matching();
    let (good, _) = direct_match(&m, |_| {});
    assert_valid(&good, &wallet(&["other"]), H);
    let mut neg = listing();
    neg.terms.collateral_per_hour = -900;
    let neg_box = on_chain(&neg.to_candidate(&m.e.c, H).unwrap());
    let gpuc = m.e.gpuc;
    let ex = exec_of("other", 2 * ERG, &[(gpuc, 3000)]);
    let bad = refinish(&good, &ex, |d| {
        d.inputs[1].bx = neg_box.clone();
        let mut q: Vec<i64> = regs_of(&d.outputs[0])[2]
            .v
            .clone()
            .try_extract_into()
            .unwrap();
        q[3] = -1800;
        let deadline = q[5];
        set_reg(&mut d.outputs[0], 6, Constant::from(q));
        set_tokens(&mut d.outputs[0], &[(gpuc, 200)]);
        let mut succ = Listing {
            busy_until: Some(deadline),
            ..neg.clone()
        }
        .to_candidate(&m.e.c, H)
        .unwrap();
        set_tokens(&mut succ, &[(neg.nft, 1), (gpuc, 11_800)]);
        d.outputs[1] = succ;
    });
    assert_script_rejects(&bad, &wallet(&["other"]), H, 1);
}

/// Red team A6: the provider matches with its own signature from a listing whose provider is not
/// a key but a large proposition: every payout to it would be too big for the dust cap, so the
/// lease could never settle once completed (the consumer's payment frozen, a ransom possible).
#[test]
fn attack_provider_match_with_a_provider_that_is_not_a_key() {
    use ergo_lib::ergotree_ir::sigma_protocol::sigma_boolean::cthreshold::Cthreshold;
    use ergo_lib::ergotree_ir::sigma_protocol::sigma_boolean::{SigmaBoolean, SigmaProp};
    let m = matching();
    let good = provider_matches(&m, |_| {});
    assert_valid(&good, &wallet(&["provider", "exec"]), H);
    let big = SigmaProp::new(Cthreshold::reduce(
        1,
        [pk("provider"), pk("exec")]
            .map(SigmaBoolean::from)
            .to_vec()
            .try_into()
            .unwrap(),
    ));
    let mut odd = m.listing.bx.clone();
    let mut regs =
        regs_of(&ergo_lib::ergotree_ir::chain::ergo_box::ErgoBoxCandidate::from(odd.clone()));
    regs[0] = Constant::from(big.clone());
    let mut cand = ergo_lib::ergotree_ir::chain::ergo_box::ErgoBoxCandidate::from(odd.clone());
    cand.additional_registers = NonMandatoryRegisters::try_from(regs).unwrap();
    odd = on_chain(&cand);
    let bad = provider_matches(&m, |d| {
        d.inputs[1].bx = odd.clone();
        set_reg(&mut d.outputs[0], 5, Constant::from(big.clone()));
        set_reg(&mut d.outputs[1], 4, Constant::from(big.clone()));
    });
    assert_script_rejects(&bad, &wallet(&["provider", "exec"]), H, 0);
}

/// Red team A4: an order box holding another token besides its GPUC: the matcher kept it.
#[test]
fn attack_match_keeps_the_orders_extra_token() {
    let m = matching();
    assert_valid(&m.p, &everyone(), H);
    let junk = token_id([0x77; 32]);
    let mut cand = order().to_candidate(&m.e.c, H).unwrap();
    set_tokens(&mut cand, &[(m.e.gpuc, 2500), (junk, 777)]);
    let rich = on_chain(&cand);
    let bad = refinish(&m.p, &m.ex, |d| {
        d.inputs[0].bx = rich.clone();
        set_reg(
            &mut d.outputs[2],
            4,
            Constant::from(rich.box_id().as_ref().to_vec()),
        );
    });
    assert_script_rejects(&bad, &everyone(), H, 0);
}

/// Red team A5: a backdated start (20 blocks) let a completion one block later claim 20 blocks.
#[test]
fn attack_match_with_a_backdated_start() {
    let m = matching();
    assert_valid(&m.p, &everyone(), H);
    let bad = refinish(&m.p, &m.ex, |d| {
        let mut v: Vec<i64> = regs_of(&d.outputs[0])[2]
            .v
            .clone()
            .try_extract_into()
            .unwrap();
        v[4] -= 20;
        v[5] -= 20;
        set_reg(&mut d.outputs[0], 6, Constant::from(v));
    });
    assert_script_rejects(&bad, &everyone(), H, 0);
}

// ------------------------------------------------------------------------------ red team, second pass

/// A negative leaseExecFeeCap, copied into the lease by a provider-signed match: every payout
/// path then demanded more ERG than exists (the provider's pay and collateral frozen).
#[test]
fn attack_provider_match_with_a_negative_exec_fee_cap() {
    let m = matching();
    let good = provider_matches(&m, |_| {});
    assert_valid(&good, &wallet(&["provider", "exec"]), H);
    let mut cand = order().to_candidate(&m.e.c, H).unwrap();
    let v = longs_with(&cand, 5, 7, -1_000_000_000_000_000_000);
    set_reg(&mut cand, 5, v);
    let neg = on_chain(&cand);
    let bad = provider_matches(&m, |d| {
        d.inputs[0].bx = neg.clone();
        let v = longs_with(&d.outputs[0], 6, 6, -1_000_000_000_000_000_000);
        set_reg(&mut d.outputs[0], 6, v);
        set_reg(
            &mut d.outputs[2],
            4,
            Constant::from(neg.box_id().as_ref().to_vec()),
        );
    });
    assert_script_rejects(&bad, &wallet(&["provider", "exec"]), H, 0);
}

/// A liquidator repaying 1 mGPUC swapped the member's ERG collateral for SigUSD at the oracle
/// price (collateral out negative in one asset).
#[test]
fn attack_liquidation_swaps_the_members_erg_for_sigusd() {
    let e = env();
    let m = member(&e, "owner", 100 * ERG, 0, -100_000);
    let sig = e.c.params.sigusd_id;
    let ex = exec_of("other", ERG, &[(e.gpuc, 10_000), (sig, 15_000)]);
    let p = build::liquidate(
        &e.c,
        &vault(&e),
        &m,
        10_000,
        ERG,
        &cents(&e, 0),
        &[oracle(&e)],
        H,
        &ex,
    )
    .unwrap();
    assert_valid(&p, &wallet(&["other"]), H);
    let bad = refinish(&p, &ex, |d| {
        d.outputs[0] = dgcm_contracts::lets_vault::Vault {
            value: 2_000_000,
            reserve: RESERVE + 1,
            stock: 1000,
            stable: vec![],
        }
        .to_candidate(&e.c, H)
        .unwrap();
        d.outputs[1] = Member {
            value: 1_000_000,
            assets: cents(&e, 10_400),
            balance: -99_999,
            owner: pk("owner"),
        }
        .to_candidate(&e.c, H)
        .unwrap();
    });
    assert_script_rejects(&bad, &wallet(&["other"]), H, 1);
}

/// A listing holding a third token: the matcher stripped it into its change.
#[test]
fn attack_match_strips_the_listings_extra_token() {
    let m = matching();
    assert_valid(&m.p, &everyone(), H);
    let junk = token_id([0x66; 32]);
    let mut cand = listing().to_candidate(&m.e.c, H).unwrap();
    set_tokens(
        &mut cand,
        &[(token_id(LISTING_NFT), 1), (m.e.gpuc, 10_000), (junk, 5)],
    );
    let rich = on_chain(&cand);
    let ok = refinish(&m.p, &m.ex, |d| {
        d.inputs[1].bx = rich.clone();
        set_tokens(
            &mut d.outputs[1],
            &[(token_id(LISTING_NFT), 1), (m.e.gpuc, 9_000), (junk, 5)],
        );
    });
    assert_valid(&ok, &everyone(), H);
    let bad = refinish(&m.p, &m.ex, |d| d.inputs[1].bx = rich.clone());
    assert_script_rejects(&bad, &everyone(), H, 1);
}

/// Third red team: a zero-collateral listing holding another token than GPUC at index 1; the
/// matcher took it (the stake rule reads only GPUC).
#[test]
fn attack_match_takes_a_non_gpuc_token_of_a_zero_collateral_listing() {
    let m = matching();
    let x = token_id([0x44; 32]);
    let mut free = listing();
    free.terms.collateral_per_hour = 0;
    let mut cand = free.to_candidate(&m.e.c, H).unwrap();
    set_tokens(&mut cand, &[(token_id(LISTING_NFT), 1), (x, 1_000_000)]);
    let lst = on_chain(&cand);
    let gpuc = m.e.gpuc;
    let ex = exec_of("other", 2 * ERG, &[(gpuc, 3000)]);
    let kept = |succ_tokens: Vec<(ergo_lib::ergotree_ir::chain::token::TokenId, u64)>| {
        let (base, _) = direct_match(&m, |_| {});
        refinish(&base, &ex, |d| {
            d.inputs[1].bx = lst.clone();
            let mut q: Vec<i64> = regs_of(&d.outputs[0])[2]
                .v
                .clone()
                .try_extract_into()
                .unwrap();
            q[3] = 0;
            let deadline = q[5];
            set_reg(&mut d.outputs[0], 6, Constant::from(q));
            set_tokens(&mut d.outputs[0], &[(gpuc, 2000)]);
            let mut succ = cand.clone();
            set_tokens(&mut succ, &succ_tokens);
            // busy until the lease's deadline (the busy rule)
            set_reg(&mut succ, 7, Constant::from(deadline));
            d.outputs[1] = succ;
        })
    };
    let good = kept(vec![(token_id(LISTING_NFT), 1), (x, 1_000_000)]);
    assert_valid(&good, &wallet(&["other"]), H);
    let dropped = kept(vec![(token_id(LISTING_NFT), 1)]);
    assert_script_rejects(&dropped, &wallet(&["other"]), H, 1);
    let one = kept(vec![(token_id(LISTING_NFT), 1), (x, 1)]);
    assert_script_rejects(&one, &wallet(&["other"]), H, 1);
}

// ------------------------------------------------------------------------------ codec: forged shapes are refused

#[test]
fn a_lease_box_created_directly_with_a_short_job_hash_does_not_parse() {
    let e = env();
    let mut l = lease(-1, -1);
    l.job_spec_hash = vec![1; 31];
    let b = on_chain(&l.to_candidate(&e.c, H).unwrap());
    assert!(Typed::<Lease>::parse(&e.c, b).is_err());
    let good = on_chain(&lease(-1, -1).to_candidate(&e.c, H).unwrap());
    assert!(Typed::<Lease>::parse(&e.c, good).is_ok());
}
