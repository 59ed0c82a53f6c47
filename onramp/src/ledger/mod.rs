//! The ledger in PostgreSQL (diesel, embedded migrations): orders, their payout transactions,
//! webhook events and an order log.
//!
//! Exactly-once rests on three database facts, each enforced by a constraint or a conditional
//! update rather than by the code's good behaviour:
//! - an event is recorded once (`onramp_events` primary key `(provider, event_id)`): a redelivered
//!   webhook finds its row and changes nothing;
//! - an order moves to `paid` only from a state that has not been paid (`UPDATE … WHERE status IN
//!   (…)` under `SELECT … FOR UPDATE`);
//! - an order has at most one payout transaction (`onramp_payouts` primary key `order_id`), written
//!   with the signed bytes in the same database transaction that moves the order from `paid` to
//!   `signed`, before anything is sent to the node. Afterwards only those bytes are broadcast.

pub mod schema;

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamptz};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use time::OffsetDateTime;

use schema::{onramp_events, onramp_order_log, onramp_orders, onramp_payments, onramp_payouts};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type PgPool = Pool<ConnectionManager<PgConnection>>;
pub type PgConn = PooledConnection<ConnectionManager<PgConnection>>;

/// Advisory lock held by the one fulfilment worker (across all instances on a database).
pub const WORKER_LOCK: i64 = 0x6f6e_7261_6d70_0001;
/// Transaction-scoped advisory lock that serialises limit checks.
pub const LIMITS_LOCK: i64 = 0x6f6e_7261_6d70_0002;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("database: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("database connection: {0}")]
    Pool(String),
    #[error("migrations: {0}")]
    Migrations(String),
    #[error("{0}")]
    Conflict(String),
}

/// Where an order stands. Stored as text (`as_str`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Priced; nobody has committed to it.
    Quoted,
    /// A checkout session exists (or is being created); counts towards the limits.
    CheckoutOpen,
    /// The provider reported a payment that is still clearing (bank transfer).
    PaymentPending,
    /// Paid; the asset is owed and no transaction exists yet.
    Paid,
    /// The payout transaction is signed and recorded; not yet known to the node.
    Signed,
    /// The node has (or had) the transaction; confirmations are being counted.
    Submitted,
    /// Enough confirmations: done.
    Confirmed,
    /// Paid but must not be filled (quote expired before payment, amount mismatch).
    RefundRequired,
    /// Refunded through the provider.
    Refunded,
    /// Not paid before the quote expired.
    Expired,
    /// The provider reported the checkout failed or expired.
    Canceled,
    /// The payout's inputs were spent by something else and the transaction is not on chain:
    /// it will not be re-signed automatically (that could pay twice); an operator must look.
    Stuck,
}

impl Status {
    pub const ALL: [Status; 12] = [
        Status::Quoted,
        Status::CheckoutOpen,
        Status::PaymentPending,
        Status::Paid,
        Status::Signed,
        Status::Submitted,
        Status::Confirmed,
        Status::RefundRequired,
        Status::Refunded,
        Status::Expired,
        Status::Canceled,
        Status::Stuck,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Quoted => "quoted",
            Status::CheckoutOpen => "checkout_open",
            Status::PaymentPending => "payment_pending",
            Status::Paid => "paid",
            Status::Signed => "signed",
            Status::Submitted => "submitted",
            Status::Confirmed => "confirmed",
            Status::RefundRequired => "refund_required",
            Status::Refunded => "refunded",
            Status::Expired => "expired",
            Status::Canceled => "canceled",
            Status::Stuck => "stuck",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Statuses whose amount counts towards the limits: paid, or a payment clearing. An open
    /// checkout reserves nothing (anyone can open one for any address, unpaid, and would hold
    /// that address's limit for the quote's lifetime); a payment that would exceed a limit is
    /// flagged for refund when it arrives ([`record_event`]).
    pub const COMMITTED: [Status; 6] = [
        Status::PaymentPending,
        Status::Paid,
        Status::Signed,
        Status::Submitted,
        Status::Confirmed,
        Status::Stuck,
    ];

    /// The payment has been accepted for fulfilment (whatever happened since).
    pub fn is_paid(self) -> bool {
        matches!(
            self,
            Status::Paid | Status::Signed | Status::Submitted | Status::Confirmed | Status::Stuck
        )
    }
}

fn names(list: &[Status]) -> Vec<&'static str> {
    list.iter().map(|s| s.as_str()).collect()
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = onramp_orders)]
pub struct OrderRow {
    pub id: String,
    pub status: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub fiat_currency: String,
    pub fiat_cents: i64,
    pub fee_cents: i64,
    pub asset: String,
    pub asset_amount: i64,
    pub box_nanoerg: i64,
    pub rate: serde_json::Value,
    pub address: String,
    pub ergo_tree: Vec<u8>,
    pub attempts: i32,
    pub next_attempt_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
}

