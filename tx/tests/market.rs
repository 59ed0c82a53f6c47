//! Listing, order and lease actions on the devnet, each submitted and mined: Bob lists one GPU at
//! 1 GPUC/hour with collateral, Alice orders one hour with her job; leases are then completed,
//! accepted, disputed, cancelled together, finalised and slashed.

mod common;

use dgcm_contracts::arbitration::Arbitration;
use dgcm_contracts::lease::Lease;
use dgcm_contracts::listing::Listing;
use dgcm_contracts::order::Order;
use dgcm_contracts::Typed;
use dgcm_tx::{ListingSpec, ListingUpdate, OrderSpec, TxError};
use ergo_lib::ergotree_ir::chain::token::TokenId;

fn bob_listing() -> ListingSpec {
    ListingSpec {
        price_per_hour: 1_000,
        collateral_per_hour: 500,
        max_hours: 8,
        vram_mib: 24_576,
        benchmark_score: 9_000,
        model: "RTX 4090".into(),
        region: "eu-west".into(),
        endpoint: "https://bob.example:8443".into(),
        ..ListingSpec::default()
    }
}

fn alice_order(listing_nft: TokenId, job: u8) -> OrderSpec {
    OrderSpec {
        max_price_per_hour: 1_000,
        hours: 1,
        listing_nft: Some(listing_nft),
        job_spec_hash: vec![job; 32],
        ..OrderSpec::default()
    }
}

