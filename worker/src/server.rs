//! The worker's HTTP API (actix-web). Errors are JSON `{error, reason, detail}` with the right
//! status; `detail` names the field at fault.
//!
//! | route | auth | what |
//! |---|---|---|
//! | `GET /health` | — | status, runtime, GPU spec and its source, chain height |
//! | `GET /metrics` | — | Prometheus text |
//! | `POST /v1/auth/challenge` | — | `{lease_id}` → `{nonce, message, expires_ms}` |
//! | `POST /v1/auth/token` | — | `{lease_id, nonce, signature}` → `{token, expires_ms}` |
//! | `POST /v1/leases/{id}/job` | token | submit the job spec (JSON) → 202 + job |
//! | `GET /v1/leases/{id}/job` | token | the job's record |
//! | `GET /v1/leases/{id}/logs?follow=true` | token | the log, followed until the job ends |
//! | `GET /v1/leases/{id}/logs/download` | token | the log as an attachment |
//! | `GET /v1/leases/{id}/usage` | token | usage samples (JSON lines); `x-usage-commitment` header |
//! | `GET /v1/leases/{id}/evidence` | token | the evidence manifest R9 commits to (`evidence.rs`) |
//! | `GET /v1/leases/{id}/results` | token | the output directory as tar |
//! | `POST /v1/leases/{id}/image` | token | a `docker save` tarball to `docker load` |

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer, ResponseError};
use serde::Deserialize;

use crate::auth::AuthError;
use crate::chain::{pk_hex, LeaseError};
use crate::jobs::JobError;
use crate::jobspec::JobSpec;
use crate::runtime::Runtime;
use crate::state::LeaseRecord;
use crate::Worker;

/// An error reply.
#[derive(Debug, thiserror::Error)]
#[error("{error}: {detail}")]
pub struct HttpError {
    pub status: StatusCode,
    pub error: &'static str,
    pub reason: &'static str,
    pub detail: String,
}

impl HttpError {
    pub fn new(status: u16, reason: &'static str, detail: impl Into<String>) -> HttpError {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let error = match status.as_u16() {
            400 => "bad_request",
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not_found",
            409 => "conflict",
            413 => "too_large",
            422 => "unprocessable",
            503 => "unavailable",
            _ => "internal",
        };
        HttpError {
            status,
            error,
            reason,
            detail: detail.into(),
        }
    }

    fn field(field: &str, reason: impl std::fmt::Display) -> HttpError {
        HttpError::new(400, "bad_request", format!("{field}: {reason}"))
    }
}

impl ResponseError for HttpError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(serde_json::json!({
            "error": self.error,
            "reason": self.reason,
            "detail": self.detail,
        }))
    }
}

impl From<AuthError> for HttpError {
    fn from(e: AuthError) -> Self {
        HttpError::new(e.status(), e.reason(), e.to_string())
    }
}

impl From<LeaseError> for HttpError {
    fn from(e: LeaseError) -> Self {
        let (status, reason) = match &e {
            LeaseError::BadId(_) => (400, "bad_request"),
            LeaseError::NotFound(_) => (404, "lease_not_found"),
            LeaseError::NotALease(..) => (404, "not_a_lease"),
            LeaseError::OtherProvider(_) => (403, "other_provider"),
            LeaseError::Completed(_) => (403, "lease_completed"),
            LeaseError::PastDeadline(..) => (403, "lease_over"),
            LeaseError::Unconfirmed(..) => (409, "lease_unconfirmed"),
            LeaseError::Node(_) => (503, "node_unavailable"),
        };
        HttpError::new(status, reason, e.to_string())
    }
}

impl From<JobError> for HttpError {
    fn from(e: JobError) -> Self {
        let (status, reason) = match &e {
            JobError::HashMismatch { .. } => (422, "spec_hash_mismatch"),
            JobError::Exists(_) => (409, "job_exists"),
            JobError::Spec { .. } => (400, "bad_spec"),
            JobError::Image(_) => (422, "image_unavailable"),
            JobError::NotFound(_) => (404, "no_job"),
            JobError::NotReady(_) => (409, "not_ready"),
            JobError::TooLarge(_) => (413, "too_large"),
            JobError::NoGpuFree(_) => (409, "no_gpu_free"),
            JobError::Internal(_) => (500, "internal"),
        };
        HttpError::new(status, reason, e.to_string())
    }
}