/// The provider's side of an order (exists from the checkout on).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = onramp_payments)]
pub struct PaymentRow {
    pub order_id: String,
    pub provider: String,
    pub checkout_id: Option<String>,
    pub checkout_url: Option<String>,
    pub checkout_at: OffsetDateTime,
    pub payment_id: Option<String>,
    pub paid_cents: Option<i64>,
    pub paid_currency: Option<String>,
    pub paid_at: Option<OffsetDateTime>,
    pub refund_reason: Option<String>,
    pub refund_flagged_at: Option<OffsetDateTime>,
    pub refund_id: Option<String>,
    /// Why the money went back after the payment was accepted (a refund we did not ask for, a
    /// dispute), the latest first: the order is flagged for an operator.
    pub chargeback: Option<String>,
    pub chargeback_at: Option<OffsetDateTime>,
}

/// An order with its provider side.
#[derive(Debug, Clone)]
pub struct Order {
    pub row: OrderRow,
    pub payment: Option<PaymentRow>,
}

impl std::ops::Deref for Order {
    type Target = OrderRow;
    fn deref(&self) -> &OrderRow {
        &self.row
    }
}

impl From<(OrderRow, Option<PaymentRow>)> for Order {
    fn from((row, payment): (OrderRow, Option<PaymentRow>)) -> Order {
        Order { row, payment }
    }
}

impl Order {
    pub fn status(&self) -> Option<Status> {
        Status::parse(&self.row.status)
    }
    pub fn checkout_id(&self) -> Option<&str> {
        self.payment.as_ref().and_then(|p| p.checkout_id.as_deref())
    }
    pub fn checkout_url(&self) -> Option<&str> {
        self.payment
            .as_ref()
            .and_then(|p| p.checkout_url.as_deref())
    }
    pub fn payment_id(&self) -> Option<&str> {
        self.payment.as_ref().and_then(|p| p.payment_id.as_deref())
    }
    pub fn paid_cents(&self) -> Option<i64> {
        self.payment.as_ref().and_then(|p| p.paid_cents)
    }
}

/// A new quote.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = onramp_orders)]
pub struct NewOrder {
    pub id: String,
    pub status: String,
    pub expires_at: OffsetDateTime,
    pub fiat_currency: String,
    pub fiat_cents: i64,
    pub fee_cents: i64,
    pub asset: String,
    pub asset_amount: i64,
    pub box_nanoerg: i64,
    pub rate: serde_json::Value,
    pub address: String,
    pub ergo_tree: Vec<u8>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = onramp_payouts)]
pub struct Payout {
    pub order_id: String,
    pub tx_id: String,
    pub tx_bytes: Vec<u8>,
    pub input_ids: Vec<String>,
    pub signed_height: i32,
    pub signed_at: OffsetDateTime,
    pub submitted_at: Option<OffsetDateTime>,
    pub submit_attempts: i32,
    pub inclusion_height: Option<i32>,
    pub inclusion_block_id: Option<String>,
    pub confirmations: i32,
    pub confirmed_at: Option<OffsetDateTime>,
    pub scanned_height: Option<i32>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = onramp_order_log)]
pub struct LogEntry {
    pub at: OffsetDateTime,
    pub status: String,
    pub note: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = onramp_events)]
pub struct EventRow {
    pub provider: String,
    pub event_id: String,
    pub event_type: String,
    pub created: OffsetDateTime,
    pub received_at: OffsetDateTime,
    pub order_id: Option<String>,
    pub outcome: String,
}

/// A pool with the schema brought up to date.
pub fn connect(url: &str, size: u32) -> Result<PgPool, LedgerError> {
    let pool = Pool::builder()
        .max_size(size.max(2))
        .connection_timeout(std::time::Duration::from_secs(10))
        .build(ConnectionManager::<PgConnection>::new(url))
        .map_err(|e| LedgerError::Pool(e.to_string()))?;
    let mut conn = pool.get().map_err(|e| LedgerError::Pool(e.to_string()))?;
    migrate(&mut conn)?;
    Ok(pool)
}

pub fn migrate(conn: &mut PgConnection) -> Result<(), LedgerError> {
    conn.run_pending_migrations(MIGRATIONS)
        .map(|_| ())
        .map_err(|e| LedgerError::Migrations(e.to_string()))
}

pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn log(conn: &mut PgConnection, id: &str, status: Status, note: &str) -> QueryResult<()> {
    diesel::insert_into(onramp_order_log::table)
        .values((
            onramp_order_log::order_id.eq(id),
            onramp_order_log::status.eq(status.as_str()),
            onramp_order_log::note.eq(note),
        ))
        .execute(conn)?;
    Ok(())
}

