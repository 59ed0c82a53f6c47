//! Shared helpers: an in-process devnet over HTTP, test wallets as signers, and real protocol
//! transactions built with the contracts' builders, signed and submitted.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use dgcm_bots::{BotKind, BotMetrics, BotsConfig};
use dgcm_chain::{NodeClient, Signer};
use dgcm_contracts::codec::Typed;
use dgcm_contracts::lease::Lease;
use dgcm_contracts::listing::{Listing, ListingTerms};
use dgcm_contracts::order::{Order, OrderTerms};
use dgcm_contracts::trees::{Contracts, Kind, ProtocolParams};
use dgcm_contracts::tx::{Executor, TxPlan};
use dgcm_devnet::{Devnet, DevnetConfig, RunningDevnet};
use ergo_lib::chain::transaction::TxId;

pub fn contracts() -> Contracts {
    Contracts::new(ProtocolParams::devnet_default()).unwrap()
}

pub async fn devnet() -> (RunningDevnet, NodeClient) {
    let d = Devnet::new(DevnetConfig::default()).unwrap();
    let running = dgcm_devnet::start(d, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let node = NodeClient::connect(running.url()).unwrap();
    mine(&running.url(), 1).await;
    (running, node)
}

pub fn signer(i: usize) -> Signer {
    Signer::from_secret_hex(&dgcm_devnet::genesis::test_wallet(i).secret_hex).unwrap()
}

pub async fn mine(url: &str, blocks: u32) -> u32 {
    let v = dgcm_devnet::testing::mine(url, blocks).await;
    v["height"].as_u64().unwrap() as u32
}

pub async fn height(node: &NodeClient) -> u32 {
    node.info().await.unwrap().full_height.unwrap_or(0)
}

/// Builds with `who`'s wallet as funding (mempool-aware), signs and submits.
pub async fn submit(
    node: &NodeClient,
    who: &Signer,
    build: impl Fn(&Executor) -> Result<TxPlan, dgcm_contracts::tx::BuildError>,
) -> (TxId, TxPlan) {
    let funding = node.unspent_boxes_by_tree(&who.tree, true).await.unwrap();
    // Largest first keeps transactions small.
    let mut funding = funding;
    funding.sort_by_key(|b| std::cmp::Reverse(*b.value.as_u64()));
    let with_gpuc: Vec<_> = funding
        .iter()
        .filter(|b| b.tokens.is_some())
        .cloned()
        .collect();
    let mut chosen = with_gpuc;
    if let Some(b) = funding.iter().find(|b| b.tokens.is_none()) {
        chosen.push(b.clone());
    }
    let exec = Executor {
        funding: chosen,
        change: who.tree.clone(),
        fee: 1_100_000,
    };
    let plan = build(&exec).unwrap();
    let ctx = node.state_context().await.unwrap();
    let tx = who
        .sign(
            plan.unsigned.clone(),
            plan.inputs.clone(),
            plan.data_inputs.clone(),
            &ctx,
        )
        .unwrap();
    let id = node.submit_transaction(&tx).await.unwrap();
    (id, plan)
}

pub fn listing(c: &Contracts, provider: &Signer, price: i64, stake: u64) -> Listing {
    Listing {
        value: 2_000_000,
        nft: c.params.gpuc_id, // replaced by the builder with the minted id
        stake,
        provider: provider.pk.clone(),
        terms: ListingTerms {
            price_per_hour: price,
            collateral_per_hour: price / 5,
            min_hours: 1,
            max_hours: 24,
            vram_mib: 24_576,
            gpu_count: 1,
            benchmark_score: 9_000,
            limits: dgcm_contracts::capacity::Capacity {
                memory_mib: 4096,
                cpu_millis: 2000,
                pids: 256,
                disk_mib: 1024,
            },
        },
        model: "RTX 4090".into(),
        region: "eu-west".into(),
        endpoint: "http://127.0.0.1:9999".into(),
        busy_until: None,
    }
}

pub fn order(consumer: &Signer, max_price: i64, hours: i64, expiry: i64) -> Order {
    Order {
        value: 10_000_000,
        budget: (max_price * hours) as u64,
        consumer: consumer.pk.clone(),
        terms: OrderTerms {
            max_price_per_hour: max_price,
            hours,
            min_vram_mib: 16_000,
            min_gpu_count: 1,
            min_benchmark_score: 0,
            expiry_height: expiry,
            matcher_fee_cap: 3_000_000,
            lease_exec_fee_cap: 3_000_000,
            requests: Default::default(),
        },
        listing: None,
        model: Some("RTX 4090".into()),
        region: None,
        job_spec_hash: vec![0x42; 32],
    }
}

/// One listing at 1 GPUC per hour and one order for it (1.2 GPUC max, 1 hour), mined.
pub async fn listing_and_order(
    url: &str,
    node: &NodeClient,
    c: &Contracts,
    provider: &Signer,
    consumer: &Signer,
) {
    let h = height(node).await;
    let l = listing(c, provider, 1_000, 1_000_000);
    submit(node, provider, |e| {
        dgcm_contracts::build::list_listing(c, &l, h + 1, e)
    })
    .await;
    let o = order(consumer, 1_200, 1, h as i64 + 500);
    submit(node, consumer, |e| {
        dgcm_contracts::build::place_order(c, &o, h + 1, e)
    })
    .await;
    mine(url, 1).await;
}

pub async fn unspent<T: dgcm_contracts::codec::BoxKind>(
    node: &NodeClient,
    c: &Contracts,
    kind: Kind,
    mempool: bool,
) -> Vec<Typed<T>> {
    node.unspent_boxes_by_tree(c.tree(kind), mempool)
        .await
        .unwrap()
        .into_iter()
        .map(|b| Typed::parse(c, b).unwrap())
        .collect()
}

pub async fn leases(node: &NodeClient, c: &Contracts) -> Vec<Typed<Lease>> {
    unspent(node, c, Kind::Lease, false).await
}

/// A bot process in the background.
pub struct RunningBots {
    pub metrics: Arc<BotMetrics>,
    stop: tokio::sync::oneshot::Sender<()>,
    pub task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

pub fn spawn_bots(
    url: &str,
    bots: Vec<BotKind>,
    key: Signer,
    tweak: impl FnOnce(&mut BotsConfig),
) -> RunningBots {
    let mut cfg = BotsConfig::new(url, bots);
    cfg.interval = Duration::from_millis(150);
    tweak(&mut cfg);
    let metrics = Arc::new(BotMetrics::default());
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(dgcm_bots::run(
        cfg,
        Some(key),
        metrics.clone(),
        async move {
            let _ = rx.await;
        },
    ));
    RunningBots {
        metrics,
        stop,
        task,
    }
}

impl RunningBots {
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("bots stop within 10 s")
            .expect("bot task did not panic")
    }
}
