//! Bridged assets as LETS collateral (issue 14): every attack the issue names, each rejected by
//! the scripts (ergo-lib's interpreter) and each with its honest twin accepted first. Prices at
//! the devnet deployment: ERG/USD `RATE`, rsBTC $90,000 (8 decimals, factor 70 %, max age 720),
//! rsETH $3,000 (8 decimals, 70 %), rsUSDT $1 (6 decimals, 95 %), SigUSD priced by the ERG/USD
//! pool (2 decimals, 100 %); GPUC $1.01, collateral ratio 150 %, liquidation payout 107 %.

mod common;

use common::*;
use dgcm_contracts::build;
use dgcm_contracts::lets_member::{liquidation_take, within_payout, Member, Prices};
use dgcm_contracts::lets_vault::Vault;
use dgcm_contracts::util::token_id;
use dgcm_contracts::{Executor, TxPlan, Typed};
use ergo_lib::ergotree_ir::chain::ergo_box::ErgoBox;
use ergo_lib::ergotree_ir::chain::token::TokenId;

const BTC: u64 = 100_000_000;

/// 0.01 rsBTC ($900 at 70 % = $630 of borrowing value) + 0.01 ERG; borrows 300 GPUC ($454.50 needed).
fn rsbtc_borrow() -> (Env, Typed<Member>, TxPlan, Executor, Vec<ErgoBox>) {
    let e = env();
    let btc = asset(&e, "rsBTC");
    let m = member_with(&e, "owner", 10_000_000, &[(btc, BTC / 100)], 0);
    let ex = exec_of("owner", ERG, &[]);
    let pools = vec![oracle(&e), pool_of(&e, "rsBTC", asset_price("rsBTC"))];
    let p = build::withdraw(
        &e.c,
        &vault(&e),
        &m,
        300_000,
        &pools,
        &tree_of("owner"),
        H,
        &ex,
    )
    .unwrap();
    (e, m, p, ex, pools)
}

#[test]
fn attack_borrow_against_rsbtc_priced_by_a_fake_pool() {
    let (e, _, p, ex, _) = rsbtc_borrow();
    assert_valid(&p, &everyone(), H);
    // a box the attacker minted: the rsBTC price, another NFT
    let fake = oracle_with(token_id([0x42; 32]), asset_price("rsBTC"));
    let bad = refinish(&p, &ex, |d| d.data_inputs = vec![oracle(&e), fake.clone()]);
    assert_script_rejects(&bad, &everyone(), H, 1);
}

#[test]
fn attack_borrow_against_rsbtc_priced_by_the_rseth_pool() {
    let (e, _, p, ex, _) = rsbtc_borrow();
    assert_valid(&p, &everyone(), H);
    // another asset's genuine pool passed for this one (here at the rsBTC price)
    let eth = pool_of(&e, "rsETH", asset_price("rsBTC"));
    let bad = refinish(&p, &ex, |d| d.data_inputs = vec![oracle(&e), eth.clone()]);
    assert_script_rejects(&bad, &everyone(), H, 1);
}

#[test]
fn attack_borrow_against_a_stale_rsbtc_pool() {
    let (e, m, p, ex, _) = rsbtc_borrow();
    assert_valid(&p, &everyone(), H);
    let stale = pool_at(&e, "rsBTC", asset_price("rsBTC"), H - 721);
    let edge = pool_at(&e, "rsBTC", asset_price("rsBTC"), H - 720);
    let at_edge = refinish(&p, &ex, |d| d.data_inputs = vec![oracle(&e), edge.clone()]);
    assert_valid(&at_edge, &everyone(), H);
    let pools = [oracle(&e), stale.clone()];
    assert!(
        build::withdraw(
            &e.c,
            &vault(&e),
            &m,
            300_000,
            &pools,
            &tree_of("owner"),
            H,
            &ex
        )
        .is_err(),
        "the builder refuses a stale pool too"
    );
    let bad = refinish(&p, &ex, |d| d.data_inputs = pools.to_vec());
    assert_script_rejects(&bad, &everyone(), H, 1);
}

