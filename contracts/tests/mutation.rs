//! Mutation fuzzer: every honest transaction the builders produce, mutated thousands of times
//! (deterministically, from a fixed seed); every mutant that still validates is judged.
//!
//! # What is mutated
//! Each honest transaction (one per builder path, set up as in lease.rs, lets.rs and market.rs) is
//! the root of three phases, all on the transaction's *draft* (protocol inputs with their context
//! extensions, data inputs, protocol outputs, burns) which is then re-finished with the executor, so
//! that its change absorbs every ERG/token difference (a mutant that needs more than the executor
//! has is funded by an extra box of the attacker's) and only scripts decide; "raw" mutations alter
//! the finished transaction (change and fee included) without re-balancing:
//! 1. the *neighbourhood* of the honest transaction, enumerated: every added input (a pool of other
//!    protocol boxes of every kind and P2PK boxes of the parties and of the attacker, at every
//!    protocol index, with every selector 0..=5 and var 1 = its index), every *passthrough* (such a
//!    box added together with an identical successor at the same output index), removed,
//!    duplicated and swapped inputs, context extension changes (selector values, missing or
//!    wrong-typed vars, var 1), removed / duplicated / swapped / moved outputs, every register of
//!    every output changed (±1, 0, negated, -1, large, min/max, another party's key, another box's
//!    id, a shorter or longer collection, another type: Int for Long, Coll[Int] for Coll[Long],
//!    bytes for a key, ...), dropped or added, token amounts changed, tokens moved between outputs,
//!    dropped, reordered, foreign tokens added, ERG taken from outputs, scripts swapped (to the
//!    attacker's or another party's key, to every protocol script, to the miner fee), data inputs
//!    (oracle removed, a fake oracle with another NFT, a real-NFT oracle with another rate or a
//!    wrong-typed rate, extra data inputs), the validation height moved, burns changed, and raw
//!    reorders/removals/duplicates/token and ERG moves/script swaps of the final outputs;
//! 2. the same register/token/value/script mutations on top of the first accepted *structural*
//!    mutants of phase 1 (an added passthrough box, a changed selector, ...): an attack often
//!    needs a neutral change first (the vault join with a zero-balance member passed through at
//!    index 1, then the new member's balance);
//! 3. `K` (= [`K`], or `DGCM_MUTATIONS`) random stacks of 1 to 3 such mutations on random members
//!    of a corpus (the honest transaction and the accepted harmless mutants found so far).
//!
//! # Who signs
//! A mutant is signed by a wallet of the honest transaction's signers (its executor and the parties
//! the path needs) plus the attacker (`exec`): the mutations are what those signers could do.
//! Everybody else is a *victim*. (Signing with `everyone()` would let every signed path accept
//! anything.)
//!
//! # When an accepted mutant is harmful
//! Against a *reference*, the honest transaction or an honest variant the builders make from the
//! mutant's own choices where the path leaves the signers a choice (the matcher's lease start, the
//! provider's used blocks / usage commitment / completion height, the dispute timeout, the
//! committee's split, the joiner's key and collateral, the owner's amount, recipient and
//! collateral, a top-up's amounts, a liquidator's repayment and take; a height a register records
//! may be that of a build up to [`MAX_DELAY`] blocks either side of the inclusion height), a
//! mutant is harmless when all of these hold, and harmful when one fails for every reference:
//! - (a) every victim receives at its P2PK address at least the reference's ERG (less
//!   [`DUST_SLACK`]: payouts' dust minimums follow their size) and at least the reference's amount
//!   of each token;
//! - (b) every protocol output of the reference (a box at a protocol script: `Contracts::kind_of`)
//!   has its own counterpart in the mutant: same script, same registers (type and value: an added
//!   register counts), the same tokens in the same order with amounts ≥, value ≥ (on paths that
//!   leave the signers free to create anything, the provider's listing path, the consumer's order
//!   path, a mutual lease cancel, the owner's Rosen path and box creations, this is not required);
//!   and no other protocol output holds a membership token or the vault NFT, unless it is the
//!   unchanged successor of an added input or has the script of an added box its owner signed for;
//! - (c) every protocol input the honest transaction did not spend is either continued (an output
//!   with its script, its registers, tokens ≥ and value ≥) or was spent under a signature of the
//!   wallet (its script reduced to a proposition that needs a key: its owner's consent; what an
//!   owner does with their own box is judged by that box's own paths' honest transactions).
//!
//! A mutant that leaves one of the honest protocol inputs unspent is judged by (c) and the second
//! half of (b) only (the box stays its owners'; the reference does not apply). Order does not
//! matter in these rules, so an equivalent reordering is harmless.
//!
//! # Validation
//! Every mutant is signed and validated as the harness's `verdict` does (inputs the wallet cannot
//! prove get no proof), plus the node's stateless checks ergo-lib's context validation skips (a
//! box spent twice); see [`quiet_verdict`] for what it does faster.
//!
//! # Output
//! One JSON line on stdout, `{"mutations": N, "accepted": A, "harmful_accepted": H}`, statistics
//! and every harmful case on stderr, then the test requires H == 0 and lists up to 20 harmful
//! cases (path, mutations, verdict, why) in its panic message. With `DGCM_XCHECK_DIR` set, the
//! honest transactions, the first [`RECORD_ACCEPTED`] accepted mutants of each path and up to
//! [`RECORD_HARMFUL`] harmful ones per path are re-validated through the harness's `verdict`, which
//! records them for the reference interpreter (`npm run xcheck -- DIR`): ergo-lib does not check
//! the type of a register it reads (mutations marked `[type]`), so a type confusion it accepts
//! may be refused by the node.
//!
//! `cargo test --release -p dgcm-contracts --test mutation -- --nocapture` is the full run;
//! `DGCM_MUTATION_PATHS=lease.,vault.join` runs only the paths whose name contains one of these; a
//! debug build (`cargo test --workspace`) runs a smoke sample ([`DEBUG_STRIDE`], [`DEBUG_K`]).

mod common;

use std::cell::OnceCell;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use common::*;
use dgcm_contracts::arbitration::Arbitration;
use dgcm_contracts::build;
use dgcm_contracts::codec::min_value;
use dgcm_contracts::lease::Lease;
use dgcm_contracts::lets_member::{liquidation_take, Member, Prices};
use dgcm_contracts::lets_vault::Vault;
use dgcm_contracts::listing::Listing;
use dgcm_contracts::order::Order;
use dgcm_contracts::rosen_deposit::RosenDeposit;
use dgcm_contracts::tx::{miner_fee_tree, sel_idx};
use dgcm_contracts::util::{box_tokens, p2pk_tree, prove_dlog, sigma_const, token_bytes, token_id};
use dgcm_contracts::{BoxKind, Contracts, Executor, Spend, TxDraft, TxPlan, Typed};
use ergo_lib::chain::ergo_state_context::ErgoStateContext;
use ergo_lib::chain::transaction::ergo_transaction::ErgoTransaction;
use ergo_lib::chain::transaction::unsigned::UnsignedTransaction;
use ergo_lib::chain::transaction::{DataInput, Input, Transaction, UnsignedInput};
use ergo_lib::ergotree_interpreter::eval::reduce_to_crypto;
use ergo_lib::ergotree_interpreter::sigma_protocol::private_input::PrivateInput;
use ergo_lib::ergotree_interpreter::sigma_protocol::prover::hint::HintsBag;
use ergo_lib::ergotree_interpreter::sigma_protocol::prover::{ContextExtension, ProofBytes};
use ergo_lib::ergotree_interpreter::sigma_protocol::prover::{Prover, TestProver};
use ergo_lib::ergotree_ir::chain::ergo_box::{
    BoxId, ErgoBox, ErgoBoxCandidate, NonMandatoryRegisters,
};
use ergo_lib::ergotree_ir::chain::token::TokenId;
use ergo_lib::ergotree_ir::chain::tx_id::TxId;
use ergo_lib::ergotree_ir::ergo_tree::{ErgoTree, ErgoTreeError};
use ergo_lib::ergotree_ir::mir::constant::{Constant, TryExtractInto};
use ergo_lib::ergotree_ir::mir::expr::Expr;
use ergo_lib::ergotree_ir::serialization::SigmaSerializable;
use ergo_lib::ergotree_ir::sigma_protocol::sigma_boolean::{SigmaBoolean, SigmaProp};
use ergo_lib::ergotree_ir::types::stype::SType;
use ergo_lib::wallet::signing::{make_context, TransactionContext};

/// Random stacked mutations per honest transaction (phase 3); `DGCM_MUTATIONS` overrides.
const K: usize = 200;
/// Accepted structural mutants per honest transaction whose outputs phase 2 mutates.
const PHASE2_SEEDS: usize = 2;
/// A debug build (`cargo test --workspace`) runs a smoke sample: every `DEBUG_STRIDE`th mutation
/// of phase 1, no phase 2, `DEBUG_K` random ones. The full run is the release one.
const DEBUG_STRIDE: usize = 20;
const DEBUG_K: usize = 10;
/// Fixed seed: the whole run is deterministic.
const SEED: u64 = 0x6467_636d_5f6d_7574;
/// Blocks between the height a transaction is built for and the height it is included at
/// (references built up to this many blocks either side of the validation height are honest).
const MAX_DELAY: u32 = 30;
/// nanoERG a victim may receive less than the reference: payouts' dust minimums follow their
/// size, so an honest variant whose payout carries no token pays the other payout a little more.
const DUST_SLACK: u64 = 50_000;
/// Accepted mutants per path recorded for the cross-check (with `DGCM_XCHECK_DIR`).
const RECORD_ACCEPTED: usize = 3;
/// Harmful mutants per path recorded for the cross-check.
const RECORD_HARMFUL: usize = 10;
/// Every key of the tests; those not in a path's wallet are its victims.
const TAGS: [&str; 7] = [
    "consumer", "provider", "owner", "other", "exec", "arb1", "arb2",
];
/// The attacker, in every wallet.
const ATTACKER: &str = "exec";
/// Selector values tried on added inputs.
const SELECTORS: [i8; 6] = [0, 1, 2, 3, 4, 5];

// ------------------------------------------------------------------------------ rng

/// splitmix64: small, seedable, no dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

// ------------------------------------------------------------------------------ scenarios

/// Honest variants built from a mutant's outputs (its choices) at a validation height.
type Alts = Box<dyn Fn(&[ErgoBoxCandidate], u32) -> Vec<TxPlan> + Send + Sync>;

struct Scenario {
    path: &'static str,
    plan: TxPlan,
    exec: Executor,
    /// The honest signers (the attacker is added).
    signers: Vec<&'static str>,
    height: u32,
    /// The signers may create anything at protocol scripts on this path (rule (b) relaxed).
    free: bool,
    alts: Alts,
}

impl Scenario {
    fn tags(&self) -> Vec<&'static str> {
        let mut t = self.signers.clone();
        if !t.contains(&ATTACKER) {
            t.push(ATTACKER);
        }
        t
    }
}

fn no_alts() -> Alts {
    Box::new(|_, _| vec![])
}

