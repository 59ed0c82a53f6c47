//! The worker's view of the chain: the provider key (a signer, or a public key whose
//! transactions go out as EIP-12 JSON), lease lookup, funding-box selection, and submission.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use dgcm_chain::wallet::{address_pk, p2pk_tree, Signer};
use dgcm_chain::{ClientConfig, NodeClient};
use dgcm_contracts::lease::Lease;
use dgcm_contracts::{build, Contracts, Executor, TxPlan, Typed};
use ergo_lib::ergo_chain_types::EcPoint;
use ergo_lib::ergotree_ir::chain::address::NetworkPrefix;
use ergo_lib::ergotree_ir::chain::ergo_box::BoxId;
use ergo_lib::ergotree_ir::chain::token::TokenId;
use ergo_lib::ergotree_ir::ergo_tree::ErgoTree;
use ergo_lib::ergotree_ir::serialization::SigmaSerializable;
use ergo_lib::ergotree_ir::sigma_protocol::sigma_boolean::ProveDlog;

use crate::config::WorkerConfig;
use crate::state::now_ms;

/// The provider's secret, kept as text: ergo-lib's wallet is neither `Send` nor `Sync`, so a
/// [`Signer`] is made for each signature and dropped right after. Never printed.
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Who signs the provider's transactions.
pub enum ProviderKey {
    /// Key file: sign and submit.
    Signer { secret: Secret, pk: ProveDlog },
    /// External wallet: write each transaction as EIP-12 JSON under `dir`.
    External { pk: ProveDlog, dir: PathBuf },
}

/// Why a lease cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("lease_id: {0:?} is not a 32-byte hex box id")]
    BadId(String),
    #[error("lease {0} is not an unspent box (unknown, spent or completed)")]
    NotFound(String),
    #[error("box {0} is not a lease of this deployment: {1}")]
    NotALease(String, String),
    #[error("lease {0} is for another provider")]
    OtherProvider(String),
    #[error("lease {0} is already completed")]
    Completed(String),
    #[error("lease {0} is past its deadline (height {1} > {2})")]
    PastDeadline(String, u32, i64),
    #[error(
        "lease {0} is not under {1} block(s) yet (worker.lease_confirmations): ask again later"
    )]
    Unconfirmed(String, u32),
    #[error("node: {0}")]
    Node(String),
}

pub struct ChainCtx {
    pub client: NodeClient,
    pub contracts: Contracts,
    pub key: ProviderKey,
    pub network: NetworkPrefix,
    pub fee: u64,
    pub block_time: Duration,
    /// `worker.lease_confirmations`.
    pub confirmations: u32,
    height: AtomicU32,
}

/// Hex of a public key (33 bytes, compressed).
pub fn pk_hex(pk: &ProveDlog) -> String {
    pk.h.sigma_serialize_bytes()
        .map(hex::encode)
        .unwrap_or_default()
}

/// A public key from its hex.
pub fn pk_from_hex(s: &str) -> Option<ProveDlog> {
    let b = hex::decode(s).ok()?;
    EcPoint::sigma_parse_bytes(&b).ok().map(ProveDlog::new)
}

pub fn parse_box_id(s: &str) -> Result<BoxId, LeaseError> {
    if s.len() != 64 || !s.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(LeaseError::BadId(s.chars().take(80).collect()));
    }
    BoxId::try_from(s.to_ascii_lowercase()).map_err(|_| LeaseError::BadId(s.into()))
}

/// The deployment's contracts (`worker.deployment` or `worker.protocol`, with the GPUC
/// override).
pub fn contracts(cfg: &WorkerConfig) -> anyhow::Result<Contracts> {
    cfg.deployment()?
        .contracts()
        .map_err(|e| anyhow!("contracts: {e}"))
}

