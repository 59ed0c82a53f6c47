//! Every route over a chain built with the dgcm-contracts builders (two listings, an order, a
//! lease matched, completed and finalised, an oracle pool box, a bridged deposit) and indexed
//! into a fresh database through the indexer's Store; happy paths and bad inputs.

mod common;

use common::*;
use dgcm_contracts::build;
use dgcm_contracts::lease::Lease;
use dgcm_contracts::listing::{Listing, ListingTerms};
use dgcm_contracts::order::{Order, OrderTerms};
use dgcm_contracts::util::p2pk_tree;
use dgcm_contracts::{Contracts, Kind, ProtocolParams, Typed};
use dgcm_indexer::pgcluster::fresh_test_database;
use dgcm_indexer::Store;
use ergo_lib::chain::transaction::input::prover_result::ProverResult;
use ergo_lib::chain::transaction::{Input, Transaction, TxId};
use ergo_lib::ergotree_interpreter::sigma_protocol::prover::ContextExtension;
use ergo_lib::ergotree_ir::chain::address::{Address, AddressEncoder, NetworkPrefix};
use ergo_lib::ergotree_ir::chain::ergo_box::box_value::BoxValue;
use ergo_lib::ergotree_ir::chain::ergo_box::{
    ErgoBox, ErgoBoxCandidate, NonMandatoryRegisterId, NonMandatoryRegisters,
};
use ergo_lib::ergotree_ir::chain::token::{Token, TokenAmount, TokenId};
use ergo_lib::ergotree_ir::mir::constant::Constant;
use serde_json::Value;

const H0: u32 = 1000;
const RATE: i64 = 400_000_000;

fn plain_input(tag: &str) -> Input {
    Input::new(
        TxId::from(digest(tag)).0.into(),
        ProverResult {
            proof: vec![].into(),
            extension: ContextExtension::empty(),
        },
    )
}

fn plain_tx(inputs: Vec<Input>, outputs: Vec<ErgoBoxCandidate>) -> Transaction {
    Transaction::new(
        inputs.try_into().unwrap(),
        None,
        outputs.try_into().unwrap(),
    )
    .unwrap()
}

fn pool_candidate(rate: i64, height: u32) -> ErgoBoxCandidate {
    ErgoBoxCandidate {
        value: BoxValue::new(ERG).unwrap(),
        ergo_tree: p2pk_tree(&pk("oracle")),
        tokens: Some(
            vec![Token {
                token_id: dgcm_devnet::genesis::oracle_pool_nft(),
                amount: TokenAmount::try_from(1u64).unwrap(),
            }]
            .try_into()
            .unwrap(),
        ),
        additional_registers: dgcm_devnet::genesis::oracle_registers(rate, 1),
        creation_height: height,
    }
}

struct World {
    db: String,
    store: Store,
    nft: TokenId,
    listing_box: ErgoBox,
    order_box: ErgoBox,
    lease_box: ErgoBox,
    pool_box: ErgoBox,
    settle_at: u32,
}

fn listing(
    nft: TokenId,
    provider: &str,
    model: &str,
    region: &str,
    price: i64,
    vram: i64,
) -> Listing {
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
            vram_mib: vram,
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
        region: region.into(),
        endpoint: format!("https://{provider}.example:8443"),
        busy_until: None,
    }
}

