//! The OpenAPI document: every route and every schema it names.

use utoipa::OpenApi;

use crate::error::ErrorBody;
use crate::model::*;
use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "DGCM query API",
        description = "Read-only market API over the DGCM indexer: listings, orders, leases, \
                       reputation, accounts, rates, bridged deposits and boxes in the node's JSON."
    ),
    paths(
        routes::health,
        routes::metrics,
        routes::openapi,
        routes::status,
        routes::listings,
        routes::listing,
        routes::orders,
        routes::order,
        routes::leases,
        routes::lease,
        routes::provider,
        routes::account,
        routes::market_stats,
        routes::rates,
        routes::rosen_events,
        routes::box_by_id,
        routes::unspent_by_token,
    ),
    components(schemas(
        ErrorBody, Status, Listing, ListingDetail, Lease, LeaseDetail, TimelineEvent, Order,
        Reputation, Provider, LetsAccount, CollateralHolding, AssetRate, Account, ModelStats, MarketStats, Rates, RosenPath,
        RosenEvents, NodeBox, NodeAsset, Page<Listing>, Page<Order>, Page<Lease>, Page<NodeBox>
    ))
)]
pub struct ApiDoc;

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