fn scenario(
    path: &'static str,
    (plan, exec): (TxPlan, Executor),
    signers: &[&'static str],
    height: u32,
    free: bool,
    alts: Alts,
) -> Scenario {
    Scenario {
        path,
        plan,
        exec,
        signers: signers.to_vec(),
        height,
        free,
        alts,
    }
}

fn parse_as<T: BoxKind>(c: &Contracts, o: &ErgoBoxCandidate) -> Option<T> {
    let b = ErgoBox::from_box_candidate(o, TxId::zero(), 0).ok()?;
    T::parse(c, &b).ok()
}

fn parsed<T: BoxKind>(c: &Contracts, outs: &[ErgoBoxCandidate]) -> Vec<T> {
    outs.iter().filter_map(|o| parse_as::<T>(c, o)).collect()
}

/// An executor rich enough for any honest variant (its change goes to the same key).
fn rich_exec(e: &Env, who: &str) -> Executor {
    let p = &e.c.params;
    exec_of(
        who,
        100_000 * ERG,
        &[
            (p.gpuc_id, 1_000_000_000_000),
            (p.sigusd_id, 1_000_000_000),
            (asset(e, "rsBTC"), 1_000_000_000),
            (asset(e, "rsETH"), 1_000_000_000),
            (asset(e, "rsUSDT"), 1_000_000_000_000),
        ],
    )
}

/// The member box `m` with other collateral (the owner's own choice on its paths).
fn with_collateral(e: &Env, m: &Typed<Member>, n: &Member) -> Typed<Member> {
    let v = Member {
        value: n.value,
        assets: n.assets.clone(),
        ..m.v.clone()
    };
    typed(e, &v.to_candidate(&e.c, H).unwrap())
}

/// The ERG/USD pool and the rsBTC, rsETH and rsUSDT pools at their stand-in prices.
fn asset_pools(e: &Env) -> Vec<ErgoBox> {
    let mut v = vec![oracle(e)];
    for n in ["rsBTC", "rsETH", "rsUSDT"] {
        v.push(pool_of(e, n, asset_price(n)));
    }
    v
}

/// Per listed asset, how much more `a` holds than `b` (`None` if `b` holds more of one).
fn more(e: &Env, a: &Member, b: &Member) -> Option<Vec<(TokenId, u64)>> {
    let mut out = vec![];
    for x in &e.c.params.collateral {
        let d = a.amount(&x.token_id).checked_sub(b.amount(&x.token_id))?;
        if d > 0 {
            out.push((x.token_id, d));
        }
    }
    Some(out)
}

/// The build height `at` (recorded in a register) if a transaction included at `h` may have been
/// built for it: at most [`MAX_DELAY`] blocks either way.
fn build_height(at: i64, h: u32) -> Option<u32> {
    let b = u32::try_from(at).ok()?;
    (b.abs_diff(h) <= MAX_DELAY).then_some(b)
}

fn scenarios() -> Vec<Scenario> {
    let mut v = vec![];

    // ---------------------------------------------------------------- listing / order
    {
        let e = env();
        let ex = exec_of("provider", ERG, &[(e.gpuc, 10_000)]);
        let p = build::list_listing(&e.c, &listing(), H, &ex).unwrap();
        let created: Typed<Listing> = Typed::parse(
            &e.c,
            on_chain(&p.unsigned.output_candidates.first().clone()),
        )
        .unwrap();
        v.push(scenario(
            "listing.create",
            (p, ex),
            &["provider"],
            H,
            true,
            no_alts(),
        ));
        let new = Listing {
            stake: 4000,
            ..created.v.clone()
        };
        let ex = exec_of("provider", ERG, &[]);
        let p = build::update_listing(&e.c, &created, &new, H, &ex).unwrap();
        v.push(scenario(
            "listing.update",
            (p, ex),
            &["provider"],
            H,
            true,
            no_alts(),
        ));
        let ex = exec_of("provider", ERG, &[]);
        let p = build::withdraw_listing(&e.c, &created, H, &ex).unwrap();
        v.push(scenario(
            "listing.withdraw",
            (p, ex),
            &["provider"],
            H,
            true,
            no_alts(),
        ));
    }
    {
        let e = env();
        let ex = exec_of("consumer", 20 * ERG, &[(e.gpuc, 2500)]);
        let p = build::place_order(&e.c, &order(), H, &ex).unwrap();
        let o: Typed<Order> = Typed::parse(
            &e.c,
            on_chain(&p.unsigned.output_candidates.first().clone()),
        )
        .unwrap();
        v.push(scenario(
            "order.place",
            (p, ex),
            &["consumer"],
            H,
            true,
            no_alts(),
        ));
        let ex = exec_of("consumer", ERG, &[]);
        let p = build::cancel_order(&e.c, &o, H, &ex).unwrap();
        v.push(scenario(
            "order.cancel",
            (p, ex),
            &["consumer"],
            H,
            true,
            no_alts(),
        ));
    }
    {
        let e = env();
        let o: Typed<Order> = typed(&e, &order().to_candidate(&e.c, H).unwrap());
        let l: Typed<Listing> = typed(&e, &listing().to_candidate(&e.c, H).unwrap());
        let ex = exec_of("exec", ERG, &[]);
        let p = build::match_order(&e.c, &o, &l, H, &ex).unwrap();
        let rx = rich_exec(&e, "exec");
        // the matcher's choice: the lease start (the build height), up to MAX_DELAY blocks back
        let alts: Alts = Box::new(move |outs, h| {
            parsed::<Lease>(&e.c, outs)
                .iter()
                .filter_map(|x| build_height(x.terms.start, h))
                .filter_map(|b| build::match_order(&e.c, &o, &l, b, &rx).ok())
                .collect()
        });
        v.push(scenario("market.match", (p, ex), &["exec"], H, false, alts));
    }

    // ---------------------------------------------------------------- lease
    {
        let e = env();
        let l = running_lease(&e);
        let h = (START + 50) as u32;
        let ex = exec_of("provider", ERG, &[]);
        let p = build::complete(&e.c, &l, 45, [0xcd; 32], h, &ex).unwrap();
        let rx = rich_exec(&e, "provider");
        // the provider's choices: used blocks, commitment, completion height (build + slack)
        let alts: Alts = Box::new(move |outs, h| {
            let mut r = vec![];
            for d in parsed::<Lease>(&e.c, outs) {
                let Ok(commit) = <[u8; 32]>::try_from(d.usage_commitment.as_slice()) else {
                    continue;
                };
                let at = d.terms.completed_at;
                for b in [Some(h), build_height(at, h)].into_iter().flatten() {
                    let Ok(slack) = u32::try_from(at - b as i64) else {
                        continue;
                    };
                    let used = d.terms.used_blocks;
                    r.extend(build::complete_within(&e.c, &l, used, commit, b, slack, &rx).ok());
                }
            }
            r
        });
        v.push(scenario(
            "lease.complete",
            (p, ex),
            &["provider"],
            h,
            false,
            alts,
        ));
    }
    {
        let e = env();
        let h = (COMPLETED_AT + e.c.params.challenge_window + 1) as u32;
        let ex = exec_of("exec", ERG, &[]);
        let p = build::finalise(&e.c, &done_lease(&e), h, &ex).unwrap();
        v.push(scenario(
            "lease.finalise",
            (p, ex),
            &["exec"],
            h,
            false,
            no_alts(),
        ));
    }
    {
        let e = env();
        let h = (COMPLETED_AT + 5) as u32;
        let ex = exec_of("consumer", ERG, &[]);
        let p = build::accept(&e.c, &done_lease(&e), h, &ex).unwrap();
        v.push(scenario(
            "lease.accept",
            (p, ex),
            &["consumer"],
            h,
            false,
            no_alts(),
        ));
    }
    {
        let e = env();
        let l = done_lease(&e);
        let h = (COMPLETED_AT + 10) as u32;
        let ex = exec_of("consumer", ERG, &[]);
        let p = build::dispute(&e.c, &l, h, &ex).unwrap();
        let rx = rich_exec(&e, "consumer");
        // the timeout follows the build height
        let alts: Alts = Box::new(move |outs, h| {
            parsed::<Arbitration>(&e.c, outs)
                .iter()
                .filter_map(|a| build_height(a.timeout - e.c.params.arb_timeout, h))
                .filter_map(|b| build::dispute(&e.c, &l, b, &rx).ok())
                .collect()
        });
        v.push(scenario(
            "lease.dispute",
            (p, ex),
            &["consumer"],
            h,
            false,
            alts,
        ));
    }
    {
        let e = env();
        let l = running_lease(&e);
        let h = (l.v.terms.deadline + 1) as u32;
        let ex = exec_of("exec", ERG, &[]);
        let p = build::slash(&e.c, &l, h, &ex).unwrap();
        v.push(scenario(
            "lease.slash",
            (p, ex),
            &["exec"],
            h,
            false,
            no_alts(),
        ));
    }
    {
        let e = env();
        let ex = exec_of("consumer", ERG, &[]);
        let p = build::cancel_lease(&e.c, &running_lease(&e), 1000, H, &ex).unwrap();
        v.push(scenario(
            "lease.cancel",
            (p, ex),
            &["consumer", "provider"],
            H,
            true,
            no_alts(),
        ));
    }

    // ---------------------------------------------------------------- arbitration
    {
        let e = env();
        let a = arbitration(&e);
        let ex = exec_of("arb1", ERG, &[]);
        let p = build::arbitrate(&e.c, &a, 1200, H, &ex).unwrap();
        let rx = rich_exec(&e, "arb1");
        // the committee's split: whatever the provider receives
        let alts: Alts = Box::new(move |outs, h| {
            let got = |who: &str| {
                let t = tree_of(who);
                outs.iter()
                    .filter(|o| o.ergo_tree == t)
                    .flat_map(|o| o.tokens.iter().flatten())
                    .filter(|t| t.token_id == e.gpuc)
                    .map(|t| *t.amount.as_u64())
                    .sum::<u64>()
            };
            let x = [got("provider"), a.v.amount.saturating_sub(got("consumer"))];
            x.iter()
                .filter_map(|x| build::arbitrate(&e.c, &a, *x, h, &rx).ok())
                .collect()
        });
        v.push(scenario(
            "arbitration.decide",
            (p, ex),
            &["arb1", "arb2"],
            H,
            false,
            alts,
        ));
    }
    {
        let e = env();
        let h = H + 101;
        let ex = exec_of("exec", ERG, &[]);
        let p = build::arbitration_timeout(&e.c, &arbitration(&e), h, &ex).unwrap();
        v.push(scenario(
            "arbitration.timeout",
            (p, ex),
            &["exec"],
            h,
            false,
            no_alts(),
        ));
    }

    // ---------------------------------------------------------------- LETS
    {
        let e = env();
        let vt = vault(&e);
        let ex = exec_of("owner", 2 * ERG, &[]);
        let p = build::join(&e.c, &vt, &pk("owner"), ERG, &[], H, &ex).unwrap();
        let rx = rich_exec(&e, "owner");
        // the joiner's choices: owner key and collateral
        let alts: Alts = Box::new(move |outs, h| {
            parsed::<Member>(&e.c, outs)
                .iter()
                .filter_map(|m| build::join(&e.c, &vt, &m.owner, m.value, &m.assets, h, &rx).ok())
                .collect()
        });
        v.push(scenario("vault.join", (p, ex), &["owner"], H, false, alts));
    }
    {
        let e = env();
        let vt = vault(&e);
        let m = member(&e, "owner", ERG, 2000, 0);
        let orc = vec![oracle(&e)];
        let ex = exec_of("owner", ERG, &[]);
        let p = build::withdraw(&e.c, &vt, &m, 10_000, &orc, &tree_of("owner"), H, &ex).unwrap();
        let rx = rich_exec(&e, "owner");
        // the owner's choices: amount, recipient, collateral
        let alts: Alts = Box::new(move |outs, h| {
            let mut r = vec![];
            let recipients: Vec<ErgoTree> = outs
                .iter()
                .filter(|o| e.c.kind_of(&o.ergo_tree).is_none())
                .map(|o| o.ergo_tree.clone())
                .collect();
            for n in parsed::<Member>(&e.c, outs)
                .into_iter()
                .filter(|n| n.owner == m.v.owner)
            {
                let Ok(amount) = u64::try_from(m.v.balance - n.balance) else {
                    continue;
                };
                let mm = with_collateral(&e, &m, &n);
                for t in &recipients {
                    r.extend(build::withdraw(&e.c, &vt, &mm, amount, &orc, t, h, &rx).ok());
                }
            }
            r
        });
        v.push(scenario(
            "member.withdraw",
            (p, ex),
            &["owner"],
            H,
            false,
            alts,
        ));
    }
    {
        let e = env();
        let vt = vault(&e);
        let m = member(&e, "owner", ERG, 0, -5000);
        let ex = exec_of("owner", ERG, &[(e.gpuc, 5000)]);
        let p = build::deposit(&e.c, &vt, &m, 5000, &[], H, &ex).unwrap();
        let rx = rich_exec(&e, "owner");
        let orc = [oracle(&e)];
        let alts: Alts = Box::new(move |outs, h| {
            let mut r = vec![];
            for n in parsed::<Member>(&e.c, outs)
                .into_iter()
                .filter(|n| n.owner == m.v.owner)
            {
                let Ok(amount) = u64::try_from(n.balance - m.v.balance) else {
                    continue;
                };
                let mm = with_collateral(&e, &m, &n);
                for o in [&[][..], &orc[..]] {
                    r.extend(build::deposit(&e.c, &vt, &mm, amount, o, h, &rx).ok());
                }
            }
            r
        });
        v.push(scenario(
            "member.deposit",
            (p, ex),
            &["owner"],
            H,
            false,
            alts,
        ));
    }
    {
        let e = env();
        let alice = member(&e, "owner", ERG, 2000, -1000);
        let bob = member(&e, "provider", 1_000_000, 0, 0);
        let orc = vec![oracle(&e)];
        let ex = exec_of("owner", ERG, &[]);
        let p = build::transfer(&e.c, &alice, &bob, 4000, &orc, H, &ex).unwrap();
        let rx = rich_exec(&e, "owner");
        // the payer's choices: amount, its own collateral
        let alts: Alts = Box::new(move |outs, h| {
            let mut r = vec![];
            for n in parsed::<Member>(&e.c, outs)
                .into_iter()
                .filter(|n| n.owner == alice.v.owner)
            {
                let Ok(amount) = u64::try_from(alice.v.balance - n.balance) else {
                    continue;
                };
                let a = with_collateral(&e, &alice, &n);
                r.extend(build::transfer(&e.c, &a, &bob, amount, &orc, h, &rx).ok());
            }
            r
        });
        v.push(scenario(
            "member.transfer",
            (p, ex),
            &["owner"],
            H,
            false,
            alts,
        ));
    }
    {
        let e = env();
        let m = member(&e, "owner", ERG, 0, -10);
        let sig = e.c.params.sigusd_id;
        let ex = exec_of("other", 3 * ERG, &[(sig, 500)]);
        let orc = vec![oracle(&e)];
        let p = build::top_up_priced(&e.c, &m, ERG, &[(sig, 500)], &orc, H, &ex).unwrap();
        let rx = rich_exec(&e, "other");
        // the payer's choice: how much
        let alts: Alts = Box::new(move |outs, h| {
            parsed::<Member>(&e.c, outs)
                .iter()
                .filter(|n| n.owner == m.v.owner)
                .filter_map(|n| {
                    let add_erg = n.value.checked_sub(m.v.value)?;
                    let add = more(&e, n, &m.v)?;
                    build::top_up_priced(&e.c, &m, add_erg, &add, &orc, h, &rx).ok()
                })
                .collect()
        });
        v.push(scenario(
            "member.top_up",
            (p, ex),
            &["other"],
            H,
            false,
            alts,
        ));
    }
    {
        let e = env();
        let m = member(&e, "owner", ERG, 2000, -30_000);
        let vt = vault(&e);
        let orc = vec![oracle(&e)];
        let ex = exec_of("other", ERG, &[(e.gpuc, 10_000)]);
        let p = build::liquidate(&e.c, &vt, &m, 10_000, 0, &cents(&e, 1080), &orc, H, &ex).unwrap();
        let rx = rich_exec(&e, "other");
        // the liquidator's choices: repayment and take
        let alts: Alts = Box::new(move |outs, h| {
            let mut r = vec![];
            for w in parsed::<Vault>(&e.c, outs) {
                let Some(repay) = w.reserve.checked_sub(vt.v.reserve) else {
                    continue;
                };
                for n in parsed::<Member>(&e.c, outs)
                    .into_iter()
                    .filter(|n| n.owner == m.v.owner)
                {
                    let (Some(te), Some(ts)) = (m.v.value.checked_sub(n.value), more(&e, &m.v, &n))
                    else {
                        continue;
                    };
                    r.extend(build::liquidate(&e.c, &vt, &m, repay, te, &ts, &orc, h, &rx).ok());
                }
            }
            r
        });
        v.push(scenario(
            "member.liquidate",
            (p, ex),
            &["other"],
            H,
            false,
            alts,
        ));
    }
    {
        let e = env();
        let ex = exec_of("owner", ERG, &[]);
        let p = build::close_member(&e.c, &member(&e, "owner", ERG, 0, 0), H, &ex).unwrap();
        v.push(scenario(
            "member.close",
            (p, ex),
            &["owner"],
            H,
            false,
            no_alts(),
        ));
    }

    // ---------------------------------------------------------------- LETS, listed assets
    {
        // borrowing against SigUSD + rsBTC + rsETH, priced by three pool boxes
        let e = env();
        let vt = vault(&e);
        let (btc, eth) = (asset(&e, "rsBTC"), asset(&e, "rsETH"));
        let m = member_with(
            &e,
            "owner",
            10_000_000,
            &[
                (e.c.params.sigusd_id, 1_000),
                (btc, 200_000),
                (eth, 1_000_000),
            ],
            0,
        );
        let orc = asset_pools(&e);
        let ex = exec_of("owner", ERG, &[]);
        let p = build::withdraw(&e.c, &vt, &m, 100_000, &orc, &tree_of("owner"), H, &ex).unwrap();
        let rx = rich_exec(&e, "owner");
        let alts: Alts = Box::new(move |outs, h| {
            let mut r = vec![];
            let recipients: Vec<ErgoTree> = outs
                .iter()
                .filter(|o| e.c.kind_of(&o.ergo_tree).is_none())
                .map(|o| o.ergo_tree.clone())
                .collect();
            for n in parsed::<Member>(&e.c, outs)
                .into_iter()
                .filter(|n| n.owner == m.v.owner)
            {
                let Ok(amount) = u64::try_from(m.v.balance - n.balance) else {
                    continue;
                };
                let mm = with_collateral(&e, &m, &n);
                for t in &recipients {
                    r.extend(build::withdraw(&e.c, &vt, &mm, amount, &orc, t, h, &rx).ok());
                }
            }
            r
        });
        v.push(scenario(
            "member.withdraw.assets",
            (p, ex),
            &["owner"],
            H,
            false,
            alts,
        ));
    }
    {
        // taking rsETH collateral out, priced
        let e = env();
        let eth = asset(&e, "rsETH");
        let m = member_with(
            &e,
            "owner",
            ERG,
            &[(e.c.params.sigusd_id, 2_000), (eth, 2_000_000)],
            -30_000,
        );
        let orc = asset_pools(&e);
        let ex = exec_of("owner", ERG, &[]);
        let p = build::withdraw_collateral(&e.c, &m, 0, &[(eth, 100_000)], &orc, H, &ex).unwrap();
        let rx = rich_exec(&e, "owner");
        let alts: Alts = Box::new(move |outs, h| {
            // the owner's choice: any mix of taking out and adding; the builder takes out, so
            // start from an account that already holds what the mutant added
            parsed::<Member>(&e.c, outs)
                .iter()
                .filter(|n| n.owner == m.v.owner && n.balance == m.v.balance)
                .filter_map(|n| {
                    let mut top = m.v.clone();
                    top.value = m.v.value.max(n.value);
                    for a in &e.c.params.collateral {
                        let x = m.v.amount(&a.token_id).max(n.amount(&a.token_id));
                        top.set_amount(&e.c.params, a.token_id, x);
                    }
                    let mm = with_collateral(&e, &m, &top);
                    let erg = top.value.checked_sub(n.value)?;
                    let take = more(&e, &top, n)?;
                    build::withdraw_collateral(&e.c, &mm, erg, &take, &orc, h, &rx).ok()
                })
                .collect()
        });
        v.push(scenario(
            "member.withdraw_collateral",
            (p, ex),
            &["owner"],
            H,
            false,
            alts,
        ));
    }
    {
        let e = env();
        let btc = asset(&e, "rsBTC");
        let m = member_with(&e, "owner", ERG, &[(btc, 1_000)], -10);
        let ex = exec_of("other", 3 * ERG, &[(btc, 5_000)]);
        let orc = asset_pools(&e);
        let p = build::top_up_priced(&e.c, &m, 0, &[(btc, 5_000)], &orc, H, &ex).unwrap();
        let rx = rich_exec(&e, "other");
        let alts: Alts = Box::new(move |outs, h| {
            parsed::<Member>(&e.c, outs)
                .iter()
                .filter(|n| n.owner == m.v.owner)
                .filter_map(|n| {
                    let add_erg = n.value.checked_sub(m.v.value)?;
                    let add = more(&e, n, &m.v)?;
                    build::top_up_priced(&e.c, &m, add_erg, &add, &orc, h, &rx).ok()
                })
                .collect()
        });
        v.push(scenario(
            "member.top_up.asset",
            (p, ex),
            &["other"],
            H,
            false,
            alts,
        ));
    }
    {
        // rsETH halves: the liquidator takes ERG and rsETH within the discount
        let e = env();
        let eth = asset(&e, "rsETH");
        let m = member_with(
            &e,
            "owner",
            ERG,
            &[(e.c.params.sigusd_id, 2_000), (eth, 2_000_000)],
            -30_000,
        );
        let vt = vault(&e);
        let orc = vec![oracle(&e), pool_of(&e, "rsETH", asset_price("rsETH") / 2)];
        let prices = Prices::read(&e.c.params, &orc, H);
        let (erg, take) = liquidation_take(&e.c.params, &prices, &m.v, 10_000, 2_000_000);
        let ex = exec_of("other", ERG, &[(e.gpuc, 10_000)]);
        let p = build::liquidate(&e.c, &vt, &m, 10_000, erg, &take, &orc, H, &ex).unwrap();
        let rx = rich_exec(&e, "other");
        let alts: Alts = Box::new(move |outs, h| {
            let mut r = vec![];
            for w in parsed::<Vault>(&e.c, outs) {
                let Some(repay) = w.reserve.checked_sub(vt.v.reserve) else {
                    continue;
                };
                for n in parsed::<Member>(&e.c, outs)
                    .into_iter()
                    .filter(|n| n.owner == m.v.owner)
                {
                    let (Some(te), Some(ts)) = (m.v.value.checked_sub(n.value), more(&e, &m.v, &n))
                    else {
                        continue;
                    };
                    r.extend(build::liquidate(&e.c, &vt, &m, repay, te, &ts, &orc, h, &rx).ok());
                }
            }
            r
        });
        v.push(scenario(
            "member.liquidate.assets",
            (p, ex),
            &["other"],
            H,
            false,
            alts,
        ));
    }
    {
        // bridged rsUSDT and rsBTC converted into collateral
        let e = env();
        let m = member(&e, "owner", 1_000_000, 0, 0);
        let d = RosenDeposit {
            value: 10_000_000,
            owner: pk("owner"),
            tokens: vec![
                (asset(&e, "rsUSDT"), 25_000_000),
                (asset(&e, "rsBTC"), 3_000),
            ],
        };
        let d = typed::<RosenDeposit>(&e, &d.to_candidate(&e.c, H).unwrap());
        let ex = exec_of("exec", ERG, &[]);
        let p = build::convert_rosen(&e.c, &d, &m, H, &ex).unwrap();
        v.push(scenario(
            "rosen.convert.assets",
            (p, ex),
            &["exec"],
            H,
            false,
            no_alts(),
        ));
    }

    {
        // a stable asset sold to the vault for credit (the buyer may be anyone; here the owner,
        // in debt)
        let e = env();
        let usdt = asset(&e, "rsUSDT");
        let m = member(&e, "owner", ERG, 2_000, -5_000);
        let vt = vault(&e);
        let orc = vec![oracle(&e), pool_of(&e, "rsUSDT", asset_price("rsUSDT"))];
        let ex = exec_of("owner", ERG, &[(usdt, 10_000_000)]);
        let (p, _) = build::buy_credit(&e.c, &vt, &m, &[(usdt, 10_000_000)], &orc, H, &ex).unwrap();
        let rx = rich_exec(&e, "owner");
        let alts: Alts = Box::new(move |outs, h| {
            let mut r = vec![];
            for w in parsed::<Vault>(&e.c, outs) {
                let Some(g) = w
                    .stable_amount(&usdt)
                    .checked_sub(vt.v.stable_amount(&usdt))
                else {
                    continue;
                };
                r.extend(
                    build::buy_credit(&e.c, &vt, &m, &[(usdt, g)], &orc, h, &rx)
                        .ok()
                        .map(|(p, _)| p),
                );
            }
            r
        });
        v.push(scenario(
            "vault.credit",
            (p, ex),
            &["owner"],
            H,
            false,
            alts,
        ));
    }
    {
        // a Rosen deposit of rsUSDT credited at the oracle's price
        let e = env();
        let m = member(&e, "owner", 1_000_000, 0, 0);
        let d = RosenDeposit {
            value: 10_000_000,
            owner: pk("owner"),
            tokens: vec![(asset(&e, "rsUSDT"), 25_000_000)],
        };
        let d = typed::<RosenDeposit>(&e, &d.to_candidate(&e.c, H).unwrap());
        let orc = vec![oracle(&e), pool_of(&e, "rsUSDT", asset_price("rsUSDT"))];
        let ex = exec_of("exec", ERG, &[]);
        let (p, _) = build::convert_rosen_credit(&e.c, &vault(&e), &d, &m, &orc, H, &ex).unwrap();
        v.push(scenario(
            "rosen.credit",
            (p, ex),
            &["exec"],
            H,
            false,
            no_alts(),
        ));
    }

    // ---------------------------------------------------------------- Rosen
    {
        let e = env();
        let m = member(&e, "owner", 1_000_000, 0, 0);
        let d = rosen_deposit(&e, "owner", 50_000_000, 1500);
        let ex = exec_of("exec", ERG, &[]);
        let p = build::convert_rosen(&e.c, &d, &m, H, &ex).unwrap();
        v.push(scenario(
            "rosen.convert",
            (p, ex),
            &["exec"],
            H,
            false,
            no_alts(),
        ));
    }
    {
        let e = env();
        let d = rosen_deposit(&e, "owner", 50_000_000, 1500);
        let ex = exec_of("owner", ERG, &[]);
        let mut draft = TxDraft::new(H);
        draft.inputs.push(Spend {
            bx: d.bx.clone(),
            ext: ContextExtension::empty(),
        });
        let p = draft.finish(&ex).unwrap();
        v.push(scenario(
            "rosen.owner",
            (p, ex),
            &["owner"],
            H,
            true,
            no_alts(),
        ));
    }
    v
}

// ------------------------------------------------------------------------------ the pool

/// Boxes "on chain" that mutations add, trees they swap in, keys and ids registers take.
struct Pool {
    e: Env,
    protocol: Vec<(String, ErgoBox, bool)>,
    p2pk: Vec<(String, ErgoBox)>,
    /// The attacker's funding for mutants that need more than the executor has.
    rich: ErgoBox,
    trees: Vec<(String, ErgoTree)>,
    keys: Vec<(&'static str, Constant)>,
    tag_trees: Vec<(&'static str, ErgoTree)>,
    /// Scripts whose kind is known (`None`: not a protocol script).
    known: Vec<(ErgoTree, Option<&'static str>)>,
    /// Each protocol tree and the same bytes as an unparsed tree: ergo-lib 0.28 clones the
    /// subtrees of every binary operation it serialises (~2 ms for a protocol tree, and a
    /// transaction is serialised several times to compute its and its boxes' ids); output trees
    /// are only ever serialised (no output script runs), so the transactions validated here carry
    /// the unparsed twins (same bytes, same ids, same `propositionBytes`).
    unparsed: Vec<(ErgoTree, ErgoTree)>,
    extra_tokens: Vec<(&'static str, TokenId)>,
    /// Tokens that make a box a protocol member / the vault.
    restricted: Vec<TokenId>,
    oracle: ErgoBox,
    /// The genuine rsBTC, rsETH and rsUSDT pool boxes.
    asset_pools: Vec<ErgoBox>,
    fake_oracle: ErgoBox,
    stale_oracle: ErgoBox,
    int_oracle: ErgoBox,
    other_id: Vec<u8>,
    fee_tree: ErgoTree,
}

impl Pool {
    fn new() -> Pool {
        let e = env();
        let c = &e.c;
        let g = e.gpuc;
        let mut attacker_lease = lease(-1, -1);
        attacker_lease.consumer = pk("exec");
        // (name, box, also added without a successor: one of each kind is enough there)
        let protocol: Vec<(String, ErgoBox, bool)> = vec![
            ("running lease".into(), running_lease(&e).bx, true),
            ("completed lease".into(), done_lease(&e).bx, true),
            (
                "attacker's lease".into(),
                typed::<Lease>(&e, &attacker_lease.to_candidate(c, H).unwrap()).bx,
                false,
            ),
            ("arbitration".into(), arbitration(&e).bx, true),
            (
                "listing".into(),
                typed::<Listing>(&e, &listing().to_candidate(c, H).unwrap()).bx,
                true,
            ),
            (
                "order".into(),
                typed::<Order>(&e, &order().to_candidate(c, H).unwrap()).bx,
                true,
            ),
            ("vault".into(), vault(&e).bx, true),
            (
                "owner's zero member".into(),
                member(&e, "owner", ERG, 0, 0).bx,
                true,
            ),
            (
                "provider's zero member".into(),
                member(&e, "provider", 2_000_000, 100, 0).bx,
                false,
            ),
            (
                "owner's unhealthy member".into(),
                member(&e, "owner", ERG, 0, -30_000).bx,
                true,
            ),
            (
                "other's positive member".into(),
                member(&e, "other", ERG, 0, 5000).bx,
                false,
            ),
            (
                "attacker's member".into(),
                member(&e, "exec", 1_000_000, 0, 0).bx,
                true,
            ),
            (
                "owner's rosen deposit".into(),
                rosen_deposit(&e, "owner", 50_000_000, 1500).bx,
                true,
            ),
            (
                "attacker's rosen deposit".into(),
                rosen_deposit(&e, "exec", 10_000_000, 0).bx,
                false,
            ),
        ];
        let p2pk = ["consumer", "provider", "owner", "other", "exec", "arb1"]
            .iter()
            .map(|t| (format!("{t}'s P2PK box"), p2pk_box(t, ERG, &[(g, 5000)])))
            .collect();
        let junk = token_id([0x55; 32]);
        let rich = p2pk_box(
            ATTACKER,
            100_000 * ERG,
            &[
                (g, 1_000_000_000_000),
                (c.params.sigusd_id, 1_000_000_000),
                (junk, 1_000_000),
            ],
        );
        let mut trees: Vec<(String, ErgoTree)> = ["exec", "consumer", "provider", "owner"]
            .iter()
            .map(|t| (format!("{t}'s key"), tree_of(t)))
            .collect();
        for (n, t) in [
            ("lease", &c.lease),
            ("listing", &c.listing),
            ("order", &c.order),
            ("arbitration", &c.arbitration),
            ("lets_member", &c.lets_member),
            ("lets_vault", &c.lets_vault),
        ] {
            trees.push((format!("{n} script"), t.clone()));
        }
        trees.push((
            "attacker's rosen deposit script".into(),
            c.rosen_deposit(&pk("exec")).unwrap(),
        ));
        trees.push(("miner fee".into(), miner_fee_tree()));
        let keys = ["consumer", "provider", "owner", "other", "exec"]
            .iter()
            .map(|t| (*t, sigma_const(&pk(t))))
            .collect();
        let tag_trees: Vec<(&'static str, ErgoTree)> =
            TAGS.iter().map(|t| (*t, tree_of(t))).collect();
        let mut known: Vec<(ErgoTree, Option<&'static str>)> = dgcm_contracts::Kind::ALL
            .iter()
            .filter(|k| **k != dgcm_contracts::Kind::RosenDeposit)
            .map(|k| (c.tree(*k).clone(), Some(k.name())))
            .collect();
        for t in TAGS {
            known.push((c.rosen_deposit(&pk(t)).unwrap(), Some("rosen_deposit")));
        }
        let unparsed = known
            .iter()
            .map(|(t, _)| {
                let bytes = t.sigma_serialize_bytes().unwrap();
                let u = ErgoTree::Unparsed {
                    tree_bytes: bytes,
                    error: ErgoTreeError::IoError("kept as bytes (outputs only)".into()),
                };
                (t.clone(), u)
            })
            .collect();
        known.extend(tag_trees.iter().map(|(_, t)| (t.clone(), None)));
        known.push((miner_fee_tree(), None));
        let nft = c.params.oracle_pool_nft;
        let int_oracle = on_chain(&ErgoBoxCandidate {
            additional_registers: NonMandatoryRegisters::try_from(vec![
                Constant::from(RATE as i32),
                Constant::from(1i32),
            ])
            .unwrap(),
            ..oracle(&e).as_candidate()
        });
        Pool {
            extra_tokens: vec![("junk", junk), ("GPUC", g), ("SigUSD", c.params.sigusd_id)],
            restricted: vec![c.params.membership_id, c.params.vault_nft],
            oracle: oracle(&e),
            asset_pools: asset_pools(&e)[1..].to_vec(),
            fake_oracle: fake_oracle(),
            stale_oracle: oracle_with(nft, RATE * 2),
            int_oracle,
            other_id: running_lease(&e).bx.box_id().as_ref().to_vec(),
            fee_tree: miner_fee_tree(),
            protocol,
            p2pk,
            rich,
            trees,
            keys,
            tag_trees,
            known,
            unparsed,
            e,
        }
    }

    /// The protocol kind of a script: the deployment's trees and every test key's Rosen deposit
    /// tree are compared directly (no serialisation); anything else by template hash.
    fn kind(&self, t: &ErgoTree) -> Option<&'static str> {
        if let Some((_, k)) = self.known.iter().find(|(x, _)| x == t) {
            return *k;
        }
        self.e.c.kind_of(t).map(|k| k.name())
    }

    /// A short name of a box's owner script.
    fn label(&self, t: &ErgoTree) -> String {
        if let Some(k) = self.kind(t) {
            return k.into();
        }
        if let Some((tag, _)) = self.tag_trees.iter().find(|(_, x)| x == t) {
            return format!("{tag}'s key");
        }
        if *t == self.fee_tree {
            return "fee".into();
        }
        "p2pk".into()
    }
}

trait AsCandidate {
    fn as_candidate(&self) -> ErgoBoxCandidate;
}

impl AsCandidate for ErgoBox {
    fn as_candidate(&self) -> ErgoBoxCandidate {
        ErgoBoxCandidate {
            value: self.value,
            ergo_tree: self.ergo_tree.clone(),
            tokens: self.tokens.clone(),
            additional_registers: self.additional_registers.clone(),
            creation_height: self.creation_height,
        }
    }
}

// ------------------------------------------------------------------------------ mutants

type RawFn<'a> = Arc<dyn Fn(&mut Vec<ErgoBoxCandidate>, Option<usize>) -> bool + Send + Sync + 'a>;
type DraftFn<'a> = Arc<dyn Fn(&mut Mutant<'a>) -> bool + Send + Sync + 'a>;

#[derive(Clone)]
struct Mutant<'a> {
    draft: TxDraft,
    /// Validation height.
    height: u32,
    /// Alterations of the finished transaction's outputs (no re-balancing).
    raw: Vec<RawFn<'a>>,
    desc: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Cat {
    AddInput,
    Passthrough,
    Inputs,
    Ext,
    Structure,
    Register,
    Tokens,
    Value,
    Script,
    Data,
    Height,
    Burn,
    Raw,
}

const ALL_CATS: [Cat; 13] = [
    Cat::AddInput,
    Cat::Passthrough,
    Cat::Inputs,
    Cat::Ext,
    Cat::Structure,
    Cat::Register,
    Cat::Tokens,
    Cat::Value,
    Cat::Script,
    Cat::Data,
    Cat::Height,
    Cat::Burn,
    Cat::Raw,
];
const CONTENT_CATS: [Cat; 4] = [Cat::Register, Cat::Tokens, Cat::Value, Cat::Script];

impl Cat {
    /// Changes the transaction's shape or context rather than an output's content.
    fn structural(self) -> bool {
        !matches!(
            self,
            Cat::Register | Cat::Tokens | Cat::Value | Cat::Script | Cat::Raw
        )
    }
}

struct Op<'a> {
    cat: Cat,
    desc: String,
    f: DraftFn<'a>,
}

fn op<'a>(
    cat: Cat,
    desc: String,
    f: impl Fn(&mut Mutant<'a>) -> bool + Send + Sync + 'a,
) -> Op<'a> {
    Op {
        cat,
        desc,
        f: Arc::new(f),
    }
}

fn raw_op<'a>(
    desc: String,
    f: impl Fn(&mut Vec<ErgoBoxCandidate>, Option<usize>) -> bool + Send + Sync + 'a,
) -> Op<'a> {
    let r: RawFn<'a> = Arc::new(f);
    op(Cat::Raw, format!("raw: {desc}"), move |m| {
        m.raw.push(r.clone());
        true
    })
}

fn toks(c: &ErgoBoxCandidate) -> Vec<(TokenId, u64)> {
    c.tokens
        .as_ref()
        .map(|t| t.iter().map(|t| (t.token_id, *t.amount.as_u64())).collect())
        .unwrap_or_default()
}

fn add_token(list: &mut Vec<(TokenId, u64)>, id: TokenId, n: u64) {
    match list.iter_mut().find(|(i, _)| *i == id) {
        Some(t) => t.1 = t.1.saturating_add(n),
        None => list.push((id, n)),
    }
}

fn set_regs(c: &mut ErgoBoxCandidate, regs: Vec<Constant>) -> bool {
    match NonMandatoryRegisters::try_from(regs) {
        Ok(r) => {
            c.additional_registers = r;
            true
        }
        Err(_) => false,
    }
}

fn long_variants(x: i64) -> Vec<(String, i64)> {
    let mut v = vec![
        ("+1".to_string(), x.wrapping_add(1)),
        ("-1".into(), x.wrapping_sub(1)),
        ("0".into(), 0),
        ("negated".into(), x.wrapping_neg()),
        ("= -1".into(), -1),
        ("+10^9".into(), x.saturating_add(1_000_000_000)),
        ("max".into(), i64::MAX),
        ("min".into(), i64::MIN),
    ];
    v.retain(|(_, y)| *y != x);
    v.dedup_by_key(|(_, y)| *y);
    v
}

/// Other values, lengths and types for a register constant.
fn reg_variants(c: &Constant, pool: &Pool) -> Vec<(String, Constant)> {
    let mut v: Vec<(String, Constant)> = vec![];
    let coll_of = |t: &SType| match t {
        SType::SColl(inner) => Some((**inner).clone()),
        _ => None,
    };
    match &c.tpe {
        SType::SLong => {
            let x: i64 = c.v.clone().try_extract_into().unwrap_or(0);
            for (d, y) in long_variants(x) {
                v.push((d, Constant::from(y)));
            }
            v.push(("as Int [type]".into(), Constant::from(x as i32)));
            v.push((
                "as Coll[Byte] [type]".into(),
                Constant::from(x.to_be_bytes().to_vec()),
            ));
        }
        SType::SInt => {
            let x: i32 = c.v.clone().try_extract_into().unwrap_or(0);
            for (d, y) in long_variants(x as i64) {
                v.push((d, Constant::from(y as i32)));
            }
            v.push(("as Long [type]".into(), Constant::from(x as i64)));
        }
        SType::SSigmaProp => {
            let sp: Option<SigmaProp> = c.v.clone().try_extract_into().ok();
            for (tag, k) in &pool.keys {
                if k != c {
                    v.push((format!("{tag}'s key"), k.clone()));
                }
            }
            let bytes = sp
                .as_ref()
                .and_then(prove_dlog)
                .and_then(|d| p2pk_tree(&d).sigma_serialize_bytes().ok())
                .unwrap_or_default();
            v.push((
                "as Coll[Byte] propBytes [type]".into(),
                Constant::from(bytes),
            ));
            v.push(("as Long [type]".into(), Constant::from(0i64)));
        }
        t if coll_of(t) == Some(SType::SLong) => {
            let xs: Vec<i64> = c.v.clone().try_extract_into().unwrap_or_default();
            for i in 0..xs.len() {
                for (d, y) in long_variants(xs[i]) {
                    let mut ys = xs.clone();
                    ys[i] = y;
                    v.push((format!("[{i}] {d}"), Constant::from(ys)));
                }
            }
            if !xs.is_empty() {
                v.push((
                    "last dropped".into(),
                    Constant::from(xs[..xs.len() - 1].to_vec()),
                ));
                v.push(("empty".into(), Constant::from(Vec::<i64>::new())));
            }
            let mut more = xs.clone();
            more.push(0);
            v.push(("0 appended".into(), Constant::from(more)));
            let ints: Vec<i32> = xs.iter().map(|x| *x as i32).collect();
            v.push(("as Coll[Int] [type]".into(), Constant::from(ints)));
        }
        t if coll_of(t) == Some(SType::SByte) => {
            let xs: Vec<u8> = c.v.clone().try_extract_into().unwrap_or_default();
            if !xs.is_empty() {
                v.push(("empty".into(), Constant::from(Vec::<u8>::new())));
                let mut f = xs.clone();
                f[0] ^= 1;
                v.push(("first byte flipped".into(), Constant::from(f)));
                v.push((
                    "last byte dropped".into(),
                    Constant::from(xs[..xs.len() - 1].to_vec()),
                ));
            } else {
                v.push(("32 bytes".into(), Constant::from(vec![0xcdu8; 32])));
            }
            let mut more = xs.clone();
            more.push(0);
            v.push(("byte appended".into(), Constant::from(more)));
            if xs != pool.other_id {
                v.push((
                    "another box id".into(),
                    Constant::from(pool.other_id.clone()),
                ));
            }
            v.push(("as Int [type]".into(), Constant::from(xs.len() as i32)));
            v.push((
                "as Coll[Coll[Byte]] [type]".into(),
                Constant::from(vec![xs.clone()]),
            ));
        }
        t if coll_of(t) == Some(SType::SColl(Arc::new(SType::SByte))) => {
            let xs: Vec<Vec<u8>> = c.v.clone().try_extract_into().unwrap_or_default();
            for i in 0..xs.len() {
                let mut ys = xs.clone();
                if ys[i].is_empty() {
                    ys[i] = b"x".to_vec();
                } else {
                    ys[i] = vec![];
                }
                v.push((format!("[{i}] changed"), Constant::from(ys)));
            }
            if !xs.is_empty() {
                v.push((
                    "last dropped".into(),
                    Constant::from(xs[..xs.len() - 1].to_vec()),
                ));
            }
            let mut more = xs.clone();
            more.push(vec![]);
            v.push(("empty appended".into(), Constant::from(more)));
            v.push(("as Coll[Byte] [type]".into(), Constant::from(xs.concat())));
        }
        _ => {
            v.push(("as Long [type]".into(), Constant::from(0i64)));
            v.push((
                "as Coll[Byte] [type]".into(),
                Constant::from(Vec::<u8>::new()),
            ));
        }
    }
    v
}

fn ext_variants(e: &ContextExtension) -> Vec<(String, ContextExtension)> {
    let mut v = vec![];
    let with = |k: u8, c: Option<Constant>| {
        let mut x = e.clone();
        match c {
            Some(c) => {
                x.values.insert(k, c);
            }
            None => {
                x.values.shift_remove(&k);
            }
        }
        x
    };
    let cur0 = e.values.get(&0).cloned();
    for s in [0i8, 1, 2, 3, 4, 5, 6, -1, 127] {
        let c = Constant::from(s);
        if cur0.as_ref() != Some(&c) {
            v.push((format!("selector {s}"), with(0, Some(c))));
        }
    }
    if cur0.is_some() {
        v.push(("selector removed".into(), with(0, None)));
        let s: i8 = cur0
            .as_ref()
            .and_then(|c| c.v.clone().try_extract_into().ok())
            .unwrap_or(0);
        v.push((
            "selector as Int [type]".into(),
            with(0, Some(Constant::from(s as i32))),
        ));
    }
    let cur1 = e.values.get(&1).cloned();
    for i in 0i32..4 {
        let c = Constant::from(i);
        if cur1.as_ref() != Some(&c) {
            v.push((format!("var 1 = {i}"), with(1, Some(c))));
        }
    }
    if let Some(c1) = cur1 {
        v.push(("var 1 removed".into(), with(1, None)));
        let i: i32 = c1.v.try_extract_into().unwrap_or(0);
        v.push((
            "var 1 as Long [type]".into(),
            with(1, Some(Constant::from(i as i64))),
        ));
    }
    v.push(("var 2 added".into(), with(2, Some(Constant::from(0i32)))));
    v
}

/// The draft mutations of `m` in the categories `cats`.
fn neighbourhood<'a>(m: &Mutant<'a>, pool: &'a Pool, cats: &[Cat]) -> Vec<Op<'a>> {
    let want = |c: Cat| cats.contains(&c);
    let d = &m.draft;
    let n_in = d.inputs.len();
    let n_out = d.outputs.len();
    let mut ops: Vec<Op<'a>> = vec![];
    let in_label = |i: usize| format!("in{i}({})", pool.label(&d.inputs[i].bx.ergo_tree));
    let out_label = |i: usize| format!("out{i}({})", pool.label(&d.outputs[i].ergo_tree));

    if want(Cat::AddInput) {
        for (name, b, _) in pool.protocol.iter().filter(|p| p.2) {
            for at in 0..=n_in {
                for s in SELECTORS {
                    ops.push(op(
                        Cat::AddInput,
                        format!("add {name} as input {at} (selector {s}, var 1 = {at})"),
                        move |m| {
                            let at = at.min(m.draft.inputs.len());
                            m.draft.inputs.insert(
                                at,
                                Spend {
                                    bx: b.clone(),
                                    ext: sel_idx(s, at as i32),
                                },
                            );
                            true
                        },
                    ));
                }
            }
        }
        for (name, b) in &pool.p2pk {
            for at in 0..=n_in {
                ops.push(op(
                    Cat::AddInput,
                    format!("add {name} as input {at}"),
                    move |m| {
                        let at = at.min(m.draft.inputs.len());
                        m.draft.inputs.insert(
                            at,
                            Spend {
                                bx: b.clone(),
                                ext: ContextExtension::empty(),
                            },
                        );
                        true
                    },
                ));
            }
        }
    }
    if want(Cat::Passthrough) {
        for (name, b, _) in &pool.protocol {
            for at in 0..=n_in {
                for s in SELECTORS {
                    ops.push(op(
                        Cat::Passthrough,
                        format!(
                            "pass {name} through as input {at} (selector {s}, var 1 = {at}) \
                             with its identical successor at output {at}"
                        ),
                        move |m| {
                            let at = at.min(m.draft.inputs.len());
                            m.draft.inputs.insert(
                                at,
                                Spend {
                                    bx: b.clone(),
                                    ext: sel_idx(s, at as i32),
                                },
                            );
                            let mut succ = b.as_candidate();
                            succ.creation_height = m.draft.height;
                            let o = at.min(m.draft.outputs.len());
                            m.draft.outputs.insert(o, succ);
                            true
                        },
                    ));
                }
            }
        }
    }
    if want(Cat::Inputs) {
        for i in 0..n_in {
            ops.push(op(
                Cat::Inputs,
                format!("remove {}", in_label(i)),
                move |m| {
                    i < m.draft.inputs.len() && {
                        m.draft.inputs.remove(i);
                        true
                    }
                },
            ));
            ops.push(op(
                Cat::Inputs,
                format!("spend {} twice", in_label(i)),
                move |m| {
                    i < m.draft.inputs.len() && {
                        let s = m.draft.inputs[i].clone();
                        m.draft.inputs.push(s);
                        true
                    }
                },
            ));
            for j in i + 1..n_in {
                ops.push(op(
                    Cat::Inputs,
                    format!("swap {} and {}", in_label(i), in_label(j)),
                    move |m| {
                        j < m.draft.inputs.len() && {
                            m.draft.inputs.swap(i, j);
                            true
                        }
                    },
                ));
            }
        }
    }
    if want(Cat::Ext) {
        for i in 0..n_in {
            for (dsc, ext) in ext_variants(&d.inputs[i].ext) {
                ops.push(op(Cat::Ext, format!("{}: {dsc}", in_label(i)), move |m| {
                    i < m.draft.inputs.len() && {
                        m.draft.inputs[i].ext = ext.clone();
                        true
                    }
                }));
            }
        }
    }
    if want(Cat::Structure) {
        for i in 0..n_out {
            ops.push(op(
                Cat::Structure,
                format!("remove {}", out_label(i)),
                move |m| {
                    i < m.draft.outputs.len() && {
                        m.draft.outputs.remove(i);
                        true
                    }
                },
            ));
            ops.push(op(
                Cat::Structure,
                format!("duplicate {}", out_label(i)),
                move |m| {
                    i < m.draft.outputs.len() && {
                        let o = m.draft.outputs[i].clone();
                        m.draft.outputs.insert(i + 1, o);
                        true
                    }
                },
            ));
            ops.push(op(
                Cat::Structure,
                format!("move {} to the end", out_label(i)),
                move |m| {
                    i + 1 < m.draft.outputs.len() && {
                        let o = m.draft.outputs.remove(i);
                        m.draft.outputs.push(o);
                        true
                    }
                },
            ));
            for j in i + 1..n_out {
                ops.push(op(
                    Cat::Structure,
                    format!("swap {} and {}", out_label(i), out_label(j)),
                    move |m| {
                        j < m.draft.outputs.len() && {
                            m.draft.outputs.swap(i, j);
                            true
                        }
                    },
                ));
            }
        }
    }
    if want(Cat::Register) {
        for i in 0..n_out {
            let regs = regs_of(&d.outputs[i]);
            for (k, c) in regs.iter().enumerate() {
                for (dsc, val) in reg_variants(c, pool) {
                    ops.push(op(
                        Cat::Register,
                        format!("{} R{}: {dsc}", out_label(i), k + 4),
                        move |m| {
                            i < m.draft.outputs.len() && {
                                let mut r = regs_of(&m.draft.outputs[i]);
                                k < r.len() && {
                                    r[k] = val.clone();
                                    set_regs(&mut m.draft.outputs[i], r)
                                }
                            }
                        },
                    ));
                }
                ops.push(op(
                    Cat::Register,
                    format!("{} R{} and later dropped", out_label(i), k + 4),
                    move |m| {
                        i < m.draft.outputs.len() && {
                            let mut r = regs_of(&m.draft.outputs[i]);
                            k < r.len() && {
                                r.truncate(k);
                                set_regs(&mut m.draft.outputs[i], r)
                            }
                        }
                    },
                ));
            }
            if regs.len() < 6 {
                let extra: [(&str, Constant); 3] = [
                    ("Long 0", Constant::from(0i64)),
                    ("empty Coll[Byte]", Constant::from(Vec::<u8>::new())),
                    ("attacker's key", sigma_const(&pk(ATTACKER))),
                ];
                for (dsc, val) in extra {
                    ops.push(op(
                        Cat::Register,
                        format!("{} R{} added: {dsc}", out_label(i), regs.len() + 4),
                        move |m| {
                            i < m.draft.outputs.len() && {
                                let mut r = regs_of(&m.draft.outputs[i]);
                                r.push(val.clone());
                                set_regs(&mut m.draft.outputs[i], r)
                            }
                        },
                    ));
                }
            }
        }
    }
    if want(Cat::Tokens) {
        for i in 0..n_out {
            let ts = toks(&d.outputs[i]);
            for (t, (_, amt)) in ts.iter().enumerate() {
                let amt = *amt;
                let amounts = [
                    ("+1", amt + 1),
                    ("-1", amt - 1),
                    ("doubled", amt.saturating_mul(2)),
                    ("halved", amt / 2),
                    ("0 (dropped)", 0),
                ];
                for (dsc, n) in amounts {
                    if n == amt {
                        continue;
                    }
                    ops.push(op(
                        Cat::Tokens,
                        format!("{} token {t}: {dsc}", out_label(i)),
                        move |m| {
                            i < m.draft.outputs.len() && {
                                let mut l = toks(&m.draft.outputs[i]);
                                t < l.len() && {
                                    l[t].1 = n;
                                    set_tokens(&mut m.draft.outputs[i], &l);
                                    true
                                }
                            }
                        },
                    ));
                }
                for j in (0..n_out).filter(|j| *j != i) {
                    for all in [true, false] {
                        ops.push(op(
                            Cat::Tokens,
                            format!(
                                "{} of token {t} of {} moved to {}",
                                if all { "all" } else { "1" },
                                out_label(i),
                                out_label(j)
                            ),
                            move |m| {
                                j < m.draft.outputs.len() && i < m.draft.outputs.len() && {
                                    let mut l = toks(&m.draft.outputs[i]);
                                    t < l.len() && {
                                        let (id, n) = l[t];
                                        let mv = if all { n } else { 1 };
                                        l[t].1 = n - mv;
                                        set_tokens(&mut m.draft.outputs[i], &l);
                                        let mut r = toks(&m.draft.outputs[j]);
                                        add_token(&mut r, id, mv);
                                        set_tokens(&mut m.draft.outputs[j], &r);
                                        true
                                    }
                                }
                            },
                        ));
                    }
                }
            }
            if !ts.is_empty() {
                ops.push(op(
                    Cat::Tokens,
                    format!("{} tokens dropped", out_label(i)),
                    move |m| {
                        i < m.draft.outputs.len() && {
                            m.draft.outputs[i].tokens = None;
                            true
                        }
                    },
                ));
            }
            if ts.len() > 1 {
                ops.push(op(
                    Cat::Tokens,
                    format!("{} tokens reversed", out_label(i)),
                    move |m| {
                        i < m.draft.outputs.len() && {
                            let mut l = toks(&m.draft.outputs[i]);
                            l.reverse();
                            set_tokens(&mut m.draft.outputs[i], &l);
                            true
                        }
                    },
                ));
            }
            for (name, id) in &pool.extra_tokens {
                let id = *id;
                ops.push(op(
                    Cat::Tokens,
                    format!("{} gets 1 {name}", out_label(i)),
                    move |m| {
                        i < m.draft.outputs.len() && {
                            let mut l = toks(&m.draft.outputs[i]);
                            add_token(&mut l, id, 1);
                            set_tokens(&mut m.draft.outputs[i], &l);
                            true
                        }
                    },
                ));
            }
        }
    }
    if want(Cat::Value) {
        for i in 0..n_out {
            let v = val(&d.outputs[i]);
            let values = [
                ("-1", v.saturating_sub(1)),
                ("-100000", v.saturating_sub(100_000)),
                ("-1000000", v.saturating_sub(1_000_000)),
                ("halved", v / 2),
                ("dust minimum", min_value(&d.outputs[i])),
                ("+1000000", v + 1_000_000),
            ];
            for (dsc, n) in values {
                if n == v || n == 0 {
                    continue;
                }
                ops.push(op(
                    Cat::Value,
                    format!("{} ERG {dsc}", out_label(i)),
                    move |m| {
                        i < m.draft.outputs.len() && {
                            set_value(&mut m.draft.outputs[i], n);
                            true
                        }
                    },
                ));
            }
        }
    }
    if want(Cat::Script) {
        for i in 0..n_out {
            for (name, t) in &pool.trees {
                if *t == d.outputs[i].ergo_tree {
                    continue;
                }
                ops.push(op(
                    Cat::Script,
                    format!("{} script -> {name}", out_label(i)),
                    move |m| {
                        i < m.draft.outputs.len() && {
                            m.draft.outputs[i].ergo_tree = t.clone();
                            true
                        }
                    },
                ));
            }
        }
    }
    if want(Cat::Data) {
        let has = !d.data_inputs.is_empty();
        let mut data = |dsc: &str, f: fn(&mut Vec<ErgoBox>, &Pool) -> bool| {
            ops.push(op(Cat::Data, format!("data inputs: {dsc}"), move |m| {
                f(&mut m.draft.data_inputs, pool)
            }));
        };
        if has {
            data("removed", |d, _| {
                d.clear();
                true
            });
            data("first replaced by a fake oracle (other NFT)", |d, p| {
                d[0] = p.fake_oracle.clone();
                true
            });
            data(
                "first replaced by a real-NFT oracle at twice the rate",
                |d, p| {
                    d[0] = p.stale_oracle.clone();
                    true
                },
            );
            data(
                "first replaced by a real-NFT oracle with an Int rate",
                |d, p| {
                    d[0] = p.int_oracle.clone();
                    true
                },
            );
        } else {
            data("the oracle added", |d, p| {
                d.push(p.oracle.clone());
                true
            });
        }
        data("a fake oracle prepended", |d, p| {
            d.insert(0, p.fake_oracle.clone());
            true
        });
        if d.data_inputs.len() > 1 {
            data("last removed", |d, _| {
                d.pop();
                true
            });
            data(
                "last replaced by a fake pool (other NFT, same rate)",
                |d, _| {
                    let Some(last) = d.last_mut() else {
                        return false;
                    };
                    let mut c = last.as_candidate();
                    c.tokens = dgcm_contracts::util::tokens(&[(token_id([0xef; 32]), 1)]);
                    *last = on_chain(&c);
                    true
                },
            );
            data(
                "last replaced by another asset's genuine pool at its rate",
                |d, p| {
                    let Some(last) = d.last_mut() else {
                        return false;
                    };
                    let Some(other) = p
                        .asset_pools
                        .iter()
                        .find(|b| b.tokens != last.tokens)
                        .cloned()
                    else {
                        return false;
                    };
                    let mut c = other.as_candidate();
                    c.additional_registers = last.additional_registers.clone();
                    *last = on_chain(&c);
                    true
                },
            );
            // stale for the rsBTC pool (720 blocks on the devnet deployment), not for 10^6
            data("last re-created at height 0", |d, _| {
                let Some(last) = d.last_mut() else {
                    return false;
                };
                let mut c = last.as_candidate();
                c.creation_height = 0;
                let Ok(b) = ErgoBox::from_box_candidate(&c, last.transaction_id, 1) else {
                    return false;
                };
                *last = b;
                true
            });
        }
        data("every asset pool appended", |d, p| {
            d.extend(p.asset_pools.iter().cloned());
            true
        });
        data("the vault appended", |d, p| {
            d.extend(
                p.protocol
                    .iter()
                    .filter(|x| x.0 == "vault")
                    .map(|x| x.1.clone()),
            );
            true
        });
    }
    if want(Cat::Height) {
        for dh in [-61i64, -31, -30, -10, -2, -1, 1, 2, 10, 30, 31, 61, 2200] {
            ops.push(op(
                Cat::Height,
                format!("validated at height {dh:+}"),
                move |m| {
                    m.height = (m.height as i64 + dh) as u32;
                    true
                },
            ));
        }
    }
    if want(Cat::Burn) {
        if !d.burn.is_empty() {
            ops.push(op(Cat::Burn, "burns cleared".into(), |m| {
                m.draft.burn.clear();
                true
            }));
        }
        let mut ids: Vec<TokenId> = vec![];
        for s in &d.inputs {
            for (id, _) in box_tokens(&s.bx) {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        for id in ids {
            ops.push(op(
                Cat::Burn,
                format!("1 of {} burnt", short(&id)),
                move |m| {
                    m.draft.burn.push((id, 1));
                    true
                },
            ));
        }
    }
    if want(Cat::Raw) {
        let n_final = n_out + 2;
        for i in 0..n_final {
            ops.push(raw_op(format!("final output {i} removed"), move |o, _| {
                i < o.len() && {
                    o.remove(i);
                    true
                }
            }));
            ops.push(raw_op(
                format!("final output {i} duplicated"),
                move |o, _| {
                    i < o.len() && {
                        let x = o[i].clone();
                        o.insert(i + 1, x);
                        true
                    }
                },
            ));
            for j in i + 1..n_final {
                ops.push(raw_op(
                    format!("final outputs {i} and {j} swapped"),
                    move |o, _| {
                        j < o.len() && {
                            o.swap(i, j);
                            true
                        }
                    },
                ));
            }
            ops.push(raw_op(
                format!("tokens of final output {i} moved to the change"),
                move |o, ci| match ci {
                    Some(c) if c != i && i < o.len() && o[i].tokens.is_some() => {
                        let mut l = toks(&o[c]);
                        for (id, n) in toks(&o[i]) {
                            add_token(&mut l, id, n);
                        }
                        o[i].tokens = None;
                        set_tokens(&mut o[c], &l);
                        true
                    }
                    _ => false,
                },
            ));
            ops.push(raw_op(
                format!("100000 nanoERG of final output {i} moved to the change"),
                move |o, ci| match ci {
                    Some(c) if c != i && i < o.len() && val(&o[i]) > 100_000 => {
                        let (a, b) = (val(&o[i]), val(&o[c]));
                        set_value(&mut o[i], a - 100_000);
                        set_value(&mut o[c], b + 100_000);
                        true
                    }
                    _ => false,
                },
            ));
        }
        for (name, t) in &pool.trees {
            ops.push(raw_op(
                format!("change script -> {name}"),
                move |o, ci| match ci {
                    Some(c) => {
                        o[c].ergo_tree = t.clone();
                        true
                    }
                    None => false,
                },
            ));
        }
        ops.push(raw_op("change gets R4 = Long 0".into(), |o, ci| match ci {
            Some(c) => set_regs(&mut o[c], vec![Constant::from(0i64)]),
            None => false,
        }));
        ops.push(raw_op("miner fee moved to the change".into(), |o, ci| {
            let fee = miner_fee_tree();
            match (ci, o.iter().position(|x| x.ergo_tree == fee)) {
                (Some(c), Some(f)) if c != f => {
                    let (a, b) = (val(&o[f]), val(&o[c]));
                    set_value(&mut o[c], a + b);
                    o.remove(f);
                    true
                }
                _ => false,
            }
        }));
    }
    ops
}

fn short(id: &TokenId) -> String {
    let d: ergo_lib::ergo_chain_types::Digest32 = (*id).into();
    hex::encode(&d.0[..4])
}

// ------------------------------------------------------------------------------ realise, validate

/// A mutant as a transaction's parts (ergo-lib re-serialises every tree each time it computes a
/// transaction or box id, about 2 ms for a protocol tree: the parts are assembled here, and the
/// transaction is built once, by [`quiet_verdict`]).
struct Built {
    inputs: Vec<ErgoBox>,
    exts: Vec<ContextExtension>,
    data: Vec<ErgoBox>,
    outputs: Vec<ErgoBoxCandidate>,
}

impl Built {
    fn unsigned(&self) -> Option<UnsignedTransaction> {
        let inputs = self
            .inputs
            .iter()
            .zip(&self.exts)
            .map(|(b, e)| UnsignedInput::new(b.box_id(), e.clone()))
            .collect();
        let data = self
            .data
            .iter()
            .map(|b| DataInput { box_id: b.box_id() })
            .collect();
        UnsignedTransaction::new_from_vec(inputs, data, self.outputs.clone()).ok()
    }
}

/// What [`TxDraft::finish`] does (the executor's funding after the protocol inputs, a change box
/// for the ERG and tokens left, the fee; a token missing from the inputs may only be the one
/// minted), without building the transaction. `Err(())`: the executor cannot pay for it.
#[allow(clippy::result_unit_err)]
fn assemble(d: &TxDraft, exec: &Executor) -> Result<(Built, Option<usize>), ()> {
    let mut inputs: Vec<ErgoBox> = d.inputs.iter().map(|s| s.bx.clone()).collect();
    let mut exts: Vec<ContextExtension> = d.inputs.iter().map(|s| s.ext.clone()).collect();
    inputs.extend(exec.funding.iter().cloned());
    exts.extend(exec.funding.iter().map(|_| ContextExtension::empty()));
    let minted: TokenId = inputs.first().ok_or(())?.box_id().into();
    let have: u64 = inputs.iter().map(|b| *b.value.as_u64()).sum();
    let spent = d.outputs.iter().map(val).sum::<u64>() + exec.fee;
    let mut change = have.checked_sub(spent).ok_or(())?;
    let mut left: BTreeMap<Vec<u8>, (TokenId, i128)> = BTreeMap::new();
    let mut add = |id: TokenId, n: i128| {
        left.entry(token_bytes(&id)).or_insert((id, 0)).1 += n;
    };
    for b in &inputs {
        for (id, n) in box_tokens(b) {
            add(id, n as i128);
        }
    }
    for o in &d.outputs {
        for (id, n) in toks(o) {
            add(id, -(n as i128));
        }
    }
    for (id, n) in &d.burn {
        add(*id, -(*n as i128));
    }
    let mut change_tokens = vec![];
    for (id, n) in left.into_values() {
        if n < 0 && id != minted {
            return Err(());
        }
        if n > 0 {
            change_tokens.push((id, n as u64));
        }
    }
    let mut outputs = d.outputs.clone();
    let mut fee = exec.fee;
    let mut change_index = None;
    if change > 0 || !change_tokens.is_empty() {
        let c = dgcm_contracts::codec::candidate(
            "change",
            exec.change.clone(),
            change,
            dgcm_contracts::util::tokens(&change_tokens),
            vec![],
            d.height,
        )
        .map_err(|_| ())?;
        if val(&c) > change {
            if !change_tokens.is_empty() {
                return Err(());
            }
            fee += change;
            change = 0;
        }
        if change > 0 {
            change_index = Some(outputs.len());
            outputs.push(c);
        }
    }
    if fee > 0 {
        outputs.push(
            dgcm_contracts::codec::candidate("fee", miner_fee_tree(), fee, None, vec![], d.height)
                .map_err(|_| ())?,
        );
    }
    let data = d.data_inputs.clone();
    Ok((
        Built {
            inputs,
            exts,
            data,
            outputs,
        },
        change_index,
    ))
}

/// The mutant as a transaction: the draft finished by the executor (with the attacker's extra
/// funding when needed), then the raw alterations.
fn realise(m: &Mutant, sc: &Scenario, pool: &Pool) -> Option<Built> {
    let mut d = m.draft.clone();
    for o in &mut d.outputs {
        // no box is larger than ~5 kB: only small values can be below the dust minimum
        if val(o) < 2_000_000 {
            let min = min_value(o);
            if val(o) < min {
                set_value(o, min + 1000);
            }
        }
    }
    let (mut b, change) = match assemble(&d, &sc.exec) {
        Ok(x) => x,
        Err(()) => {
            let mut ex = sc.exec.clone();
            ex.funding.push(pool.rich.clone());
            assemble(&d, &ex).ok()?
        }
    };
    for r in &m.raw {
        if !r(&mut b.outputs, change) {
            return None;
        }
    }
    Some(b)
}

/// The harness's `verdict` without the cross-check record (every mutant goes through here; the
/// ones to record go through `verdict` again), in fewer steps: the transaction is built once, an
/// input whose script reduces to false ends it before anything is signed (ergo-lib's validation
/// would refuse it at that input), inputs that need a key are proven by `prover` with one message
/// for all (an input it cannot prove makes the transaction invalid); then ergo-lib validates the
/// signed transaction. Returns the signed transaction when it was accepted.
fn quiet_verdict(
    b: &Built,
    pool: &Pool,
    prover: &TestProver,
    props: &mut HashMap<BoxId, Expr>,
    state: &ErgoStateContext,
) -> (Verdict, Option<Transaction>) {
    let r = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let empty: Vec<Input> = b
            .inputs
            .iter()
            .zip(&b.exts)
            .map(|(x, e)| {
                Input::from_unsigned_input(
                    UnsignedInput::new(x.box_id(), e.clone()),
                    ProofBytes::Empty,
                )
            })
            .collect();
        let data_ids: Vec<DataInput> = b
            .data
            .iter()
            .map(|x| DataInput { box_id: x.box_id() })
            .collect();
        let twin = |t: &ErgoTree| pool.unparsed.iter().find(|(x, _)| x == t).map(|x| &x.1);
        let outputs: Vec<ErgoBoxCandidate> = b
            .outputs
            .iter()
            .map(|o| {
                let mut o = o.clone();
                if let Some(u) = twin(&o.ergo_tree) {
                    o.ergo_tree = u.clone();
                }
                o
            })
            .collect();
        // the scripts run on their parsed trees (cached); the context's boxes are the twins
        let twins: Vec<ErgoBox> = b
            .inputs
            .iter()
            .map(|x| {
                let mut x = x.clone();
                if let Some(u) = twin(&x.ergo_tree) {
                    x.ergo_tree = u.clone();
                }
                x
            })
            .collect();
        let mut tx = match Transaction::new_from_vec(empty, data_ids, outputs) {
            Ok(t) => t,
            Err(e) => return (Verdict::Other(format!("tx: {e}")), None),
        };
        // the node's stateless checks (a box spent twice, ...): ergo-lib's context validation
        // does not repeat them
        if let Err(e) = tx.validate_stateless() {
            return (Verdict::Other(e.to_string()), None);
        }
        let mut signed: Vec<Input> = vec![];
        {
            let tcx = match TransactionContext::new(tx.clone(), twins, b.data.clone()) {
                Ok(t) => t,
                Err(e) => return (Verdict::Other(format!("context: {e}")), None),
            };
            let mut message: Option<Vec<u8>> = None;
            for (i, x) in b.inputs.iter().enumerate() {
                let c = match make_context(state, &tcx, i) {
                    Ok(c) => c,
                    Err(e) => return (Verdict::Other(format!("context: {e}")), None),
                };
                let expr = match props.entry(x.box_id()) {
                    Entry::Occupied(e) => e.into_mut(),
                    Entry::Vacant(v) => match x.ergo_tree.proposition() {
                        Ok(e) => v.insert(e),
                        Err(e) => return (Verdict::Script(i, format!("{e}")), None),
                    },
                };
                match reduce_to_crypto(expr, &c) {
                    Err(e) => return (Verdict::Script(i, format!("{e}")), None),
                    Ok(r) => match r.sigma_prop {
                        SigmaBoolean::TrivialProp(false) => {
                            return (Verdict::Script(i, "reduced to false".into()), None)
                        }
                        SigmaBoolean::TrivialProp(true) => {
                            signed.push(tcx.spending_tx.inputs.as_vec()[i].clone());
                            continue;
                        }
                        _ => {}
                    },
                }
                if message.is_none() {
                    match tcx.spending_tx.bytes_to_sign() {
                        Ok(m) => message = Some(m),
                        Err(e) => return (Verdict::Other(format!("tx: {e}")), None),
                    }
                }
                let msg = message.as_deref().unwrap_or_default();
                match prover.prove(&x.ergo_tree, &c, msg, &HintsBag::empty()) {
                    Ok(pr) => signed.push(Input::new(x.box_id(), pr.into())),
                    Err(_) => {
                        return (
                            Verdict::Script(i, "the signers cannot prove it".into()),
                            None,
                        )
                    }
                }
            }
        }
        // the id does not cover the proofs
        tx.inputs = match signed.try_into() {
            Ok(v) => v,
            Err(_) => return (Verdict::Other("inputs".into()), None),
        };
        let vcx = match TransactionContext::new(tx.clone(), b.inputs.clone(), b.data.clone()) {
            Ok(t) => t,
            Err(e) => return (Verdict::Other(format!("context: {e}")), None),
        };
        use ergo_lib::chain::transaction::ergo_transaction::TxValidationError as E;
        match vcx.validate(state) {
            Ok(()) => (Verdict::Valid, Some(tx)),
            Err(E::ReducedToFalse(i, _)) => (Verdict::Script(i, "reduced to false".into()), None),
            Err(E::VerifierError(i, e)) => (Verdict::Script(i, format!("{e}")), None),
            Err(e) => (Verdict::Other(e.to_string()), None),
        }
    }));
    r.unwrap_or_else(|_| (Verdict::Other("ergo-lib panicked".into()), None))
}

