//! The typed API: a [`Wallet`] (a key, a node, a deployment) runs actions end to end — plan, sign
//! locally, submit — and returns the transaction id and the protocol box it created. Also
//! [`deploy_vault`], which creates a deployment (GPUC, membership token, vault) on a chain.

use std::path::Path;

use dgcm_chain::Signer;
use dgcm_contracts::codec::candidate;
use dgcm_contracts::lets_member::{healthy, Member};
use dgcm_contracts::lets_vault::Vault;
use dgcm_contracts::trees::CollateralAsset;
use dgcm_contracts::util::tokens;
use dgcm_contracts::{Contracts, ProtocolParams, TxDraft, TxPlan, Typed};
use ergo_lib::chain::transaction::Transaction;
use ergo_lib::ergotree_ir::chain::address::NetworkPrefix;
use ergo_lib::ergotree_ir::chain::ergo_box::BoxId;
use ergo_lib::ergotree_ir::chain::token::TokenId;
use ergo_lib::ergotree_ir::ergo_tree::ErgoTree;
use ergo_lib::ergotree_ir::mir::constant::Constant;
use ergo_lib::ergotree_ir::sigma_protocol::sigma_boolean::ProveDlog;
use ergo_lib::wallet::secret_key::SecretKey;
use ergo_lib::wallet::tx_context::TransactionContext;
use serde_json::{json, Value};

use crate::actions::{Action, ListingSpec, ListingUpdate, OrderSpec, Payee, Planned};
use crate::chain::{Planner, DEFAULT_FEE};
use crate::deployment::Deployment;
use crate::error::{Result, TxError};
use crate::input::{self, format_units, hex_id, GPUC_DECIMALS, SIGUSD_DECIMALS};
use crate::rosen::BridgeOut;
use crate::select::fund;

/// A submitted transaction.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub action: &'static str,
    pub tx_id: String,
    /// The protocol box the action created or continued (listing, order, member, lease,
    /// arbitration, Rosen lock box), if any.
    pub box_id: Option<String>,
    pub kind: Option<&'static str>,
    /// The token the transaction minted, if any (a new listing's NFT: name it in orders).
    pub minted_token: Option<String>,
    pub tx: Transaction,
}

impl Submitted {
    pub fn box_id(&self) -> Result<BoxId> {
        let id = self
            .box_id
            .as_deref()
            .ok_or_else(|| TxError::Missing(format!("{} created no protocol box", self.action)))?;
        input::box_id("box", id)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "action": self.action,
            "tx_id": self.tx_id,
            "box_id": self.box_id,
            "kind": self.kind,
            "minted_token": self.minted_token,
        })
    }
}

fn secret_of(field: &'static str, text: &str) -> Result<(Signer, SecretKey)> {
    let signer = Signer::from_secret_hex(text).map_err(|e| TxError::input(field, e.to_string()))?;
    let bytes = hex::decode(text.trim()).map_err(|e| TxError::input(field, e.to_string()))?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| TxError::input(field, "not 32 bytes"))?;
    let secret = SecretKey::dlog_from_bytes(&bytes)
        .ok_or_else(|| TxError::input(field, "not a valid secret scalar"))?;
    Ok((signer, secret))
}

fn read_key(field: &'static str, path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| TxError::input(field, format!("{}: {e}", path.display())))
}

/// Signs `plan` with `secrets` against the node's state context for the next block.
async fn sign_plan(
    planner: &Planner,
    plan: &TxPlan,
    secrets: Vec<SecretKey>,
) -> Result<Transaction> {
    let ctx = planner.node.state_context().await?;
    let tx_ctx = TransactionContext::new(
        plan.unsigned.clone(),
        plan.inputs.clone(),
        plan.data_inputs.clone(),
    )
    .map_err(|e| TxError::Sign(e.to_string()))?;
    ergo_lib::wallet::Wallet::from_secrets(secrets)
        .sign_transaction(tx_ctx, &ctx, None)
        .map_err(|e| TxError::Sign(e.to_string()))
}

/// One user's key on one node for one deployment.
#[derive(Debug, Clone)]
pub struct Wallet {
    pub planner: Planner,
    pub signer: Signer,
    secret: SecretKey,
}

