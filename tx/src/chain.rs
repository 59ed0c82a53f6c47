//! Resolving what an action needs on a node: the user's funding boxes (their P2PK tree, mempool
//! included so actions chain), protocol boxes by id, the vault singleton, a member's account, the
//! oracle pool box.

use dgcm_chain::NodeClient;
use dgcm_contracts::lets_member::Member;
use dgcm_contracts::lets_vault::Vault;
use dgcm_contracts::util::p2pk_tree;
use dgcm_contracts::{BoxKind, Contracts, Typed};
use ergo_lib::ergotree_ir::chain::address::NetworkPrefix;
use ergo_lib::ergotree_ir::chain::ergo_box::{BoxId, ErgoBox};
use ergo_lib::ergotree_ir::chain::token::TokenId;
use ergo_lib::ergotree_ir::sigma_protocol::sigma_boolean::ProveDlog;

use crate::deployment::Deployment;
use crate::error::{Result, TxError};
use crate::input::{encode_p2pk, hex_id};

/// The default miner fee (nanoERG), as wallets use.
pub const DEFAULT_FEE: u64 = 1_100_000;

/// Node access plus the deployment: everything needed to plan an action for any user.
#[derive(Debug, Clone)]
pub struct Planner {
    pub node: NodeClient,
    pub contracts: Contracts,
    pub network: NetworkPrefix,
    /// Miner fee of every transaction (nanoERG).
    pub fee: u64,
}

impl Planner {
    pub fn new(node_url: &str, deployment: &Deployment) -> Result<Planner> {
        let node = NodeClient::connect(node_url).map_err(TxError::Node)?;
        Ok(Planner {
            node,
            contracts: deployment.contracts()?,
            network: deployment.network,
            fee: DEFAULT_FEE,
        })
    }

    pub fn with_fee(mut self, fee: u64) -> Planner {
        self.fee = fee;
        self
    }

    /// The height a transaction is built for: the next block.
    pub async fn next_height(&self) -> Result<u32> {
        let info = self.node.info().await?;
        Ok(info.full_height.unwrap_or(0) + 1)
    }

    pub fn address_of(&self, pk: &ProveDlog) -> String {
        encode_p2pk(pk, self.network)
    }

    /// The unspent P2PK boxes of `pk`, mempool outputs included and mempool-spent boxes left out.
    pub async fn wallet_boxes(&self, pk: &ProveDlog) -> Result<Vec<ErgoBox>> {
        Ok(self
            .node
            .unspent_boxes_by_tree(&p2pk_tree(pk), true)
            .await?)
    }

    /// Sum of `token` in `pk`'s wallet boxes.
    pub async fn token_balance(&self, pk: &ProveDlog, token: &TokenId) -> Result<u64> {
        Ok(self
            .wallet_boxes(pk)
            .await?
            .iter()
            .flat_map(|b| b.tokens.iter().flatten())
            .filter(|t| t.token_id == *token)
            .map(|t| *t.amount.as_u64())
            .sum())
    }

    /// nanoERG in `pk`'s wallet boxes.
    pub async fn erg_balance(&self, pk: &ProveDlog) -> Result<u64> {
        Ok(self
            .wallet_boxes(pk)
            .await?
            .iter()
            .map(|b| *b.value.as_u64())
            .sum())
    }

    /// An unspent box (mempool included) by id, or an error naming `field`.
    pub async fn unspent(&self, field: &'static str, id: &BoxId) -> Result<ErgoBox> {
        self.node.unspent_box_with_pool(id).await?.ok_or_else(|| {
            TxError::bx(field, hex_id(id), "not unspent (spent already, or unknown)")
        })
    }

    /// An unspent protocol box of kind `T` by id.
    pub async fn protocol_box<T: BoxKind>(
        &self,
        field: &'static str,
        id: &BoxId,
    ) -> Result<Typed<T>> {
        let bx = self.unspent(field, id).await?;
        Typed::parse(&self.contracts, bx).map_err(|e| {
            TxError::bx(
                field,
                hex_id(id),
                format!("not this deployment's {} box ({e})", T::KIND.name()),
            )
        })
    }

