//! scanner-rules/: the committed EIP-1 rules are what `dgcm_contracts::scanner` generates for the
//! devnet deployment (`DGCM_BLESS=1 cargo test -p dgcm-contracts --test scanner_rules` rewrites
//! them), each is well formed for the node, and each matches the boxes of its own kind, as the
//! builders and codecs create them, and no box of another kind.

mod common;

use std::path::PathBuf;

use common::*;
use dgcm_chain::scan::{check_rule, matches};
use dgcm_chain::types::TrackingRule;
use dgcm_contracts::build;
use dgcm_contracts::lets_vault::Vault;
use dgcm_contracts::scanner::{rule_file_text, scanner_rules};
use dgcm_contracts::util::tokens;
use dgcm_contracts::{Contracts, Kind, ProtocolParams};
use ergo_lib::ergotree_ir::chain::ergo_box::ErgoBox;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scanner-rules")
}

fn rules(c: &Contracts) -> Vec<(Kind, TrackingRule)> {
    scanner_rules(c)
        .unwrap()
        .into_iter()
        .zip(Kind::ALL)
        .map(|((name, v), k)| {
            assert_eq!(name, k.name());
            (k, serde_json::from_value(v).expect("a node tracking rule"))
        })
        .collect()
}

/// (1) The committed files are byte for byte what the code generates for the devnet defaults.
#[test]
fn committed_rules_are_generated() {
    let c = Contracts::new(ProtocolParams::devnet_default()).unwrap();
    let bless = std::env::var_os("DGCM_BLESS").is_some();
    let mut stale = vec![];
    for (name, v) in scanner_rules(&c).unwrap() {
        let path = dir().join(format!("{name}.json"));
        let want = rule_file_text(&v);
        if bless {
            std::fs::write(&path, &want).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(want.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale scanner rules {stale:?}: regenerate with \
         DGCM_BLESS=1 cargo test -p dgcm-contracts --test scanner_rules"
    );
    // and nothing else named *.json lies there
    let mut files: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json"))
        .collect();
    files.sort();
    let mut want: Vec<String> = Kind::ALL
        .iter()
        .map(|k| format!("{}.json", k.name()))
        .collect();
    want.sort();
    assert_eq!(files, want);
}

/// (2) Every rule is well formed for the evaluator the devnet and the node share, and the
/// committed files parse as node tracking rules (`value`, not `bytes`).
#[test]
fn rules_are_well_formed() {
    let c = Contracts::new(ProtocolParams::devnet_default()).unwrap();
    for (k, r) in rules(&c) {
        check_rule(&r).unwrap_or_else(|e| panic!("{}: {e}", k.name()));
        let text = std::fs::read_to_string(dir().join(format!("{}.json", k.name()))).unwrap();
        assert!(!text.contains("\"bytes\""), "{}: node format", k.name());
        let parsed: TrackingRule = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed, r, "{}", k.name());
    }
}

/// Boxes of every kind, from the builders' outputs and the codecs, with their kind (`None`:
/// not a protocol box — change, miner fee, payouts, P2PK, oracle).
fn boxes(e: &Env) -> Vec<(Option<Kind>, &'static str, ErgoBox)> {
    let c = &e.c;
    let mut out: Vec<(Option<Kind>, &'static str, ErgoBox)> = vec![];
    let mut plan_outputs = |what: &'static str, p: dgcm_contracts::TxPlan| {
        for o in p.unsigned.output_candidates.iter() {
            let b = on_chain(o);
            out.push((c.kind_of(&b.ergo_tree), what, b));
        }
    };
    // listing, order, lease, arbitration, vault, member from builders
    plan_outputs(
        "list_listing",
        build::list_listing(
            c,
            &listing(),
            H,
            &exec_of("provider", ERG, &[(e.gpuc, 10_000)]),
        )
        .unwrap(),
    );
    plan_outputs(
        "place_order",
        build::place_order(
            c,
            &order(),
            H,
            &exec_of("consumer", 20 * ERG, &[(e.gpuc, 2500)]),
        )
        .unwrap(),
    );
    let o = typed(e, &order().to_candidate(c, H).unwrap());
    let l = typed(e, &listing().to_candidate(c, H).unwrap());
    plan_outputs(
        "match_order",
        build::match_order(c, &o, &l, H, &exec_of("exec", ERG, &[])).unwrap(),
    );
    let h = (COMPLETED_AT + 10) as u32;
    plan_outputs(
        "dispute",
        build::dispute(c, &done_lease(e), h, &exec_of("consumer", ERG, &[])).unwrap(),
    );
    plan_outputs(
        "finalise",
        build::finalise(
            c,
            &done_lease(e),
            (COMPLETED_AT + 61) as u32,
            &exec_of("exec", ERG, &[]),
        )
        .unwrap(),
    );
    plan_outputs(
        "join",
        build::join(
            c,
            &vault(e),
            &pk("owner"),
            ERG,
            &[],
            H,
            &exec_of("owner", 2 * ERG, &[]),
        )
        .unwrap(),
    );
    let m = member(e, "owner", 1_000_000, 0, 0);
    plan_outputs(
        "convert_rosen",
        build::convert_rosen(
            c,
            &rosen_deposit(e, "owner", 50_000_000, 1500),
            &m,
            H,
            &exec_of("exec", ERG, &[]),
        )
        .unwrap(),
    );
    // codecs: every kind, Rosen deposits of several owners and token sets
    for (k, b) in [
        (Kind::Lease, running_lease(e).bx),
        (Kind::Lease, done_lease(e).bx),
        (Kind::Arbitration, arbitration(e).bx),
        (Kind::LetsVault, vault(e).bx),
        (Kind::LetsMember, member(e, "other", ERG, 2000, -5000).bx),
        (
            Kind::RosenDeposit,
            rosen_deposit(e, "owner", 50_000_000, 0).bx,
        ),
        (
            Kind::RosenDeposit,
            rosen_deposit(e, "other", 9_000_000, 1500).bx,
        ),
        (
            Kind::RosenDeposit,
            rosen_deposit(e, "consumer", 1_000_000, 7).bx,
        ),
    ] {
        out.push((Some(k), "codec", b));
    }
    out.push((None, "p2pk", p2pk_box("owner", ERG, &[])));
    out.push((
        None,
        "p2pk with GPUC",
        p2pk_box("owner", ERG, &[(e.gpuc, 5)]),
    ));
    out.push((None, "oracle", oracle(e)));
    out
}

/// (3) Each rule matches its own kind's boxes and no other box.
#[test]
fn each_rule_matches_its_own_kind_only() {
    let e = env();
    let rules = rules(&e.c);
    let all = boxes(&e);
    for k in Kind::ALL {
        assert!(
            all.iter().any(|(bk, _, _)| *bk == Some(k)),
            "no box of kind {} was built",
            k.name()
        );
    }
    assert!(all.iter().any(|(bk, _, _)| bk.is_none()));
    for (bk, what, b) in &all {
        for (rk, r) in &rules {
            let want = *bk == Some(*rk);
            assert_eq!(
                matches(r, b),
                want,
                "rule {} on a {} box from {what}",
                rk.name(),
                bk.map(|k| k.name()).unwrap_or("non-protocol")
            );
        }
    }
}

/// The token half of the `and` rules: a box at the vault address without the vault NFT (anyone
/// can create one) is not tracked as the vault.
#[test]
fn vault_rule_needs_the_nft() {
    let e = env();
    let rules = rules(&e.c);
    let vault_rule = &rules.iter().find(|(k, _)| *k == Kind::LetsVault).unwrap().1;
    let mut fake = Vault {
        value: 2_000_000,
        reserve: 1000,
        stock: 10,
        stable: vec![],
    }
    .to_candidate(&e.c, H)
    .unwrap();
    fake.tokens = tokens(&[(e.gpuc, 1000), (e.c.params.membership_id, 10)]);
    assert!(!matches(vault_rule, &on_chain(&fake)));
}

/// The Rosen rule is per deployment: a deposit of another deployment (placeholder parameters)
/// is not matched, and the deployment's deposits are matched for any owner.
#[test]
fn rosen_rule_is_per_deployment() {
    let e = env();
    let rule = rules(&e.c)
        .into_iter()
        .find(|(k, _)| *k == Kind::RosenDeposit)
        .unwrap()
        .1;
    let other = Contracts::new(ProtocolParams::placeholders().unwrap()).unwrap();
    let o = dgcm_contracts::rosen_deposit::RosenDeposit {
        value: 5_000_000,
        owner: pk("owner"),
        tokens: vec![],
    };
    assert!(!matches(
        &rule,
        &on_chain(&o.to_candidate(&other, H).unwrap())
    ));
    assert!(matches(&rule, &on_chain(&o.to_candidate(&e.c, H).unwrap())));
    for who in ["arb1", "arb2", "provider", "exec"] {
        let d = dgcm_contracts::rosen_deposit::RosenDeposit {
            owner: pk(who),
            ..o.clone()
        };
        assert!(matches(&rule, &on_chain(&d.to_candidate(&e.c, H).unwrap())));
    }
}
