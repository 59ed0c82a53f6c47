//! HTTP handlers: parse and validate parameters, run the query on a pooled connection in
//! `web::block`, shape the reply. Each carries its OpenAPI description.

use actix_web::{web, HttpResponse};
use diesel::PgConnection;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, ErrorBody};
use crate::model::*;
use crate::params::{self, Cursor};
use crate::queries::{self, LeaseFilter, ListingFilter, ListingSort, OrderFilter};
use crate::{boxjson, AppState};

type Reply<T> = Result<web::Json<T>, ApiError>;

/// Run `f` on a pooled connection off the async workers.
async fn db<T, F>(s: &AppState, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
{
    let pool = s.pool.clone();
    web::block(move || {
        let mut c = pool.get()?;
        f(&mut c)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
}

impl AppState {
    fn fill_listing(&self, l: &mut Listing) {
        l.provider_address = params::pk_address(&l.provider_pk, self.config.network);
    }

    fn fill_lease(&self, l: &mut Lease) {
        l.provider_address = params::pk_address(&l.provider_pk, self.config.network);
        l.consumer_address = params::pk_address(&l.consumer_pk, self.config.network);
    }
}

fn next_cursor<T>(
    items: &[T],
    limit: i64,
    scope: &str,
    key: impl Fn(&T) -> Cursor,
) -> Option<String> {
    (items.len() as i64 == limit)
        .then(|| items.last().map(|l| key(l).encode(scope)))
        .flatten()
}

fn id_of(hex_id: &str) -> Vec<u8> {
    hex::decode(hex_id).unwrap_or_default()
}

#[utoipa::path(get, path = "/health", tag = "service",
    responses((status = 200, description = "Database reachable"), (status = 503, body = ErrorBody)))]
pub async fn health(s: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    db(&s, |c| Ok(queries::tip(c)?.map(|t| t.height))).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"status": "ok"})))
}

#[utoipa::path(get, path = "/metrics", tag = "service",
    responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain")))]
pub async fn metrics(s: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(s.metrics.render())
}

#[utoipa::path(get, path = "/api/v1/status", tag = "chain",
    responses((status = 200, body = Status), (status = 503, body = ErrorBody)))]
