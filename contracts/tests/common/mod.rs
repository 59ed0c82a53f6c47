//! Test harness: a devnet deployment, keys, boxes "already on chain", a hand-built state
//! context, signing (inputs the wallet cannot prove get an empty proof, like a P2S spend) and
//! full validation with ergo-lib.
#![allow(dead_code)]

pub mod xcheck;

use std::cell::Cell;

use dgcm_contracts::arbitration::Arbitration;
use dgcm_contracts::lease::{Lease, LeaseTerms};
use dgcm_contracts::lets_member::Member;
use dgcm_contracts::lets_vault::Vault;
use dgcm_contracts::listing::{Listing, ListingTerms};
use dgcm_contracts::order::{Order, OrderTerms};
use dgcm_contracts::rosen_deposit::RosenDeposit;
use dgcm_contracts::trees::devnet_secret;
use dgcm_contracts::tx::TxDraft;
use dgcm_contracts::util::{blake2b256, p2pk_tree, token_id, tokens};
use dgcm_contracts::{BoxKind, Contracts, Executor, ProtocolParams, TxPlan, Typed};
use ergo_lib::chain::ergo_state_context::ErgoStateContext;
use ergo_lib::chain::parameters::Parameters;
use ergo_lib::chain::transaction::unsigned::UnsignedTransaction;
use ergo_lib::chain::transaction::{Input, Transaction};
use ergo_lib::ergo_chain_types::{
    ec_point, ADDigest, AutolykosSolution, BlockId, Digest32, Header, PreHeader, Votes,
};
use ergo_lib::ergotree_interpreter::sigma_protocol::prover::ProofBytes;
use ergo_lib::ergotree_ir::chain::ergo_box::box_value::BoxValue;
use ergo_lib::ergotree_ir::chain::ergo_box::{
    ErgoBox, ErgoBoxCandidate, NonMandatoryRegisterId, NonMandatoryRegisters,
};
use ergo_lib::ergotree_ir::chain::token::TokenId;
use ergo_lib::ergotree_ir::chain::tx_id::TxId;
use ergo_lib::ergotree_ir::ergo_tree::ErgoTree;
use ergo_lib::ergotree_ir::mir::constant::{Constant, TryExtractInto};
use ergo_lib::ergotree_ir::sigma_protocol::sigma_boolean::ProveDlog;
use ergo_lib::wallet::secret_key::SecretKey;
use ergo_lib::wallet::signing::TransactionContext;
use ergo_lib::wallet::tx_context::TransactionContextError;
use ergo_lib::wallet::Wallet;

pub const H: u32 = 1_000_000;
pub const FEE: u64 = 1_100_000;
pub const ERG: u64 = 1_000_000_000;

pub fn sk(tag: &str) -> SecretKey {
    SecretKey::dlog_from_bytes(&devnet_secret(tag)).expect("scalar")
}

pub fn pk(tag: &str) -> ProveDlog {
    match sk(tag) {
        SecretKey::DlogSecretKey(d) => d.public_image(),
        _ => unreachable!(),
    }
}

pub fn wallet(tags: &[&str]) -> Wallet {
    Wallet::from_secrets(tags.iter().map(|t| sk(t)).collect())
}

/// Everyone who may sign in these tests (attacks on signed paths are the signer's own).
pub fn everyone() -> Wallet {
    wallet(&[
        "consumer", "provider", "owner", "other", "exec", "arb1", "arb2",
    ])
}

thread_local! {
    static SEQ: Cell<u64> = const { Cell::new(0) };
}

/// A box "already on chain" from a candidate (unique tx id per call).
pub fn on_chain(c: &ErgoBoxCandidate) -> ErgoBox {
    let n = SEQ.with(|s| {
        s.set(s.get() + 1);
        s.get()
    });
    let tx = TxId(Digest32::from(blake2b256(
        format!("test-tx-{n}").as_bytes(),
    )));
    let mut c = c.clone();
    c.creation_height = H - 1000;
    ErgoBox::from_box_candidate(&c, tx, 0).expect("box")
}

pub fn p2pk_box(owner: &str, value: u64, toks: &[(TokenId, u64)]) -> ErgoBox {
    on_chain(&ErgoBoxCandidate {
        value: BoxValue::new(value).unwrap(),
        ergo_tree: p2pk_tree(&pk(owner)),
        tokens: tokens(toks),
        additional_registers: NonMandatoryRegisters::empty(),
        creation_height: H - 1000,
    })
}

