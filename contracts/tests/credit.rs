//! Stable assets bought as GPUC credit (issue 14: "bridged USDT is converted to ... GPUC"): the
//! vault's credit path, the member's credited path and the Rosen deposit's credit path. Every
//! attack is rejected by the scripts (ergo-lib's interpreter), each after its honest twin is
//! accepted. Devnet deployment: rsUSDT (6 decimals, credited at 100 % of its pool price), GPUC
//! at $1.01, ERG/USD `RATE`.

mod common;

use common::*;
use dgcm_contracts::build;
use dgcm_contracts::lets_member::{Member, Prices};
use dgcm_contracts::lets_vault::{credit_for, Vault};
use dgcm_contracts::rosen_deposit::RosenDeposit;
use dgcm_contracts::{Executor, TxPlan, Typed};
use ergo_lib::ergotree_ir::chain::ergo_box::ErgoBox;
use ergo_lib::ergotree_ir::chain::token::TokenId;

/// 10 rsUSDT in base units.
const TEN_USDT: u64 = 10_000_000;
/// $10 at $1.01 per GPUC, rounded down: 9.900 GPUC.
const TEN_USDT_CREDIT: i64 = 9_900;

fn usdt_pools(e: &Env) -> Vec<ErgoBox> {
    vec![oracle(e), pool_of(e, "rsUSDT", asset_price("rsUSDT"))]
}

fn vault_holding(e: &Env, stable: &[(TokenId, u64)]) -> Typed<Vault> {
    let v = Vault {
        stable: stable.to_vec(),
        ..vault(e).v
    };
    typed(e, &v.to_candidate(&e.c, H).unwrap())
}

/// The owner (in debt: credit repays it) buys credit with 10 rsUSDT from their wallet.
fn buy() -> (Env, Typed<Member>, TxPlan, Executor) {
    let e = env();
    let usdt = asset(&e, "rsUSDT");
    let m = member(&e, "owner", ERG, 2_000, -5_000);
    let ex = exec_of("owner", ERG, &[(usdt, TEN_USDT)]);
    let (p, credit) = build::buy_credit(
        &e.c,
        &vault(&e),
        &m,
        &[(usdt, TEN_USDT)],
        &usdt_pools(&e),
        H,
        &ex,
    )
    .unwrap();
    assert_eq!(credit, TEN_USDT_CREDIT);
    (e, m, p, ex)
}

/// The plan's outputs with the member credited `credit` and the vault holding `usdt`.
fn with_outputs(
    e: &Env,
    m: &Typed<Member>,
    p: &TxPlan,
    ex: &Executor,
    credit: i64,
    usdt: u64,
) -> TxPlan {
    let id = asset(e, "rsUSDT");
    refinish(p, ex, |d| {
        d.outputs[0] = Vault {
            stable: if usdt > 0 { vec![(id, usdt)] } else { vec![] },
            ..vault(e).v
        }
        .to_candidate(&e.c, H)
        .unwrap();
        d.outputs[1] = Member {
            balance: m.v.balance + credit,
            ..m.v.clone()
        }
        .to_candidate(&e.c, H)
        .unwrap();
    })
}

#[test]
fn honest_buy_credit_at_the_oracle_price() {
    let (e, m, p, _) = buy();
    assert_valid(&p, &wallet(&["owner"]), H);
    let after: Typed<Member> = typed(&e, &p.unsigned.output_candidates.get(1).unwrap().clone());
    assert_eq!(after.v.balance, m.v.balance + TEN_USDT_CREDIT);
    assert_eq!(after.v.assets, m.v.assets, "collateral unchanged");
    let v: Typed<Vault> = typed(&e, &p.unsigned.output_candidates.first().clone());
    assert_eq!(v.v.stable_amount(&asset(&e, "rsUSDT")), TEN_USDT);
    assert_eq!(v.v.reserve, RESERVE, "no GPUC moves");
}

