//! Every SQL query of the API. Functions run on a pooled connection inside `web::block`.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bytea, Integer, Nullable, Text};

use crate::model::*;
use crate::params::Cursor;
use crate::sql::{Bind, Sql};

type R<T> = Result<T, diesel::result::Error>;

const LISTING_COLS: &str = "encode(l.box_id, 'hex') AS box_id, encode(b.tx_id, 'hex') AS tx_id, \
    encode(l.listing_nft, 'hex') AS listing_nft, encode(l.provider_pk, 'hex') AS provider_pk, \
    NULL::text AS provider_address, l.price_per_hour, l.collateral_per_hour, l.min_hours, \
    l.max_hours, l.vram_mib, l.gpu_count, l.benchmark_score, l.model, l.region, l.endpoint, \
    l.stake, l.height, encode(b.spent_tx_id, 'hex') AS spent_tx_id, l.max_memory_mib, \
    l.max_cpu_millis, l.max_pids, l.max_disk_mib, l.busy_until";

/// A lease is running while its first box (completedAt = −1) is unspent.
const LEASED: &str = "EXISTS (SELECT 1 FROM leases le JOIN boxes lb ON lb.box_id = le.box_id \
    WHERE le.listing_nft = l.listing_nft AND le.completed_at < 0 AND lb.spent_height IS NULL \
    AND le.forged IS NULL)";

/// `lz.leased` for the page row `x`: a LATERAL with LIMIT 1 keeps it a per-row index probe;
/// as an EXISTS in the select list PostgreSQL may hash every running lease instead (seen at
/// 100k listings: 31 ms against 2 ms).
const LEASED_LATERAL: &str = "LEFT JOIN LATERAL (SELECT true AS leased FROM leases le \
    JOIN boxes lb ON lb.box_id = le.box_id WHERE le.listing_nft = x.nft AND le.completed_at < 0 \
    AND lb.spent_height IS NULL AND le.forged IS NULL LIMIT 1) lz ON true";

/// A provider's reputation score in [0, 1], defined once in SQL (`reputation_score`, migration
/// `2026-11-26-000006_reputation`): Laplace's rule of succession over finished leases,
/// `(completed + 1) / (completed + slashed + 2)`. A provider without finished leases scores the
/// neutral prior 0.5; with history the score tends to the on-time rate
/// `completed / (completed + slashed)`. Disputes are reported but not scored (arbitration decides
/// them, and a disputed lease was completed first). `r` is the provider's row of the
/// `provider_reputation` view, NULL when it has no lease boxes.
pub const REPUTATION_SCORE: &str =
    "reputation_score(COALESCE(r.completed, 0), COALESCE(r.slashed, 0))";

/// `r` for the provider key `pk`: a primary-key probe of the counters the indexer keeps
/// (`provider_stats`, read through the `provider_reputation` view).
fn reputation_join(pk: &str) -> String {
    format!("LEFT JOIN provider_reputation r ON r.provider_pk = {pk}")
}