pub fn exec_of(who: &str, value: u64, toks: &[(TokenId, u64)]) -> Executor {
    Executor {
        funding: vec![p2pk_box(who, value, toks)],
        change: p2pk_tree(&pk(who)),
        fee: FEE,
    }
}

pub fn header(height: u32) -> Header {
    Header {
        version: 3,
        id: BlockId(Digest32::from(blake2b256(&height.to_be_bytes()))),
        parent_id: BlockId(Digest32::zero()),
        ad_proofs_root: Digest32::zero(),
        state_root: ADDigest::zero(),
        transaction_root: Digest32::zero(),
        timestamp: 1_700_000_000_000 + height as u64,
        n_bits: 100_734_821,
        height,
        extension_root: Digest32::zero(),
        autolykos_solution: AutolykosSolution {
            miner_pk: Box::new(ec_point::generator()),
            pow_onetime_pk: None,
            nonce: vec![0; 8],
            pow_distance: None,
        },
        votes: Votes([0, 0, 0]),
    }
}

/// State context for a block at `height`.
pub fn ctx(height: u32) -> ErgoStateContext {
    let headers: [Header; 10] = std::array::from_fn(|i| header(height - 1 - i as u32));
    let mut pre = PreHeader::from(header(height));
    pre.height = height;
    ErgoStateContext::new(pre, headers, Parameters::default())
}

#[derive(Debug)]
pub enum Verdict {
    Valid,
    /// The script of this input did not hold (reduced to false, or its proof failed).
    Script(usize, String),
    Other(String),
}

/// Signs what `w` can sign (everything else gets an empty proof) and validates at `height`.
/// With `DGCM_XCHECK_DIR` set, also records the case for the reference interpreter ([`xcheck`]).
pub fn verdict(
    tx: &UnsignedTransaction,
    inputs: &[ErgoBox],
    data: &[ErgoBox],
    w: &Wallet,
    height: u32,
) -> Verdict {
    let state = ctx(height);
    let (v, signed) = validate(tx, inputs, data, w, &state);
    if let Some(dir) = xcheck::dir() {
        xcheck::record(&dir, tx, inputs, data, signed.as_ref(), &state, height, &v);
    }
    v
}

fn validate(
    tx: &UnsignedTransaction,
    inputs: &[ErgoBox],
    data: &[ErgoBox],
    w: &Wallet,
    state: &ErgoStateContext,
) -> (Verdict, Option<Transaction>) {
    let tcx = |t: UnsignedTransaction| -> Result<TransactionContext<UnsignedTransaction>, TransactionContextError> {
        TransactionContext::new(t, inputs.to_vec(), data.to_vec())
    };
    let mut signed: Vec<Input> = vec![];
    for (i, ui) in tx.inputs.iter().enumerate() {
        let tc = match tcx(tx.clone()) {
            Ok(t) => t,
            Err(e) => return (Verdict::Other(format!("context: {e}")), None),
        };
        signed.push(match w.sign_tx_input(i, tc, state, None) {
            Ok(inp) => inp,
            Err(_) => Input::from_unsigned_input(ui.clone(), ProofBytes::Empty),
        });
    }
    let data_ids = tx
        .data_inputs
        .as_ref()
        .map(|d| d.clone().to_vec())
        .unwrap_or_default();
    let stx =
        match Transaction::new_from_vec(signed, data_ids, tx.output_candidates.clone().to_vec()) {
            Ok(t) => t,
            Err(e) => return (Verdict::Other(format!("tx: {e}")), None),
        };
    let vcx = match TransactionContext::new(stx.clone(), inputs.to_vec(), data.to_vec()) {
        Ok(t) => t,
        Err(e) => return (Verdict::Other(format!("context: {e}")), Some(stx)),
    };
    use ergo_lib::chain::transaction::ergo_transaction::TxValidationError as E;
    let v = match vcx.validate(state) {
        Ok(()) => Verdict::Valid,
        Err(E::ReducedToFalse(i, _)) => Verdict::Script(i, "reduced to false".into()),
        Err(E::VerifierError(i, e)) => Verdict::Script(i, format!("{e}")),
        Err(e) => Verdict::Other(e.to_string()),
    };
    (v, Some(stx))
}

