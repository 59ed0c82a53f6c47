//! Recognising DGCM boxes and decoding them with the dgcm-contracts codecs (one codec per kind,
//! the same the builders use). A box whose script has one of our templates but does not decode is
//! still recorded, with the reason.

use dgcm_contracts::lease::Lease;
use dgcm_contracts::listing::Listing;
use dgcm_contracts::order::Order;
use dgcm_contracts::{BoxKind, Contracts, Kind};
use ergo_lib::ergotree_ir::chain::ergo_box::ErgoBox;
use ergo_lib::ergotree_ir::serialization::SigmaSerializable;
use serde_json::json;

use crate::rows::{
    AccountRow, ArbitrationRow, LeaseRow, ListingRow, OrderRow, RosenDepositRow, Typed,
};
use dgcm_contracts::arbitration::Arbitration;
use dgcm_contracts::lets_member::Member;
use dgcm_contracts::lets_vault::Vault;
use dgcm_contracts::rosen_deposit::RosenDeposit;

pub struct Decoder {
    contracts: Option<Contracts>,
    /// Tree bytes → kind: most boxes share a handful of trees, and recognising a template means
    /// serialising and hashing it.
    kinds: std::sync::Mutex<std::collections::HashMap<Vec<u8>, Option<Kind>>>,
}

/// Entries kept in the tree → kind cache before it is cleared.
const KIND_CACHE: usize = 100_000;

/// What the indexer learned about one box of a DGCM kind.
pub struct Decoded {
    pub kind: &'static str,
    pub json: Option<serde_json::Value>,
    pub error: Option<String>,
    /// The typed row, without `box_id`/`height` (filled by the caller).
    pub typed: Option<Typed>,
}

fn pk_bytes(pk: &ergo_lib::ergotree_ir::sigma_protocol::sigma_boolean::ProveDlog) -> Vec<u8> {
    pk.h.sigma_serialize_bytes().unwrap_or_default()
}

impl Decoder {
    /// A decoder for one deployment; `None` indexes the chain without protocol tables.
    pub fn new(contracts: Option<Contracts>) -> Self {
        Decoder {
            contracts,
            kinds: Default::default(),
        }
    }

    fn kind_of(&self, c: &Contracts, b: &ErgoBox, tree_bytes: &[u8]) -> Option<Kind> {
        let mut cache = self.kinds.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = cache.get(tree_bytes) {
            return *k;
        }
        let k = c.kind_of(&b.ergo_tree);
        if cache.len() >= KIND_CACHE {
            cache.clear();
        }
        cache.insert(tree_bytes.to_vec(), k);
        k
    }