#[test]
fn credit_rule_is_the_scripts_at_the_rounding_edge() {
    // the script accepts exactly floor(W / (price · rate)): one base unit more or less of the
    // credit is refused, for amounts around a rounding edge
    let e = env();
    let usdt = asset(&e, "rsUSDT");
    let prices = Prices::read(&e.c.params, &usdt_pools(&e), H);
    for amount in [1_010_000, 1_010_001, 1_009_999 + 10_100, 123_456_789] {
        let credit = credit_for(&e.c.params, &prices, &[(usdt, amount)]).unwrap();
        let m = member(&e, "owner", ERG, 0, 0);
        let ex = exec_of("owner", ERG, &[(usdt, amount)]);
        let (p, c) = build::buy_credit(
            &e.c,
            &vault(&e),
            &m,
            &[(usdt, amount)],
            &usdt_pools(&e),
            H,
            &ex,
        )
        .unwrap();
        assert_eq!(c, credit);
        assert_valid(&p, &wallet(&["owner"]), H);
        for wrong in [credit - 1, credit + 1] {
            if wrong < dgcm_contracts::lets_vault::MIN_CREDIT {
                continue;
            }
            let bad = with_outputs(&e, &m, &p, &ex, wrong, amount);
            assert_script_rejects(&bad, &wallet(&["owner"]), H, 0);
        }
    }
    // less than 1 GPUC's worth buys nothing (red team R3: dust re-spends): builder and script
    assert_eq!(credit_for(&e.c.params, &prices, &[(usdt, 1_009_999)]), None);
    let m = member(&e, "owner", ERG, 0, 0);
    let ex = exec_of("owner", ERG, &[(usdt, 1_010_000)]);
    let (p, _) = build::buy_credit(
        &e.c,
        &vault(&e),
        &m,
        &[(usdt, 1_010_000)],
        &usdt_pools(&e),
        H,
        &ex,
    )
    .unwrap();
    let dust = refinish(&p, &ex, |d| {
        d.outputs[0] = Vault {
            stable: vec![(usdt, 1_009_999)],
            ..vault(&e).v
        }
        .to_candidate(&e.c, H)
        .unwrap();
        d.outputs[1] = Member {
            balance: 999,
            ..m.v.clone()
        }
        .to_candidate(&e.c, H)
        .unwrap();
    });
    assert_script_rejects(&dust, &wallet(&["owner"]), H, 0);
}

#[test]
fn attack_credit_above_the_oracle_price() {
    let (e, m, p, ex) = buy();
    assert_valid(&p, &wallet(&["owner"]), H);
    let bad = with_outputs(&e, &m, &p, &ex, TEN_USDT_CREDIT * 2, TEN_USDT);
    assert_script_rejects(&bad, &wallet(&["owner"]), H, 0);
}

#[test]
fn attack_credit_priced_by_a_fake_stale_or_other_pool() {
    let (e, _, p, ex) = buy();
    let usdt_price = asset_price("rsUSDT");
    let edge = pool_at(
        &e,
        "rsUSDT",
        usdt_price,
        H - e.c.params.asset("rsUSDT").unwrap().max_age as u32,
    );
    assert_valid(
        &refinish(&p, &ex, |d| d.data_inputs = vec![oracle(&e), edge.clone()]),
        &wallet(&["owner"]),
        H,
    );
    let fake = oracle_with(dgcm_contracts::util::token_id([0x42; 32]), usdt_price);
    let other = pool_of(&e, "rsETH", usdt_price);
    for pools in [
        vec![oracle(&e), fake],
        vec![oracle(&e), other],
        vec![oracle(&e)],
        vec![pool_of(&e, "rsUSDT", usdt_price)],
        vec![fake_oracle(), pool_of(&e, "rsUSDT", usdt_price)],
    ] {
        let bad = refinish(&p, &ex, |d| d.data_inputs = pools.clone());
        assert_script_rejects(&bad, &wallet(&["owner"]), H, 0);
    }
}

#[test]
fn attack_the_vault_takes_an_asset_it_does_not_credit() {
    // rsBTC is collateral only (credit_pct 0): the builder refuses, and so does the script
    let (e, m, p, _) = buy();
    let btc = asset(&e, "rsBTC");
    let ex_btc = exec_of("owner", ERG, &[(btc, 1_000_000)]);
    let pools = vec![oracle(&e), pool_of(&e, "rsBTC", asset_price("rsBTC"))];
    assert!(build::buy_credit(
        &e.c,
        &vault(&e),
        &m,
        &[(btc, 1_000_000)],
        &pools,
        H,
        &ex_btc
    )
    .is_err());
    assert_valid(&p, &wallet(&["owner"]), H);
    let bad = refinish(&p, &ex_btc, |d| {
        d.outputs[0] = raw_vault(&e, &[(btc, 1_000_000)]);
        d.data_inputs = pools.clone();
    });
    assert_script_rejects(&bad, &wallet(&["owner"]), H, 0);
}

/// A vault box with any tokens after its three (the codec refuses a non-credit asset).
fn raw_vault(
    e: &Env,
    extra: &[(TokenId, u64)],
) -> ergo_lib::ergotree_ir::chain::ergo_box::ErgoBoxCandidate {
    let mut c = vault(e).v.to_candidate(&e.c, H).unwrap();
    let p = &e.c.params;
    let mut t = vec![
        (p.vault_nft, 1),
        (p.gpuc_id, RESERVE),
        (p.membership_id, 1000),
    ];
    t.extend_from_slice(extra);
    set_tokens(&mut c, &t);
    c
}