pub fn run(plan: &TxPlan, w: &Wallet, height: u32) -> Verdict {
    verdict(&plan.unsigned, &plan.inputs, &plan.data_inputs, w, height)
}

#[track_caller]
pub fn assert_valid(plan: &TxPlan, w: &Wallet, height: u32) {
    match run(plan, w, height) {
        Verdict::Valid => {}
        v => panic!("honest transaction refused: {v:?}"),
    }
}

/// The transaction is refused by the script of input `idx`.
#[track_caller]
pub fn assert_script_rejects(plan: &TxPlan, w: &Wallet, height: u32, idx: usize) {
    match run(plan, w, height) {
        Verdict::Script(i, _) if i == idx => {}
        v => panic!("expected input {idx}'s script to refuse, got {v:?}"),
    }
}

/// The transaction is refused by validation other than scripts (token/ERG preservation).
#[track_caller]
pub fn assert_tx_rejects(plan: &TxPlan, w: &Wallet, height: u32, contains: &str) {
    match run(plan, w, height) {
        Verdict::Other(s) if s.contains(contains) => {}
        v => panic!("expected a '{contains}' rejection, got {v:?}"),
    }
}

/// Re-finishes an altered draft (change and fee are recomputed, so ERG stays balanced).
pub fn refinish(plan: &TxPlan, exec: &Executor, f: impl FnOnce(&mut TxDraft)) -> TxPlan {
    let mut d = plan.draft.clone();
    f(&mut d);
    // an altered box may have grown a byte: keep it above dust so that only scripts decide
    for o in &mut d.outputs {
        let min = dgcm_contracts::codec::min_value(o);
        if val(o) < min {
            set_value(o, min + 1000);
        }
    }
    d.finish(exec).expect("altered draft finishes")
}

/// Replaces the final outputs without rebalancing (token duplication and the like).
pub fn raw(plan: &TxPlan, f: impl FnOnce(&mut Vec<ErgoBoxCandidate>)) -> TxPlan {
    let mut outs = plan.unsigned.output_candidates.clone().to_vec();
    f(&mut outs);
    let mut p = plan.clone();
    p.unsigned = UnsignedTransaction::new_from_vec(
        plan.unsigned.inputs.clone().to_vec(),
        plan.unsigned
            .data_inputs
            .as_ref()
            .map(|d| d.clone().to_vec())
            .unwrap_or_default(),
        outs,
    )
    .unwrap();
    p
}

const REGS: [NonMandatoryRegisterId; 6] = [
    NonMandatoryRegisterId::R4,
    NonMandatoryRegisterId::R5,
    NonMandatoryRegisterId::R6,
    NonMandatoryRegisterId::R7,
    NonMandatoryRegisterId::R8,
    NonMandatoryRegisterId::R9,
];

pub fn regs_of(c: &ErgoBoxCandidate) -> Vec<Constant> {
    REGS.iter()
        .map_while(|r| c.additional_registers.get_constant(*r).ok().flatten())
        .collect()
}

/// Sets register `r` (4..9) of a candidate.
pub fn set_reg(c: &mut ErgoBoxCandidate, r: usize, v: Constant) {
    let mut regs = regs_of(c);
    if r - 4 < regs.len() {
        regs[r - 4] = v;
    } else {
        regs.push(v);
    }
    c.additional_registers = NonMandatoryRegisters::try_from(regs).unwrap();
}

pub fn drop_regs(c: &mut ErgoBoxCandidate) {
    c.additional_registers = NonMandatoryRegisters::empty();
}

pub fn set_tokens(c: &mut ErgoBoxCandidate, toks: &[(TokenId, u64)]) {
    c.tokens = tokens(toks);
}

pub fn set_value(c: &mut ErgoBoxCandidate, v: u64) {
    c.value = BoxValue::new(v).unwrap();
}

pub fn val(c: &ErgoBoxCandidate) -> u64 {
    *c.value.as_u64()
}

/// Long-collection register with one element changed.
pub fn longs_with(c: &ErgoBoxCandidate, r: usize, i: usize, v: i64) -> Constant {
    let mut x: Vec<i64> = regs_of(c)[r - 4].v.clone().try_extract_into().unwrap();
    x[i] = v;
    Constant::from(x)
}