    /// Decode `b` (whose serialised tree is `tree_bytes`) if it is guarded by a DGCM contract.
    pub fn decode(&self, b: &ErgoBox, tree_bytes: &[u8]) -> Option<Decoded> {
        let c = self.contracts.as_ref()?;
        let kind = self.kind_of(c, b, tree_bytes)?;
        let name = kind.name();
        let mut d = Decoded {
            kind: name,
            json: None,
            error: None,
            typed: None,
        };
        let r: Result<serde_json::Value, String> = match kind {
            Kind::Listing => Listing::parse(c, b).map_err(|e| e.to_string()).map(|l| {
                d.typed = Some(Typed::Listing(ListingRow {
                    box_id: vec![],
                    listing_nft: l.nft.into(),
                    provider_pk: pk_bytes(&l.provider),
                    price_per_hour: l.terms.price_per_hour,
                    collateral_per_hour: l.terms.collateral_per_hour,
                    min_hours: l.terms.min_hours,
                    max_hours: l.terms.max_hours,
                    vram_mib: l.terms.vram_mib,
                    gpu_count: l.terms.gpu_count,
                    benchmark_score: l.terms.benchmark_score,
                    model: l.model.clone(),
                    region: l.region.clone(),
                    endpoint: l.endpoint.clone(),
                    stake: l.stake as i64,
                    height: 0,
                    capacity: listing_capacity(&l),
                }));
                json!({
                    "listing_nft": String::from(l.nft),
                    "provider_pk": hex::encode(pk_bytes(&l.provider)),
                    "price_per_hour": l.terms.price_per_hour,
                    "collateral_per_hour": l.terms.collateral_per_hour,
                    "min_hours": l.terms.min_hours, "max_hours": l.terms.max_hours,
                    "vram_mib": l.terms.vram_mib, "gpu_count": l.terms.gpu_count,
                    "benchmark_score": l.terms.benchmark_score,
                    "model": l.model, "region": l.region, "endpoint": l.endpoint, "stake": l.stake,
                    "limits": l.terms.limits, "busy_until": l.busy_until,
                })
            }),
            Kind::Order => Order::parse(c, b).map_err(|e| e.to_string()).map(|o| {
                d.typed = Some(Typed::Order(OrderRow {
                    box_id: vec![],
                    consumer_pk: pk_bytes(&o.consumer),
                    budget: o.budget as i64,
                    max_price_per_hour: o.terms.max_price_per_hour,
                    hours: o.terms.hours,
                    min_vram_mib: o.terms.min_vram_mib,
                    min_gpu_count: o.terms.min_gpu_count,
                    min_benchmark_score: o.terms.min_benchmark_score,
                    expiry_height: o.terms.expiry_height,
                    matcher_fee_cap: o.terms.matcher_fee_cap,
                    listing_nft: o.listing.map(Vec::<u8>::from),
                    model: o.model.clone(),
                    region: o.region.clone(),
                    job_spec_hash: o.job_spec_hash.clone(),
                    height: 0,
                    capacity: json!(o.terms.requests),
                }));
                json!({
                    "consumer_pk": hex::encode(pk_bytes(&o.consumer)),
                    "budget": o.budget,
                    "max_price_per_hour": o.terms.max_price_per_hour,
                    "hours": o.terms.hours,
                    "min_vram_mib": o.terms.min_vram_mib,
                    "min_gpu_count": o.terms.min_gpu_count,
                    "min_benchmark_score": o.terms.min_benchmark_score,
                    "expiry_height": o.terms.expiry_height,
                    "matcher_fee_cap": o.terms.matcher_fee_cap,
                    "listing": o.listing.map(String::from),
                    "model": o.model, "region": o.region,
                    "job_spec_hash": hex::encode(&o.job_spec_hash),
                    "requests": o.terms.requests,
                })
            }),
            Kind::Lease => Lease::parse(c, b).map_err(|e| e.to_string()).map(|l| {
                d.typed = Some(Typed::Lease(LeaseRow {
                    box_id: vec![],
                    consumer_pk: pk_bytes(&l.consumer),
                    provider_pk: pk_bytes(&l.provider),
                    listing_nft: l.listing_nft.clone(),
                    price_per_hour: l.terms.price_per_hour,
                    hours: l.terms.hours,
                    payment: l.terms.payment,
                    collateral: l.terms.collateral,
                    start_height: l.terms.start,
                    deadline: l.terms.deadline,
                    exec_fee_cap: l.terms.exec_fee_cap,
                    used_blocks: l.terms.used_blocks,
                    completed_at: l.terms.completed_at,
                    job_spec_hash: l.job_spec_hash.clone(),
                    usage_commitment: l.usage_commitment.clone(),
                    height: 0,
                }));
                json!({
                    "consumer_pk": hex::encode(pk_bytes(&l.consumer)),
                    "provider_pk": hex::encode(pk_bytes(&l.provider)),
                    "price_per_hour": l.terms.price_per_hour,
                    "hours": l.terms.hours,
                    "payment": l.terms.payment,
                    "collateral": l.terms.collateral,
                    "start": l.terms.start,
                    "deadline": l.terms.deadline,
                    "exec_fee_cap": l.terms.exec_fee_cap,
                    "used_blocks": l.terms.used_blocks,
                    "completed_at": l.terms.completed_at,
                    "job_spec_hash": hex::encode(&l.job_spec_hash),
                    "listing_nft": hex::encode(&l.listing_nft),
                    "usage_commitment": hex::encode(&l.usage_commitment),
                })
            }),
            Kind::Arbitration => Arbitration::parse(c, b).map_err(|e| e.to_string()).map(|a| {
                d.typed = Some(Typed::Arbitration(ArbitrationRow {
                    box_id: vec![],
                    lease_box_id: a.lease_id.clone(),
                    consumer_pk: pk_bytes(&a.consumer),
                    provider_pk: pk_bytes(&a.provider),
                    payment: a.payment,
                    collateral: a.collateral,
                    claimed_pay: a.claimed_pay,
                    timeout: a.timeout,
                    height: 0,
                }));
                json!({
                    "lease_box_id": hex::encode(&a.lease_id),
                    "consumer_pk": hex::encode(pk_bytes(&a.consumer)),
                    "provider_pk": hex::encode(pk_bytes(&a.provider)),
                    "amount": a.amount, "payment": a.payment, "collateral": a.collateral,
                    "claimed_pay": a.claimed_pay, "exec_fee_cap": a.exec_fee_cap, "timeout": a.timeout,
                })
            }),
            Kind::LetsMember => Member::parse(c, b).map_err(|e| e.to_string()).map(|m| {
                d.typed = Some(Typed::Account(AccountRow {
                    box_id: vec![],
                    owner_pk: pk_bytes(&m.owner),
                    balance: m.balance,
                    erg_collateral: m.value as i64,
                    sigusd_collateral: m.sigusd(&c.params) as i64,
                    height: 0,
                }));
                json!({
                    "owner_pk": hex::encode(pk_bytes(&m.owner)),
                    "balance": m.balance, "erg_collateral": m.value,
                    "sigusd_collateral": m.sigusd(&c.params),
                    "assets": m.assets.iter().map(|(id, n)| json!({"tokenId": String::from(*id), "amount": n})).collect::<Vec<_>>(),
                })
            }),
            Kind::LetsVault => Vault::parse(c, b)
                .map_err(|e| e.to_string())
                .map(|v| json!({
                    "value": v.value, "gpuc_reserve": v.reserve, "membership_stock": v.stock,
                    "stable_reserve": v.stable.iter().map(|(id, n)| json!({"tokenId": String::from(*id), "amount": n})).collect::<Vec<_>>(),
                })),
            Kind::RosenDeposit => RosenDeposit::parse(c, b).map_err(|e| e.to_string()).map(|r| {
                let tokens = json!(r
                    .tokens
                    .iter()
                    .map(|(id, n)| json!({"tokenId": String::from(*id), "amount": n}))
                    .collect::<Vec<_>>());
                d.typed = Some(Typed::RosenDeposit(RosenDepositRow {
                    box_id: vec![],
                    owner_pk: pk_bytes(&r.owner),
                    value: r.value as i64,
                    tokens: tokens.clone(),
                    height: 0,
                }));
                json!({"owner_pk": hex::encode(pk_bytes(&r.owner)), "value": r.value, "tokens": tokens})
            }),
        };
        match r {
            Ok(j) => d.json = Some(j),
            Err(e) => {
                tracing::warn!(box_id = %String::from(b.box_id()), kind = name, error = %e, "box of a DGCM template does not decode; recorded with the reason");
                d.error = Some(e);
            }
        }
        Some(d)
    }
}

/// A listing's `capacity` column: its limits and busyUntil.
fn listing_capacity(l: &Listing) -> serde_json::Value {
    let mut v = json!(l.terms.limits);
    if let Some(o) = v.as_object_mut() {
        o.insert("busy_until".into(), json!(l.busy_until));
    }
    v
}
