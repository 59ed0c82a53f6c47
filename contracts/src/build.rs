//! Pure transaction builders, one per user or bot action. Each takes typed boxes, the
//! deployment, the height the transaction is built for and the executor, and returns a
//! [`TxPlan`] whose protocol inputs and outputs sit at the indices PROTOCOL.md gives; the
//! executor's funding inputs follow the protocol inputs, its change and the miner fee follow
//! the protocol outputs. Each checks the script's conditions first, so that a transaction the
//! chain would refuse is an error here.

use ergo_lib::ergotree_ir::chain::ergo_box::{BoxId, ErgoBox, ErgoBoxCandidate};
use ergo_lib::ergotree_ir::chain::token::TokenId;
use ergo_lib::ergotree_ir::ergo_tree::ErgoTree;
use ergo_lib::ergotree_ir::mir::constant::Constant;
use ergo_lib::ergotree_ir::sigma_protocol::sigma_boolean::ProveDlog;

use crate::arbitration::Arbitration;
use crate::codec::{candidate, Typed};
use crate::lease::{path as lease_path, Lease, LeaseTerms};
use crate::lets_member::{
    debt_holdings_ok, fully_priced, healthy, within_payout, Member, Prices, MIN_TOP_UP_NANOERG,
};
use crate::lets_vault::{credit_for, Vault};
use crate::listing::Listing;
use crate::order::Order;
use crate::rosen_deposit::RosenDeposit;
use crate::trees::Contracts;
use crate::tx::{invalid, sel, sel_idx, BuildError, Executor, Spend, TxDraft, TxPlan};
use crate::util::{box_id_bytes, p2pk_tree, token_bytes, tokens, BLOCKS_PER_HOUR};

type Result<T> = std::result::Result<T, BuildError>;

fn spend(
    bx: &ErgoBox,
    ext: ergo_lib::ergotree_interpreter::sigma_protocol::prover::ContextExtension,
) -> Spend {
    Spend {
        bx: bx.clone(),
        ext,
    }
}

/// "Payout to `pk` of `gpuc`": P2PK box, R4 = id of the box it pays for, only token (GPUC, n).
pub fn payout(
    c: &Contracts,
    pk: &ProveDlog,
    for_box: &BoxId,
    gpuc: u64,
    value: u64,
    height: u32,
) -> Result<ErgoBoxCandidate> {
    Ok(candidate(
        "payout",
        p2pk_tree(pk),
        value,
        tokens(&[(c.params.gpuc_id, gpuc)]),
        vec![Constant::from(box_id_bytes(for_box))],
        height,
    )?)
}

/// Two payouts (provider first) whose ERG together is at least `floor` (= spent value − fee cap):
/// the provider's box gets its dust minimum, the consumer's the rest (the ERG came from them).
fn two_payouts(
    c: &Contracts,
    for_box: &BoxId,
    (provider, p_gpuc): (&ProveDlog, u64),
    (consumer, c_gpuc): (&ProveDlog, u64),
    floor: u64,
    height: u32,
) -> Result<Vec<ErgoBoxCandidate>> {
    let p = payout(c, provider, for_box, p_gpuc, 0, height)?;
    let rest = floor.saturating_sub(*p.value.as_u64());
    let q = payout(c, consumer, for_box, c_gpuc, rest, height)?;
    Ok(vec![p, q])
}

fn fee_floor(value: u64, cap: i64) -> u64 {
    value.saturating_sub(cap.max(0) as u64)
}

fn nonneg(x: i64, what: &str) -> Result<u64> {
    u64::try_from(x).map_err(|_| invalid(format!("{what} is negative")))
}

// ------------------------------------------------------------------------------ listing

/// Creates a listing; its NFT is minted with the id of the executor's first funding box
/// (the provider funds the box and the stake).
pub fn list_listing(
    c: &Contracts,
    listing: &Listing,
    height: u32,
    exec: &Executor,
) -> Result<TxPlan> {
    listing.check()?;
    let first = exec
        .funding
        .first()
        .ok_or_else(|| invalid("listing creation needs a funding box (its id is the NFT id)"))?;
    let l = Listing {
        nft: first.box_id().into(),
        ..listing.clone()
    };
    let mut d = TxDraft::new(height);
    d.outputs.push(l.to_candidate(c, height)?);
    d.finish(exec)
}

/// Provider path (sel 0): replaces the listing with `new` (terms, spec, stake, value); the NFT
/// carries over.
pub fn update_listing(
    c: &Contracts,
    cur: &Typed<Listing>,
    new: &Listing,
    height: u32,
    exec: &Executor,
) -> Result<TxPlan> {
    new.check()?;
    if new.nft != cur.v.nft {
        return Err(invalid("the update must keep the listing NFT"));
    }
    let mut d = TxDraft::new(height);
    d.inputs.push(spend(&cur.bx, sel(0)));
    d.outputs.push(new.to_candidate(c, height)?);
    d.finish(exec)
}

