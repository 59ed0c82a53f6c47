//! The fulfilment worker: pays paid orders from the treasury, exactly once, and follows each
//! payout to its confirmations.
//!
//! One worker runs per database (a session advisory lock on a dedicated connection; a crash
//! closes the connection and frees the lock). Each round:
//! 1. expires quotes not paid in time;
//! 2. follows every recorded payout (`signed`, `submitted`, `stuck`): on the best chain → count
//!    confirmations (a rollback clears the inclusion); in the mempool → `submitted`; nowhere →
//!    broadcast the recorded bytes again (same transaction id, so at most one can ever be mined);
//! 3. pays `paid` orders: select treasury boxes (mempool-aware, minus inputs of recorded payouts),
//!    build and sign, **record the signed transaction**, then submit;
//! 4. refunds flagged orders through the provider when `provider.auto_refund` is on.
//!
//! A node outage or a short treasury makes a step fail; the order keeps its state and is retried
//! with exponential backoff (`backoff_initial` doubling up to `backoff_max`).

use std::sync::Arc;
use std::time::Duration;

use diesel::pg::PgConnection;
use diesel::Connection;
use ergo_lib::chain::transaction::{Transaction, TxId};
use ergo_lib::ergo_chain_types::Digest32;
use ergo_lib::ergotree_ir::ergo_tree::ErgoTree;
use ergo_lib::ergotree_ir::serialization::SigmaSerializable;
use time::OffsetDateTime;

use crate::ledger::{self, LedgerError, Order, Payout, Status};
use crate::pricing::Asset;
use crate::treasury::{build_payout, Delivery, PayoutError};
use crate::App;

/// Blocks below the last searched height that are searched again (a rollback may have replaced
/// them).
const RESCAN: i32 = 10;
/// Consecutive "inputs already spent" answers, with the chain searched in between, after which a
/// payout is declared stuck.
const LOST_INPUTS_STUCK: i32 = 3;
/// Failed broadcasts of a recorded payout (other than outages) after which it is declared stuck.
const BROADCAST_STUCK: i32 = 20;

/// Why the worker stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerExit {
    /// A configured fault fired (a simulated crash at that point).
    Crashed(&'static str),
}

/// A step that did not complete.
#[derive(Debug)]
enum StepError {
    /// Simulated crash: stop now.
    Crash(&'static str),
    /// Retry later; `kind` labels the metric, `node` says the node was unreachable.
    Retry { kind: &'static str, message: String },
}

impl From<LedgerError> for StepError {
    fn from(e: LedgerError) -> Self {
        StepError::Retry {
            kind: "database",
            message: e.to_string(),
        }
    }
}

impl From<dgcm_chain::NodeError> for StepError {
    fn from(e: dgcm_chain::NodeError) -> Self {
        StepError::Retry {
            kind: "node",
            message: e.to_string(),
        }
    }
}

/// Runs a blocking ledger call on a pooled connection.
pub(crate) async fn db<T, F>(app: &App, f: F) -> Result<T, LedgerError>
where
    T: Send + 'static,
    F: FnOnce(&mut PgConnection) -> Result<T, LedgerError> + Send + 'static,
{
    let pool = app.pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut c = pool.get().map_err(|e| LedgerError::Pool(e.to_string()))?;
        f(&mut c)
    })
    .await
    .map_err(|e| LedgerError::Pool(format!("database task: {e}")))?
}

fn backoff(app: &App, attempts: i32) -> Duration {
    let exp = attempts.clamp(0, 16) as u32;
    app.cfg
        .backoff_initial
        .saturating_mul(1u32 << exp)
        .min(app.cfg.backoff_max)
}

fn later(d: Duration) -> OffsetDateTime {
    ledger::now() + time::Duration::milliseconds(d.as_millis().min(i64::MAX as u128) as i64)
}

/// Records a failed step on `o` and schedules the next attempt.
async fn retry(app: &App, o: &Order, kind: &'static str, message: String) {
    app.metrics.error(kind);
    let delay = backoff(app, o.attempts);
    tracing::warn!(order = %o.id, kind, %message, retry_in = ?delay, "fulfilment step failed");
    let id = o.id.clone();
    let at = later(delay);
    if let Err(e) = db(app, move |c| ledger::retry_later(c, &id, &message, at)).await {
        tracing::warn!(order = %o.id, error = %e, "cannot record the failure");
    }
}

/// Takes the worker lock on a dedicated connection (closing it frees the lock).
async fn acquire_lock(url: String) -> Option<PgConnection> {
    tokio::task::spawn_blocking(move || {
        let mut c = PgConnection::establish(&url).ok()?;
        match ledger::try_worker_lock(&mut c) {
            Ok(true) => Some(c),
            _ => None,
        }
    })
    .await
    .ok()
    .flatten()
}

