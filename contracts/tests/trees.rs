//! Loading, re-parameterisation and codec round trips.

mod common;

use common::*;
use dgcm_contracts::lets_member::Member;
use dgcm_contracts::lets_vault::Vault;
use dgcm_contracts::listing::Listing;
use dgcm_contracts::order::Order;
use dgcm_contracts::trees::{tree_hash, Compiled, Kind};
use dgcm_contracts::{BoxKind, CodecError, Contracts, ProtocolParams};
use ergo_lib::ergotree_ir::mir::constant::Constant;
use ergo_lib::ergotree_ir::serialization::SigmaSerializable;

#[test]
fn every_compiled_tree_loads_and_checks() {
    for k in Kind::ALL {
        Compiled::load(k).unwrap_or_else(|e| panic!("{}: {e}", k.name()));
    }
}

#[test]
fn placeholders_reproduce_the_committed_trees() {
    let c = Contracts::new(ProtocolParams::placeholders().unwrap()).unwrap();
    for k in Kind::ALL {
        let committed = Compiled::load(k).unwrap().tree;
        let mine = if k == Kind::RosenDeposit {
            // the committed OWNER placeholder is 4·G
            let owner = c.rosen_owner(&committed).expect("committed owner");
            c.rosen_deposit(&owner).unwrap()
        } else {
            c.tree(k).clone()
        };
        assert_eq!(
            mine.sigma_serialize_bytes().unwrap(),
            committed.sigma_serialize_bytes().unwrap(),
            "{}",
            k.name()
        );
    }
}

#[test]
fn devnet_deployment_differs_and_links_hashes() {
    let e = env();
    let placeholder = Contracts::new(ProtocolParams::placeholders().unwrap()).unwrap();
    for k in Kind::ALL {
        assert_ne!(
            tree_hash(e.c.tree(k)),
            tree_hash(placeholder.tree(k)),
            "{}",
            k.name()
        );
        assert_eq!(e.c.kind_of(e.c.tree(k)), Some(k));
    }
    // the index of a named constant, from the committed JSON (not guessed here)
    let at = |k: Kind, name: &str| {
        dgcm_contracts::trees::Compiled::load(k)
            .unwrap()
            .constants
            .iter()
            .find(|c| c.name == name)
            .unwrap()
            .indices[0]
    };
    let lease_hash = Constant::from(tree_hash(&e.c.lease).to_vec());
    let get =
        |t: &ergo_lib::ergotree_ir::ergo_tree::ErgoTree, i| t.get_constant(i).unwrap().unwrap();
    assert_eq!(
        get(&e.c.listing, at(Kind::Listing, "LEASE_SCRIPT_HASH")),
        lease_hash
    );
    assert_eq!(
        get(&e.c.order, at(Kind::Order, "LEASE_SCRIPT_HASH")),
        lease_hash
    );
    let member_hash = Constant::from(tree_hash(&e.c.lets_member).to_vec());
    assert_eq!(
        get(&e.c.lets_vault, at(Kind::LetsVault, "MEMBER_SCRIPT_HASH")),
        member_hash
    );
}

#[test]
fn bad_params_are_refused() {
    let mut p = ProtocolParams::devnet_default();
    p.arb_k = 4;
    assert!(Contracts::new(p).is_err());
}

#[test]
fn codecs_round_trip() {
    let e = env();
    let l = listing();
    assert_eq!(typed::<Listing>(&e, &l.to_candidate(&e.c, H).unwrap()).v, l);
    let o = order();
    assert_eq!(typed::<Order>(&e, &o.to_candidate(&e.c, H).unwrap()).v, o);
    assert_eq!(done_lease(&e).v, lease(COMPLETED_AT, 45));
    assert_eq!(vault(&e).v.reserve, RESERVE);
    assert_eq!(member(&e, "owner", ERG, 2000, -5).v.balance, -5);
    assert_eq!(arbitration(&e).v.claimed_pay, 1500);
    assert_eq!(rosen_deposit(&e, "owner", ERG, 7).v.owner, pk("owner"));
}

#[test]
fn codec_errors_name_the_register_and_reason() {
    let e = env();
    let mut c = order().to_candidate(&e.c, H).unwrap();
    set_reg(&mut c, 5, Constant::from(vec![1i32, 2]));
    let err = Order::parse(&e.c, &on_chain(&c)).unwrap_err();
    assert!(
        matches!(err, CodecError::WrongType { reg: "R5", .. }),
        "{err}"
    );

    let lc = listing().to_candidate(&e.c, H).unwrap();
    let err = Order::parse(&e.c, &on_chain(&lc)).unwrap_err();
    assert!(matches!(err, CodecError::WrongTree { .. }), "{err}");

    let mut m = member(&e, "owner", ERG, 0, 0)
        .v
        .to_candidate(&e.c, H)
        .unwrap();
    drop_regs(&mut m);
    let err = Member::parse(&e.c, &on_chain(&m)).unwrap_err();
    assert!(
        matches!(err, CodecError::MissingRegister { reg: "R4", .. }),
        "{err}"
    );

    let mut v = vault(&e).v.to_candidate(&e.c, H).unwrap();
    set_tokens(&mut v, &[(e.c.params.vault_nft, 1), (e.gpuc, 5)]);
    assert!(matches!(
        Vault::parse(&e.c, &on_chain(&v)).unwrap_err(),
        CodecError::Tokens { .. }
    ));

    let mut o = order().to_candidate(&e.c, H).unwrap();
    set_reg(&mut o, 5, Constant::from(vec![1i64, 2]));
    let err = Order::parse(&e.c, &on_chain(&o)).unwrap_err();
    assert!(
        matches!(err, CodecError::BadValue { field: "R5", .. }),
        "{err}"
    );
}
