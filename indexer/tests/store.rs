//! The store against a real PostgreSQL: real mainnet blocks index without loss, undo is exact,
//! DGCM boxes that do not decode are recorded with the reason.

mod common;

use std::path::PathBuf;

use common::*;
use dgcm_chain::{Cursor, FullBlock};
use dgcm_contracts::{Contracts, Kind, ProtocolParams};
use dgcm_indexer::decode::Decoder;
use dgcm_indexer::pgcluster::fresh_test_database;
use dgcm_indexer::rows::BlockRows;
use dgcm_indexer::Store;
use ergo_lib::ergotree_ir::chain::ergo_box::ErgoBox;

fn testdata(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata")
        .join(rel)
}

fn mainnet_chain() -> Vec<FullBlock> {
    let mut files: Vec<_> = std::fs::read_dir(testdata("mainnet/chain-1-10"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .collect()
}

#[test]
fn mainnet_genesis_and_blocks_1_to_10_index_without_loss_and_undo_exactly() {
    let db = fresh_test_database().unwrap();
    let mut store = Store::connect(&db).unwrap();
    let decoder = Decoder::new(None);
    let genesis: Vec<ErgoBox> = serde_json::from_str(
        &std::fs::read_to_string(testdata("mainnet/genesis-boxes.json")).unwrap(),
    )
    .unwrap();
    store
        .initialise(
            Some(&BlockRows::from_genesis(&genesis, &decoder)),
            Cursor::genesis(),
        )
        .unwrap();
    let empty = dump(&db);
    let chain = mainnet_chain();
    let mut snapshots = vec![empty];
    for b in &chain {
        store.apply(&BlockRows::from_block(b, &decoder)).unwrap();
        snapshots.push(dump(&db));
    }
    let tables = dump(&db);
    let count = |t: &str| tables.iter().find(|(n, _)| n == t).unwrap().1.len();
    let outputs: usize = chain
        .iter()
        .flat_map(|b| b.transactions())
        .map(|t| t.outputs.len())
        .sum();
    let inputs: usize = chain
        .iter()
        .flat_map(|b| b.transactions())
        .map(|t| t.inputs.len())
        .sum();
    assert_eq!(count("headers"), 10);
    assert_eq!(
        count("transactions"),
        chain.iter().map(|b| b.transactions().len()).sum::<usize>()
    );
    assert_eq!(count("boxes"), 3 + outputs, "every genesis box and output");
    assert_eq!(count("inputs"), inputs);
    let spent = tables
        .iter()
        .find(|(n, _)| n == "boxes")
        .unwrap()
        .1
        .iter()
        .filter(|r| !r.contains("\"spent_height\":null"))
        .count();
    assert_eq!(
        spent, inputs,
        "every input marks exactly one indexed box spent"
    );
    assert_eq!(store.cursor().unwrap().unwrap().height, 10);

    // Undo block by block: the database goes back through every earlier state exactly.
    for (i, b) in chain.iter().enumerate().rev() {
        store.rollback(b.height(), &b.id(), &b.parent_id()).unwrap();
        assert!(
            dump(&db) == snapshots[i],
            "state after undoing block {}",
            b.height()
        );
    }
    // A block that does not extend the cursor is refused, nothing written.
    assert!(store
        .apply(&BlockRows::from_block(&chain[1], &decoder))
        .is_err());
    assert!(dump(&db) == snapshots[0]);
}

#[test]
fn mainnet_blocks_far_from_genesis_index_from_height() {
    let db = fresh_test_database().unwrap();
    let mut store = Store::connect(&db).unwrap();
    let decoder = Decoder::new(None);
    let text =
        std::fs::read_to_string(testdata("mainnet/blocks/0693479_b17847c0c523660b.json")).unwrap();
    let b: FullBlock = serde_json::from_str(&text).unwrap();
    store
        .initialise(
            None,
            Cursor {
                height: b.height() - 1,
                header_id: b.parent_id(),
            },
        )
        .unwrap();
    store.apply(&BlockRows::from_block(&b, &decoder)).unwrap();
    let tables = dump(&db);
    let count = |t: &str| tables.iter().find(|(n, _)| n == t).unwrap().1.len();
    assert_eq!(count("transactions"), 15);
    assert_eq!(count("boxes"), 69);
    assert_eq!(count("inputs"), 39, "inputs of boxes we never saw are kept");
    assert!(count("registers") > 0 && count("assets") > 0);
}

#[test]
fn dgcm_boxes_that_do_not_decode_are_recorded_with_the_reason() {
    let contracts = Contracts::new(ProtocolParams::devnet_default()).unwrap();
    let decoder = Decoder::new(Some(contracts.clone()));
    // A box guarded by the listing script but with no NFT and no registers.
    let garbage = ErgoBox::new(
        ergo_lib::ergotree_ir::chain::ergo_box::box_value::BoxValue::new(1_000_000_000).unwrap(),
        contracts.tree(Kind::Listing).clone(),
        None,
        ergo_lib::ergotree_ir::chain::ergo_box::NonMandatoryRegisters::empty(),
        5,
        ergo_lib::chain::transaction::TxId::zero(),
        0,
    )
    .unwrap();
    let rows = BlockRows::from_genesis(std::slice::from_ref(&garbage), &decoder);
    assert_eq!(rows.protocol.len(), 1);
    assert_eq!(rows.protocol[0].kind, "listing");
    assert!(rows.protocol[0].decoded.is_none());
    let reason = rows.protocol[0].error.clone().unwrap();
    assert!(reason.contains("listing"), "{reason}");
    assert!(rows.listings.is_empty());

    let db = fresh_test_database().unwrap();
    let mut store = Store::connect(&db).unwrap();
    store.initialise(Some(&rows), Cursor::genesis()).unwrap();
    let t = dump(&db);
    let pb = &t.iter().find(|(n, _)| n == "protocol_boxes").unwrap().1;
    assert_eq!(pb.len(), 1);
    assert!(pb[0].contains("\"error\":\"listing"), "{}", pb[0]);
}
