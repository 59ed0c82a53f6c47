//! The executor framework every bot runs on.
//!
//! A bot turns a [`MarketView`] into [`Job`]s: "spend these protocol boxes with this builder".
//! The runtime keeps three states per box on top of the node's confirmed + mempool view:
//! *claimed* (our own transaction spends it and is in flight), *cooling* (our attempt lost or
//! was refused: skip it until the next block, never loop hot) and *predicted* funding (the
//! change of our transactions earlier in the same round, so several transactions chain inside
//! one block). Each job is built with the contracts' builders, signed with the operator's key
//! (or printed as EIP-12 JSON in dry-run), submitted, and its fate is followed: won when one of
//! its outputs is confirmed, lost when another bot's transaction spent the boxes first.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dgcm_chain::{NodeClient, NodeError, Signer};
use dgcm_contracts::tx::{fund, BuildError, Executor, FundError, TxPlan};
use ergo_lib::chain::transaction::TxId;
use ergo_lib::ergotree_ir::chain::ergo_box::{BoxId, ErgoBox};
use ergo_lib::ergotree_ir::chain::token::TokenId;
use ergo_lib::ergotree_ir::ergo_tree::ErgoTree;

use crate::metrics::BotMetrics;
use crate::view::MarketView;

/// Which bot a job comes from (also the metrics label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum BotKind {
    Matcher,
    Settler,
    Slasher,
    Liquidator,
    RosenRelay,
}

impl BotKind {
    pub fn name(self) -> &'static str {
        match self {
            BotKind::Matcher => "matcher",
            BotKind::Settler => "settler",
            BotKind::Slasher => "slasher",
            BotKind::Liquidator => "liquidator",
            BotKind::RosenRelay => "rosen-relay",
        }
    }
}

type BuildFn = Box<dyn Fn(&Executor) -> Result<TxPlan, BuildError> + Send>;

/// One opportunity: the protocol boxes it spends and how to build its transaction.
pub struct Job {
    pub bot: BotKind,
    /// For logs: what the transaction does.
    pub what: String,
    pub spends: Vec<BoxId>,
    pub build: BuildFn,
    /// What the tokens the job moves between the operator and the transaction are worth, for
    /// the profit check: (token, nanoERG per `den` units, `den`). A job that would spend a token
    /// of the operator's with no price here is refused; tokens received without one count as 0.
    pub token_prices: Vec<(TokenId, i128, i128)>,
}

/// What happened to a job this round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Submitted(TxId),
    DryRun(serde_json::Value),
    /// Skipped: a box is claimed by our own transaction in flight or cooling down.
    Busy,
    /// Another transaction spent the boxes first (or a box went stale).
    Lost(String),
    /// Not buildable now (e.g. no funds); retried next block.
    Refused(String),
    /// Built, but it would earn less than `min_profit` after the miner fee (e.g. an order or a
    /// lease whose fee cap is 0, a dust deposit): not signed; looked at again next block.
    Unprofitable(String),
}

#[derive(Debug, Clone)]
struct Claim {
    bot: BotKind,
    outputs: Vec<BoxId>,
    fee_erg: u64,
    since: Instant,
}

/// Settings of the runtime.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Miner fee per transaction (nanoERG).
    pub fee: u64,
    /// Print EIP-12 JSON instead of signing and submitting.
    pub dry_run: bool,
    /// Give up on a claim whose transaction left the mempool unconfirmed after this long.
    pub claim_timeout: Duration,
    /// The least a job must earn the operator (nanoERG, after the miner fee and whatever its
    /// wallet puts in) to be signed; below it the job is skipped and counted.
    pub min_profit: i64,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            fee: 1_100_000,
            dry_run: false,
            claim_timeout: Duration::from_secs(120),
            min_profit: 0,
        }
    }
}

/// Signs and submits jobs for one operator.
pub struct Runtime {
    pub node: NodeClient,
    signer: Option<Signer>,
    /// Where the executor's change (its earnings) goes.
    pub reward: ErgoTree,
    pub config: RuntimeConfig,
    pub metrics: Arc<BotMetrics>,
    claims: HashMap<BoxId, Claim>,
    cooling: HashMap<BoxId, u32>,
    /// Transactions in flight, by id: the boxes they claim.
    in_flight: HashMap<TxId, Vec<BoxId>>,
}

impl Runtime {
    pub fn new(
        node: NodeClient,
        signer: Option<Signer>,
        reward: ErgoTree,
        config: RuntimeConfig,
        metrics: Arc<BotMetrics>,
    ) -> Runtime {
        Runtime {
            node,
            signer,
            reward,
            config,
            metrics,
            claims: HashMap::new(),
            cooling: HashMap::new(),
            in_flight: HashMap::new(),
        }
    }

    /// Boxes our in-flight transactions spend (bots skip them when they look for work).
    pub fn is_busy(&self, id: &BoxId, height: u32) -> bool {
        self.claims.contains_key(id) || self.cooling.get(id).is_some_and(|h| *h >= height)
    }