/// Provider path (sel 0): closes the listing, burns the NFT, the stake goes to the change.
pub fn withdraw_listing(
    c: &Contracts,
    cur: &Typed<Listing>,
    height: u32,
    exec: &Executor,
) -> Result<TxPlan> {
    let _ = c;
    let mut d = TxDraft::new(height);
    d.inputs.push(spend(&cur.bx, sel(0)));
    d.burn.push((cur.v.nft, 1));
    d.finish(exec)
}

// ------------------------------------------------------------------------------ order

/// Creates an order box (the consumer funds budget and ERG).
pub fn place_order(c: &Contracts, order: &Order, height: u32, exec: &Executor) -> Result<TxPlan> {
    order.check()?;
    if order.terms.expiry_height < height as i64 {
        return Err(invalid("order already expired"));
    }
    let mut d = TxDraft::new(height);
    d.outputs.push(order.to_candidate(c, height)?);
    d.finish(exec)
}

/// Consumer path (sel 0): budget and ERG go to the change.
pub fn cancel_order(
    c: &Contracts,
    order: &Typed<Order>,
    height: u32,
    exec: &Executor,
) -> Result<TxPlan> {
    let _ = c;
    let mut d = TxDraft::new(height);
    d.inputs.push(spend(&order.bx, sel(0)));
    d.finish(exec)
}

/// Checks that `listing` meets `order`'s requirements (what order.es checks of INPUTS(1)).
pub fn listing_meets(order: &Order, listing: &Listing) -> Result<()> {
    let (o, t) = (&order.terms, &listing.terms);
    if order.listing.is_some_and(|id| id != listing.nft) {
        return Err(invalid("the order names another listing"));
    }
    if order.model.as_ref().is_some_and(|m| *m != listing.model) {
        return Err(invalid("GPU model differs"));
    }
    if order.region.as_ref().is_some_and(|r| *r != listing.region) {
        return Err(invalid("region differs"));
    }
    if t.vram_mib < o.min_vram_mib
        || t.gpu_count < o.min_gpu_count
        || t.benchmark_score < o.min_benchmark_score
    {
        return Err(invalid("listing below the order's minimum spec"));
    }
    if t.price_per_hour > o.max_price_per_hour {
        return Err(invalid("listing price above the order's max price"));
    }
    if o.hours < t.min_hours || o.hours > t.max_hours {
        return Err(invalid("order hours outside the listing's range"));
    }
    crate::capacity::fits(&o.requests, &t.limits)
        .map_err(|e| invalid(format!("the order's job does not fit the listing: {e}")))?;
    Ok(())
}

/// Checks the busy rule for a match of `listing` in block `height`.
pub fn listing_free(listing: &Listing, height: u32) -> Result<()> {
    if !listing.free_at(height) {
        return Err(invalid(format!(
            "the listing is busy until height {} (R7 busyUntil): a lease of it is running",
            listing.busy_until.unwrap_or_default()
        )));
    }
    Ok(())
}

/// Match (order sel 1 at input 0, listing sel 1 at input 1): out
/// `[lease, listing', refund to consumer, change, fee]`. The lease starts at `height`; the
/// matcher keeps at most the order's `matcherFeeCap` of its ERG. The listing must be free at
/// `height`; its successor is busy until the lease's deadline.
pub fn match_order(
    c: &Contracts,
    order: &Typed<Order>,
    listing: &Typed<Listing>,
    height: u32,
    exec: &Executor,
) -> Result<TxPlan> {
    let (o, l) = (&order.v, &listing.v);
    o.check()?;
    l.check()?;
    if height as i64 > o.terms.expiry_height {
        return Err(invalid("order expired"));
    }
    listing_meets(o, l)?;
    listing_free(l, height)?;
    let hours = o.terms.hours;
    let price = l.terms.price_per_hour;
    let payment = price
        .checked_mul(hours)
        .ok_or_else(|| invalid("payment overflows"))?;
    let collateral = l
        .terms
        .collateral_per_hour
        .checked_mul(hours)
        .ok_or_else(|| invalid("collateral overflows"))?;
    let rest = (o.budget as i64)
        .checked_sub(payment)
        .filter(|r| *r >= 0)
        .ok_or_else(|| invalid("budget below payment"))?;
    let stake_left = (l.stake as i64)
        .checked_sub(collateral)
        .filter(|r| *r >= 0)
        .ok_or_else(|| invalid("listing stake below the collateral slice"))?;
    let start = height as i64;
    let terms = LeaseTerms {
        price_per_hour: price,
        hours,
        payment,
        collateral,
        start,
        deadline: start + hours * BLOCKS_PER_HOUR + c.params.deadline_grace,
        exec_fee_cap: o.terms.lease_exec_fee_cap,
        used_blocks: -1,
        completed_at: -1,
    };
    let refund = payout(c, &o.consumer, &order.bx.box_id(), rest as u64, 0, height)?;
    let lease_floor =
        fee_floor(o.value, o.terms.matcher_fee_cap).saturating_sub(*refund.value.as_u64());
    let lease = Lease {
        value: lease_floor,
        amount: (payment + collateral) as u64,
        consumer: o.consumer.clone(),
        provider: l.provider.clone(),
        terms,
        job_spec_hash: o.job_spec_hash.clone(),
        listing_nft: token_bytes(&l.nft),
        usage_commitment: vec![],
    };
    let succ = Listing {
        stake: stake_left as u64,
        busy_until: Some(lease.terms.deadline),
        ..l.clone()
    };
    let mut d = TxDraft::new(height);
    d.inputs.push(spend(&order.bx, sel(1)));
    d.inputs.push(spend(&listing.bx, sel(1)));
    d.outputs.push(lease.to_candidate(c, height)?);
    d.outputs.push(succ.to_candidate(c, height)?);
    d.outputs.push(refund);
    d.finish(exec)
}

