//! The provider's listing: created on first start, updated when its terms (or the price) change,
//! withdrawn on request; all through the dgcm-contracts builders. Pricing is fixed, or follows
//! the market: the median price of comparable listings (same GPU model) from the query API,
//! clamped to the provider's bounds, applied when it drifts past `drift_pct`.

use std::sync::Arc;

use anyhow::{anyhow, Context};
use dgcm_contracts::listing::{Listing, ListingTerms};
use dgcm_contracts::{build, Typed};
use ergo_lib::ergo_chain_types::Digest32;
use ergo_lib::ergotree_ir::chain::token::TokenId;

use crate::chain::ChainCtx;
use crate::config::WorkerConfig;
use crate::gpu::GpuInfo;
use crate::metering::Metrics;
use crate::state::Store;

/// What [`ListingManager::sync`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListingAction {
    Created {
        nft: String,
        tx: String,
    },
    Updated {
        tx: String,
        price: i64,
    },
    Unchanged,
    /// R7 busyUntil cleared: the lease that made the listing busy is completed (the listing
    /// takes a match again before that lease's deadline).
    Freed {
        tx: String,
    },
    /// Busy (a lease of it is running, or its completion is not in a block yet): nothing to do
    /// until it ends.
    Busy {
        until: i64,
    },
    /// Created earlier but not visible yet (in flight, or waiting for an external wallet).
    Pending {
        nft: String,
    },
    Disabled,
}

pub struct ListingManager {
    pub chain: Arc<ChainCtx>,
    pub store: Arc<Store>,
    pub cfg: WorkerConfig,
    pub gpu: GpuInfo,
    pub metrics: Arc<Metrics>,
    http: reqwest::Client,
}

fn nft_hex(id: &TokenId) -> String {
    hex::encode(dgcm_contracts::util::token_bytes(id))
}

/// Median of prices (the lower middle of an even count); `None` when empty.
pub fn median(mut prices: Vec<i64>) -> Option<i64> {
    if prices.is_empty() {
        return None;
    }
    prices.sort_unstable();
    let n = prices.len();
    Some(if n % 2 == 1 {
        prices[n / 2]
    } else {
        (prices[n / 2 - 1] + prices[n / 2]) / 2
    })
}

/// The market price rule: the median clamped to `[min, max]`, applied only when it differs from
/// `current` by more than `drift_pct` percent.
pub fn market_decision(
    current: i64,
    median: Option<i64>,
    min: i64,
    max: i64,
    drift_pct: u32,
) -> i64 {
    let Some(m) = median else {
        return current;
    };
    let target = m.clamp(min, max);
    let diff = (target - current).unsigned_abs() as u128 * 100;
    if diff > current.unsigned_abs() as u128 * drift_pct as u128 {
        target
    } else {
        current
    }
}

impl ListingManager {
    pub fn new(
        chain: Arc<ChainCtx>,
        store: Arc<Store>,
        cfg: WorkerConfig,
        gpu: GpuInfo,
        metrics: Arc<Metrics>,
    ) -> ListingManager {
        ListingManager {
            chain,
            store,
            cfg,
            gpu,
            metrics,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        }
    }