// ------------------------------------------------------------------------------ fixtures

pub struct Env {
    pub c: Contracts,
    pub gpuc: TokenId,
}

pub fn env() -> Env {
    let c = Contracts::new(ProtocolParams::devnet_default()).expect("deployment");
    let gpuc = c.params.gpuc_id;
    Env { c, gpuc }
}

pub fn typed<T: BoxKind>(e: &Env, c: &ErgoBoxCandidate) -> Typed<T> {
    Typed::parse(&e.c, on_chain(c)).expect("parses")
}

pub const LISTING_NFT: [u8; 32] = [0xab; 32];

pub fn listing_terms() -> ListingTerms {
    ListingTerms {
        price_per_hour: 1000,
        collateral_per_hour: 500,
        min_hours: 1,
        max_hours: 8,
        vram_mib: 24576,
        gpu_count: 1,
        benchmark_score: 9000,
        limits: dgcm_contracts::capacity::Capacity {
            memory_mib: 4096,
            cpu_millis: 2000,
            pids: 256,
            disk_mib: 1024,
        },
    }
}

pub fn listing() -> Listing {
    Listing {
        value: 2_000_000,
        nft: token_id(LISTING_NFT),
        stake: 10_000,
        provider: pk("provider"),
        terms: listing_terms(),
        model: "RTX 4090".into(),
        region: "eu-west".into(),
        endpoint: "https://bob.example:8443".into(),
        busy_until: None,
    }
}

pub fn order_terms() -> OrderTerms {
    OrderTerms {
        max_price_per_hour: 1200,
        hours: 2,
        min_vram_mib: 16000,
        min_gpu_count: 1,
        min_benchmark_score: 5000,
        expiry_height: H as i64 + 500,
        matcher_fee_cap: 3_000_000,
        lease_exec_fee_cap: 1_500_000,
        requests: Default::default(),
    }
}

pub fn order() -> Order {
    Order {
        value: 10_000_000,
        budget: 2500,
        consumer: pk("consumer"),
        terms: order_terms(),
        listing: Some(token_id(LISTING_NFT)),
        model: Some("RTX 4090".into()),
        region: None,
        job_spec_hash: vec![0x11; 32],
    }
}

pub const START: i64 = H as i64 - 200;

pub fn lease_terms(completed_at: i64, used: i64) -> LeaseTerms {
    LeaseTerms {
        price_per_hour: 1000,
        hours: 2,
        payment: 2000,
        collateral: 1000,
        start: START,
        deadline: START + 60 + 45,
        exec_fee_cap: 1_500_000,
        used_blocks: used,
        completed_at,
    }
}

pub fn lease(completed_at: i64, used: i64) -> Lease {
    Lease {
        value: 6_000_000,
        amount: 3000,
        consumer: pk("consumer"),
        provider: pk("provider"),
        terms: lease_terms(completed_at, used),
        job_spec_hash: vec![0x11; 32],
        listing_nft: LISTING_NFT.to_vec(),
        usage_commitment: if completed_at >= 0 {
            vec![0xcd; 32]
        } else {
            vec![]
        },
    }
}

pub fn running_lease(e: &Env) -> Typed<Lease> {
    typed(e, &lease(-1, -1).to_candidate(&e.c, H).unwrap())
}

pub const COMPLETED_AT: i64 = H as i64 - 100;

pub fn done_lease(e: &Env) -> Typed<Lease> {
    typed(e, &lease(COMPLETED_AT, 45).to_candidate(&e.c, H).unwrap())
}

pub fn arbitration(e: &Env) -> Typed<Arbitration> {
    let a = Arbitration {
        value: 6_000_000,
        amount: 3000,
        consumer: pk("consumer"),
        provider: pk("provider"),
        payment: 2000,
        collateral: 1000,
        claimed_pay: 1500,
        exec_fee_cap: 1_500_000,
        timeout: H as i64 + 100,
        lease_id: vec![0x99; 32],
    };
    typed(e, &a.to_candidate(&e.c, H).unwrap())
}

pub const RESERVE: u64 = 1_000_000_000;

pub fn vault(e: &Env) -> Typed<Vault> {
    let v = Vault {
        value: 2_000_000,
        reserve: RESERVE,
        stock: 1000,
        stable: vec![],
    };
    typed(e, &v.to_candidate(&e.c, H).unwrap())
}

