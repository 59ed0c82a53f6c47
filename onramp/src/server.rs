//! The HTTP API:
//! - `POST /v1/quotes` `{fiat_currency, fiat_amount, asset, address}` → 201 quote;
//! - `POST /v1/quotes/{id}/checkout` → the provider's checkout session (201, or 200 when it
//!   already exists);
//! - `POST /v1/webhooks/{provider}` → verify, record once, apply;
//! - `GET /v1/orders/{id}` → quote → payment → transaction → confirmations, with the order log;
//! - `GET /health`, `GET /metrics`.
//!
//! Errors are JSON `{error, detail}`; a `detail` about a request field starts with the field's
//! name (`fiat_amount: …`).

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, App as ActixApp, HttpRequest, HttpResponse, HttpServer, ResponseError};
use serde_json::{json, Value};

use crate::fulfil::db;
use crate::ledger::{self, CheckoutRefusal, Limits, NewOrder, Order, Status};
use crate::pricing::{self, Asset, Rate};
use crate::provider::{CheckoutRequest, WebhookError};
use crate::{rates, signature, App};

/// Largest request body accepted (webhooks included).
const MAX_BODY: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
#[error("{error}: {detail}")]
pub struct ApiError {
    pub status: StatusCode,
    pub error: &'static str,
    pub detail: String,
}

impl ApiError {
    pub fn field(field: &str, reason: impl std::fmt::Display) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            error: "bad_request",
            detail: format!("{field}: {reason}"),
        }
    }
    fn new(status: StatusCode, error: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            error,
            detail: detail.into(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }
    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(json!({"error": self.error, "detail": self.detail}))
    }
}

impl From<ledger::LedgerError> for ApiError {
    fn from(e: ledger::LedgerError) -> Self {
        tracing::error!(error = %e, "ledger");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("ledger: {e}"),
        )
    }
}

type Reply = Result<HttpResponse, ApiError>;

fn limits(app: &App) -> Limits {
    Limits {
        per_address_daily_cents: app.cfg.limits.per_address_daily_cents,
        daily_total_cents: app.cfg.limits.daily_total_cents,
    }
}

fn str_field<'v>(body: &'v Value, name: &str) -> Result<&'v str, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Err(ApiError::field(name, "missing")),
        Some(Value::String(s)) => Ok(s.as_str()),
        Some(other) => Err(ApiError::field(name, format!("{other} is not a string"))),
    }
}

fn limit_error(field: &str, reason: String) -> ApiError {
    ApiError {
        status: StatusCode::BAD_REQUEST,
        error: "limit_exceeded",
        detail: format!("{field}: {reason}"),
    }
}

fn new_id() -> String {
    let b: [u8; 12] = rand::random();
    format!("ord_{}", hex::encode(b))
}

