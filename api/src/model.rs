//! Reply shapes. Rows are read straight into them (ids come out of SQL as hex via `encode`),
//! so one struct is the query result, the JSON and the OpenAPI schema.

use diesel::sql_types::{BigInt, Bool, Double, Integer, Nullable, Text};
use diesel::QueryableByName;
use serde::Serialize;
use utoipa::ToSchema;

/// A page of a list: `next_cursor` is absent on the last page.
#[derive(Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Status {
    /// Height of the last indexed block (0 before the first).
    pub height: i64,
    pub header_id: Option<String>,
    /// The node's full height, when a node is configured and answers.
    pub node_height: Option<i64>,
    pub lag_blocks: Option<i64>,
}

/// One listing box (the NFT identifies the listing across its boxes).
#[derive(Clone, Serialize, ToSchema, QueryableByName)]
pub struct Listing {
    #[diesel(sql_type = Text)]
    pub box_id: String,
    #[diesel(sql_type = Text)]
    pub tx_id: String,
    #[diesel(sql_type = Text)]
    pub listing_nft: String,
    #[diesel(sql_type = Text)]
    pub provider_pk: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub provider_address: Option<String>,
    /// mGPUC per hour.
    #[diesel(sql_type = BigInt)]
    pub price_per_hour: i64,
    #[diesel(sql_type = BigInt)]
    pub collateral_per_hour: i64,
    #[diesel(sql_type = BigInt)]
    pub min_hours: i64,
    #[diesel(sql_type = BigInt)]
    pub max_hours: i64,
    #[diesel(sql_type = BigInt)]
    pub vram_mib: i64,
    #[diesel(sql_type = BigInt)]
    pub gpu_count: i64,
    #[diesel(sql_type = BigInt)]
    pub benchmark_score: i64,
    #[diesel(sql_type = Text)]
    pub model: String,
    #[diesel(sql_type = Text)]
    pub region: String,
    #[diesel(sql_type = Text)]
    pub endpoint: String,
    /// GPUC left to back new leases.
    #[diesel(sql_type = BigInt)]
    pub stake: i64,
    #[diesel(sql_type = Integer)]
    pub height: i32,
    /// Transaction that spent this box (a later version or a match), if any.
    #[diesel(sql_type = Nullable<Text>)]
    pub spent_tx_id: Option<String>,
    /// The limits the provider's worker enforces on a job (R5[7..10]): a job spec within them
    /// must be run; an order's requests must be within them to match (PROTOCOL.md "Capacity").
    #[diesel(sql_type = BigInt)]
    pub max_memory_mib: i64,
    /// Thousandths of a CPU core.
    #[diesel(sql_type = BigInt)]
    pub max_cpu_millis: i64,
    #[diesel(sql_type = BigInt)]
    pub max_pids: i64,
    /// Output space, MiB.
    #[diesel(sql_type = BigInt)]
    pub max_disk_mib: i64,
    /// R7 busyUntil: no match before the height after this one (the running lease's deadline;
    /// the provider clears it when the lease completes early); null = free.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub busy_until: Option<i64>,
    /// A lease on this listing is running.
    #[diesel(sql_type = Bool)]
    pub leased: bool,
    /// Its provider's reputation score in [0, 1] from chain history, as
    /// `GET /api/v1/providers/{address}` reports it (`reputation.score`):
    /// (completed + 1) / (completed + slashed + 2), 0.5 for a provider without finished leases.
    #[diesel(sql_type = Double)]
    pub reputation: f64,
}

/// A listing with every box it had and every lease it made.
#[derive(Serialize, ToSchema)]
pub struct ListingDetail {
    pub listing_nft: String,
    /// The newest box.
    pub current: Listing,
    /// True when the newest box is unspent and no lease is running.
    pub available: bool,
    /// All boxes, oldest first.
    pub history: Vec<Listing>,
    /// Its leases (each in its newest state), newest first.
    pub leases: Vec<Lease>,
}

