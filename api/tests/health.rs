//! The API's account view prices a LETS account with the contracts crate's own functions (one
//! definition of the member contract's rules): an account holding ERG + rsETH + SigUSD is priced
//! with three oracle boxes (the ERG/USD pool prices SigUSD and the debt, the rsETH pool its
//! rsETH), and the reply is compared with `dgcm_contracts::lets_member` evaluated on the same
//! boxes; an account whose rsBTC pool is missing counts its rsBTC at 0 and is never reported
//! liquidatable for it.

mod common;

use common::*;
use dgcm_contracts::build;
use dgcm_contracts::lets_member::{borrow_value, fully_priced, healthy, Member, Prices};
use dgcm_contracts::lets_vault::Vault;
use dgcm_contracts::util::p2pk_tree;
use dgcm_contracts::{Contracts, Kind, ProtocolParams, Typed};
use ergo_lib::chain::transaction::input::prover_result::ProverResult;
use ergo_lib::chain::transaction::{Input, Transaction, TxId};
use ergo_lib::ergotree_interpreter::sigma_protocol::prover::ContextExtension;
use ergo_lib::ergotree_ir::chain::ergo_box::box_value::BoxValue;
use ergo_lib::ergotree_ir::chain::ergo_box::{ErgoBox, ErgoBoxCandidate};
use ergo_lib::ergotree_ir::chain::token::{Token, TokenAmount, TokenId};

const H0: u32 = 2000;
const RATE: i64 = 967_821_514;

fn pool_tx(tag: &str, nft: TokenId, price: i64) -> Transaction {
    Transaction::new(
        vec![Input::new(
            TxId::from(digest(tag)).0.into(),
            ProverResult {
                proof: vec![].into(),
                extension: ContextExtension::empty(),
            },
        )]
        .try_into()
        .unwrap(),
        None,
        vec![ErgoBoxCandidate {
            value: BoxValue::new(ERG).unwrap(),
            ergo_tree: p2pk_tree(&pk("oracle")),
            tokens: Some(
                vec![Token {
                    token_id: nft,
                    amount: TokenAmount::try_from(1u64).unwrap(),
                }]
                .try_into()
                .unwrap(),
            ),
            additional_registers: dgcm_devnet::genesis::oracle_registers(price, 1),
            creation_height: H0,
        }]
        .try_into()
        .unwrap(),
    )
    .unwrap()
}