fn prover_of(tags: &[&str]) -> TestProver {
    TestProver {
        secrets: tags.iter().map(|t| PrivateInput::from(sk(t))).collect(),
    }
}

/// Whether input `idx`'s script, in the (accepted) transaction, needs a key.
fn needs_signature(tx: &Transaction, b: &Built, idx: usize, state: &ErgoStateContext) -> bool {
    let Ok(tcx) = TransactionContext::new(tx.clone(), b.inputs.clone(), b.data.clone()) else {
        return true;
    };
    let Ok(c) = make_context(state, &tcx, idx) else {
        return true;
    };
    let Ok(expr) = b.inputs[idx].ergo_tree.proposition() else {
        return true;
    };
    match reduce_to_crypto(&expr, &c) {
        Ok(r) => !matches!(r.sigma_prop, SigmaBoolean::TrivialProp(true)),
        Err(_) => true,
    }
}

// ------------------------------------------------------------------------------ judging

fn tokens_ge(o: &ErgoBoxCandidate, h: &[(TokenId, u64)]) -> bool {
    let t = toks(o);
    if t.len() == h.len() && t.iter().zip(h).all(|(a, b)| a.0 == b.0 && a.1 >= b.1) {
        return true;
    }
    // A member account's collateral is a set of listed assets read by id (token 0, the
    // membership, stays first): more of any, or another listed asset besides, is the owner's
    // gain, in whatever order.
    static DEPLOYMENT: std::sync::OnceLock<Contracts> = std::sync::OnceLock::new();
    let c = DEPLOYMENT.get_or_init(|| env().c);
    let p = &c.params;
    o.ergo_tree == c.lets_member
        && t.first() == h.first()
        && h.iter().skip(1).all(|(id, n)| {
            t.iter()
                .filter(|(x, _)| x == id)
                .map(|(_, a)| *a)
                .sum::<u64>()
                >= *n
        })
        && t.iter()
            .skip(1)
            .all(|(id, _)| p.asset_by_id(id).is_some() || h.iter().any(|(x, _)| x == id))
}