impl Wallet {
    /// From a secret key as 64 hex characters (what `/devnet/info` lists per wallet).
    pub fn new(node_url: &str, secret_hex: &str, deployment: &Deployment) -> Result<Wallet> {
        let (signer, secret) = secret_of("key", secret_hex)?;
        Ok(Wallet {
            planner: Planner::new(node_url, deployment)?,
            signer,
            secret,
        })
    }

    /// From a key file (the secret as 64 hex characters).
    pub fn load(node_url: &str, key_file: &Path, deployment: &Deployment) -> Result<Wallet> {
        Wallet::new(node_url, &read_key("key", key_file)?, deployment).map_err(|e| match e {
            TxError::Input { reason, .. } => {
                TxError::input("key", format!("{}: {reason}", key_file.display()))
            }
            other => other,
        })
    }

    pub fn with_fee(mut self, fee: u64) -> Wallet {
        self.planner.fee = fee;
        self
    }

    pub fn contracts(&self) -> &Contracts {
        &self.planner.contracts
    }

    pub fn pk(&self) -> &ProveDlog {
        &self.signer.pk
    }

    pub fn tree(&self) -> &ErgoTree {
        &self.signer.tree
    }

    pub fn address(&self) -> String {
        self.planner.address_of(&self.signer.pk)
    }

    /// Plans `action` for this wallet without signing (EIP-12 output, inspection).
    pub async fn plan(&self, action: &Action) -> Result<Planned> {
        self.planner.plan(action, self.pk()).await
    }

    /// Signs (with `cosigners` too, for paths that need several keys) and submits.
    pub async fn submit(&self, planned: Planned, cosigners: &[&Wallet]) -> Result<Submitted> {
        let mut secrets = vec![self.secret.clone()];
        if let Some(pk) = &planned.cosigner {
            let co = cosigners.iter().find(|w| w.pk() == pk).ok_or_else(|| {
                TxError::input(
                    "counterparty-key",
                    format!(
                        "{} also needs the signature of {}",
                        planned.action,
                        self.planner.address_of(pk)
                    ),
                )
            })?;
            secrets.push(co.secret.clone());
        }
        let tx = sign_plan(&self.planner, &planned.plan, secrets).await?;
        let box_id = planned.created_box_id();
        let minted_token = planned.minted_token();
        let id = self.planner.node.submit_transaction(&tx).await?;
        tracing::info!(action = planned.action, tx_id = %String::from(id), "submitted");
        Ok(Submitted {
            action: planned.action,
            tx_id: String::from(id),
            box_id,
            kind: planned.created.map(|(_, k)| k),
            minted_token,
            tx,
        })
    }

    /// Plans, signs and submits `action`.
    pub async fn execute(&self, action: Action) -> Result<Submitted> {
        let planned = self.plan(&action).await?;
        self.submit(planned, &[]).await
    }

    // ----------------------------------------------------------------------- credit (LETS)

    /// `sigusd` cents as a collateral list (empty for 0).
    fn sigusd_assets(&self, sigusd: u64) -> Vec<(TokenId, u64)> {
        if sigusd == 0 {
            vec![]
        } else {
            vec![(self.planner.contracts.params.sigusd_id, sigusd)]
        }
    }

    /// Joins the LETS vault with `sigusd` cents and `erg` nanoERG of collateral.
    pub async fn join_credit(&self, sigusd: u64, erg: u64) -> Result<Submitted> {
        let assets = self.sigusd_assets(sigusd);
        self.execute(Action::Join { erg, assets }).await
    }

    /// Joins the LETS vault with `erg` nanoERG and listed `assets` of collateral.
    pub async fn join_with(&self, erg: u64, assets: &[(TokenId, u64)]) -> Result<Submitted> {
        self.execute(Action::Join {
            erg,
            assets: assets.to_vec(),
        })
        .await
    }

    /// Adds collateral to this wallet's member account.
    pub async fn top_up_credit(&self, sigusd: u64, erg: u64) -> Result<Submitted> {
        let assets = self.sigusd_assets(sigusd);
        self.top_up_with(erg, &assets).await
    }

    /// Adds `erg` nanoERG and listed `assets` to this wallet's member account.
    pub async fn top_up_with(&self, erg: u64, assets: &[(TokenId, u64)]) -> Result<Submitted> {
        self.execute(Action::TopUp {
            member: None,
            erg,
            assets: assets.to_vec(),
        })
        .await
    }