impl ChainCtx {
    pub fn new(cfg: &WorkerConfig) -> anyhow::Result<ChainCtx> {
        let deployment = cfg.deployment()?;
        let network = deployment.network;
        let key = match (&cfg.provider_key_file, &cfg.provider_address) {
            (Some(f), None) => {
                let s = Signer::load(f).map_err(|e| anyhow!("worker.provider_key_file: {e}"))?;
                let text = std::fs::read_to_string(f)
                    .with_context(|| format!("worker.provider_key_file: {}", f.display()))?;
                ProviderKey::Signer {
                    secret: Secret(text.trim().to_string()),
                    pk: s.pk.clone(),
                }
            }
            (None, Some(a)) => ProviderKey::External {
                pk: address_pk(a, network).map_err(|e| anyhow!("worker.provider_address: {e}"))?,
                dir: cfg.eip12_dir(),
            },
            (None, None) => bail!(
                "worker.provider_key_file or worker.provider_address: one is required (a key file \
                 to sign here, or the address of an external wallet that signs EIP-12 JSON)"
            ),
            (Some(_), Some(_)) => {
                bail!("worker.provider_key_file and worker.provider_address: give one, not both")
            }
        };
        let mut cc = ClientConfig::new(cfg.node.clone());
        cc.api_key = cfg.node_api_key.clone();
        let client = NodeClient::new(cc).with_context(|| format!("worker.node: {:?}", cfg.node))?;
        Ok(ChainCtx {
            client,
            contracts: deployment
                .contracts()
                .map_err(|e| anyhow!("contracts: {e}"))?,
            key,
            network,
            fee: cfg.fee_nanoerg,
            block_time: cfg.block_time,
            confirmations: cfg.lease_confirmations,
            height: AtomicU32::new(0),
        })
    }

    pub fn pk(&self) -> &ProveDlog {
        match &self.key {
            ProviderKey::Signer { pk, .. } | ProviderKey::External { pk, .. } => pk,
        }
    }

    pub fn tree(&self) -> ErgoTree {
        p2pk_tree(self.pk())
    }

    pub fn gpuc(&self) -> TokenId {
        self.contracts.params.gpuc_id
    }

    /// The node's height now (and remembers it).
    pub async fn refresh_height(&self) -> anyhow::Result<u32> {
        let h = self
            .client
            .info()
            .await
            .context("node /info")?
            .full_height
            .unwrap_or(0);
        self.height.store(h, Ordering::Relaxed);
        Ok(h)
    }

    /// The last height seen (0 before the first).
    pub fn height(&self) -> u32 {
        self.height.load(Ordering::Relaxed)
    }

    /// Wall-clock estimate (ms since the epoch) of when `height` is reached.
    pub fn time_of_height(&self, height: i64) -> u64 {
        let now = now_ms();
        let d = height - self.height() as i64;
        let step = self.block_time.as_millis() as i64;
        if d >= 0 {
            now.saturating_add((d * step) as u64)
        } else {
            now.saturating_sub((-d * step) as u64)
        }
    }

    /// The lease box `lease_id`, checked to be ours, open, and under `confirmations` blocks
    /// (a lease still in the mempool could be double-spent by its renter; 0 accepts it).
    pub async fn open_lease(&self, lease_id: &str) -> Result<Typed<Lease>, LeaseError> {
        let id = parse_box_id(lease_id)?;
        let node = |e: dgcm_chain::NodeError| LeaseError::Node(e.to_string());
        let bx = if self.confirmations == 0 {
            self.client.unspent_box_with_pool(&id).await.map_err(node)?
        } else {
            match self.client.unspent_box(&id).await.map_err(node)? {
                Some(b) => Some(b),
                None => match self.client.unspent_box_with_pool(&id).await.map_err(node)? {
                    Some(_) => {
                        return Err(LeaseError::Unconfirmed(lease_id.into(), self.confirmations))
                    }
                    None => None,
                },
            }
        }
        .ok_or_else(|| LeaseError::NotFound(lease_id.into()))?;
        if self.confirmations > 1 {
            // In the UTXO set: its transaction is in a block. Deep enough when that block is
            // not one of the last confirmations − 1.
            let tip = self
                .refresh_height()
                .await
                .map_err(|e| LeaseError::Node(e.to_string()))?;
            let from = tip.saturating_sub(self.confirmations - 2);
            for h in from..=tip {
                for b in self.client.block_ids_at(h).await.map_err(node)? {
                    let block = self.client.block(&b).await.map_err(node)?;
                    if block
                        .block_transactions
                        .transactions
                        .iter()
                        .any(|t| t.id() == bx.transaction_id)
                    {
                        return Err(LeaseError::Unconfirmed(lease_id.into(), self.confirmations));
                    }
                }
            }
        }
        let lease: Typed<Lease> = Typed::parse(&self.contracts, bx)
            .map_err(|e| LeaseError::NotALease(lease_id.into(), e.to_string()))?;
        if lease.v.provider != *self.pk() {
            return Err(LeaseError::OtherProvider(lease_id.into()));
        }
        if lease.v.terms.completed() {
            return Err(LeaseError::Completed(lease_id.into()));
        }
        let h = self
            .refresh_height()
            .await
            .map_err(|e| LeaseError::Node(e.to_string()))?;
        if h as i64 > lease.v.terms.deadline {
            return Err(LeaseError::PastDeadline(
                lease_id.into(),
                h,
                lease.v.terms.deadline,
            ));
        }
        Ok(lease)
    }