/// Moves `id` to `to` when its status is one of `from`; logs it. Returns whether it moved.
fn transition(
    conn: &mut PgConnection,
    id: &str,
    from: &[Status],
    to: Status,
    note: &str,
) -> QueryResult<bool> {
    let n = diesel::update(
        onramp_orders::table
            .filter(onramp_orders::id.eq(id))
            .filter(onramp_orders::status.eq_any(names(from))),
    )
    .set(onramp_orders::status.eq(to.as_str()))
    .execute(conn)?;
    if n == 1 {
        log(conn, id, to, note)?;
    }
    Ok(n == 1)
}

/// A line in the order's history without a status change.
pub fn note(
    conn: &mut PgConnection,
    id: &str,
    status: Status,
    note: &str,
) -> Result<(), LedgerError> {
    Ok(log(conn, id, status, note)?)
}

pub fn insert_order(conn: &mut PgConnection, o: &NewOrder) -> Result<(), LedgerError> {
    conn.transaction(|conn| {
        diesel::insert_into(onramp_orders::table)
            .values(o)
            .execute(conn)?;
        log(conn, &o.id, Status::Quoted, "")?;
        Ok(())
    })
}

fn load(conn: &mut PgConnection, id: &str) -> QueryResult<Option<Order>> {
    Ok(onramp_orders::table
        .find(id)
        .left_join(onramp_payments::table)
        .select((OrderRow::as_select(), Option::<PaymentRow>::as_select()))
        .first::<(OrderRow, Option<PaymentRow>)>(conn)
        .optional()?
        .map(Order::from))
}

/// Locks the order row (`FOR UPDATE`) and loads it.
fn lock(conn: &mut PgConnection, id: &str) -> QueryResult<Option<Order>> {
    let found: Option<String> = onramp_orders::table
        .find(id)
        .select(onramp_orders::id)
        .for_update()
        .first(conn)
        .optional()?;
    match found {
        Some(_) => load(conn, id),
        None => Ok(None),
    }
}

pub fn order(conn: &mut PgConnection, id: &str) -> Result<Option<Order>, LedgerError> {
    Ok(load(conn, id)?)
}

pub fn payout(conn: &mut PgConnection, order_id: &str) -> Result<Option<Payout>, LedgerError> {
    Ok(onramp_payouts::table
        .find(order_id)
        .select(Payout::as_select())
        .first(conn)
        .optional()?)
}

pub fn order_log(conn: &mut PgConnection, id: &str) -> Result<Vec<LogEntry>, LedgerError> {
    Ok(onramp_order_log::table
        .filter(onramp_order_log::order_id.eq(id))
        .order(onramp_order_log::id.asc())
        .select(LogEntry::as_select())
        .load(conn)?)
}

pub fn order_events(conn: &mut PgConnection, id: &str) -> Result<Vec<EventRow>, LedgerError> {
    Ok(onramp_events::table
        .filter(onramp_events::order_id.eq(id))
        .order(onramp_events::received_at.asc())
        .select(EventRow::as_select())
        .load(conn)?)
}

/// Orders per status (for /metrics).
pub fn status_counts(conn: &mut PgConnection) -> Result<Vec<(String, i64)>, LedgerError> {
    use diesel::dsl::count_star;
    Ok(onramp_orders::table
        .group_by(onramp_orders::status)
        .select((onramp_orders::status, count_star()))
        .load(conn)?)
}

/// Fiat cents committed (checkout opened, not expired/cancelled/refunded) since `since`,
/// for one address or for all.
pub fn committed_cents(
    conn: &mut PgConnection,
    address: Option<&str>,
    since: OffsetDateTime,
) -> Result<i64, LedgerError> {
    #[derive(QueryableByName)]
    struct Sum {
        #[diesel(sql_type = BigInt)]
        total: i64,
    }
    let s: Sum = diesel::sql_query(
        "SELECT COALESCE(SUM(o.fiat_cents), 0)::BIGINT AS total \
         FROM onramp_orders o JOIN onramp_payments p ON p.order_id = o.id \
         WHERE o.status = ANY($1) AND p.checkout_at >= $2 AND ($3::TEXT IS NULL OR o.address = $3)",
    )
    .bind::<diesel::sql_types::Array<Text>, _>(names(&Status::COMMITTED))
    .bind::<Timestamptz, _>(since)
    .bind::<Nullable<Text>, _>(address)
    .get_result(conn)?;
    Ok(s.total)
}

/// Why a checkout cannot be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckoutRefusal {
    NotFound,
    /// Status does not allow it (with the status).
    State(String),
    Expired,
    /// A limit would be exceeded: (field, reason).
    Limit(&'static str, String),
}

/// Limits as the ledger checks them.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_address_daily_cents: i64,
    pub daily_total_cents: i64,
}