/// [`reputation_join`] as one primary-key probe per row of a page: `OFFSET 0` keeps PostgreSQL
/// from turning it into a hash of every provider's counters (0.5 ms a page at 3,000 providers).
fn reputation_probe(pk: &str) -> String {
    format!(
        "LEFT JOIN LATERAL (SELECT * FROM provider_reputation WHERE provider_pk = {pk} OFFSET 0) r \
         ON true"
    )
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ListingSort {
    /// Cheapest first.
    Price,
    /// Most VRAM first.
    Vram,
    /// Most recently created box first.
    Newest,
    /// Highest provider reputation first.
    Reputation,
}

impl ListingSort {
    pub fn parse(s: &str) -> Option<ListingSort> {
        match s {
            "price" => Some(ListingSort::Price),
            "vram" => Some(ListingSort::Vram),
            "newest" => Some(ListingSort::Newest),
            "reputation" => Some(ListingSort::Reputation),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ListingSort::Price => "price",
            ListingSort::Vram => "vram",
            ListingSort::Newest => "newest",
            ListingSort::Reputation => "reputation",
        }
    }

    /// (sort expression over `l` and `r`, its name in the page, ascending)
    fn column(self) -> (&'static str, &'static str, bool) {
        match self {
            ListingSort::Price => ("l.price_per_hour", "price_per_hour", true),
            ListingSort::Vram => ("l.vram_mib", "vram_mib", false),
            ListingSort::Newest => ("l.height", "height", false),
            // `r.score` is the indexed expression (`provider_stats_score`) of the counters.
            ListingSort::Reputation => ("r.score", "reputation", false),
        }
    }

    /// The cursor key of `l`; a reputation travels as the bits of its f64 (exact, so the
    /// keyset comparison in SQL sees the very value it returned).
    pub fn key(self, l: &Listing) -> i64 {
        match self {
            ListingSort::Price => l.price_per_hour,
            ListingSort::Vram => l.vram_mib,
            ListingSort::Newest => l.height as i64,
            ListingSort::Reputation => l.reputation.to_bits() as i64,
        }
    }

    /// The cursor id of `l`: its box id, after the provider key for `reputation` (whose ties are
    /// broken by provider, then box: the order of walking providers by score).
    pub fn cursor_id(self, l: &Listing) -> Vec<u8> {
        let box_id = hex::decode(&l.box_id).unwrap_or_default();
        match self {
            ListingSort::Reputation => {
                [hex::decode(&l.provider_pk).unwrap_or_default(), box_id].concat()
            }
            _ => box_id,
        }
    }

    fn key_bind(self, key: i64) -> Bind {
        match self {
            ListingSort::Reputation => Bind::Float(f64::from_bits(key as u64)),
            _ => Bind::Int(key),
        }
    }
}

#[derive(Default)]
pub struct ListingFilter {
    pub model: Option<String>,
    pub region: Option<String>,
    pub min_vram_mib: Option<i64>,
    pub min_gpus: Option<i64>,
    pub max_price: Option<i64>,
    pub available: Option<bool>,
    /// Provider reputation at least this (0..=1, see [`REPUTATION_SCORE`]).
    pub min_reputation: Option<f64>,
}

/// Current listings (unspent boxes) matching `f`, keyset-paginated on (sort key, box id); the
/// box id breaks ties in the sort's direction, so one index (key, box_id) serves both.
pub fn listings(
    c: &mut PgConnection,
    f: &ListingFilter,
    sort: ListingSort,
    cursor: Option<&Cursor>,
    limit: i64,
) -> R<Vec<Listing>> {
    listings_sql(f, sort, cursor, limit).query().load(c)
}

/// The SQL of [`listings`] with its binds (also explained by `dgcm bench api --explain`).
pub fn listings_sql(
    f: &ListingFilter,
    sort: ListingSort,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Sql {
    // The page is cut first and `leased` computed for its rows only: in the select list of the
    // whole search PostgreSQL would hash every running lease instead. So is the reputation,
    // unless the search sorts or filters on it: then it is joined in before the cut.
    let inner_rep = sort == ListingSort::Reputation || f.min_reputation.is_some();
    let (rep_join, rep_col, outer_join, outer_col) = if inner_rep {
        (
            // Every provider with a listing box has counters, so the join is inner: PostgreSQL
            // may then walk providers by score and each one's listings, stopping at the page.
            "JOIN provider_reputation r ON r.provider_pk = l.provider_pk".to_string(),
            ", r.score AS reputation".to_string(),
            String::new(),
            String::new(),
        )
    } else {
        (
            String::new(),
            String::new(),
            reputation_probe("x.ppk"),
            format!(", {REPUTATION_SCORE} AS reputation"),
        )
    };
    // With `available` given, every row of the page is known to be free (or leased).
    let (leased_col, leased_join) = match f.available {
        Some(available) => (if available { "false" } else { "true" }, ""),
        None => ("COALESCE(lz.leased, false)", LEASED_LATERAL),
    };
    let mut q = Sql::new(format!(
        "SELECT x.*{outer_col}, {leased_col} AS leased FROM (SELECT {LISTING_COLS}{rep_col}, l.listing_nft AS nft, l.box_id AS raw_id, \
         l.provider_pk AS ppk FROM listings l \
         JOIN boxes b ON b.box_id = l.box_id {rep_join} WHERE b.spent_height IS NULL"
    ));
    if let Some(m) = &f.model {
        let p = q.bind(Bind::Text(m.clone()));
        q.push(&format!(" AND l.model = {p}"));
    }
    if let Some(r) = &f.region {
        let p = q.bind(Bind::Text(r.clone()));
        q.push(&format!(" AND l.region = {p}"));
    }
    if let Some(v) = f.min_vram_mib {
        let p = q.bind(Bind::Int(v));
        q.push(&format!(" AND l.vram_mib >= {p}"));
    }
    if let Some(v) = f.min_gpus {
        let p = q.bind(Bind::Int(v));
        q.push(&format!(" AND l.gpu_count >= {p}"));
    }
    if let Some(v) = f.max_price {
        let p = q.bind(Bind::Int(v));
        q.push(&format!(" AND l.price_per_hour <= {p}"));
    }
    if let Some(v) = f.min_reputation {
        let p = q.bind(Bind::Float(v));
        q.push(&format!(" AND r.score >= {p}"));
    }
    match f.available {
        Some(true) => q.push(&format!(" AND NOT {LEASED}")),
        Some(false) => q.push(&format!(" AND {LEASED}")),
        None => {}
    }
    let (col, outer, asc) = sort.column();
    let by_provider = sort == ListingSort::Reputation;
    if let Some(cur) = cursor {
        let k = q.bind(sort.key_bind(cur.key));
        let op = if asc { ">" } else { "<" };
        if by_provider {
            // id = provider key ++ box id (32 bytes); a forged split only yields another page.
            let (pk, id) = cur.id.split_at(cur.id.len().saturating_sub(32));
            let pk = q.bind(Bind::Bytes(pk.to_vec()));
            let id = q.bind(Bind::Bytes(id.to_vec()));
            q.push(&format!(
                " AND ({col}, l.provider_pk, l.box_id) {op} ({k}, {pk}, {id})"
            ));
        } else {
            let id = q.bind(Bind::Bytes(cur.id.clone()));
            q.push(&format!(" AND ({col}, l.box_id) {op} ({k}, {id})"));
        }
    }
    let dir = if asc { "ASC" } else { "DESC" };
    let (tie, outer_tie) = if by_provider {
        (format!("l.provider_pk {dir}, "), format!("x.ppk {dir}, "))
    } else {
        (String::new(), String::new())
    };
    let lim = q.bind(Bind::Int(limit));
    q.push(&format!(
        " ORDER BY {col} {dir}, {tie}l.box_id {dir} LIMIT {lim}) x {leased_join} {outer_join}"
    ));
    // The outer query keeps the inner order (PostgreSQL does not promise it without ORDER BY).
    q.push(&format!(
        " ORDER BY x.{outer} {dir}, {outer_tie}x.raw_id {dir}"
    ));
    q
}

/// Every box of one listing NFT, oldest first.
pub fn listing_history(c: &mut PgConnection, nft: &[u8]) -> R<Vec<Listing>> {
    diesel::sql_query(format!(
        "SELECT {LISTING_COLS}, {REPUTATION_SCORE} AS reputation, {LEASED} AS leased \
         FROM listings l JOIN boxes b ON b.box_id = l.box_id {} \
         WHERE l.listing_nft = $1 ORDER BY l.height, l.box_id",
        reputation_join("l.provider_pk")
    ))
    .bind::<Bytea, _>(nft)
    .load(c)
}

/// Lease boxes with their state. A box spent on the `complete` path lives on in its successor;
/// every other spend ends the lease. The current states restate
/// `dgcm_contracts::lease::LeaseTerms::phase` for the next block (tip + 1): `overdue` = a slash is
/// valid in it (`deadline < tip + 1`); the API's tests check the SQL against `phase`.
const LEASE_SELECT: &str =
    "SELECT encode(le.box_id, 'hex') AS box_id, encode(b.tx_id, 'hex') AS tx_id, \
    CASE WHEN b.spent_height IS NULL THEN \
        CASE WHEN le.completed_at >= 0 THEN 'completed' \
             WHEN le.deadline <= (SELECT height FROM sync_cursor) THEN 'overdue' ELSE 'running' END \
    ELSE CASE pp.name WHEN 'finalise' THEN 'settled' WHEN 'accept' THEN 'settled' \
        WHEN 'slash' THEN 'slashed' WHEN 'dispute' THEN 'disputed' WHEN 'cancel' THEN 'cancelled' \
        WHEN 'complete' THEN 'superseded' ELSE 'spent' END END AS state, \
    encode(le.consumer_pk, 'hex') AS consumer_pk, NULL::text AS consumer_address, \
    encode(le.provider_pk, 'hex') AS provider_pk, NULL::text AS provider_address, \
    encode(le.listing_nft, 'hex') AS listing_nft, le.price_per_hour, le.hours, le.payment, \
    le.collateral, le.start_height, le.deadline, le.exec_fee_cap, le.used_blocks, le.completed_at, \
    encode(le.job_spec_hash, 'hex') AS job_spec_hash, le.height, \
    encode(b.spent_tx_id, 'hex') AS spent_tx_id, le.forged, le.box_id AS raw_id \
    FROM leases le JOIN boxes b ON b.box_id = le.box_id \
    LEFT JOIN inputs i ON i.box_id = le.box_id \
    LEFT JOIN protocol_paths pp ON pp.kind = 'lease' AND pp.path = i.path";

pub const LEASE_STATES: &[&str] = &[
    "running",
    "overdue",
    "completed",
    "settled",
    "slashed",
    "disputed",
    "cancelled",
];

#[derive(Default)]
pub struct LeaseFilter {
    pub consumer_pk: Option<Vec<u8>>,
    pub provider_pk: Option<Vec<u8>>,
    pub listing_nft: Option<Vec<u8>>,
    pub state: Option<String>,
}

/// Leases in their newest state, newest first, keyset on (height, box id).
pub fn leases(
    c: &mut PgConnection,
    f: &LeaseFilter,
    cursor: Option<&Cursor>,
    limit: i64,
) -> R<Vec<Lease>> {
    let mut q = Sql::new(format!(
        "SELECT * FROM ({LEASE_SELECT} WHERE pp.name IS DISTINCT FROM 'complete'"
    ));
    for (col, v) in [
        ("le.consumer_pk", &f.consumer_pk),
        ("le.provider_pk", &f.provider_pk),
        ("le.listing_nft", &f.listing_nft),
    ] {
        if let Some(v) = v {
            let p = q.bind(Bind::Bytes(v.clone()));
            q.push(&format!(" AND {col} = {p}"));
        }
    }
    // The state is computed per row (LEASE_SELECT); for a filter on it, its definition goes in
    // the inner query instead, as conditions an index can serve, or a rare state walks the whole
    // lease history by height (0.2–0.6 s at 55k lease boxes). Current states start from the
    // unspent lease boxes (`boxes_unspent_kind`) and sort them all (there are as many as running
    // leases): ordering by `height + 0` keeps PostgreSQL from walking `leases_height` in the hope
    // of an early stop that never comes when few match. Ended states start from the spends on
    // their path (`inputs_path`), with the path numbers as literals so the planner sees how
    // many spends each has.
    let mut order_by_index = true;
    let mut computed_state = None;
    match f.state.as_deref() {
        None => {}
        Some(current @ ("running" | "overdue" | "completed")) => {
            // OFFSET 0: the unspent lease boxes are gathered first, as their own step.
            q.push(
                " AND b.spent_height IS NULL AND le.box_id IN (SELECT box_id FROM boxes \
                 WHERE kind = 'lease' AND spent_height IS NULL OFFSET 0)",
            );
            q.push(match current {
                "running" => {
                    " AND le.completed_at < 0 AND le.deadline > (SELECT height FROM sync_cursor)"
                }
                "overdue" => {
                    " AND le.completed_at < 0 AND le.deadline <= (SELECT height FROM sync_cursor)"
                }
                _ => " AND le.completed_at >= 0",
            });
            order_by_index = false;
        }
        Some(ended @ ("settled" | "slashed" | "disputed" | "cancelled")) => {
            let names: &[&str] = match ended {
                "settled" => &["finalise", "accept"],
                "slashed" => &["slash"],
                "disputed" => &["dispute"],
                _ => &["cancel"],
            };
            let paths = lease_paths(c, names)?;
            let list: Vec<String> = paths.iter().map(i16::to_string).collect();
            // No path of that name (an empty table) matches nothing, as the state would.
            let list = if list.is_empty() {
                "NULL".to_string()
            } else {
                list.join(", ")
            };
            q.push(&format!(" AND i.path IN ({list})"));
        }
        other => computed_state = other,
    }
    newest_first_page(&mut q, computed_state, cursor, limit, order_by_index);
    q.query().load(c)
}

/// The path numbers of the lease's spending paths named `names` (`protocol_paths`, from
/// PROTOCOL.md).
fn lease_paths(c: &mut PgConnection, names: &[&str]) -> R<Vec<i16>> {
    #[derive(QueryableByName)]
    struct P {
        #[diesel(sql_type = diesel::sql_types::SmallInt)]
        path: i16,
    }
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    Ok(diesel::sql_query(
        "SELECT path FROM protocol_paths WHERE kind = 'lease' AND name = ANY($1) ORDER BY path",
    )
    .bind::<diesel::sql_types::Array<Text>, _>(names)
    .load::<P>(c)?
    .into_iter()
    .map(|p| p.path)
    .collect())
}

/// All boxes of the lease that `box_id` belongs to (same listing, consumer, start and job),
/// oldest first; empty when `box_id` is no lease box.
pub fn lease_boxes(c: &mut PgConnection, box_id: &[u8]) -> R<Vec<Lease>> {
    diesel::sql_query(format!(
        "{LEASE_SELECT} WHERE (le.listing_nft, le.consumer_pk, le.start_height, le.job_spec_hash) = \
         (SELECT listing_nft, consumer_pk, start_height, job_spec_hash FROM leases WHERE box_id = $1) \
         ORDER BY le.height, le.box_id"
    ))
    .bind::<Bytea, _>(box_id)
    .load(c)
}

/// The creation of the first box (`matched`) and every spend of the given lease boxes.
pub fn lease_timeline(
    c: &mut PgConnection,
    first: &[u8],
    ids: &[Vec<u8>],
) -> R<Vec<TimelineEvent>> {
    diesel::sql_query(
        "SELECT 'matched' AS event, encode(box_id, 'hex') AS box_id, encode(tx_id, 'hex') AS tx_id, height \
         FROM boxes WHERE box_id = $1 \
         UNION ALL \
         SELECT COALESCE(path_name, 'spent'), encode(box_id, 'hex'), encode(tx_id, 'hex'), height \
         FROM protocol_events WHERE box_id = ANY($2) \
         ORDER BY height",
    )
    .bind::<Bytea, _>(first)
    .bind::<diesel::sql_types::Array<Bytea>, _>(ids)
    .load(c)
}

const ORDER_SELECT: &str = "SELECT encode(o.box_id, 'hex') AS box_id, encode(b.tx_id, 'hex') AS tx_id, \
    CASE WHEN b.spent_height IS NULL THEN \
        CASE WHEN o.expiry_height < (SELECT height FROM sync_cursor) THEN 'expired' ELSE 'open' END \
    ELSE CASE pp.name WHEN 'match' THEN 'matched' WHEN 'cancel' THEN 'cancelled' ELSE 'spent' END END AS state, \
    encode(o.consumer_pk, 'hex') AS consumer_pk, NULL::text AS consumer_address, o.budget, \
    o.max_price_per_hour, o.hours, o.min_vram_mib, o.min_gpu_count, o.min_benchmark_score, \
    o.memory_mib, o.cpu_millis, o.pids, o.disk_mib, \
    o.expiry_height, o.matcher_fee_cap, encode(o.listing_nft, 'hex') AS listing_nft, o.model, o.region, \
    encode(o.job_spec_hash, 'hex') AS job_spec_hash, o.height, \
    encode(b.spent_tx_id, 'hex') AS spent_tx_id, o.box_id AS raw_id \
    FROM orders o JOIN boxes b ON b.box_id = o.box_id \
    LEFT JOIN inputs i ON i.box_id = o.box_id \
    LEFT JOIN protocol_paths pp ON pp.kind = 'order' AND pp.path = i.path";

pub const ORDER_STATES: &[&str] = &["open", "expired", "matched", "cancelled"];

#[derive(Default)]
pub struct OrderFilter {
    pub consumer_pk: Option<Vec<u8>>,
    pub model: Option<String>,
    pub state: Option<String>,
}

pub fn orders(
    c: &mut PgConnection,
    f: &OrderFilter,
    cursor: Option<&Cursor>,
    limit: i64,
) -> R<Vec<Order>> {
    let mut q = Sql::new(format!("SELECT * FROM ({ORDER_SELECT} WHERE true"));
    if let Some(v) = &f.consumer_pk {
        let p = q.bind(Bind::Bytes(v.clone()));
        q.push(&format!(" AND o.consumer_pk = {p}"));
    }
    if let Some(v) = &f.model {
        let p = q.bind(Bind::Text(v.clone()));
        q.push(&format!(" AND o.model = {p}"));
    }
    newest_first_page(&mut q, f.state.as_deref(), cursor, limit, true);
    q.query().load(c)
}

/// Closes a `SELECT ... FROM (...) x` of rows with `state`, `height` and `raw_id`: the optional
/// state filter and one newest-first keyset page (height descending, box id ascending).
fn newest_first_page(
    q: &mut Sql,
    state: Option<&str>,
    cursor: Option<&Cursor>,
    limit: i64,
    order_by_index: bool,
) {
    q.push(") x WHERE true");
    if let Some(s) = state {
        let p = q.bind(Bind::Text(s.to_string()));
        q.push(&format!(" AND state = {p}"));
    }
    if let Some(cur) = cursor {
        let k = q.bind(Bind::Int(cur.key));
        let id = q.bind(Bind::Bytes(cur.id.clone()));
        q.push(&format!(
            " AND (height < {k} OR (height = {k} AND raw_id > {id}))"
        ));
    }
    let lim = q.bind(Bind::Int(limit));
    let key = if order_by_index {
        "height"
    } else {
        "height + 0"
    };
    q.push(&format!(" ORDER BY {key} DESC, raw_id ASC LIMIT {lim}"));
}

pub fn order(c: &mut PgConnection, box_id: &[u8]) -> R<Option<Order>> {
    diesel::sql_query(format!("{ORDER_SELECT} WHERE o.box_id = $1"))
        .bind::<Bytea, _>(box_id)
        .get_result(c)
        .optional()
}

/// One provider's reputation: its row of the `provider_reputation` view (zeros and the neutral
/// score without lease boxes), scored by [`REPUTATION_SCORE`] as the listing search is.
pub fn reputation(c: &mut PgConnection, provider_pk: &[u8]) -> R<Reputation> {
    diesel::sql_query(format!(
        "SELECT COALESCE(r.leases, 0) AS leases, COALESCE(r.completed, 0) AS completed, \
         COALESCE(r.slashed, 0) AS slashed, COALESCE(r.disputed, 0) AS disputed, \
         r.on_time_rate, COALESCE(r.total_hours, 0) AS total_hours, {REPUTATION_SCORE} AS score \
         FROM (SELECT $1::bytea AS pk) p {}",
        reputation_join("p.pk")
    ))
    .bind::<Bytea, _>(provider_pk)
    .get_result(c)
}

pub fn provider_listings(c: &mut PgConnection, provider_pk: &[u8]) -> R<Vec<Listing>> {
    diesel::sql_query(format!(
        "SELECT {LISTING_COLS}, {REPUTATION_SCORE} AS reputation, {LEASED} AS leased \
         FROM listings l JOIN boxes b ON b.box_id = l.box_id {} \
         WHERE l.provider_pk = $1 AND b.spent_height IS NULL ORDER BY l.height DESC, l.box_id",
        reputation_join("l.provider_pk")
    ))
    .bind::<Bytea, _>(provider_pk)
    .load(c)
}

#[derive(QueryableByName)]
pub struct Balance {
    #[diesel(sql_type = BigInt)]
    pub erg: i64,
    #[diesel(sql_type = BigInt)]
    pub token: i64,
}

/// nanoERG and amount of `token` in unspent boxes guarded by `tree`.
pub fn balance(c: &mut PgConnection, tree: &[u8], token: &[u8]) -> R<Balance> {
    // md5(ergo_tree) is what `boxes_tree_hash` indexes (unspent boxes only).
    diesel::sql_query(
        "SELECT COALESCE(sum(b.value), 0)::bigint AS erg, \
         COALESCE(sum((SELECT sum(a.amount) FROM assets a WHERE a.box_id = b.box_id AND a.token_id = $2)), 0)::bigint AS token \
         FROM boxes b WHERE md5(b.ergo_tree) = md5($1) AND b.ergo_tree = $1 AND b.spent_height IS NULL",
    )
    .bind::<Bytea, _>(tree)
    .bind::<Bytea, _>(token)
    .get_result(c)
}

/// The owner's unspent LETS member box (the newest, should there be several): balance, ERG and
/// every token it holds beside the membership token. Health is not computed here: the API
/// prices it with the contracts crate (`dgcm_contracts::lets_member`).
pub fn lets_account(c: &mut PgConnection, owner_pk: &[u8]) -> R<Option<LetsRow>> {
    let row: Option<LetsRow> = diesel::sql_query(
        "SELECT encode(a.box_id, 'hex') AS box_id, a.balance, a.erg_collateral, a.sigusd_collateral \
         FROM lets_accounts a JOIN boxes b ON b.box_id = a.box_id \
         WHERE a.owner_pk = $1 AND b.spent_height IS NULL ORDER BY a.height DESC LIMIT 1",
    )
    .bind::<Bytea, _>(owner_pk)
    .get_result(c)
    .optional()?;
    Ok(row)
}

#[derive(QueryableByName)]
pub struct LetsRow {
    #[diesel(sql_type = Text)]
    pub box_id: String,
    #[diesel(sql_type = BigInt)]
    pub balance: i64,
    #[diesel(sql_type = BigInt)]
    pub erg_collateral: i64,
    #[diesel(sql_type = BigInt)]
    pub sigusd_collateral: i64,
}

#[derive(QueryableByName)]
pub struct BoxToken {
    #[diesel(sql_type = Bytea)]
    pub token_id: Vec<u8>,
    #[diesel(sql_type = BigInt)]
    pub amount: i64,
}

/// Every token of a box (by hex id), in box order.
pub fn box_tokens(c: &mut PgConnection, box_id_hex: &str) -> R<Vec<BoxToken>> {
    diesel::sql_query(
        "SELECT token_id, amount FROM assets WHERE box_id = decode($1, 'hex') ORDER BY asset_index",
    )
    .bind::<Text, _>(box_id_hex)
    .load(c)
}

/// Per model over the current listings. Whether a listing is leased is one hash join with the
/// listing NFTs of the running leases (gathered from the unspent lease boxes), not an EXISTS
/// probe per listing (0.75 s at 100k listings).
pub fn model_stats(c: &mut PgConnection) -> R<Vec<ModelStats>> {
    diesel::sql_query(
        "WITH running AS (SELECT DISTINCT le.listing_nft FROM boxes lb \
             JOIN leases le ON le.box_id = lb.box_id \
             WHERE lb.kind = 'lease' AND lb.spent_height IS NULL AND le.completed_at < 0 \
               AND le.forged IS NULL) \
         SELECT l.model, count(*) AS listings, count(r.listing_nft) AS leased, \
         min(l.price_per_hour) AS min_price, \
         percentile_cont(0.5) WITHIN GROUP (ORDER BY l.price_per_hour) AS median_price, \
         max(l.price_per_hour) AS max_price \
         FROM listings l JOIN boxes b ON b.box_id = l.box_id \
         LEFT JOIN running r ON r.listing_nft = l.listing_nft WHERE b.spent_height IS NULL \
         GROUP BY l.model ORDER BY l.model",
    )
    .load(c)
}

#[derive(QueryableByName)]
pub struct Volume {
    #[diesel(sql_type = BigInt)]
    pub leases: i64,
    #[diesel(sql_type = BigInt)]
    pub total: i64,
    #[diesel(sql_type = BigInt)]
    pub recent: i64,
}

/// Every lease has exactly one box with completedAt = −1 (the one the match created); forged
/// leases are not market volume.
pub fn volume(c: &mut PgConnection) -> R<Volume> {
    diesel::sql_query(
        "SELECT count(*) AS leases, COALESCE(sum(payment), 0)::bigint AS total, \
         COALESCE(sum(payment) FILTER (WHERE height > (SELECT height FROM sync_cursor) - 720), 0)::bigint AS recent \
         FROM leases WHERE completed_at < 0 AND forged IS NULL",
    )
    .get_result(c)
}

#[derive(QueryableByName)]
pub struct PoolBox {
    #[diesel(sql_type = Text)]
    pub box_id: String,
    #[diesel(sql_type = Integer)]
    pub height: i32,
    #[diesel(sql_type = Integer)]
    pub creation_height: i32,
    #[diesel(sql_type = Nullable<Bytea>)]
    pub r4: Option<Vec<u8>>,
}

pub fn pool_box(c: &mut PgConnection, nft: &[u8]) -> R<Option<PoolBox>> {
    diesel::sql_query(
        "SELECT encode(b.box_id, 'hex') AS box_id, b.height, b.creation_height, r.serialized AS r4 \
         FROM assets a JOIN boxes b ON b.box_id = a.box_id \
         LEFT JOIN registers r ON r.box_id = b.box_id AND r.register = 4 \
         WHERE a.token_id = $1 AND b.spent_height IS NULL ORDER BY b.height DESC LIMIT 1",
    )
    .bind::<Bytea, _>(nft)
    .get_result(c)
    .optional()
}

pub fn rosen_paths(c: &mut PgConnection, source_tx: &str) -> R<Vec<RosenPath>> {
    diesel::sql_query(
        "SELECT source_tx_id, from_chain, amount, to_address, event_height, \
         encode(payment_box_id, 'hex') AS payment_box_id, encode(payment_tx_id, 'hex') AS payment_tx_id, \
         payment_height, encode(spent_tx_id, 'hex') AS spent_tx_id, spent_by_path \
         FROM rosen_paths WHERE source_tx_id = $1 ORDER BY event_height, payment_height, payment_box_id",
    )
    .bind::<Text, _>(source_tx)
    .load(c)
}

#[derive(QueryableByName)]
pub struct Tip {
    #[diesel(sql_type = Integer)]
    pub height: i32,
    #[diesel(sql_type = Text)]
    pub header_id: String,
}

pub fn tip(c: &mut PgConnection) -> R<Option<Tip>> {
    diesel::sql_query("SELECT height, encode(header_id, 'hex') AS header_id FROM sync_cursor")
        .get_result(c)
        .optional()
}