#[test]
fn attack_the_vault_splits_its_stable_reserve_in_two_entries() {
    let (e, _, p, ex) = buy();
    let usdt = asset(&e, "rsUSDT");
    let bad = refinish(&p, &ex, |d| {
        d.outputs[0] = raw_vault(&e, &[(usdt, TEN_USDT / 2), (usdt, TEN_USDT / 2)]);
    });
    assert_script_rejects(&bad, &wallet(&["owner"]), H, 0);
}

#[test]
fn attack_the_credit_path_pays_out_gpuc_too() {
    let (e, _, p, ex) = buy();
    let bad = refinish(&p, &ex, |d| {
        d.outputs[0] = Vault {
            reserve: RESERVE - 1_000,
            stable: vec![(asset(&e, "rsUSDT"), TEN_USDT)],
            ..vault(&e).v
        }
        .to_candidate(&e.c, H)
        .unwrap();
    });
    assert_script_rejects(&bad, &wallet(&["owner"]), H, 0);
}

#[test]
fn attack_the_credited_path_takes_the_members_collateral() {
    let (e, m, p, ex) = buy();
    let bad = refinish(&p, &ex, |d| {
        d.outputs[1] = Member {
            balance: m.v.balance + TEN_USDT_CREDIT,
            value: m.v.value / 2,
            ..m.v.clone()
        }
        .to_candidate(&e.c, H)
        .unwrap();
    });
    assert_script_rejects(&bad, &everyone(), H, 1);
    let bad = refinish(&p, &ex, |d| {
        d.outputs[1] = Member {
            balance: m.v.balance + TEN_USDT_CREDIT,
            assets: vec![],
            ..m.v.clone()
        }
        .to_candidate(&e.c, H)
        .unwrap();
    });
    assert_script_rejects(&bad, &everyone(), H, 1);
}

#[test]
fn attack_a_flow_takes_the_stable_reserve_out() {
    // a vault already holding rsUSDT: an honest withdrawal keeps it; taking it out is refused
    let e = env();
    let usdt = asset(&e, "rsUSDT");
    let v = vault_holding(&e, &[(usdt, TEN_USDT)]);
    let m = member(&e, "owner", ERG, 2_000, 0);
    let ex = exec_of("owner", ERG, &[]);
    let pools = vec![oracle(&e), pool_of(&e, "SigUSD", asset_price("SigUSD"))];
    let p = build::withdraw(&e.c, &v, &m, 1_000, &pools, &tree_of("owner"), H, &ex).unwrap();
    assert_valid(&p, &wallet(&["owner"]), H);
    for left in [0, TEN_USDT - 1] {
        let bad = refinish(&p, &ex, |d| {
            d.outputs[0] = Vault {
                reserve: RESERVE - 1_000,
                stable: if left > 0 { vec![(usdt, left)] } else { vec![] },
                ..v.v.clone()
            }
            .to_candidate(&e.c, H)
            .unwrap();
        });
        assert_script_rejects(&bad, &wallet(&["owner"]), H, 0);
    }
    // and a join keeps it too
    let ex = exec_of("joiner", ERG, &[]);
    let j = build::join(&e.c, &v, &pk("joiner"), 10_000_000, &[], H, &ex).unwrap();
    assert_valid(&j, &wallet(&["joiner"]), H);
    let bad = refinish(&j, &ex, |d| {
        d.outputs[0] = Vault {
            stock: v.v.stock - 1,
            stable: vec![],
            ..v.v.clone()
        }
        .to_candidate(&e.c, H)
        .unwrap();
    });
    assert_script_rejects(&bad, &wallet(&["joiner"]), H, 0);
}

fn usdt_deposit(e: &Env, owner: &str, usdt: u64) -> Typed<RosenDeposit> {
    let d = RosenDeposit {
        value: 50_000_000,
        owner: pk(owner),
        tokens: vec![(asset(e, "rsUSDT"), usdt)],
    };
    typed(e, &d.to_candidate(&e.c, H).unwrap())
}

/// The relay turns a Rosen deposit of 10 rsUSDT into credit in its owner's account.
fn rosen_credit() -> (Env, Typed<Member>, Typed<RosenDeposit>, TxPlan, Executor) {
    let e = env();
    let m = member(&e, "owner", ERG, 0, -3_000);
    let dep = usdt_deposit(&e, "owner", TEN_USDT);
    let ex = exec_of("relay", ERG, &[]);
    let (p, credit) =
        build::convert_rosen_credit(&e.c, &vault(&e), &dep, &m, &usdt_pools(&e), H, &ex).unwrap();
    assert_eq!(credit, TEN_USDT_CREDIT);
    (e, m, dep, p, ex)
}