async fn create_quote(app: web::Data<App>, body: web::Json<Value>) -> Reply {
    let body = body.into_inner();
    if !body.is_object() {
        return Err(ApiError::field("body", "not a JSON object"));
    }
    let currency = str_field(&body, "fiat_currency")?
        .trim()
        .to_ascii_uppercase();
    if currency != "USD" {
        return Err(ApiError::field(
            "fiat_currency",
            format!("{currency:?} is not supported (supported: USD)"),
        ));
    }
    let cents = pricing::parse_fiat_amount(body.get("fiat_amount").unwrap_or(&Value::Null))
        .map_err(|r| ApiError::field("fiat_amount", r))?;
    let asset: Asset = str_field(&body, "asset")?
        .parse()
        .map_err(|r| ApiError::field("asset", r))?;
    let address = str_field(&body, "address")?.trim().to_string();
    let tree = dgcm_chain::wallet::address_tree(&address, app.cfg.network)
        .map_err(|r| ApiError::field("address", r))?;
    let tree_bytes = {
        use ergo_lib::ergotree_ir::serialization::SigmaSerializable;
        tree.sigma_serialize_bytes()
            .map_err(|e| ApiError::field("address", format!("cannot serialise its tree: {e}")))?
    };
    let l = &app.cfg.limits;
    if cents < l.min_order_cents {
        return Err(ApiError::field(
            "fiat_amount",
            format!(
                "below the minimum order of {} {currency}",
                pricing::format_units(l.min_order_cents, 2)
            ),
        ));
    }
    if cents > l.max_order_cents {
        return Err(limit_error(
            "fiat_amount",
            format!(
                "above the maximum order of {} {currency}",
                pricing::format_units(l.max_order_cents, 2)
            ),
        ));
    }
    let fee = pricing::fee_cents(cents, app.cfg.fees.percent_bps, app.cfg.fees.fixed_cents);
    let net = cents - fee;
    if net <= 0 {
        return Err(ApiError::field(
            "fiat_amount",
            format!(
                "does not cover the fee of {} {currency}",
                pricing::format_units(fee, 2)
            ),
        ));
    }
    let rate = rates::rate_for(&app.node, &app.cfg.assets, asset)
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                format!("rate: {e}"),
            )
        })?;
    let amount =
        pricing::asset_amount(asset, net, &rate).map_err(|r| ApiError::field("fiat_amount", r))?;
    if amount <= 0 {
        return Err(ApiError::field(
            "fiat_amount",
            format!("buys nothing of {asset} after the fee"),
        ));
    }
    let token_box = app.cfg.assets.token_box_nanoerg as i64;
    let box_nanoerg = match asset {
        Asset::Erg => {
            if amount < token_box {
                return Err(ApiError::field(
                    "fiat_amount",
                    format!(
                        "buys {} ERG, below the smallest delivery of {} ERG",
                        pricing::format_units(amount, 9),
                        pricing::format_units(token_box, 9)
                    ),
                ));
            }
            amount
        }
        _ => token_box,
    };
    // Early answer on the limits (the checkout checks again, under a lock).
    let addr = address.clone();
    let lim = limits(&app);
    if let Some(CheckoutRefusal::Limit(field, reason)) = db(&app, move |c| {
        ledger::check_limits(c, &lim, &addr, cents, ledger::now())
    })
    .await?
    {
        return Err(limit_error(field, reason));
    }
    let (source, value) = rate.stored();
    let rate_json = match &rate {
        Rate::Oracle { box_id, height, .. } => json!({
            "source": source, "value": value, "oracle_box_id": box_id, "oracle_height": height,
        }),
        _ => json!({"source": source, "value": value}),
    };
    let ttl =
        time::Duration::milliseconds(app.cfg.quote_ttl.as_millis().min(i64::MAX as u128) as i64);
    let new = NewOrder {
        id: new_id(),
        status: Status::Quoted.as_str().into(),
        expires_at: ledger::now() + ttl,
        fiat_currency: currency,
        fiat_cents: cents,
        fee_cents: fee,
        asset: asset.name().into(),
        asset_amount: amount,
        box_nanoerg,
        rate: rate_json,
        address,
        ergo_tree: tree_bytes,
    };
    let id = new.id.clone();
    db(&app, move |c| ledger::insert_order(c, &new)).await?;
    app.metrics
        .quotes
        .get_or_create(&crate::metrics::AssetLabel {
            asset: asset.name().into(),
        })
        .inc();
    let o = db(&app, move |c| ledger::order(c, &id))
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "quote vanished",
            )
        })?;
    Ok(HttpResponse::Created().json(quote_json(&app, &o)))
}

fn quote_json(app: &App, o: &Order) -> Value {
    let asset: Option<Asset> = o.asset.parse().ok();
    let decimals = asset.map(|a| a.decimals()).unwrap_or(0);
    let value = o.rate.get("value").cloned().unwrap_or(Value::Null);
    let rate = match o.rate.get("source").and_then(|s| s.as_str()) {
        Some("oracle_pool") => json!({
            "source": "oracle_pool",
            "nanoerg_per_usd": value,
            "oracle_box_id": o.rate.get("oracle_box_id"),
            "oracle_height": o.rate.get("oracle_height"),
        }),
        Some("peg") => json!({"source": "peg", "usd_per_unit": "1.00"}),
        _ => json!({"source": "protocol", "gpuc_price_cents": value}),
    };
    let token_id = match asset {
        Some(Asset::SigUsd) => Some(String::from(app.cfg.assets.sigusd_id)),
        Some(Asset::Gpuc) => Some(String::from(app.cfg.assets.gpuc_id)),
        _ => None,
    };
    json!({
        "id": o.id,
        "status": o.row.status,
        "created_at": ledger::rfc3339(o.created_at),
        "expires_at": ledger::rfc3339(o.expires_at),
        "fiat_currency": o.fiat_currency,
        "fiat_amount": pricing::format_units(o.fiat_cents, 2),
        "fee": pricing::format_units(o.fee_cents, 2),
        "net_fiat_amount": pricing::format_units(o.fiat_cents - o.fee_cents, 2),
        "asset": o.asset,
        "token_id": token_id,
        "asset_amount": pricing::format_units(o.asset_amount, decimals),
        "asset_amount_base_units": o.asset_amount,
        "asset_decimals": decimals,
        "box_nanoerg": o.box_nanoerg,
        "rate": rate,
        "address": o.address,
    })
}