    /// Builds `build` funded from the provider's boxes (mempool-aware): the richest first (its
    /// id names a new listing's NFT), then whatever the builder reports missing.
    pub async fn funded(
        &self,
        what: &str,
        build: impl Fn(&Executor) -> Result<TxPlan, dgcm_contracts::BuildError>,
    ) -> anyhow::Result<TxPlan> {
        let boxes = self
            .client
            .unspent_boxes_by_tree(&self.tree(), true)
            .await
            .context("the provider's boxes")?;
        dgcm_contracts::tx::fund(boxes, &self.tree(), self.fee, true, build)
            .map_err(|e| anyhow!("{what}: the provider's address: {e}"))
    }

    /// Height to build a transaction for: the next block.
    pub async fn build_height(&self) -> anyhow::Result<u32> {
        Ok(self.refresh_height().await? + 1)
    }

    /// Signs and submits (key file), or writes EIP-12 JSON (external wallet). Returns the
    /// transaction id, or `eip12:<path>`.
    pub async fn execute(&self, what: &str, plan: TxPlan) -> anyhow::Result<String> {
        match &self.key {
            ProviderKey::Signer { secret, .. } => {
                let ctx = self
                    .client
                    .state_context()
                    .await
                    .context("state context for signing")?;
                let tx = {
                    let s = Signer::from_secret_hex(&secret.0)
                        .map_err(|e| anyhow!("worker.provider_key_file: {e}"))?;
                    s.sign(plan.unsigned, plan.inputs, plan.data_inputs, &ctx)
                        .map_err(|e| anyhow!("{what}: {e}"))?
                };
                match self.client.submit_transaction(&tx).await {
                    Ok(id) => Ok(String::from(id)),
                    // The same transaction sent again (a retry after a lost reply or a
                    // restart): it is in the pool, which is what we wanted.
                    Err(e) if e.is_already_in_mempool() => Ok(String::from(tx.id())),
                    Err(e) => Err(anyhow::Error::new(e).context(format!("{what}: submitting"))),
                }
            }
            ProviderKey::External { dir, .. } => {
                let json = dgcm_contracts::eip12::unsigned_json(&plan)
                    .map_err(|e| anyhow!("{what}: {e}"))?;
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("worker.eip12_dir: {}", dir.display()))?;
                let path = dir.join(format!("{what}-{}.json", now_ms()));
                std::fs::write(&path, serde_json::to_vec_pretty(&json)?)
                    .with_context(|| format!("writing {}", path.display()))?;
                tracing::warn!(
                    path = %path.display(),
                    "{what}: unsigned transaction written as EIP-12 JSON; sign and submit it with \
                     the provider's wallet"
                );
                Ok(format!("eip12:{}", path.display()))
            }
        }
    }

    /// Our open leases on the chain (confirmed boxes at the lease script naming our key and, when
    /// given, our listing's NFT), whatever the renters did: the no-show rule needs them even when
    /// the consumer never logged in.
    pub async fn our_open_leases(
        &self,
        listing_nft: Option<&[u8]>,
    ) -> anyhow::Result<Vec<Typed<Lease>>> {
        let boxes = self
            .client
            .unspent_boxes_by_tree(&self.contracts.lease, false)
            .await
            .context("lease boxes")?;
        Ok(boxes
            .into_iter()
            .filter_map(|b| Typed::<Lease>::parse(&self.contracts, b).ok())
            .filter(|l| {
                l.v.provider == *self.pk()
                    && !l.v.terms.completed()
                    && listing_nft.is_none_or(|n| l.v.listing_nft == n)
            })
            .collect())
    }

    /// Builds and executes the completion of `lease_id` with `used_blocks` and the commitment.
    pub async fn complete(
        &self,
        lease_id: &str,
        used_blocks: i64,
        commitment: [u8; 32],
    ) -> anyhow::Result<String> {
        let lease = self.open_lease(lease_id).await?;
        let height = self.build_height().await?;
        // The contract takes no more blocks than the hours bought or than have passed since the
        // start (the metered wall-clock time may run ahead of the chain's blocks).
        let max = lease.v.terms.max_used_blocks(height);
        // Valid for COMPLETION_SLACK blocks, but never past the deadline.
        let slack = (lease.v.terms.deadline - height as i64)
            .clamp(0, build::COMPLETION_SLACK as i64) as u32;
        let used = used_blocks.clamp(0, max);
        let plan = self
            .funded("complete", |e| {
                build::complete_within(&self.contracts, &lease, used, commitment, height, slack, e)
            })
            .await?;
        self.execute("complete", plan).await
    }
}