    /// Takes `erg` nanoERG and listed `assets` of collateral out of this wallet's account.
    pub async fn withdraw_collateral(
        &self,
        erg: u64,
        assets: &[(TokenId, u64)],
    ) -> Result<Submitted> {
        self.execute(Action::WithdrawCollateral {
            member: None,
            erg,
            assets: assets.to_vec(),
        })
        .await
    }

    /// Takes `mgpuc` out of the vault into this wallet (balance −mgpuc).
    pub async fn withdraw_gpuc(&self, mgpuc: u64) -> Result<Submitted> {
        self.execute(Action::WithdrawCredit {
            member: None,
            amount: mgpuc,
            to: None,
        })
        .await
    }

    /// Pays `mgpuc` from this wallet into the vault (balance +mgpuc).
    pub async fn deposit_gpuc(&self, mgpuc: u64) -> Result<Submitted> {
        self.execute(Action::DepositCredit {
            member: None,
            amount: mgpuc,
        })
        .await
    }

    /// Moves `mgpuc` of credit to `to`'s member account.
    pub async fn transfer_credit(&self, to: &ProveDlog, mgpuc: u64) -> Result<Submitted> {
        self.execute(Action::TransferCredit {
            member: None,
            to: Payee::Owner(to.clone()),
            amount: mgpuc,
        })
        .await
    }

    /// Closes this wallet's (zero-balance) member account.
    pub async fn close_member(&self) -> Result<Submitted> {
        self.execute(Action::CloseMember { member: None }).await
    }

    /// "Alice gets 10 GPUC with SigUSD": joins with `sigusd` cents of collateral (or tops up the
    /// existing account; no collateral step when `sigusd` is 0 and an account exists), then
    /// withdraws `mgpuc` from the vault into this wallet. Checks first that the collateral covers
    /// the debt at the oracle rate, so nothing is submitted when it would not. Returns the
    /// transactions in order, the withdrawal last (they chain in the mempool; mine once after).
    pub async fn deposit_sigusd_for_gpuc(&self, sigusd: u64, mgpuc: u64) -> Result<Vec<Submitted>> {
        if mgpuc == 0 {
            return Err(TxError::input("gpuc", "must be > 0"));
        }
        let p = &self.planner;
        let mut members = p.members_of(self.pk()).await?;
        if members.len() > 1 {
            return Err(TxError::input(
                "member",
                format!(
                    "{} has {} member accounts; use the single-step actions",
                    self.address(),
                    members.len()
                ),
            ));
        }
        let current = members.pop();
        let params = &p.contracts.params;
        let (balance, value, mut assets) = current
            .as_ref()
            .map(|m| (m.v.balance, m.v.value, m.v.assets.clone()))
            .unwrap_or((0, 0, vec![]));
        let held: u64 = assets
            .iter()
            .filter(|(t, _)| *t == params.sigusd_id)
            .map(|(_, n)| *n)
            .sum();
        assets.retain(|(t, _)| *t != params.sigusd_id);
        assets.push((params.sigusd_id, held + sigusd));
        let after = balance
            .saturating_sub(i64::try_from(mgpuc).map_err(|_| TxError::input("gpuc", "too large"))?);
        let prices = p.prices().await?;
        if !healthy(params, &prices, after, value, &assets) {
            let need = crate::actions::sigusd_needed(&p.contracts, after, value, &assets, &prices)
                .map(|n| n + held + sigusd);
            return Err(TxError::input(
                "sigusd",
                match need {
                    Some(n) => format!(
                        "{} GPUC of debt needs {} SigUSD of collateral at the oracle rate; \
                         {} SigUSD would be held",
                        format_units(after.unsigned_abs(), GPUC_DECIMALS),
                        format_units(n, SIGUSD_DECIMALS),
                        format_units(held + sigusd, SIGUSD_DECIMALS)
                    ),
                    None => "no oracle pool box on the node to price the collateral".into(),
                },
            ));
        }
        let mut done = Vec::new();
        match current {
            None => done.push(self.join_credit(sigusd, 0).await?),
            Some(_) if sigusd == 0 => {}
            Some(_) => done.push(self.top_up_credit(sigusd, 0).await?),
        }
        done.push(self.withdraw_gpuc(mgpuc).await?);
        Ok(done)
    }

    // ----------------------------------------------------------------------- market

    /// Lists a GPU; the created box is the listing (its NFT id is the listing's first input id).
    pub async fn list_gpu(&self, spec: ListingSpec) -> Result<Submitted> {
        self.execute(Action::List(spec)).await
    }