type Res = Result<HttpResponse, HttpError>;
type W = web::Data<Worker>;

fn json_body<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, HttpError> {
    serde_json::from_slice(body).map_err(|e| HttpError::field("body", e))
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

fn authorize(w: &Worker, req: &HttpRequest, lease_id: &str) -> Result<LeaseRecord, HttpError> {
    let height = w.chain.as_ref().map(|c| c.height()).unwrap_or(0);
    w.auth.check(bearer(req), lease_id, height)?;
    w.store
        .read(|s| s.leases.get(lease_id).cloned())
        .ok_or_else(|| HttpError::new(404, "lease_not_found", "lease not known to this worker"))
}

async fn health(w: W) -> HttpResponse {
    let s = w.store.snapshot();
    HttpResponse::Ok().json(serde_json::json!({
        "status": "ok",
        "runtime": w.jobs.runtime.name(),
        "isolated": matches!(w.jobs.runtime.as_ref(), Runtime::Docker(_)),
        "gpu": w.gpu.info,
        "chain_height": w.chain.as_ref().map(|c| c.height()),
        "provider_pk": w.chain.as_ref().map(|c| pk_hex(c.pk())),
        "listing_nft": s.listing_nft,
        "listing_price": s.listing_price,
        "running_jobs": w.jobs.running().len(),
    }))
}

async fn metrics(w: W) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(w.metrics.render())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChallengeReq {
    lease_id: String,
}

/// Whether this worker serves `lease` at all (PROTOCOL.md, "Provenance"): anyone can create a
/// box at the lease script naming our key.
/// - Output 0 only: a match constrains that output; another lease box in the same transaction
///   is not a lease anyone agreed to.
/// - Our listing's NFT only: anyone can create a listing naming our key (with an NFT they
///   minted) and match it; we have no such GPU to give.
/// - Terms our listing has carried only: a lease created directly at output 0 of its own
///   transaction is then economically a genuine one (the renter pays our price; its collateral
///   is its own).
fn provenance(
    w: &Worker,
    lease: &dgcm_contracts::Typed<dgcm_contracts::lease::Lease>,
) -> Result<(), HttpError> {
    let refuse = |reason: &'static str, detail: &str| {
        w.metrics.refused(reason);
        Err(HttpError::new(403, reason, detail.to_string()))
    };
    if lease.bx.index != 0 {
        return refuse(
            "not_a_match_output",
            "this lease box is not the output a match creates (output 0)",
        );
    }
    let (nft, terms) = w
        .store
        .read(|s| (s.listing_nft.clone(), s.published_terms.clone()));
    if nft.is_some_and(|n| hex::encode(&lease.v.listing_nft) != n.to_ascii_lowercase()) {
        return refuse(
            "other_listing",
            "this lease names another listing than this worker's",
        );
    }
    let t = &lease.v.terms;
    let per_hour = if t.hours > 0 {
        t.collateral / t.hours
    } else {
        -1
    };
    let listed =
        per_hour * t.hours == t.collateral && terms.contains(&(t.price_per_hour, per_hour));
    if !terms.is_empty() && !listed {
        return refuse(
            "unlisted_terms",
            "this lease's price or collateral is not one this worker's listing has carried",
        );
    }
    Ok(())
}

