//! Every user action of PROTOCOL.md as an [`Action`] (amounts in base units: mGPUC, nanoERG,
//! SigUSD cents), planned by [`Planner::plan`] into a [`TxPlan`] with the dgcm-contracts
//! builders: the protocol boxes are resolved on the node, the user's P2PK boxes fund the rest.
//! Ownership is checked before building, so a user is never handed a transaction their key
//! cannot sign.

use dgcm_contracts::arbitration::Arbitration;
use dgcm_contracts::build;
use dgcm_contracts::capacity::Capacity;
use dgcm_contracts::lease::Lease;
use dgcm_contracts::lets_member::{borrow_value, healthy, Member, Prices};
use dgcm_contracts::listing::{Listing, ListingTerms};
use dgcm_contracts::order::{Order, OrderTerms};
use dgcm_contracts::rosen_deposit::RosenDeposit;
use dgcm_contracts::util::p2pk_tree;
use dgcm_contracts::{Contracts, TxDraft, TxPlan, Typed};
use ergo_lib::ergotree_ir::chain::ergo_box::{BoxId, ErgoBox};
use ergo_lib::ergotree_ir::chain::token::TokenId;
use ergo_lib::ergotree_ir::ergo_tree::ErgoTree;
use ergo_lib::ergotree_ir::sigma_protocol::sigma_boolean::ProveDlog;

use crate::chain::Planner;
use crate::error::{Result, TxError};
use crate::input::{format_units, hex_id, GPUC_DECIMALS, SIGUSD_DECIMALS};
use crate::rosen::BridgeOut;
use crate::select::fund;

/// A new listing (`dgcm tx list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingSpec {
    /// mGPUC per hour.
    pub price_per_hour: u64,
    /// mGPUC of stake locked into a lease per hour it runs.
    pub collateral_per_hour: u64,
    pub min_hours: u32,
    pub max_hours: u32,
    pub vram_mib: u64,
    pub gpu_count: u32,
    pub benchmark_score: u64,
    pub model: String,
    pub region: String,
    /// Where consumers reach the provider's worker (URL).
    pub endpoint: String,
    /// The limits the provider's worker enforces on a job (R5[7..10]; the fit rule).
    pub limits: Capacity,
    /// mGPUC staked in the listing; `None`: enough for one lease of `max_hours`.
    pub stake: Option<u64>,
    /// nanoERG in the listing box; 0: the box minimum.
    pub value: u64,
}

impl Default for ListingSpec {
    fn default() -> Self {
        ListingSpec {
            price_per_hour: 1000,
            collateral_per_hour: 0,
            min_hours: 1,
            max_hours: 8,
            vram_mib: 0,
            gpu_count: 1,
            benchmark_score: 0,
            model: String::new(),
            region: String::new(),
            endpoint: String::new(),
            limits: dgcm_contracts::capacity::DEFAULT_LIMITS,
            stake: None,
            value: 0,
        }
    }
}

/// Changes to a listing (`dgcm tx update-listing`); `None` keeps the current value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListingUpdate {
    pub price_per_hour: Option<u64>,
    pub collateral_per_hour: Option<u64>,
    pub min_hours: Option<u32>,
    pub max_hours: Option<u32>,
    pub vram_mib: Option<u64>,
    pub gpu_count: Option<u32>,
    pub benchmark_score: Option<u64>,
    pub model: Option<String>,
    pub region: Option<String>,
    pub endpoint: Option<String>,
    /// New limits, field by field (`[memory MiB, CPU millis, pids, disk MiB]`).
    pub limits: [Option<u64>; 4],
    /// Clear R7 busyUntil (the listing takes a match again now): the provider's own lease of
    /// it has ended. Otherwise the update keeps it.
    pub free: bool,
    /// New stake (mGPUC): more comes from the wallet, less goes back to it.
    pub stake: Option<u64>,
    pub value: Option<u64>,
}

/// A new order (`dgcm tx place-order`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSpec {
    /// mGPUC per hour at most.
    pub max_price_per_hour: u64,
    pub hours: u32,
    pub min_vram_mib: u64,
    pub min_gpu_count: u32,
    pub min_benchmark_score: u64,
    /// Only this listing (its NFT id).
    pub listing_nft: Option<TokenId>,
    pub model: Option<String>,
    pub region: Option<String>,
    /// Hash of the job spec the consumer will submit to the worker (1..=64 bytes, usually 32).
    pub job_spec_hash: Vec<u8>,
    /// The job's requests (R5[8..11]; 0 = none): only listings whose limits cover them match.
    pub requests: Capacity,
    /// Blocks from now until the order expires.
    pub expiry_blocks: u32,
    /// nanoERG of the order's value a matcher may keep (it pays the miner fee from it).
    pub matcher_fee_cap: u64,
    /// nanoERG of the lease's value a settler or slasher may keep.
    pub lease_exec_fee_cap: u64,
    /// mGPUC locked; `None`: max price × hours.
    pub budget: Option<u64>,
    /// nanoERG in the order box (funds the lease box, the refund and the matcher).
    pub value: u64,
}