pub async fn status(s: web::Data<AppState>) -> Reply<Status> {
    let tip = db(&s, |c| Ok(queries::tip(c)?)).await?;
    let node_height = match &s.config.node {
        Some(url) => s.node_height(url).await,
        None => None,
    };
    let height = tip.as_ref().map(|t| t.height as i64).unwrap_or(0);
    Ok(web::Json(Status {
        height,
        header_id: tip.map(|t| t.header_id),
        node_height,
        lag_blocks: node_height.map(|n| (n - height).max(0)),
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListingsQuery {
    /// Exact GPU model, e.g. `RTX 4090`.
    model: Option<String>,
    /// At least this much VRAM per GPU.
    #[param(value_type = Option<i64>)]
    min_vram_mib: Option<String>,
    #[param(value_type = Option<i64>)]
    min_gpus: Option<String>,
    /// At most this price, mGPUC per hour.
    #[param(value_type = Option<i64>)]
    max_price: Option<String>,
    region: Option<String>,
    /// `true`: not leased now; `false`: leased now.
    #[param(value_type = Option<bool>)]
    available: Option<String>,
    /// Provider reputation at least this, 0..=1 (the `reputation` of each item).
    /// Reputation is computed from chain history, not self-reported:
    /// (completed + 1) / (completed + slashed + 2) over the provider's finished leases (Laplace's
    /// rule of succession), so a provider without finished leases scores the neutral 0.5 and
    /// one with history tends to its on-time rate completed / (completed + slashed). The same
    /// score as `reputation.score` of `GET /api/v1/providers/{address}`.
    #[param(value_type = Option<f64>, minimum = 0.0, maximum = 1.0)]
    min_reputation: Option<String>,
    /// `price` (cheapest first, default), `vram` (most first), `newest`, `reputation`
    /// (highest provider reputation first; ties by provider key, then box id, descending).
    sort: Option<String>,
    /// 1..=1000, default 50.
    #[param(value_type = Option<i64>)]
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/listings", tag = "market", params(ListingsQuery),
    responses((status = 200, body = Page<Listing>), (status = 400, body = ErrorBody)))]
pub async fn listings(
    s: web::Data<AppState>,
    q: web::Query<ListingsQuery>,
) -> Reply<Page<Listing>> {
    let q = q.into_inner();
    let sort = match q.sort.as_deref() {
        None => ListingSort::Price,
        Some(x) => ListingSort::parse(x).ok_or_else(|| {
            ApiError::param(
                "sort",
                format!("{x:?} is not one of price, vram, newest, reputation"),
            )
        })?,
    };
    let f = ListingFilter {
        model: params::text("model", q.model.as_deref())?,
        region: params::text("region", q.region.as_deref())?,
        min_vram_mib: params::int("min_vram_mib", q.min_vram_mib.as_deref(), 0, i64::MAX)?,
        min_gpus: params::int("min_gpus", q.min_gpus.as_deref(), 0, i64::MAX)?,
        max_price: params::int("max_price", q.max_price.as_deref(), 0, i64::MAX)?,
        available: params::boolean("available", q.available.as_deref())?,
        min_reputation: params::fraction("min_reputation", q.min_reputation.as_deref())?,
    };
    let limit = params::limit(q.limit.as_deref())?;
    let scope = format!("listings:{}", sort.name());
    let cursor = Cursor::decode(&scope, q.cursor.as_deref())?;
    let mut items = db(&s, move |c| {
        Ok(queries::listings(c, &f, sort, cursor.as_ref(), limit)?)
    })
    .await?;
    items.iter_mut().for_each(|l| s.fill_listing(l));
    let next_cursor = next_cursor(&items, limit, &scope, |l| Cursor {
        key: sort.key(l),
        id: sort.cursor_id(l),
    });
    Ok(web::Json(Page { items, next_cursor }))
}

#[utoipa::path(get, path = "/api/v1/listings/{listing_id}", tag = "market",
    params(("listing_id" = String, Path, description = "Listing NFT id (hex)")),
    responses((status = 200, body = ListingDetail), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn listing(s: web::Data<AppState>, id: web::Path<String>) -> Reply<ListingDetail> {
    let nft = params::hex32("listing_id", &id)?;
    let (mut history, mut leases) = db(&s, move |c| {
        let h = queries::listing_history(c, &nft)?;
        let f = LeaseFilter {
            listing_nft: Some(nft),
            ..Default::default()
        };
        Ok((h, queries::leases(c, &f, None, params::MAX_LIMIT)?))
    })
    .await?;
    history.iter_mut().for_each(|l| s.fill_listing(l));
    leases.iter_mut().for_each(|l| s.fill_lease(l));
    let current = history
        .last()
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("no listing with NFT {id}")))?;
    let available = current.spent_tx_id.is_none() && !current.leased;
    Ok(web::Json(ListingDetail {
        listing_nft: id.into_inner(),
        current,
        available,
        history,
        leases,
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrdersQuery {
    /// Consumer's P2PK address.
    consumer: Option<String>,
    model: Option<String>,
    /// `open`, `expired`, `matched`, `cancelled`.
    state: Option<String>,
    #[param(value_type = Option<i64>)]
    limit: Option<String>,
    cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/orders", tag = "market", params(OrdersQuery),
    responses((status = 200, body = Page<Order>), (status = 400, body = ErrorBody)))]
pub async fn orders(s: web::Data<AppState>, q: web::Query<OrdersQuery>) -> Reply<Page<Order>> {
    let q = q.into_inner();
    let f = OrderFilter {
        consumer_pk: q
            .consumer
            .as_deref()
            .map(|a| params::p2pk("consumer", a))
            .transpose()?,
        model: params::text("model", q.model.as_deref())?,
        state: state_param(q.state, queries::ORDER_STATES)?,
    };
    let limit = params::limit(q.limit.as_deref())?;
    let cursor = Cursor::decode("orders", q.cursor.as_deref())?;
    let mut items = db(&s, move |c| {
        Ok(queries::orders(c, &f, cursor.as_ref(), limit)?)
    })
    .await?;
    for o in &mut items {
        o.consumer_address = params::pk_address(&o.consumer_pk, s.config.network);
    }
    let next_cursor = next_cursor(&items, limit, "orders", |o| Cursor {
        key: o.height as i64,
        id: id_of(&o.box_id),
    });
    Ok(web::Json(Page { items, next_cursor }))
}

fn state_param(v: Option<String>, allowed: &[&str]) -> Result<Option<String>, ApiError> {
    match v {
        Some(s) if !allowed.contains(&s.as_str()) => Err(ApiError::param(
            "state",
            format!("{s:?} is not one of {}", allowed.join(", ")),
        )),
        v => Ok(v),
    }
}

#[utoipa::path(get, path = "/api/v1/orders/{box_id}", tag = "market",
    params(("box_id" = String, Path, description = "Order box id (hex)")),
    responses((status = 200, body = Order), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn order(s: web::Data<AppState>, id: web::Path<String>) -> Reply<Order> {
    let box_id = params::hex32("box_id", &id)?;
    let mut o = db(&s, move |c| Ok(queries::order(c, &box_id)?))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no order box {id}")))?;
    o.consumer_address = params::pk_address(&o.consumer_pk, s.config.network);
    Ok(web::Json(o))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LeasesQuery {
    /// Consumer's P2PK address.
    consumer: Option<String>,
    /// Provider's P2PK address.
    provider: Option<String>,
    /// `running`, `overdue`, `completed`, `settled`, `slashed`, `disputed`, `cancelled`.
    state: Option<String>,
    #[param(value_type = Option<i64>)]
    limit: Option<String>,
    cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/leases", tag = "market", params(LeasesQuery),
    responses((status = 200, body = Page<Lease>), (status = 400, body = ErrorBody)))]
pub async fn leases(s: web::Data<AppState>, q: web::Query<LeasesQuery>) -> Reply<Page<Lease>> {
    let q = q.into_inner();
    let f = LeaseFilter {
        consumer_pk: q
            .consumer
            .as_deref()
            .map(|a| params::p2pk("consumer", a))
            .transpose()?,
        provider_pk: q
            .provider
            .as_deref()
            .map(|a| params::p2pk("provider", a))
            .transpose()?,
        listing_nft: None,
        state: state_param(q.state, queries::LEASE_STATES)?,
    };
    let limit = params::limit(q.limit.as_deref())?;
    let cursor = Cursor::decode("leases", q.cursor.as_deref())?;
    let mut items = db(&s, move |c| {
        Ok(queries::leases(c, &f, cursor.as_ref(), limit)?)
    })
    .await?;
    items.iter_mut().for_each(|l| s.fill_lease(l));
    let next_cursor = next_cursor(&items, limit, "leases", |l| Cursor {
        key: l.height as i64,
        id: id_of(&l.box_id),
    });
    Ok(web::Json(Page { items, next_cursor }))
}

#[utoipa::path(get, path = "/api/v1/leases/{box_id}", tag = "market",
    params(("box_id" = String, Path, description = "Id of any box of the lease (hex)")),
    responses((status = 200, body = LeaseDetail), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn lease(s: web::Data<AppState>, id: web::Path<String>) -> Reply<LeaseDetail> {
    let box_id = params::hex32("box_id", &id)?;
    let (mut boxes, timeline) = db(&s, move |c| {
        let boxes = queries::lease_boxes(c, &box_id)?;
        let ids: Vec<Vec<u8>> = boxes.iter().map(|b| id_of(&b.box_id)).collect();
        let timeline = match ids.first() {
            Some(first) => queries::lease_timeline(c, first, &ids)?,
            None => Vec::new(),
        };
        Ok((boxes, timeline))
    })
    .await?;
    boxes.iter_mut().for_each(|l| s.fill_lease(l));
    let lease = boxes
        .last()
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("no lease box {id}")))?;
    Ok(web::Json(LeaseDetail {
        lease,
        boxes,
        timeline,
    }))
}

#[utoipa::path(get, path = "/api/v1/providers/{address}", tag = "market",
    params(("address" = String, Path, description = "Provider's P2PK address")),
    responses((status = 200, body = Provider), (status = 400, body = ErrorBody)))]
pub async fn provider(s: web::Data<AppState>, address: web::Path<String>) -> Reply<Provider> {
    let pk = params::p2pk("address", &address)?;
    let pk_hex = hex::encode(&pk);
    let (reputation, mut listings) = db(&s, move |c| {
        Ok((
            queries::reputation(c, &pk)?,
            queries::provider_listings(c, &pk)?,
        ))
    })
    .await?;
    listings.iter_mut().for_each(|l| s.fill_listing(l));
    Ok(web::Json(Provider {
        address: address.into_inner(),
        provider_pk: pk_hex,
        reputation,
        listings,
    }))
}

#[utoipa::path(get, path = "/api/v1/accounts/{address}", tag = "market",
    params(("address" = String, Path, description = "Ergo address")),
    responses((status = 200, body = Account), (status = 400, body = ErrorBody)))]
pub async fn account(s: web::Data<AppState>, address: web::Path<String>) -> Reply<Account> {
    let a = params::address("address", &address)?;
    let cfg = s.config.clone();
    let (bal, lets) = db(&s, move |c| {
        let bal = queries::balance(c, &a.tree, &cfg.gpuc_id)?;
        let lets = match &a.pk {
            Some(pk) => match queries::lets_account(c, pk)? {
                Some(row) => Some(priced_account(c, &cfg.params, row)?),
                None => None,
            },
            None => None,
        };
        Ok((bal, lets))
    })
    .await?;
    Ok(web::Json(Account {
        address: address.into_inner(),
        erg: bal.erg,
        gpuc: bal.token,
        lets,
    }))
}

/// What the indexed pool boxes price for a transaction in the block after the indexer's tip (the
/// member contract's freshness rule, from the contracts crate).
fn indexed_prices(
    c: &mut PgConnection,
    p: &dgcm_contracts::ProtocolParams,
) -> Result<dgcm_contracts::lets_member::Prices, ApiError> {
    use dgcm_contracts::lets_member::{pool_nfts, Prices};
    let next = queries::tip(c)?.map(|t| t.height + 1).unwrap_or(0).max(0) as u32;
    let mut points = Vec::new();
    for (nft, _) in pool_nfts(p) {
        let bytes = dgcm_contracts::util::token_bytes(&nft);
        if let Some((b, r4)) = rate_of(c, &bytes)? {
            points.push((nft, (b.creation_height.max(0) as u32, r4)));
        }
    }
    Ok(Prices::from_datapoints(p, next, |nft| {
        points.iter().find(|(n, _)| n == nft).map(|(_, x)| *x)
    }))
}

/// An account row priced by the contracts crate at the indexed pool boxes, for a transaction in
/// the block after the indexer's tip.
fn priced_account(
    c: &mut PgConnection,
    p: &dgcm_contracts::ProtocolParams,
    row: queries::LetsRow,
) -> Result<LetsAccount, ApiError> {
    use dgcm_contracts::lets_member::{borrow_value, fully_priced, healthy};
    use ergo_lib::ergotree_ir::chain::token::TokenId;
    let prices = indexed_prices(c, p)?;
    let mut assets: Vec<(TokenId, u64)> = Vec::new();
    for t in queries::box_tokens(c, &row.box_id)? {
        let Ok(a) = <[u8; 32]>::try_from(t.token_id.as_slice()) else {
            continue;
        };
        let id = dgcm_contracts::util::token_id(a);
        if p.asset_by_id(&id).is_some() {
            assets.push((id, t.amount.max(0) as u64));
        }
    }
    let value = row.erg_collateral.max(0) as u64;
    let collateral = p
        .collateral
        .iter()
        .enumerate()
        .filter_map(|(k, a)| {
            let amount: u64 = assets
                .iter()
                .filter(|(t, _)| *t == a.token_id)
                .map(|(_, n)| *n)
                .sum();
            let price = prices.assets.get(k).copied().filter(|x| *x > 0);
            (amount > 0).then(|| CollateralHolding {
                name: a.name.clone(),
                token_id: hex::encode(dgcm_contracts::util::token_bytes(&a.token_id)),
                amount: amount as i64,
                decimals: a.decimals,
                factor_pct: a.factor_pct,
                price_nanoerg: price,
                value_nanoerg: price.map(|x| amount as f64 * x as f64 / a.unit() as f64),
            })
        })
        .collect();
    let priced = prices.rate > 0;
    let debt = (row.balance < 0 && priced).then(|| {
        -(row.balance as f64) / 1000.0 * p.gpuc_price_cents as f64 / 100.0 * prices.rate as f64
    });
    let bv = priced.then(|| {
        borrow_value(p, &prices, value, &assets)
            .to_string()
            .parse::<f64>()
            .unwrap_or(f64::MAX)
    });
    let unhealthy = !healthy(p, &prices, row.balance, value, &assets);
    Ok(LetsAccount {
        box_id: row.box_id,
        balance: row.balance,
        erg_collateral: row.erg_collateral,
        sigusd_collateral: row.sigusd_collateral,
        collateral,
        debt_nanoerg: debt,
        borrow_value_nanoerg: bv,
        collateral_ratio_pct: match (bv, debt) {
            (Some(b), Some(d)) if d > 0.0 => Some(b / d * 100.0),
            _ => None,
        },
        healthy: (row.balance >= 0 || priced)
            .then(|| healthy(p, &prices, row.balance, value, &assets)),
        // the liquidation path's own precondition (lets_member::liquidatable)
        liquidatable: row.balance < 0 && fully_priced(p, &prices, &assets) && unhealthy,
    })
}

/// The pool box and its R4 (nanoERG per USD).
fn rate_of(c: &mut PgConnection, nft: &[u8]) -> Result<Option<(queries::PoolBox, i64)>, ApiError> {
    use ergo_lib::ergotree_ir::mir::constant::{Constant, TryExtractInto};
    use ergo_lib::ergotree_ir::serialization::SigmaSerializable;
    let Some(b) = queries::pool_box(c, nft)? else {
        return Ok(None);
    };
    let rate =
        b.r4.as_deref()
            .and_then(|r| Constant::sigma_parse_bytes(r).ok())
            .and_then(|k| k.try_extract_into::<i64>().ok())
            .ok_or_else(|| {
                ApiError::unavailable(format!("oracle pool box {} has no Long R4", b.box_id))
            })?;
    Ok(Some((b, rate)))
}

#[utoipa::path(get, path = "/api/v1/market/stats", tag = "market",
    responses((status = 200, body = MarketStats)))]