#[test]
fn honest_rosen_deposit_of_rsusdt_becomes_credit() {
    let (e, m, _, p, _) = rosen_credit();
    assert_valid(&p, &wallet(&["relay"]), H);
    let after: Typed<Member> = typed(&e, &p.unsigned.output_candidates.get(1).unwrap().clone());
    assert_eq!(after.v.balance, m.v.balance + TEN_USDT_CREDIT);
    assert_eq!(
        after.v.value,
        m.v.value + 50_000_000 - e.c.params.max_relay_fee as u64
    );
}

#[test]
fn attack_rosen_credit_keeps_part_of_the_deposit() {
    let (e, m, _, p, ex) = rosen_credit();
    // the relay routes half the rsUSDT to itself and credits the owner for the other half
    let usdt = asset(&e, "rsUSDT");
    let half = TEN_USDT / 2;
    let prices = Prices::read(&e.c.params, &usdt_pools(&e), H);
    let c_half = credit_for(&e.c.params, &prices, &[(usdt, half)]).unwrap();
    let bad = with_outputs(&e, &m, &p, &ex, c_half, half);
    assert_script_rejects(&bad, &wallet(&["relay"]), H, 2);
}

#[test]
fn attack_rosen_credit_into_someone_elses_account() {
    let (e, _, dep, p, ex) = rosen_credit();
    let other = member(&e, "mallory", ERG, 0, 0);
    assert!(
        build::convert_rosen_credit(&e.c, &vault(&e), &dep, &other, &usdt_pools(&e), H, &ex)
            .is_err()
    );
    let bad = refinish(&p, &ex, |d| {
        d.inputs[1].bx = other.bx.clone();
        d.outputs[1] = Member {
            balance: TEN_USDT_CREDIT,
            value: other.v.value + 48_000_000,
            ..other.v.clone()
        }
        .to_candidate(&e.c, H)
        .unwrap();
    });
    assert_script_rejects(&bad, &wallet(&["relay"]), H, 2);
}

#[test]
fn attack_rosen_credit_relay_fee_above_the_cap() {
    let (e, m, _, p, ex) = rosen_credit();
    let bad = refinish(&p, &ex, |d| {
        d.outputs[1] = Member {
            balance: m.v.balance + TEN_USDT_CREDIT,
            value: m.v.value + 50_000_000 - e.c.params.max_relay_fee as u64 - 1,
            ..m.v.clone()
        }
        .to_candidate(&e.c, H)
        .unwrap();
    });
    assert_script_rejects(&bad, &wallet(&["relay"]), H, 2);
}

#[test]
fn attack_rosen_credit_of_a_mixed_deposit() {
    // rsUSDT with rsBTC: the vault cannot take the rsBTC, so the deposit goes as collateral
    let e = env();
    let (usdt, btc) = (asset(&e, "rsUSDT"), asset(&e, "rsBTC"));
    let d = RosenDeposit {
        value: 50_000_000,
        owner: pk("owner"),
        tokens: vec![(usdt, TEN_USDT), (btc, 10_000)],
    };
    let dep: Typed<RosenDeposit> = typed(&e, &d.to_candidate(&e.c, H).unwrap());
    let m = member(&e, "owner", ERG, 0, 0);
    let ex = exec_of("relay", ERG, &[]);
    assert!(
        build::convert_rosen_credit(&e.c, &vault(&e), &dep, &m, &usdt_pools(&e), H, &ex).is_err()
    );
    let ok = build::convert_rosen(&e.c, &dep, &m, H, &ex).unwrap();
    assert_valid(&ok, &wallet(&["relay"]), H);
    // the relay credits the rsUSDT and keeps the rsBTC
    let (_, _, _, p, ex) = rosen_credit();
    let bad = refinish(&p, &ex, |dr| dr.inputs[2].bx = dep.bx.clone());
    assert_script_rejects(&bad, &wallet(&["relay"]), H, 2);
}

// ------------------------------------------------------------------------------ red team