/// `o` stands for the reference box `h`: same script and registers, tokens ≥, value ≥.
fn same_box(o: &ErgoBoxCandidate, h: &ErgoBoxCandidate) -> bool {
    o.ergo_tree == h.ergo_tree
        && o.additional_registers == h.additional_registers
        && tokens_ge(o, &toks(h))
        && val(o) >= val(h)
}

/// ERG and tokens received at `tree`.
fn receipts(outs: &[ErgoBoxCandidate], tree: &ErgoTree) -> (u64, BTreeMap<Vec<u8>, u64>) {
    let mut erg = 0;
    let mut t = BTreeMap::new();
    for o in outs.iter().filter(|o| o.ergo_tree == *tree) {
        erg += val(o);
        for (id, n) in toks(o) {
            *t.entry(token_bytes(&id)).or_insert(0) += n;
        }
    }
    (erg, t)
}

struct Judge<'a> {
    sc: &'a Scenario,
    pool: &'a Pool,
    honest_ids: HashSet<BoxId>,
    victims: Vec<(&'static str, ErgoTree)>,
    reference: Vec<ErgoBoxCandidate>,
}

impl<'a> Judge<'a> {
    fn new(sc: &'a Scenario, pool: &'a Pool) -> Judge<'a> {
        let tags = sc.tags();
        Judge {
            sc,
            pool,
            honest_ids: sc.plan.inputs.iter().map(|b| b.box_id()).collect(),
            victims: TAGS
                .iter()
                .filter(|t| !tags.contains(t))
                .map(|t| (*t, tree_of(t)))
                .collect(),
            reference: sc.plan.unsigned.output_candidates.clone().to_vec(),
        }
    }

    /// `Some(why)` when the accepted mutant is harmful.
    fn harm(
        &self,
        tx: &Transaction,
        b: &Built,
        height: u32,
        state: &ErgoStateContext,
    ) -> Option<String> {
        let outs = &b.outputs;
        let proto: Vec<bool> = outs
            .iter()
            .map(|o| self.pool.kind(&o.ergo_tree).is_some())
            .collect();
        // protocol inputs the honest transaction did not spend, and whether a key of the wallet
        // authorised each (its owner's consent), worked out when needed
        let added: Vec<(usize, &ErgoBox, OnceCell<bool>)> = b
            .inputs
            .iter()
            .enumerate()
            .filter(|(_, x)| {
                !self.honest_ids.contains(&x.box_id()) && self.pool.kind(&x.ergo_tree).is_some()
            })
            .map(|(i, x)| (i, x, OnceCell::new()))
            .collect();
        let signed_for = |a: &(usize, &ErgoBox, OnceCell<bool>)| {
            *a.2.get_or_init(|| needs_signature(tx, b, a.0, state))
        };
        // scripts of added protocol inputs their owners signed for: what those owners do with
        // their own boxes is their own business (their paths have their own honest transactions)
        let signed = |t: &ErgoTree| added.iter().any(|a| a.1.ergo_tree == *t && signed_for(a));
        let spent: HashSet<BoxId> = b.inputs.iter().map(|x| x.box_id()).collect();
        let unspent_honest = self
            .sc
            .plan
            .inputs
            .iter()
            .any(|x| self.pool.kind(&x.ergo_tree).is_some() && !spent.contains(&x.box_id()));
        let judge = |reference: &[ErgoBoxCandidate]| -> Option<String> {
            let mut used = vec![false; outs.len()];
            if unspent_honest {
                // an honest protocol input left unspent stays its owners': the reference does
                // not apply; what is accounted for are its protocol outputs and the successors
                // of the honest inputs that were spent
                for h in reference {
                    let hit = (0..outs.len()).find(|&j| !used[j] && same_box(&outs[j], h));
                    if let Some(j) = hit {
                        used[j] = true;
                    }
                }
                for x in &self.sc.plan.inputs {
                    let hit = (0..outs.len()).find(|&j| !used[j] && self.continues(&outs[j], x));
                    if let Some(j) = hit {
                        used[j] = true;
                    }
                }
            } else if let Some(why) = self.counterparts(outs, &proto, &mut used, reference) {
                return Some(why);
            }
            // (c) every added protocol input continued or signed for
            for a in &added {
                let (i, x) = (a.0, a.1);
                let hit = (0..outs.len()).find(|&j| !used[j] && self.continues(&outs[j], x));
                match hit {
                    Some(j) => used[j] = true,
                    None if !signed_for(a) => {
                        return Some(format!(
                            "added {} input {i} was spent without a signature and not continued",
                            self.pool.label(&x.ergo_tree)
                        ))
                    }
                    None => {}
                }
            }
            if let Some(why) = self.restricted(outs, &proto, &used, &signed) {
                return Some(why);
            }
            if unspent_honest {
                return None;
            }
            self.victims_paid(outs, reference)
        };
        let first = judge(&self.reference)?;
        let alts = (self.sc.alts)(outs, height);
        let honest_variant = alts
            .iter()
            .any(|alt| judge(alt.unsigned.output_candidates.as_vec()).is_none());
        (!honest_variant).then_some(first)
    }

    /// `o` continues the added box `x`: same script and registers, value ≥, its tokens with
    /// amounts ≥, and any further tokens only where the kind's codec still reads the box (a
    /// top-up's new SigUSD).
    fn continues(&self, o: &ErgoBoxCandidate, x: &ErgoBox) -> bool {
        let t = toks(o);
        let xt = box_tokens(x);
        o.ergo_tree == x.ergo_tree
            && o.additional_registers == x.additional_registers
            && val(o) >= *x.value.as_u64()
            && t.len() >= xt.len()
            && t.iter().zip(&xt).all(|(a, b)| a.0 == b.0 && a.1 >= b.1)
            && (t.len() == xt.len() || self.parses(o))
    }

    /// The box parses with the codec of its kind.
    fn parses(&self, o: &ErgoBoxCandidate) -> bool {
        let c = &self.pool.e.c;
        match self.pool.kind(&o.ergo_tree) {
            Some("lease") => parse_as::<Lease>(c, o).is_some(),
            Some("listing") => parse_as::<Listing>(c, o).is_some(),
            Some("order") => parse_as::<Order>(c, o).is_some(),
            Some("arbitration") => parse_as::<Arbitration>(c, o).is_some(),
            Some("lets_member") => parse_as::<Member>(c, o).is_some(),
            Some("lets_vault") => parse_as::<Vault>(c, o).is_some(),
            Some("rosen_deposit") => parse_as::<RosenDeposit>(c, o).is_some(),
            _ => false,
        }
    }

    /// Rule (b), first half: each protocol output of the reference has its own counterpart
    /// (marked in `used`), except on free paths.
    fn counterparts(
        &self,
        outs: &[ErgoBoxCandidate],
        proto: &[bool],
        used: &mut [bool],
        reference: &[ErgoBoxCandidate],
    ) -> Option<String> {
        if self.sc.free {
            return None;
        }
        for (k, h) in reference.iter().enumerate() {
            let Some(kind) = self.pool.kind(&h.ergo_tree) else {
                continue;
            };
            match (0..outs.len()).find(|&j| !used[j] && proto[j] && same_box(&outs[j], h)) {
                Some(j) => used[j] = true,
                None => {
                    return Some(format!(
                        "the honest {kind} output {k} has no counterpart (script, registers, \
                         tokens ≥, value ≥)"
                    ))
                }
            }
        }
        None
    }

    /// Rule (a): every victim receives at least the reference's ERG (less [`DUST_SLACK`]) and
    /// tokens at its key.
    fn victims_paid(
        &self,
        outs: &[ErgoBoxCandidate],
        reference: &[ErgoBoxCandidate],
    ) -> Option<String> {
        for (who, tree) in &self.victims {
            let (e0, t0) = receipts(reference, tree);
            let (e1, t1) = receipts(outs, tree);
            if e1 + DUST_SLACK < e0 {
                return Some(format!("{who} receives {} nanoERG less", e0 - e1));
            }
            for (id, n) in t0 {
                let got = t1.get(&id).copied().unwrap_or(0);
                if got < n {
                    return Some(format!(
                        "{who} receives {} less of token {}",
                        n - got,
                        hex::encode(&id[..4])
                    ));
                }
            }
        }
        None
    }

    /// Rule (b), second half: no protocol output left unaccounted for holds a membership token
    /// or the vault NFT (unless it has the script of an added box its owner signed for).
    fn restricted(
        &self,
        outs: &[ErgoBoxCandidate],
        proto: &[bool],
        used: &[bool],
        signed: &dyn Fn(&ErgoTree) -> bool,
    ) -> Option<String> {
        for (j, o) in outs.iter().enumerate() {
            if proto[j] && !used[j] {
                let t = toks(o);
                if t.iter().any(|(id, _)| self.pool.restricted.contains(id))
                    && !signed(&o.ergo_tree)
                {
                    return Some(format!(
                        "extra {} output {j} holds a membership token or the vault NFT",
                        self.pool.label(&o.ergo_tree)
                    ));
                }
            }
        }
        None
    }
}

