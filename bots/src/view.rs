//! The market as the bots see it in one round: the node's unspent protocol boxes with the
//! mempool applied (unconfirmed outputs in, boxes spent in the mempool out), decoded with the
//! contracts' codecs. A box that does not decode is skipped and counted, never trusted.

use dgcm_chain::{NodeClient, NodeError};
use dgcm_contracts::codec::{BoxKind, Typed};
use dgcm_contracts::lease::Lease;
use dgcm_contracts::lets_member::{pool_nfts, pool_price, Member, Prices};
use dgcm_contracts::lets_vault::Vault;
use dgcm_contracts::listing::Listing;
use dgcm_contracts::order::Order;
use dgcm_contracts::rosen_deposit::RosenDeposit;
use dgcm_contracts::trees::{Contracts, Kind};
use ergo_lib::ergotree_ir::chain::ergo_box::ErgoBox;

/// Which parts of the market a round needs (each bot asks for its own).
#[derive(Debug, Clone, Copy, Default)]
pub struct Needs {
    pub orders: bool,
    pub listings: bool,
    pub leases: bool,
    pub lets: bool,
    pub rosen: bool,
}

#[derive(Debug, Default)]
pub struct MarketView {
    /// Best full height; transactions are built for `height + 1`.
    pub height: u32,
    pub orders: Vec<Typed<Order>>,
    pub listings: Vec<Typed<Listing>>,
    pub leases: Vec<Typed<Lease>>,
    pub members: Vec<Typed<Member>>,
    pub vault: Option<Typed<Vault>>,
    /// Fresh pool boxes (ERG/USD and each listed asset's pool the node has) and what they
    /// price for a transaction at `height + 1`.
    pub oracles: Vec<ErgoBox>,
    pub prices: Option<Prices>,
    pub deposits: Vec<Typed<RosenDeposit>>,
    /// Boxes at protocol addresses that did not decode.
    pub undecodable: usize,
}

impl MarketView {
    pub async fn fetch(
        node: &NodeClient,
        c: &Contracts,
        needs: Needs,
        rosen_scan: Option<i32>,
    ) -> Result<MarketView, NodeError> {
        let info = node.info().await?;
        let mut v = MarketView {
            height: info.full_height.unwrap_or(0),
            ..Default::default()
        };
        if needs.orders {
            v.orders = decode(node, c, Kind::Order, &mut v.undecodable).await?;
        }
        if needs.listings {
            v.listings = decode(node, c, Kind::Listing, &mut v.undecodable).await?;
        }
        if needs.leases {
            v.leases = decode(node, c, Kind::Lease, &mut v.undecodable).await?;
        }
        if needs.lets || needs.rosen {
            v.members = decode(node, c, Kind::LetsMember, &mut v.undecodable).await?;
        }
        if needs.lets {
            let vaults: Vec<Typed<Vault>> =
                decode(node, c, Kind::LetsVault, &mut v.undecodable).await?;
            // Only the box holding the vault NFT is the vault.
            v.vault = vaults.into_iter().find(|b| {
                b.bx.tokens
                    .iter()
                    .flatten()
                    .any(|t| t.token_id == c.params.vault_nft)
            });
            for (nft, max_age) in pool_nfts(&c.params) {
                let pool = node.unspent_boxes_by_token(&nft, 0, 5).await?;
                v.oracles.extend(pool.into_iter().find(|b| {
                    pool_price(&nft, max_age, std::slice::from_ref(b), v.height + 1) > 0
                }));
            }
            v.prices = Some(Prices::read(&c.params, &v.oracles, v.height + 1));
        }
        if let (true, Some(scan)) = (needs.rosen, rosen_scan) {
            for b in node.scan_unspent_boxes(scan).await? {
                match Typed::parse(c, b) {
                    Ok(t) => v.deposits.push(t),
                    Err(_) => v.undecodable += 1,
                }
            }
        }
        Ok(v)
    }
}

async fn decode<T: BoxKind>(
    node: &NodeClient,
    c: &Contracts,
    kind: Kind,
    undecodable: &mut usize,
) -> Result<Vec<Typed<T>>, NodeError> {
    let boxes = node.unspent_boxes_by_tree(c.tree(kind), true).await?;
    let mut out = Vec::with_capacity(boxes.len());
    for b in boxes {
        match Typed::parse(c, b) {
            Ok(t) => out.push(t),
            Err(e) => {
                *undecodable += 1;
                tracing::debug!(kind = kind.name(), error = %e, "skipping a box that does not decode");
            }
        }
    }
    Ok(out)
}