pub async fn market_stats(s: web::Data<AppState>) -> Reply<MarketStats> {
    let state = s.clone();
    let stats = db(&s, move |c| {
        // Computed once per block; the cursor read and the aggregate share one snapshot.
        c.build_transaction()
            .read_only()
            .repeatable_read()
            .run(|c| {
                let tip = queries::tip(c)?.map(|t| (t.height, t.header_id));
                let cached = state.market_stats.lock().ok().and_then(|m| {
                    m.as_ref()
                        .filter(|(h, id, _)| tip.as_ref() == Some(&(*h, id.clone())))
                        .map(|(_, _, v)| v.clone())
                });
                if let Some(v) = cached {
                    return Ok(v);
                }
                let (models, vol) = (queries::model_stats(c)?, queries::volume(c)?);
                let listings: i64 = models.iter().map(|m| m.listings).sum();
                let leased: i64 = models.iter().map(|m| m.leased).sum();
                let v = MarketStats {
                    models,
                    listings,
                    leased,
                    utilisation: (listings > 0).then(|| leased as f64 / listings as f64),
                    leases_total: vol.leases,
                    volume_total: vol.total,
                    volume_last_720_blocks: vol.recent,
                };
                if let (Some((h, id)), Ok(mut m)) = (tip, state.market_stats.lock()) {
                    *m = Some((h, id, v.clone()));
                }
                Ok(v)
            })
    })
    .await?;
    Ok(web::Json(stats))
}