async fn open_checkout(app: web::Data<App>, id: web::Path<String>) -> Reply {
    let id = id.into_inner();
    let lim = limits(&app);
    let name = app.provider.name().to_string();
    let id2 = id.clone();
    let o = match db(&app, move |c| {
        ledger::reserve_checkout(c, &id2, &name, &lim)
    })
    .await?
    {
        Ok(o) => o,
        Err(CheckoutRefusal::NotFound) => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("id: no quote {id:?}"),
            ))
        }
        Err(CheckoutRefusal::State(s)) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("id: the order is {s}; a checkout needs a fresh quote"),
            ))
        }
        Err(CheckoutRefusal::Expired) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "expired",
                "id: the quote expired; ask for a new one".to_string(),
            ))
        }
        Err(CheckoutRefusal::Limit(field, reason)) => return Err(limit_error(field, reason)),
    };
    if let (Some(cid), Some(url)) = (o.checkout_id(), o.checkout_url()) {
        return Ok(HttpResponse::Ok().json(checkout_json(&o, cid, url)));
    }
    let asset: Option<Asset> = o.asset.parse().ok();
    let req = CheckoutRequest {
        order_id: o.id.clone(),
        currency: o.fiat_currency.clone(),
        amount_cents: o.fiat_cents,
        description: format!(
            "{} {} to {}",
            pricing::format_units(o.asset_amount, asset.map(|a| a.decimals()).unwrap_or(0)),
            o.asset,
            o.address
        ),
        expires_at: o.expires_at,
    };
    match app.provider.create_checkout(&req).await {
        Ok(c) => {
            let oid = o.id.clone();
            let o = db(&app, move |conn| {
                ledger::set_checkout(conn, &oid, &c.id, &c.url)
            })
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "order vanished",
                )
            })?;
            app.metrics.checkouts.inc();
            let (cid, url) = (
                o.checkout_id().unwrap_or_default().to_string(),
                o.checkout_url().unwrap_or_default().to_string(),
            );
            Ok(HttpResponse::Created().json(checkout_json(&o, &cid, &url)))
        }
        Err(e) => {
            let oid = o.id.clone();
            let why = e.to_string();
            db(&app, move |c| ledger::release_checkout(c, &oid, &why)).await?;
            Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                "provider_error",
                format!("checkout: {e}"),
            ))
        }
    }
}

fn checkout_json(o: &Order, checkout_id: &str, url: &str) -> Value {
    json!({
        "id": o.id,
        "status": o.row.status,
        "provider": o.payment.as_ref().map(|p| p.provider.clone()),
        "checkout_id": checkout_id,
        "checkout_url": url,
        "expires_at": ledger::rfc3339(o.expires_at),
    })
}

async fn webhook(
    app: web::Data<App>,
    provider: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> Reply {
    let provider = provider.into_inner();
    if provider != app.provider.name() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("provider: {provider:?} is not configured"),
        ));
    }
    let event = match app
        .provider
        .parse_webhook(req.headers(), &body, signature::unix_now())
    {
        Ok(e) => e,
        Err(WebhookError::Signature(e)) => {
            app.metrics.webhook("bad_signature");
            tracing::warn!(error = %e, "webhook refused");
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_signature",
                e.to_string(),
            ));
        }
        Err(WebhookError::Body(e)) => {
            app.metrics.webhook("bad_body");
            return Err(ApiError::field("body", e));
        }
    };
    let kind = event.kind.clone();
    let lim = limits(&app);
    let out = db(&app, move |c| ledger::record_event(c, &event, &lim)).await?;
    app.metrics.webhook(&out.outcome);
    if out.outcome == "chargeback_flagged" {
        tracing::warn!(order = ?out.order_id, event = %kind, "payment reversed after it was accepted: order flagged");
    }
    if out.outcome == "paid" || out.outcome == "refund_flagged" {
        tracing::info!(order = ?out.order_id, outcome = %out.outcome, "payment recorded");
        app.notify.notify_one();
    }
    Ok(HttpResponse::Ok().json(json!({
        "received": true,
        "duplicate": out.duplicate,
        "order_id": out.order_id,
        "outcome": out.outcome,
    })))
}