    /// Unspent boxes holding `token`, mempool outputs first, none spent in the mempool.
    async fn live_boxes_with_token(&self, token: &TokenId) -> Result<Vec<ErgoBox>> {
        let mut all = match self.node.unconfirmed_outputs_by_token(token).await {
            Ok(v) => v,
            Err(e) if e.is_not_found() => vec![],
            Err(e) => return Err(e.into()),
        };
        all.extend(self.node.unspent_boxes_by_token(token, 0, 50).await?);
        let mut live = Vec::new();
        for b in all {
            if live.iter().any(|x: &ErgoBox| x.box_id() == b.box_id()) {
                continue;
            }
            if self
                .node
                .unconfirmed_input_by_box(&b.box_id())
                .await?
                .is_none()
            {
                live.push(b);
            }
        }
        Ok(live)
    }

    /// The LETS vault (found by its NFT; the newest state, mempool included).
    pub async fn vault(&self) -> Result<Typed<Vault>> {
        let nft = self.contracts.params.vault_nft;
        for b in self.live_boxes_with_token(&nft).await? {
            if let Ok(v) = Typed::<Vault>::parse(&self.contracts, b) {
                return Ok(v);
            }
        }
        Err(TxError::Missing(format!(
            "no LETS vault of this deployment on the node (vault NFT {}): deploy one with \
             `dgcm tx deploy-vault` and pass its --deployment file",
            hex_id(&nft)
        )))
    }

    /// The member accounts owned by `owner` (mempool included).
    pub async fn members_of(&self, owner: &ProveDlog) -> Result<Vec<Typed<Member>>> {
        let boxes = self
            .node
            .unspent_boxes_by_tree(&self.contracts.lets_member, true)
            .await?;
        Ok(boxes
            .into_iter()
            .filter_map(|b| Typed::<Member>::parse(&self.contracts, b).ok())
            .filter(|m| m.v.owner == *owner)
            .collect())
    }

    /// The member account `explicit` (by id, checked to be `owner`'s when `owner` is given), or
    /// `owner`'s only account.
    pub async fn member(
        &self,
        field: &'static str,
        explicit: Option<&BoxId>,
        owner: Option<&ProveDlog>,
    ) -> Result<Typed<Member>> {
        if let Some(id) = explicit {
            let m: Typed<Member> = self.protocol_box(field, id).await?;
            if let Some(o) = owner {
                if m.v.owner != *o {
                    return Err(TxError::bx(
                        field,
                        hex_id(id),
                        format!(
                            "the account belongs to {}, not to you",
                            self.address_of(&m.v.owner)
                        ),
                    ));
                }
            }
            return Ok(m);
        }
        let Some(owner) = owner else {
            return Err(TxError::input(field, "name the member account's box id"));
        };
        let mut all = self.members_of(owner).await?;
        match all.len() {
            0 => Err(TxError::Missing(format!(
                "{} has no LETS member account: join first (`dgcm tx join`)",
                self.address_of(owner)
            ))),
            1 => Ok(all.remove(0)),
            n => Err(TxError::input(
                field,
                format!(
                    "{} has {n} member accounts ({}); choose one",
                    self.address_of(owner),
                    all.iter()
                        .map(|m| hex_id(&m.bx.box_id()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }

    /// The fresh pool boxes the node has for the ERG/USD rate and every listed collateral
    /// asset (each NFT once; a pool the node lacks, or whose box is stale, is left out and
    /// prices nothing).
    pub async fn oracles(&self) -> Result<Vec<ErgoBox>> {
        let height = self.next_height().await?;
        let mut out = Vec::new();
        for (nft, max_age) in dgcm_contracts::lets_member::pool_nfts(&self.contracts.params) {
            let boxes = match self.node.unspent_boxes_by_token(&nft, 0, 5).await {
                Ok(b) => b,
                Err(e) if e.is_not_found() => vec![],
                Err(e) => return Err(e.into()),
            };
            let priced = boxes.into_iter().find(|b| {
                dgcm_contracts::lets_member::pool_price(
                    &nft,
                    max_age,
                    std::slice::from_ref(b),
                    height,
                ) > 0
            });
            out.extend(priced);
        }
        Ok(out)
    }

    /// What the node's pool boxes price for a transaction built now.
    pub async fn prices(&self) -> Result<dgcm_contracts::lets_member::Prices> {
        let height = self.next_height().await?;
        let oracles = self.oracles().await?;
        Ok(dgcm_contracts::lets_member::Prices::read(
            &self.contracts.params,
            &oracles,
            height,
        ))
    }

    /// The oracle rate (nanoERG per USD), 0 without an oracle box.
    pub async fn oracle_rate(&self) -> Result<i64> {
        Ok(self.prices().await?.rate)
    }
}