/// A lease box with its derived state: `running`, `overdue` (running past its deadline),
/// `completed` (in its challenge window), `settled`, `slashed`, `disputed`, `cancelled`, or
/// `superseded` (a box replaced by its completed successor).
#[derive(Clone, Serialize, ToSchema, QueryableByName)]
pub struct Lease {
    #[diesel(sql_type = Text)]
    pub box_id: String,
    #[diesel(sql_type = Text)]
    pub tx_id: String,
    #[diesel(sql_type = Text)]
    pub state: String,
    #[diesel(sql_type = Text)]
    pub consumer_pk: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub consumer_address: Option<String>,
    #[diesel(sql_type = Text)]
    pub provider_pk: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub provider_address: Option<String>,
    #[diesel(sql_type = Text)]
    pub listing_nft: String,
    #[diesel(sql_type = BigInt)]
    pub price_per_hour: i64,
    #[diesel(sql_type = BigInt)]
    pub hours: i64,
    #[diesel(sql_type = BigInt)]
    pub payment: i64,
    #[diesel(sql_type = BigInt)]
    pub collateral: i64,
    #[diesel(sql_type = BigInt)]
    pub start_height: i64,
    #[diesel(sql_type = BigInt)]
    pub deadline: i64,
    #[diesel(sql_type = BigInt)]
    pub exec_fee_cap: i64,
    #[diesel(sql_type = BigInt)]
    pub used_blocks: i64,
    /// −1 until the provider completes.
    #[diesel(sql_type = BigInt)]
    pub completed_at: i64,
    #[diesel(sql_type = Text)]
    pub job_spec_hash: String,
    #[diesel(sql_type = Integer)]
    pub height: i32,
    #[diesel(sql_type = Nullable<Text>)]
    pub spent_tx_id: Option<String>,
    /// Why the indexer holds this lease box for forged (created directly at the lease script,
    /// not by a match of its listing; PROTOCOL.md "Provenance"), or null for a genuine lease.
    /// Forged leases never count in reputation or availability.
    #[diesel(sql_type = Nullable<Text>)]
    pub forged: Option<String>,
}

/// One step of a lease's life: the box created and, when spent, the path that spent it.
#[derive(Serialize, ToSchema, QueryableByName)]
pub struct TimelineEvent {
    /// `matched` (the lease box created), or the spending path: `complete`, `finalise`,
    /// `accept`, `dispute`, `slash`, `cancel`.
    #[diesel(sql_type = Text)]
    pub event: String,
    #[diesel(sql_type = Text)]
    pub box_id: String,
    #[diesel(sql_type = Text)]
    pub tx_id: String,
    #[diesel(sql_type = Integer)]
    pub height: i32,
}

#[derive(Serialize, ToSchema)]
pub struct LeaseDetail {
    /// The newest box of the lease.
    pub lease: Lease,
    /// All boxes, oldest first.
    pub boxes: Vec<Lease>,
    pub timeline: Vec<TimelineEvent>,
}

/// An order box; `state`: `open`, `expired` (unspent past its expiry), `matched`, `cancelled`.
#[derive(Serialize, ToSchema, QueryableByName)]
pub struct Order {
    #[diesel(sql_type = Text)]
    pub box_id: String,
    #[diesel(sql_type = Text)]
    pub tx_id: String,
    #[diesel(sql_type = Text)]
    pub state: String,
    #[diesel(sql_type = Text)]
    pub consumer_pk: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub consumer_address: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub budget: i64,
    #[diesel(sql_type = BigInt)]
    pub max_price_per_hour: i64,
    #[diesel(sql_type = BigInt)]
    pub hours: i64,
    #[diesel(sql_type = BigInt)]
    pub min_vram_mib: i64,
    #[diesel(sql_type = BigInt)]
    pub min_gpu_count: i64,
    #[diesel(sql_type = BigInt)]
    pub min_benchmark_score: i64,
    /// The job's requests (R5[8..11], 0 = none): only listings whose limits cover them match.
    #[diesel(sql_type = BigInt)]
    pub memory_mib: i64,
    #[diesel(sql_type = BigInt)]
    pub cpu_millis: i64,
    #[diesel(sql_type = BigInt)]
    pub pids: i64,
    #[diesel(sql_type = BigInt)]
    pub disk_mib: i64,
    #[diesel(sql_type = BigInt)]
    pub expiry_height: i64,
    #[diesel(sql_type = BigInt)]
    pub matcher_fee_cap: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub listing_nft: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub model: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub region: Option<String>,
    #[diesel(sql_type = Text)]
    pub job_spec_hash: String,
    #[diesel(sql_type = Integer)]
    pub height: i32,
    #[diesel(sql_type = Nullable<Text>)]
    pub spent_tx_id: Option<String>,
}

