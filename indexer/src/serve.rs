//! `/metrics` (Prometheus text) and `/health` for a running indexer.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use actix_web::{web, App, HttpResponse, HttpServer};

use crate::IndexerMetrics;

async fn metrics(m: web::Data<IndexerMetrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(m.render())
}

async fn health(m: web::Data<IndexerMetrics>) -> HttpResponse {
    let h = m.height.load(Ordering::Relaxed);
    let n = m.node_height.load(Ordering::Relaxed);
    HttpResponse::Ok().json(serde_json::json!({"status": "ok", "height": h, "node_height": n, "lag_blocks": (n - h).max(0)}))
}

/// Serve the metrics on `listen` until the returned server is stopped.
pub fn metrics_server(
    listen: SocketAddr,
    m: Arc<IndexerMetrics>,
) -> std::io::Result<actix_web::dev::Server> {
    let data = web::Data::from(m);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/metrics", web::get().to(metrics))
            .route("/health", web::get().to(health))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .bind(listen)?
    .run())
}
