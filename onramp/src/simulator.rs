//! A payment-provider SIMULATOR: a real local HTTP server (actix-web) that implements the subset
//! of a Stripe-style API the on-ramp's adapter uses, and sends signed webhooks. It moves no money
//! and talks to no bank; it exists for tests and the demo, and says so on every page.
//!
//! API subset (form-encoded requests, `Authorization: Bearer <api_key>`, `Idempotency-Key`):
//! - `POST /v1/checkout/sessions` (`mode=payment`, `line_items[0][price_data][currency|unit_amount]`,
//!   `client_reference_id`, `metadata[order_id]`, `success_url`, `cancel_url`, `expires_at`);
//! - `GET /v1/checkout/sessions/{id}`;
//! - `POST /v1/refunds` (`payment_intent`, `amount`).
//!
//! Webhooks go to `webhook_url` with `Stripe-Signature: t=…,v1=…` (HMAC-SHA256 of `t.body` with
//! `webhook_secret`), as `checkout.session.completed`, `checkout.session.async_payment_succeeded`,
//! `checkout.session.expired` and `charge.refunded` events; a delivery that does not get a 2xx
//! answer is retried with backoff (like the real provider).
//!
//! The hosted "checkout page" is `GET /pay/{session}` with a button (`POST /pay/{session}`).
//! Test controls live under `/sim/`: pay a session and deliver its webhook n times, expire a
//! session, re-deliver an event, list events, sessions and refunds.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::signature;

/// How to run the simulator.
#[derive(Clone)]
pub struct SimulatorConfig {
    pub listen: SocketAddr,
    /// The secret API key the adapter must present.
    pub api_key: String,
    /// Where webhooks go (the on-ramp's `/v1/webhooks/stripe`).
    pub webhook_url: String,
    pub webhook_secret: String,
    /// Attempts per background delivery (the checkout page's payments, refunds).
    pub webhook_attempts: u32,
    /// First delay between background attempts (doubles).
    pub retry_delay: Duration,
}

impl std::fmt::Debug for SimulatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatorConfig")
            .field("listen", &self.listen)
            .field("webhook_url", &self.webhook_url)
            .field("webhook_attempts", &self.webhook_attempts)
            .finish_non_exhaustive()
    }
}

impl SimulatorConfig {
    /// A simulator that matches an on-ramp configuration: it listens on the provider's
    /// `api_url`, knows its API key and webhook secret, and posts to its webhook route.
    pub fn for_onramp(c: &crate::OnrampConfig) -> anyhow::Result<SimulatorConfig> {
        let hostport = c
            .provider
            .api_url
            .trim_start_matches("http://")
            .trim_end_matches('/');
        let listen: SocketAddr = hostport.parse().map_err(|e| {
            anyhow::anyhow!(
                "provider.api_url: {:?} is not http://IP:PORT, which the simulator needs to listen on: {e}",
                c.provider.api_url
            )
        })?;
        Ok(SimulatorConfig {
            listen,
            api_key: c.provider.api_key.clone(),
            webhook_url: format!("http://{}/v1/webhooks/{}", c.listen, c.provider.name),
            webhook_secret: c.provider.webhook_secret.clone(),
            webhook_attempts: 8,
            retry_delay: Duration::from_millis(500),
        })
    }
}

#[derive(Debug, Clone)]
struct Session {
    id: String,
    url: String,
    client_reference_id: Option<String>,
    metadata: serde_json::Map<String, Value>,
    amount_total: i64,
    currency: String,
    description: String,
    status: String,
    payment_status: String,
    payment_intent: Option<String>,
    expires_at: Option<i64>,
    success_url: String,
    created: i64,
    refunded: i64,
}

impl Session {
    fn json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "checkout.session",
            "mode": "payment",
            "url": self.url,
            "client_reference_id": self.client_reference_id,
            "metadata": self.metadata,
            "amount_total": self.amount_total,
            "currency": self.currency,
            "status": self.status,
            "payment_status": self.payment_status,
            "payment_intent": self.payment_intent,
            "expires_at": self.expires_at,
            "success_url": self.success_url,
            "created": self.created,
            "livemode": false,
        })
    }
}

/// One delivery attempt of an event.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Delivery {
    pub status: Option<u16>,
    pub body: String,
}

#[derive(Debug, Clone)]
struct EventRecord {
    id: String,
    kind: String,
    body: Vec<u8>,
    deliveries: Vec<Delivery>,
}

