//! The two scenarios of the white paper, acted out by Alice (renter) and Bob (provider).

use std::time::Duration;

use anyhow::Context;
use dgcm_chain::Signer;
use dgcm_contracts::codec::Typed;
use dgcm_contracts::lease::Lease;
use dgcm_contracts::listing::Listing;
use dgcm_contracts::trees::Kind;
use dgcm_tx::{ListingSpec, OrderSpec, Wallet};
use ergo_lib::ergotree_ir::chain::ergo_box::{ErgoBox, NonMandatoryRegisterId};
use ergo_lib::ergotree_ir::mir::constant::TryExtractInto;
use serde_json::{json, Value};

use crate::stack::{short, testnet, Stack};
use crate::Narrator;

const GPUC: u64 = 1_000; // mGPUC per GPUC
const PRICE: u64 = GPUC; // 1 GPUC per hour
const COLLATERAL: u64 = GPUC / 2; // 0.5 GPUC per hour
const STAKE: u64 = 4 * GPUC;
const MODEL: &str = "RTX 4090";

/// One scenario's outcome: the JSON line `dgcm demo --json` prints.
#[derive(Debug, Clone)]
pub struct Report {
    pub scenario: &'static str,
    pub ok: bool,
    pub runtime: String,
    pub consumer_gpuc_delta: f64,
    pub provider_gpuc_delta: f64,
    pub consumer_collateral_gain: f64,
    pub executor_fee_erg: f64,
    pub txs: Vec<Value>,
    /// What did not hold (empty when ok).
    pub failures: Vec<String>,
}

impl Report {
    pub fn failed(scenario: &'static str, runtime: &str, why: String) -> Report {
        Report {
            scenario,
            ok: false,
            runtime: runtime.into(),
            consumer_gpuc_delta: 0.0,
            provider_gpuc_delta: 0.0,
            consumer_collateral_gain: 0.0,
            executor_fee_erg: 0.0,
            txs: vec![],
            failures: vec![why],
        }
    }

    pub fn json(&self) -> Value {
        json!({
            "scenario": self.scenario,
            "ok": self.ok,
            "runtime": self.runtime,
            "consumer_gpuc_delta": self.consumer_gpuc_delta,
            "provider_gpuc_delta": self.provider_gpuc_delta,
            "consumer_collateral_gain": self.consumer_collateral_gain,
            "executor_fee_erg": self.executor_fee_erg,
            "txs": self.txs,
            "failures": self.failures,
        })
    }

    pub fn print(&self, n: &Narrator) {
        if self.ok {
            n.say(format!("scenario {}: OK", self.scenario));
        } else {
            n.say(format!(
                "scenario {}: FAILED — {}",
                self.scenario,
                self.failures.join("; ")
            ));
        }
        if n.json {
            println!("{}", self.json());
        }
    }

    fn check(&mut self, what: &str, holds: bool) {
        if !holds {
            self.failures.push(what.to_string());
        }
    }
}

fn gpuc(m: i128) -> f64 {
    m as f64 / GPUC as f64
}

fn tx_entry(step: &str, id: &str) -> Value {
    json!({"step": step, "tx_id": id})
}

/// A person of the story: key, wallet and a name for the narration.
struct Person {
    name: &'static str,
    key: Signer,
    wallet: Wallet,
    key_file: std::path::PathBuf,
}