// ------------------------------------------------------------------------------ lease

/// Blocks a completion built by a wallet or the worker may wait for inclusion: `completedAt` is
/// the build height plus this, and the script accepts the transaction while
/// `HEIGHT ≤ completedAt ≤ HEIGHT + 30` (a completion that names the build height itself is
/// void as soon as it misses its block).
pub const COMPLETION_SLACK: u32 = 10;

/// Provider path (sel 0): records completion at `height` with `used_blocks` and a 32-byte
/// usage commitment; the lease continues at output 0. Valid only in block `height`; see
/// [`complete_within`].
pub fn complete(
    c: &Contracts,
    lease: &Typed<Lease>,
    used_blocks: i64,
    usage_commitment: [u8; 32],
    height: u32,
    exec: &Executor,
) -> Result<TxPlan> {
    complete_within(c, lease, used_blocks, usage_commitment, height, 0, exec)
}

/// [`complete`] with `completedAt = height + slack` (slack ≤ 30): the transaction stays valid
/// from block `height` through block `height + slack` (and while `HEIGHT ≤ deadline`); the
/// challenge window starts at `completedAt`.
#[allow(clippy::too_many_arguments)]
pub fn complete_within(
    c: &Contracts,
    lease: &Typed<Lease>,
    used_blocks: i64,
    usage_commitment: [u8; 32],
    height: u32,
    slack: u32,
    exec: &Executor,
) -> Result<TxPlan> {
    if slack > 30 {
        return Err(invalid(
            "completion slack above 30 blocks (the script's bound)",
        ));
    }
    let t = &lease.v.terms;
    if t.completed() {
        return Err(invalid("lease already completed"));
    }
    if height as i64 > t.deadline {
        return Err(invalid("past the lease deadline"));
    }
    if used_blocks < 0 || used_blocks > t.max_used_blocks(height) {
        return Err(invalid(
            "used blocks outside [0, min(hours×30, blocks since the start)]",
        ));
    }
    let done = Lease {
        terms: LeaseTerms {
            used_blocks,
            completed_at: height as i64 + slack as i64,
            ..*t
        },
        usage_commitment: usage_commitment.to_vec(),
        ..lease.v.clone()
    };
    let mut d = TxDraft::new(height);
    d.inputs.push(spend(&lease.bx, sel(lease_path::COMPLETE)));
    d.outputs.push(done.to_candidate(c, height)?);
    d.finish(exec)
}

fn settle(
    c: &Contracts,
    lease: &Typed<Lease>,
    path: i8,
    height: u32,
    exec: &Executor,
) -> Result<TxPlan> {
    let l = &lease.v;
    let t = &l.terms;
    if !t.completed() {
        return Err(invalid("lease not completed"));
    }
    let to_provider = nonneg(t.pay() + t.collateral, "provider share")?;
    let to_consumer = l
        .amount
        .checked_sub(to_provider)
        .ok_or_else(|| invalid("lease holds less than pay + collateral"))?;
    let mut d = TxDraft::new(height);
    d.inputs.push(spend(&lease.bx, sel(path)));
    d.outputs = two_payouts(
        c,
        &lease.bx.box_id(),
        (&l.provider, to_provider),
        (&l.consumer, to_consumer),
        fee_floor(l.value, t.exec_fee_cap),
        height,
    )?;
    d.finish(exec)
}

/// Anyone (sel 1), after the challenge window: provider gets pay + collateral, consumer the
/// rest; the executor keeps up to the lease's execFeeCap of its ERG.
pub fn finalise(
    c: &Contracts,
    lease: &Typed<Lease>,
    height: u32,
    exec: &Executor,
) -> Result<TxPlan> {
    let t = &lease.v.terms;
    if t.completed() && (height as i64) <= t.completed_at + c.params.challenge_window {
        return Err(invalid("inside the challenge window"));
    }
    settle(c, lease, lease_path::FINALISE, height, exec)
}

/// Consumer path (sel 2): the finalise outputs at any height after completion.
pub fn accept(c: &Contracts, lease: &Typed<Lease>, height: u32, exec: &Executor) -> Result<TxPlan> {
    settle(c, lease, lease_path::ACCEPT, height, exec)
}