// ------------------------------------------------------------------------------ fuzzing

/// A transaction to re-validate through the harness's `verdict` (recorded for the cross-check).
struct Case {
    tx: UnsignedTransaction,
    inputs: Vec<ErgoBox>,
    data: Vec<ErgoBox>,
    height: u32,
}

struct Finding {
    path: &'static str,
    desc: String,
    verdict: String,
    why: String,
}

#[derive(Default)]
struct Outcome {
    mutations: usize,
    accepted: usize,
    accepted_by_cat: BTreeMap<String, usize>,
    harmful: Vec<Finding>,
    record: Vec<Case>,
    panics: usize,
    secs: f64,
}

struct Fuzzer<'a> {
    sc: &'a Scenario,
    pool: &'a Pool,
    judge: Judge<'a>,
    prover: TestProver,
    states: BTreeMap<u32, ErgoStateContext>,
    props: HashMap<BoxId, Expr>,
    out: Outcome,
    recorded_accepted: usize,
    recorded_harmful: usize,
}

impl<'a> Fuzzer<'a> {
    /// Validates and judges one mutant: `None` when it could not be built, `Some(true)` when it
    /// was accepted and is harmless.
    fn eval(&mut self, m: &Mutant<'a>, cat: Cat) -> Option<bool> {
        let b = realise(m, self.sc, self.pool)?;
        self.out.mutations += 1;
        let state = self.states.entry(m.height).or_insert_with(|| ctx(m.height));
        let (v, tx) = quiet_verdict(&b, self.pool, &self.prover, &mut self.props, state);
        if matches!(&v, Verdict::Other(s) if s == "ergo-lib panicked") {
            self.out.panics += 1;
        }
        let Some(tx) = tx else {
            return Some(false);
        };
        self.out.accepted += 1;
        *self
            .out
            .accepted_by_cat
            .entry(format!("{cat:?}"))
            .or_insert(0) += 1;
        let case = || Case {
            tx: b
                .unsigned()
                .expect("an accepted transaction is well-formed"),
            inputs: b.inputs.clone(),
            data: b.data.clone(),
            height: m.height,
        };
        let state = &self.states[&m.height];
        match self.judge.harm(&tx, &b, m.height, state) {
            Some(why) => {
                if self.recorded_harmful < RECORD_HARMFUL {
                    self.recorded_harmful += 1;
                    self.out.record.push(case());
                }
                self.out.harmful.push(Finding {
                    path: self.sc.path,
                    desc: m.desc.join("; "),
                    verdict: format!("{v:?}"),
                    why,
                });
                Some(false)
            }
            None => {
                if self.recorded_accepted < RECORD_ACCEPTED {
                    self.recorded_accepted += 1;
                    self.out.record.push(case());
                }
                Some(true)
            }
        }
    }