#[test]
fn attack_borrow_beyond_rsbtcs_collateral_factor() {
    let (e, m, p, ex, pools) = rsbtc_borrow();
    assert_valid(&p, &everyone(), H);
    // $630 of borrowing value covers 415 GPUC ($628.58 needed) but not 416 ($630.10)
    let ok = build::withdraw(
        &e.c,
        &vault(&e),
        &m,
        415_000,
        &pools,
        &tree_of("owner"),
        H,
        &ex,
    );
    assert_valid(&ok.unwrap(), &everyone(), H);
    assert!(build::withdraw(
        &e.c,
        &vault(&e),
        &m,
        416_000,
        &pools,
        &tree_of("owner"),
        H,
        &ex
    )
    .is_err());
    let bad = refinish(&p, &ex, |d| {
        d.outputs[0] = Vault {
            value: 2_000_000,
            reserve: RESERVE - 416_000,
            stock: 1000,
            stable: vec![],
        }
        .to_candidate(&e.c, H)
        .unwrap();
        d.outputs[1] = Member {
            balance: -416_000,
            ..m.v.clone()
        }
        .to_candidate(&e.c, H)
        .unwrap();
        d.outputs[2] = dgcm_contracts::codec::candidate(
            "recipient",
            tree_of("owner"),
            0,
            dgcm_contracts::util::tokens(&[(e.gpuc, 416_000)]),
            vec![],
            H,
        )
        .unwrap();
    });
    assert_script_rejects(&bad, &everyone(), H, 1);
}

#[test]
fn attack_unlisted_token_as_collateral() {
    let e = env();
    let junk = token_id([0x77; 32]);
    let m = member(&e, "owner", ERG, 0, 0);
    let ex = exec_of("other", 2 * ERG, &[(junk, 5)]);
    let p = build::top_up(&e.c, &m, 10_000_000, &[], H, &ex).unwrap();
    assert_valid(&p, &wallet(&["other"]), H);
    assert!(build::top_up(&e.c, &m, 10_000_000, &[(junk, 5)], H, &ex).is_err());
    let bad = refinish(&p, &ex, |d| {
        set_tokens(
            &mut d.outputs[0],
            &[(e.c.params.membership_id, 1), (junk, 5)],
        )
    });
    assert_script_rejects(&bad, &wallet(&["other"]), H, 0);
    // nor by the owner on its own path, nor at a join
    let v = vault(&e);
    let j = build::join(&e.c, &v, &pk("owner"), ERG, &[], H, &ex).unwrap();
    assert_valid(&j, &everyone(), H);
    let bad = refinish(&j, &ex, |d| {
        set_tokens(
            &mut d.outputs[1],
            &[(e.c.params.membership_id, 1), (junk, 5)],
        )
    });
    assert_script_rejects(&bad, &everyone(), H, 0);
}

#[test]
fn attack_asset_listed_twice_in_one_account() {
    let e = env();
    let btc = asset(&e, "rsBTC");
    let m = member_with(&e, "owner", ERG, &[(btc, 1_000)], 0);
    let ex = exec_of("other", 2 * ERG, &[(btc, 1_000)]);
    let p = build::top_up(&e.c, &m, 0, &[(btc, 1_000)], H, &ex).unwrap();
    assert_valid(&p, &wallet(&["other"]), H);
    // the same 2000 base units as two entries: every later fold pays for the bloat
    let bad = raw(&p, |outs| {
        set_tokens(
            &mut outs[0],
            &[(e.c.params.membership_id, 1), (btc, 1_000), (btc, 1_000)],
        )
    });
    assert!(!matches!(run(&bad, &wallet(&["other"]), H), Verdict::Valid));
}