/// Consumer path (sel 3), inside the challenge window: the lease becomes an arbitration box.
pub fn dispute(
    c: &Contracts,
    lease: &Typed<Lease>,
    height: u32,
    exec: &Executor,
) -> Result<TxPlan> {
    let l = &lease.v;
    let t = &l.terms;
    if !t.completed() || height as i64 > t.completed_at + c.params.challenge_window {
        return Err(invalid(
            "dispute only inside the challenge window of a completed lease",
        ));
    }
    let arb = Arbitration {
        value: l.value,
        amount: l.amount,
        consumer: l.consumer.clone(),
        provider: l.provider.clone(),
        payment: t.payment,
        collateral: t.collateral,
        claimed_pay: t.pay(),
        exec_fee_cap: t.exec_fee_cap,
        timeout: height as i64 + c.params.arb_timeout,
        lease_id: box_id_bytes(&lease.bx.box_id()),
    };
    let mut d = TxDraft::new(height);
    d.inputs.push(spend(&lease.bx, sel(lease_path::DISPUTE)));
    d.outputs.push(arb.to_candidate(c, height)?);
    d.finish(exec)
}

/// Anyone (sel 4), after the deadline of an uncompleted lease: all GPUC to the consumer.
pub fn slash(c: &Contracts, lease: &Typed<Lease>, height: u32, exec: &Executor) -> Result<TxPlan> {
    let l = &lease.v;
    if l.terms.completed() || height as i64 <= l.terms.deadline {
        return Err(invalid(
            "slash only after the deadline of an uncompleted lease",
        ));
    }
    let mut d = TxDraft::new(height);
    d.inputs.push(spend(&lease.bx, sel(lease_path::SLASH)));
    d.outputs.push(payout(
        c,
        &l.consumer,
        &lease.bx.box_id(),
        l.amount,
        fee_floor(l.value, l.terms.exec_fee_cap),
        height,
    )?);
    d.finish(exec)
}

/// Both parties sign (sel 5): `provider_gpuc` to the provider, the rest to the consumer.
pub fn cancel_lease(
    c: &Contracts,
    lease: &Typed<Lease>,
    provider_gpuc: u64,
    height: u32,
    exec: &Executor,
) -> Result<TxPlan> {
    let l = &lease.v;
    let to_consumer = l
        .amount
        .checked_sub(provider_gpuc)
        .ok_or_else(|| invalid("provider share above the lease's GPUC"))?;
    let mut d = TxDraft::new(height);
    d.inputs.push(spend(&lease.bx, sel(lease_path::CANCEL)));
    d.outputs = two_payouts(
        c,
        &lease.bx.box_id(),
        (&l.provider, provider_gpuc),
        (&l.consumer, to_consumer),
        fee_floor(l.value, l.terms.exec_fee_cap),
        height,
    )?;
    d.finish(exec)
}

// ------------------------------------------------------------------------------ arbitration

fn split(
    c: &Contracts,
    arb: &Typed<Arbitration>,
    path: i8,
    x: u64,
    height: u32,
    exec: &Executor,
) -> Result<TxPlan> {
    let a = &arb.v;
    let rest = a
        .amount
        .checked_sub(x)
        .ok_or_else(|| invalid("provider share above the disputed GPUC"))?;
    let mut d = TxDraft::new(height);
    d.inputs.push(spend(&arb.bx, sel(path)));
    d.outputs = two_payouts(
        c,
        &arb.bx.box_id(),
        (&a.provider, x),
        (&a.consumer, rest),
        fee_floor(a.value, a.exec_fee_cap),
        height,
    )?;
    d.finish(exec)
}

/// Committee decision (sel 0, k of n sign): `provider_gpuc` to the provider, the rest to the
/// consumer.
pub fn arbitrate(
    c: &Contracts,
    arb: &Typed<Arbitration>,
    provider_gpuc: u64,
    height: u32,
    exec: &Executor,
) -> Result<TxPlan> {
    split(c, arb, 0, provider_gpuc, height, exec)
}

/// Anyone (sel 1) after the timeout: collateral back to the provider, payment to the consumer.
pub fn arbitration_timeout(
    c: &Contracts,
    arb: &Typed<Arbitration>,
    height: u32,
    exec: &Executor,
) -> Result<TxPlan> {
    if height as i64 <= arb.v.timeout {
        return Err(invalid("arbitration has not timed out"));
    }
    let x = nonneg(arb.v.collateral, "collateral")?;
    split(c, arb, 1, x, height, exec)
}

// ------------------------------------------------------------------------------ LETS

/// The pool boxes among `oracles` a transaction on an account holding `held` needs: the ERG/USD
/// pool and the pools of the assets held (distinct boxes, in the given order). Others would only
/// cost the script a longer fold.
fn pool_boxes(c: &Contracts, oracles: &[ErgoBox], held: &[(TokenId, u64)]) -> Vec<ErgoBox> {
    let p = &c.params;
    let needed = |nft: &TokenId| {
        *nft == p.oracle_pool_nft
            || held
                .iter()
                .any(|(id, _)| p.asset_by_id(id).is_some_and(|a| a.pool_nft == *nft))
    };
    let mut out: Vec<ErgoBox> = Vec::new();
    for o in oracles {
        let nft = o.tokens.as_ref().map(|t| t.first().token_id);
        if nft.is_some_and(|n| needed(&n)) && !out.iter().any(|b| b.box_id() == o.box_id()) {
            out.push(o.clone());
        }
    }
    out
}