    fn apply(&self, seed: &Mutant<'a>, o: &Op<'a>) -> Option<Mutant<'a>> {
        let mut m = seed.clone();
        if !(o.f)(&mut m) {
            return None;
        }
        m.desc.push(o.desc.clone());
        Some(m)
    }

    fn run(mut self, k: usize, stride: usize, phase2: usize) -> Outcome {
        let mut rng = Rng::new(SEED ^ fnv(self.sc.path));
        let honest = Mutant {
            draft: self.sc.plan.draft.clone(),
            height: self.sc.height,
            raw: vec![],
            desc: vec![],
        };
        // phase 1: the honest transaction's neighbourhood
        let mut structural: Vec<Mutant<'a>> = vec![];
        for o in neighbourhood(&honest, self.pool, &ALL_CATS)
            .into_iter()
            .step_by(stride)
        {
            let Some(m) = self.apply(&honest, &o) else {
                continue;
            };
            if self.eval(&m, o.cat) == Some(true) && o.cat.structural() {
                structural.push(m);
            }
        }
        // phase 2: output contents on top of accepted structural mutants (added inputs first)
        structural.sort_by_key(|m| {
            let d = m.desc.join(";");
            (!d.starts_with("pass "), !d.starts_with("add "))
        });
        // (on free paths the outputs are the signers' own: nothing to stack on)
        let seeds = if self.sc.free { 0 } else { phase2 };
        for seed in structural.iter().take(seeds) {
            for o in neighbourhood(seed, self.pool, &CONTENT_CATS) {
                let Some(m) = self.apply(seed, &o) else {
                    continue;
                };
                self.eval(&m, o.cat);
            }
        }
        // phase 3: random stacks on the corpus
        let mut corpus: Vec<Mutant<'a>> = vec![honest];
        corpus.extend(structural.into_iter().take(32));
        let mut done = 0;
        let mut tries = 0;
        while done < k && tries < 20 * k.max(1) {
            tries += 1;
            let mut m = corpus[rng.below(corpus.len())].clone();
            let n = [1, 1, 1, 2, 2, 3][rng.below(6)];
            let mut last = Cat::Raw;
            let mut ok = true;
            for _ in 0..n {
                let mut ops = vec![];
                for _ in 0..8 {
                    last = ALL_CATS[rng.below(ALL_CATS.len())];
                    ops = neighbourhood(&m, self.pool, &[last]);
                    if !ops.is_empty() {
                        break;
                    }
                }
                if ops.is_empty() {
                    ok = false;
                    break;
                }
                let o = &ops[rng.below(ops.len())];
                match self.apply(&m, o) {
                    Some(x) => m = x,
                    None => {
                        ok = false;
                        break;
                    }
                }
            }
            if !ok {
                continue;
            }
            match self.eval(&m, last) {
                None => continue,
                Some(true) if corpus.len() < 64 => corpus.push(m),
                Some(_) => {}
            }
            done += 1;
        }
        self.out
    }
}