async fn person(
    stack: &Stack,
    n: &Narrator,
    name: &'static str,
    erg: u64,
    sigusd: u64,
    gpuc: u64,
) -> anyhow::Result<(Person, String)> {
    let (key, wallet, key_file) = stack.new_person(&name.to_lowercase())?;
    let p = stack.contracts.params.clone();
    let mut tokens = vec![];
    if sigusd > 0 {
        tokens.push((p.sigusd_id, sigusd));
    }
    if gpuc > 0 {
        tokens.push((p.gpuc_id, gpuc));
    }
    let tx = stack.fund(&key.tree, erg, &tokens).await?;
    n.say(format!(
        "{name} has a new wallet {}; the faucet sends {} ERG{}{} (tx {})",
        short(&key.address(testnet())),
        erg / 1_000_000_000,
        if sigusd > 0 {
            format!(", {:.2} SigUSD", sigusd as f64 / 100.0)
        } else {
            String::new()
        },
        if gpuc > 0 {
            format!(", {} GPUC", gpuc / GPUC)
        } else {
            String::new()
        },
        short(&tx)
    ));
    Ok((
        Person {
            name,
            key,
            wallet,
            key_file,
        },
        tx,
    ))
}

async fn confirmed_gpuc(stack: &Stack, who: &Signer) -> anyhow::Result<u64> {
    let id = stack.contracts.params.gpuc_id;
    Ok(stack
        .node
        .unspent_boxes_by_tree(&who.tree, false)
        .await?
        .iter()
        .flat_map(|b| b.tokens.iter().flatten())
        .filter(|t| t.token_id == id)
        .map(|t| *t.amount.as_u64())
        .sum())
}

async fn mempool_empty(stack: &Stack) -> anyhow::Result<bool> {
    Ok(stack.node.unconfirmed_transactions(0, 1).await?.is_empty())
}

async fn listings_of(stack: &Stack, who: &Signer) -> anyhow::Result<Vec<Typed<Listing>>> {
    let c = &stack.contracts;
    Ok(stack
        .node
        .unspent_boxes_by_tree(c.tree(Kind::Listing), false)
        .await?
        .into_iter()
        .filter_map(|b| Typed::<Listing>::parse(c, b).ok())
        .filter(|l| l.v.provider == who.pk)
        .collect())
}

async fn leases_of(stack: &Stack, consumer: &Signer) -> anyhow::Result<Vec<Typed<Lease>>> {
    let c = &stack.contracts;
    Ok(stack
        .node
        .unspent_boxes_by_tree(c.tree(Kind::Lease), false)
        .await?
        .into_iter()
        .filter_map(|b| Typed::<Lease>::parse(c, b).ok())
        .filter(|l| l.v.consumer == consumer.pk)
        .collect())
}

/// Wallet GPUC plus GPUC staked in the person's listings.
async fn holdings(stack: &Stack, who: &Signer) -> anyhow::Result<i128> {
    let staked: u64 = listings_of(stack, who)
        .await?
        .iter()
        .map(|l| l.v.stake)
        .sum();
    Ok(confirmed_gpuc(stack, who).await? as i128 + staked as i128)
}

/// The payout box to `who` that names `for_box` in R4 (settlement or slash).
/// Waits (`label`, up to `secs`) for the bot's payout to `who` naming `for_box`, then for the
/// mempool to drain; records the transaction as `step`; returns the payout box and the fee the
/// executing bot earned.
async fn executed_payout(
    stack: &Stack,
    label: &str,
    secs: u64,
    who: &Signer,
    for_box: &str,
    step: &str,
    txs: &mut Vec<Value>,
) -> anyhow::Result<(ErgoBox, u64)> {
    let payout = stack
        .wait_some(label, Duration::from_secs(secs), || async {
            payout_for(stack, who, for_box).await
        })
        .await?;
    stack
        .wait_for("the mempool to drain", Duration::from_secs(30), || {
            mempool_empty(stack)
        })
        .await?;
    let tx = String::from(payout.transaction_id);
    txs.push(tx_entry(step, &tx));
    let earned = executor_earned(stack, payout.creation_height, &tx)
        .await
        .unwrap_or(0);
    Ok((payout, earned))
}