    pub async fn update_listing(
        &self,
        listing: &BoxId,
        update: ListingUpdate,
    ) -> Result<Submitted> {
        self.execute(Action::UpdateListing {
            listing: *listing,
            update,
        })
        .await
    }

    pub async fn withdraw_listing(&self, listing: &BoxId) -> Result<Submitted> {
        self.execute(Action::WithdrawListing { listing: *listing })
            .await
    }

    /// Places an order; the created box is the order.
    pub async fn place_order(&self, spec: OrderSpec) -> Result<Submitted> {
        self.execute(Action::PlaceOrder(spec)).await
    }

    pub async fn cancel_order(&self, order: &BoxId) -> Result<Submitted> {
        self.execute(Action::CancelOrder { order: *order }).await
    }

    /// Provider: completion; the created box is the completed lease.
    pub async fn complete(
        &self,
        lease: &BoxId,
        used_blocks: u32,
        usage_commitment: [u8; 32],
    ) -> Result<Submitted> {
        self.execute(Action::Complete {
            lease: *lease,
            used_blocks,
            usage_commitment,
        })
        .await
    }

    pub async fn accept(&self, lease: &BoxId) -> Result<Submitted> {
        self.execute(Action::Accept { lease: *lease }).await
    }

    /// Consumer: dispute; the created box is the arbitration box.
    pub async fn dispute(&self, lease: &BoxId) -> Result<Submitted> {
        self.execute(Action::Dispute { lease: *lease }).await
    }

    /// Mutual cancel, signed by this wallet and `counterparty` (the lease's other party).
    pub async fn cancel_lease(
        &self,
        lease: &BoxId,
        provider_gpuc: u64,
        counterparty: &Wallet,
    ) -> Result<Submitted> {
        let planned = self
            .plan(&Action::CancelLease {
                lease: *lease,
                provider_gpuc,
            })
            .await?;
        self.submit(planned, &[counterparty]).await
    }

    pub async fn finalise(&self, lease: &BoxId) -> Result<Submitted> {
        self.execute(Action::Finalise { lease: *lease }).await
    }

    pub async fn slash(&self, lease: &BoxId) -> Result<Submitted> {
        self.execute(Action::Slash { lease: *lease }).await
    }

    // ----------------------------------------------------------------------- Rosen

    /// This wallet's Rosen deposit address (Rosen's `toAddress` for bridging in).
    pub fn rosen_deposit_address(&self) -> Result<String> {
        rosen_deposit_address(&self.planner.contracts, self.pk(), self.planner.network)
    }

    /// Anyone, after the arbitration's timeout.
    pub async fn arbitration_timeout(&self, arbitration: &BoxId) -> Result<Submitted> {
        self.execute(Action::ArbitrationTimeout {
            arbitration: *arbitration,
        })
        .await
    }

    pub async fn convert_rosen(&self, deposit: &BoxId) -> Result<Submitted> {
        self.execute(Action::ConvertRosen { deposit: *deposit })
            .await
    }

    pub async fn bridge_out(&self, b: BridgeOut) -> Result<Submitted> {
        self.execute(Action::BridgeOut(b)).await
    }

    // ----------------------------------------------------------------------- balances

    /// mGPUC in this wallet's boxes (mempool included).
    pub async fn gpuc_balance(&self) -> Result<u64> {
        let id = self.planner.contracts.params.gpuc_id;
        self.planner.token_balance(self.pk(), &id).await
    }

    pub async fn token_balance(&self, token: &TokenId) -> Result<u64> {
        self.planner.token_balance(self.pk(), token).await
    }

    pub async fn erg_balance(&self) -> Result<u64> {
        self.planner.erg_balance(self.pk()).await
    }

    /// This wallet's member account, if it has exactly one.
    pub async fn member(&self) -> Result<Option<Typed<Member>>> {
        let mut all = self.planner.members_of(self.pk()).await?;
        Ok(if all.len() == 1 { all.pop() } else { None })
    }
}

/// The per-user Rosen deposit address of `owner`.
pub fn rosen_deposit_address(
    c: &Contracts,
    owner: &ProveDlog,
    network: NetworkPrefix,
) -> Result<String> {
    let tree = c
        .rosen_deposit(owner)
        .map_err(|e| TxError::Deployment(e.to_string()))?;
    let addr = ergo_lib::ergotree_ir::chain::address::Address::recreate_from_ergo_tree(&tree)
        .map_err(|e| TxError::Deployment(e.to_string()))?;
    Ok(
        ergo_lib::ergotree_ir::chain::address::AddressEncoder::encode_address_as_string(
            network, &addr,
        ),
    )
}