async fn challenge(w: W, body: web::Bytes) -> Res {
    let r: ChallengeReq = json_body(&body)?;
    let chain = w
        .chain
        .as_ref()
        .ok_or_else(|| HttpError::new(503, "no_chain", "this worker has no chain connection"))?;
    let lease_id = r.lease_id.to_ascii_lowercase();
    let record = match chain.open_lease(&r.lease_id).await {
        Ok(lease) => {
            provenance(&w, &lease)?;
            let t = &lease.v.terms;
            LeaseRecord {
                lease_id: lease_id.clone(),
                consumer_pk: pk_hex(&lease.v.consumer),
                hours: t.hours,
                start_height: t.start,
                deadline_height: t.deadline,
                job_spec_hash: hex::encode(&lease.v.job_spec_hash),
                deadline_ms: chain.time_of_height(t.deadline),
                evidence_until_height: None,
                evidence_until_ms: None,
            }
        }
        // Completed (its box spent by our completion): the renter may still need the evidence
        // to dispute, until the window closes.
        Err(e) => match evidence_record(&w, chain, &lease_id) {
            Some(rec) => rec,
            None => {
                let h = HttpError::from(e);
                w.metrics.refused(h.reason);
                return Err(h);
            }
        },
    };
    let (nonce, message, expires_ms) = w.auth.challenge(record)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "lease_id": lease_id,
        "nonce": nonce,
        "message": message,
        "expires_ms": expires_ms,
    })))
}

/// A lease we served and completed, while its dispute window is open: its stored record (the
/// chain checks were made when it was first served) with the evidence window's end. The window
/// runs from `completedAt` (at most 30 blocks after the completion was posted) for the
/// challenge window.
fn evidence_record(
    w: &Worker,
    chain: &crate::chain::ChainCtx,
    lease_id: &str,
) -> Option<LeaseRecord> {
    let (rec, job) = w.store.read(|s| {
        (
            s.leases.get(lease_id).cloned(),
            s.jobs.get(lease_id).cloned(),
        )
    });
    let (rec, job) = (rec?, job?);
    let posted = job.completion_height? as i64;
    let end = posted + 30 + chain.contracts.params.challenge_window;
    if chain.height() as i64 > end || job.cleaned_ms.is_some() {
        return None;
    }
    Some(LeaseRecord {
        evidence_until_height: Some(end),
        evidence_until_ms: Some(chain.time_of_height(end)),
        ..rec
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenReq {
    lease_id: String,
    nonce: String,
    signature: String,
}

async fn token(w: W, body: web::Bytes) -> Res {
    let r: TokenReq = json_body(&body)?;
    let lease_id = r.lease_id.to_ascii_lowercase();
    let (token, expires_ms) = w.auth.token(&lease_id, &r.nonce, &r.signature)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "token": token,
        "token_type": "Bearer",
        "lease_id": lease_id,
        "expires_ms": expires_ms,
    })))
}

fn job_json(w: &Worker, lease_id: &str) -> Result<serde_json::Value, HttpError> {
    let j = w
        .jobs
        .job(lease_id)
        .ok_or_else(|| HttpError::new(404, "no_job", "this lease has no job yet"))?;
    let mut v =
        serde_json::to_value(&j).map_err(|e| HttpError::new(500, "internal", e.to_string()))?;
    v["spec_hash"] = hex::encode(crate::jobspec::job_spec_hash(&j.spec)).into();
    Ok(v)
}

async fn submit(w: W, req: HttpRequest, path: web::Path<String>, body: web::Bytes) -> Res {
    let lease_id = path.into_inner().to_ascii_lowercase();
    let lease = authorize(&w, &req, &lease_id)?;
    if lease.evidence_until_height.is_some() {
        return Err(HttpError::new(
            403,
            "lease_completed",
            "this lease is completed: its evidence can be read until its dispute window closes,              no job can be submitted",
        ));
    }
    let spec =
        JobSpec::from_json(&body).map_err(|e| HttpError::new(400, "bad_spec", e.to_string()))?;
    w.jobs.submit(&lease, spec).await?;
    Ok(HttpResponse::Accepted().json(job_json(&w, &lease_id)?))
}

async fn job_status(w: W, req: HttpRequest, path: web::Path<String>) -> Res {
    let lease_id = path.into_inner().to_ascii_lowercase();
    authorize(&w, &req, &lease_id)?;
    Ok(HttpResponse::Ok().json(job_json(&w, &lease_id)?))
}

#[derive(Deserialize)]
struct LogQuery {
    follow: Option<String>,
}