#[tokio::test]
async fn white_paper_flows_list_order_and_every_lease_path() {
    let net = common::net().await;
    let (alice, bob, carol) = (net.wallet(0), net.wallet(1), net.wallet(2));
    alice.deposit_sigusd_for_gpuc(2000, 10_000).await.unwrap();
    bob.deposit_sigusd_for_gpuc(1000, 5_000).await.unwrap();
    net.mine(1).await;

    // Bob lists one GPU at 1 GPUC/hour with 0.5 GPUC/hour collateral (stake: 8 hours' worth).
    let listed = bob.list_gpu(bob_listing()).await.unwrap();
    assert_eq!(listed.kind, Some("listing"));
    net.mine(1).await;
    let mut listing = listed.box_id().unwrap();
    let l: Typed<Listing> = bob.planner.protocol_box("listing", &listing).await.unwrap();
    assert_eq!(l.v.provider, *bob.pk());
    assert_eq!(l.v.stake, 4_000);
    assert_eq!(l.v.terms.price_per_hour, 1_000);
    assert_eq!(
        bob.gpuc_balance().await.unwrap(),
        1_000,
        "5 GPUC − 4 staked"
    );
    let nft = l.v.nft;
    assert_eq!(
        listed.minted_token,
        Some(hex::encode(nft.as_ref())),
        "the listing NFT"
    );

    // update: a better benchmark, stake stays
    let up = bob
        .update_listing(
            &listing,
            ListingUpdate {
                benchmark_score: Some(9_500),
                ..ListingUpdate::default()
            },
        )
        .await
        .unwrap();
    net.mine(1).await;
    listing = up.box_id().unwrap();
    let l: Typed<Listing> = bob.planner.protocol_box("listing", &listing).await.unwrap();
    assert_eq!(
        (l.v.terms.benchmark_score, l.v.nft, l.v.stake),
        (9_500, nft, 4_000)
    );
    // Alice may not touch it
    let e = alice.withdraw_listing(&listing).await.unwrap_err();
    assert!(
        matches!(
            e,
            TxError::Box {
                field: "listing",
                ..
            }
        ),
        "{e}"
    );

    // Alice orders one hour with her job, five times (five leases), and cancels a sixth.
    let mut orders = vec![];
    for job in 1..=6u8 {
        let o = alice.place_order(alice_order(nft, job)).await.unwrap();
        assert_eq!(o.kind, Some("order"));
        orders.push(o.box_id().unwrap());
    }
    net.mine(1).await;
    let o: Typed<Order> = alice
        .planner
        .protocol_box("order", &orders[0])
        .await
        .unwrap();
    assert_eq!((o.v.budget, o.v.terms.hours), (1_000, 1));
    assert_eq!(o.v.job_spec_hash, vec![1u8; 32]);
    assert_eq!(
        alice.gpuc_balance().await.unwrap(),
        4_000,
        "6 GPUC in orders"
    );
    alice.cancel_order(&orders[5]).await.unwrap();
    net.mine(1).await;
    assert_eq!(
        alice.gpuc_balance().await.unwrap(),
        5_000,
        "cancelled budget back"
    );

    // The matcher (played by Carol here) turns orders into leases. A match makes the listing
    // busy until its lease's deadline (a second match is refused); Bob, serving the five leases
    // at once here, frees it after each (`update-listing --free`, his own path).
    let mut leases = vec![];
    for o in &orders[..5] {
        let (lease, next) = common::matched(&carol, o, &listing).await;
        leases.push(lease);
        let busy: Typed<Listing> = bob.planner.protocol_box("listing", &next).await.unwrap();
        assert!(busy.v.busy_until.is_some(), "busy after the match");
        let freed = bob
            .update_listing(
                &next,
                ListingUpdate {
                    free: true,
                    ..ListingUpdate::default()
                },
            )
            .await
            .unwrap();
        listing = freed.box_id().unwrap();
    }
    net.mine(1).await;
    let lease: Typed<Lease> = alice
        .planner
        .protocol_box("lease", &leases[0])
        .await
        .unwrap();
    assert_eq!(
        (lease.v.amount, lease.v.consumer.clone()),
        (1_500, alice.pk().clone())
    );

    // Only the provider completes (an hour later: v2 takes no more blocks than have passed).
    net.mine(30).await;
    let e = alice.complete(&leases[0], 30, [7; 32]).await.unwrap_err();
    assert!(e.to_string().contains("not the provider"), "{e}");
    let mut completed = vec![];
    for l in &leases[..3] {
        let c = bob.complete(l, 30, [7; 32]).await.unwrap();
        assert_eq!(c.kind, Some("lease"));
        completed.push(c.box_id().unwrap());
    }
    net.mine(1).await;
    let done: Typed<Lease> = bob
        .planner
        .protocol_box("lease", &completed[0])
        .await
        .unwrap();
    assert_eq!(done.v.terms.used_blocks, 30);
    assert_eq!(done.v.usage_commitment, vec![7u8; 32]);

    // accept: Bob +1 GPUC pay + 0.5 collateral back
    let bob_before = bob.gpuc_balance().await.unwrap();
    alice.accept(&completed[0]).await.unwrap();
    // dispute: an arbitration box
    let d = alice.dispute(&completed[1]).await.unwrap();
    assert_eq!(d.kind, Some("arbitration"));
    // cancel together: 0.2 GPUC to Bob, the rest back to Alice
    let e = alice
        .cancel_lease(&leases[3], 200, &carol)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            TxError::Input {
                field: "counterparty-key",
                ..
            }
        ),
        "{e}"
    );
    alice.cancel_lease(&leases[3], 200, &bob).await.unwrap();
    net.mine(1).await;
    assert_eq!(net.mempool_len().await, 0, "all mined");
    assert_eq!(bob.gpuc_balance().await.unwrap(), bob_before + 1_500 + 200);
    let arb_id = d.box_id().unwrap();
    let arb: Typed<Arbitration> = alice
        .planner
        .protocol_box("arbitration", &arb_id)
        .await
        .unwrap();
    assert_eq!(arb.v.amount, 1_500);
    let e = carol
        .arbitration_timeout(&arb_id)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("not timed out"), "{e}");

    // finalise (anyone) after the challenge window
    let e = carol.finalise(&completed[2]).await.unwrap_err().to_string();
    assert!(e.contains("challenge window"), "{e}");
    // The challenge window starts at completedAt = completion height + COMPLETION_SLACK.
    net.mine(61 + dgcm_contracts::build::COMPLETION_SLACK).await;
    let bob_before = bob.gpuc_balance().await.unwrap();
    carol.finalise(&completed[2]).await.unwrap();
    net.mine(1).await;
    assert_eq!(bob.gpuc_balance().await.unwrap(), bob_before + 1_500);

    // slash (anyone) after the deadline: Alice gets payment and collateral slice
    let l5: Typed<Lease> = carol
        .planner
        .protocol_box("lease", &leases[4])
        .await
        .unwrap();
    let now = net.height().await as i64;
    if l5.v.terms.deadline >= now {
        net.mine((l5.v.terms.deadline - now + 1) as u32).await;
    }
    let alice_before = alice.gpuc_balance().await.unwrap();
    carol.slash(&leases[4]).await.unwrap();
    net.mine(1).await;
    assert_eq!(alice.gpuc_balance().await.unwrap(), alice_before + 1_500);

    // the arbitration times out without a decision (anyone): payment back to Alice, collateral
    // back to Bob
    let now = net.height().await as i64;
    net.mine((arb.v.timeout - now + 1) as u32).await;
    let (alice_before, bob_before) = (
        alice.gpuc_balance().await.unwrap(),
        bob.gpuc_balance().await.unwrap(),
    );
    carol.arbitration_timeout(&arb_id).await.unwrap();
    net.mine(1).await;
    assert_eq!(alice.gpuc_balance().await.unwrap(), alice_before + 1_000);
    assert_eq!(bob.gpuc_balance().await.unwrap(), bob_before + 500);

    // Bob closes his listing: stake back, NFT burnt
    let bob_before = bob.gpuc_balance().await.unwrap();
    let stake = bob
        .planner
        .protocol_box::<Listing>("listing", &listing)
        .await
        .unwrap()
        .v
        .stake;
    bob.withdraw_listing(&listing).await.unwrap();
    net.mine(1).await;
    assert_eq!(bob.gpuc_balance().await.unwrap(), bob_before + stake);
    assert_eq!(bob.token_balance(&nft).await.unwrap(), 0, "NFT burnt");
    assert_eq!(net.mempool_len().await, 0);
    net.stop().await;
}
