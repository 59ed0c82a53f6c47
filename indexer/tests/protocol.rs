//! A whole lease's life (list, order, match, complete, finalise) built with the dgcm-contracts
//! builders, indexed into the protocol tables, its timeline read back through `protocol_events`,
//! then undone block by block.

mod common;

use std::sync::Arc;

use common::dump;
use dgcm_chain::{Cursor, FullBlock};
use dgcm_contracts::build;
use dgcm_contracts::lease::Lease;
use dgcm_contracts::listing::{Listing, ListingTerms};
use dgcm_contracts::order::{Order, OrderTerms};
use dgcm_contracts::util::p2pk_tree;
use dgcm_contracts::{Contracts, Kind, ProtocolParams, Typed};
use dgcm_indexer::decode::Decoder;
use dgcm_indexer::pgcluster::fresh_test_database;
use dgcm_indexer::rows::BlockRows;
use dgcm_indexer::Store;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use ergo_lib::chain::transaction::input::prover_result::ProverResult;
use ergo_lib::chain::transaction::{Input, Transaction, TxId};
use ergo_lib::ergo_chain_types::{BlockId, Digest32};
use ergo_lib::ergotree_ir::chain::ergo_box::box_value::BoxValue;
use ergo_lib::ergotree_ir::chain::ergo_box::NonMandatoryRegisters;
use ergo_lib::ergotree_ir::chain::token::TokenId;

const ERG: u64 = 1_000_000_000;
const H0: u32 = 1000;

fn digest(tag: &str) -> Digest32 {
    use blake2::digest::consts::U32;
    use blake2::{Blake2b, Digest};
    let mut h = Blake2b::<U32>::new();
    h.update(tag.as_bytes());
    Digest32::from(<[u8; 32]>::from(h.finalize()))
}

use dgcm_contracts::testkit::{funded_executor as exec, output_of, pk, unproven as tx};

fn block(height: u32, parent: BlockId, txs: Vec<Transaction>) -> FullBlock {
    FullBlock::synthetic(height, parent, txs)
}