async fn logs(w: W, req: HttpRequest, path: web::Path<String>, q: web::Query<LogQuery>) -> Res {
    let lease_id = path.into_inner().to_ascii_lowercase();
    authorize(&w, &req, &lease_id)?;
    if w.jobs.job(&lease_id).is_none() {
        return Err(HttpError::new(404, "no_job", "this lease has no job yet"));
    }
    let follow = match q.follow.as_deref() {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(other) => {
            return Err(HttpError::field(
                "follow",
                format!("{other:?} is not true or false"),
            ))
        }
    };
    let path = w.jobs.log_path(&lease_id);
    if follow {
        use futures::StreamExt;
        let slot = w.jobs.follower(&lease_id).ok_or_else(|| {
            HttpError::new(
                429,
                "too_many_followers",
                format!(
                    "this lease already follows its log {} times (worker.docker.max_log_followers)",
                    w.cfg.docker.max_log_followers
                ),
            )
        })?;
        let rx = w.jobs.progress(&lease_id);
        // The slot lives as long as the stream.
        let stream = crate::metering::follow_log(path, rx).map(move |chunk| {
            let _ = &slot;
            chunk
        });
        return Ok(HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .insert_header(("cache-control", "no-cache"))
            .streaming(stream));
    }
    let bytes = tokio::fs::read(&path).await.unwrap_or_default();
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(bytes))
}

async fn logs_download(w: W, req: HttpRequest, path: web::Path<String>) -> Res {
    let lease_id = path.into_inner().to_ascii_lowercase();
    authorize(&w, &req, &lease_id)?;
    if w.jobs.job(&lease_id).is_none() {
        return Err(HttpError::new(404, "no_job", "this lease has no job yet"));
    }
    let bytes = tokio::fs::read(w.jobs.log_path(&lease_id))
        .await
        .unwrap_or_default();
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((
            "content-disposition",
            format!(
                "attachment; filename=\"job-{}.log\"",
                &lease_id[..16.min(lease_id.len())]
            ),
        ))
        .body(bytes))
}

/// The lease id of the path and its job's record, for a caller with the lease's token.
fn authorized_job(
    w: &Worker,
    req: &HttpRequest,
    path: web::Path<String>,
) -> Result<(String, crate::state::JobRecord), HttpError> {
    let lease_id = path.into_inner().to_ascii_lowercase();
    authorize(w, req, &lease_id)?;
    let j = w
        .jobs
        .job(&lease_id)
        .ok_or_else(|| HttpError::new(404, "no_job", "this lease has no job yet"))?;
    Ok((lease_id, j))
}

async fn usage(w: W, req: HttpRequest, path: web::Path<String>) -> Res {
    let (lease_id, j) = authorized_job(&w, &req, path)?;
    let bytes = tokio::fs::read(w.jobs.usage_path(&lease_id))
        .await
        .unwrap_or_default();
    let mut r = HttpResponse::Ok();
    r.content_type("application/x-ndjson");
    r.insert_header((
        "x-usage-blake2b256",
        hex::encode(crate::metering::usage_commitment(&bytes)),
    ));
    if let Some(c) = &j.usage_commitment {
        r.insert_header(("x-usage-commitment", c.clone()));
    }
    Ok(r.body(bytes))
}

/// The evidence manifest (what the completion's R9 commits to), once the job has finished.
async fn evidence(w: W, req: HttpRequest, path: web::Path<String>) -> Res {
    let (lease_id, j) = authorized_job(&w, &req, path)?;
    let bytes = tokio::fs::read(w.jobs.evidence_path(&lease_id))
        .await
        .map_err(|_| HttpError::new(409, "not_ready", "the job has not finished yet"))?;
    let mut r = HttpResponse::Ok();
    r.content_type("application/json");
    if let Some(c) = &j.usage_commitment {
        r.insert_header(("x-usage-commitment", c.clone()));
    }
    Ok(r.body(bytes))
}