/// Checks a list of (asset, amount) for a member: listed, no id twice.
fn listed_assets(c: &Contracts, assets: &[(TokenId, u64)]) -> Result<()> {
    for (i, (id, _)) in assets.iter().enumerate() {
        if c.params.asset_by_id(id).is_none() {
            return Err(invalid(format!(
                "token {} is not a listed collateral asset",
                hex::encode(id.as_ref())
            )));
        }
        if assets[..i].iter().any(|(o, _)| o == id) {
            return Err(invalid("an asset is listed twice"));
        }
    }
    Ok(())
}

/// `m` with `add` added to its assets.
fn with_assets(c: &Contracts, m: &Member, add: &[(TokenId, u64)]) -> Result<Member> {
    listed_assets(c, add)?;
    let mut out = m.clone();
    for (id, n) in add {
        let total = m
            .amount(id)
            .checked_add(*n)
            .filter(|t| *t <= i64::MAX as u64)
            .ok_or_else(|| invalid("asset amount overflows"))?;
        out.set_amount(&c.params, *id, total);
    }
    Ok(out)
}

/// Vault join (sel 1): a new member (balance 0) for `owner` with the given ERG and listed-asset
/// collateral, funded by the executor. Out `[vault', member, change, fee]`.
pub fn join(
    c: &Contracts,
    vault: &Typed<Vault>,
    owner: &ProveDlog,
    collateral_erg: u64,
    assets: &[(TokenId, u64)],
    height: u32,
    exec: &Executor,
) -> Result<TxPlan> {
    let v = &vault.v;
    if v.stock < 2 {
        return Err(invalid("vault membership stock exhausted"));
    }
    let empty = Member {
        value: collateral_erg,
        assets: vec![],
        balance: 0,
        owner: owner.clone(),
    };
    let member = with_assets(c, &empty, assets)?;
    let mut d = TxDraft::new(height);
    d.inputs.push(spend(&vault.bx, sel(1)));
    d.outputs.push(
        Vault {
            stock: v.stock - 1,
            ..v.clone()
        }
        .to_candidate(c, height)?,
    );
    d.outputs.push(member.to_candidate(c, height)?);
    d.finish(exec)
}

/// Whether adding `add_erg` and `add` is a top-up the script takes from anyone (at least 0.01
/// ERG or one asset's `min_top_up`).
pub fn top_up_enough(c: &Contracts, add_erg: u64, add: &[(TokenId, u64)]) -> bool {
    add_erg >= MIN_TOP_UP_NANOERG
        || add
            .iter()
            .any(|(id, n)| c.params.asset_by_id(id).is_some_and(|a| *n >= a.min_top_up))
}

/// Anyone (sel 3, var 1 = 0): adds ERG and/or listed-asset collateral; balance unchanged. An
/// account in debt takes only assets priced by the given pool boxes: see [`top_up_priced`].
pub fn top_up(
    c: &Contracts,
    member: &Typed<Member>,
    add_erg: u64,
    add: &[(TokenId, u64)],
    height: u32,
    exec: &Executor,
) -> Result<TxPlan> {
    top_up_priced(c, member, add_erg, add, &[], height, exec)
}

/// [`top_up`] with the `oracles` that price the assets added to an account in debt (data inputs).
pub fn top_up_priced(
    c: &Contracts,
    member: &Typed<Member>,
    add_erg: u64,
    add: &[(TokenId, u64)],
    oracles: &[ErgoBox],
    height: u32,
    exec: &Executor,
) -> Result<TxPlan> {
    let m = &member.v;
    if !top_up_enough(c, add_erg, add) {
        // the script refuses a no-op or dust re-spend (anyone could grief the owner with it)
        return Err(invalid(
            "a top-up must add at least 0.01 ERG or an asset's minimum top-up",
        ));
    }
    let mut next = with_assets(c, m, add)?;
    next.value = m
        .value
        .checked_add(add_erg)
        .ok_or_else(|| invalid("value overflows"))?;
    let prices = Prices::read(&c.params, oracles, height);
    debt_holdings_ok(&c.params, &prices, m, &next).map_err(invalid)?;
    let mut d = TxDraft::new(height);
    d.inputs.push(spend(&member.bx, sel_idx(3, 0)));
    if m.balance < 0 && !add.is_empty() {
        let gained: Vec<(TokenId, u64)> = add.to_vec();
        d.data_inputs.extend(pool_boxes(c, oracles, &gained));
    }
    d.outputs.push(next.to_candidate(c, height)?);
    d.finish(exec)
}