/// Defaults of an order's ERG: value 0.01 ERG, matcher and lease executor caps 0.002 ERG each.
pub const DEFAULT_ORDER_VALUE: u64 = 10_000_000;
pub const DEFAULT_FEE_CAP: u64 = 2_000_000;
/// A day of blocks.
pub const DEFAULT_EXPIRY_BLOCKS: u32 = 720;

impl Default for OrderSpec {
    fn default() -> Self {
        OrderSpec {
            max_price_per_hour: 1000,
            hours: 1,
            min_vram_mib: 0,
            min_gpu_count: 1,
            min_benchmark_score: 0,
            listing_nft: None,
            model: None,
            region: None,
            job_spec_hash: vec![],
            requests: Capacity::default(),
            expiry_blocks: DEFAULT_EXPIRY_BLOCKS,
            matcher_fee_cap: DEFAULT_FEE_CAP,
            lease_exec_fee_cap: DEFAULT_FEE_CAP,
            budget: None,
            value: DEFAULT_ORDER_VALUE,
        }
    }
}

/// Who receives a credit transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payee {
    /// The member account of this key (must be the only one).
    Owner(ProveDlog),
    /// This member box.
    Member(BoxId),
}

/// One user action. Amounts in base units (mGPUC, nanoERG, SigUSD cents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Join the LETS vault with ERG and/or listed-asset collateral (balance 0).
    Join {
        erg: u64,
        /// Listed collateral assets (token, base units).
        assets: Vec<(TokenId, u64)>,
    },
    /// Add collateral to a member account (the user's own unless `member` is given).
    TopUp {
        member: Option<BoxId>,
        erg: u64,
        assets: Vec<(TokenId, u64)>,
    },
    /// Take collateral out of the user's member account; it must stay healthy at the oracle
    /// prices.
    WithdrawCollateral {
        member: Option<BoxId>,
        erg: u64,
        assets: Vec<(TokenId, u64)>,
    },
    /// Sell stable assets the vault takes (rsUSDT) to the vault for GPUC credit at the oracle's
    /// price: the member's balance (the user's own unless `member` is given) rises by their
    /// value in GPUC.
    BuyCredit {
        member: Option<BoxId>,
        assets: Vec<(TokenId, u64)>,
    },
    /// Take `amount` mGPUC out of the vault; the balance falls by as much.
    WithdrawCredit {
        member: Option<BoxId>,
        amount: u64,
        /// Who gets the GPUC (default: the user).
        to: Option<ErgoTree>,
    },
    /// Pay `amount` mGPUC from the wallet into the vault; the balance rises by as much.
    DepositCredit {
        member: Option<BoxId>,
        amount: u64,
    },
    /// Move `amount` mGPUC of credit to another member.
    TransferCredit {
        member: Option<BoxId>,
        to: Payee,
        amount: u64,
    },
    /// Close a zero-balance account: collateral back, membership token burnt.
    CloseMember {
        member: Option<BoxId>,
    },
    List(ListingSpec),
    UpdateListing {
        listing: BoxId,
        update: ListingUpdate,
    },
    WithdrawListing {
        listing: BoxId,
    },
    PlaceOrder(OrderSpec),
    CancelOrder {
        order: BoxId,
    },
    /// Provider: record completion with the blocks used and a 32-byte usage commitment.
    Complete {
        lease: BoxId,
        used_blocks: u32,
        usage_commitment: [u8; 32],
    },
    /// Consumer: settle a completed lease at once.
    Accept {
        lease: BoxId,
    },
    /// Consumer: dispute a completion inside the challenge window.
    Dispute {
        lease: BoxId,
    },
    /// Both parties: end a lease with `provider_gpuc` mGPUC to the provider, the rest back.
    CancelLease {
        lease: BoxId,
        provider_gpuc: u64,
    },
    /// Anyone, after the challenge window: settle a completed lease.
    Finalise {
        lease: BoxId,
    },
    /// Anyone, after the deadline of an uncompleted lease: everything to the consumer.
    Slash {
        lease: BoxId,
    },
    /// Anyone, after an arbitration's timeout: payment back to the consumer, collateral to the
    /// provider.
    ArbitrationTimeout {
        arbitration: BoxId,
    },
    /// Anyone: turn a Rosen deposit into its owner's LETS collateral.
    ConvertRosen {
        deposit: BoxId,
    },
    /// A Rosen lock request to another chain.
    BridgeOut(BridgeOut),
}