fn world() -> World {
    let c = Contracts::new(ProtocolParams::devnet_default()).unwrap();
    let gpuc = c.params.gpuc_id;
    let provider_exec = exec("provider", 10 * ERG, &[(gpuc, 10_000)]);
    let nft: TokenId = provider_exec.funding[0].box_id().into();
    let other_exec = exec("provider-b", 10 * ERG, &[(gpuc, 10_000)]);
    let other_nft: TokenId = other_exec.funding[0].box_id().into();
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
    let l1 = listing(nft, "provider", "RTX 4090", "eu-west", 1000, 24576);
    let l2 = listing(other_nft, "provider-b", "A100", "us-east", 3000, 81920);
    let t_list = tx(&build::list_listing(&c, &l1, H0, &provider_exec).unwrap());
    let t_list2 = tx(&build::list_listing(&c, &l2, H0, &other_exec).unwrap());
    let t_order =
        tx(
            &build::place_order(&c, &order, H0, &exec("consumer", 20 * ERG, &[(gpuc, 2500)]))
                .unwrap(),
        );
    let l_box = output_of(&t_list, &c, Kind::Listing);
    let o_box = output_of(&t_order, &c, Kind::Order);
    let t_match = tx(&build::match_order(
        &c,
        &Typed::parse(&c, o_box.clone()).unwrap(),
        &Typed::parse(&c, l_box.clone()).unwrap(),
        H0 + 1,
        &exec("matcher", ERG, &[]),
    )
    .unwrap());
    let lease_box = output_of(&t_match, &c, Kind::Lease);
    let lease: Typed<Lease> = Typed::parse(&c, lease_box.clone()).unwrap();
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

    let t_pool = plain_tx(vec![plain_input("oracle")], vec![pool_candidate(RATE, H0)]);
    let pool_box = t_pool.outputs.first().clone();
    let (t_event, t_pay, t_convert) = rosen(&c);

    let blocks = (H0..=settle_at)
        .map(|h| match h {
            x if x == H0 => vec![
                t_list.clone(),
                t_list2.clone(),
                t_order.clone(),
                t_pool.clone(),
                t_event.clone(),
            ],
            x if x == H0 + 1 => vec![t_match.clone(), t_pay.clone()],
            x if x == H0 + 2 => vec![t_complete.clone(), t_convert.clone()],
            x if x == settle_at => vec![t_final.clone()],
            _ => vec![],
        })
        .collect();
    let (db, store) = index_chain(H0, blocks, c);
    World {
        db,
        store,
        nft,
        listing_box: output_of(
            &t_match,
            &Contracts::new(ProtocolParams::devnet_default()).unwrap(),
            Kind::Listing,
        ),
        order_box: o_box,
        lease_box,
        pool_box,
        settle_at,
    }
}

/// An EventTrigger-shaped box, the guards' payment to Alice's deposit address, its conversion.
fn rosen(c: &Contracts) -> (Transaction, Transaction, Transaction) {
    let deposit_tree = c.rosen_deposit(&pk("alice")).unwrap();
    let deposit_address = AddressEncoder::encode_address_as_string(
        NetworkPrefix::Testnet,
        &Address::recreate_from_ergo_tree(&deposit_tree).unwrap(),
    );
    let fields: Vec<Vec<u8>> = vec![
        b"0xethsourcetx01".to_vec(),
        b"ethereum".to_vec(),
        b"ergo".to_vec(),
        b"0xAlice".to_vec(),
        deposit_address.as_bytes().to_vec(),
        12_500_000u64.to_be_bytes().to_vec(),
        2_000u64.to_be_bytes().to_vec(),
        1_000u64.to_be_bytes().to_vec(),
        b"usdt-eth".to_vec(),
        b"rsUSDT".to_vec(),
        b"0xethblock".to_vec(),
        19_000_000u64.to_be_bytes().to_vec(),
    ];
    let mut regs = std::collections::HashMap::new();
    regs.insert(NonMandatoryRegisterId::R4, Constant::from(vec![0u8; 32]));
    regs.insert(NonMandatoryRegisterId::R5, Constant::from(fields));
    regs.insert(NonMandatoryRegisterId::R6, Constant::from(vec![1u8; 32]));
    regs.insert(NonMandatoryRegisterId::R7, Constant::from(3i32));
    let trigger = ErgoBoxCandidate {
        value: BoxValue::new(ERG).unwrap(),
        ergo_tree: p2pk_tree(&pk("rosen-watchers")),
        tokens: None,
        additional_registers: NonMandatoryRegisters::new(regs).unwrap(),
        creation_height: H0,
    };
    let t_event = plain_tx(vec![plain_input("w")], vec![trigger]);
    let payment = ErgoBoxCandidate {
        value: BoxValue::new(50_000_000).unwrap(),
        ergo_tree: deposit_tree,
        tokens: None,
        additional_registers: NonMandatoryRegisters::empty(),
        creation_height: H0 + 1,
    };
    let t_pay = plain_tx(vec![plain_input("g")], vec![payment]);
    let paid = t_pay.outputs.first().clone();
    let mut ext = ContextExtension::empty();
    ext.values.insert(0, Constant::from(1i8));
    let sink = ErgoBoxCandidate {
        value: BoxValue::new(49_000_000).unwrap(),
        ergo_tree: p2pk_tree(&pk("relay")),
        tokens: None,
        additional_registers: NonMandatoryRegisters::empty(),
        creation_height: H0 + 2,
    };
    let t_convert = plain_tx(
        vec![Input::new(
            paid.box_id(),
            ProverResult {
                proof: vec![].into(),
                extension: ext,
            },
        )],
        vec![sink],
    );
    (t_event, t_pay, t_convert)
}