#[utoipa::path(get, path = "/api/v1/rates", tag = "market",
    responses((status = 200, body = Rates), (status = 503, body = ErrorBody)))]
pub async fn rates(s: web::Data<AppState>) -> Reply<Rates> {
    let nft = s.config.oracle_pool_nft.clone();
    let params = s.config.params.clone();
    let (found, prices) = db(&s, move |c| {
        Ok((rate_of(c, &nft)?, indexed_prices(c, &params)?))
    })
    .await?;
    let (b, rate) =
        found.ok_or_else(|| ApiError::unavailable("no unspent oracle pool box is indexed"))?;
    if rate <= 0 {
        return Err(ApiError::unavailable(format!(
            "oracle pool rate {rate} is not positive"
        )));
    }
    let gpuc_usd = s.config.gpuc_price_cents as f64 / 100.0;
    Ok(web::Json(Rates {
        pool_box_id: b.box_id,
        pool_height: b.height,
        nanoerg_per_usd: rate,
        erg_usd: 1e9 / rate as f64,
        gpuc_usd,
        gpuc_nanoerg: gpuc_usd * rate as f64,
        gpuc_sigusd: gpuc_usd,
        collateral: s
            .config
            .params
            .collateral
            .iter()
            .enumerate()
            .map(|(k, a)| {
                let price = prices.assets.get(k).copied().filter(|x| *x > 0);
                AssetRate {
                    name: a.name.clone(),
                    token_id: hex::encode(dgcm_contracts::util::token_bytes(&a.token_id)),
                    decimals: a.decimals,
                    factor_pct: a.factor_pct,
                    nanoerg_per_token: price,
                    usd_per_token: price.map(|x| x as f64 / rate as f64),
                }
            })
            .collect(),
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RosenQuery {
    /// Transaction id on the source chain, as the watchers report it.
    source_tx: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/rosen/events", tag = "bridge", params(RosenQuery),
    responses((status = 200, body = RosenEvents), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rosen_events(s: web::Data<AppState>, q: web::Query<RosenQuery>) -> Reply<RosenEvents> {
    let tx = params::text("source_tx", q.source_tx.as_deref())?
        .ok_or_else(|| ApiError::param("source_tx", "is required"))?;
    let t = tx.clone();
    let items = db(&s, move |c| Ok(queries::rosen_paths(c, &t)?)).await?;
    if items.is_empty() {
        return Err(ApiError::not_found(format!(
            "no Rosen event for source transaction {tx:?}"
        )));
    }
    Ok(web::Json(RosenEvents { items }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BoxQuery {
    /// Also look at the mempool.
    #[param(value_type = Option<bool>)]
    include_mempool: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/boxes/{box_id}", tag = "chain",
    params(("box_id" = String, Path, description = "Box id (hex)"), BoxQuery),
    responses((status = 200, body = NodeBox), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn box_by_id(
    s: web::Data<AppState>,
    id: web::Path<String>,
    q: web::Query<BoxQuery>,
) -> Reply<NodeBox> {
    let box_id = params::hex32("box_id", &id)?;
    let mempool =
        params::boolean("include_mempool", q.include_mempool.as_deref())?.unwrap_or(false);
    db(&s, move |c| Ok(boxjson::by_id(c, &box_id, mempool)?))
        .await?
        .map(web::Json)
        .ok_or_else(|| ApiError::not_found(format!("no box {id}")))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TokenBoxesQuery {
    /// Add pool outputs holding the token and drop boxes the pool spends.
    #[param(value_type = Option<bool>)]
    include_mempool: Option<String>,
    #[param(value_type = Option<i64>)]
    limit: Option<String>,
    cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/boxes/unspent/byTokenId/{token_id}", tag = "chain",
    params(("token_id" = String, Path, description = "Token id (hex)"), TokenBoxesQuery),
    responses((status = 200, body = Page<NodeBox>), (status = 400, body = ErrorBody)))]
pub async fn unspent_by_token(
    s: web::Data<AppState>,
    id: web::Path<String>,
    q: web::Query<TokenBoxesQuery>,
) -> Reply<Page<NodeBox>> {
    let token = params::hex32("token_id", &id)?;
    let mempool =
        params::boolean("include_mempool", q.include_mempool.as_deref())?.unwrap_or(false);
    let limit = params::limit(q.limit.as_deref())?;
    let cursor = Cursor::decode("boxes", q.cursor.as_deref())?;
    let items = db(&s, move |c| {
        Ok(boxjson::unspent_by_token(
            c,
            &token,
            mempool,
            cursor.as_ref(),
            limit,
        )?)
    })
    .await?;
    let next_cursor = next_cursor(&items, limit, "boxes", |b| Cursor {
        key: b.creation_height as i64,
        id: id_of(&b.box_id),
    });
    Ok(web::Json(Page { items, next_cursor }))
}

#[utoipa::path(get, path = "/api/openapi.json", tag = "service",
    responses((status = 200, description = "This document")))]
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(crate::openapi::document())
}

pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found("no such route"))
}