/// Owner path (sel 0, var 1 = 0): takes `erg` nanoERG and `assets` of collateral out of the
/// account to the change; the account must stay healthy at the `oracles`' prices.
/// Out `[member', change, fee]`.
pub fn withdraw_collateral(
    c: &Contracts,
    member: &Typed<Member>,
    erg: u64,
    assets: &[(TokenId, u64)],
    oracles: &[ErgoBox],
    height: u32,
    exec: &Executor,
) -> Result<TxPlan> {
    let m = &member.v;
    listed_assets(c, assets)?;
    let mut next = m.clone();
    next.value = m
        .value
        .checked_sub(erg)
        .ok_or_else(|| invalid("taking more ERG than the account holds"))?;
    for (id, n) in assets {
        let left = m
            .amount(id)
            .checked_sub(*n)
            .ok_or_else(|| invalid("taking more of an asset than the account holds"))?;
        next.set_amount(&c.params, *id, left);
    }
    let prices = Prices::read(&c.params, oracles, height);
    if !next.healthy(&c.params, &prices) {
        return Err(invalid(
            "the account would be under-collateralised at the given oracle prices",
        ));
    }
    debt_holdings_ok(&c.params, &prices, m, &next).map_err(invalid)?;
    let mut d = TxDraft::new(height);
    d.inputs.push(spend(&member.bx, sel_idx(0, 0)));
    d.data_inputs.extend(pool_boxes(c, oracles, &m.assets));
    let succ = next.to_candidate(c, height)?;
    if *succ.value.as_u64() != next.value {
        return Err(invalid("the member box would fall below its dust minimum"));
    }
    d.outputs.push(succ);
    d.finish(exec)
}

fn vault_flow(
    c: &Contracts,
    vault: &Typed<Vault>,
    member: &Typed<Member>,
    delta: i64,
    oracles: &[ErgoBox],
    height: u32,
) -> Result<TxDraft> {
    let (v, m) = (&vault.v, &member.v);
    if delta == 0 {
        return Err(invalid("amount must be > 0"));
    }
    let reserve = (v.reserve as i64)
        .checked_add(delta)
        .filter(|r| *r > 0)
        .ok_or_else(|| invalid("the vault reserve cannot cover the withdrawal"))?;
    let balance = m
        .balance
        .checked_add(delta)
        .ok_or_else(|| invalid("balance overflows"))?;
    let prices = Prices::read(&c.params, oracles, height);
    if !healthy(&c.params, &prices, balance, m.value, &m.assets) {
        return Err(invalid("the account would be under-collateralised"));
    }
    let next = Member {
        balance,
        ..m.clone()
    };
    debt_holdings_ok(&c.params, &prices, m, &next).map_err(invalid)?;
    let mut d = TxDraft::new(height);
    d.inputs.push(spend(&vault.bx, sel(0)));
    d.inputs.push(spend(&member.bx, sel_idx(0, 1)));
    d.data_inputs.extend(pool_boxes(c, oracles, &m.assets));
    d.outputs.push(
        Vault {
            reserve: reserve as u64,
            ..v.clone()
        }
        .to_candidate(c, height)?,
    );
    d.outputs.push(
        Member {
            balance,
            ..m.clone()
        }
        .to_candidate(c, height)?,
    );
    Ok(d)
}

/// Owner path (member sel 0 at input 1, vault sel 0 at input 0): takes `amount` mGPUC from the
/// vault into a box guarded by `recipient`; the balance falls by `amount` and must stay healthy
/// (the `oracles` — the ERG/USD pool and the pools of the assets held — are needed when it ends
/// negative). Out `[vault', member', recipient, change, fee]`.
#[allow(clippy::too_many_arguments)]
pub fn withdraw(
    c: &Contracts,
    vault: &Typed<Vault>,
    member: &Typed<Member>,
    amount: u64,
    oracles: &[ErgoBox],
    recipient: &ErgoTree,
    height: u32,
    exec: &Executor,
) -> Result<TxPlan> {
    let amt = i64::try_from(amount).map_err(|_| invalid("amount too large"))?;
    let mut d = vault_flow(c, vault, member, -amt, oracles, height)?;
    d.outputs.push(candidate(
        "recipient",
        recipient.clone(),
        0,
        tokens(&[(c.params.gpuc_id, amount)]),
        vec![],
        height,
    )?);
    d.finish(exec)
}

/// Owner path: pays `amount` mGPUC (from the executor's funding) into the vault; the balance
/// rises by the same amount. Out `[vault', member', change, fee]`.
pub fn deposit(
    c: &Contracts,
    vault: &Typed<Vault>,
    member: &Typed<Member>,
    amount: u64,
    oracles: &[ErgoBox],
    height: u32,
    exec: &Executor,
) -> Result<TxPlan> {
    let amt = i64::try_from(amount).map_err(|_| invalid("amount too large"))?;
    vault_flow(c, vault, member, amt, oracles, height)?.finish(exec)
}