/// ERG + 0.02 rsETH + 20 SigUSD, 30 GPUC of debt: $42 + $20 + $1.03 of borrowing value against
/// $45.45 needed: healthy at $3,000 per ETH, not at $1,500.
fn multi(e: &Env) -> Typed<Member> {
    member_with(
        e,
        "owner",
        ERG,
        &[
            (e.c.params.sigusd_id, 2_000),
            (asset(e, "rsETH"), 2_000_000),
        ],
        -30_000,
    )
}

#[test]
fn attack_liquidation_of_a_healthy_multi_asset_account() {
    let e = env();
    let m = multi(&e);
    let ex = exec_of("other", ERG, &[(e.gpuc, 30_000)]);
    let half = [oracle(&e), pool_of(&e, "rsETH", asset_price("rsETH") / 2)];
    let full = [oracle(&e), pool_of(&e, "rsETH", asset_price("rsETH"))];
    let prices = Prices::read(&e.c.params, &half, H);
    let (erg, take) = liquidation_take(&e.c.params, &prices, &m.v, 10_000, 2_000_000);
    let p = build::liquidate(&e.c, &vault(&e), &m, 10_000, erg, &take, &half, H, &ex).unwrap();
    assert_valid(&p, &wallet(&["other"]), H);
    assert!(build::liquidate(&e.c, &vault(&e), &m, 10_000, erg, &take, &full, H, &ex).is_err());
    let bad = refinish(&p, &ex, |d| d.data_inputs = full.to_vec());
    assert_script_rejects(&bad, &wallet(&["other"]), H, 1);
}

#[test]
fn attack_liquidation_with_a_held_assets_pool_left_out_or_stale() {
    let e = env();
    let m = multi(&e);
    let ex = exec_of("other", ERG, &[(e.gpuc, 30_000)]);
    let half = [oracle(&e), pool_of(&e, "rsETH", asset_price("rsETH") / 2)];
    let prices = Prices::read(&e.c.params, &half, H);
    let (erg, take) = liquidation_take(&e.c.params, &prices, &m.v, 10_000, 2_000_000);
    let p = build::liquidate(&e.c, &vault(&e), &m, 10_000, erg, &take, &half, H, &ex).unwrap();
    assert_valid(&p, &wallet(&["other"]), H);
    // without the rsETH pool the account looks unhealthier still — and must not be liquidated
    let left_out = refinish(&p, &ex, |d| d.data_inputs = vec![oracle(&e)]);
    assert_script_rejects(&left_out, &wallet(&["other"]), H, 1);
    // an account holding rsBTC, unhealthy at the (fresh) half price, untouchable while its
    // rsBTC pool is stale, whatever that stale box says
    let btc = asset(&e, "rsBTC");
    let m = member_with(&e, "owner", ERG, &[(btc, BTC / 100)], -400_000);
    let ex = exec_of("other", ERG, &[(e.gpuc, 400_000)]);
    let half = asset_price("rsBTC") / 2;
    let fresh = [oracle(&e), pool_of(&e, "rsBTC", half)];
    let prices = Prices::read(&e.c.params, &fresh, H);
    let (erg, take) = liquidation_take(&e.c.params, &prices, &m.v, 100_000, 2_000_000);
    let p = build::liquidate(&e.c, &vault(&e), &m, 100_000, erg, &take, &fresh, H, &ex).unwrap();
    assert_valid(&p, &wallet(&["other"]), H);
    let stale = pool_at(&e, "rsBTC", half, H - 721);
    let bad = refinish(&p, &ex, |d| d.data_inputs = vec![oracle(&e), stale.clone()]);
    assert_script_rejects(&bad, &wallet(&["other"]), H, 1);
}