#[derive(Default)]
struct SimState {
    sessions: HashMap<String, Session>,
    /// Idempotency key → (request fingerprint, response).
    idempotency: HashMap<String, (String, Value)>,
    events: Vec<EventRecord>,
    refunds: Vec<Value>,
}

/// The simulator's shared state.
pub struct Simulator {
    config: SimulatorConfig,
    state: Mutex<SimState>,
    http: reqwest::Client,
    base_url: Mutex<String>,
    webhook_url: Mutex<String>,
}

impl Simulator {
    fn state(&self) -> MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Points webhooks at another URL (e.g. an on-ramp restarted on another port).
    pub fn set_webhook_url(&self, url: impl Into<String>) {
        *self.webhook_url.lock().unwrap_or_else(|p| p.into_inner()) = url.into();
    }

    pub fn webhook_url(&self) -> String {
        self.webhook_url
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn base(&self) -> String {
        self.base_url
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// A simulator serving in the background.
pub struct RunningSimulator {
    pub url: String,
    pub addr: SocketAddr,
    pub sim: Arc<Simulator>,
    handle: actix_web::dev::ServerHandle,
}

impl RunningSimulator {
    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}

fn rand_id(prefix: &str) -> String {
    let b: [u8; 12] = rand::random();
    format!("{prefix}_sim_{}", hex::encode(b))
}

fn stripe_error(status: StatusCode, kind: &str, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(json!({"error": {"type": kind, "message": message.into()}}))
}

fn authorised(sim: &Simulator, req: &HttpRequest) -> Result<(), HttpResponse> {
    let want = format!("Bearer {}", sim.config.api_key);
    match req
        .headers()
        .get("Authorization")
        .and_then(|h| h.to_str().ok())
    {
        Some(h) if h == want => Ok(()),
        _ => Err(stripe_error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "Invalid API Key provided (simulator)",
        )),
    }
}

fn fingerprint(form: &[(String, String)]) -> String {
    let mut f = form.to_vec();
    f.sort();
    serde_json::to_string(&f).unwrap_or_default()
}

/// The request's idempotency key (scoped by endpoint), and the earlier answer when the key was
/// used before: the same answer for the same parameters, an error for other parameters.
fn idempotent(
    st: &SimState,
    req: &HttpRequest,
    path: &str,
    form: &[(String, String)],
) -> (Option<String>, Option<HttpResponse>) {
    let Some(key) = req
        .headers()
        .get("Idempotency-Key")
        .and_then(|h| h.to_str().ok())
    else {
        return (None, None);
    };
    let key = format!("{path} {key}");
    let replay = st.idempotency.get(&key).map(|(f, v)| {
        if *f == fingerprint(form) {
            HttpResponse::Ok().json(v)
        } else {
            stripe_error(
                StatusCode::BAD_REQUEST,
                "idempotency_error",
                "Keys for idempotent requests can only be used with the same parameters",
            )
        }
    });
    (Some(key), replay)
}

async fn create_session(
    sim: web::Data<Simulator>,
    req: HttpRequest,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    if let Err(r) = authorised(&sim, &req) {
        return r;
    }
    let form = form.into_inner();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let mut st = sim.state();
    let (key, replay) = idempotent(&st, &req, "sessions", &form);
    if let Some(r) = replay {
        return r;
    }
    if get("mode").as_deref() != Some("payment") {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "mode: only `payment` is simulated",
        );
    }
    let Some(amount) = get("line_items[0][price_data][unit_amount]")
        .and_then(|a| a.parse::<i64>().ok())
        .filter(|a| *a > 0)
    else {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "line_items[0][price_data][unit_amount]: a positive integer is required",
        );
    };
    let quantity = get("line_items[0][quantity]")
        .and_then(|q| q.parse::<i64>().ok())
        .unwrap_or(1);
    let Some(currency) = get("line_items[0][price_data][currency]") else {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "line_items[0][price_data][currency]: required",
        );
    };
    let Some(success_url) = get("success_url") else {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "success_url: required",
        );
    };
    let mut metadata = serde_json::Map::new();
    for (k, v) in &form {
        if let Some(name) = k
            .strip_prefix("metadata[")
            .and_then(|r| r.strip_suffix(']'))
        {
            metadata.insert(name.to_string(), Value::String(v.clone()));
        }
    }
    let id = rand_id("cs");
    let s = Session {
        url: format!("{}/pay/{id}", sim.base()),
        id: id.clone(),
        client_reference_id: get("client_reference_id"),
        metadata,
        amount_total: amount.saturating_mul(quantity.max(1)),
        currency: currency.to_ascii_lowercase(),
        description: get("line_items[0][price_data][product_data][name]").unwrap_or_default(),
        status: "open".into(),
        payment_status: "unpaid".into(),
        payment_intent: None,
        expires_at: get("expires_at").and_then(|e| e.parse().ok()),
        success_url,
        created: signature::unix_now(),
        refunded: 0,
    };
    let v = s.json();
    st.sessions.insert(id, s);
    if let Some(key) = key {
        st.idempotency.insert(key, (fingerprint(&form), v.clone()));
    }
    HttpResponse::Ok().json(v)
}

