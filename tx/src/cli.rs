//! `dgcm tx <action>`: one subcommand per user action. Without a key the transaction is printed
//! as EIP-12 JSON (full input boxes, context extensions) for any Ergo wallet to sign; with
//! `--key FILE --submit` it is signed locally and submitted, and `{action, tx_id, box_id, kind}`
//! is printed. Every value is checked before the node is asked anything that costs; errors name
//! the flag.

use std::path::PathBuf;

use dgcm_chain::Signer;
use dgcm_contracts::capacity::Capacity;
use dgcm_contracts::eip12::unsigned_json;
use dgcm_contracts::trees::ProtocolParams;
use ergo_lib::ergotree_ir::chain::address::NetworkPrefix;
use ergo_lib::ergotree_ir::chain::token::TokenId;
use serde_json::{json, Value};

use crate::actions::{Action, ListingSpec, ListingUpdate, OrderSpec, Payee};
use crate::chain::Planner;
use crate::deployment::{parse_network, Deployment};
use crate::error::TxError;
use crate::input::{self, amount, positive, ERG_DECIMALS, GPUC_DECIMALS, SIGUSD_DECIMALS};
use crate::rosen::BridgeOut;
use crate::wallet::{deploy_vault, rosen_deposit_address, DeployOptions, Wallet};

type Result<T> = std::result::Result<T, TxError>;

/// Wallet transactions for every user action of PROTOCOL.md.
#[derive(clap::Args, Debug, Clone)]
#[command(long_about = "Build the transaction for a DGCM user action.\n\n\
Without --key the unsigned transaction is printed as EIP-12 JSON (full input boxes, context \
extensions) for any Ergo wallet (Nautilus, ...) to sign: give --address, the wallet's P2PK \
address (its boxes fund the transaction and receive the change). With --key FILE --submit it is \
signed locally and submitted, and {action, tx_id, box_id, kind} is printed (box_id: the protocol \
box created). Amounts are decimal: --gpuc in GPUC (3 decimals), --erg in ERG, --sigusd in SigUSD. \
The deployment (token ids of GPUC, membership, vault) comes from --deployment FILE, written by \
`dgcm tx deploy-vault`.")]
pub struct TxArgs {
    /// The user's P2PK address: print the unsigned transaction as EIP-12 JSON.
    #[arg(long, global = true, env = "DGCM_TX_ADDRESS")]
    pub address: Option<String>,
    /// Key file (the secret key as 64 hex characters): the user is its address.
    #[arg(long, global = true, env = "DGCM_TX_KEY")]
    pub key: Option<PathBuf>,
    /// Sign with --key and submit to the node (otherwise print EIP-12 JSON).
    #[arg(long, global = true)]
    pub submit: bool,
    /// Deployment file written by `dgcm tx deploy-vault` [default: the built-in devnet
    /// deployment, which the devnet's genesis carries].
    #[arg(long, global = true, env = "DGCM_DEPLOYMENT")]
    pub deployment: Option<PathBuf>,
    /// Address network (`mainnet` or `testnet`; the devnet uses testnet) [default: the
    /// deployment file's, else testnet].
    #[arg(long, global = true, env = "DGCM_NETWORK")]
    pub network: Option<String>,
    /// Miner fee in ERG.
    #[arg(long, global = true, default_value = "0.0011")]
    pub fee: String,
    #[command(subcommand)]
    pub action: TxAction,
}

/// Collateral to add or take out: ERG, SigUSD, and any listed asset by name.
#[derive(clap::Args, Debug, Clone)]
pub struct CollateralArgs {
    /// SigUSD collateral (2 decimals), e.g. 20.00.
    #[arg(long, default_value = "0", allow_hyphen_values = true)]
    pub sigusd: String,
    /// ERG collateral.
    #[arg(long, default_value = "0", allow_hyphen_values = true)]
    pub erg: String,
    /// A listed collateral asset by name (rsBTC, rsETH, rsUSDT, ... as the deployment lists
    /// them) or token id; with --amount.
    #[arg(long, requires = "amount")]
    pub token: Option<String>,
    /// How much of --token, in whole tokens with the asset's decimals (e.g. 0.01).
    #[arg(long, requires = "token", allow_hyphen_values = true)]
    pub amount: Option<String>,
}