/// Payer's owner path (sel 0, var 1 = 0) and payee's receive path (sel 2): moves `amount`
/// mGPUC of credit. Out `[payer', payee', change, fee]`.
#[allow(clippy::too_many_arguments)]
pub fn transfer(
    c: &Contracts,
    payer: &Typed<Member>,
    payee: &Typed<Member>,
    amount: u64,
    oracles: &[ErgoBox],
    height: u32,
    exec: &Executor,
) -> Result<TxPlan> {
    let amt = i64::try_from(amount)
        .ok()
        .filter(|a| *a > 0)
        .ok_or_else(|| invalid("amount must be > 0"))?;
    let (p, q) = (&payer.v, &payee.v);
    let pb = p
        .balance
        .checked_sub(amt)
        .ok_or_else(|| invalid("balance overflows"))?;
    let qb = q
        .balance
        .checked_add(amt)
        .ok_or_else(|| invalid("balance overflows"))?;
    let prices = Prices::read(&c.params, oracles, height);
    if !healthy(&c.params, &prices, pb, p.value, &p.assets) {
        return Err(invalid("the payer would be under-collateralised"));
    }
    let next = Member {
        balance: pb,
        ..p.clone()
    };
    debt_holdings_ok(&c.params, &prices, p, &next).map_err(invalid)?;
    let mut d = TxDraft::new(height);
    d.inputs.push(spend(&payer.bx, sel_idx(0, 0)));
    d.inputs.push(spend(&payee.bx, sel(2)));
    d.data_inputs.extend(pool_boxes(c, oracles, &p.assets));
    d.outputs.push(
        Member {
            balance: pb,
            ..p.clone()
        }
        .to_candidate(c, height)?,
    );
    d.outputs.push(
        Member {
            balance: qb,
            ..q.clone()
        }
        .to_candidate(c, height)?,
    );
    d.finish(exec)
}

/// Anyone (vault sel 0, member sel 4): repays `repay` mGPUC of an unhealthy member's debt into
/// the vault (from the executor's funding) and takes `take_erg` nanoERG and `take` of its listed
/// assets, within LIQ_PAYOUT_PCT of the repaid value. `oracles` must price the ERG/USD rate and
/// every asset the account holds.
#[allow(clippy::too_many_arguments)]
pub fn liquidate(
    c: &Contracts,
    vault: &Typed<Vault>,
    member: &Typed<Member>,
    repay: u64,
    take_erg: u64,
    take: &[(TokenId, u64)],
    oracles: &[ErgoBox],
    height: u32,
    exec: &Executor,
) -> Result<TxPlan> {
    let (v, m) = (&vault.v, &member.v);
    let p = &c.params;
    let prices = Prices::read(p, oracles, height);
    if !fully_priced(p, &prices, &m.assets) {
        return Err(invalid(
            "the oracles do not price the ERG/USD rate and every asset the account holds (fresh pool boxes)",
        ));
    }
    if m.healthy(p, &prices) {
        return Err(invalid("the account is healthy"));
    }
    let r = i64::try_from(repay)
        .ok()
        .filter(|r| *r > 0 && m.balance + r <= 0)
        .ok_or_else(|| invalid("repay must be in (0, debt]"))?;
    listed_assets(c, take)?;
    if !within_payout(p, &prices, r, take_erg, take) {
        return Err(invalid(
            "taking more collateral than the liquidation discount allows",
        ));
    }
    let mut next = m.clone();
    next.balance = m.balance + r;
    next.value = m
        .value
        .checked_sub(take_erg)
        .ok_or_else(|| invalid("taking more ERG than the account holds"))?;
    for (id, n) in take {
        let left = m
            .amount(id)
            .checked_sub(*n)
            .ok_or_else(|| invalid("taking more of an asset than the account holds"))?;
        next.set_amount(p, *id, left);
    }
    let mut d = TxDraft::new(height);
    d.inputs.push(spend(&vault.bx, sel(0)));
    d.inputs.push(spend(&member.bx, sel(4)));
    d.data_inputs.extend(pool_boxes(c, oracles, &m.assets));
    d.outputs.push(
        Vault {
            reserve: v.reserve + repay,
            ..v.clone()
        }
        .to_candidate(c, height)?,
    );
    let succ = next.to_candidate(c, height)?;
    if *succ.value.as_u64() != next.value {
        return Err(invalid("the member box would fall below its dust minimum"));
    }
    d.outputs.push(succ);
    d.finish(exec)
}

/// Owner path (sel 1): closes a zero-balance account, burning the membership token; the
/// collateral goes to the change.
pub fn close_member(
    c: &Contracts,
    member: &Typed<Member>,
    height: u32,
    exec: &Executor,
) -> Result<TxPlan> {
    if member.v.balance != 0 {
        return Err(invalid("only a zero balance can be closed"));
    }
    let mut d = TxDraft::new(height);
    d.inputs.push(spend(&member.bx, sel(1)));
    d.burn.push((c.params.membership_id, 1));
    d.finish(exec)
}

/// Anyone (the relay): member top-up (sel 3, var 1 = 0) at input 0 and the deposit (sel 1) at
/// input 1; the member gains the deposit's ERG less MAX_RELAY_FEE and all its listed assets.
pub fn convert_rosen(
    c: &Contracts,
    deposit: &Typed<RosenDeposit>,
    member: &Typed<Member>,
    height: u32,
    exec: &Executor,
) -> Result<TxPlan> {
    let (r, m) = (&deposit.v, &member.v);
    if r.owner != m.owner {
        return Err(invalid("the member account is not the deposit owner's"));
    }
    if m.balance < 0 {
        // the script refuses: anyone could otherwise feed an abandoned account in debt and
        // liquidate it at the discount
        return Err(invalid(
            "the owner's account is in debt: only the owner converts into it (their key)",
        ));
    }
    let assets = r.convertible_assets(c).ok_or_else(|| {
        invalid("the deposit holds a token that is not a listed collateral asset")
    })?;
    let add = r.value.saturating_sub(c.params.max_relay_fee.max(0) as u64);
    if !top_up_enough(c, add, &assets) {
        return Err(invalid(
            "the deposit is below the least a top-up may add (0.01 ERG after the relay fee, or an asset's minimum top-up)",
        ));
    }
    let mut next = with_assets(c, m, &assets)?;
    next.value = m
        .value
        .checked_add(add)
        .ok_or_else(|| invalid("value overflows"))?;
    let mut d = TxDraft::new(height);
    d.inputs.push(spend(&member.bx, sel_idx(3, 0)));
    d.inputs.push(spend(&deposit.bx, sel(1)));
    d.outputs.push(next.to_candidate(c, height)?);
    d.finish(exec)
}