fn fuzz(sc: &Scenario, pool: &Pool, (k, stride, phase2): (usize, usize, usize)) -> Outcome {
    let f = Fuzzer {
        sc,
        pool,
        judge: Judge::new(sc, pool),
        prover: prover_of(&sc.tags()),
        states: BTreeMap::new(),
        props: HashMap::new(),
        out: Outcome::default(),
        recorded_accepted: 0,
        recorded_harmful: 0,
    };
    let t = Instant::now();
    let mut o = f.run(k, stride, phase2);
    o.secs = t.elapsed().as_secs_f64();
    o
}

#[test]
fn attack_mutants_of_every_honest_transaction_harm_nobody() {
    let t0 = Instant::now();
    let (k, stride, phase2) = if cfg!(debug_assertions) {
        (DEBUG_K, DEBUG_STRIDE, 0)
    } else {
        (K, 1, PHASE2_SEEDS)
    };
    let k = std::env::var("DGCM_MUTATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(k);
    let budget = (k, stride, phase2);
    let pool = Pool::new();
    // DGCM_MUTATION_PATHS=lease.,vault.join: only the paths whose name contains one of these
    let only = std::env::var("DGCM_MUTATION_PATHS").unwrap_or_default();
    let scenarios: Vec<Scenario> = scenarios()
        .into_iter()
        .filter(|s| only.is_empty() || only.split(',').any(|p| s.path.contains(p)))
        .collect();
    for sc in &scenarios {
        let p = &sc.plan;
        match verdict(
            &p.unsigned,
            &p.inputs,
            &p.data_inputs,
            &wallet(&sc.tags()),
            sc.height,
        ) {
            Verdict::Valid => {}
            v => panic!("honest {} refused: {v:?}", sc.path),
        }
    }
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8);
    let mut outcomes: Vec<(usize, Outcome)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (scs, pool) = (&scenarios, &pool);
                s.spawn(move || {
                    (t..scs.len())
                        .step_by(threads)
                        .map(|i| (i, fuzz(&scs[i], pool, budget)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("fuzzer thread"))
            .collect()
    });
    outcomes.sort_by_key(|(i, _)| *i);

    // cross-check records: through the harness's verdict (which records with DGCM_XCHECK_DIR)
    if xcheck::dir().is_some() {
        for (i, o) in &outcomes {
            let w = wallet(&scenarios[*i].tags());
            for c in &o.record {
                let v = verdict(&c.tx, &c.inputs, &c.data, &w, c.height);
                assert!(
                    matches!(v, Verdict::Valid),
                    "{}: a recorded mutant no longer validates: {v:?}",
                    scenarios[*i].path
                );
            }
        }
    }

    let n: usize = outcomes.iter().map(|(_, o)| o.mutations).sum();
    let a: usize = outcomes.iter().map(|(_, o)| o.accepted).sum();
    let harmful: Vec<&Finding> = outcomes.iter().flat_map(|(_, o)| &o.harmful).collect();
    println!(
        "{{\"mutations\": {n}, \"accepted\": {a}, \"harmful_accepted\": {}}}",
        harmful.len()
    );
    eprintln!(
        "mutation fuzzer: {} paths, K = {k}, {threads} threads, {:.1} s",
        scenarios.len(),
        t0.elapsed().as_secs_f64()
    );
    for (i, o) in &outcomes {
        eprintln!(
            "  {:<20} {:>5.1} s  mutations {:>5}  accepted {:>4}  harmful {:>4}{}  accepted by kind {:?}",
            scenarios[*i].path,
            o.secs,
            o.mutations,
            o.accepted,
            o.harmful.len(),
            if o.panics > 0 {
                format!("  (ergo-lib panicked {} times)", o.panics)
            } else {
                String::new()
            },
            o.accepted_by_cat
        );
    }
    for f in &harmful {
        eprintln!(
            "HARMFUL {}: {} => {} ({})",
            f.path, f.desc, f.verdict, f.why
        );
    }
    // up to 20, taken from every path in turn (each path's first, then each path's second, ...)
    let per_path: Vec<&Vec<Finding>> = outcomes.iter().map(|(_, o)| &o.harmful).collect();
    let deepest = per_path.iter().map(|h| h.len()).max().unwrap_or(0);
    let listing: Vec<String> = (0..deepest)
        .flat_map(|k| per_path.iter().filter_map(move |h| h.get(k)))
        .take(20)
        .map(|f| format!("{}: {} => {} ({})", f.path, f.desc, f.verdict, f.why))
        .collect();
    assert!(
        harmful.is_empty(),
        "{} harmful mutants accepted (first {}):\n{}",
        harmful.len(),
        listing.len(),
        listing.join("\n")
    );
}