async fn lock_alive(conn: PgConnection) -> Option<PgConnection> {
    tokio::task::spawn_blocking(move || {
        let mut conn = conn;
        use diesel::RunQueryDsl;
        diesel::sql_query("SELECT 1").execute(&mut conn).ok()?;
        Some(conn)
    })
    .await
    .ok()
    .flatten()
}

/// The worker loop; returns only when a configured fault fires.
pub async fn run_worker(app: Arc<App>, database_url: String) -> WorkerExit {
    let mut lock: Option<PgConnection> = None;
    loop {
        lock = match lock {
            Some(c) => lock_alive(c).await,
            None => acquire_lock(database_url.clone()).await,
        };
        app.metrics.worker_active.set(i64::from(lock.is_some()));
        if lock.is_some() {
            if let Err(point) = round(&app).await {
                tracing::error!(point, "simulated crash: the fulfilment worker stops here");
                // Dropping the dedicated connection frees the lock, as a real crash would.
                drop(lock);
                app.metrics.worker_active.set(0);
                return WorkerExit::Crashed(point);
            }
        }
        tokio::select! {
            _ = app.notify.notified() => {}
            _ = tokio::time::sleep(app.cfg.poll_interval) => {}
        }
    }
}

/// One round; `Err` only for a simulated crash.
async fn round(app: &App) -> Result<(), &'static str> {
    let now = ledger::now();
    match db(app, move |c| ledger::expire_stale(c, now)).await {
        Ok(n) if n > 0 => tracing::info!(n, "quotes expired unpaid"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "expiring quotes"),
    }

    match db(app, ledger::in_flight).await {
        Ok(flights) => {
            for (o, p) in flights {
                if o.next_attempt_at.is_some_and(|t| t > ledger::now()) {
                    continue;
                }
                match follow(app, &o, &p).await {
                    Ok(()) => {}
                    Err(StepError::Crash(point)) => return Err(point),
                    Err(StepError::Retry { kind, message }) => {
                        retry(app, &o, kind, message).await;
                        if kind == "node" {
                            break;
                        }
                    }
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "reading payouts in flight"),
    }

    let now = ledger::now();
    match db(app, move |c| ledger::due_payments(c, now)).await {
        Ok(due) => {
            for o in due {
                match fulfil(app, &o).await {
                    Ok(()) => {}
                    Err(StepError::Crash(point)) => return Err(point),
                    Err(StepError::Retry { kind, message }) => {
                        retry(app, &o, kind, message).await;
                        if kind == "node" {
                            break;
                        }
                    }
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "reading paid orders"),
    }

    if app.cfg.provider.auto_refund {
        refunds(app).await;
    }

    if let Ok(counts) = db(app, ledger::status_counts).await {
        for s in Status::ALL {
            let n = counts
                .iter()
                .find(|(name, _)| name == s.as_str())
                .map(|(_, n)| *n)
                .unwrap_or(0);
            app.metrics
                .orders
                .get_or_create(&crate::metrics::StatusLabel {
                    status: s.as_str().into(),
                })
                .set(n);
        }
    }
    Ok(())
}

fn delivery(app: &App, o: &Order) -> Result<Delivery, StepError> {
    let bad = |m: String| StepError::Retry {
        kind: "order",
        message: m,
    };
    let asset: Asset = o.asset.parse().map_err(bad)?;
    let to = ErgoTree::sigma_parse_bytes(&o.ergo_tree)
        .map_err(|e| bad(format!("ergo_tree of {}: {e}", o.address)))?;
    let amount =
        u64::try_from(o.asset_amount).map_err(|_| bad(format!("amount {}", o.asset_amount)))?;
    let box_nanoerg =
        u64::try_from(o.box_nanoerg).map_err(|_| bad(format!("box value {}", o.box_nanoerg)))?;
    let a = &app.cfg.assets;
    Ok(match asset {
        Asset::Erg => Delivery {
            to,
            nanoerg: amount,
            token: None,
        },
        Asset::SigUsd => Delivery {
            to,
            nanoerg: box_nanoerg,
            token: Some((a.sigusd_id, amount)),
        },
        Asset::Gpuc => Delivery {
            to,
            nanoerg: box_nanoerg,
            token: Some((a.gpuc_id, amount)),
        },
    })
}

/// Pays a `paid` order: sign, record, submit.
async fn fulfil(app: &App, o: &Order) -> Result<(), StepError> {
    let d = delivery(app, o)?;
    let ctx = app.node.state_context().await?;
    let reserved = db(app, ledger::reserved_inputs).await?;
    let boxes: Vec<_> = app
        .node
        .unspent_boxes_by_tree(&app.signer.tree, true)
        .await?
        .into_iter()
        .filter(|b| !reserved.contains(&String::from(b.box_id())))
        .collect();
    let fee = app
        .cfg
        .treasury
        .miner_fee_nanoerg
        .unwrap_or_else(|| *ergo_lib::wallet::tx_builder::SUGGESTED_TX_FEE().as_u64());
    let tx = build_payout(&app.signer, boxes, &ctx, &d, fee).map_err(|e| match e {
        PayoutError::Funds(m) => StepError::Retry {
            kind: "funds",
            message: format!("treasury cannot cover the payout: {m}"),
        },
        other => StepError::Retry {
            kind: "build",
            message: other.to_string(),
        },
    })?;
    let bytes = tx.sigma_serialize_bytes().map_err(|e| StepError::Retry {
        kind: "build",
        message: format!("serialising the payout: {e}"),
    })?;
    let payout = Payout {
        order_id: o.id.clone(),
        tx_id: String::from(tx.id()),
        tx_bytes: bytes,
        input_ids: tx.inputs.iter().map(|i| String::from(i.box_id)).collect(),
        signed_height: ctx.pre_header.height.saturating_sub(1) as i32,
        signed_at: ledger::now(),
        submitted_at: None,
        submit_attempts: 0,
        inclusion_height: None,
        inclusion_block_id: None,
        confirmations: 0,
        confirmed_at: None,
        scanned_height: None,
    };
    let p = payout.clone();
    match db(app, move |c| ledger::record_signed(c, &p)).await {
        Ok(()) => {}
        Err(LedgerError::Conflict(m)) => {
            tracing::info!(order = %o.id, %m, "not paying");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    }
    app.metrics.payouts_signed.inc();
    tracing::info!(order = %o.id, tx = %payout.tx_id, asset = %o.asset, amount = o.asset_amount, "payout signed and recorded");
    if app.cfg.faults.crash_after_sign {
        return Err(StepError::Crash("after_sign"));
    }
    broadcast(app, o, &payout, &tx, false).await
}

/// Sends the recorded transaction to the node.
async fn broadcast(
    app: &App,
    o: &Order,
    p: &Payout,
    tx: &Transaction,
    again: bool,
) -> Result<(), StepError> {
    match app.node.submit_transaction(tx).await {
        Ok(_) => {
            if again {
                app.metrics.rebroadcasts.inc();
            }
            if app.cfg.faults.crash_after_submit {
                return Err(StepError::Crash("after_submit"));
            }
            let id = o.id.clone();
            let note = if again {
                "broadcast again"
            } else {
                "submitted"
            };
            db(app, move |c| ledger::mark_submitted(c, &id, note)).await?;
            tracing::info!(order = %o.id, tx = %p.tx_id, again, "payout in the mempool");
            Ok(())
        }
        Err(e) if format!("{e}").contains("already in the mempool") => {
            let id = o.id.clone();
            db(app, move |c| {
                ledger::mark_submitted(c, &id, "already in the mempool")
            })
            .await?;
            Ok(())
        }
        Err(e) if e.is_lost_race() => {
            // Inputs gone: either our transaction was mined after the search (the next round
            // finds it) or something else spent them. Never sign again: declare it stuck after
            // repeated searches.
            if o.attempts + 1 >= LOST_INPUTS_STUCK {
                let id = o.id.clone();
                let why = format!(
                    "the payout's inputs were spent by another transaction and {} is not on the chain: {e}",
                    p.tx_id
                );
                tracing::error!(order = %o.id, %why, "payout stuck; an operator must look");
                let w = why.clone();
                db(app, move |c| ledger::mark_stuck(c, &id, &w)).await?;
                // Still watched (it may yet appear on the chain), at the slowest pace.
                return Err(StepError::Retry {
                    kind: "stuck",
                    message: why,
                });
            }
            Err(StepError::Retry {
                kind: "inputs_spent",
                message: e.to_string(),
            })
        }
        Err(e @ dgcm_chain::NodeError::Transport { .. }) => Err(e.into()),
        Err(e) => {
            if o.attempts + 1 >= BROADCAST_STUCK {
                let id = o.id.clone();
                let why = format!("the node keeps refusing the payout: {e}");
                let w = why.clone();
                db(app, move |c| ledger::mark_stuck(c, &id, &w)).await?;
                return Err(StepError::Retry {
                    kind: "stuck",
                    message: why,
                });
            }
            Err(StepError::Retry {
                kind: "refused",
                message: e.to_string(),
            })
        }
    }
}

fn parse_tx_id(s: &str) -> Result<TxId, StepError> {
    Digest32::try_from(s.to_string())
        .map(TxId::from)
        .map_err(|e| StepError::Retry {
            kind: "database",
            message: format!("stored tx id {s:?}: {e}"),
        })
}

/// Where is the recorded payout? Confirm, wait, or broadcast it again.
async fn follow(app: &App, o: &Order, p: &Payout) -> Result<(), StepError> {
    let required = app.cfg.confirmations.max(1) as i32;
    let tip = app.node.info().await?.full_height.unwrap_or(0) as i32;
    let tx_id = parse_tx_id(&p.tx_id)?;
    let id = o.id.clone();

    let settle = |h: i32, block: String| {
        let id = id.clone();
        let conf = tip - h + 1;
        let signed = o.status() == Some(Status::Signed) || o.status() == Some(Status::Stuck);
        async move {
            let done = conf >= required;
            let scanned = Some(tip);
            let id2 = id.clone();
            db(app, move |c| {
                ledger::set_inclusion(c, &id2, Some((h, block)), conf, scanned)?;
                if signed {
                    ledger::mark_submitted(c, &id2, "found on the chain")?;
                }
                if done {
                    ledger::mark_confirmed(c, &id2, conf)?;
                }
                Ok(())
            })
            .await?;
            if done {
                app.metrics.payouts_confirmed.inc();
                tracing::info!(order = %id, confirmations = conf, "payout confirmed");
            }
            Ok::<(), StepError>(())
        }
    };

    // 1. Still where we saw it?
    if let (Some(h), Some(block)) = (p.inclusion_height, p.inclusion_block_id.clone()) {
        let ids = app.node.block_ids_at(h as u32).await?;
        if ids.first().map(dgcm_chain::client::block_hex).as_deref() == Some(block.as_str()) {
            return settle(h, block).await;
        }
        tracing::warn!(order = %o.id, height = h, "the payout's block was rolled back");
        let id2 = id.clone();
        let status = o.status().unwrap_or(Status::Submitted);
        db(app, move |c| {
            ledger::set_inclusion(c, &id2, None, 0, Some(h.saturating_sub(1)))?;
            ledger::note(
                c,
                &id2,
                status,
                &format!("block {block} at height {h} was rolled back"),
            )
        })
        .await?;
    }

    // 2. In the mempool?
    if app.node.unconfirmed_transaction(&tx_id).await?.is_some() {
        if o.status() != Some(Status::Submitted) {
            let id2 = id.clone();
            db(app, move |c| {
                ledger::mark_submitted(c, &id2, "in the mempool")
            })
            .await?;
        }
        return Ok(());
    }

    // 3. On the best chain since it was signed?
    let from = p
        .scanned_height
        .map(|s| s - RESCAN)
        .unwrap_or(p.signed_height)
        .max(p.signed_height)
        .max(1);
    if from <= tip {
        let mut ids = Vec::new();
        for h in from..=tip {
            if let Some(b) = app.node.block_ids_at(h as u32).await?.first() {
                ids.push(*b);
            }
        }
        for chunk in ids.chunks(16) {
            for block in app.node.blocks(chunk).await? {
                if block
                    .block_transactions
                    .transactions
                    .iter()
                    .any(|t| t.id() == tx_id)
                {
                    let h = block.height() as i32;
                    return settle(h, dgcm_chain::client::block_hex(&block.id())).await;
                }
            }
        }
    }
    let id2 = id.clone();
    db(app, move |c| {
        ledger::set_inclusion(c, &id2, None, 0, Some(tip))
    })
    .await?;

    // 4. Nowhere: the same bytes again.
    let tx = Transaction::sigma_parse_bytes(&p.tx_bytes).map_err(|e| StepError::Retry {
        kind: "database",
        message: format!("stored payout bytes: {e}"),
    })?;
    tracing::info!(order = %o.id, tx = %p.tx_id, "payout neither on chain nor in the mempool: broadcasting the recorded transaction");
    broadcast(app, o, p, &tx, true).await
}

async fn refunds(app: &App) {
    let now = ledger::now();
    let due = match db(app, move |c| ledger::refunds_due(c, now)).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "reading refunds");
            return;
        }
    };
    for o in due {
        let (Some(pid), Some(cents)) = (o.payment_id().map(String::from), o.paid_cents()) else {
            continue;
        };
        match app.provider.refund(&o.id, &pid, cents).await {
            Ok(rid) => {
                app.metrics.refund("executed");
                let id = o.id.clone();
                if let Err(e) = db(app, move |c| ledger::mark_refunded(c, &id, &rid)).await {
                    tracing::warn!(order = %o.id, error = %e, "recording the refund");
                }
            }
            Err(e) => retry(app, &o, "refund", e.to_string()).await,
        }
    }
}