/// Reputation from chain history only.
#[derive(Serialize, ToSchema, QueryableByName)]
pub struct Reputation {
    /// Leases matched on this provider's listings.
    #[diesel(sql_type = BigInt)]
    pub leases: i64,
    #[diesel(sql_type = BigInt)]
    pub completed: i64,
    #[diesel(sql_type = BigInt)]
    pub slashed: i64,
    #[diesel(sql_type = BigInt)]
    pub disputed: i64,
    /// completed / (completed + slashed); absent before the first outcome.
    #[diesel(sql_type = Nullable<Double>)]
    pub on_time_rate: Option<f64>,
    /// GPU hours delivered (used blocks of completed leases / 30).
    #[diesel(sql_type = Double)]
    pub total_hours: f64,
    /// The reputation score in [0, 1] that `GET /api/v1/listings` sorts (`sort=reputation`) and
    /// filters (`min_reputation`) on: (completed + 1) / (completed + slashed + 2), Laplace's rule
    /// of succession over finished leases. 0.5 (neutral) without finished leases; tends to
    /// `on_time_rate` as history accrues. Disputes are not scored.
    #[diesel(sql_type = Double)]
    pub score: f64,
}

#[derive(Serialize, ToSchema)]
pub struct Provider {
    pub address: String,
    pub provider_pk: String,
    pub reputation: Reputation,
    /// Current (unspent) listing boxes.
    pub listings: Vec<Listing>,
}

/// A LETS account as the member contract prices it (the contracts crate's own functions, at the
/// indexed pool boxes, for a transaction in the block after the indexer's tip).
#[derive(Serialize, ToSchema)]
pub struct LetsAccount {
    pub box_id: String,
    /// mGPUC; negative is debt.
    pub balance: i64,
    pub erg_collateral: i64,
    /// SigUSD cents held (also in `collateral`).
    pub sigusd_collateral: i64,
    /// Every listed collateral asset the account holds.
    pub collateral: Vec<CollateralHolding>,
    /// The debt in nanoERG at the ERG/USD rate (absent without debt or rate).
    pub debt_nanoerg: Option<f64>,
    /// ERG in full plus each priced asset × its collateral factor, nanoERG (rounded down per asset
    /// as the contract does); absent without an ERG/USD rate.
    pub borrow_value_nanoerg: Option<f64>,
    /// Borrowing value as % of the debt (absent without debt or rate); the contract requires
    /// `collateral_ratio_pct` of the deployment.
    pub collateral_ratio_pct: Option<f64>,
    /// The member contract's `healthy`: no debt, or borrowing value ≥ debt × ratio (absent when a
    /// debt cannot be priced: no fresh ERG/USD pool box indexed).
    pub healthy: Option<bool>,
    /// Whether anyone may liquidate it now: every held asset priced, and not healthy.
    pub liquidatable: bool,
}