impl CollateralArgs {
    /// (nanoERG, listed assets) with every amount checked against the deployment.
    fn parse(&self, p: &ProtocolParams) -> Result<(u64, Vec<(TokenId, u64)>)> {
        let erg = amount("erg", &self.erg, ERG_DECIMALS)?;
        let mut assets = vec![];
        let sigusd = amount("sigusd", &self.sigusd, SIGUSD_DECIMALS)?;
        if sigusd > 0 {
            assets.push((p.sigusd_id, sigusd));
        }
        if let (Some(t), Some(n)) = (&self.token, &self.amount) {
            let a = p
                .asset(t)
                .or_else(|| {
                    input::token_id("token", t)
                        .ok()
                        .and_then(|id| p.asset_by_id(&id))
                })
                .ok_or_else(|| {
                    TxError::input(
                        "token",
                        format!(
                            "{t:?} is not a listed collateral asset (listed: {})",
                            p.collateral
                                .iter()
                                .map(|a| a.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                })?;
            let n = positive("amount", n, a.decimals as u32)?;
            match assets.iter_mut().find(|(id, _)| *id == a.token_id) {
                Some((_, m)) => *m += n,
                None => assets.push((a.token_id, n)),
            }
        }
        Ok((erg, assets))
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct ListArgs {
    /// Price per hour in GPUC.
    #[arg(long)]
    pub price: String,
    /// Collateral per hour in GPUC, locked from the stake into each lease.
    #[arg(long, default_value = "0")]
    pub collateral: String,
    #[arg(long, default_value_t = 1)]
    pub min_hours: u32,
    #[arg(long, default_value_t = 8)]
    pub max_hours: u32,
    /// GPU memory in MiB.
    #[arg(long, default_value_t = 0)]
    pub vram_mib: u64,
    #[arg(long, default_value_t = 1)]
    pub gpus: u32,
    #[arg(long, default_value_t = 0)]
    pub benchmark: u64,
    /// GPU model, e.g. "RTX 4090".
    #[arg(long)]
    pub model: String,
    /// Region, e.g. eu-west.
    #[arg(long)]
    pub region: String,
    /// The worker's URL for consumers.
    #[arg(long)]
    pub endpoint: String,
    /// Most memory a job may use, MiB: the limit the worker enforces (its docker.memory_mib).
    #[arg(long, default_value_t = dgcm_contracts::capacity::DEFAULT_LIMITS.memory_mib as u64)]
    pub max_memory_mib: u64,
    /// Most CPU a job may use, thousandths of a core (the worker's docker.cpu_millis).
    #[arg(long, default_value_t = dgcm_contracts::capacity::DEFAULT_LIMITS.cpu_millis as u64)]
    pub max_cpu_millis: u64,
    /// Most processes a job may run (the worker's docker.pids_limit).
    #[arg(long, default_value_t = dgcm_contracts::capacity::DEFAULT_LIMITS.pids as u64)]
    pub max_pids: u64,
    /// Most output a job may write, MiB (the worker's docker.max_output_mib).
    #[arg(long, default_value_t = dgcm_contracts::capacity::DEFAULT_LIMITS.disk_mib as u64)]
    pub max_disk_mib: u64,
    /// GPUC staked [default: collateral × max hours].
    #[arg(long)]
    pub stake: Option<String>,
    /// ERG in the listing box [default: the box minimum].
    #[arg(long)]
    pub erg: Option<String>,
}

#[derive(clap::Args, Debug, Clone)]
pub struct UpdateListingArgs {
    /// The listing box id.
    #[arg(long)]
    pub listing: String,
    #[arg(long)]
    pub price: Option<String>,
    #[arg(long)]
    pub collateral: Option<String>,
    #[arg(long)]
    pub min_hours: Option<u32>,
    #[arg(long)]
    pub max_hours: Option<u32>,
    #[arg(long)]
    pub vram_mib: Option<u64>,
    #[arg(long)]
    pub gpus: Option<u32>,
    #[arg(long)]
    pub benchmark: Option<u64>,
    #[arg(long)]
    pub model: Option<String>,
    #[arg(long)]
    pub region: Option<String>,
    #[arg(long)]
    pub endpoint: Option<String>,
    #[arg(long)]
    pub max_memory_mib: Option<u64>,
    #[arg(long)]
    pub max_cpu_millis: Option<u64>,
    #[arg(long)]
    pub max_pids: Option<u64>,
    #[arg(long)]
    pub max_disk_mib: Option<u64>,
    /// Clear the listing's busyUntil (R7) so that it takes a match again now; without it the
    /// update keeps it.
    #[arg(long)]
    pub free: bool,
    /// New stake in GPUC.
    #[arg(long)]
    pub stake: Option<String>,
    #[arg(long)]
    pub erg: Option<String>,
}

#[derive(clap::Args, Debug, Clone)]
pub struct PlaceOrderArgs {
    /// Highest price per hour in GPUC.
    #[arg(long)]
    pub max_price: String,
    #[arg(long)]
    pub hours: u32,
    /// 32-byte hash (hex) of the job spec you will submit to the worker.
    #[arg(long, conflicts_with = "job_spec")]
    pub job_spec_hash: Option<String>,
    /// The job spec file (JSON: image, command, env, resources); its canonical hash (what the
    /// worker checks) becomes the job-spec hash.
    #[arg(long)]
    pub job_spec: Option<PathBuf>,
    /// Only this listing (its NFT id, hex).
    #[arg(long)]
    pub listing: Option<String>,
    #[arg(long)]
    pub model: Option<String>,
    #[arg(long)]
    pub region: Option<String>,
    #[arg(long, default_value_t = 0)]
    pub min_vram_mib: u64,
    #[arg(long, default_value_t = 1)]
    pub min_gpus: u32,
    #[arg(long, default_value_t = 0)]
    pub min_benchmark: u64,
    /// The job's memory, MiB: only listings allowing at least this match [default: the job
    /// spec's resources.memory_mib with --job-spec, else 0 = any].
    #[arg(long)]
    pub memory_mib: Option<u64>,
    /// The job's CPU, thousandths of a core [default: the job spec's resources.cpu_millis].
    #[arg(long)]
    pub cpu_millis: Option<u64>,
    /// The job's processes [default: the job spec's resources.pids].
    #[arg(long)]
    pub pids: Option<u64>,
    /// Output space the job needs, MiB [default: 0 = any].
    #[arg(long)]
    pub disk_mib: Option<u64>,
    /// Blocks until the order expires (720 = one day).
    #[arg(long, default_value_t = crate::actions::DEFAULT_EXPIRY_BLOCKS)]
    pub expiry_blocks: u32,
    /// ERG of the order a matcher may keep.
    #[arg(long, default_value = "0.002")]
    pub matcher_fee: String,
    /// ERG of the lease a settler or slasher may keep.
    #[arg(long, default_value = "0.002")]
    pub lease_fee: String,
    /// GPUC locked [default: max price × hours].
    #[arg(long)]
    pub budget: Option<String>,
    /// ERG in the order box (funds the lease, the refund and the matcher).
    #[arg(long, default_value = "0.01")]
    pub erg: String,
}

#[derive(clap::Args, Debug, Clone)]
pub struct BridgeOutArgs {
    /// Rosen's lock address on Ergo.
    #[arg(long)]
    pub lock_address: String,
    /// Target chain as Rosen names it: cardano, bitcoin, ethereum, binance, doge, ...
    #[arg(long)]
    pub to_chain: String,
    /// Destination address on the target chain.
    #[arg(long)]
    pub to_address: String,
    /// Token id (hex) to send, or `erg`.
    #[arg(long, default_value = "erg")]
    pub token: String,
    /// Amount in the asset's base units (nanoERG or token units), fees included.
    #[arg(long)]
    pub amount: String,
    /// Rosen bridge fee, base units.
    #[arg(long)]
    pub bridge_fee: String,
    /// Target-chain network fee, base units.
    #[arg(long)]
    pub network_fee: String,
}

#[derive(clap::Args, Debug, Clone)]
pub struct DeployArgs {
    /// SigUSD token id [default on a devnet: from /devnet/info].
    #[arg(long)]
    pub sigusd_id: Option<String>,
    /// ERG/USD oracle pool NFT [default on a devnet: from /devnet/info].
    #[arg(long)]
    pub oracle_pool_nft: Option<String>,
    /// GPUC minted into the vault.
    #[arg(long, default_value = "1000000000")]
    pub gpuc_supply: String,
    /// Membership tokens minted into the vault.
    #[arg(long, default_value_t = crate::wallet::DEFAULT_MEMBERSHIPS)]
    pub memberships: u64,
    /// The listed collateral assets, a JSON array of {name, token_id, pool_nft, decimals,
    /// factor_pct, max_age, min_top_up} (as in a deployment file's `collateral`) [default on a
    /// devnet: its stand-ins SigUSD, rsBTC, rsETH, rsUSDT; elsewhere SigUSD alone, priced by the
    /// ERG/USD pool].
    #[arg(long)]
    pub collateral: Option<PathBuf>,
    /// Where to write the deployment file.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// When --out already holds a deployment whose vault is on the node, print it and deploy
    /// nothing (for restartable deployment jobs).
    #[arg(long, requires = "out")]
    pub reuse: bool,
}

#[derive(clap::Subcommand, Debug, Clone)]
pub enum TxAction {
    /// Create a deployment: mint GPUC and the membership token, create the LETS vault (three
    /// transactions; needs --key --submit). Prints and writes (--out) the deployment file.
    DeployVault(DeployArgs),
    /// Join the LETS vault with ERG, SigUSD and/or a listed asset as collateral (balance 0).
    Join(CollateralArgs),
    /// Add collateral to your member account (or --member BOX): ERG, SigUSD, or any listed
    /// asset (`--token rsBTC --amount 0.01`).
    TopUp {
        #[command(flatten)]
        add: CollateralArgs,
        #[arg(long)]
        member: Option<String>,
    },
    /// Take collateral out of your member account; it must stay healthy at the oracle prices
    /// (the ERG/USD pool and each held asset's pool).
    WithdrawCollateral {
        #[command(flatten)]
        take: CollateralArgs,
        #[arg(long)]
        member: Option<String>,
    },
    /// Sell a stable asset the vault takes (rsUSDT in the devnet's list) for GPUC credit at the
    /// oracle's price: your balance (or --member BOX's) rises by its value in GPUC, with no debt
    /// (`--token rsUSDT --amount 10`).
    BuyCredit {
        #[command(flatten)]
        add: CollateralArgs,
        #[arg(long)]
        member: Option<String>,
    },
    /// Take GPUC out of the vault; your balance falls by as much (it may go negative while your
    /// collateral covers it).
    #[command(visible_alias = "withdraw")]
    WithdrawCredit {
        #[arg(long, allow_hyphen_values = true)]
        gpuc: String,
        /// Who gets the GPUC [default: you].
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        member: Option<String>,
    },
    /// Pay GPUC from your wallet into the vault; your balance rises by as much.
    #[command(visible_alias = "deposit")]
    DepositCredit {
        #[arg(long, allow_hyphen_values = true)]
        gpuc: String,
        #[arg(long)]
        member: Option<String>,
    },
    /// Move credit to another member (--to their address, or --payee their member box).
    #[command(visible_alias = "transfer")]
    TransferCredit {
        #[arg(long, allow_hyphen_values = true)]
        gpuc: String,
        #[arg(long, conflicts_with = "payee")]
        to: Option<String>,
        #[arg(long)]
        payee: Option<String>,
        #[arg(long)]
        member: Option<String>,
    },
    /// Close your zero-balance member account (collateral back, membership burnt).
    CloseMember {
        #[arg(long)]
        member: Option<String>,
    },
    /// List a GPU (provider); the listing NFT is minted.
    #[command(visible_alias = "list-gpu")]
    List(ListArgs),
    /// Change a listing's terms, spec or stake (provider).
    UpdateListing(UpdateListingArgs),
    /// Close a listing: the stake comes back, the NFT is burnt (provider).
    WithdrawListing {
        /// The listing box id (hex), as `dgcm tx list` printed it or `GET /api/v1/listings` shows it.
        #[arg(long)]
        listing: String,
    },
    /// Place an order for GPU time (consumer).
    PlaceOrder(PlaceOrderArgs),
    /// Cancel an order (consumer).
    CancelOrder {
        /// The order box id (hex), as `dgcm tx place-order` printed it or `GET /api/v1/orders?consumer=ADDR` shows it.
        #[arg(long)]
        order: String,
    },
    /// Record a lease's completion (provider, before the deadline).
    Complete {
        /// The lease box id (hex): `GET /api/v1/leases?provider=ADDR` shows it.
        #[arg(long)]
        lease: String,
        /// Blocks of GPU time used (≤ hours × 30).
        #[arg(long)]
        used_blocks: u32,
        /// 32-byte usage commitment (hex), e.g. a hash of the usage report.
        #[arg(long)]
        usage_commitment: String,
    },
    /// Settle a completed lease at once (consumer).
    Accept {
        /// The lease box id (hex) after its completion: `GET /api/v1/leases?consumer=ADDR` shows your leases, the matcher created it from your order.
        #[arg(long)]
        lease: String,
    },
    /// Dispute a completion inside the challenge window (consumer).
    Dispute {
        /// The lease box id (hex) after its completion: `GET /api/v1/leases?consumer=ADDR` shows it.
        #[arg(long)]
        lease: String,
    },
    /// End a lease by agreement: both parties sign (--counterparty-key with --submit).
    CancelLease {
        /// The lease box id (hex).
        #[arg(long)]
        lease: String,
        /// GPUC to the provider; the rest goes to the consumer.
        #[arg(long)]
        provider_gpuc: String,
        /// The other party's key file (with --submit).
        #[arg(long)]
        counterparty_key: Option<PathBuf>,
    },
    /// Settle a completed lease after the challenge window (anyone).
    Finalise {
        /// The lease box id (hex) of a completed lease past its challenge window.
        #[arg(long)]
        lease: String,
    },
    /// Slash an uncompleted lease after its deadline (anyone).
    Slash {
        /// The lease box id (hex) of a lease past its deadline without a completion.
        #[arg(long)]
        lease: String,
    },
    /// End an arbitration after its timeout: payment back to the consumer, collateral to the
    /// provider (anyone).
    ArbitrationTimeout {
        /// The arbitration box id (hex).
        #[arg(long)]
        arbitration: String,
    },
    /// Convert a Rosen deposit into its owner's LETS collateral (anyone).
    ConvertRosen {
        /// The Rosen deposit box id (hex).
        #[arg(long)]
        deposit: String,
    },
    /// Print the per-user Rosen deposit address (Rosen's toAddress for bridging in).
    RosenAddress {
        /// Whose address [default: yours].
        #[arg(long)]
        owner: Option<String>,
    },
    /// A Rosen Bridge lock request: send ERG or a token to another chain.
    BridgeOut(BridgeOutArgs),
}

fn opt_box(
    field: &'static str,
    s: &Option<String>,
) -> Result<Option<ergo_lib::ergotree_ir::chain::ergo_box::BoxId>> {
    s.as_deref().map(|s| input::box_id(field, s)).transpose()
}

fn opt_amount(field: &'static str, s: &Option<String>, decimals: u32) -> Result<Option<u64>> {
    s.as_deref().map(|s| amount(field, s, decimals)).transpose()
}

/// Turns the parsed flags into an [`Action`]: every amount, address and id is checked here.
fn to_action(a: &TxAction, network: NetworkPrefix, params: &ProtocolParams) -> Result<Action> {
    Ok(match a {
        TxAction::DeployVault(_) | TxAction::RosenAddress { .. } => {
            return Err(TxError::Missing("not a transaction action".into()))
        }
        TxAction::Join(c) => {
            let (erg, assets) = c.parse(params)?;
            Action::Join { erg, assets }
        }
        TxAction::TopUp { add, member } => {
            let (erg, assets) = add.parse(params)?;
            Action::TopUp {
                member: opt_box("member", member)?,
                erg,
                assets,
            }
        }
        TxAction::WithdrawCollateral { take, member } => {
            let (erg, assets) = take.parse(params)?;
            Action::WithdrawCollateral {
                member: opt_box("member", member)?,
                erg,
                assets,
            }
        }
        TxAction::BuyCredit { add, member } => {
            let (erg, assets) = add.parse(params)?;
            if erg > 0 {
                return Err(TxError::input(
                    "erg",
                    "the vault takes only stable assets for credit (--token NAME --amount N)",
                ));
            }
            for (id, _) in &assets {
                if params.credit_asset(id).is_none() {
                    let takes: Vec<&str> = params
                        .collateral
                        .iter()
                        .filter(|a| a.credit_pct > 0)
                        .map(|a| a.name.as_str())
                        .collect();
                    return Err(TxError::input(
                        "token",
                        format!(
                            "the vault does not take it for credit (it takes: {})",
                            if takes.is_empty() {
                                "none in this deployment".to_string()
                            } else {
                                takes.join(", ")
                            }
                        ),
                    ));
                }
            }
            Action::BuyCredit {
                member: opt_box("member", member)?,
                assets,
            }
        }
        TxAction::WithdrawCredit { gpuc, to, member } => Action::WithdrawCredit {
            member: opt_box("member", member)?,
            amount: positive("gpuc", gpuc, GPUC_DECIMALS)?,
            to: to
                .as_deref()
                .map(|t| input::address_tree("to", t, network))
                .transpose()?,
        },
        TxAction::DepositCredit { gpuc, member } => Action::DepositCredit {
            member: opt_box("member", member)?,
            amount: positive("gpuc", gpuc, GPUC_DECIMALS)?,
        },
        TxAction::TransferCredit {
            gpuc,
            to,
            payee,
            member,
        } => {
            let to = match (to, payee) {
                (Some(t), _) => Payee::Owner(input::p2pk("to", t, network)?),
                (None, Some(p)) => Payee::Member(input::box_id("payee", p)?),
                (None, None) => {
                    return Err(TxError::input(
                        "to",
                        "give the payee's address (--to) or member box (--payee)",
                    ))
                }
            };
            Action::TransferCredit {
                member: opt_box("member", member)?,
                to,
                amount: positive("gpuc", gpuc, GPUC_DECIMALS)?,
            }
        }
        TxAction::CloseMember { member } => Action::CloseMember {
            member: opt_box("member", member)?,
        },
        TxAction::List(l) => Action::List(ListingSpec {
            price_per_hour: positive("price", &l.price, GPUC_DECIMALS)?,
            collateral_per_hour: amount("collateral", &l.collateral, GPUC_DECIMALS)?,
            min_hours: l.min_hours,
            max_hours: l.max_hours,
            vram_mib: l.vram_mib,
            gpu_count: l.gpus,
            benchmark_score: l.benchmark,
            model: l.model.clone(),
            region: l.region.clone(),
            endpoint: l.endpoint.clone(),
            limits: capacity([
                l.max_memory_mib,
                l.max_cpu_millis,
                l.max_pids,
                l.max_disk_mib,
            ]),
            stake: opt_amount("stake", &l.stake, GPUC_DECIMALS)?,
            value: opt_amount("erg", &l.erg, ERG_DECIMALS)?.unwrap_or(0),
        }),
        TxAction::UpdateListing(u) => Action::UpdateListing {
            listing: input::box_id("listing", &u.listing)?,
            update: ListingUpdate {
                price_per_hour: opt_amount("price", &u.price, GPUC_DECIMALS)?,
                collateral_per_hour: opt_amount("collateral", &u.collateral, GPUC_DECIMALS)?,
                min_hours: u.min_hours,
                max_hours: u.max_hours,
                vram_mib: u.vram_mib,
                gpu_count: u.gpus,
                benchmark_score: u.benchmark,
                model: u.model.clone(),
                region: u.region.clone(),
                endpoint: u.endpoint.clone(),
                limits: [
                    u.max_memory_mib,
                    u.max_cpu_millis,
                    u.max_pids,
                    u.max_disk_mib,
                ],
                free: u.free,
                stake: opt_amount("stake", &u.stake, GPUC_DECIMALS)?,
                value: opt_amount("erg", &u.erg, ERG_DECIMALS)?,
            },
        },
        TxAction::WithdrawListing { listing } => Action::WithdrawListing {
            listing: input::box_id("listing", listing)?,
        },
        TxAction::PlaceOrder(o) => {
            let mut spec_requests = None;
            let job_spec_hash =
                match (&o.job_spec_hash, &o.job_spec) {
                    (Some(h), _) => input::hex_bytes("job-spec-hash", h, 32)?,
                    (None, Some(path)) => {
                        let bytes = std::fs::read(path).map_err(|e| {
                            TxError::input("job-spec", format!("{}: {e}", path.display()))
                        })?;
                        // The worker's hash: blake2b256 of the spec's canonical JSON.
                        let spec =
                            dgcm_contracts::jobspec::JobSpec::from_json(&bytes).map_err(|e| {
                                TxError::input("job-spec", format!("{}: {e}", path.display()))
                            })?;
                        spec_requests = Some((
                            dgcm_contracts::capacity::spec_requests(&spec),
                            spec.resources.gpus.unwrap_or(0),
                        ));
                        dgcm_contracts::jobspec::job_spec_hash(&spec).to_vec()
                    }
                    (None, None) => return Err(TxError::input(
                        "job-spec-hash",
                        "give the job spec's hash (--job-spec-hash HEX) or file (--job-spec FILE)",
                    )),
                };
            let (requests, spec_gpus) = order_requests(o, spec_requests)?;
            Action::PlaceOrder(OrderSpec {
                max_price_per_hour: positive("max-price", &o.max_price, GPUC_DECIMALS)?,
                hours: o.hours,
                min_vram_mib: o.min_vram_mib,
                // a spec asking for GPUs needs a listing with as many
                min_gpu_count: o.min_gpus.max(spec_gpus),
                min_benchmark_score: o.min_benchmark,
                listing_nft: o
                    .listing
                    .as_deref()
                    .map(|s| input::token_id("listing", s))
                    .transpose()?,
                model: o.model.clone(),
                region: o.region.clone(),
                job_spec_hash,
                requests,
                expiry_blocks: o.expiry_blocks,
                matcher_fee_cap: amount("matcher-fee", &o.matcher_fee, ERG_DECIMALS)?,
                lease_exec_fee_cap: amount("lease-fee", &o.lease_fee, ERG_DECIMALS)?,
                budget: opt_amount("budget", &o.budget, GPUC_DECIMALS)?,
                value: positive("erg", &o.erg, ERG_DECIMALS)?,
            })
        }
        TxAction::CancelOrder { order } => Action::CancelOrder {
            order: input::box_id("order", order)?,
        },
        TxAction::Complete {
            lease,
            used_blocks,
            usage_commitment,
        } => {
            let c = input::hex_bytes("usage-commitment", usage_commitment, 32)?;
            let mut usage = [0u8; 32];
            usage.copy_from_slice(&c);
            Action::Complete {
                lease: input::box_id("lease", lease)?,
                used_blocks: *used_blocks,
                usage_commitment: usage,
            }
        }
        TxAction::Accept { lease } => Action::Accept {
            lease: input::box_id("lease", lease)?,
        },
        TxAction::Dispute { lease } => Action::Dispute {
            lease: input::box_id("lease", lease)?,
        },
        TxAction::CancelLease {
            lease,
            provider_gpuc,
            ..
        } => Action::CancelLease {
            lease: input::box_id("lease", lease)?,
            provider_gpuc: amount("provider-gpuc", provider_gpuc, GPUC_DECIMALS)?,
        },
        TxAction::Finalise { lease } => Action::Finalise {
            lease: input::box_id("lease", lease)?,
        },
        TxAction::Slash { lease } => Action::Slash {
            lease: input::box_id("lease", lease)?,
        },
        TxAction::ArbitrationTimeout { arbitration } => Action::ArbitrationTimeout {
            arbitration: input::box_id("arbitration", arbitration)?,
        },
        TxAction::ConvertRosen { deposit } => Action::ConvertRosen {
            deposit: input::box_id("deposit", deposit)?,
        },
        TxAction::BridgeOut(b) => {
            let token = match b.token.trim() {
                "erg" | "ERG" => None,
                t => Some(input::token_id("token", t)?),
            };
            let out = BridgeOut {
                lock: input::address_tree("lock-address", &b.lock_address, network)?,
                to_chain: b.to_chain.clone(),
                to_address: b.to_address.clone(),
                token,
                amount: positive("amount", &b.amount, 0)?,
                bridge_fee: amount("bridge-fee", &b.bridge_fee, 0)?,
                network_fee: amount("network-fee", &b.network_fee, 0)?,
            };
            out.check()?;
            Action::BridgeOut(out)
        }
    })
}

fn capacity(v: [u64; 4]) -> Capacity {
    Capacity::from_slice(&v.map(|x| x.min(i64::MAX as u64) as i64))
}

/// An order's requests: each flag, else the job spec's request (`--job-spec`), else 0. A flag
/// below the spec's own request is refused: the order could then match a listing the job does
/// not fit, and the worker would refuse the job (a no-show at the renter's cost). Also the GPUs
/// the spec asks for.
fn order_requests(o: &PlaceOrderArgs, spec: Option<(Capacity, u32)>) -> Result<(Capacity, u32)> {
    let (from_spec, gpus) = spec.unwrap_or_default();
    let flags = [
        ("memory-mib", o.memory_mib),
        ("cpu-millis", o.cpu_millis),
        ("pids", o.pids),
        ("disk-mib", o.disk_mib),
    ];
    let want = from_spec.to_vec();
    let mut v = [0i64; 4];
    for (i, (field, flag)) in flags.into_iter().enumerate() {
        v[i] = match flag {
            None => want[i],
            Some(x) => {
                let x = x.min(i64::MAX as u64) as i64;
                if x < want[i] {
                    return Err(TxError::input(
                        field,
                        format!("{x} is below the job spec's own request ({})", want[i]),
                    ));
                }
                x
            }
        };
    }
    Ok((Capacity::from_slice(&v), gpus))
}

fn read_key(field: &'static str, path: &PathBuf) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| TxError::input(field, format!("{}: {e}", path.display())))
}

/// Runs `dgcm tx`: returns what is printed (EIP-12 JSON, or the submission's JSON).
pub async fn run(args: TxArgs, node_url: &str) -> anyhow::Result<Value> {
    Ok(run_inner(args, node_url).await?)
}

async fn run_inner(args: TxArgs, node_url: &str) -> Result<Value> {
    let mut deployment = match &args.deployment {
        Some(p) => Deployment::load(p)?,
        None => Deployment::devnet_default(),
    };
    if let Some(n) = &args.network {
        deployment.network = parse_network("network", n)?;
    }
    let network = deployment.network;
    let fee = amount("fee", &args.fee, ERG_DECIMALS)?;
    if fee == 0 {
        return Err(TxError::input(
            "fee",
            "must be > 0 (miners take no fee-less transactions)",
        ));
    }
    if args.submit && args.key.is_none() {
        return Err(TxError::input(
            "submit",
            "needs --key FILE (the key that signs)",
        ));
    }
    let key_text = args.key.as_ref().map(|k| read_key("key", k)).transpose()?;
    let signer = key_text
        .as_deref()
        .map(|t| {
            Signer::from_secret_hex(t).map_err(|e| {
                TxError::input(
                    "key",
                    format!(
                        "{}: {e}",
                        args.key
                            .as_ref()
                            .map(|k| k.display().to_string())
                            .unwrap_or_default()
                    ),
                )
            })
        })
        .transpose()?;
    // Who the user is: the key's address, or --address (they must agree when both are given).
    let user = match (&signer, &args.address) {
        (Some(s), Some(a)) => {
            let pk = input::p2pk("address", a, network)?;
            if pk != s.pk {
                return Err(TxError::input(
                    "address",
                    "differs from the address of --key; give one of them",
                ));
            }
            Some(pk)
        }
        (Some(s), None) => Some(s.pk.clone()),
        (None, Some(a)) => Some(input::p2pk("address", a, network)?),
        (None, None) => None,
    };

    match &args.action {
        TxAction::DeployVault(d) => {
            let (Some(signer), true) = (&signer, args.submit) else {
                return Err(TxError::input(
                    "key",
                    "deploy-vault creates tokens with three chained transactions: give --key FILE --submit",
                ));
            };
            let supply = positive("gpuc-supply", &d.gpuc_supply, GPUC_DECIMALS)?;
            if let (true, Some(out)) = (d.reuse, &d.out) {
                if out.exists() {
                    let existing = Deployment::load(out)?;
                    let planner = Planner::new(node_url, &existing)?;
                    match planner.vault().await {
                        Ok(v) => {
                            return Ok(json!({
                                "action": "deploy-vault",
                                "reused": true,
                                "vault_box_id": input::hex_id(&v.bx.box_id()),
                                "deployment": existing.to_json(),
                                "written_to": out.display().to_string(),
                            }))
                        }
                        Err(TxError::Missing(why)) => {
                            tracing::warn!(file = %out.display(), %why, "deploying anew");
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            let collateral = d
                .collateral
                .as_ref()
                .map(|f| crate::wallet::read_collateral(f))
                .transpose()?;
            let mut opts = match (&d.sigusd_id, &d.oracle_pool_nft) {
                (Some(s), Some(o)) => DeployOptions::new(
                    network,
                    input::token_id("sigusd-id", s)?,
                    input::token_id("oracle-pool-nft", o)?,
                ),
                (s, o) => {
                    let mut dev = DeployOptions::for_devnet(node_url).await?;
                    if let Some(s) = s {
                        dev.sigusd_id = input::token_id("sigusd-id", s)?;
                    }
                    if let Some(o) = o {
                        dev.oracle_pool_nft = input::token_id("oracle-pool-nft", o)?;
                    }
                    dev.network = network;
                    dev
                }
            };
            opts.gpuc_supply = supply;
            opts.memberships = d.memberships;
            opts.fee = fee;
            opts.base = deployment.params.clone();
            opts.collateral = collateral;
            if opts.network == NetworkPrefix::Mainnet {
                // the devnet's never-stale oracle bound has no place on a real network
                opts.base.oracle_max_age = opts
                    .base
                    .oracle_max_age
                    .min(dgcm_contracts::trees::ORACLE_MAX_AGE_DEFAULT);
            }
            let deployed = deploy_vault(node_url, signer, &opts).await?;
            if let Some(out) = &d.out {
                deployed.save(out)?;
            }
            Ok(json!({
                "action": "deploy-vault",
                "tx_ids": deployed.deploy_txs,
                "vault_box_id": deployed.vault_box_id,
                "deployment": deployed.to_json(),
                "written_to": d.out.as_ref().map(|p| p.display().to_string()),
            }))
        }
        TxAction::RosenAddress { owner } => {
            let pk = match owner {
                Some(o) => input::p2pk("owner", o, network)?,
                None => user.ok_or_else(|| {
                    TxError::input("owner", "give --owner ADDRESS (or --address / --key)")
                })?,
            };
            let c = deployment.contracts()?;
            let tree = c
                .rosen_deposit(&pk)
                .map_err(|e| TxError::Deployment(e.to_string()))?;
            Ok(json!({
                "owner": input::encode_p2pk(&pk, network),
                "rosen_deposit_address": rosen_deposit_address(&c, &pk, network)?,
                "ergo_tree": hex::encode(
                    ergo_lib::ergotree_ir::serialization::SigmaSerializable::sigma_serialize_bytes(&tree)
                        .map_err(|e| TxError::Deployment(e.to_string()))?
                ),
            }))
        }
        action => {
            let action_v = to_action(action, network, &deployment.params)?;
            let Some(user) = user else {
                return Err(TxError::input(
                    "address",
                    "give --address ADDRESS (prints EIP-12 JSON to sign) or --key FILE --submit",
                ));
            };
            let counterparty = match action {
                TxAction::CancelLease {
                    counterparty_key: Some(k),
                    ..
                } => Some(read_key("counterparty-key", k)?),
                _ => None,
            };
            if args.submit {
                let text = key_text.unwrap_or_default();
                let wallet = Wallet::new(node_url, &text, &deployment)?.with_fee(fee);
                let co = counterparty
                    .map(|t| {
                        Wallet::new(node_url, &t, &deployment)
                            .map_err(|e| TxError::input("counterparty-key", e.to_string()))
                    })
                    .transpose()?;
                let planned = wallet.plan(&action_v).await?;
                let cos: Vec<&Wallet> = co.iter().collect();
                let sub = wallet.submit(planned, &cos).await?;
                Ok(sub.to_json())
            } else {
                let planner = Planner::new(node_url, &deployment)?.with_fee(fee);
                let planned = planner.plan(&action_v, &user).await?;
                unsigned_json(&planned.plan).map_err(TxError::build(planned.action))
            }
        }
    }
}