/// Checks the limits for `cents` more on `address`; call inside a transaction holding
/// [`LIMITS_LOCK`] for an authoritative answer.
pub fn check_limits(
    conn: &mut PgConnection,
    limits: &Limits,
    address: &str,
    cents: i64,
    at: OffsetDateTime,
) -> Result<Option<CheckoutRefusal>, LedgerError> {
    let day_ago = at - time::Duration::days(1);
    let used = committed_cents(conn, Some(address), day_ago)?;
    if used + cents > limits.per_address_daily_cents {
        return Ok(Some(CheckoutRefusal::Limit(
            "address",
            format!(
                "per-address limit: {} cents in the last 24 h plus {cents} would exceed {}",
                used, limits.per_address_daily_cents
            ),
        )));
    }
    let midnight = at.replace_time(time::Time::MIDNIGHT);
    let total = committed_cents(conn, None, midnight)?;
    if total + cents > limits.daily_total_cents {
        return Ok(Some(CheckoutRefusal::Limit(
            "fiat_amount",
            format!(
                "daily limit of the on-ramp: {} cents today plus {cents} would exceed {}",
                total, limits.daily_total_cents
            ),
        )));
    }
    Ok(None)
}

/// First half of opening a checkout: under the limits lock, check and reserve (status
/// `checkout_open`, counted from now on). Idempotent for an order already open.
pub fn reserve_checkout(
    conn: &mut PgConnection,
    id: &str,
    provider: &str,
    limits: &Limits,
) -> Result<Result<Order, CheckoutRefusal>, LedgerError> {
    conn.transaction(|conn| {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<BigInt, _>(LIMITS_LOCK)
            .execute(conn)?;
        let Some(o) = lock(conn, id)? else {
            return Ok(Err(CheckoutRefusal::NotFound));
        };
        match o.status() {
            Some(Status::Quoted) => {}
            Some(Status::CheckoutOpen) => return Ok(Ok(o)),
            _ => return Ok(Err(CheckoutRefusal::State(o.row.status.clone()))),
        }
        let t = now();
        if o.expires_at <= t {
            transition(
                conn,
                id,
                &[Status::Quoted],
                Status::Expired,
                "expired before checkout",
            )?;
            return Ok(Err(CheckoutRefusal::Expired));
        }
        if let Some(r) = check_limits(conn, limits, &o.address, o.fiat_cents, t)? {
            return Ok(Err(r));
        }
        diesel::insert_into(onramp_payments::table)
            .values((
                onramp_payments::order_id.eq(id),
                onramp_payments::provider.eq(provider),
                onramp_payments::checkout_at.eq(t),
            ))
            .execute(conn)?;
        transition(conn, id, &[Status::Quoted], Status::CheckoutOpen, provider)?;
        Ok(load(conn, id)?.ok_or(CheckoutRefusal::NotFound))
    })
}

/// Second half: the provider's session. Only set once.
pub fn set_checkout(
    conn: &mut PgConnection,
    id: &str,
    checkout_id: &str,
    url: &str,
) -> Result<Option<Order>, LedgerError> {
    conn.transaction(|conn| {
        diesel::update(
            onramp_payments::table
                .filter(onramp_payments::order_id.eq(id))
                .filter(onramp_payments::checkout_id.is_null()),
        )
        .set((
            onramp_payments::checkout_id.eq(checkout_id),
            onramp_payments::checkout_url.eq(url),
        ))
        .execute(conn)?;
        Ok(load(conn, id)?)
    })
}

/// The provider refused to open the session: release the reservation.
pub fn release_checkout(conn: &mut PgConnection, id: &str, why: &str) -> Result<(), LedgerError> {
    conn.transaction(|conn| {
        let Some(o) = lock(conn, id)? else {
            return Ok(());
        };
        if o.status() == Some(Status::CheckoutOpen) && o.checkout_id().is_none() {
            diesel::delete(onramp_payments::table.find(id)).execute(conn)?;
            transition(conn, id, &[Status::CheckoutOpen], Status::Quoted, why)?;
        }
        Ok(())
    })
}

/// What a webhook event asks for, provider-neutral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Paid {
        checkout_id: String,
        order_ref: Option<String>,
        payment_id: String,
        amount_cents: i64,
        currency: String,
    },
    Pending {
        checkout_id: String,
        order_ref: Option<String>,
    },
    Failed {
        checkout_id: String,
        order_ref: Option<String>,
        reason: String,
    },
    Refunded {
        payment_id: String,
        refund_id: Option<String>,
    },
    /// The payer disputes the charge (`charge.dispute.*`): `what` is the event type and the
    /// dispute's status and reason.
    Disputed {
        payment_id: String,
        what: String,
    },
    Ignored,
}

/// A verified event.
#[derive(Debug, Clone)]
pub struct Event {
    pub provider: String,
    pub id: String,
    pub kind: String,
    /// When the provider created the event (the payment time for payment events).
    pub created: OffsetDateTime,
    pub action: Action,
    pub payload: serde_json::Value,
}