// --------------------------------------------------------------------------- deployment

/// What [`deploy_vault`] creates.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    pub network: NetworkPrefix,
    /// The chain's SigUSD token (member collateral).
    pub sigusd_id: TokenId,
    /// The ERG/USD oracle pool NFT (its box is the oracle data input).
    pub oracle_pool_nft: TokenId,
    /// mGPUC minted into the vault's reserve.
    pub gpuc_supply: u64,
    /// Membership tokens minted into the vault's stock.
    pub memberships: u64,
    /// nanoERG in the vault box (0: the box minimum).
    pub vault_value: u64,
    /// Committee and numbers (its token ids are replaced).
    pub base: ProtocolParams,
    /// The listed collateral assets [default: see [`DeployOptions::collateral_list`]].
    pub collateral: Option<Vec<CollateralAsset>>,
    pub fee: u64,
}

/// Reads a JSON array of collateral assets (a deployment file's `collateral` field).
pub fn read_collateral(path: &std::path::Path) -> Result<Vec<CollateralAsset>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| TxError::input("collateral", format!("{}: {e}", path.display())))?;
    let list: Vec<dgcm_contracts::deployment::AssetFile> = serde_json::from_str(&text)
        .map_err(|e| TxError::input("collateral", format!("{}: {e}", path.display())))?;
    list.iter()
        .map(|a| {
            a.to_asset()
                .map_err(|e| TxError::input("collateral", format!("{}: {e}", path.display())))
        })
        .collect()
}

/// 10⁹ GPUC.
pub const DEFAULT_GPUC_SUPPLY: u64 = 1_000_000_000_000;
pub const DEFAULT_MEMBERSHIPS: u64 = 1_000_000;

impl DeployOptions {
    pub fn new(network: NetworkPrefix, sigusd_id: TokenId, oracle_pool_nft: TokenId) -> Self {
        DeployOptions {
            network,
            sigusd_id,
            oracle_pool_nft,
            gpuc_supply: DEFAULT_GPUC_SUPPLY,
            memberships: DEFAULT_MEMBERSHIPS,
            vault_value: 0,
            base: ProtocolParams::devnet_default(),
            collateral: None,
            fee: DEFAULT_FEE,
        }
    }

    /// The collateral list a deployment gets: the given one; else the base's with its SigUSD
    /// entry re-pointed at this SigUSD and ERG/USD pool — on mainnet that entry alone (the
    /// devnet's rs-token stand-ins mean nothing there).
    pub fn collateral_list(&self) -> Vec<CollateralAsset> {
        if let Some(c) = &self.collateral {
            return c.clone();
        }
        let mut list: Vec<CollateralAsset> = self
            .base
            .collateral
            .iter()
            .map(|a| {
                if a.token_id == self.base.sigusd_id {
                    // priced by the ERG/USD pool: stale exactly when it is
                    CollateralAsset {
                        token_id: self.sigusd_id,
                        pool_nft: self.oracle_pool_nft,
                        max_age: self.base.oracle_max_age,
                        ..a.clone()
                    }
                } else {
                    a.clone()
                }
            })
            .collect();
        if self.network == NetworkPrefix::Mainnet {
            list.retain(|a| a.token_id == self.sigusd_id);
        }
        list
    }