/// Red team R1: a liquidation (vault flow, member liquidate) repaid with the owner's own GPUC
/// deposit at their Rosen address, spent by the deposit's credit path: the liquidator took 107 %
/// of the repayment in collateral and paid nothing.
#[test]
fn attack_rosen_credit_repays_a_liquidation_with_the_owners_gpuc_deposit() {
    let e = env();
    let victim = member(&e, "owner", 1_000_000, 4_000, -30_000);
    let orc = vec![oracle(&e), pool_of(&e, "SigUSD", asset_price("SigUSD"))];
    let take = cents(&e, 1_080);
    let ex = exec_of("other", ERG, &[(e.gpuc, 10_000)]);
    let honest =
        build::liquidate(&e.c, &vault(&e), &victim, 10_000, 0, &take, &orc, H, &ex).unwrap();
    assert_valid(&honest, &wallet(&["other"]), H);
    // the owner sent 10 GPUC (with a wallet's 0.001 ERG) to their deposit address
    let dep = on_chain(
        &RosenDeposit {
            value: 1_000_000,
            owner: pk("owner"),
            tokens: vec![(e.gpuc, 10_000)],
        }
        .to_candidate(&e.c, H)
        .unwrap(),
    );
    let broke = exec_of("other", ERG, &[]);
    let bad = refinish(&honest, &broke, |d| {
        d.inputs.push(dgcm_contracts::Spend {
            bx: dep.clone(),
            ext: dgcm_contracts::tx::sel(2),
        })
    });
    assert_script_rejects(&bad, &wallet(&["other"]), H, 2);
}

/// Red team R3: through the vault's flow path, the credited path let anyone re-spend any account
/// (and the vault) for 1 mGPUC. Only the owner deposits GPUC (its own path), as before.
#[test]
fn attack_credited_path_beside_a_vault_flow() {
    let e = env();
    let m = member(&e, "owner", ERG, 0, 0);
    let ex = exec_of("owner", ERG, &[(e.gpuc, 1)]);
    let honest = build::deposit(&e.c, &vault(&e), &m, 1, &[], H, &ex).unwrap();
    assert_valid(&honest, &wallet(&["owner"]), H);
    let other = exec_of("other", ERG, &[(e.gpuc, 1)]);
    let bad = refinish(&honest, &other, |d| {
        d.inputs[1].ext = dgcm_contracts::tx::sel(5)
    });
    assert_script_rejects(&bad, &wallet(&["other"]), H, 1);
}

/// Red team R2: the ERG/USD rate posted long ago (ERG fell 20 % since) beside a fresh rsUSDT
/// pool priced 1 rsUSDT at $1.25 of the stale rate: the credit is capped at $1 a token. And
/// the other way (the rsUSDT pool 20 % under the stale rate), anyone could force-sell a
/// victim's deposit at a loss: refused below the peg floor.
#[test]
fn attack_credit_skewed_by_pools_of_different_ages() {
    let e = env();
    let usdt = asset(&e, "rsUSDT");
    let g: u64 = 1_000_000_000; // 1000 rsUSDT
    let old_rate = oracle_at_height(e.c.params.oracle_pool_nft, RATE, H - 719);
    let high = pool_at(&e, "rsUSDT", RATE * 125 / 100, H - 1);
    let m = member(&e, "owner", ERG, 0, 0);
    let ex = exec_of("owner", ERG, &[(usdt, g)]);
    let pools = vec![old_rate.clone(), high];
    let (p, c) = build::buy_credit(&e.c, &vault(&e), &m, &[(usdt, g)], &pools, H, &ex).unwrap();
    assert_eq!(c, 990_099, "$1000 at $1.01 a GPUC: capped at $1 a token");
    assert_valid(&p, &wallet(&["owner"]), H);
    let inflated = with_outputs(&e, &m, &p, &ex, 1_237_623, g);
    assert_script_rejects(&inflated, &wallet(&["owner"]), H, 0);
    // off the peg: the builder refuses, and so does the script at the off-peg price's credit
    let floor = e.c.params.credit_peg_floor_pct;
    let edge_price = (RATE * floor + 99) / 100;
    for (price, ok) in [
        (edge_price, true),
        (edge_price - 1, false),
        (RATE * 80 / 100, false),
    ] {
        let pools = vec![old_rate.clone(), pool_at(&e, "rsUSDT", price, H - 1)];
        let prices = Prices::read(&e.c.params, &pools, H);
        assert_eq!(
            credit_for(&e.c.params, &prices, &[(usdt, g)]).is_some(),
            ok,
            "{price}"
        );
        let at_price = (g as i128 * price as i128 * 100 * 1000 / 1_000_000) / (101 * RATE as i128);
        let t = refinish(
            &with_outputs(&e, &m, &p, &ex, at_price as i64, g),
            &ex,
            |d| d.data_inputs = pools.clone(),
        );
        if ok {
            assert_valid(&t, &wallet(&["owner"]), H);
        } else {
            assert_script_rejects(&t, &wallet(&["owner"]), H, 0);
        }
    }
}