/// What recording an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventOutcome {
    pub duplicate: bool,
    pub order_id: Option<String>,
    /// `paid`, `refund_flagged`, `already_paid`, `pending`, `canceled`, `refunded`,
    /// `unknown_order`, `ignored`, `duplicate`, ...
    pub outcome: String,
}

fn lock_by_checkout(
    conn: &mut PgConnection,
    checkout_id: &str,
    order_ref: Option<&str>,
) -> QueryResult<Option<Order>> {
    let by_session: Option<String> = onramp_payments::table
        .filter(onramp_payments::checkout_id.eq(checkout_id))
        .select(onramp_payments::order_id)
        .first(conn)
        .optional()?;
    if let Some(id) = by_session {
        return lock(conn, &id);
    }
    // The session id is recorded after the provider answers; a crash between the two leaves it
    // unrecorded: fall back to our own reference (sent as client_reference_id), unless that
    // order is bound to another session.
    let Some(r) = order_ref else {
        return Ok(None);
    };
    match lock(conn, r)? {
        Some(o) if o.checkout_id().is_none() => Ok(Some(o)),
        _ => Ok(None),
    }
}

/// The order the provider's payment `payment_id` paid, locked.
fn lock_by_payment(conn: &mut PgConnection, payment_id: &str) -> QueryResult<Option<Order>> {
    let id: Option<String> = onramp_payments::table
        .filter(onramp_payments::payment_id.eq(payment_id))
        .select(onramp_payments::order_id)
        .first(conn)
        .optional()?;
    match id {
        Some(id) => lock(conn, &id),
        None => Ok(None),
    }
}