/// The node's JSON of a box, as our rebuilt JSON must equal (without the indexed extras).
fn node_json(b: &ErgoBox) -> Value {
    serde_json::to_value(b).unwrap()
}

fn strip(mut v: Value) -> Value {
    let o = v.as_object_mut().unwrap();
    o.remove("inclusionHeight");
    o.remove("spentTransactionId");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_the_chain_and_refuses_bad_input() {
    let mut w = tokio::task::spawn_blocking(world).await.unwrap();
    let api = Api::start(&w.db);
    let nft = hex::encode(w.nft.as_ref());
    let zero = "00".repeat(32);

    // status
    let s = api.ok("/api/v1/status").await;
    assert_eq!(s["height"], w.settle_at);
    assert_eq!(s["header_id"].as_str().unwrap().len(), 64);
    assert!(s["node_height"].is_null(), "no node configured");

    // listings: filters, sorts, pagination
    let all = api.ok("/api/v1/listings").await;
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{all}");
    assert_eq!(items[0]["model"], "RTX 4090", "cheapest first");
    assert_eq!(items[0]["provider_address"], address("provider"));
    assert_eq!(items[0]["leased"], false, "its lease was settled");
    assert_eq!(
        items[0]["reputation"],
        2.0 / 3.0,
        "one lease completed: (1 + 1) / (1 + 0 + 2)"
    );
    assert_eq!(
        items[1]["reputation"], 0.5,
        "no finished lease: the neutral prior"
    );
    assert!(all["next_cursor"].is_null());
    assert_eq!(
        items[0]["box_id"],
        hex_id(&w.listing_box),
        "the box continued by the match"
    );
    let vram = api.ok("/api/v1/listings?sort=vram").await;
    assert_eq!(vram["items"][0]["model"], "A100");
    let newest = api.ok("/api/v1/listings?sort=newest").await;
    assert_eq!(newest["items"][0]["model"], "RTX 4090", "continued at H0+1");
    for (q, want) in [
        ("model=A100", vec!["A100"]),
        ("region=eu-west", vec!["RTX 4090"]),
        ("min_vram_mib=30000", vec!["A100"]),
        ("min_gpus=2", vec![]),
        ("max_price=1500", vec!["RTX 4090"]),
        ("available=true", vec!["RTX 4090", "A100"]),
        ("available=false", vec![]),
        ("model=RTX%204090&max_price=999", vec![]),
    ] {
        let v = api.ok(&format!("/api/v1/listings?{q}")).await;
        let got: Vec<&str> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["model"].as_str().unwrap())
            .collect();
        assert_eq!(got, want, "{q}");
    }
    let p1 = api.ok("/api/v1/listings?limit=1").await;
    assert_eq!(p1["items"][0]["model"], "RTX 4090");
    let cur = p1["next_cursor"].as_str().unwrap().to_string();
    let p2 = api
        .ok(&format!("/api/v1/listings?limit=1&cursor={cur}"))
        .await;
    assert_eq!(p2["items"][0]["model"], "A100");
    let cur2 = p2["next_cursor"].as_str().unwrap().to_string();
    let p3 = api
        .ok(&format!("/api/v1/listings?limit=1&cursor={cur2}"))
        .await;
    assert_eq!(p3["items"].as_array().unwrap().len(), 0);
    assert!(p3["next_cursor"].is_null());
    api.bad("/api/v1/listings?limit=0", "limit").await;
    api.bad("/api/v1/listings?limit=1001", "limit").await;
    api.bad("/api/v1/listings?limit=ten", "limit").await;
    api.bad("/api/v1/listings?sort=cheap", "sort").await;
    api.bad("/api/v1/listings?min_vram_mib=-1", "min_vram_mib")
        .await;
    api.bad("/api/v1/listings?max_price=x", "max_price").await;
    api.bad("/api/v1/listings?min_gpus=1.5", "min_gpus").await;
    api.bad("/api/v1/listings?available=maybe", "available")
        .await;
    api.bad("/api/v1/listings?model=", "model").await;
    api.bad("/api/v1/listings?cursor=zz", "cursor").await;
    api.bad(
        &format!("/api/v1/listings?sort=vram&cursor={cur}"),
        "cursor",
    )
    .await;
    api.bad("/api/v1/listings?colour=red", "query").await;

    // one listing: history and leases
    let l = api.ok(&format!("/api/v1/listings/{nft}")).await;
    assert_eq!(l["history"].as_array().unwrap().len(), 2, "{l}");
    assert_eq!(l["current"]["box_id"], hex_id(&w.listing_box));
    assert_eq!(l["available"], true);
    assert_eq!(l["leases"].as_array().unwrap().len(), 1);
    assert_eq!(l["leases"][0]["state"], "settled");
    api.bad("/api/v1/listings/xyz", "listing_id").await;
    assert_eq!(api.get(&format!("/api/v1/listings/{zero}")).await.0, 404);

    // orders
    let o = api.ok("/api/v1/orders").await;
    assert_eq!(o["items"].as_array().unwrap().len(), 1);
    assert_eq!(o["items"][0]["state"], "matched");
    assert_eq!(o["items"][0]["consumer_address"], address("consumer"));
    let by = api
        .ok(&format!(
            "/api/v1/orders?consumer={}&state=matched",
            address("consumer")
        ))
        .await;
    assert_eq!(by["items"].as_array().unwrap().len(), 1);
    let open = api.ok("/api/v1/orders?state=open").await;
    assert_eq!(open["items"].as_array().unwrap().len(), 0);
    let one = api
        .ok(&format!("/api/v1/orders/{}", hex_id(&w.order_box)))
        .await;
    assert_eq!(one["budget"], 2500);
    api.bad("/api/v1/orders?state=done", "state").await;
    api.bad("/api/v1/orders?consumer=nope", "consumer").await;
    api.bad("/api/v1/orders/12", "box_id").await;
    assert_eq!(api.get(&format!("/api/v1/orders/{zero}")).await.0, 404);

    // leases and a lease's timeline
    let ls = api
        .ok(&format!("/api/v1/leases?provider={}", address("provider")))
        .await;
    assert_eq!(ls["items"].as_array().unwrap().len(), 1, "{ls}");
    assert_eq!(ls["items"][0]["state"], "settled");
    let none = api
        .ok(&format!("/api/v1/leases?consumer={}", address("provider")))
        .await;
    assert_eq!(none["items"].as_array().unwrap().len(), 0);
    let settled = api.ok("/api/v1/leases?state=settled").await;
    assert_eq!(settled["items"].as_array().unwrap().len(), 1);
    let lease = api
        .ok(&format!("/api/v1/leases/{}", hex_id(&w.lease_box)))
        .await;
    assert_eq!(lease["lease"]["state"], "settled");
    assert_eq!(lease["boxes"].as_array().unwrap().len(), 2);
    let events: Vec<(&str, i64)> = lease["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["event"].as_str().unwrap(), e["height"].as_i64().unwrap()))
        .collect();
    let h = |x: u32| x as i64;
    assert_eq!(
        events,
        vec![
            ("matched", h(H0 + 1)),
            ("complete", h(H0 + 2)),
            ("finalise", h(w.settle_at))
        ]
    );
    api.bad("/api/v1/leases?state=lost", "state").await;
    api.bad("/api/v1/leases?provider=abc", "provider").await;
    api.bad("/api/v1/leases/zz", "box_id").await;
    assert_eq!(api.get(&format!("/api/v1/leases/{zero}")).await.0, 404);

    // provider reputation
    let p = api
        .ok(&format!("/api/v1/providers/{}", address("provider")))
        .await;
    let r = &p["reputation"];
    assert_eq!(
        (&r["leases"], &r["completed"], &r["slashed"], &r["disputed"]),
        (
            &Value::from(1),
            &Value::from(1),
            &Value::from(0),
            &Value::from(0)
        ),
        "{p}"
    );
    assert_eq!(r["on_time_rate"], 1.0);
    assert_eq!(r["total_hours"], 1.0 / 30.0, "1 block used");
    assert_eq!(r["score"], 2.0 / 3.0, "as the listing search reports it");
    assert_eq!(p["listings"].as_array().unwrap().len(), 1);
    api.bad("/api/v1/providers/notanaddress", "address").await;
    // A P2S address is an address, but no provider key.
    let p2s = AddressEncoder::encode_address_as_string(
        NetworkPrefix::Testnet,
        &Address::P2S(
            ergo_lib::ergotree_ir::serialization::SigmaSerializable::sigma_serialize_bytes(
                &w.lease_box.ergo_tree,
            )
            .unwrap(),
        ),
    );
    api.bad(&format!("/api/v1/providers/{p2s}"), "address")
        .await;

    // accounts
    let a = api
        .ok(&format!("/api/v1/accounts/{}", address("provider")))
        .await;
    assert!(a["erg"].as_i64().unwrap() > 0, "{a}");
    assert!(a["lets"].is_null());
    let a2 = api.ok(&format!("/api/v1/accounts/{p2s}")).await;
    assert_eq!(a2["erg"], 0);
    api.bad("/api/v1/accounts/3x", "address").await;

    // market stats and rates
    let m = api.ok("/api/v1/market/stats").await;
    assert_eq!(m["listings"], 2);
    assert_eq!(m["leases_total"], 1);
    assert_eq!(m["volume_total"], 2000, "1000 per hour for 2 hours");
    assert_eq!(m["models"].as_array().unwrap().len(), 2);
    let rates = api.ok("/api/v1/rates").await;
    assert_eq!(rates["nanoerg_per_usd"], RATE);
    assert_eq!(rates["erg_usd"], 2.5);
    assert_eq!(rates["pool_box_id"], hex_id(&w.pool_box));

    // rosen
    let ev = api
        .ok("/api/v1/rosen/events?source_tx=0xethsourcetx01")
        .await;
    assert_eq!(ev["items"][0]["spent_by_path"], "convert", "{ev}");
    api.bad("/api/v1/rosen/events", "source_tx").await;
    assert_eq!(
        api.get("/api/v1/rosen/events?source_tx=0xnone").await.0,
        404
    );

    // boxes in the node's JSON
    let b = api
        .ok(&format!("/api/v1/boxes/{}", hex_id(&w.listing_box)))
        .await;
    assert_eq!(strip(b.clone()), node_json(&w.listing_box));
    assert_eq!(b["inclusionHeight"], H0 + 1);
    let spent = api
        .ok(&format!("/api/v1/boxes/{}", hex_id(&w.order_box)))
        .await;
    assert!(spent["spentTransactionId"].is_string());
    api.bad("/api/v1/boxes/0x12", "box_id").await;
    api.bad(
        &format!("/api/v1/boxes/{zero}?include_mempool=yes"),
        "include_mempool",
    )
    .await;
    assert_eq!(api.get(&format!("/api/v1/boxes/{zero}")).await.0, 404);
    let pool_nft = hex::encode(dgcm_devnet::genesis::oracle_pool_nft().as_ref());
    let pool_nft = pool_nft.as_str();
    let by_token = api
        .ok(&format!("/api/v1/boxes/unspent/byTokenId/{pool_nft}"))
        .await;
    assert_eq!(by_token["items"].as_array().unwrap().len(), 1);
    assert_eq!(strip(by_token["items"][0].clone()), node_json(&w.pool_box));
    api.bad("/api/v1/boxes/unspent/byTokenId/abc", "token_id")
        .await;
    api.bad(
        &format!("/api/v1/boxes/unspent/byTokenId/{pool_nft}?limit=5000"),
        "limit",
    )
    .await;

    // mempool: a pool update spends the pool box and creates a new one
    let t_update = plain_tx(
        vec![Input::new(
            w.pool_box.box_id(),
            ProverResult {
                proof: vec![].into(),
                extension: ContextExtension::empty(),
            },
        )],
        vec![pool_candidate(RATE / 2, w.settle_at)],
    );
    let new_pool = t_update.outputs.first().clone();
    w.store.replace_mempool(&[t_update]).unwrap();
    let confirmed = api
        .ok(&format!("/api/v1/boxes/unspent/byTokenId/{pool_nft}"))
        .await;
    assert_eq!(confirmed["items"][0]["boxId"], hex_id(&w.pool_box));
    let pooled = api
        .ok(&format!(
            "/api/v1/boxes/unspent/byTokenId/{pool_nft}?include_mempool=true"
        ))
        .await;
    let items = pooled["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{pooled}");
    assert_eq!(strip(items[0].clone()), node_json(&new_pool));
    let m = api
        .ok(&format!(
            "/api/v1/boxes/{}?include_mempool=true",
            hex_id(&new_pool)
        ))
        .await;
    assert!(m["inclusionHeight"].is_null());
    assert_eq!(
        api.get(&format!("/api/v1/boxes/{}", hex_id(&new_pool)))
            .await
            .0,
        404
    );
    let old = api
        .ok(&format!(
            "/api/v1/boxes/{}?include_mempool=true",
            hex_id(&w.pool_box)
        ))
        .await;
    assert!(old["spentTransactionId"].is_string(), "spent in the pool");

    // service routes
    assert_eq!(api.ok("/health").await["status"], "ok");
    let (code, metrics) = api.get("/metrics").await;
    assert_eq!(code, 200);
    assert!(
        metrics
            .as_str()
            .unwrap()
            .contains("dgcm_api_requests_total"),
        "{metrics}"
    );
    let (code, nf) = api.get("/api/v1/nothing").await;
    assert_eq!((code, nf["error"].as_str()), (404, Some("not_found")));
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/status", api.url))
        .header("Origin", "https://dashboard.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap()),
        Some("https://dashboard.example")
    );
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_covers_every_route() {
    let db = tokio::task::spawn_blocking(fresh_test_database)
        .await
        .unwrap()
        .unwrap();
    tokio::task::spawn_blocking({
        let db = db.clone();
        move || Store::connect(&db).unwrap()
    })
    .await
    .unwrap();
    let api = Api::start(&db);
    let doc = api.ok("/api/openapi.json").await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/health",
        "/metrics",
        "/api/openapi.json",
        "/api/v1/status",
        "/api/v1/listings",
        "/api/v1/listings/{listing_id}",
        "/api/v1/orders",
        "/api/v1/orders/{box_id}",
        "/api/v1/leases",
        "/api/v1/leases/{box_id}",
        "/api/v1/providers/{address}",
        "/api/v1/accounts/{address}",
        "/api/v1/market/stats",
        "/api/v1/rates",
        "/api/v1/rosen/events",
        "/api/v1/boxes/{box_id}",
        "/api/v1/boxes/unspent/byTokenId/{token_id}",
    ] {
        assert!(paths.contains_key(p), "{p} missing from the document");
        // Every route answers (not the router's 404) on an empty database.
        let concrete = p
            .replace("{listing_id}", &"00".repeat(32))
            .replace("{box_id}", &"00".repeat(32))
            .replace("{token_id}", &"00".repeat(32))
            .replace("{address}", &address("x"));
        let (_, v) = api.get(&concrete).await;
        assert_ne!(v["detail"], "no such route", "{p}");
    }
    assert_eq!(paths.len(), 17, "no undocumented extras");
    // Every schema a route refers to is defined.
    let text = doc.to_string();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for r in text.split("#/components/schemas/").skip(1) {
        let name = r.split('"').next().unwrap();
        assert!(
            schemas.contains_key(name),
            "{name} is referenced but not defined"
        );
    }
    // Pooled connections time out statements and are read-only.
    let state = api.state.clone();
    tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct S {
            #[diesel(sql_type = diesel::sql_types::Text)]
            statement_timeout: String,
        }
        let mut c = state.pool.get().unwrap();
        let s: S = diesel::sql_query("SHOW statement_timeout")
            .get_result(&mut *c)
            .unwrap();
        assert_eq!(s.statement_timeout, "5s");
        assert!(diesel::sql_query("CREATE TABLE x (a int)")
            .execute(&mut *c)
            .is_err());
    })
    .await
    .unwrap();
    api.stop().await;
}
