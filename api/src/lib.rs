//! `dgcm-api`: the read-only query API over the indexer's PostgreSQL (actix-web, OpenAPI).
//!
//! - [`routes`]: handlers (validation, reply shapes); [`queries`]: their SQL; [`boxjson`]: boxes
//!   in the node's JSON; [`params`]: parameter parsing; [`error`]: `{error, detail}` replies;
//!   [`openapi`]: the document; [`metrics`]: Prometheus; [`bench`]: `dgcm bench api`.

pub mod bench;
pub mod boxjson;
pub mod error;
pub mod metrics;
pub mod model;
pub mod openapi;
pub mod params;
pub mod queries;
pub mod routes;
pub mod sql;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::Service;
use actix_web::{web, App, HttpServer};
use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::PgConnection;
use ergo_lib::ergotree_ir::chain::address::NetworkPrefix;

use crate::error::ApiError;
use crate::metrics::ApiMetrics;

pub type PgPool = Pool<ConnectionManager<PgConnection>>;

#[derive(Clone, Debug)]
pub struct ApiConfig {
    pub database_url: String,
    /// Node REST URL for `node_height` in /status (optional).
    pub node: Option<String>,
    pub pool_size: u32,
    /// PostgreSQL `statement_timeout` on every pooled connection.
    pub statement_timeout: Duration,
    pub oracle_pool_nft: Vec<u8>,
    pub gpuc_id: Vec<u8>,
    /// Protocol parameters the replies compute with (GPUC price, LETS collateral ratio).
    pub gpuc_price_cents: i64,
    pub collateral_ratio_pct: i64,
    /// Every protocol parameter (the listed collateral assets and their pools, ...): account
    /// health is computed with the contracts crate's own functions from them.
    pub params: dgcm_contracts::ProtocolParams,
    /// Prefix of the addresses the API writes.
    pub network: NetworkPrefix,
}

impl ApiConfig {
    /// The devnet deployment's parameters and its network's address prefixes (testnet, `3W…`,
    /// as the devnet, `dgcm tx` and the worker write them): what `dgcm api` uses without a
    /// deployment file.
    pub fn devnet(database_url: impl Into<String>) -> ApiConfig {
        ApiConfig::for_deployment(
            database_url,
            &dgcm_contracts::deployment::Deployment::devnet_default(),
        )
    }

    /// The parameters of `deployment`: GPUC id, oracle pool NFT, GPUC price, collateral ratio,
    /// and its network's address prefix.
    pub fn for_deployment(
        database_url: impl Into<String>,
        deployment: &dgcm_contracts::deployment::Deployment,
    ) -> ApiConfig {
        let p = &deployment.params;
        ApiConfig {
            database_url: database_url.into(),
            node: None,
            pool_size: 8,
            statement_timeout: Duration::from_secs(5),
            oracle_pool_nft: dgcm_contracts::util::token_bytes(&p.oracle_pool_nft),
            gpuc_id: dgcm_contracts::util::token_bytes(&p.gpuc_id),
            gpuc_price_cents: p.gpuc_price_cents,
            collateral_ratio_pct: p.collateral_ratio_pct,
            params: p.clone(),
            network: deployment.network,
        }
    }
}

pub struct AppState {
    pub pool: PgPool,
    pub config: ApiConfig,
    pub metrics: ApiMetrics,
    http: reqwest::Client,
    /// `/api/v1/market/stats` of the block at the indexer's cursor (height, header id): the
    /// aggregate over every listing changes only with a block.
    pub market_stats: std::sync::Mutex<Option<(i32, String, model::MarketStats)>>,
}

impl AppState {
    pub fn new(config: ApiConfig) -> anyhow::Result<AppState> {
        Ok(AppState {
            pool: pool(&config)?,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()?,
            config,
            metrics: ApiMetrics::default(),
            market_stats: std::sync::Mutex::new(None),
        })
    }

    /// The node's full height, or None when it does not answer (status must not fail on it).
    async fn node_height(&self, url: &str) -> Option<i64> {
        let info: serde_json::Value = self
            .http
            .get(format!("{}/info", url.trim_end_matches('/')))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        info.get("fullHeight")?.as_i64()
    }
}

/// Every pooled connection is read-only and times out its statements.
#[derive(Debug)]
struct SessionSettings {
    timeout_ms: u128,
}

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for SessionSettings {
    fn on_acquire(&self, c: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        c.batch_execute(&format!(
            "SET statement_timeout = {}; SET default_transaction_read_only = on",
            self.timeout_ms
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

pub fn pool(config: &ApiConfig) -> anyhow::Result<PgPool> {
    let manager = ConnectionManager::<PgConnection>::new(&config.database_url);
    Ok(Pool::builder()
        .max_size(config.pool_size)
        .connection_timeout(Duration::from_secs(5))
        .connection_customizer(Box::new(SessionSettings {
            timeout_ms: config.statement_timeout.as_millis(),
        }))
        .build(manager)?)
}

/// The routes, for `App::configure` (the server and the tests share it).
pub fn configure(cfg: &mut web::ServiceConfig) {
    use routes::*;
    cfg.app_data(web::QueryConfig::default().error_handler(|e, _| {
        // serde names the unknown or malformed field in its message.
        ApiError::param("query", e.to_string()).into()
    }))
    .route("/health", web::get().to(health))
    .route("/metrics", web::get().to(metrics))
    .route("/api/openapi.json", web::get().to(openapi))
    .service(
        web::scope("/api/v1")
            .route("/status", web::get().to(status))
            .route("/listings", web::get().to(listings))
            .route("/listings/{listing_id}", web::get().to(listing))
            .route("/orders", web::get().to(orders))
            .route("/orders/{box_id}", web::get().to(order))
            .route("/leases", web::get().to(leases))
            .route("/leases/{box_id}", web::get().to(lease))
            .route("/providers/{address}", web::get().to(provider))
            .route("/accounts/{address}", web::get().to(account))
            .route("/market/stats", web::get().to(market_stats))
            .route("/rates", web::get().to(rates))
            .route("/rosen/events", web::get().to(rosen_events))
            .route(
                "/boxes/unspent/byTokenId/{token_id}",
                web::get().to(unspent_by_token),
            )
            .route("/boxes/{box_id}", web::get().to(box_by_id)),
    )
    .default_service(web::to(not_found));
}

/// The whole application: routes, CORS for GET, request metrics.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let m = state.clone();
    App::new()
        .app_data(state)
        .configure(configure)
        .wrap(
            actix_cors::Cors::default()
                .allow_any_origin()
                .allowed_methods(["GET"])
                .max_age(3600),
        )
        .wrap_fn(move |req, srv| {
            let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
            let t0 = Instant::now();
            let m = m.clone();
            let fut = srv.call(req);
            async move {
                let res = fut.await?;
                m.metrics
                    .observe(&route, res.status().as_u16(), t0.elapsed().as_secs_f64());
                Ok(res)
            }
        })
}

/// Serve on `listener` with `workers` threads until the returned server is stopped.
pub fn server(
    state: Arc<AppState>,
    listener: TcpListener,
    workers: usize,
) -> std::io::Result<actix_web::dev::Server> {
    let data = web::Data::from(state);
    Ok(HttpServer::new(move || app(data.clone()))
        .workers(workers)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)?
        .run())
}