async fn get_session(
    sim: web::Data<Simulator>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    if let Err(r) = authorised(&sim, &req) {
        return r;
    }
    match sim.state().sessions.get(id.as_str()) {
        Some(s) => HttpResponse::Ok().json(s.json()),
        None => stripe_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            format!("No such checkout.session: {id}"),
        ),
    }
}

async fn create_refund(
    sim: web::Data<Simulator>,
    req: HttpRequest,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    if let Err(r) = authorised(&sim, &req) {
        return r;
    }
    let form = form.into_inner();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let (refund, event) = {
        let mut st = sim.state();
        let (key, replay) = idempotent(&st, &req, "refunds", &form);
        if let Some(r) = replay {
            return r;
        }
        let Some(pi) = get("payment_intent") else {
            return stripe_error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "payment_intent: required",
            );
        };
        let Some(session) = st
            .sessions
            .values_mut()
            .find(|s| s.payment_intent.as_deref() == Some(pi.as_str()))
        else {
            return stripe_error(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                format!("No such payment_intent: {pi}"),
            );
        };
        let left = session.amount_total - session.refunded;
        let amount = match get("amount").map(|a| a.parse::<i64>()) {
            None => left,
            Some(Ok(a)) if a > 0 && a <= left => a,
            Some(_) => {
                return stripe_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    format!("amount: must be between 1 and {left}"),
                )
            }
        };
        session.refunded += amount;
        let refund = json!({
            "id": rand_id("re"),
            "object": "refund",
            "amount": amount,
            "currency": session.currency,
            "payment_intent": pi,
            "status": "succeeded",
            "created": signature::unix_now(),
        });
        let charge = json!({
            "id": rand_id("ch"),
            "object": "charge",
            "payment_intent": pi,
            "amount": session.amount_total,
            "amount_refunded": session.refunded,
            "refunded": session.refunded >= session.amount_total,
            "refunds": {"object": "list", "data": [refund.clone()]},
        });
        st.refunds.push(refund.clone());
        if let Some(key) = key {
            st.idempotency
                .insert(key, (fingerprint(&form), refund.clone()));
        }
        let event = new_event(&mut st, "charge.refunded", charge);
        (refund, event)
    };
    spawn_delivery(sim.into_inner(), event);
    HttpResponse::Ok().json(refund)
}

fn new_event(st: &mut SimState, kind: &str, object: Value) -> String {
    let id = rand_id("evt");
    let body = json!({
        "id": id,
        "object": "event",
        "api_version": "simulator",
        "created": signature::unix_now(),
        "livemode": false,
        "type": kind,
        "data": {"object": object},
    });
    st.events.push(EventRecord {
        id: id.clone(),
        kind: kind.to_string(),
        body: body.to_string().into_bytes(),
        deliveries: Vec::new(),
    });
    id
}

/// One signed delivery of a recorded event, now.
async fn deliver_once(sim: &Simulator, event_id: &str) -> Delivery {
    let body = {
        let st = sim.state();
        match st.events.iter().find(|e| e.id == event_id) {
            Some(e) => e.body.clone(),
            None => {
                return Delivery {
                    status: None,
                    body: format!("no event {event_id}"),
                }
            }
        }
    };
    let header = signature::sign(&sim.config.webhook_secret, signature::unix_now(), &body);
    let d = match sim
        .http
        .post(sim.webhook_url())
        .header("Content-Type", "application/json")
        .header(signature::HEADER, header)
        .body(body)
        .send()
        .await
    {
        Ok(r) => Delivery {
            status: Some(r.status().as_u16()),
            body: r.text().await.unwrap_or_default(),
        },
        Err(e) => Delivery {
            status: None,
            body: e.to_string(),
        },
    };
    if let Some(e) = sim.state().events.iter_mut().find(|e| e.id == event_id) {
        e.deliveries.push(d.clone());
    }
    d
}