    pub fn endpoint(&self) -> String {
        self.cfg
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.cfg.listen))
    }

    /// The listing we want published at `price` (the NFT is filled in by the builder or kept).
    pub fn desired(&self, price: i64, nft: TokenId, stake: u64, value: u64) -> Listing {
        let l = &self.cfg.listing;
        Listing {
            value,
            nft,
            stake,
            provider: self.chain.pk().clone(),
            terms: ListingTerms {
                price_per_hour: price,
                collateral_per_hour: l.collateral_per_hour,
                min_hours: l.min_hours,
                max_hours: l.max_hours,
                vram_mib: self.gpu.vram_mib,
                gpu_count: self.gpu.count,
                benchmark_score: l.benchmark_score,
                limits: self.cfg.docker.capacity(),
            },
            model: self.gpu.model.clone(),
            region: l.region.clone(),
            endpoint: self.endpoint(),
            busy_until: None,
        }
    }

    /// Our listing box (mempool first), when the state names one and it is unspent.
    pub async fn current(&self) -> anyhow::Result<Option<Typed<Listing>>> {
        Ok(self.current_confirmed().await?.map(|(l, _)| l))
    }

    /// [`Self::current`], and whether that box is in a block (not a mempool output).
    pub async fn current_confirmed(&self) -> anyhow::Result<Option<(Typed<Listing>, bool)>> {
        let Some(nft) = self.store.read(|s| s.listing_nft.clone()) else {
            return Ok(None);
        };
        let id: TokenId = Digest32::try_from(nft.clone())
            .map(TokenId::from)
            .map_err(|e| anyhow!("state listing_nft {nft:?}: {e}"))?;
        let c = &self.chain.contracts;
        let mut candidates = self
            .chain
            .client
            .unconfirmed_outputs_by_token(&id)
            .await
            .unwrap_or_default();
        let confirmed = candidates.is_empty();
        if confirmed {
            candidates = self
                .chain
                .client
                .unspent_boxes_by_token(&id, 0, 10)
                .await
                .unwrap_or_default();
        }
        for b in candidates {
            if c.kind_of(&b.ergo_tree) == Some(dgcm_contracts::Kind::Listing) {
                // A mempool output may already be spent in the mempool: make sure it is not.
                let spent = self
                    .chain
                    .client
                    .unconfirmed_input_by_box(&b.box_id())
                    .await
                    .ok()
                    .flatten()
                    .is_some();
                if spent {
                    continue;
                }
                if let Ok(t) = Typed::parse(c, b) {
                    return Ok(Some((t, confirmed)));
                }
            }
        }
        Ok(None)
    }

    /// Whether our listing, busy until `until` (R7), can be freed now: the box is in a block (so
    /// the match that made it busy is too), and no lease of it is open in the UTXO set (a
    /// completion still in the mempool waits for its block).
    async fn can_free(&self, nft: &TokenId, confirmed: bool) -> anyhow::Result<bool> {
        if !confirmed {
            return Ok(false);
        }
        let nft = dgcm_contracts::util::token_bytes(nft);
        Ok(self.chain.our_open_leases(Some(&nft)).await?.is_empty())
    }

    /// The price to publish now.
    pub async fn price(&self, current: Option<i64>) -> i64 {
        let p = &self.cfg.pricing;
        let cur = current
            .unwrap_or(p.price_per_hour)
            .clamp(p.min_price, p.max_price);
        if p.mode != "market" {
            return p.price_per_hour;
        }
        match self.market_median().await {
            Ok(m) => market_decision(cur, m, p.min_price, p.max_price, p.drift_pct),
            Err(e) => {
                tracing::warn!(error = %e, "market price unavailable; keeping {cur}");
                cur
            }
        }
    }

    /// Median price of the other available listings of the same GPU model.
    pub async fn market_median(&self) -> anyhow::Result<Option<i64>> {
        let base = self
            .cfg
            .query_api
            .as_deref()
            .context("worker.query_api is not set")?;
        let ours = self
            .store
            .read(|s| s.listing_nft.clone())
            .unwrap_or_default();
        let v: serde_json::Value = self
            .http
            .get(format!("{}/api/v1/listings", base.trim_end_matches('/')))
            .query(&[("model", self.gpu.model.as_str()), ("limit", "1000")])
            .send()
            .await
            .context("query API")?
            .error_for_status()
            .context("query API")?
            .json()
            .await
            .context("query API reply")?;
        let prices: Vec<i64> = v["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|l| l["listing_nft"].as_str() != Some(ours.as_str()))
                    .filter_map(|l| l["price_per_hour"].as_i64())
                    .filter(|p| *p > 0)
                    .collect()
            })
            .unwrap_or_default();
        Ok(median(prices))
    }

    /// Creates the listing when there is none, updates it when terms or price changed.
    pub async fn sync(&self) -> anyhow::Result<ListingAction> {
        if !self.cfg.listing.enabled {
            return Ok(ListingAction::Disabled);
        }
        let c = &self.chain.contracts;
        let cur = self.current_confirmed().await?;
        let height = self.chain.build_height().await?;
        match cur {
            None => {
                if let Some(nft) = self.store.read(|s| s.listing_nft.clone()) {
                    return Ok(ListingAction::Pending { nft });
                }
                let price = self.price(None).await;
                let l = &self.cfg.listing;
                // The NFT id is the first funding box's; the builder sets it.
                let want = self.desired(price, c.params.gpuc_id, l.stake, l.box_value);
                let plan = self
                    .chain
                    .funded("worker.listing", |e| {
                        build::list_listing(c, &want, height, e)
                    })
                    .await?;
                let nft: TokenId = plan
                    .inputs
                    .first()
                    .map(|b| b.box_id().into())
                    .context("no funding box")?;
                let tx = self.chain.execute("listing-create", plan).await?;
                let nft = nft_hex(&nft);
                self.store.update(|s| {
                    s.listing_nft = Some(nft.clone());
                    s.listing_price = Some(price);
                    s.published_terms
                        .insert((want.terms.price_per_hour, want.terms.collateral_per_hour));
                    s.published_limits.insert(want.terms.limits);
                })?;
                self.metrics.listing_price.set(price);
                tracing::info!(%nft, %tx, price, "listing created");
                Ok(ListingAction::Created { nft, tx })
            }
            Some((cur, confirmed)) => {
                let price = self.price(Some(cur.v.terms.price_per_hour)).await;
                let mut want = self.desired(price, cur.v.nft, cur.v.stake, cur.v.value);
                self.metrics.listing_price.set(cur.v.terms.price_per_hour);
                let seen = (cur.v.terms.price_per_hour, cur.v.terms.collateral_per_hour);
                let limits = cur.v.terms.limits;
                if !self.store.read(|s| {
                    s.published_terms.contains(&seen) && s.published_limits.contains(&limits)
                }) {
                    self.store.update(|s| {
                        s.published_terms.insert(seen);
                        s.published_limits.insert(limits);
                    })?;
                }
                // The busy rule: a listing busy until a height still to come is freed once the
                // lease that made it busy is completed; until then an update keeps R7.
                let busy = cur
                    .v
                    .busy_until
                    .filter(|b| !dgcm_contracts::capacity::free_at(Some(*b), height));
                let free_now = match busy {
                    Some(_) => self.can_free(&cur.v.nft, confirmed).await?,
                    None => false,
                };
                if let (Some(until), false) = (busy, free_now) {
                    want.busy_until = Some(until);
                }
                let same = want.terms == cur.v.terms
                    && want.model == cur.v.model
                    && want.region == cur.v.region
                    && want.endpoint == cur.v.endpoint;
                if same && !free_now {
                    return Ok(match busy {
                        Some(until) => ListingAction::Busy { until },
                        None => ListingAction::Unchanged,
                    });
                }
                let plan = self
                    .chain
                    .funded("worker.listing", |e| {
                        build::update_listing(c, &cur, &want, height, e)
                    })
                    .await?;
                let tx = self.chain.execute("listing-update", plan).await?;
                self.store.update(|s| {
                    s.listing_price = Some(price);
                    s.published_terms
                        .insert((want.terms.price_per_hour, want.terms.collateral_per_hour));
                    s.published_limits.insert(want.terms.limits);
                })?;
                self.metrics.listing_price.set(price);
                if same {
                    tracing::info!(%tx, "listing freed: its lease is completed");
                    return Ok(ListingAction::Freed { tx });
                }
                tracing::info!(%tx, price, "listing updated");
                Ok(ListingAction::Updated { tx, price })
            }
        }
    }

    /// Withdraws the listing (burns its NFT; the stake returns to the provider).
    pub async fn withdraw(&self) -> anyhow::Result<String> {
        let cur = self
            .current()
            .await?
            .context("no listing to withdraw (none recorded in the state, or not on chain)")?;
        let height = self.chain.build_height().await?;
        let plan = self
            .chain
            .funded("withdraw listing", |e| {
                build::withdraw_listing(&self.chain.contracts, &cur, height, e)
            })
            .await?;
        let tx = self.chain.execute("listing-withdraw", plan).await?;
        self.store.update(|s| {
            s.listing_nft = None;
            s.listing_price = None;
        })?;
        tracing::info!(%tx, "listing withdrawn");
        Ok(tx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn market_rule() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![5, 1, 3]), Some(3));
        assert_eq!(median(vec![4, 1, 3, 2]), Some(2));
        // within the drift: unchanged
        assert_eq!(market_decision(1000, Some(1050), 1, 5000, 10), 1000);
        // past the drift: the median
        assert_eq!(market_decision(1000, Some(1200), 1, 5000, 10), 1200);
        // clamped to the bounds
        assert_eq!(market_decision(1000, Some(9000), 1, 1500, 10), 1500);
        assert_eq!(market_decision(1000, Some(10), 800, 1500, 10), 800);
        // no market: unchanged
        assert_eq!(market_decision(1000, None, 1, 5000, 10), 1000);
    }
}