#[test]
fn attack_liquidation_takes_beyond_the_discount_in_a_mix_of_assets() {
    let e = env();
    let m = multi(&e);
    let eth = asset(&e, "rsETH");
    let ex = exec_of("other", ERG, &[(e.gpuc, 30_000)]);
    let half = [oracle(&e), pool_of(&e, "rsETH", asset_price("rsETH") / 2)];
    let prices = Prices::read(&e.c.params, &half, H);
    let (erg, take) = liquidation_take(&e.c.params, &prices, &m.v, 10_000, 2_000_000);
    assert!(within_payout(&e.c.params, &prices, 10_000, erg, &take));
    let p = build::liquidate(&e.c, &vault(&e), &m, 10_000, erg, &take, &half, H, &ex).unwrap();
    assert_valid(&p, &wallet(&["other"]), H);
    // the most it may take, exactly: one more base unit of any asset is beyond it
    let mut more = take.clone();
    match more.iter_mut().find(|(id, _)| *id == eth) {
        Some((_, n)) => *n += 1,
        None => more.push((eth, 1)),
    }
    assert!(!within_payout(&e.c.params, &prices, 10_000, erg, &more));
    let bad = refinish(&p, &ex, |d| {
        let mut next = m.v.clone();
        next.balance += 10_000;
        next.value -= erg;
        for (id, n) in &more {
            next.set_amount(&e.c.params, *id, m.v.amount(id) - n);
        }
        d.outputs[1] = next.to_candidate(&e.c, H).unwrap();
    });
    assert_script_rejects(&bad, &wallet(&["other"]), H, 1);
}

#[test]
fn attack_withdrawal_of_one_asset_leaves_the_account_unhealthy() {
    let e = env();
    let m = multi(&e);
    let eth = asset(&e, "rsETH");
    let ex = exec_of("owner", ERG, &[]);
    let pools = [oracle(&e), pool_of(&e, "rsETH", asset_price("rsETH"))];
    // 0.001 rsETH out ($2.10 of borrowing value) keeps it healthy; all of it does not
    let p = build::withdraw_collateral(&e.c, &m, 0, &[(eth, 100_000)], &pools, H, &ex).unwrap();
    assert_valid(&p, &wallet(&["owner"]), H);
    assert!(build::withdraw_collateral(&e.c, &m, 0, &[(eth, 2_000_000)], &pools, H, &ex).is_err());
    let bad = refinish(&p, &ex, |d| {
        set_tokens(
            &mut d.outputs[0],
            &[(e.c.params.membership_id, 1), (e.c.params.sigusd_id, 2_000)],
        )
    });
    assert_script_rejects(&bad, &wallet(&["owner"]), H, 0);
}

#[test]
fn attack_rosen_conversion_of_an_unlisted_token() {
    let e = env();
    let usdt = asset(&e, "rsUSDT");
    let m = member(&e, "owner", ERG, 0, 0);
    let dep = |toks: Vec<(TokenId, u64)>| {
        let d = dgcm_contracts::rosen_deposit::RosenDeposit {
            value: 10_000_000,
            owner: pk("owner"),
            tokens: toks,
        };
        typed::<dgcm_contracts::rosen_deposit::RosenDeposit>(&e, &d.to_candidate(&e.c, H).unwrap())
    };
    let ex = exec_of("relay", ERG, &[]);
    let ok = build::convert_rosen(&e.c, &dep(vec![(usdt, 25_000_000)]), &m, H, &ex).unwrap();
    assert_valid(&ok, &wallet(&["relay"]), H);
    let junk = token_id([0x78; 32]);
    let bad_dep = dep(vec![(usdt, 25_000_000), (junk, 3)]);
    assert!(build::convert_rosen(&e.c, &bad_dep, &m, H, &ex).is_err());
    // the relay converts the listed part and walks off with the rest
    let bad = refinish(&ok, &ex, |d| d.inputs[1].bx = bad_dep.bx.clone());
    assert_script_rejects(&bad, &wallet(&["relay"]), H, 1);
}