/// Delivers in the background until a 2xx answer or `webhook_attempts` attempts.
fn spawn_delivery(sim: Arc<Simulator>, event_id: String) {
    tokio::spawn(async move {
        let mut delay = sim.config.retry_delay;
        for attempt in 1..=sim.config.webhook_attempts.max(1) {
            let d = deliver_once(&sim, &event_id).await;
            if d.status.is_some_and(|s| (200..300).contains(&s)) {
                return;
            }
            tracing::info!(event = %event_id, attempt, status = ?d.status, "simulator: webhook not accepted, retrying");
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2).min(Duration::from_secs(60));
        }
    });
}

/// Marks a session paid; returns the events to deliver (one, or two for an async payment).
fn pay_session(st: &mut SimState, id: &str, async_payment: bool) -> Result<Vec<String>, String> {
    let s = st
        .sessions
        .get_mut(id)
        .ok_or_else(|| format!("no session {id}"))?;
    if s.status != "open" {
        return Err(format!("session {id} is {}", s.status));
    }
    s.status = "complete".into();
    s.payment_intent = Some(rand_id("pi"));
    let mut events = Vec::new();
    if async_payment {
        s.payment_status = "unpaid".into();
        let obj = s.json();
        events.push(new_event(st, "checkout.session.completed", obj));
        let s = st.sessions.get_mut(id).ok_or("session vanished")?;
        s.payment_status = "paid".into();
        let obj = s.json();
        events.push(new_event(
            st,
            "checkout.session.async_payment_succeeded",
            obj,
        ));
    } else {
        s.payment_status = "paid".into();
        let obj = s.json();
        events.push(new_event(st, "checkout.session.completed", obj));
    }
    Ok(events)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn pay_page(sim: web::Data<Simulator>, id: web::Path<String>) -> HttpResponse {
    let st = sim.state();
    let Some(s) = st.sessions.get(id.as_str()) else {
        return HttpResponse::NotFound()
            .body("no such checkout session (payment-provider SIMULATOR)");
    };
    let body = format!(
        "<!doctype html><title>Payment-provider SIMULATOR</title>\
         <h1>Payment-provider SIMULATOR</h1><p><b>No real money moves here.</b> This page stands in \
         for a card or bank checkout in tests and demos.</p>\
         <p>{}</p><p>Amount: {} {}</p><p>Status: {} / {}</p>\
         <form method=post action=\"/pay/{}\"><button>Pay (simulated)</button></form>",
        html_escape(&s.description),
        crate::pricing::format_units(s.amount_total, 2),
        html_escape(&s.currency.to_ascii_uppercase()),
        html_escape(&s.status),
        html_escape(&s.payment_status),
        html_escape(&s.id),
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body)
}

async fn pay_submit(sim: web::Data<Simulator>, id: web::Path<String>) -> HttpResponse {
    let r = {
        let mut st = sim.state();
        pay_session(&mut st, &id, false).map(|ev| {
            let url = st
                .sessions
                .get(id.as_str())
                .map(|s| s.success_url.clone())
                .unwrap_or_default();
            (ev, url)
        })
    };
    match r {
        Ok((events, success)) => {
            let sim = sim.into_inner();
            for e in events {
                spawn_delivery(sim.clone(), e);
            }
            HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .body(format!(
                    "<!doctype html><p>Paid (SIMULATOR, no real money).</p><p><a href=\"{}\">continue</a></p>",
                    html_escape(&success)
                ))
        }
        Err(e) => HttpResponse::Conflict().body(format!("payment-provider SIMULATOR: {e}")),
    }
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct SimPay {
    /// Synchronous deliveries of each event (redeliveries keep the event id).
    deliveries: Option<u32>,
    /// A bank-transfer-like payment: `completed` (unpaid) then `async_payment_succeeded`.
    async_payment: bool,
}

fn bad(msg: impl Into<String>) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({"error": "bad_request", "detail": msg.into()}))
}

async fn sim_pay(
    sim: web::Data<Simulator>,
    id: web::Path<String>,
    body: Option<web::Json<SimPay>>,
) -> HttpResponse {
    let p = body.map(|b| b.into_inner()).unwrap_or_default();
    let n = p.deliveries.unwrap_or(1);
    if n > 20 {
        return bad("deliveries: at most 20");
    }
    let events = {
        let mut st = sim.state();
        match pay_session(&mut st, &id, p.async_payment) {
            Ok(e) => e,
            Err(e) => {
                return HttpResponse::Conflict().json(json!({"error": "conflict", "detail": e}))
            }
        }
    };
    let mut out = Vec::new();
    for e in &events {
        let mut ds = Vec::new();
        for _ in 0..n {
            ds.push(deliver_once(&sim, e).await);
        }
        out.push(json!({"event_id": e, "deliveries": ds}));
    }
    let pi = sim
        .state()
        .sessions
        .get(id.as_str())
        .and_then(|s| s.payment_intent.clone());
    HttpResponse::Ok().json(json!({"session": id.as_str(), "payment_intent": pi, "events": out}))
}