async fn payout_for(stack: &Stack, who: &Signer, for_box: &str) -> anyhow::Result<Option<ErgoBox>> {
    let want = hex::decode(for_box)?;
    Ok(stack
        .node
        .unspent_boxes_by_tree(&who.tree, false)
        .await?
        .into_iter()
        .find(|b| {
            b.additional_registers
                .get_constant(NonMandatoryRegisterId::R4)
                .ok()
                .flatten()
                .and_then(|c| c.try_extract_into::<Vec<u8>>().ok())
                .is_some_and(|r4| r4 == want)
        }))
}

/// nanoERG the bot operator received in transaction `tx_id` (built for `from`, mined then or
/// later).
async fn executor_earned(stack: &Stack, from: u32, tx_id: &str) -> anyhow::Result<u64> {
    let best = stack.height().await?;
    for height in from.saturating_sub(1)..=best {
        for id in stack.node.block_ids_at(height).await? {
            let block = stack.node.block(&id).await?;
            for tx in &block.block_transactions.transactions {
                if String::from(tx.id()) == tx_id {
                    return Ok(tx
                        .outputs
                        .iter()
                        .filter(|o| o.ergo_tree == stack.bot_key.tree)
                        .map(|o| *o.value.as_u64())
                        .sum());
                }
            }
        }
    }
    anyhow::bail!("transaction {tx_id} not found from height {from}")
}

/// Alice gets 10 GPUC from the LETS vault with 20 SigUSD of collateral.
async fn alice_gets_gpuc(
    stack: &Stack,
    n: &Narrator,
    alice: &Person,
    txs: &mut Vec<Value>,
) -> anyhow::Result<()> {
    let done = alice
        .wallet
        .deposit_sigusd_for_gpuc(2_000, 10 * GPUC)
        .await
        .context("Alice gets GPUC with SigUSD")?;
    for s in &done {
        txs.push(tx_entry(s.action, &s.tx_id));
        n.say(format!(
            "{}: {} (tx {})",
            alice.name,
            s.action,
            short(&s.tx_id)
        ));
    }
    stack
        .wait_for(
            "Alice's 10 GPUC to confirm",
            Duration::from_secs(30),
            || async { Ok(confirmed_gpuc(stack, &alice.key).await? >= 10 * GPUC) },
        )
        .await?;
    n.say(format!(
        "{} holds 10 GPUC, borrowed from the LETS vault against 20 SigUSD of collateral",
        alice.name
    ));
    Ok(())
}

/// Alice's job: twelve "training steps" that together last a little over one hour of the
/// devnet's blocks (31 blocks), so that the worker meters the full hour she ordered: v2 bills
/// only the blocks a job ran.
fn demo_job(stack: &Stack) -> dgcm_worker::JobSpec {
    let step = stack.options.block_time.as_secs_f64() * 31.0 / 12.0;
    let script = format!(
        "echo \"hello from Bob's GPU\"; i=1; while [ $i -le 12 ]; do echo \"training step $i/12\"; i=$((i+1)); sleep {step:.3}; done; echo done"
    );
    dgcm_worker::JobSpec {
        image: stack.options.image.clone(),
        command: vec!["sh".into(), "-c".into(), script],
        env: Default::default(),
        resources: Default::default(),
    }
}

async fn order_for(
    stack: &Stack,
    n: &Narrator,
    alice: &Person,
    listing: &Typed<Listing>,
    job_hash: [u8; 32],
    hours: u32,
    txs: &mut Vec<Value>,
) -> anyhow::Result<Typed<Lease>> {
    let order = alice
        .wallet
        .place_order(OrderSpec {
            max_price_per_hour: PRICE,
            hours,
            min_vram_mib: 16_000,
            min_gpu_count: 1,
            listing_nft: Some(listing.v.nft),
            model: Some(MODEL.into()),
            job_spec_hash: job_hash.to_vec(),
            expiry_blocks: 300,
            ..Default::default()
        })
        .await
        .context("Alice places her order")?;
    txs.push(tx_entry("place-order", &order.tx_id));
    n.say(format!(
        "{} orders {hours} hour(s) on Bob's listing at up to 1 GPUC/hour, committing to her job (hash {}) (tx {})",
        alice.name,
        short(&hex::encode(job_hash)),
        short(&order.tx_id)
    ));
    let lease = stack
        .wait_some(
            "the matcher to create the lease",
            Duration::from_secs(60),
            || async { Ok(leases_of(stack, &alice.key).await?.into_iter().next()) },
        )
        .await?;
    let match_tx = String::from(lease.bx.transaction_id);
    txs.push(tx_entry("match", &match_tx));
    n.say(format!(
        "the matcher bot matched the order: lease {} from block {} to deadline {} (tx {})",
        short(&String::from(lease.bx.box_id())),
        lease.v.terms.start,
        lease.v.terms.deadline,
        short(&match_tx)
    ));
    Ok(lease)
}

