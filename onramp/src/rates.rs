//! Rates from the chain: the ERG/USD oracle pool box (tokens(0) = the pool NFT, R4 = nanoERG per
//! USD as a Long, read with the same rule as the LETS member contract:
//! [`dgcm_contracts::lets_member::oracle_rate`]); SigUSD at 1 USD; GPUC at the protocol's
//! `GPUC_PRICE_CENTS` per whole GPUC.

use dgcm_chain::NodeClient;
use dgcm_contracts::ProtocolParams;

use crate::config::AssetsConfig;
use crate::pricing::{Asset, Rate};

#[derive(Debug, thiserror::Error)]
pub enum RateError {
    #[error("node: {0}")]
    Node(#[from] dgcm_chain::NodeError),
    #[error("no ERG/USD oracle pool box holding NFT {0} with a Long R4 > 0 is unspent")]
    NoOracle(String),
    #[error("the oracle pool box {box_id} is {age} blocks old (limit {limit})")]
    Stale {
        box_id: String,
        age: u32,
        limit: u32,
    },
}

/// The rate for `asset`, read now.
pub async fn rate_for(
    node: &NodeClient,
    assets: &AssetsConfig,
    asset: Asset,
) -> Result<Rate, RateError> {
    match asset {
        Asset::SigUsd => Ok(Rate::Peg),
        Asset::Gpuc => Ok(Rate::Protocol {
            gpuc_price_cents: assets.gpuc_price_cents,
        }),
        Asset::Erg => erg_usd(node, assets).await,
    }
}

/// The ERG/USD oracle pool box's rate (the newest box holding the NFT, should there be several).
pub async fn erg_usd(node: &NodeClient, assets: &AssetsConfig) -> Result<Rate, RateError> {
    let params = ProtocolParams {
        oracle_pool_nft: assets.oracle_pool_nft,
        ..ProtocolParams::devnet_default()
    };
    let height = node.info().await?.full_height.unwrap_or(0);
    let boxes = node
        .unspent_boxes_by_token(&assets.oracle_pool_nft, 0, 20)
        .await?;
    let best = boxes
        .iter()
        .filter_map(|b| {
            let r = dgcm_contracts::lets_member::pool_price(
                &params.oracle_pool_nft,
                params.oracle_max_age,
                std::slice::from_ref(b),
                height + 1,
            );
            (r > 0).then_some((b, r))
        })
        .max_by_key(|(b, _)| b.creation_height);
    let Some((b, rate)) = best else {
        return Err(RateError::NoOracle(String::from(assets.oracle_pool_nft)));
    };
    let box_id = String::from(b.box_id());
    let limit = assets.oracle_max_age_blocks;
    if limit > 0 {
        let tip = node.info().await?.full_height.unwrap_or(0);
        let age = tip.saturating_sub(b.creation_height);
        if age > limit {
            return Err(RateError::Stale { box_id, age, limit });
        }
    }
    Ok(Rate::Oracle {
        nanoerg_per_usd: rate,
        box_id,
        height: b.creation_height,
    })
}