    /// Follows the transactions in flight: a claim whose transaction is confirmed counts as won,
    /// one that vanished (another spend won, or the node dropped it) as lost; both free the box.
    pub async fn resolve_claims(&mut self, view: &MarketView) {
        self.cooling.retain(|_, h| *h >= view.height);
        let txs: Vec<(TxId, Vec<BoxId>)> = self
            .in_flight
            .iter()
            .map(|(t, b)| (*t, b.clone()))
            .collect();
        for (tx, boxes) in txs {
            let Some(claim) = boxes.first().and_then(|b| self.claims.get(b)).cloned() else {
                self.in_flight.remove(&tx);
                continue;
            };
            match self.node.unconfirmed_transaction(&tx).await {
                Ok(Some(_)) => {
                    if claim.since.elapsed() > self.config.claim_timeout * 10 {
                        tracing::warn!(tx = %String::from(tx), "transaction stuck in the mempool");
                    }
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "cannot ask the mempool; retry next round");
                    continue;
                }
            }
            let mut confirmed = false;
            for out in &claim.outputs {
                if let Ok(Some(_)) = self.node.unspent_box(out).await {
                    confirmed = true;
                    break;
                }
            }
            if !confirmed {
                let mut inputs_alive = false;
                for b in &boxes {
                    if let Ok(Some(_)) = self.node.unspent_box(b).await {
                        inputs_alive = true;
                    }
                }
                if inputs_alive && claim.since.elapsed() < self.config.claim_timeout {
                    // Dropped from the mempool but its inputs are unspent: it may come back
                    // (a rollback returns transactions to the pool); decide at the timeout.
                    continue;
                }
                // Otherwise the inputs were spent by a transaction whose outputs are not ours.
            }
            let label = claim.bot.name();
            if confirmed {
                self.metrics.won(label, claim.fee_erg);
                tracing::info!(bot = label, tx = %String::from(tx), "transaction confirmed");
            } else {
                self.metrics.lost(label);
                tracing::info!(bot = label, tx = %String::from(tx), "another transaction won these boxes");
            }
            for b in &boxes {
                self.claims.remove(b);
                self.cooling.insert(*b, view.height);
            }
            self.in_flight.remove(&tx);
        }
    }

    /// Runs one round's jobs in order, chaining the executor's change between them.
    pub async fn execute(&mut self, jobs: Vec<Job>, view: &MarketView) -> Vec<Outcome> {
        let mut outcomes = Vec::with_capacity(jobs.len());
        if jobs.is_empty() {
            return outcomes;
        }
        // The executor's own boxes, mempool-aware; spent ones leave, change joins.
        let mut wallet: Vec<ErgoBox> = match &self.signer {
            Some(s) => match self.node.unspent_boxes_by_tree(&s.tree, true).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot list the executor's boxes");
                    vec![]
                }
            },
            None => vec![],
        };
        let state = if self.config.dry_run {
            None
        } else {
            match self.node.state_context().await {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::warn!(error = %e, "no state context; skipping the round");
                    return jobs
                        .iter()
                        .map(|_| Outcome::Refused(e.to_string()))
                        .collect();
                }
            }
        };
        for job in jobs {
            let label = job.bot.name();
            self.metrics.seen(label);
            if job.spends.iter().any(|b| self.is_busy(b, view.height)) {
                outcomes.push(Outcome::Busy);
                continue;
            }
            let plan = match self.build(&job, &wallet) {
                Ok(p) => p,
                Err(e) => {
                    tracing::info!(bot = label, what = %job.what, reason = %e, "not buildable now");
                    for b in &job.spends {
                        self.cooling.insert(*b, view.height);
                    }
                    outcomes.push(Outcome::Refused(e));
                    continue;
                }
            };
            // Checked before anything is signed: a box's registers (fee caps, amounts) are
            // whatever its creator wrote, and funding from the wallet is the operator's money.
            let profit = match profit(&plan, job.spends.len(), &self.reward, &job.token_prices) {
                Ok(p) if p >= self.config.min_profit as i128 => p,
                r => {
                    let why = match r {
                        Ok(p) => format!(
                            "earns {p} nanoERG after fees, below min_profit {}",
                            self.config.min_profit
                        ),
                        Err(e) => e,
                    };
                    tracing::info!(bot = label, what = %job.what, reason = %why, "skipped: not profitable");
                    self.metrics.unprofitable(label);
                    for b in &job.spends {
                        self.cooling.insert(*b, view.height);
                    }
                    outcomes.push(Outcome::Unprofitable(why));
                    continue;
                }
            };
            let earned = u64::try_from(profit).unwrap_or(0);
            if self.config.dry_run {
                let json = dgcm_contracts::eip12::unsigned_json(&plan)
                    .unwrap_or_else(|e| serde_json::json!({"error": e.to_string()}));
                for b in &job.spends {
                    self.cooling.insert(*b, view.height);
                }
                self.metrics.submitted(label);
                println!(
                    "{}",
                    serde_json::json!({"bot": label, "what": job.what, "eip12": json})
                );
                outcomes.push(Outcome::DryRun(json));
                continue;
            }
            let (Some(signer), Some(state)) = (&self.signer, &state) else {
                outcomes.push(Outcome::Refused("no key to sign with".into()));
                continue;
            };
            let tx = match signer.sign(
                plan.unsigned.clone(),
                plan.inputs.clone(),
                plan.data_inputs.clone(),
                state,
            ) {
                Ok(t) => t,
                Err(e) => {
                    for b in &job.spends {
                        self.cooling.insert(*b, view.height);
                    }
                    outcomes.push(Outcome::Refused(e.to_string()));
                    continue;
                }
            };
            match self.node.submit_transaction(&tx).await {
                Ok(id) => {
                    self.metrics.submitted(label);
                    tracing::info!(bot = label, what = %job.what, tx = %String::from(id), "submitted");
                    let outputs: Vec<BoxId> = tx.outputs.iter().map(|o| o.box_id()).collect();
                    // Chain: our change is spendable by the next job of this round.
                    let spent: Vec<BoxId> = plan.inputs.iter().map(|b| b.box_id()).collect();
                    wallet.retain(|b| !spent.contains(&b.box_id()));
                    if let Some(i) = plan.change_index {
                        if let Some(o) = tx.outputs.get(i) {
                            if o.ergo_tree == self.reward
                                && self.signer.as_ref().is_some_and(|s| s.tree == self.reward)
                            {
                                wallet.push(o.clone());
                            }
                        }
                    }
                    let claim = Claim {
                        bot: job.bot,
                        outputs,
                        fee_erg: earned,
                        since: Instant::now(),
                    };
                    for b in &job.spends {
                        self.claims.insert(*b, claim.clone());
                    }
                    self.in_flight.insert(id, job.spends.clone());
                    outcomes.push(Outcome::Submitted(id));
                }
                Err(e) => {
                    let lost = is_stale(&e);
                    for b in &job.spends {
                        self.cooling.insert(*b, view.height);
                    }
                    if lost {
                        self.metrics.lost(label);
                        tracing::info!(bot = label, what = %job.what, reason = %e, "lost the race");
                        outcomes.push(Outcome::Lost(e.to_string()));
                    } else {
                        self.metrics.error(label);
                        tracing::warn!(bot = label, what = %job.what, error = %e, "submission failed");
                        outcomes.push(Outcome::Refused(e.to_string()));
                    }
                }
            }
        }
        outcomes
    }

    /// Builds without funding when the protocol boxes pay for themselves (the usual case: the
    /// fee comes out of the box's capped executor allowance), else with whatever of the wallet
    /// the builder reports missing (ERG, or the GPUC a liquidation repays).
    fn build(&self, job: &Job, wallet: &[ErgoBox]) -> Result<TxPlan, String> {
        let candidates = if self.signer.is_some() {
            wallet.to_vec()
        } else {
            vec![]
        };
        fund(candidates, &self.reward, self.config.fee, false, |e| {
            (job.build)(e)
        })
        .map_err(|e| match e {
            FundError::Short { .. } if self.signer.is_none() => {
                format!("needs funding from the executor's wallet, and no key is configured ({e})")
            }
            e => e.to_string(),
        })
    }
}