    /// Options for a devnet: its SigUSD stand-in and oracle pool NFT from `GET /devnet/info`.
    pub async fn for_devnet(node_url: &str) -> Result<DeployOptions> {
        let url = format!("{}/devnet/info", node_url.trim_end_matches('/'));
        let missing = |why: String| {
            TxError::Missing(format!(
                "{url}: {why} (on a real node give --sigusd-id and --oracle-pool-nft)"
            ))
        };
        let resp = reqwest::get(&url)
            .await
            .map_err(|e| missing(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(missing(format!("HTTP {}", resp.status())));
        }
        let info: Value = resp.json().await.map_err(|e| missing(e.to_string()))?;
        let sigusd = info["tokens"]["SigUSD"]
            .as_str()
            .ok_or_else(|| missing("no tokens.SigUSD".into()))?;
        let oracle = info["oracle_pool_nft"]
            .as_str()
            .ok_or_else(|| missing("no oracle_pool_nft".into()))?;
        let network = match info["network"].as_str() {
            Some("mainnet") => NetworkPrefix::Mainnet,
            _ => NetworkPrefix::Testnet,
        };
        Ok(DeployOptions::new(
            network,
            input::token_id("sigusd-id", sigusd)?,
            input::token_id("oracle-pool-nft", oracle)?,
        ))
    }
}

fn eip4_registers(name: &str, description: &str, decimals: u32) -> Vec<Constant> {
    vec![
        Constant::from(name.as_bytes().to_vec()),
        Constant::from(description.as_bytes().to_vec()),
        Constant::from(decimals.to_string().into_bytes()),
    ]
}

/// Creates a deployment on the node with three chained transactions signed by `signer`:
/// 1. mints GPUC (id = that transaction's first input id) to the signer,
/// 2. mints the membership token likewise,
/// 3. mints the vault NFT into the vault box, which takes the whole GPUC supply as its reserve
///    and the membership tokens as its stock.
///
/// The trees depend on these ids (the member tree on the vault NFT, the vault tree on the member
/// tree's hash), so the deployment exists only from here on; every service then needs the
/// returned [`Deployment`] (save it with [`Deployment::save`]). The transactions wait in the
/// mempool: mine (or wait for) a block before relying on them being confirmed.
pub async fn deploy_vault(
    node_url: &str,
    signer: &Signer,
    opts: &DeployOptions,
) -> Result<Deployment> {
    if opts.gpuc_supply < 2 || opts.gpuc_supply > i64::MAX as u64 {
        return Err(TxError::input("gpuc-supply", "must be in 2..=2^63-1 mGPUC"));
    }
    if opts.memberships < 2 || opts.memberships > i64::MAX as u64 {
        return Err(TxError::input("memberships", "must be ≥ 2"));
    }
    let base = Deployment {
        params: ProtocolParams {
            sigusd_id: opts.sigusd_id,
            oracle_pool_nft: opts.oracle_pool_nft,
            collateral: opts.collateral_list(),
            ..opts.base.clone()
        },
        network: opts.network,
        deploy_txs: vec![],
        vault_box_id: None,
    };
    let planner = Planner::new(node_url, &base)?.with_fee(opts.fee);
    let pk = signer.pk.clone();
    let address = planner.address_of(&pk);
    let mut txs = Vec::new();

    // 1 and 2: mint GPUC, then the membership token, each to the deployer.
    let mut minted = Vec::new();
    for (name, desc, decimals, amount) in [
        ("GPUC", "DGCM GPU credit", 3u32, opts.gpuc_supply),
        (
            "DGCM membership",
            "DGCM LETS membership token",
            0,
            opts.memberships,
        ),
    ] {
        let height = planner.next_height().await?;
        let boxes = planner.wallet_boxes(&pk).await?;
        let plan = fund(
            &planner.contracts,
            "deploy-vault",
            &address,
            boxes,
            &signer.tree,
            opts.fee,
            |e| {
                let first = e.funding.first().ok_or_else(|| {
                    dgcm_contracts::BuildError::Invalid("minting needs a funding box".into())
                })?;
                let id: TokenId = first.box_id().into();
                let mut d = TxDraft::new(height);
                d.outputs.push(candidate(
                    "mint",
                    signer.tree.clone(),
                    0,
                    tokens(&[(id, amount)]),
                    eip4_registers(name, desc, decimals),
                    height,
                )?);
                d.finish(e)
            },
        )?;
        let id: TokenId = first_input(&plan)?;
        let tx = sign_with_signer(&planner, signer, &plan).await?;
        txs.push(String::from(planner.node.submit_transaction(&tx).await?));
        minted.push(id);
    }
    let [gpuc_id, membership_id]: [TokenId; 2] = minted
        .try_into()
        .map_err(|_| TxError::Missing("deploy-vault: two tokens expected".into()))?;

    // 3: the vault, minting its NFT.
    let height = planner.next_height().await?;
    let boxes = planner.wallet_boxes(&pk).await?;
    let params_for = |vault_nft: TokenId| ProtocolParams {
        gpuc_id,
        membership_id,
        vault_nft,
        ..base.params.clone()
    };
    let plan = fund(
        &planner.contracts,
        "deploy-vault",
        &address,
        boxes,
        &signer.tree,
        opts.fee,
        |e| {
            let first = e.funding.first().ok_or_else(|| {
                dgcm_contracts::BuildError::Invalid("the vault NFT needs a funding box".into())
            })?;
            let nft: TokenId = first.box_id().into();
            let c = Contracts::new(params_for(nft))
                .map_err(|err| dgcm_contracts::BuildError::Invalid(err.to_string()))?;
            let vault = Vault {
                value: opts.vault_value,
                reserve: opts.gpuc_supply,
                stock: opts.memberships,
                stable: vec![],
            };
            let mut d = TxDraft::new(height);
            d.outputs.push(vault.to_candidate(&c, height)?);
            d.finish(e)
        },
    )?;
    let vault_nft: TokenId = first_input(&plan)?;
    let tx = sign_with_signer(&planner, signer, &plan).await?;
    let vault_box = Some(hex_id(&tx.outputs.first().box_id()));
    txs.push(String::from(planner.node.submit_transaction(&tx).await?));
    Ok(Deployment {
        params: params_for(vault_nft),
        network: opts.network,
        deploy_txs: txs,
        vault_box_id: vault_box,
    })
}

/// The id of a plan's first input: the id of the token it mints.
fn first_input(plan: &TxPlan) -> Result<TokenId> {
    plan.inputs
        .first()
        .map(|b| b.box_id().into())
        .ok_or_else(|| TxError::Missing("a transaction without inputs".into()))
}

async fn sign_with_signer(
    planner: &Planner,
    signer: &Signer,
    plan: &TxPlan,
) -> Result<Transaction> {
    let ctx = planner.node.state_context().await?;
    signer
        .sign(
            plan.unsigned.clone(),
            plan.inputs.clone(),
            plan.data_inputs.clone(),
            &ctx,
        )
        .map_err(|e| TxError::Sign(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(network: NetworkPrefix) -> DeployOptions {
        let sig = dgcm_contracts::util::token_id([0x51; 32]);
        let pool = dgcm_contracts::util::token_id([0x52; 32]);
        let mut o = DeployOptions::new(network, sig, pool);
        o.base.oracle_max_age = 720;
        o
    }

    #[test]
    fn a_real_network_deployment_lists_its_own_sigusd_alone_priced_by_its_pool() {
        let o = opts(NetworkPrefix::Mainnet);
        let list = o.collateral_list();
        assert_eq!(
            list.len(),
            1,
            "the devnet's rs-token stand-ins mean nothing there"
        );
        assert_eq!(list[0].token_id, o.sigusd_id);
        assert_eq!(list[0].pool_nft, o.oracle_pool_nft);
        assert_eq!(
            list[0].max_age, 720,
            "stale exactly when the ERG/USD pool is"
        );
        // the contracts accept it
        let p = ProtocolParams {
            sigusd_id: o.sigusd_id,
            oracle_pool_nft: o.oracle_pool_nft,
            oracle_max_age: 720,
            collateral: list,
            ..o.base.clone()
        };
        Contracts::new(p).unwrap();
    }

    #[test]
    fn a_testnet_deployment_keeps_the_stand_ins_and_a_file_replaces_the_list() {
        let o = opts(NetworkPrefix::Testnet);
        let names: Vec<String> = o.collateral_list().into_iter().map(|a| a.name).collect();
        assert_eq!(names, ["SigUSD", "rsBTC", "rsETH", "rsUSDT"]);
        let dir = std::env::temp_dir().join(format!("dgcm-collateral-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("collateral.json");
        let id = hex::encode([0x61u8; 32]);
        let pool = hex::encode([0x62u8; 32]);
        std::fs::write(
            &f,
            format!(
                r#"[{{"name": "rsBTC", "token_id": "{id}", "pool_nft": "{pool}", "decimals": 8,
                    "factor_pct": 60, "max_age": 720, "min_top_up": 1000}}]"#
            ),
        )
        .unwrap();
        let list = read_collateral(&f).unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!((list[0].decimals, list[0].factor_pct), (8, 60));
        let o = DeployOptions {
            collateral: Some(list.clone()),
            ..o
        };
        assert_eq!(o.collateral_list(), list);
        std::fs::write(&f, r#"[{"name": "x", "token_id": "zz"}]"#).unwrap();
        let e = read_collateral(&f).unwrap_err().to_string();
        assert!(e.contains("collateral"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
