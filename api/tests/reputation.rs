//! Reputation from chain history in the listing search (`sort=reputation`, `min_reputation`)
//! and the provider profile, over providers with different histories built with the
//! dgcm-contracts builders: `alpha` completed a lease (two listings), `beta` was slashed, `gamma`
//! has no leases yet.

mod common;

use common::*;
use dgcm_contracts::build;
use dgcm_contracts::lease::Lease;
use dgcm_contracts::listing::{Listing, ListingTerms};
use dgcm_contracts::order::{Order, OrderTerms};
use dgcm_contracts::{Contracts, Executor, Kind, ProtocolParams, Typed};
use ergo_lib::chain::transaction::Transaction;
use ergo_lib::ergotree_ir::chain::ergo_box::ErgoBox;
use ergo_lib::ergotree_ir::chain::token::TokenId;
use serde_json::Value;

const H0: u32 = 1000;

fn listing(nft: TokenId, provider: &str, model: &str, price: i64) -> Listing {
    Listing {
        value: 2_000_000,
        nft,
        stake: 10_000,
        provider: pk(provider),
        terms: ListingTerms {
            price_per_hour: price,
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
        model: model.into(),
        region: "eu-west".into(),
        endpoint: format!("https://{provider}.example:8443"),
        busy_until: None,
    }
}

fn order(consumer: &str, nft: TokenId) -> Order {
    Order {
        value: 10_000_000,
        budget: 2500,
        consumer: pk(consumer),
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
    }
}

/// Lists `l` from a funding box of its own; returns the transaction.
fn list(c: &Contracts, l: &Listing, funding: &Executor) -> Transaction {
    tx(&build::list_listing(c, l, H0, funding).unwrap())
}

/// Places an order on `nft` and matches it at H0 + 1: (order tx, match tx, lease).
fn lease_on(
    c: &Contracts,
    consumer: &str,
    nft: TokenId,
    listing_box: &ErgoBox,
) -> (Transaction, Transaction, Typed<Lease>) {
    let gpuc = c.params.gpuc_id;
    let t_order = tx(&build::place_order(
        c,
        &order(consumer, nft),
        H0,
        &exec(consumer, 20 * ERG, &[(gpuc, 2500)]),
    )
    .unwrap());
    let o_box = output_of(&t_order, c, Kind::Order);
    let t_match = tx(&build::match_order(
        c,
        &Typed::parse(c, o_box).unwrap(),
        &Typed::parse(c, listing_box.clone()).unwrap(),
        H0 + 1,
        &exec(&format!("matcher/{consumer}"), ERG, &[]),
    )
    .unwrap());
    let lease = Typed::parse(c, output_of(&t_match, c, Kind::Lease)).unwrap();
    (t_order, t_match, lease)
}

fn world() -> String {
    let c = Contracts::new(ProtocolParams::devnet_default()).unwrap();
    let gpuc = c.params.gpuc_id;
    let funding = |tag: &str, erg: u64| exec(tag, erg * ERG, &[(gpuc, 10_000)]);
    let (fa1, fa2, fb, fg) = (
        funding("alpha", 10),
        funding("alpha", 11),
        funding("beta", 10),
        funding("gamma", 10),
    );
    let nft = |e: &Executor| -> TokenId { e.funding[0].box_id().into() };
    let t_a1 = list(&c, &listing(nft(&fa1), "alpha", "RTX 4090", 1000), &fa1);
    let t_a2 = list(&c, &listing(nft(&fa2), "alpha", "RTX 3090", 800), &fa2);
    let t_b = list(&c, &listing(nft(&fb), "beta", "RTX 4090", 900), &fb);
    let t_g = list(&c, &listing(nft(&fg), "gamma", "RTX 4090", 1100), &fg);

    // alpha completes and is finalised; beta lets the deadline pass and is slashed.
    let (o_a, m_a, lease_a) = lease_on(
        &c,
        "consumer-a",
        nft(&fa1),
        &output_of(&t_a1, &c, Kind::Listing),
    );
    let (o_b, m_b, lease_b) = lease_on(
        &c,
        "consumer-b",
        nft(&fb),
        &output_of(&t_b, &c, Kind::Listing),
    );
    let t_complete = tx(&build::complete(
        &c,
        &lease_a,
        1, // v2: no more blocks than have passed since the start
        [0xcd; 32],
        H0 + 2,
        &exec("alpha-fees", ERG, &[]),
    )
    .unwrap());
    let done: Typed<Lease> = Typed::parse(&c, output_of(&t_complete, &c, Kind::Lease)).unwrap();
    let settle_at = H0 + 2 + c.params.challenge_window as u32 + 1;
    let t_final = tx(&build::finalise(&c, &done, settle_at, &exec("settler", ERG, &[])).unwrap());
    let slash_at = lease_b.v.terms.deadline as u32 + 1;
    assert_ne!(slash_at, settle_at);
    let t_slash = tx(&build::slash(&c, &lease_b, slash_at, &exec("slasher", ERG, &[])).unwrap());

    let blocks = (H0..=settle_at.max(slash_at))
        .map(|h| match h {
            x if x == H0 => vec![t_a1.clone(), t_a2.clone(), t_b.clone(), t_g.clone()]
                .into_iter()
                .chain([o_a.clone(), o_b.clone()])
                .collect(),
            x if x == H0 + 1 => vec![m_a.clone(), m_b.clone()],
            x if x == H0 + 2 => vec![t_complete.clone()],
            x if x == settle_at => vec![t_final.clone()],
            x if x == slash_at => vec![t_slash.clone()],
            _ => vec![],
        })
        .collect();
    let (db, _) = index_chain(H0, blocks, c);
    db
}

fn items(v: &Value) -> Vec<Value> {
    v["items"].as_array().unwrap().clone()
}

/// (provider, model) of each item.
fn who(v: &[Value]) -> Vec<(String, String)> {
    let names = [
        ("alpha", address("alpha")),
        ("beta", address("beta")),
        ("gamma", address("gamma")),
    ];
    v.iter()
        .map(|l| {
            let a = l["provider_address"].as_str().unwrap();
            let n = names.iter().find(|(_, x)| x == a).unwrap().0;
            (n.to_string(), l["model"].as_str().unwrap().to_string())
        })
        .collect()
}

/// `state=` gives exactly the leases whose computed state it is (each state's filter is
/// rewritten as index-friendly conditions; they must agree with the state column). Returns the
/// states that have leases.
async fn assert_state_filters(api: &Api) -> std::collections::BTreeSet<&'static str> {
    let all = items(&api.ok("/api/v1/leases?limit=1000").await);
    // The current states restate the contracts crate's phase for the next block.
    let tip = api.ok("/api/v1/status").await["height"].as_i64().unwrap();
    for l in &all {
        let n = |k: &str| l[k].as_i64().unwrap();
        let terms = dgcm_contracts::lease::LeaseTerms {
            price_per_hour: n("price_per_hour"),
            hours: n("hours"),
            payment: n("payment"),
            collateral: n("collateral"),
            start: n("start_height"),
            deadline: n("deadline"),
            exec_fee_cap: n("exec_fee_cap"),
            used_blocks: n("used_blocks"),
            completed_at: n("completed_at"),
        };
        use dgcm_contracts::lease::LeasePhase::*;
        let want = match terms.phase(tip as u32 + 1, 60) {
            Running => "running",
            Overdue => "overdue",
            Challengeable | Finalisable => "completed",
        };
        if ["running", "overdue", "completed"].contains(&l["state"].as_str().unwrap()) {
            assert_eq!(l["state"], want, "the SQL state of {l} against phase()");
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for state in dgcm_api::queries::LEASE_STATES {
        let want: Vec<&Value> = all.iter().filter(|l| l["state"] == *state).collect();
        let got = items(
            &api.ok(&format!("/api/v1/leases?state={state}&limit=1000"))
                .await,
        );
        assert_eq!(got.iter().collect::<Vec<_>>(), want, "state={state}");
        if !want.is_empty() {
            seen.insert(*state);
        }
    }
    seen
}

/// Three leases matched at H0 + 1: delta's completed at H0 + 2, epsilon's left alone, zeta's
/// slashed after the deadline when `past_deadline`. Indexed up to H0 + 2, or to the slash.
fn lease_states_world(past_deadline: bool) -> (String, dgcm_indexer::Store) {
    let c = Contracts::new(ProtocolParams::devnet_default()).unwrap();
    let gpuc = c.params.gpuc_id;
    let mut first = Vec::new();
    let mut matches = Vec::new();
    let mut leases = Vec::new();
    for p in ["delta", "epsilon", "zeta"] {
        let f = exec(p, 10 * ERG, &[(gpuc, 10_000)]);
        let nft: TokenId = f.funding[0].box_id().into();
        let t_list = list(&c, &listing(nft, p, "RTX 4090", 1000), &f);
        let (o, m, lease) = lease_on(
            &c,
            &format!("consumer-{p}"),
            nft,
            &output_of(&t_list, &c, Kind::Listing),
        );
        first.extend([t_list, o]);
        matches.push(m);
        leases.push(lease);
    }
    let t_complete = tx(&build::complete(
        &c,
        &leases[0],
        1,
        [0xcd; 32],
        H0 + 2,
        &exec("delta-fees", ERG, &[]),
    )
    .unwrap());
    let slash_at = leases[2].v.terms.deadline as u32 + 1;
    let t_slash = tx(&build::slash(&c, &leases[2], slash_at, &exec("slasher", ERG, &[])).unwrap());
    let last = if past_deadline { slash_at } else { H0 + 2 };
    let blocks = (H0..=last)
        .map(|h| match h {
            x if x == H0 => first.clone(),
            x if x == H0 + 1 => matches.clone(),
            x if x == H0 + 2 => vec![t_complete.clone()],
            x if x == slash_at => vec![t_slash.clone()],
            _ => vec![],
        })
        .collect();
    index_chain(H0, blocks, c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_state_filters_agree_with_the_state_column() {
    for (past_deadline, want) in [
        (false, vec!["completed", "running"]),
        (true, vec!["completed", "overdue", "slashed"]),
    ] {
        let (db, mut store) =
            tokio::task::spawn_blocking(move || lease_states_world(past_deadline))
                .await
                .unwrap();
        let api = Api::start(&db);
        let seen = assert_state_filters(&api).await;
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), want);
        if !past_deadline {
            // Market stats are kept per block: undoing delta's completion (the tip) must show
            // its lease running again, not the cached figure.
            let stats = api.ok("/api/v1/market/stats").await;
            assert_eq!(
                (stats["listings"].clone(), stats["leased"].clone()),
                (3.into(), 2.into())
            );
            let db2 = db.clone();
            let store = tokio::task::spawn_blocking(move || {
                undo_tip(&db2, &mut store);
                store
            })
            .await
            .unwrap();
            let stats = api.ok("/api/v1/market/stats").await;
            assert_eq!(stats["leased"], 3, "{stats}");
            drop(store);
        }
    }
}

/// Every item of `query`, following `next_cursor` page by page.
async fn all_pages(api: &Api, query: &str) -> (Vec<Value>, usize) {
    let mut out = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("/api/v1/listings?{query}&cursor={c}"),
            None => format!("/api/v1/listings?{query}"),
        };
        let v = api.ok(&q).await;
        pages += 1;
        out.extend(items(&v));
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return (out, pages),
        }
        assert!(pages < 20, "pagination does not end");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_sort_and_filter_on_reputation_from_chain_history() {
    let db = tokio::task::spawn_blocking(world).await.unwrap();
    let api = Api::start(&db);
    let (good, bad, neutral) = (2.0 / 3.0, 1.0 / 3.0, 0.5);

    // The provider profile: counts and the score.
    for (p, leases, completed, slashed, score) in [
        ("alpha", 1, 1, 0, good),
        ("beta", 1, 0, 1, bad),
        ("gamma", 0, 0, 0, neutral),
    ] {
        let v = api.ok(&format!("/api/v1/providers/{}", address(p))).await;
        let r = &v["reputation"];
        assert_eq!(r["leases"], leases, "{p}: {v}");
        assert_eq!(r["completed"], completed, "{p}: {v}");
        assert_eq!(r["slashed"], slashed, "{p}: {v}");
        assert_eq!(r["score"], score, "{p}: {v}");
        // Its listings carry the same score.
        for l in v["listings"].as_array().unwrap() {
            assert_eq!(l["reputation"], score, "{p}: {l}");
        }
    }
    let gamma = api
        .ok(&format!("/api/v1/providers/{}", address("gamma")))
        .await;
    assert!(gamma["reputation"]["on_time_rate"].is_null());

    // sort=reputation: highest first, ties by provider, then box id (desc): alpha's two listings.
    let v = api.ok("/api/v1/listings?sort=reputation").await;
    let list = items(&v);
    let s = |p: &str, m: &str| (p.to_string(), m.to_string());
    let w = who(&list);
    assert_eq!(w.len(), 4, "{v}");
    assert_eq!(
        (&w[0].0, &w[1].0),
        (&"alpha".to_string(), &"alpha".to_string())
    );
    assert_eq!(w[2..], [s("gamma", "RTX 4090"), s("beta", "RTX 4090")]);
    assert!(
        list[0]["box_id"].as_str().unwrap() > list[1]["box_id"].as_str().unwrap(),
        "ties by box id, descending"
    );
    let reps: Vec<f64> = list
        .iter()
        .map(|l| l["reputation"].as_f64().unwrap())
        .collect();
    assert_eq!(reps, vec![good, good, neutral, bad]);
    assert!(v["next_cursor"].is_null());

    // Every other sort reports the same scores (computed for the page only).
    let by_price = items(&api.ok("/api/v1/listings").await);
    assert_eq!(
        who(&by_price),
        vec![
            s("alpha", "RTX 3090"),
            s("beta", "RTX 4090"),
            s("alpha", "RTX 4090"),
            s("gamma", "RTX 4090")
        ]
    );
    let prices: Vec<f64> = by_price
        .iter()
        .map(|l| l["reputation"].as_f64().unwrap())
        .collect();
    assert_eq!(prices, vec![good, bad, good, neutral]);
    let nft = list[0]["listing_nft"].as_str().unwrap();
    let detail = api.ok(&format!("/api/v1/listings/{nft}")).await;
    assert_eq!(detail["current"]["reputation"], good);

    let seen = assert_state_filters(&api).await;
    assert!(
        seen.contains("settled") && seen.contains("slashed"),
        "{seen:?}"
    );

    // Pagination across pages, for sizes that do and do not divide the result.
    for limit in [1, 2, 3] {
        let (paged, pages) = all_pages(&api, &format!("sort=reputation&limit={limit}")).await;
        assert_eq!(paged, list, "limit={limit}");
        assert_eq!(pages, 4 / limit + 1, "limit={limit}");
    }

    // min_reputation, with the reputation sort and with another.
    for (q, want) in [
        ("min_reputation=0", 4),
        ("min_reputation=0.5", 3),
        ("min_reputation=0.6", 2),
        ("min_reputation=0.66", 2),
        ("min_reputation=0.7", 0),
        ("min_reputation=1", 0),
    ] {
        let r = items(
            &api.ok(&format!("/api/v1/listings?sort=reputation&{q}"))
                .await,
        );
        assert_eq!(r, list[..want], "{q}");
    }
    let (filtered, pages) = all_pages(&api, "min_reputation=0.5&limit=1").await;
    assert_eq!(pages, 4);
    assert_eq!(
        who(&filtered),
        vec![
            s("alpha", "RTX 3090"),
            s("alpha", "RTX 4090"),
            s("gamma", "RTX 4090")
        ],
        "by price, beta's slashed lease filtered out"
    );
    let (mixed, _) = all_pages(
        &api,
        "sort=reputation&min_reputation=0.4&model=RTX%204090&limit=1",
    )
    .await;
    assert_eq!(
        who(&mixed),
        vec![s("alpha", "RTX 4090"), s("gamma", "RTX 4090")]
    );

    // Bad inputs.
    for bad in ["2", "-1", "abc", "1.01", "NaN", ""] {
        api.bad(
            &format!("/api/v1/listings?min_reputation={bad}"),
            "min_reputation",
        )
        .await;
    }
    api.bad("/api/v1/listings?sort=rep", "sort").await;
    let price_cursor = api.ok("/api/v1/listings?limit=1").await["next_cursor"]
        .as_str()
        .unwrap()
        .to_string();
    api.bad(
        &format!("/api/v1/listings?sort=reputation&cursor={price_cursor}"),
        "cursor",
    )
    .await;

    // The OpenAPI document describes the parameter and the sort.
    let doc = api.ok("/api/openapi.json").await;
    let params = doc["paths"]["/api/v1/listings"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let p = params
        .iter()
        .find(|p| p["name"] == "min_reputation")
        .unwrap();
    assert!(
        p["description"]
            .as_str()
            .unwrap()
            .contains("(completed + 1) / (completed + slashed + 2)"),
        "{p}"
    );
    let sort = params.iter().find(|p| p["name"] == "sort").unwrap();
    assert!(sort["description"].as_str().unwrap().contains("reputation"));
    api.stop().await;
}