/// A refusal that means the boxes went stale: another transaction spent them, or the script
/// now reduces to false because the box we saw is no longer the one on chain.
pub fn is_stale(e: &NodeError) -> bool {
    e.is_lost_race() || e.to_string().contains("reduced to false")
}

/// What `plan` nets the operator in nanoERG: its change output (at `reward`) less its funding
/// inputs (they follow the `protocol_inputs`), ERG and tokens, the tokens at `prices`. The miner
/// fee is in it: a job whose protocol boxes do not pay it is paid from the funding. Refuses a
/// plan that takes a token from the wallet that has no price.
pub fn profit(
    plan: &TxPlan,
    protocol_inputs: usize,
    reward: &ErgoTree,
    prices: &[(TokenId, i128, i128)],
) -> Result<i128, String> {
    let mut erg: i128 = 0;
    let mut tokens: HashMap<TokenId, i128> = HashMap::new();
    if let Some(o) = plan
        .change_index
        .and_then(|i| plan.unsigned.output_candidates.get(i))
        .filter(|o| &o.ergo_tree == reward)
    {
        erg += *o.value.as_u64() as i128;
        for t in o.tokens.iter().flatten() {
            *tokens.entry(t.token_id).or_default() += *t.amount.as_u64() as i128;
        }
    }
    for b in plan.inputs.iter().skip(protocol_inputs) {
        erg -= *b.value.as_u64() as i128;
        for t in b.tokens.iter().flatten() {
            *tokens.entry(t.token_id).or_default() -= *t.amount.as_u64() as i128;
        }
    }
    for (id, net) in tokens {
        match prices.iter().find(|p| p.0 == id) {
            Some(&(_, num, den)) if den > 0 => erg += net * num / den,
            _ if net < 0 => {
                return Err(format!(
                    "spends {} of token {} from the operator's wallet, which has no price",
                    -net,
                    String::from(id)
                ))
            }
            _ => {}
        }
    }
    Ok(erg)
}