async fn results(w: W, req: HttpRequest, path: web::Path<String>) -> Res {
    let lease_id = path.into_inner().to_ascii_lowercase();
    authorize(&w, &req, &lease_id)?;
    let p = w.jobs.results(&lease_id).await?;
    let f = tokio::fs::File::open(&p)
        .await
        .map_err(|e| HttpError::new(500, "internal", format!("results: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("application/x-tar")
        .insert_header((
            "content-disposition",
            "attachment; filename=\"results.tar\"".to_string(),
        ))
        .streaming(tokio_util::io::ReaderStream::new(f)))
}

/// The body is read only after the token is checked (one unauthenticated request used to be read
/// whole, up to the image cap, before being refused), and never past `max_image_mib`.
async fn image(w: W, req: HttpRequest, path: web::Path<String>, mut payload: web::Payload) -> Res {
    use futures::StreamExt;
    let lease_id = path.into_inner().to_ascii_lowercase();
    authorize(&w, &req, &lease_id)?;
    let cap = (w.cfg.docker.max_image_mib as usize).saturating_mul(1024 * 1024);
    let mut buf = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| HttpError::new(400, "bad_body", e.to_string()))?;
        if buf.len() + chunk.len() > cap {
            return Err(HttpError::new(
                413,
                "image_too_large",
                format!("the image is larger than worker.docker.max_image_mib ({cap} bytes)"),
            ));
        }
        buf.extend_from_slice(&chunk);
    }
    let body = buf.freeze();
    let Runtime::Docker(d) = w.jobs.runtime.as_ref() else {
        return Err(HttpError::new(
            400,
            "no_docker",
            "this worker runs the process runtime: images do not apply",
        ));
    };
    if body.is_empty() {
        return Err(HttpError::field(
            "body",
            "empty; send a `docker save` tarball",
        ));
    }
    let id = d
        .load_image(body)
        .await
        .map_err(|e| HttpError::new(422, "image_load_failed", e.to_string()))?;
    // Only this lease's jobs may name it (by this ID: the upload keeps no name).
    w.store
        .update(|s| {
            let ids = s.uploads.entry(lease_id.clone()).or_default();
            if !ids.contains(&id) {
                ids.push(id.clone());
            }
        })
        .map_err(|e| HttpError::new(500, "internal", e.to_string()))?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "image_id": id })))
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    HttpError::new(
        404,
        "no_route",
        format!("no route for {} {}", req.method(), req.path()),
    )
    .error_response()
}

/// The worker's routes.
pub fn routes(cfg: &mut web::ServiceConfig, max_image_bytes: usize) {
    cfg.app_data(web::PayloadConfig::new(1024 * 1024))
        .app_data(
            web::QueryConfig::default().error_handler(|e, _| HttpError::field("query", e).into()),
        )
        .route("/health", web::get().to(health))
        .route("/metrics", web::get().to(metrics))
        .route("/v1/auth/challenge", web::post().to(challenge))
        .route("/v1/auth/token", web::post().to(token))
        .route("/v1/leases/{lease_id}/job", web::post().to(submit))
        .route("/v1/leases/{lease_id}/job", web::get().to(job_status))
        .route("/v1/leases/{lease_id}/logs", web::get().to(logs))
        .route(
            "/v1/leases/{lease_id}/logs/download",
            web::get().to(logs_download),
        )
        .route("/v1/leases/{lease_id}/usage", web::get().to(usage))
        .route("/v1/leases/{lease_id}/evidence", web::get().to(evidence))
        .route("/v1/leases/{lease_id}/results", web::get().to(results))
        .service(
            web::resource("/v1/leases/{lease_id}/image")
                .app_data(web::PayloadConfig::new(max_image_bytes))
                .route(web::post().to(image)),
        )
        .default_service(web::to(not_found));
}

/// The HTTP server on `listener` (2 workers, no signal handling: the caller stops it).
pub fn http_server(
    worker: Arc<Worker>,
    listener: std::net::TcpListener,
) -> std::io::Result<actix_web::dev::Server> {
    let max_image = (worker.cfg.docker.max_image_mib as usize).saturating_mul(1024 * 1024);
    let data = web::Data::from(worker);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .configure(|c| routes(c, max_image))
    })
    .workers(2)
    .disable_signals()
    .listen(listener)?
    .run())
}