/// The credit draft shared by [`buy_credit`] and [`convert_rosen_credit`]: vault credit path
/// (sel 2) at input 0, the member's credited path (sel 5) at input 1; the vault takes `gained`
/// into its stable reserve and the member's balance rises by [`credit_for`] at the `oracles`'
/// prices. Out `[vault', member' (+ `add_erg`)]`.
fn credit_draft(
    c: &Contracts,
    vault: &Typed<Vault>,
    member: &Typed<Member>,
    gained: &[(TokenId, u64)],
    add_erg: u64,
    oracles: &[ErgoBox],
    height: u32,
) -> Result<(TxDraft, i64)> {
    let (v, m) = (&vault.v, &member.v);
    let p = &c.params;
    for (id, _) in gained {
        if p.credit_asset(id).is_none() {
            return Err(invalid(format!(
                "token {} is not an asset the vault takes for credit",
                hex::encode(id.as_ref())
            )));
        }
    }
    let prices = Prices::read(p, oracles, height);
    let credit = credit_for(p, &prices, gained).ok_or_else(|| {
        invalid(
            "no credit: the oracles must price the ERG/USD rate and each asset (fresh pool boxes) \
             with the asset on its peg (its pool at credit_peg_floor_pct of $1 or more), and the \
             amount must be worth at least 1 GPUC",
        )
    })?;
    let balance = m
        .balance
        .checked_add(credit)
        .ok_or_else(|| invalid("balance overflows"))?;
    let next_vault = v
        .with_stable(gained)
        .ok_or_else(|| invalid("the vault's stable reserve overflows"))?;
    let mut d = TxDraft::new(height);
    d.inputs.push(spend(&vault.bx, sel(2)));
    d.inputs.push(spend(&member.bx, sel(5)));
    d.data_inputs.extend(pool_boxes(c, oracles, gained));
    d.outputs.push(next_vault.to_candidate(c, height)?);
    d.outputs.push(
        Member {
            balance,
            value: m
                .value
                .checked_add(add_erg)
                .ok_or_else(|| invalid("value overflows"))?,
            ..m.clone()
        }
        .to_candidate(c, height)?,
    );
    Ok((d, credit))
}

/// Anyone (vault sel 2, member sel 5): the executor's `assets` (stable assets the vault takes
/// for credit, e.g. rsUSDT) go into the vault's stable reserve and the member's balance rises by
/// their value at the `oracles`' prices, in GPUC ([`credit_for`]). Returns the plan and the
/// credit in mGPUC. Out `[vault', member', change, fee]`.
pub fn buy_credit(
    c: &Contracts,
    vault: &Typed<Vault>,
    member: &Typed<Member>,
    assets: &[(TokenId, u64)],
    oracles: &[ErgoBox],
    height: u32,
    exec: &Executor,
) -> Result<(TxPlan, i64)> {
    listed_assets(c, assets)?;
    let (d, credit) = credit_draft(c, vault, member, assets, 0, oracles, height)?;
    Ok((d.finish(exec)?, credit))
}

/// Anyone (the relay): a Rosen deposit of stable assets (every token one the vault takes for
/// credit) becomes GPUC credit in its owner's account at the oracle's price, and its ERG less
/// MAX_RELAY_FEE collateral: vault sel 2 at input 0, member sel 5 at input 1, deposit sel 2 at
/// input 2. Any balance (credit only raises it). Out `[vault', member', change, fee]`.
pub fn convert_rosen_credit(
    c: &Contracts,
    vault: &Typed<Vault>,
    deposit: &Typed<RosenDeposit>,
    member: &Typed<Member>,
    oracles: &[ErgoBox],
    height: u32,
    exec: &Executor,
) -> Result<(TxPlan, i64)> {
    let (r, m) = (&deposit.v, &member.v);
    if r.owner != m.owner {
        return Err(invalid("the member account is not the deposit owner's"));
    }
    let assets = r.credit_assets(c).ok_or_else(|| {
        invalid("the deposit holds a token the vault does not take for credit (convert it as collateral)")
    })?;
    let add = r.value.saturating_sub(c.params.max_relay_fee.max(0) as u64);
    let (mut d, credit) = credit_draft(c, vault, member, &assets, add, oracles, height)?;
    d.inputs.push(spend(&deposit.bx, sel(2)));
    Ok((d.finish(exec)?, credit))
}