#[test]
fn a_lease_lifecycle_fills_the_protocol_tables_and_undoes_exactly() {
    let c = Contracts::new(ProtocolParams::devnet_default()).unwrap();
    let gpuc = c.params.gpuc_id;
    let provider_exec = exec("provider", 10 * ERG, &[(gpuc, 10_000)]);
    let nft: TokenId = provider_exec.funding[0].box_id().into();
    let listing = Listing {
        value: 2_000_000,
        nft,
        stake: 10_000,
        provider: pk("provider"),
        terms: ListingTerms {
            price_per_hour: 1000,
            collateral_per_hour: 500,
            min_hours: 1,
            max_hours: 8,
            vram_mib: 24576,
            gpu_count: 1,
            benchmark_score: 9000,
            limits: dgcm_contracts::capacity::Capacity {
                memory_mib: 4096,
                cpu_millis: 2000,
                pids: 256,
                disk_mib: 1024,
            },
        },
        model: "RTX 4090".into(),
        region: "eu-west".into(),
        endpoint: "https://bob.example:8443".into(),
        busy_until: None,
    };
    let order = Order {
        value: 10_000_000,
        budget: 2500,
        consumer: pk("consumer"),
        terms: OrderTerms {
            max_price_per_hour: 1200,
            hours: 2,
            min_vram_mib: 16000,
            min_gpu_count: 1,
            min_benchmark_score: 5000,
            expiry_height: H0 as i64 + 500,
            matcher_fee_cap: 3_000_000,
            lease_exec_fee_cap: 1_500_000,
            requests: Default::default(),
        },
        listing: Some(nft),
        model: Some("RTX 4090".into()),
        region: None,
        job_spec_hash: vec![0x11; 32],
    };

    let t_list = tx(&build::list_listing(&c, &listing, H0, &provider_exec).unwrap());
    let t_order =
        tx(
            &build::place_order(&c, &order, H0, &exec("consumer", 20 * ERG, &[(gpuc, 2500)]))
                .unwrap(),
        );
    let l_box = output_of(&t_list, &c, Kind::Listing);
    let o_box = output_of(&t_order, &c, Kind::Order);
    let t_match = tx(&build::match_order(
        &c,
        &Typed::parse(&c, o_box).unwrap(),
        &Typed::parse(&c, l_box).unwrap(),
        H0 + 1,
        &exec("matcher", ERG, &[]),
    )
    .unwrap());
    let lease: Typed<Lease> = Typed::parse(&c, output_of(&t_match, &c, Kind::Lease)).unwrap();
    let t_complete = tx(&build::complete(
        &c,
        &lease,
        1, // v2: no more blocks than have passed since the start (H0 + 1)
        [0xcd; 32],
        H0 + 2,
        &exec("provider-2", ERG, &[]),
    )
    .unwrap());
    let done: Typed<Lease> = Typed::parse(&c, output_of(&t_complete, &c, Kind::Lease)).unwrap();
    let settle_at = H0 + 2 + c.params.challenge_window as u32 + 1;
    let t_final = tx(&build::finalise(&c, &done, settle_at, &exec("settler", ERG, &[])).unwrap());

    let mut chain = Vec::new();
    let mut parent = BlockId(digest("before"));
    for h in H0..=settle_at {
        let txs = match h {
            x if x == H0 => vec![t_list.clone(), t_order.clone()],
            x if x == H0 + 1 => vec![t_match.clone()],
            x if x == H0 + 2 => vec![t_complete.clone()],
            x if x == settle_at => vec![t_final.clone()],
            _ => vec![],
        };
        let b = block(h, parent, txs);
        parent = b.id();
        chain.push(Arc::new(b));
    }

    let db = fresh_test_database().unwrap();
    let mut store = Store::connect(&db).unwrap();
    store
        .initialise(
            None,
            Cursor {
                height: H0 - 1,
                header_id: BlockId(digest("before")),
            },
        )
        .unwrap();
    let empty = dump(&db);
    let decoder = Decoder::new(Some(c.clone()));
    store
        .apply_many(&BlockRows::from_blocks(&chain, &decoder, 2))
        .unwrap();

    let mut conn = PgConnection::establish(&db).unwrap();
    #[derive(QueryableByName, Debug, PartialEq)]
    struct Ev {
        #[diesel(sql_type = Text)]
        kind: String,
        #[diesel(sql_type = Text)]
        path_name: String,
        #[diesel(sql_type = BigInt)]
        height: i64,
    }
    let events: Vec<Ev> = diesel::sql_query(
        "SELECT kind, path_name, height::bigint AS height FROM protocol_events ORDER BY height, kind",
    )
    .load(&mut conn)
    .unwrap();
    let got: Vec<(String, String, i64)> = events
        .into_iter()
        .map(|e| (e.kind, e.path_name, e.height))
        .collect();
    let h = |x: u32| x as i64;
    assert_eq!(
        got,
        vec![
            ("listing".into(), "match".into(), h(H0 + 1)),
            ("order".into(), "match".into(), h(H0 + 1)),
            ("lease".into(), "complete".into(), h(H0 + 2)),
            ("lease".into(), "finalise".into(), h(settle_at)),
        ]
    );
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let count =
        |conn: &mut PgConnection, q: &str| diesel::sql_query(q).get_result::<N>(conn).unwrap().n;
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM listings"),
        2,
        "listed, then continued by the match"
    );
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM orders"), 1);
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM leases"),
        2,
        "running, then completed"
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM leases WHERE completed_at >= 0 AND used_blocks = 1"
        ),
        1
    );
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM settlements"), 1);
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM slashes"), 0);
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM protocol_boxes WHERE error IS NOT NULL"
        ),
        0
    );

    // The provider's counters, kept incrementally: two listing boxes (listed, continued by the
    // match), one lease, completed after 1 block of use, nothing slashed or disputed.
    let stats = |conn: &mut PgConnection, from: &str| {
        diesel::sql_query(format!(
            "SELECT coalesce(string_agg(concat_ws(',', encode(provider_pk, 'hex'), listings, leases, completed, \
             slashed, disputed, completed_blocks), ';' ORDER BY provider_pk), '') AS r FROM {from}"
        ))
        .get_result::<common::TextRow>(conn)
        .unwrap()
        .r
    };
    let kept = stats(&mut conn, "provider_stats");
    assert!(kept.ends_with(",2,1,1,0,0,1"), "provider_stats: {kept}");
    // After every rollback the kept counters equal a recount over what is left.
    for b in chain.iter().rev() {
        store.rollback(b.height(), &b.id(), &b.parent_id()).unwrap();
        assert_eq!(
            stats(&mut conn, "provider_stats"),
            stats(&mut conn, "provider_stats_delta(0, 2147483647)"),
            "counters after undoing block {}",
            b.height()
        );
    }
    assert!(
        dump(&db) == empty,
        "undoing every block leaves the database as it was"
    );
}