/// Records `e` once and applies it to its order, in one database transaction; a payment is
/// checked against `limits` (under [`LIMITS_LOCK`]) as it arrives.
pub fn record_event(
    conn: &mut PgConnection,
    e: &Event,
    limits: &Limits,
) -> Result<EventOutcome, LedgerError> {
    conn.transaction(|conn| {
        let inserted = diesel::insert_into(onramp_events::table)
            .values((
                onramp_events::provider.eq(&e.provider),
                onramp_events::event_id.eq(&e.id),
                onramp_events::event_type.eq(&e.kind),
                onramp_events::created.eq(e.created),
                onramp_events::outcome.eq("processing"),
                onramp_events::payload.eq(&e.payload),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
        if inserted == 0 {
            let order_id: Option<String> = onramp_events::table
                .find((&e.provider, &e.id))
                .select(onramp_events::order_id)
                .first(conn)?;
            return Ok(EventOutcome {
                duplicate: true,
                order_id,
                outcome: "duplicate".into(),
            });
        }
        let (order_id, outcome) = apply_action(conn, e, limits)?;
        diesel::update(onramp_events::table.find((&e.provider, &e.id)))
            .set((
                onramp_events::outcome.eq(&outcome),
                onramp_events::order_id.eq(&order_id),
            ))
            .execute(conn)?;
        Ok(EventOutcome {
            duplicate: false,
            order_id,
            outcome,
        })
    })
}

fn apply_action(
    conn: &mut PgConnection,
    e: &Event,
    limits: &Limits,
) -> Result<(Option<String>, String), LedgerError> {
    match &e.action {
        Action::Paid {
            checkout_id,
            order_ref,
            payment_id,
            amount_cents,
            currency,
        } => {
            let Some(o) = lock_by_checkout(conn, checkout_id, order_ref.as_deref())? else {
                return Ok((None, "unknown_order".into()));
            };
            let id = o.id.clone();
            let status = o.status();
            if status.is_some_and(|s| s.is_paid()) {
                return Ok((Some(id), "already_paid".into()));
            }
            if matches!(status, Some(Status::RefundRequired | Status::Refunded)) {
                return Ok((Some(id), "already_flagged".into()));
            }
            diesel::insert_into(onramp_payments::table)
                .values((
                    onramp_payments::order_id.eq(&id),
                    onramp_payments::provider.eq(&e.provider),
                ))
                .on_conflict_do_nothing()
                .execute(conn)?;
            diesel::update(onramp_payments::table.find(&id))
                .set((
                    onramp_payments::payment_id.eq(payment_id),
                    onramp_payments::paid_cents.eq(amount_cents),
                    onramp_payments::paid_currency.eq(currency),
                    onramp_payments::paid_at.eq(e.created),
                    onramp_payments::checkout_id.eq(checkout_id),
                ))
                .execute(conn)?;
            let refund = if e.created > o.expires_at {
                Some(format!(
                    "quote expired at {} before the payment at {}",
                    rfc3339(o.expires_at),
                    rfc3339(e.created)
                ))
            } else if !currency.eq_ignore_ascii_case(&o.fiat_currency)
                || *amount_cents != o.fiat_cents
            {
                Some(format!(
                    "paid {amount_cents} {currency} cents, the quote was {} {} cents",
                    o.fiat_cents, o.fiat_currency
                ))
            } else if !matches!(
                status,
                Some(Status::CheckoutOpen | Status::PaymentPending | Status::Expired)
            ) {
                Some(format!("payment for an order in status {}", o.row.status))
            } else {
                // Checkouts reserve nothing: the limits are checked as the money arrives, one
                // payment at a time. A payment already clearing was counted when it started.
                diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                    .bind::<BigInt, _>(LIMITS_LOCK)
                    .execute(conn)?;
                let counted = status == Some(Status::PaymentPending);
                match check_limits(
                    conn,
                    limits,
                    &o.address,
                    if counted { 0 } else { o.fiat_cents },
                    now(),
                )? {
                    Some(CheckoutRefusal::Limit(_, reason)) => {
                        Some(format!("at payment: {reason}"))
                    }
                    _ => None,
                }
            };
            let from = [
                Status::Quoted,
                Status::CheckoutOpen,
                Status::PaymentPending,
                Status::Expired,
                Status::Canceled,
            ];
            match refund {
                Some(reason) => {
                    diesel::update(onramp_payments::table.find(&id))
                        .set((
                            onramp_payments::refund_reason.eq(&reason),
                            onramp_payments::refund_flagged_at.eq(now()),
                        ))
                        .execute(conn)?;
                    transition(conn, &id, &from, Status::RefundRequired, &reason)?;
                    Ok((Some(id), "refund_flagged".into()))
                }
                None => {
                    diesel::update(onramp_orders::table.find(&id))
                        .set((
                            onramp_orders::attempts.eq(0),
                            onramp_orders::next_attempt_at.eq(None::<OffsetDateTime>),
                        ))
                        .execute(conn)?;
                    transition(conn, &id, &from, Status::Paid, payment_id)?;
                    Ok((Some(id), "paid".into()))
                }
            }
        }
        Action::Pending {
            checkout_id,
            order_ref,
        } => {
            let Some(o) = lock_by_checkout(conn, checkout_id, order_ref.as_deref())? else {
                return Ok((None, "unknown_order".into()));
            };
            let moved = transition(
                conn,
                &o.id,
                &[Status::CheckoutOpen],
                Status::PaymentPending,
                "payment clearing",
            )?;
            Ok((
                Some(o.row.id),
                if moved { "pending" } else { "no_change" }.into(),
            ))
        }
        Action::Failed {
            checkout_id,
            order_ref,
            reason,
        } => {
            let Some(o) = lock_by_checkout(conn, checkout_id, order_ref.as_deref())? else {
                return Ok((None, "unknown_order".into()));
            };
            let moved = transition(
                conn,
                &o.id,
                &[Status::CheckoutOpen, Status::PaymentPending, Status::Quoted],
                Status::Canceled,
                reason,
            )?;
            Ok((
                Some(o.row.id),
                if moved { "canceled" } else { "no_change" }.into(),
            ))
        }
        Action::Refunded {
            payment_id,
            refund_id,
        } => {
            let Some(o) = lock_by_payment(conn, payment_id)? else {
                return Ok((None, "unknown_order".into()));
            };
            if let Some(r) = refund_id {
                diesel::update(
                    onramp_payments::table
                        .find(&o.id)
                        .filter(onramp_payments::refund_id.is_null()),
                )
                .set(onramp_payments::refund_id.eq(r))
                .execute(conn)?;
            }
            let moved = transition(
                conn,
                &o.id,
                &[Status::RefundRequired],
                Status::Refunded,
                "refunded by the provider",
            )?;
            if moved {
                return Ok((Some(o.row.id), "refunded".into()));
            }
            // A refund we did not ask for: the money went back while the order stands paid (and
            // maybe paid out).
            flag_chargeback(conn, &o, &format!("{} after the payment", e.kind))?;
            Ok((Some(o.row.id), "chargeback_flagged".into()))
        }
        Action::Disputed { payment_id, what } => {
            let Some(o) = lock_by_payment(conn, payment_id)? else {
                return Ok((None, "unknown_order".into()));
            };
            flag_chargeback(conn, &o, what)?;
            Ok((Some(o.row.id), "chargeback_flagged".into()))
        }
        Action::Ignored => Ok((None, "ignored".into())),
    }
}

/// Records a chargeback on `o`'s payment (the latest reason wins) and in its log; the status
/// stays: what was paid out is on chain, and an operator decides what follows.
fn flag_chargeback(conn: &mut PgConnection, o: &Order, why: &str) -> QueryResult<()> {
    diesel::update(onramp_payments::table.find(&o.id))
        .set((
            onramp_payments::chargeback.eq(why),
            onramp_payments::chargeback_at.eq(now()),
        ))
        .execute(conn)?;
    match o.status() {
        Some(st) => log(conn, &o.id, st, &format!("chargeback: {why}")),
        None => Ok(()),
    }
}

// ---- the fulfilment worker's side ----

/// Tries to take the worker lock on this (dedicated) connection.
pub fn try_worker_lock(conn: &mut PgConnection) -> Result<bool, LedgerError> {
    #[derive(QueryableByName)]
    struct Got {
        #[diesel(sql_type = Bool)]
        got: bool,
    }
    let g: Got = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS got")
        .bind::<BigInt, _>(WORKER_LOCK)
        .get_result(conn)?;
    Ok(g.got)
}

pub fn release_worker_lock(conn: &mut PgConnection) -> Result<(), LedgerError> {
    diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<BigInt, _>(WORKER_LOCK)
        .execute(conn)?;
    Ok(())
}

/// Orders with a payout not yet confirmed (stuck ones too: they are still watched), oldest
/// signature first (a later payout may spend an
/// earlier one's change, so they are re-broadcast in this order).
pub fn in_flight(conn: &mut PgConnection) -> Result<Vec<(Order, Payout)>, LedgerError> {
    let rows: Vec<(OrderRow, Payout, Option<PaymentRow>)> = onramp_orders::table
        .inner_join(onramp_payouts::table)
        .left_join(onramp_payments::table)
        .filter(onramp_orders::status.eq_any(names(&[
            Status::Signed,
            Status::Submitted,
            Status::Stuck,
        ])))
        .order(onramp_payouts::signed_at.asc())
        .select((
            OrderRow::as_select(),
            Payout::as_select(),
            Option::<PaymentRow>::as_select(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(o, p, pay)| (Order::from((o, pay)), p))
        .collect())
}

/// Box ids spent by payouts that are not confirmed (or are stuck): never select them again.
pub fn reserved_inputs(conn: &mut PgConnection) -> Result<Vec<String>, LedgerError> {
    let rows: Vec<Vec<String>> = onramp_orders::table
        .inner_join(onramp_payouts::table)
        .filter(onramp_orders::status.eq_any(names(&[
            Status::Signed,
            Status::Submitted,
            Status::Stuck,
        ])))
        .select(onramp_payouts::input_ids)
        .load(conn)?;
    Ok(rows.into_iter().flatten().collect())
}

/// Paid orders whose next attempt is due.
pub fn due_payments(
    conn: &mut PgConnection,
    at: OffsetDateTime,
) -> Result<Vec<Order>, LedgerError> {
    let rows: Vec<(OrderRow, Option<PaymentRow>)> = onramp_orders::table
        .left_join(onramp_payments::table)
        .filter(onramp_orders::status.eq(Status::Paid.as_str()))
        .filter(
            onramp_orders::next_attempt_at
                .is_null()
                .or(onramp_orders::next_attempt_at.le(at)),
        )
        .order(onramp_payments::paid_at.asc())
        .select((OrderRow::as_select(), Option::<PaymentRow>::as_select()))
        .load(conn)?;
    Ok(rows.into_iter().map(Order::from).collect())
}

/// Records the signed payout and moves the order `paid` → `signed`, atomically. Fails (and
/// records nothing) unless the order is `paid` and has no payout.
pub fn record_signed(conn: &mut PgConnection, p: &Payout) -> Result<(), LedgerError> {
    conn.transaction(|conn| {
        if !transition(conn, &p.order_id, &[Status::Paid], Status::Signed, &p.tx_id)? {
            return Err(LedgerError::Conflict(format!(
                "order {} is no longer paid: not signing",
                p.order_id
            )));
        }
        diesel::insert_into(onramp_payouts::table)
            .values(p)
            .execute(conn)?;
        diesel::update(onramp_orders::table.find(&p.order_id))
            .set((
                onramp_orders::attempts.eq(0),
                onramp_orders::next_attempt_at.eq(None::<OffsetDateTime>),
                onramp_orders::last_error.eq(None::<String>),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// The node has the transaction.
pub fn mark_submitted(conn: &mut PgConnection, id: &str, note: &str) -> Result<(), LedgerError> {
    conn.transaction(|conn| {
        diesel::update(onramp_payouts::table.find(id))
            .set((
                onramp_payouts::submitted_at.eq(diesel::dsl::sql::<Nullable<Timestamptz>>(
                    "COALESCE(submitted_at, now())",
                )),
                onramp_payouts::submit_attempts.eq(onramp_payouts::submit_attempts + 1),
            ))
            .execute(conn)?;
        transition(
            conn,
            id,
            &[Status::Signed, Status::Stuck],
            Status::Submitted,
            note,
        )?;
        diesel::update(onramp_orders::table.find(id))
            .set((
                onramp_orders::attempts.eq(0),
                onramp_orders::next_attempt_at.eq(None::<OffsetDateTime>),
                onramp_orders::last_error.eq(None::<String>),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// Where the transaction is on the best chain (or `None` after a rollback), how deep, and how
/// far the chain has been searched.
pub fn set_inclusion(
    conn: &mut PgConnection,
    id: &str,
    inclusion: Option<(i32, String)>,
    confirmations: i32,
    scanned_height: Option<i32>,
) -> Result<(), LedgerError> {
    let (h, b) = match inclusion {
        Some((h, b)) => (Some(h), Some(b)),
        None => (None, None),
    };
    diesel::update(onramp_payouts::table.find(id))
        .set((
            onramp_payouts::inclusion_height.eq(h),
            onramp_payouts::inclusion_block_id.eq(b),
            onramp_payouts::confirmations.eq(confirmations),
            onramp_payouts::scanned_height.eq(scanned_height),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn mark_confirmed(
    conn: &mut PgConnection,
    id: &str,
    confirmations: i32,
) -> Result<(), LedgerError> {
    conn.transaction(|conn| {
        diesel::update(onramp_payouts::table.find(id))
            .set((
                onramp_payouts::confirmations.eq(confirmations),
                onramp_payouts::confirmed_at.eq(now()),
            ))
            .execute(conn)?;
        transition(
            conn,
            id,
            &[Status::Signed, Status::Submitted, Status::Stuck],
            Status::Confirmed,
            &format!("{confirmations} confirmations"),
        )?;
        Ok(())
    })
}

/// A failed step: remember why and when to try again. Returns the attempt count.
pub fn retry_later(
    conn: &mut PgConnection,
    id: &str,
    error: &str,
    at: OffsetDateTime,
) -> Result<i32, LedgerError> {
    Ok(diesel::update(onramp_orders::table.find(id))
        .set((
            onramp_orders::attempts.eq(onramp_orders::attempts + 1),
            onramp_orders::next_attempt_at.eq(at),
            onramp_orders::last_error.eq(error),
        ))
        .returning(onramp_orders::attempts)
        .get_result(conn)?)
}

pub fn mark_stuck(conn: &mut PgConnection, id: &str, why: &str) -> Result<(), LedgerError> {
    conn.transaction(|conn| {
        diesel::update(onramp_orders::table.find(id))
            .set(onramp_orders::last_error.eq(why))
            .execute(conn)?;
        transition(
            conn,
            id,
            &[Status::Signed, Status::Submitted],
            Status::Stuck,
            why,
        )?;
        Ok(())
    })
}

/// Quotes and checkouts not paid in time. A payment event that arrives later is still checked
/// against its own time, so a payment made in time is filled, and a late one flagged.
pub fn expire_stale(conn: &mut PgConnection, at: OffsetDateTime) -> Result<usize, LedgerError> {
    conn.transaction(|conn| {
        let ids: Vec<String> = onramp_orders::table
            .filter(onramp_orders::status.eq_any(names(&[Status::Quoted, Status::CheckoutOpen])))
            .filter(onramp_orders::expires_at.lt(at))
            .select(onramp_orders::id)
            .for_update()
            .skip_locked()
            .load(conn)?;
        for id in &ids {
            transition(
                conn,
                id,
                &[Status::Quoted, Status::CheckoutOpen],
                Status::Expired,
                "not paid before the quote expired",
            )?;
        }
        Ok(ids.len())
    })
}

/// Flagged orders with a payment to refund through the provider.
pub fn refunds_due(conn: &mut PgConnection, at: OffsetDateTime) -> Result<Vec<Order>, LedgerError> {
    let rows: Vec<(OrderRow, Option<PaymentRow>)> = onramp_orders::table
        .left_join(onramp_payments::table)
        .filter(onramp_orders::status.eq(Status::RefundRequired.as_str()))
        .filter(onramp_payments::payment_id.is_not_null())
        .filter(onramp_payments::refund_id.is_null())
        .filter(
            onramp_orders::next_attempt_at
                .is_null()
                .or(onramp_orders::next_attempt_at.le(at)),
        )
        .select((OrderRow::as_select(), Option::<PaymentRow>::as_select()))
        .load(conn)?;
    Ok(rows.into_iter().map(Order::from).collect())
}

pub fn mark_refunded(
    conn: &mut PgConnection,
    id: &str,
    refund_id: &str,
) -> Result<(), LedgerError> {
    conn.transaction(|conn| {
        diesel::update(onramp_payments::table.find(id))
            .set(onramp_payments::refund_id.eq(refund_id))
            .execute(conn)?;
        transition(
            conn,
            id,
            &[Status::RefundRequired],
            Status::Refunded,
            refund_id,
        )?;
        Ok(())
    })
}

/// RFC 3339 text of a timestamp.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}