/// One collateral asset held by an account.
#[derive(Serialize, ToSchema)]
pub struct CollateralHolding {
    pub name: String,
    pub token_id: String,
    /// Base units.
    pub amount: i64,
    pub decimals: u8,
    pub factor_pct: i64,
    /// nanoERG per whole token at its pool (absent: no fresh pool box indexed; counts 0).
    pub price_nanoerg: Option<i64>,
    /// Full value in nanoERG at that price.
    pub value_nanoerg: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct Account {
    pub address: String,
    /// nanoERG in unspent boxes at this address.
    pub erg: i64,
    /// mGPUC in unspent boxes at this address.
    pub gpuc: i64,
    /// The LETS member account of this key (P2PK addresses only).
    pub lets: Option<LetsAccount>,
}

#[derive(Clone, Serialize, ToSchema, QueryableByName)]
pub struct ModelStats {
    #[diesel(sql_type = Text)]
    pub model: String,
    #[diesel(sql_type = BigInt)]
    pub listings: i64,
    #[diesel(sql_type = BigInt)]
    pub leased: i64,
    #[diesel(sql_type = BigInt)]
    pub min_price: i64,
    #[diesel(sql_type = Double)]
    pub median_price: f64,
    #[diesel(sql_type = BigInt)]
    pub max_price: i64,
}

#[derive(Clone, Serialize, ToSchema)]
pub struct MarketStats {
    /// Per GPU model, current listings; prices in mGPUC per hour.
    pub models: Vec<ModelStats>,
    pub listings: i64,
    pub leased: i64,
    /// leased / listings.
    pub utilisation: Option<f64>,
    /// Leases ever matched and their payments (mGPUC).
    pub leases_total: i64,
    pub volume_total: i64,
    /// Payments of leases matched in the last 720 blocks (about a day).
    pub volume_last_720_blocks: i64,
}

#[derive(Serialize, ToSchema)]
pub struct Rates {
    pub pool_box_id: String,
    pub pool_height: i32,
    /// Oracle pool R4.
    pub nanoerg_per_usd: i64,
    pub erg_usd: f64,
    /// GPUC's protocol price.
    pub gpuc_usd: f64,
    pub gpuc_nanoerg: f64,
    pub gpuc_sigusd: f64,
    /// Every listed collateral asset at its own pool, as the member contract would price it in
    /// the next block.
    pub collateral: Vec<AssetRate>,
}

/// A listed collateral asset's price.
#[derive(Serialize, ToSchema)]
pub struct AssetRate {
    pub name: String,
    pub token_id: String,
    pub decimals: u8,
    pub factor_pct: i64,
    /// nanoERG per whole token; absent when no fresh pool box is indexed (the asset counts 0).
    pub nanoerg_per_token: Option<i64>,
    pub usd_per_token: Option<f64>,
}

/// One hop of a bridged deposit: the event, a payment to its destination, how it was spent.
#[derive(Serialize, ToSchema, QueryableByName)]
pub struct RosenPath {
    #[diesel(sql_type = Text)]
    pub source_tx_id: String,
    #[diesel(sql_type = Text)]
    pub from_chain: String,
    #[diesel(sql_type = Text)]
    pub amount: String,
    #[diesel(sql_type = Text)]
    pub to_address: String,
    #[diesel(sql_type = Integer)]
    pub event_height: i32,
    #[diesel(sql_type = Nullable<Text>)]
    pub payment_box_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub payment_tx_id: Option<String>,
    #[diesel(sql_type = Nullable<Integer>)]
    pub payment_height: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    pub spent_tx_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub spent_by_path: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RosenEvents {
    pub items: Vec<RosenPath>,
}

/// A box in the node's JSON, plus where it was included and spent (the names of the node's
/// blockchain API).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeBox {
    pub box_id: String,
    pub transaction_id: String,
    pub index: i32,
    pub value: i64,
    pub ergo_tree: String,
    pub creation_height: i32,
    pub assets: Vec<NodeAsset>,
    /// `R4`..`R9` → serialized constant, hex.
    #[schema(value_type = Object)]
    pub additional_registers: std::collections::BTreeMap<String, String>,
    /// Absent for a mempool output.
    pub inclusion_height: Option<i32>,
    /// Spending transaction (confirmed, or in the mempool with `include_mempool`).
    pub spent_transaction_id: Option<String>,
}

#[derive(Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeAsset {
    pub token_id: String,
    pub amount: i64,
}