#[test]
fn a_bridged_deposit_path_joins_event_payment_and_conversion() {
    use ergo_lib::ergotree_interpreter::sigma_protocol::prover::ContextExtension;
    use ergo_lib::ergotree_ir::chain::address::{Address, AddressEncoder, NetworkPrefix};
    use ergo_lib::ergotree_ir::mir::constant::Constant;

    let c = Contracts::new(ProtocolParams::devnet_default()).unwrap();
    let deposit_tree = c.rosen_deposit(&pk("alice")).unwrap();
    let deposit_address = AddressEncoder::encode_address_as_string(
        NetworkPrefix::Mainnet,
        &Address::recreate_from_ergo_tree(&deposit_tree).unwrap(),
    );
    // EventTrigger-shaped box (Rosen's real register layout).
    let amount: u64 = 12_500_000;
    let event = dgcm_chain::rosen::RosenEvent {
        source_tx_id: "0xethsourcetx01".into(),
        from_chain: "ethereum".into(),
        to_chain: "ergo".into(),
        from_address: "0xAliceOnEthereum".into(),
        to_address: deposit_address.clone(),
        amount: amount as u128,
        bridge_fee: 2_000,
        network_fee: 1_000,
        source_token: "usdt-eth".into(),
        target_token: "rsUSDT".into(),
        source_block: "0xethblock".into(),
        source_height: 19_000_000,
    };
    let trigger_out = ergo_lib::ergotree_ir::chain::ergo_box::ErgoBoxCandidate {
        value: BoxValue::new(ERG).unwrap(),
        ergo_tree: p2pk_tree(&pk("rosen-watchers")),
        tokens: None,
        additional_registers: event.to_registers(vec![vec![0u8; 32]], vec![1u8; 32], 3),
        creation_height: H0,
    };
    let plain_input = |tag: &str| {
        Input::new(
            TxId::from(digest(tag)).0.into(),
            ProverResult {
                proof: vec![].into(),
                extension: ContextExtension::empty(),
            },
        )
    };
    let t_event = Transaction::new(
        vec![plain_input("w")].try_into().unwrap(),
        None,
        vec![trigger_out].try_into().unwrap(),
    )
    .unwrap();
    // The guards pay the destination: a box at Alice's deposit address.
    let payment_out = ergo_lib::ergotree_ir::chain::ergo_box::ErgoBoxCandidate {
        value: BoxValue::new(50_000_000).unwrap(),
        ergo_tree: deposit_tree.clone(),
        tokens: None,
        additional_registers: NonMandatoryRegisters::empty(),
        creation_height: H0 + 1,
    };
    let t_pay = Transaction::new(
        vec![plain_input("g")].try_into().unwrap(),
        None,
        vec![payment_out].try_into().unwrap(),
    )
    .unwrap();
    let paid = t_pay.outputs.first().clone();
    // A relay converts it (path 1).
    let mut ext = ContextExtension::empty();
    ext.values.insert(0, Constant::from(1i8));
    let sink = ergo_lib::ergotree_ir::chain::ergo_box::ErgoBoxCandidate {
        value: BoxValue::new(49_000_000).unwrap(),
        ergo_tree: p2pk_tree(&pk("relay")),
        tokens: None,
        additional_registers: NonMandatoryRegisters::empty(),
        creation_height: H0 + 2,
    };
    let t_convert = Transaction::new(
        vec![Input::new(
            paid.box_id(),
            ProverResult {
                proof: vec![].into(),
                extension: ext,
            },
        )]
        .try_into()
        .unwrap(),
        None,
        vec![sink].try_into().unwrap(),
    )
    .unwrap();

    let b1 = block(H0, BlockId(digest("before")), vec![t_event]);
    let b2 = block(H0 + 1, b1.id(), vec![t_pay]);
    let b3 = block(H0 + 2, b2.id(), vec![t_convert]);
    let chain: Vec<Arc<FullBlock>> = vec![Arc::new(b1), Arc::new(b2), Arc::new(b3)];
    let db = fresh_test_database().unwrap();
    let mut store = Store::connect(&db).unwrap();
    store
        .initialise(
            None,
            Cursor {
                height: H0 - 1,
                header_id: BlockId(digest("before")),
            },
        )
        .unwrap();
    let decoder = Decoder::new(Some(c.clone()));
    store
        .apply_many(&BlockRows::from_blocks(&chain, &decoder, 2))
        .unwrap();

    #[derive(QueryableByName, Debug)]
    struct P {
        #[diesel(sql_type = Text)]
        source_tx_id: String,
        #[diesel(sql_type = Text)]
        amount: String,
        #[diesel(sql_type = Text)]
        payment: String,
        #[diesel(sql_type = Text)]
        spent_by_path: String,
    }
    let mut conn = PgConnection::establish(&db).unwrap();
    let paths: Vec<P> = diesel::sql_query(
        "SELECT source_tx_id, amount, encode(payment_box_id, 'hex') AS payment, spent_by_path FROM rosen_paths",
    )
    .load(&mut conn)
    .unwrap();
    assert_eq!(paths.len(), 1, "{paths:?}");
    assert_eq!(paths[0].source_tx_id, "0xethsourcetx01");
    assert_eq!(paths[0].amount, amount.to_string());
    assert_eq!(paths[0].payment, hex::encode(paid.box_id().as_ref()));
    assert_eq!(paths[0].spent_by_path, "convert");
}