/// Alice (50 ERG, 30 SigUSD) and Bob (50 ERG, 10 GPUC for his stake) get fresh wallets from the
/// faucet; Alice turns 20 SigUSD into 10 GPUC.
async fn alice_and_bob(
    stack: &Stack,
    n: &Narrator,
    txs: &mut Vec<Value>,
) -> anyhow::Result<(Person, Person)> {
    let (alice, t1) = person(stack, n, "Alice", 50_000_000_000, 3_000, 0).await?;
    let (bob, t2) = person(stack, n, "Bob", 50_000_000_000, 0, 10 * GPUC).await?;
    txs.push(tx_entry("fund-alice", &t1));
    txs.push(tx_entry("fund-bob", &t2));
    stack
        .wait_for("the faucet payments", Duration::from_secs(30), || {
            mempool_empty(stack)
        })
        .await?;
    alice_gets_gpuc(stack, n, &alice, txs).await?;
    Ok((alice, bob))
}

/// Bob's worker, started and listing his GPU; returns it with the listing once on chain.
async fn bobs_worker(
    stack: &Stack,
    n: &Narrator,
    bob: &Person,
    txs: &mut Vec<Value>,
) -> anyhow::Result<(dgcm_worker::RunningWorker, Typed<Listing>)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut wc = dgcm_worker::WorkerConfig {
        listen: format!("127.0.0.1:{port}"),
        state_dir: stack
            .options
            .data_dir
            // one folder per Bob: each scenario's Bob is a fresh wallet with his own listing
            .join({
                let a = bob.key.address(testnet());
                format!("worker-bob-{}-{}", std::process::id(), &a[a.len() - 8..])
            }),
        node: stack.node_url.clone(),
        query_api: Some(stack.api_url.clone()),
        provider_key_file: Some(bob.key_file.clone()),
        block_time: stack.options.block_time,
        poll_interval: Duration::from_millis(200),
        stop_margin_blocks: 5,
        runtime: stack.runtime.clone(),
        allow_process_runtime: stack.runtime == "process",
        ..Default::default()
    };
    wc.listing.region = "eu-west".into();
    wc.listing.collateral_per_hour = COLLATERAL as i64;
    wc.listing.min_hours = 1;
    wc.listing.max_hours = 4;
    wc.listing.benchmark_score = 9_000;
    wc.listing.stake = STAKE;
    wc.pricing.price_per_hour = PRICE as i64;
    wc.gpu.model = MODEL.into();
    wc.gpu.vram_mib = 24_576;
    wc.gpu.count = 1;
    // Bob allows the demo's job image (it is in his daemon, not a registry's).
    wc.docker.allowed_images.push(stack.options.image.clone());
    let worker = dgcm_worker::start(wc).await.context("Bob's worker")?;
    n.say(format!(
        "Bob starts his worker at {} ({} runtime); it lists his GPU at 1 GPUC/hour with 0.5 GPUC/hour of collateral from a 4 GPUC stake",
        worker.url(),
        stack.runtime
    ));
    let listing = stack
        .wait_some("Bob's listing", Duration::from_secs(30), || async {
            Ok(listings_of(stack, &bob.key).await?.into_iter().next())
        })
        .await?;
    txs.push(tx_entry("list", &String::from(listing.bx.transaction_id)));
    n.say(format!(
        "Bob's listing is on chain: NFT {}, {} {} MiB in {}, endpoint {} (tx {})",
        short(&String::from(listing.v.nft)),
        listing.v.model,
        listing.v.terms.vram_mib,
        listing.v.region,
        listing.v.endpoint,
        short(&String::from(listing.bx.transaction_id))
    ));

    Ok((worker, listing))
}