fn vault(c: &Contracts) -> Typed<Vault> {
    let v = Vault {
        value: 2_000_000,
        reserve: 1_000_000_000,
        stock: 1000,
        stable: vec![],
    };
    let cand = v.to_candidate(c, H0).unwrap();
    Typed::parse(
        c,
        ErgoBox::from_box_candidate(&cand, TxId::from(digest("vault")), 0).unwrap(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_are_priced_per_asset_with_the_contracts_rules() {
    let c = Contracts::new(ProtocolParams::devnet_default()).unwrap();
    let p = c.params.clone();
    let id = |n: &str| p.asset(n).unwrap().token_id;
    let (eth, sig, btc) = (id("rsETH"), id("SigUSD"), id("rsBTC"));
    let eth_pool = p.asset("rsETH").unwrap().pool_nft;

    // Alice: 1 ERG + 0.02 rsETH ($60, factor 70 %) + 20 SigUSD; then borrows 30 GPUC.
    let alice_assets = [(eth, 2_000_000u64), (sig, 2000)];
    let t_join_a = tx(&build::join(
        &c,
        &vault(&c),
        &pk("alice"),
        ERG,
        &alice_assets,
        H0,
        &exec("alice", 3 * ERG, &alice_assets),
    )
    .unwrap());
    let alice_box = t_join_a.outputs.get(1).unwrap().clone();
    // Bob: 0.5 ERG + 0.001 rsBTC, whose pool is not on chain; a debt of 5 GPUC is taken as a
    // forged-free shape: joined, then the balance is set by a withdrawal built with a stand-in
    // rsBTC pool box that is never indexed.
    let bob_assets = [(btc, 100_000u64)];
    let t_join_b = tx(&build::join(
        &c,
        &vault(&c),
        &pk("bob"),
        ERG / 2,
        &bob_assets,
        H0,
        &exec("bob", 3 * ERG, &bob_assets),
    )
    .unwrap());
    let bob_box = t_join_b.outputs.get(1).unwrap().clone();
    let t_erg = pool_tx("erg-usd", p.oracle_pool_nft, RATE);
    let t_eth = pool_tx("rseth", eth_pool, 3_000 * RATE);
    let erg_pool = t_erg.outputs.first().clone();
    let eth_box = t_eth.outputs.first().clone();
    let btc_standin = pool_tx("rsbtc", p.asset("rsBTC").unwrap().pool_nft, 90_000 * RATE)
        .outputs
        .first()
        .clone();

    let withdraw = |who: &str, m: &ErgoBox, amount: u64, oracles: &[ErgoBox]| {
        tx(&build::withdraw(
            &c,
            &vault(&c),
            &Typed::<Member>::parse(&c, m.clone()).unwrap(),
            amount,
            oracles,
            &p2pk_tree(&pk(who)),
            H0 + 1,
            &exec(who, ERG, &[]),
        )
        .unwrap())
    };
    let t_borrow_a = withdraw(
        "alice",
        &alice_box,
        30_000,
        &[erg_pool.clone(), eth_box.clone()],
    );
    let t_borrow_b = withdraw("bob", &bob_box, 40_000, &[erg_pool.clone(), btc_standin]);
    let alice_after = output_of(&t_borrow_a, &c, Kind::LetsMember);
    let bob_after = output_of(&t_borrow_b, &c, Kind::LetsMember);

    let blocks = vec![
        vec![t_erg, t_eth, t_join_a, t_join_b],
        vec![t_borrow_a, t_borrow_b],
    ];
    let (db, _store) = index_chain(H0, blocks, c.clone());
    let api = Api::start(&db);

    // what the member contract computes in the next block with the indexed pool boxes
    let prices = Prices::read(&p, &[erg_pool.clone(), eth_box.clone()], H0 + 2);
    for (who, bx) in [("alice", &alice_after), ("bob", &bob_after)] {
        let m: Member = Typed::<Member>::parse(&c, bx.clone()).unwrap().v;
        let a = api.ok(&format!("/api/v1/accounts/{}", address(who))).await;
        let l = &a["lets"];
        assert_eq!(l["box_id"], hex_id(bx), "{who}: {a}");
        assert_eq!(l["balance"], m.balance);
        let want_healthy = healthy(&p, &prices, m.balance, m.value, &m.assets);
        assert_eq!(l["healthy"], want_healthy, "{who}: {l}");
        let bv = borrow_value(&p, &prices, m.value, &m.assets)
            .to_string()
            .parse::<f64>()
            .unwrap();
        assert_eq!(l["borrow_value_nanoerg"].as_f64().unwrap(), bv, "{who}");
        let want_liq = !want_healthy && fully_priced(&p, &prices, &m.assets);
        assert_eq!(l["liquidatable"], want_liq, "{who}");
        let held: Vec<&str> = l["collateral"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["name"].as_str().unwrap())
            .collect();
        match who {
            "alice" => {
                // three pool boxes price her: ERG/USD (debt, SigUSD) and rsETH
                assert_eq!(held, ["SigUSD", "rsETH"], "{l}");
                for h in l["collateral"].as_array().unwrap() {
                    assert!(h["price_nanoerg"].as_i64().unwrap() > 0, "{h}");
                }
                assert!(
                    want_healthy,
                    "Alice's $60 of rsETH at 70 % + $20 + $1 cover $45.45"
                );
            }
            _ => {
                // rsBTC unpriced: 0 for borrowing, and no liquidation on its account
                assert_eq!(held, ["rsBTC"], "{l}");
                assert!(l["collateral"][0]["price_nanoerg"].is_null(), "{l}");
                assert!(!want_healthy && !want_liq, "{l}");
            }
        }
    }
    // the rates list every asset at its pool: rsETH priced, rsBTC (no pool indexed) not
    let r = api.ok("/api/v1/rates").await;
    let by = |n: &str| {
        r["collateral"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == n)
            .cloned()
            .unwrap()
    };
    assert_eq!(by("rsETH")["nanoerg_per_token"], 3_000 * RATE, "{r}");
    assert!((by("rsETH")["usd_per_token"].as_f64().unwrap() - 3000.0).abs() < 1e-6);
    assert_eq!(
        by("SigUSD")["nanoerg_per_token"],
        RATE,
        "priced by the ERG/USD pool"
    );
    assert!(by("rsBTC")["nanoerg_per_token"].is_null(), "{r}");
    api.stop().await;
}