async fn get_order(app: web::Data<App>, id: web::Path<String>) -> Reply {
    let id = id.into_inner();
    if id.is_empty() || id.len() > 64 {
        return Err(ApiError::field("id", "not an order id"));
    }
    let id2 = id.clone();
    let found = db(&app, move |c| {
        let Some(o) = ledger::order(c, &id2)? else {
            return Ok(None);
        };
        let p = ledger::payout(c, &id2)?;
        let log = ledger::order_log(c, &id2)?;
        let events = ledger::order_events(c, &id2)?;
        Ok(Some((o, p, log, events)))
    })
    .await?;
    let Some((o, p, log, events)) = found else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("id: no order {id:?}"),
        ));
    };
    let pay = o.payment.as_ref();
    let checkout = pay.map(|p| {
        json!({
            "provider": p.provider,
            "checkout_id": p.checkout_id,
            "checkout_url": p.checkout_url,
            "opened_at": ledger::rfc3339(p.checkout_at),
        })
    });
    let payment = pay.filter(|p| p.payment_id.is_some()).map(|p| {
        json!({
            "payment_id": p.payment_id,
            "amount": p.paid_cents.map(|c| pricing::format_units(c, 2)),
            "currency": p.paid_currency,
            "paid_at": p.paid_at.map(ledger::rfc3339),
        })
    });
    let transaction = p.as_ref().map(|p| {
        json!({
            "tx_id": p.tx_id,
            "signed_at": ledger::rfc3339(p.signed_at),
            "signed_height": p.signed_height,
            "submitted_at": p.submitted_at.map(ledger::rfc3339),
            "inclusion_height": p.inclusion_height,
            "inclusion_block_id": p.inclusion_block_id,
            "confirmations": p.confirmations,
            "required_confirmations": app.cfg.confirmations.max(1),
            "confirmed_at": p.confirmed_at.map(ledger::rfc3339),
        })
    });
    let refund = pay.filter(|p| p.refund_reason.is_some()).map(|p| {
        json!({
            "reason": p.refund_reason,
            "flagged_at": p.refund_flagged_at.map(ledger::rfc3339),
            "refund_id": p.refund_id,
        })
    });
    // Money that went back after the payment was accepted, beside the payout it paid for.
    let chargeback = pay.filter(|p| p.chargeback.is_some()).map(|p| {
        json!({
            "reason": p.chargeback,
            "flagged_at": p.chargeback_at.map(ledger::rfc3339),
        })
    });
    let history: Vec<Value> = log
        .iter()
        .map(|e| json!({"at": ledger::rfc3339(e.at), "status": e.status, "note": e.note}))
        .collect();
    let events: Vec<Value> = events
        .iter()
        .map(|e| {
            json!({"provider": e.provider, "event_id": e.event_id, "type": e.event_type,
                   "created": ledger::rfc3339(e.created), "received_at": ledger::rfc3339(e.received_at),
                   "outcome": e.outcome})
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "id": o.id,
        "status": o.row.status,
        "quote": quote_json(&app, &o),
        "checkout": checkout,
        "payment": payment,
        "transaction": transaction,
        "refund": refund,
        "chargeback": chargeback,
        "last_error": o.last_error,
        "attempts": o.attempts,
        "next_attempt_at": o.next_attempt_at.map(ledger::rfc3339),
        "history": history,
        "events": events,
    })))
}

async fn health(app: web::Data<App>) -> HttpResponse {
    let db_ok = db(&app, |c| {
        use diesel::RunQueryDsl;
        diesel::sql_query("SELECT 1").execute(c)?;
        Ok(())
    })
    .await;
    let node = app.node.info().await;
    let body = json!({
        "status": if db_ok.is_ok() { "ok" } else { "degraded" },
        "database": match &db_ok { Ok(()) => "ok".to_string(), Err(e) => e.to_string() },
        "node": match &node {
            Ok(i) => json!({"reachable": true, "height": i.full_height}),
            Err(e) => json!({"reachable": false, "error": e.to_string()}),
        },
        "worker_active": app.metrics.worker_active.get() == 1,
        "treasury": app.signer.address(app.cfg.network),
    });
    if db_ok.is_ok() {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

async fn metrics(app: web::Data<App>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(app.metrics.render())
}

async fn not_found(req: HttpRequest) -> Reply {
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no route for {} {}", req.method(), req.path()),
    ))
}

/// All routes, for `App::configure`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(MAX_BODY)
            .error_handler(|e, _| ApiError::field("body", e).into()),
    )
    .app_data(web::PayloadConfig::default().limit(MAX_BODY))
    .app_data(web::PathConfig::default().error_handler(|e, _| ApiError::field("path", e).into()))
    .route("/v1/quotes", web::post().to(create_quote))
    .route("/v1/quotes/{id}/checkout", web::post().to(open_checkout))
    .route("/v1/webhooks/{provider}", web::post().to(webhook))
    .route("/v1/orders/{id}", web::get().to(get_order))
    .route("/health", web::get().to(health))
    .route("/metrics", web::get().to(metrics))
    .default_service(web::to(not_found));
}

/// The HTTP server over `listener` (signals are left to the caller).
pub fn http_server(
    app: Arc<App>,
    listener: std::net::TcpListener,
    workers: usize,
) -> std::io::Result<actix_web::dev::Server> {
    let data = web::Data::from(app);
    Ok(
        HttpServer::new(move || ActixApp::new().app_data(data.clone()).configure(routes))
            .workers(workers)
            .disable_signals()
            .shutdown_timeout(1)
            .listen(listener)?
            .run(),
    )
}