/// Alice gets GPUC with SigUSD, Bob's worker lists his GPU, Alice orders with her job, the
/// matcher makes the lease, Alice authenticates to Bob's worker and runs her job, Bob's worker
/// completes the lease, the settler finalises: Alice −1 GPUC, Bob +1 GPUC.
pub async fn white_paper(stack: &Stack, n: &Narrator) -> anyhow::Result<Report> {
    let mut txs = Vec::new();
    let (alice, bob) = alice_and_bob(stack, n, &mut txs).await?;

    let (worker, listing) = bobs_worker(stack, n, &bob, &mut txs).await?;

    let alice_before = holdings(stack, &alice.key).await?;
    let bob_before = holdings(stack, &bob.key).await?;
    let spec = demo_job(stack);
    let lease = order_for(
        stack,
        n,
        &alice,
        &listing,
        dgcm_worker::job_spec_hash(&spec),
        1,
        &mut txs,
    )
    .await?;
    let lease_id = String::from(lease.bx.box_id());
    if let Some(l) = listings_of(stack, &bob.key).await?.into_iter().next() {
        n.say(format!(
            "Bob's listing is now busy until block {} (one lease at a time); it publishes the limits his worker enforces: {} MiB, {} CPU millis, {} processes, {} MiB of output",
            l.v.busy_until.unwrap_or_default(),
            l.v.terms.limits.memory_mib,
            l.v.terms.limits.cpu_millis,
            l.v.terms.limits.pids,
            l.v.terms.limits.disk_mib
        ));
    }

    // Alice proves the lease key to Bob's worker and runs her job.
    let http = reqwest::Client::new();
    let endpoint = worker.url();
    let ch: Value = http
        .post(format!("{endpoint}/v1/auth/challenge"))
        .json(&json!({"lease_id": lease_id}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let message = ch["message"].as_str().context("challenge message")?;
    let signature = alice.key.sign_message(message.as_bytes())?;
    let tok: Value = http
        .post(format!("{endpoint}/v1/auth/token"))
        .json(&json!({"lease_id": lease_id, "nonce": ch["nonce"], "signature": hex::encode(signature)}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = tok["token"].as_str().context("token")?.to_string();
    n.say("Alice signs the worker's challenge with her lease key and gets a bearer token for this lease");
    let submitted = http
        .post(format!("{endpoint}/v1/leases/{lease_id}/job"))
        .bearer_auth(&token)
        .json(&spec)
        .send()
        .await?;
    let status = submitted.status();
    let body = submitted.text().await?;
    anyhow::ensure!(
        status.as_u16() == 202,
        "job submission refused ({status}): {body}"
    );
    n.say("Alice submits her job; its hash matches the lease, the worker starts it");
    let logs = http
        .get(format!("{endpoint}/v1/leases/{lease_id}/logs?follow=true"))
        .bearer_auth(&token)
        .timeout(Duration::from_secs(60))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    for line in logs.lines().filter(|l| !l.trim().is_empty()) {
        n.say(format!("  job │ {line}"));
    }

    // Bob's worker completes the lease; the settler finalises after the challenge window.
    let completed = stack
        .wait_some(
            "Bob's worker to complete the lease",
            Duration::from_secs(60),
            || async {
                Ok(leases_of(stack, &alice.key)
                    .await?
                    .into_iter()
                    .find(|l| l.v.terms.completed()))
            },
        )
        .await?;
    let complete_tx = String::from(completed.bx.transaction_id);
    txs.push(tx_entry("complete", &complete_tx));
    n.say(format!(
        "Bob's worker posts the completion with a usage commitment {} (tx {}); the challenge window is {} blocks",
        short(&hex::encode(&completed.v.usage_commitment)),
        short(&complete_tx),
        stack.contracts.params.challenge_window
    ));
    // Read the job record now: the token expires with the lease's deadline.
    let job: Value = http
        .get(format!("{endpoint}/v1/leases/{lease_id}/job"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await
        .unwrap_or(Value::Null);
    if completed.v.terms.used_blocks == 0 {
        // A failure on the provider's side is not the renter's to pay (protocol v2's pay rule).
        n.say(format!(
            "the job never ran ({}): Bob's worker claimed {} blocks, so Alice is charged {} mGPUC",
            job["detail"].as_str().unwrap_or("no detail"),
            completed.v.terms.used_blocks,
            completed.v.terms.pay()
        ));
    }
    let done_id = String::from(completed.bx.box_id());
    let (payout, earned) = executed_payout(
        stack,
        "the settler to finalise",
        90,
        &bob.key,
        &done_id,
        "finalise",
        &mut txs,
    )
    .await?;
    let finalise_tx = String::from(payout.transaction_id);
    n.say(format!(
        "the settler bot finalised at block {}: Bob is paid, Alice's change comes back (tx {})",
        payout.creation_height,
        short(&finalise_tx)
    ));
    worker.stop().await;

    // What anyone sees through the query API, from the indexer's view of the chain.
    let bob_address = bob.key.address(testnet());
    let profile = stack
        .wait_some(
            "the query API to show Bob's finished lease",
            Duration::from_secs(30),
            || async {
                let v: Value =
                    reqwest::get(format!("{}/api/v1/providers/{bob_address}", stack.api_url))
                        .await?
                        .json()
                        .await?;
                Ok((v["reputation"]["completed"] == 1).then_some(v))
            },
        )
        .await;
    let api_ok = profile.is_ok();
    if let Ok(p) = &profile {
        n.say(format!(
            "the query API (indexer → PostgreSQL) shows Bob's record from chain history: {} lease completed, {} slashed, {} GPU hours, reputation {:.2}",
            p["reputation"]["completed"], p["reputation"]["slashed"], p["reputation"]["total_hours"],
            p["reputation"]["score"].as_f64().unwrap_or(0.0)
        ));
    }

    let alice_after = holdings(stack, &alice.key).await?;
    let bob_after = holdings(stack, &bob.key).await?;
    let mut r = Report {
        scenario: "white-paper",
        ok: true,
        runtime: stack.runtime.clone(),
        consumer_gpuc_delta: gpuc(alice_after - alice_before),
        provider_gpuc_delta: gpuc(bob_after - bob_before),
        consumer_collateral_gain: 0.0,
        executor_fee_erg: earned as f64 / 1e9,
        txs,
        failures: vec![],
    };
    n.say(format!(
        "balances: Alice {:+} GPUC, Bob {:+} GPUC (wallet plus stake); the settler earned {} ERG",
        r.consumer_gpuc_delta, r.provider_gpuc_delta, r.executor_fee_erg
    ));
    r.check(
        "Alice paid exactly 1 GPUC",
        alice_after - alice_before == -(PRICE as i128),
    );
    r.check(
        "Bob earned exactly 1 GPUC",
        bob_after - bob_before == PRICE as i128,
    );
    r.check(
        "the job logged its steps",
        logs.contains("training step 12/12"),
    );
    r.check(
        &format!("the job succeeded (worker says {})", job["status"]),
        job["status"] == "succeeded",
    );
    r.check("the settler earned a fee", earned > 0);
    r.check(
        "the lease is gone",
        leases_of(stack, &alice.key).await?.is_empty(),
    );
    r.check("the query API shows Bob's completed lease", api_ok);
    r.ok = r.failures.is_empty();
    Ok(r)
}

/// Bob lists, but his worker is down; Alice's lease passes its deadline uncompleted and the
/// slasher returns her GPUC plus Bob's collateral slice, earning its fee.
pub async fn missed_deadline(stack: &Stack, n: &Narrator) -> anyhow::Result<Report> {
    let mut txs = Vec::new();
    let (alice, bob) = alice_and_bob(stack, n, &mut txs).await?;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let listed = bob
        .wallet
        .list_gpu(ListingSpec {
            price_per_hour: PRICE,
            collateral_per_hour: COLLATERAL,
            min_hours: 1,
            max_hours: 4,
            vram_mib: 24_576,
            gpu_count: 1,
            benchmark_score: 9_000,
            model: MODEL.into(),
            region: "eu-west".into(),
            endpoint: format!("http://{closed}"),
            limits: dgcm_contracts::capacity::DEFAULT_LIMITS,
            stake: Some(STAKE),
            value: 0,
        })
        .await
        .context("Bob lists his GPU")?;
    txs.push(tx_entry("list", &listed.tx_id));
    n.say(format!(
        "Bob lists his GPU with `dgcm tx list` at 1 GPUC/hour, 0.5 GPUC/hour collateral (tx {}) — and his worker is down",
        short(&listed.tx_id)
    ));
    let listing = stack
        .wait_some("Bob's listing", Duration::from_secs(30), || async {
            Ok(listings_of(stack, &bob.key).await?.into_iter().next())
        })
        .await?;
    let alice_before = holdings(stack, &alice.key).await?;
    let bob_before = holdings(stack, &bob.key).await?;
    let lease = order_for(
        stack,
        n,
        &alice,
        &listing,
        dgcm_worker::job_spec_hash(&demo_job(stack)),
        1,
        &mut txs,
    )
    .await?;
    let lease_id = String::from(lease.bx.box_id());
    n.say(format!(
        "nobody completes the lease; waiting for its deadline at block {} (now {})",
        lease.v.terms.deadline,
        stack.height().await?
    ));
    let (payout, earned) = executed_payout(
        stack,
        "the slasher",
        120,
        &alice.key,
        &lease_id,
        "slash",
        &mut txs,
    )
    .await?;
    let slash_tx = String::from(payout.transaction_id);
    n.say(format!(
        "the slasher bot slashed the lease in block {} (deadline {}): Alice gets her payment back plus Bob's collateral slice (tx {})",
        payout.creation_height,
        lease.v.terms.deadline,
        short(&slash_tx)
    ));
    let alice_after = holdings(stack, &alice.key).await?;
    let bob_after = holdings(stack, &bob.key).await?;
    let collateral = lease.v.terms.collateral as i128;
    let mut r = Report {
        scenario: "missed-deadline",
        ok: true,
        runtime: stack.runtime.clone(),
        consumer_gpuc_delta: gpuc(alice_after - alice_before),
        provider_gpuc_delta: gpuc(bob_after - bob_before),
        consumer_collateral_gain: gpuc(collateral),
        executor_fee_erg: earned as f64 / 1e9,
        txs,
        failures: vec![],
    };
    n.say(format!(
        "balances: Alice {:+} GPUC (her 1 GPUC back plus {} GPUC of collateral), Bob {:+} GPUC; the slasher earned {} ERG",
        r.consumer_gpuc_delta, r.consumer_collateral_gain, r.provider_gpuc_delta, r.executor_fee_erg
    ));
    r.check(
        "Alice gained exactly the collateral slice",
        alice_after - alice_before == collateral && collateral == COLLATERAL as i128,
    );
    r.check(
        "Bob lost exactly the collateral slice",
        bob_after - bob_before == -collateral,
    );
    r.check(
        "slashed only after the deadline",
        payout.creation_height as i64 > lease.v.terms.deadline,
    );
    r.check("the slasher earned a fee", earned > 0);
    r.ok = r.failures.is_empty();
    Ok(r)
}

/// Bob's worker is up, Alice orders two hours and never submits her job (protocol v2's
/// no-show rule): Bob's worker follows its listing's leases on chain and completes the idle lease
/// shortly before the deadline, claiming one hour for the GPU it held; the settler finalises.
/// Alice pays that hour and gets the rest back; she never gets Bob's collateral.
pub async fn no_show(stack: &Stack, n: &Narrator) -> anyhow::Result<Report> {
    let mut txs = Vec::new();
    let (alice, bob) = alice_and_bob(stack, n, &mut txs).await?;
    let (worker, listing) = bobs_worker(stack, n, &bob, &mut txs).await?;
    let alice_before = holdings(stack, &alice.key).await?;
    let bob_before = holdings(stack, &bob.key).await?;
    let lease = order_for(
        stack,
        n,
        &alice,
        &listing,
        dgcm_worker::job_spec_hash(&demo_job(stack)),
        2,
        &mut txs,
    )
    .await?;
    n.say(format!(
        "Alice never shows up with her job; deadline at block {} (now {})",
        lease.v.terms.deadline,
        stack.height().await?
    ));
    let completed = stack
        .wait_some(
            "Bob's worker to complete the idle lease",
            Duration::from_secs(120),
            || async {
                Ok(leases_of(stack, &alice.key)
                    .await?
                    .into_iter()
                    .find(|l| l.v.terms.completed()))
            },
        )
        .await?;
    let complete_tx = String::from(completed.bx.transaction_id);
    txs.push(tx_entry("complete", &complete_tx));
    n.say(format!(
        "Bob's worker completed the idle lease at block {} claiming {} blocks (one hour held for her; deadline {}) (tx {})",
        completed.bx.creation_height,
        completed.v.terms.used_blocks,
        lease.v.terms.deadline,
        short(&complete_tx)
    ));
    let done_id = String::from(completed.bx.box_id());
    let (payout, earned) = executed_payout(
        stack,
        "the settler to finalise",
        90,
        &alice.key,
        &done_id,
        "finalise",
        &mut txs,
    )
    .await?;
    n.say(format!(
        "the settler bot finalised at block {}: Bob is paid the hour, Alice gets the other hour back (tx {})",
        payout.creation_height,
        short(&String::from(payout.transaction_id))
    ));
    worker.stop().await;
    let alice_after = holdings(stack, &alice.key).await?;
    let bob_after = holdings(stack, &bob.key).await?;
    let mut r = Report {
        scenario: "no-show",
        ok: true,
        runtime: stack.runtime.clone(),
        consumer_gpuc_delta: gpuc(alice_after - alice_before),
        provider_gpuc_delta: gpuc(bob_after - bob_before),
        consumer_collateral_gain: 0.0,
        executor_fee_erg: earned as f64 / 1e9,
        txs,
        failures: vec![],
    };
    n.say(format!(
        "balances: Alice {:+} GPUC (the hour she held, the other hour back, no collateral), Bob {:+} GPUC; the settler earned {} ERG",
        r.consumer_gpuc_delta, r.provider_gpuc_delta, r.executor_fee_erg
    ));
    r.check(
        "Alice gained nothing: she paid exactly the hour the GPU was held for her",
        alice_after - alice_before == -(PRICE as i128),
    );
    r.check(
        "Bob earned exactly that hour and kept his collateral",
        bob_after - bob_before == PRICE as i128,
    );
    r.check(
        "completed before the deadline (no slash was possible)",
        completed.bx.creation_height as i64 <= lease.v.terms.deadline,
    );
    r.check("the settler earned a fee", earned > 0);
    r.ok = r.failures.is_empty();
    Ok(r)
}