async fn sim_expire(sim: web::Data<Simulator>, id: web::Path<String>) -> HttpResponse {
    let event = {
        let mut st = sim.state();
        let Some(s) = st.sessions.get_mut(id.as_str()) else {
            return bad(format!("id: no session {id}"));
        };
        if s.status != "open" {
            return HttpResponse::Conflict()
                .json(json!({"error": "conflict", "detail": format!("session is {}", s.status)}));
        }
        s.status = "expired".into();
        let obj = s.json();
        new_event(&mut st, "checkout.session.expired", obj)
    };
    let d = deliver_once(&sim, &event).await;
    HttpResponse::Ok().json(json!({"event_id": event, "deliveries": [d]}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Resend {
    deliveries: u32,
}

async fn sim_resend(
    sim: web::Data<Simulator>,
    id: web::Path<String>,
    body: web::Json<Resend>,
) -> HttpResponse {
    if body.deliveries == 0 || body.deliveries > 20 {
        return bad("deliveries: between 1 and 20");
    }
    if !sim.state().events.iter().any(|e| e.id == *id) {
        return bad(format!("id: no event {id}"));
    }
    let mut ds = Vec::new();
    for _ in 0..body.deliveries {
        ds.push(deliver_once(&sim, &id).await);
    }
    HttpResponse::Ok().json(json!({"event_id": id.as_str(), "deliveries": ds}))
}

async fn sim_events(sim: web::Data<Simulator>) -> HttpResponse {
    let st = sim.state();
    let v: Vec<Value> = st
        .events
        .iter()
        .map(|e| {
            json!({"id": e.id, "type": e.kind,
                   "payload": serde_json::from_slice::<Value>(&e.body).unwrap_or(Value::Null),
                   "deliveries": e.deliveries})
        })
        .collect();
    HttpResponse::Ok().json(v)
}

async fn sim_sessions(sim: web::Data<Simulator>) -> HttpResponse {
    let st = sim.state();
    let v: Vec<Value> = st.sessions.values().map(|s| s.json()).collect();
    HttpResponse::Ok().json(v)
}

async fn sim_refunds(sim: web::Data<Simulator>) -> HttpResponse {
    HttpResponse::Ok().json(sim.state().refunds.clone())
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok", "what": "payment-provider simulator"}))
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/checkout/sessions", web::post().to(create_session))
        .route("/v1/checkout/sessions/{id}", web::get().to(get_session))
        .route("/v1/refunds", web::post().to(create_refund))
        .route("/pay/{id}", web::get().to(pay_page))
        .route("/pay/{id}", web::post().to(pay_submit))
        .route("/sim/sessions", web::get().to(sim_sessions))
        .route("/sim/sessions/{id}/pay", web::post().to(sim_pay))
        .route("/sim/sessions/{id}/expire", web::post().to(sim_expire))
        .route("/sim/events", web::get().to(sim_events))
        .route("/sim/events/{id}/resend", web::post().to(sim_resend))
        .route("/sim/refunds", web::get().to(sim_refunds))
        .route("/health", web::get().to(health));
}

/// Starts the simulator in the background (port 0 picks a free port).
pub async fn start(config: SimulatorConfig) -> anyhow::Result<RunningSimulator> {
    let listener = std::net::TcpListener::bind(config.listen)
        .map_err(|e| anyhow::anyhow!("simulator: cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| anyhow::anyhow!("simulator HTTP client: {e}"))?;
    let sim = Arc::new(Simulator {
        webhook_url: Mutex::new(config.webhook_url.clone()),
        config,
        state: Mutex::new(SimState::default()),
        http,
        base_url: Mutex::new(url.clone()),
    });
    let data = web::Data::from(sim.clone());
    let server = HttpServer::new(move || App::new().app_data(data.clone()).configure(routes))
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)?
        .run();
    let handle = server.handle();
    tokio::spawn(server);
    tracing::info!(%url, "payment-provider SIMULATOR listening (no real money moves)");
    Ok(RunningSimulator {
        url,
        addr,
        sim,
        handle,
    })
}

/// Runs the simulator until Ctrl-C.
pub async fn run_simulator(config: SimulatorConfig) -> anyhow::Result<()> {
    let running = start(config).await?;
    tokio::signal::ctrl_c().await?;
    running.stop().await;
    Ok(())
}