impl Action {
    /// The subcommand name.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Join { .. } => "join",
            Action::TopUp { .. } => "top-up",
            Action::WithdrawCollateral { .. } => "withdraw-collateral",
            Action::BuyCredit { .. } => "buy-credit",
            Action::WithdrawCredit { .. } => "withdraw-credit",
            Action::DepositCredit { .. } => "deposit-credit",
            Action::TransferCredit { .. } => "transfer-credit",
            Action::CloseMember { .. } => "close-member",
            Action::List(_) => "list",
            Action::UpdateListing { .. } => "update-listing",
            Action::WithdrawListing { .. } => "withdraw-listing",
            Action::PlaceOrder(_) => "place-order",
            Action::CancelOrder { .. } => "cancel-order",
            Action::Complete { .. } => "complete",
            Action::Accept { .. } => "accept",
            Action::Dispute { .. } => "dispute",
            Action::CancelLease { .. } => "cancel-lease",
            Action::Finalise { .. } => "finalise",
            Action::Slash { .. } => "slash",
            Action::ArbitrationTimeout { .. } => "arbitration-timeout",
            Action::ConvertRosen { .. } => "convert-rosen",
            Action::BridgeOut(_) => "bridge-out",
        }
    }
}

/// A planned action: the transaction and which output is the protocol box it creates.
#[derive(Debug, Clone)]
pub struct Planned {
    pub action: &'static str,
    pub plan: TxPlan,
    /// `(output index, kind)` of the box the action creates or continues, if any.
    pub created: Option<(usize, &'static str)>,
    /// Keys that must sign besides the user's (mutual lease cancel: the counterparty).
    pub cosigner: Option<ProveDlog>,
}

impl Planned {
    /// Id of the created protocol box (known before signing: ids do not depend on proofs).
    pub fn created_box_id(&self) -> Option<String> {
        let (i, _) = self.created?;
        let tx_id = self.plan.unsigned.id();
        let c = self.plan.unsigned.output_candidates.get(i)?;
        ErgoBox::from_box_candidate(c, tx_id, i as u16)
            .ok()
            .map(|b| hex_id(&b.box_id()))
    }
}

impl Planned {
    /// The token this transaction mints (id = its first input's id), if an output holds it.
    pub fn minted_token(&self) -> Option<String> {
        let first: TokenId = self.plan.inputs.first()?.box_id().into();
        self.plan
            .unsigned
            .output_candidates
            .iter()
            .flat_map(|o| o.tokens.iter().flatten())
            .any(|t| t.token_id == first)
            .then(|| hex_id(&first))
    }
}

fn long(field: &'static str, v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| TxError::input(field, "too large"))
}

fn mul(field: &'static str, a: u64, b: u64) -> Result<u64> {
    a.checked_mul(b)
        .filter(|v| *v <= i64::MAX as u64)
        .ok_or_else(|| TxError::input(field, "overflows"))
}

fn check_hours(min: u32, max: u32) -> Result<()> {
    if min < 1 {
        return Err(TxError::input("min-hours", "must be ≥ 1"));
    }
    if max < min {
        return Err(TxError::input(
            "max-hours",
            format!("{max} is below --min-hours {min}"),
        ));
    }
    Ok(())
}

fn listing_text(field: &'static str, s: &str) -> Result<String> {
    crate::input::text(field, s, 256, false)
}

impl ListingSpec {
    fn to_listing(&self, provider: &ProveDlog) -> Result<Listing> {
        if self.price_per_hour == 0 {
            return Err(TxError::input("price", "must be > 0"));
        }
        check_hours(self.min_hours, self.max_hours)?;
        if self.gpu_count == 0 {
            return Err(TxError::input("gpus", "must be ≥ 1"));
        }
        let stake = match self.stake {
            Some(s) => s,
            None => mul("stake", self.collateral_per_hour, self.max_hours as u64)?,
        };
        if self.collateral_per_hour > 0 && stake < self.collateral_per_hour * self.min_hours as u64
        {
            return Err(TxError::input(
                "stake",
                format!(
                    "{} GPUC cannot cover the collateral of even the shortest lease ({} GPUC)",
                    format_units(stake, GPUC_DECIMALS),
                    format_units(
                        self.collateral_per_hour * self.min_hours as u64,
                        GPUC_DECIMALS
                    )
                ),
            ));
        }
        Ok(Listing {
            value: self.value,
            // set by the builder from the first funding box
            nft: TokenId::from(ergo_lib::ergo_chain_types::Digest32::zero()),
            stake,
            provider: provider.clone(),
            terms: ListingTerms {
                price_per_hour: long("price", self.price_per_hour)?,
                collateral_per_hour: long("collateral", self.collateral_per_hour)?,
                min_hours: self.min_hours as i64,
                max_hours: self.max_hours as i64,
                vram_mib: long("vram-mib", self.vram_mib)?,
                gpu_count: self.gpu_count as i64,
                benchmark_score: long("benchmark", self.benchmark_score)?,
                limits: nonneg_capacity(true, self.limits)?,
            },
            model: listing_text("model", &self.model)?,
            region: listing_text("region", &self.region)?,
            endpoint: listing_text("endpoint", &self.endpoint)?,
            busy_until: None,
        })
    }
}

impl ListingUpdate {
    fn apply(&self, cur: &Listing) -> Result<Listing> {
        let t = &cur.terms;
        let u64_of = |v: i64| v.max(0) as u64;
        let spec = ListingSpec {
            price_per_hour: self.price_per_hour.unwrap_or(u64_of(t.price_per_hour)),
            collateral_per_hour: self
                .collateral_per_hour
                .unwrap_or(u64_of(t.collateral_per_hour)),
            min_hours: self
                .min_hours
                .unwrap_or(t.min_hours.clamp(0, u32::MAX as i64) as u32),
            max_hours: self
                .max_hours
                .unwrap_or(t.max_hours.clamp(0, u32::MAX as i64) as u32),
            vram_mib: self.vram_mib.unwrap_or(u64_of(t.vram_mib)),
            gpu_count: self
                .gpu_count
                .unwrap_or(t.gpu_count.clamp(0, u32::MAX as i64) as u32),
            benchmark_score: self.benchmark_score.unwrap_or(u64_of(t.benchmark_score)),
            model: self.model.clone().unwrap_or_else(|| cur.model.clone()),
            region: self.region.clone().unwrap_or_else(|| cur.region.clone()),
            endpoint: self
                .endpoint
                .clone()
                .unwrap_or_else(|| cur.endpoint.clone()),
            limits: {
                let now = t.limits.to_vec();
                let v: Vec<i64> = (0..4)
                    .map(|i| self.limits[i].map_or(now[i], |x| x.min(i64::MAX as u64) as i64))
                    .collect();
                Capacity::from_slice(&v)
            },
            stake: Some(self.stake.unwrap_or(cur.stake)),
            value: self.value.unwrap_or(cur.value),
        };
        let mut l = spec.to_listing(&cur.provider)?;
        l.nft = cur.nft;
        l.busy_until = if self.free { None } else { cur.busy_until };
        Ok(l)
    }
}

impl OrderSpec {
    fn to_order(&self, consumer: &ProveDlog, height: u32) -> Result<Order> {
        if self.max_price_per_hour == 0 {
            return Err(TxError::input("max-price", "must be > 0"));
        }
        if self.hours == 0 {
            return Err(TxError::input("hours", "must be ≥ 1"));
        }
        if self.min_gpu_count == 0 {
            return Err(TxError::input("min-gpus", "must be ≥ 1"));
        }
        if self.job_spec_hash.is_empty() || self.job_spec_hash.len() > 64 {
            return Err(TxError::input(
                "job-spec-hash",
                format!(
                    "{} bytes, expected 1..=64 (usually 32)",
                    self.job_spec_hash.len()
                ),
            ));
        }
        if self.expiry_blocks == 0 {
            return Err(TxError::input("expiry-blocks", "must be ≥ 1"));
        }
        let need = mul("budget", self.max_price_per_hour, self.hours as u64)?;
        let budget = self.budget.unwrap_or(need);
        if budget < need {
            return Err(TxError::input(
                "budget",
                format!(
                    "{} GPUC is below max price × hours = {} GPUC",
                    format_units(budget, GPUC_DECIMALS),
                    format_units(need, GPUC_DECIMALS)
                ),
            ));
        }
        let caps = self
            .matcher_fee_cap
            .checked_add(self.lease_exec_fee_cap)
            .ok_or_else(|| TxError::input("matcher-fee", "overflows"))?;
        if self.value <= caps {
            return Err(TxError::input(
                "erg",
                format!(
                    "the order's {} nanoERG must exceed the matcher and lease fee caps ({caps}) \
                     to fund the lease and refund boxes",
                    self.value
                ),
            ));
        }
        let opt_text = |field, v: &Option<String>| -> Result<Option<String>> {
            v.as_ref()
                .map(|s| crate::input::text(field, s, 256, false))
                .transpose()
        };
        Ok(Order {
            value: self.value,
            budget,
            consumer: consumer.clone(),
            terms: OrderTerms {
                max_price_per_hour: long("max-price", self.max_price_per_hour)?,
                hours: self.hours as i64,
                min_vram_mib: long("min-vram-mib", self.min_vram_mib)?,
                min_gpu_count: self.min_gpu_count as i64,
                min_benchmark_score: long("min-benchmark", self.min_benchmark_score)?,
                expiry_height: height as i64 + self.expiry_blocks as i64,
                matcher_fee_cap: long("matcher-fee", self.matcher_fee_cap)?,
                lease_exec_fee_cap: long("lease-fee", self.lease_exec_fee_cap)?,
                requests: nonneg_capacity(false, self.requests)?,
            },
            listing: self.listing_nft,
            model: opt_text("model", &self.model)?,
            region: opt_text("region", &self.region)?,
            job_spec_hash: self.job_spec_hash.clone(),
        })
    }
}

/// A capacity with no negative field; errors name the flag (`--max-memory-mib` of a listing,
/// `--memory-mib` of an order).
fn nonneg_capacity(listing: bool, c: Capacity) -> Result<Capacity> {
    let Some(f) = c.negative() else {
        return Ok(c);
    };
    let flag = match (listing, f) {
        (true, "memory_mib") => "max-memory-mib",
        (true, "cpu_millis") => "max-cpu-millis",
        (true, "pids") => "max-pids",
        (true, _) => "max-disk-mib",
        (false, "memory_mib") => "memory-mib",
        (false, "cpu_millis") => "cpu-millis",
        (false, "pids") => "pids",
        (false, _) => "disk-mib",
    };
    Err(TxError::input(flag, "must be ≥ 0"))
}

fn not_yours(field: &'static str, id: &BoxId, role: &str) -> TxError {
    TxError::bx(
        field,
        hex_id(id),
        format!("you are not the {role}: your key cannot sign this path"),
    )
}

/// SigUSD cents that, added to the account, would cover a `balance` at `prices` (`Some(0)`
/// without debt; `None` when the ERG/USD rate is unpriced or SigUSD is not listed or priced).
pub fn sigusd_needed(
    c: &Contracts,
    balance: i64,
    value: u64,
    assets: &[(TokenId, u64)],
    prices: &Prices,
) -> Option<u64> {
    use num_bigint::BigInt;
    if balance >= 0 {
        return Some(0);
    }
    let p = &c.params;
    let sig = p.asset_by_id(&p.sigusd_id)?;
    let price = prices.of(p, &p.sigusd_id);
    if prices.rate <= 0 || price <= 0 {
        return None;
    }
    let need: BigInt = BigInt::from(-(balance as i128))
        * p.gpuc_price_cents
        * p.collateral_ratio_pct
        * prices.rate;
    let have: BigInt = borrow_value(p, prices, value, assets) * 10_000_000;
    let rest = (need - have).max(BigInt::from(0));
    // a cent's borrowing value, scaled like `need`: price / unit · factor / 100 · 10^7
    let per_cent = BigInt::from(price) * sig.factor_pct * 100_000 / sig.unit();
    if per_cent <= BigInt::from(0) {
        return None;
    }
    let cents = (rest + &per_cent - 1) / per_cent;
    u64::try_from(cents).ok()
}

impl Planner {
    fn under_collateralised(
        &self,
        action: &'static str,
        m: &Member,
        balance: i64,
        prices: &Prices,
    ) -> TxError {
        let c = &self.contracts;
        let reason = if prices.rate <= 0 {
            "the balance would go negative and the node has no fresh ERG/USD oracle pool box to \
             price the debt"
                .to_string()
        } else {
            let usd = |nanoerg: f64| nanoerg / prices.rate as f64;
            let have = borrow_value(&c.params, prices, m.value, &m.assets);
            let have = have.to_string().parse::<f64>().unwrap_or(0.0);
            let need = -(balance as f64) / 1000.0 * c.params.gpuc_price_cents as f64 / 100.0
                * c.params.collateral_ratio_pct as f64
                / 100.0;
            let unpriced: Vec<&str> = c
                .params
                .collateral
                .iter()
                .enumerate()
                .filter(|(k, a)| {
                    m.amount(&a.token_id) > 0 && prices.assets.get(*k).copied().unwrap_or(0) <= 0
                })
                .map(|(_, a)| a.name.as_str())
                .collect();
            let mut r = format!(
                "a debt of {} GPUC needs ${need:.2} of borrowing value at the oracle prices \
                 (ERG in full, each asset times its collateral factor); the account has ${:.2}",
                format_units(balance.unsigned_abs(), GPUC_DECIMALS),
                usd(have),
            );
            if !unpriced.is_empty() {
                r.push_str(&format!(
                    " ({} unpriced: no fresh pool box on the node, so counted as 0)",
                    unpriced.join(", ")
                ));
            }
            if let Some(n) =
                sigusd_needed(c, balance, m.value, &m.assets, prices).filter(|n| *n > 0)
            {
                r.push_str(&format!(
                    "; top up first, e.g. {} SigUSD",
                    format_units(n, SIGUSD_DECIMALS)
                ));
            }
            r
        };
        TxError::Build {
            action,
            source: dgcm_contracts::BuildError::Invalid(reason),
        }
    }

