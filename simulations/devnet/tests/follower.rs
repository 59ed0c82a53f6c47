//! The chain follower against the devnet over HTTP: exact RollBackward/RollForward sequences for
//! rollbacks of depth 1, 3 and 10, resuming from a stored cursor, and the mempool view.

mod common;

use std::time::Duration;

use common::*;
use dgcm_chain::{
    ChainEvent, Cursor, Follower, FollowerConfig, MempoolEvent, MempoolWatcher, NodeClient,
};
use dgcm_devnet::genesis::ERG;
use ergo_lib::ergo_chain_types::BlockId;

fn config() -> FollowerConfig {
    FollowerConfig {
        poll_interval: Duration::from_millis(20),
        batch: 4,
        ..Default::default()
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Ev {
    Fwd(u32, BlockId),
    Back(u32, BlockId),
}

/// Drain the follower until it reports the tip.
async fn drain(f: &mut Follower) -> Vec<Ev> {
    let mut out = Vec::new();
    while let Some(ev) = f.poll().await.expect("follower step") {
        out.push(match ev {
            ChainEvent::RollForward(b) => Ev::Fwd(b.height(), b.id()),
            ChainEvent::RollBackward(b) => Ev::Back(b.height(), b.id()),
        });
    }
    out
}

async fn best_ids(node: &NodeClient, from: u32, to: u32) -> Vec<BlockId> {
    let mut ids = Vec::new();
    for h in from..=to {
        ids.push(node.block_ids_at(h).await.unwrap()[0]);
    }
    ids
}

async fn rollback_sequence(depth: u32) {
    let (dn, node) = devnet().await;
    let url = dn.url();
    let mut f = Follower::new(node.clone(), config(), Cursor::genesis());
    mine(&url, 12).await;
    let first = drain(&mut f).await;
    let ids = best_ids(&node, 1, 12).await;
    assert_eq!(
        first,
        ids.iter()
            .enumerate()
            .map(|(i, id)| Ev::Fwd(i as u32 + 1, *id))
            .collect::<Vec<_>>()
    );

    rollback(&url, depth).await;
    mine(&url, depth + 1).await;
    let events = drain(&mut f).await;
    let new_ids = best_ids(&node, 12 - depth + 1, 13).await;
    let mut expected: Vec<Ev> = (0..depth)
        .map(|k| Ev::Back(12 - k, ids[(11 - k) as usize]))
        .collect();
    expected.extend(
        new_ids
            .iter()
            .enumerate()
            .map(|(i, id)| Ev::Fwd(12 - depth + 1 + i as u32, *id)),
    );
    assert_eq!(events, expected, "depth {depth}");
    assert_eq!(f.cursor().height, 13);
    assert_eq!(f.cursor().header_id, new_ids[new_ids.len() - 1]);
    dn.stop().await;
}

#[tokio::test]
async fn follower_rollback_depth_1() {
    rollback_sequence(1).await;
}

#[tokio::test]
async fn follower_rollback_depth_3() {
    rollback_sequence(3).await;
}

#[tokio::test]
async fn follower_rollback_depth_10() {
    rollback_sequence(10).await;
}

#[tokio::test]
async fn follower_rollback_to_a_shorter_chain() {
    // The replacement chain is shorter than the old one: the follower must still roll back.
    let (dn, node) = devnet().await;
    let url = dn.url();
    let mut f = Follower::new(node.clone(), config(), Cursor::genesis());
    mine(&url, 6).await;
    let ids = best_ids(&node, 1, 6).await;
    drain(&mut f).await;
    rollback(&url, 3).await;
    mine(&url, 1).await;
    let new4 = node.block_ids_at(4).await.unwrap()[0];
    let events = drain(&mut f).await;
    assert_eq!(
        events,
        vec![
            Ev::Back(6, ids[5]),
            Ev::Back(5, ids[4]),
            Ev::Back(4, ids[3]),
            Ev::Fwd(4, new4)
        ]
    );
    dn.stop().await;
}

#[tokio::test]
async fn follower_resumes_from_stored_cursor() {
    let (dn, node) = devnet().await;
    let url = dn.url();
    mine(&url, 8).await;
    let mut f = Follower::new(node.clone(), config(), Cursor::genesis());
    assert_eq!(drain(&mut f).await.len(), 8);
    let stored = f.cursor();
    drop(f);

    // Nothing changed: a new follower from the cursor only sees new blocks.
    mine(&url, 2).await;
    let mut f = Follower::new(node.clone(), config(), stored);
    let ids = best_ids(&node, 9, 10).await;
    assert_eq!(
        drain(&mut f).await,
        vec![Ev::Fwd(9, ids[0]), Ev::Fwd(10, ids[1])]
    );
    let stored = f.cursor();
    drop(f);

    // While it was away, the chain forked below the cursor: the fresh follower (no cache) fetches
    // the orphaned blocks by id and rolls them back first.
    let old = best_ids(&node, 8, 10).await;
    rollback(&url, 3).await;
    mine(&url, 4).await;
    let new = best_ids(&node, 8, 11).await;
    let mut f = Follower::new(node.clone(), config(), stored);
    let mut expected = vec![
        Ev::Back(10, old[2]),
        Ev::Back(9, old[1]),
        Ev::Back(8, old[0]),
    ];
    expected.extend(
        new.iter()
            .enumerate()
            .map(|(i, id)| Ev::Fwd(8 + i as u32, *id)),
    );
    assert_eq!(drain(&mut f).await, expected);

    // Starting at a height works too.
    let mut f = Follower::from_height(node.clone(), config(), 10)
        .await
        .unwrap();
    let tail = best_ids(&node, 10, 11).await;
    assert_eq!(
        drain(&mut f).await,
        vec![Ev::Fwd(10, tail[0]), Ev::Fwd(11, tail[1])]
    );
    dn.stop().await;
}

#[tokio::test]
async fn follower_stream_and_blocks_carry_transactions() {
    use futures::StreamExt;
    let (dn, node) = devnet().await;
    let d = dn.devnet.clone();
    let tx = transfer(&d, 0, boxes_of(&d, 0), &wallet(&d, 1).tree, ERG);
    node.submit_transaction(&tx).await.unwrap();
    mine(&dn.url(), 1).await;
    let mut stream =
        Box::pin(Follower::new(node.clone(), config(), Cursor::genesis()).into_stream());
    let ev = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    match ev {
        ChainEvent::RollForward(b) => {
            assert_eq!(b.height(), 1);
            assert_eq!(b.transactions()[0].id(), tx.id());
            assert_eq!(
                b.transactions()[0].outputs.first().box_id(),
                tx.outputs.first().box_id()
            );
        }
        other => panic!("expected RollForward, got {other:?}"),
    }
    dn.stop().await;
}

#[tokio::test]
async fn mempool_watcher_reports_accepted_and_withdrawn() {
    let (dn, node) = devnet().await;
    let d = dn.devnet.clone();
    let mut w = MempoolWatcher::new(node.clone());
    assert!(w.poll().await.unwrap().is_empty());
    let tx = transfer(&d, 0, boxes_of(&d, 0), &wallet(&d, 1).tree, ERG);
    node.submit_transaction(&tx).await.unwrap();
    let evs = w.poll().await.unwrap();
    assert!(matches!(evs.as_slice(), [MempoolEvent::Accepted(t)] if t.id() == tx.id()));
    assert!(w.poll().await.unwrap().is_empty(), "no change, no event");
    mine(&dn.url(), 1).await;
    let evs = w.poll().await.unwrap();
    assert!(matches!(evs.as_slice(), [MempoolEvent::Withdrawn(id)] if *id == tx.id()));
    dn.stop().await;
}