/// Red team A1: during a lapse of one asset's pool, anyone topped up an underwater account with a
/// dollar of that asset, and liquidation (which needs every held asset priced) stopped for the
/// whole account. An account in debt now gains only assets priced in the same transaction.
#[test]
fn attack_shield_an_underwater_account_with_an_unpriced_asset() {
    let e = env();
    let eth = asset(&e, "rsETH");
    let m = member(&e, "owner", ERG, 0, -30_000);
    let ex = exec_of("other", 2 * ERG, &[(eth, 100_000)]);
    let priced = [oracle(&e), pool_of(&e, "rsETH", asset_price("rsETH"))];
    let p = build::top_up_priced(&e.c, &m, 0, &[(eth, 100_000)], &priced, H, &ex).unwrap();
    assert_valid(&p, &wallet(&["other"]), H);
    assert!(build::top_up(&e.c, &m, 0, &[(eth, 100_000)], H, &ex).is_err());
    let bad = refinish(&p, &ex, |d| d.data_inputs = vec![oracle(&e)]);
    assert_script_rejects(&bad, &wallet(&["other"]), H, 0);
    // nor may the owner borrow beside an unpriced asset (and so shield the new debt)
    let held = member_with(&e, "owner", 10 * ERG, &[(eth, 100_000)], -1_000);
    let both = [oracle(&e), pool_of(&e, "rsETH", asset_price("rsETH"))];
    let ok = build::withdraw(
        &e.c,
        &vault(&e),
        &held,
        1_000,
        &both,
        &tree_of("owner"),
        H,
        &exec_of("owner", ERG, &[]),
    );
    let ex2 = exec_of("owner", ERG, &[]);
    let ok = ok.unwrap();
    assert_valid(&ok, &wallet(&["owner"]), H);
    let only_erg = [oracle(&e)];
    assert!(build::withdraw(
        &e.c,
        &vault(&e),
        &held,
        1_000,
        &only_erg,
        &tree_of("owner"),
        H,
        &ex2
    )
    .is_err());
    let bad = refinish(&ok, &ex2, |d| d.data_inputs = only_erg.to_vec());
    assert_script_rejects(&bad, &wallet(&["owner"]), H, 1);
}

/// Red team A2: anyone routed the owner's bridged deposit into the owner's abandoned account in
/// debt, then liquidated it at the discount. Conversions go only into an account not in debt.
#[test]
fn attack_rosen_conversion_into_the_owners_account_in_debt() {
    let e = env();
    let usdt = asset(&e, "rsUSDT");
    let d = dgcm_contracts::rosen_deposit::RosenDeposit {
        value: 10_000_000,
        owner: pk("owner"),
        tokens: vec![(usdt, 25_000_000)],
    };
    let d =
        typed::<dgcm_contracts::rosen_deposit::RosenDeposit>(&e, &d.to_candidate(&e.c, H).unwrap());
    let ex = exec_of("relay", ERG, &[]);
    let ok = build::convert_rosen(&e.c, &d, &member(&e, "owner", ERG, 0, 0), H, &ex).unwrap();
    assert_valid(&ok, &wallet(&["relay"]), H);
    let debtor = member(&e, "owner", ERG, 0, -400_000);
    assert!(build::convert_rosen(&e.c, &d, &debtor, H, &ex).is_err());
    let bad = refinish(&ok, &ex, |dr| {
        dr.inputs[0].bx = debtor.bx.clone();
        dr.data_inputs = vec![oracle(&e), pool_of(&e, "rsUSDT", asset_price("rsUSDT"))];
        dr.outputs[0] = Member {
            value: ERG + 10_000_000 - e.c.params.max_relay_fee as u64,
            assets: vec![(usdt, 25_000_000)],
            ..debtor.v.clone()
        }
        .to_candidate(&e.c, H)
        .unwrap();
    });
    assert_script_rejects(&bad, &wallet(&["relay"]), H, 1);
}