    /// Plans `action` for the user `user` (whose P2PK boxes fund it and receive the change).
    pub async fn plan(&self, action: &Action, user: &ProveDlog) -> Result<Planned> {
        let c = &self.contracts;
        let name = action.name();
        let height = self.next_height().await?;
        let address = self.address_of(user);
        let change = p2pk_tree(user);
        let fee = self.fee;
        let boxes = self.wallet_boxes(user).await?;
        let run = |f: &dyn Fn(
            &dgcm_contracts::Executor,
        )
            -> std::result::Result<TxPlan, dgcm_contracts::BuildError>| {
            fund(c, name, &address, boxes.clone(), &change, fee, f)
        };
        let mut cosigner = None;
        let (plan, created) = match action {
            Action::Join { erg, assets } => {
                if *erg == 0 && assets.is_empty() {
                    return Err(TxError::input(
                        "erg",
                        "give --erg, --sigusd and/or --token NAME --amount N of collateral",
                    ));
                }
                let vault = self.vault().await?;
                let plan = run(&|e| build::join(c, &vault, user, *erg, assets, height, e))?;
                (plan, Some((1, "lets_member")))
            }
            Action::TopUp {
                member,
                erg,
                assets,
            } => {
                if *erg == 0 && assets.is_empty() {
                    return Err(TxError::input(
                        "erg",
                        "give --erg, --sigusd and/or --token NAME --amount N to add",
                    ));
                }
                let owner = if member.is_some() { None } else { Some(user) };
                let m = self.member("member", member.as_ref(), owner).await?;
                // an account in debt takes only priced assets: the pools go along as data inputs
                let oracles = if m.v.balance < 0 && !assets.is_empty() {
                    self.oracles().await?
                } else {
                    vec![]
                };
                let plan =
                    run(&|e| build::top_up_priced(c, &m, *erg, assets, &oracles, height, e))?;
                (plan, Some((0, "lets_member")))
            }
            Action::WithdrawCollateral {
                member,
                erg,
                assets,
            } => {
                if *erg == 0 && assets.is_empty() {
                    return Err(TxError::input(
                        "erg",
                        "give --erg, --sigusd and/or --token NAME --amount N to take out",
                    ));
                }
                let m = self.member("member", member.as_ref(), Some(user)).await?;
                let oracles = self.oracles().await?;
                let prices = Prices::read(&c.params, &oracles, height);
                let mut after = m.v.clone();
                after.value = m.v.value.saturating_sub(*erg);
                for (id, n) in assets {
                    after.set_amount(&c.params, *id, m.v.amount(id).saturating_sub(*n));
                }
                if !after.healthy(&c.params, &prices) {
                    return Err(self.under_collateralised(name, &after, after.balance, &prices));
                }
                let oracles = if m.v.balance < 0 { oracles } else { vec![] };
                let plan =
                    run(&|e| build::withdraw_collateral(c, &m, *erg, assets, &oracles, height, e))?;
                (plan, Some((0, "lets_member")))
            }
            Action::BuyCredit { member, assets } => {
                if assets.is_empty() {
                    return Err(TxError::input(
                        "token",
                        "give --token NAME --amount N of an asset the vault takes for credit",
                    ));
                }
                let owner = if member.is_some() { None } else { Some(user) };
                let m = self.member("member", member.as_ref(), owner).await?;
                let vault = self.vault().await?;
                let oracles = self.oracles().await?;
                let plan = run(&|e| {
                    build::buy_credit(c, &vault, &m, assets, &oracles, height, e).map(|(p, _)| p)
                })?;
                (plan, Some((1, "lets_member")))
            }
            Action::WithdrawCredit { member, amount, to } => {
                if *amount == 0 {
                    return Err(TxError::input("gpuc", "must be > 0"));
                }
                let m = self.member("member", member.as_ref(), Some(user)).await?;
                let vault = self.vault().await?;
                let balance = m.v.balance.saturating_sub(long("gpuc", *amount)?);
                let oracles = self.oracles().await?;
                let prices = Prices::read(&c.params, &oracles, height);
                if !healthy(&c.params, &prices, balance, m.v.value, &m.v.assets) {
                    return Err(self.under_collateralised(name, &m.v, balance, &prices));
                }
                let oracles = if balance < 0 { oracles } else { vec![] };
                let to = to.clone().unwrap_or_else(|| change.clone());
                let plan =
                    run(&|e| build::withdraw(c, &vault, &m, *amount, &oracles, &to, height, e))?;
                (plan, Some((1, "lets_member")))
            }
            Action::DepositCredit { member, amount } => {
                if *amount == 0 {
                    return Err(TxError::input("gpuc", "must be > 0"));
                }
                let m = self.member("member", member.as_ref(), Some(user)).await?;
                let vault = self.vault().await?;
                let balance = m.v.balance.saturating_add(long("gpuc", *amount)?);
                let oracles = if balance < 0 {
                    self.oracles().await?
                } else {
                    vec![]
                };
                let plan = run(&|e| build::deposit(c, &vault, &m, *amount, &oracles, height, e))?;
                (plan, Some((1, "lets_member")))
            }
            Action::TransferCredit { member, to, amount } => {
                if *amount == 0 {
                    return Err(TxError::input("gpuc", "must be > 0"));
                }
                let payer = self.member("member", member.as_ref(), Some(user)).await?;
                let payee = match to {
                    Payee::Member(id) => self.member("payee", Some(id), None).await?,
                    Payee::Owner(pk) => {
                        self.member("to", None, Some(pk))
                            .await
                            .map_err(|e| match e {
                                TxError::Missing(m) => TxError::input("to", m),
                                other => other,
                            })?
                    }
                };
                if payee.bx.box_id() == payer.bx.box_id() {
                    return Err(TxError::input("to", "cannot transfer to the same account"));
                }
                let balance = payer.v.balance.saturating_sub(long("gpuc", *amount)?);
                let oracles = self.oracles().await?;
                let prices = Prices::read(&c.params, &oracles, height);
                if !healthy(&c.params, &prices, balance, payer.v.value, &payer.v.assets) {
                    return Err(self.under_collateralised(name, &payer.v, balance, &prices));
                }
                let oracles = if balance < 0 { oracles } else { vec![] };
                let plan =
                    run(&|e| build::transfer(c, &payer, &payee, *amount, &oracles, height, e))?;
                (plan, Some((0, "lets_member")))
            }
            Action::CloseMember { member } => {
                let m = self.member("member", member.as_ref(), Some(user)).await?;
                if m.v.balance != 0 {
                    return Err(TxError::bx(
                        "member",
                        hex_id(&m.bx.box_id()),
                        format!(
                            "balance is {} GPUC; only a zero balance can be closed (deposit or \
                             withdraw credit first)",
                            format_units(m.v.balance.unsigned_abs(), GPUC_DECIMALS)
                        ),
                    ));
                }
                (run(&|e| build::close_member(c, &m, height, e))?, None)
            }
            Action::List(spec) => {
                let l = spec.to_listing(user)?;
                let plan = run(&|e| build::list_listing(c, &l, height, e))?;
                (plan, Some((0, "listing")))
            }
            Action::UpdateListing { listing, update } => {
                let cur: Typed<Listing> = self.protocol_box("listing", listing).await?;
                if cur.v.provider != *user {
                    return Err(not_yours("listing", listing, "provider"));
                }
                let new = update.apply(&cur.v)?;
                let plan = run(&|e| build::update_listing(c, &cur, &new, height, e))?;
                (plan, Some((0, "listing")))
            }
            Action::WithdrawListing { listing } => {
                let cur: Typed<Listing> = self.protocol_box("listing", listing).await?;
                if cur.v.provider != *user {
                    return Err(not_yours("listing", listing, "provider"));
                }
                (run(&|e| build::withdraw_listing(c, &cur, height, e))?, None)
            }
            Action::PlaceOrder(spec) => {
                let o = spec.to_order(user, height)?;
                if let Some(nft) = &spec.listing_nft {
                    // a named listing must exist, or the order can never match
                    let found = self.node.unspent_boxes_by_token(nft, 0, 5).await;
                    let found = match found {
                        Ok(v) => v,
                        Err(e) if e.is_not_found() => vec![],
                        Err(e) => return Err(e.into()),
                    };
                    if !found.iter().any(|b| b.ergo_tree == c.listing) {
                        return Err(TxError::input(
                            "listing",
                            format!("no live listing has the NFT {}", hex_id(nft)),
                        ));
                    }
                }
                let plan = run(&|e| build::place_order(c, &o, height, e))?;
                (plan, Some((0, "order")))
            }
            Action::CancelOrder { order } => {
                let o: Typed<Order> = self.protocol_box("order", order).await?;
                if o.v.consumer != *user {
                    return Err(not_yours("order", order, "consumer"));
                }
                (run(&|e| build::cancel_order(c, &o, height, e))?, None)
            }
            Action::Complete {
                lease,
                used_blocks,
                usage_commitment,
            } => {
                let l: Typed<Lease> = self.protocol_box("lease", lease).await?;
                if l.v.provider != *user {
                    return Err(not_yours("lease", lease, "provider"));
                }
                let used = *used_blocks as i64;
                // Room for a wallet to sign: valid for COMPLETION_SLACK blocks (never past the
                // deadline, which the script checks on HEIGHT anyway).
                let slack = (l.v.terms.deadline - height as i64)
                    .clamp(0, build::COMPLETION_SLACK as i64) as u32;
                let plan = run(&|e| {
                    build::complete_within(c, &l, used, *usage_commitment, height, slack, e)
                })?;
                (plan, Some((0, "lease")))
            }
            Action::Accept { lease } => {
                let l: Typed<Lease> = self.protocol_box("lease", lease).await?;
                if l.v.consumer != *user {
                    return Err(not_yours("lease", lease, "consumer"));
                }
                (run(&|e| build::accept(c, &l, height, e))?, None)
            }
            Action::Dispute { lease } => {
                let l: Typed<Lease> = self.protocol_box("lease", lease).await?;
                if l.v.consumer != *user {
                    return Err(not_yours("lease", lease, "consumer"));
                }
                let plan = run(&|e| build::dispute(c, &l, height, e))?;
                (plan, Some((0, "arbitration")))
            }
            Action::CancelLease {
                lease,
                provider_gpuc,
            } => {
                let l: Typed<Lease> = self.protocol_box("lease", lease).await?;
                let other = if l.v.consumer == *user {
                    l.v.provider.clone()
                } else if l.v.provider == *user {
                    l.v.consumer.clone()
                } else {
                    return Err(not_yours("lease", lease, "consumer or provider"));
                };
                if *provider_gpuc > l.v.amount {
                    return Err(TxError::input(
                        "provider-gpuc",
                        format!(
                            "{} GPUC is more than the lease holds ({} GPUC)",
                            format_units(*provider_gpuc, GPUC_DECIMALS),
                            format_units(l.v.amount, GPUC_DECIMALS)
                        ),
                    ));
                }
                cosigner = Some(other);
                (
                    run(&|e| build::cancel_lease(c, &l, *provider_gpuc, height, e))?,
                    None,
                )
            }
            Action::Finalise { lease } => {
                let l: Typed<Lease> = self.protocol_box("lease", lease).await?;
                (run(&|e| build::finalise(c, &l, height, e))?, None)
            }
            Action::Slash { lease } => {
                let l: Typed<Lease> = self.protocol_box("lease", lease).await?;
                (run(&|e| build::slash(c, &l, height, e))?, None)
            }
            Action::ArbitrationTimeout { arbitration } => {
                let a: Typed<Arbitration> = self.protocol_box("arbitration", arbitration).await?;
                (
                    run(&|e| build::arbitration_timeout(c, &a, height, e))?,
                    None,
                )
            }
            Action::ConvertRosen { deposit } => {
                let d: Typed<RosenDeposit> = self.protocol_box("deposit", deposit).await?;
                let m = self
                    .member("deposit", None, Some(&d.v.owner))
                    .await
                    .map_err(|e| match e {
                        TxError::Missing(m) => TxError::bx("deposit", hex_id(deposit), m),
                        other => other,
                    })?;
                let plan = run(&|e| build::convert_rosen(c, &d, &m, height, e))?;
                (plan, Some((0, "lets_member")))
            }
            Action::BridgeOut(b) => {
                let lock = b.lock_box(&address, height)?;
                let plan = run(&|e| {
                    let mut d = TxDraft::new(height);
                    d.outputs.push(lock.clone());
                    d.finish(e)
                })?;
                (plan, Some((0, "rosen_lock")))
            }
        };
        Ok(Planned {
            action: name,
            plan,
            created,
            cosigner,
        })
    }
}