pub fn member(e: &Env, owner: &str, value: u64, sigusd: u64, balance: i64) -> Typed<Member> {
    member_with(e, owner, value, &cents(e, sigusd), balance)
}

/// A member holding `assets` (listed collateral) beside ERG.
pub fn member_with(
    e: &Env,
    owner: &str,
    value: u64,
    assets: &[(TokenId, u64)],
    balance: i64,
) -> Typed<Member> {
    let m = Member {
        value,
        assets: assets.to_vec(),
        balance,
        owner: pk(owner),
    };
    typed(e, &m.to_candidate(&e.c, H).unwrap())
}

/// `n` SigUSD cents as a collateral list (empty for 0).
pub fn cents(e: &Env, n: u64) -> Vec<(TokenId, u64)> {
    if n == 0 {
        vec![]
    } else {
        vec![(e.c.params.sigusd_id, n)]
    }
}

/// nanoERG per USD, a real ERG/USD pool datapoint.
pub const RATE: i64 = 967_821_514;

pub fn oracle_with(nft: TokenId, rate: i64) -> ErgoBox {
    oracle_at_height(nft, rate, H - 1000)
}

/// A pool box (NFT `nft`, R4 `rate`, R5 epoch 1) created at `created`.
pub fn oracle_at_height(nft: TokenId, rate: i64, created: u32) -> ErgoBox {
    let c = ErgoBoxCandidate {
        value: BoxValue::new(1_000_000).unwrap(),
        ergo_tree: p2pk_tree(&pk("arb3")),
        tokens: tokens(&[(nft, 1)]),
        additional_registers: NonMandatoryRegisters::try_from(vec![
            Constant::from(rate),
            Constant::from(1i32),
        ])
        .unwrap(),
        creation_height: created,
    };
    // on_chain dates every box H − 1000 (and gives it a fresh id); a pool box's age matters here
    let tx = on_chain(&c).transaction_id;
    ErgoBox::from_box_candidate(&c, tx, 0).expect("box")
}

pub fn oracle(e: &Env) -> ErgoBox {
    oracle_with(e.c.params.oracle_pool_nft, RATE)
}

/// A listed collateral asset's token id (`rsBTC`, `rsETH`, `rsUSDT`, `SigUSD`).
pub fn asset(e: &Env, name: &str) -> TokenId {
    e.c.params.asset(name).expect("listed asset").token_id
}

/// nanoERG per whole token of the devnet's stand-in assets at RATE (BTC $90,000, ETH $3,000,
/// USDT $1).
pub fn asset_price(name: &str) -> i64 {
    match name {
        "rsBTC" => 90_000 * RATE,
        "rsETH" => 3_000 * RATE,
        "rsUSDT" | "SigUSD" => RATE,
        other => panic!("no price for {other}"),
    }
}

/// The genuine pool box of a listed asset at `price` nanoERG per whole token, fresh (created 10
/// blocks before `H`; the devnet's rsBTC pool goes stale after 720).
pub fn pool_of(e: &Env, name: &str, price: i64) -> ErgoBox {
    pool_at(e, name, price, H - 10)
}

/// The same, created at `created`.
pub fn pool_at(e: &Env, name: &str, price: i64, created: u32) -> ErgoBox {
    oracle_at_height(
        e.c.params.asset(name).expect("listed asset").pool_nft,
        price,
        created,
    )
}

pub fn fake_oracle() -> ErgoBox {
    oracle_with(token_id([0xee; 32]), RATE)
}

pub fn rosen_deposit(e: &Env, owner: &str, value: u64, sigusd: u64) -> Typed<RosenDeposit> {
    let d = RosenDeposit {
        value,
        owner: pk(owner),
        tokens: if sigusd > 0 {
            vec![(e.c.params.sigusd_id, sigusd)]
        } else {
            vec![]
        },
    };
    typed(e, &d.to_candidate(&e.c, H).unwrap())
}

pub fn tree_of(who: &str) -> ErgoTree {
    p2pk_tree(&pk(who))
}

/// The same transaction built for another height (outputs' creation heights follow).
pub fn at_height(plan: &TxPlan, exec: &Executor, h: u32) -> TxPlan {
    refinish(plan, exec, |d| {
        d.height = h;
        for o in &mut d.outputs {
            o.creation_height = h;
        }
    })
}