/// SQL that restates a protocol rule is checked against the one definition in the contracts
/// crate: the `protocol_paths` table equals `Kind::paths()` for every kind, row for row.
#[test]
fn the_sql_path_names_equal_the_contracts_crate() {
    #[derive(QueryableByName, Debug, PartialEq)]
    struct P {
        #[diesel(sql_type = Text)]
        kind: String,
        #[diesel(sql_type = diesel::sql_types::SmallInt)]
        path: i16,
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        executor: bool,
    }
    let db = fresh_test_database().unwrap();
    let _store = Store::connect(&db).unwrap(); // runs the migrations
    let mut conn = PgConnection::establish(&db).unwrap();
    let got: Vec<P> = diesel::sql_query(
        "SELECT kind, path, name, executor FROM protocol_paths ORDER BY kind, path",
    )
    .load(&mut conn)
    .unwrap();
    let mut want: Vec<P> = Kind::ALL
        .iter()
        .flat_map(|k| {
            k.paths().iter().map(|(sel, name, executor)| P {
                kind: k.name().to_string(),
                path: *sel as i16,
                name: name.to_string(),
                executor: *executor,
            })
        })
        .collect();
    want.sort_by(|a, b| (&a.kind, a.path).cmp(&(&b.kind, b.path)));
    assert_eq!(got, want);
}
