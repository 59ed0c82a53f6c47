//! The indexing loop: follower events into the store, with catch-up batching, progress, metrics,
//! and recovery from node and database failures (reconnect, resume from the stored cursor).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dgcm_chain::follower::FollowerError;
use dgcm_chain::{ChainEvent, Cursor, Follower, FollowerConfig, FullBlock, NodeClient};
use dgcm_contracts::Contracts;
use ergo_lib::ergo_chain_types::BlockId;
use futures::{Stream, StreamExt};

use crate::decode::Decoder;
use crate::rows::BlockRows;
use crate::store::{Store, StoreError};

#[derive(Clone)]
pub struct IndexerConfig {
    pub database_url: String,
    /// First block to index on an empty database (`None` or ≤ 1: from genesis, with the genesis
    /// boxes from `/utxo/genesis`).
    pub from_height: Option<u32>,
    pub follower: FollowerConfig,
    /// Most blocks applied in one database transaction while catching up.
    pub max_batch: usize,
    /// Deployment whose boxes are decoded into the protocol tables.
    pub contracts: Option<Contracts>,
    /// Keep the mempool tables in step with the node (every this often).
    pub mempool_every: Option<Duration>,
    /// First wait after an interruption; doubles while nothing gets indexed, up to 10 s.
    pub retry_backoff: Duration,
}

impl IndexerConfig {
    pub fn new(database_url: impl Into<String>) -> Self {
        IndexerConfig {
            database_url: database_url.into(),
            from_height: None,
            follower: FollowerConfig::default(),
            max_batch: 64,
            contracts: None,
            mempool_every: Some(Duration::from_secs(2)),
            retry_backoff: Duration::from_millis(500),
        }
    }
}

/// The contracts `dgcm index --protocol` (`[index] protocol`, `DGCM_DEPLOYMENT`) names:
/// - `devnet`: the built-in devnet deployment (`ProtocolParams::devnet_default`, which the
///   devnet's genesis carries);
/// - `none`: no protocol decoding, the raw chain tables only;
/// - anything else: the path of a deployment file written by `dgcm tx deploy-vault`.
///
/// Errors name `field` (the setting or flag) and the reason (missing file, bad JSON, a bad id).
pub fn protocol_contracts(field: &str, protocol: &str) -> anyhow::Result<Option<Contracts>> {
    use dgcm_contracts::deployment::Deployment;
    let deployment = match protocol.trim() {
        "devnet" => Deployment::devnet_default(),
        "none" => return Ok(None),
        "" => anyhow::bail!("{field}: empty (`devnet`, `none` or a deployment file)"),
        path => Deployment::load(std::path::Path::new(path)).map_err(|e| {
            anyhow::anyhow!(
                "{field}: {path:?} is not `devnet`, `none` or a usable deployment file: {e}"
            )
        })?,
    };
    let contracts = deployment
        .contracts()
        .map_err(|e| anyhow::anyhow!("{field}: deployment: {e}"))?;
    Ok(Some(contracts))
}

/// Counters shared with `/metrics` and tests.
#[derive(Default)]
pub struct IndexerMetrics {
    pub height: AtomicI64,
    pub node_height: AtomicI64,
    pub blocks_applied: AtomicU64,
    pub blocks_rolled_back: AtomicU64,
    pub boxes_indexed: AtomicU64,
    pub errors: AtomicU64,
    /// Blocks per second over the last progress interval, ×1000.
    pub rate_milli: AtomicU64,
}

impl IndexerMetrics {
    pub fn render(&self) -> String {
        use prometheus_client::encoding::text::encode;
        use prometheus_client::metrics::gauge::Gauge;
        use prometheus_client::registry::Registry;
        let mut reg = Registry::default();
        let h = self.height.load(Ordering::Relaxed);
        let n = self.node_height.load(Ordering::Relaxed);
        for (name, help, v) in [
            ("indexer_height", "Height of the last indexed block", h),
            ("indexer_node_height", "Height of the node's best block", n),
            (
                "indexer_lag_blocks",
                "Blocks the index is behind the node",
                (n - h).max(0),
            ),
            (
                "indexer_blocks_applied",
                "Blocks applied since start",
                self.blocks_applied.load(Ordering::Relaxed) as i64,
            ),
            (
                "indexer_blocks_rolled_back",
                "Blocks undone since start",
                self.blocks_rolled_back.load(Ordering::Relaxed) as i64,
            ),
            (
                "indexer_boxes_indexed",
                "Boxes written since start",
                self.boxes_indexed.load(Ordering::Relaxed) as i64,
            ),
            (
                "indexer_errors",
                "Node or database errors recovered from since start",
                self.errors.load(Ordering::Relaxed) as i64,
            ),
            (
                "indexer_blocks_per_second_milli",
                "Recent indexing rate in blocks/s x1000",
                self.rate_milli.load(Ordering::Relaxed) as i64,
            ),
        ] {
            let g: Gauge = Gauge::default();
            g.set(v);
            reg.register(name, help, g);
        }
        let mut out = String::new();
        let _ = encode(&mut out, &reg);
        out
    }
}

/// Run a blocking store operation off the async runtime.
async fn blocking<T: Send + 'static>(
    store: &mut Option<Store>,
    f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let mut s = store.take().expect("store present");
    let (s, r) = tokio::task::spawn_blocking(move || {
        let r = f(&mut s);
        (s, r)
    })
    .await
    .map_err(|e| StoreError::Inconsistent(format!("store task: {e}")))?;
    *store = Some(s);
    r
}

/// Connect, initialise an empty database, and return the cursor to follow from.
async fn open(
    config: &IndexerConfig,
    client: &NodeClient,
    decoder: &Arc<Decoder>,
) -> anyhow::Result<(Option<Store>, Cursor)> {
    let url = config.database_url.clone();
    let mut store = Some(tokio::task::spawn_blocking(move || Store::connect(&url)).await??);
    if let Some(c) = blocking(&mut store, |s| s.cursor()).await? {
        return Ok((store, c));
    }
    let start = match config.from_height {
        Some(h) if h > 1 => {
            let ids = client.block_ids_at(h - 1).await?;
            let id = *ids.first().ok_or_else(|| {
                anyhow::anyhow!("--from-height {h}: the node has no block at {}", h - 1)
            })?;
            (
                None,
                Cursor {
                    height: h - 1,
                    header_id: id,
                },
            )
        }
        _ => {
            let genesis = client.genesis_boxes().await?;
            let rows = BlockRows::from_genesis(&genesis, decoder);
            (Some(rows), Cursor::genesis())
        }
    };
    let (rows, cursor) = start;
    blocking(&mut store, move |s| s.initialise(rows.as_ref(), cursor)).await?;
    tracing::info!(height = cursor.height, "initialised an empty index");
    Ok((store, cursor))
}

/// Index until `shutdown` resolves. Node errors and lost database connections are logged and
/// retried with backoff; the index resumes from its stored cursor.
pub async fn run(
    config: IndexerConfig,
    client: NodeClient,
    metrics: Arc<IndexerMetrics>,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    tokio::pin!(shutdown);
    let decoder = Arc::new(Decoder::new(config.contracts.clone()));
    if let Some(every) = config.mempool_every {
        tokio::spawn(mempool_loop(
            config.database_url.clone(),
            client.clone(),
            every,
            metrics.clone(),
        ));
    }
    let mut backoff = config.retry_backoff;
    loop {
        let applied_before = metrics.blocks_applied.load(Ordering::Relaxed)
            + metrics.blocks_rolled_back.load(Ordering::Relaxed);
        let session = index_session(&config, &client, &decoder, &metrics);
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            r = session => {
                let e = r.expect_err("a session only ends with an error");
                // A session that made progress was a transient failure: start over gently.
                let applied_after = metrics.blocks_applied.load(Ordering::Relaxed)
                    + metrics.blocks_rolled_back.load(Ordering::Relaxed);
                if applied_after != applied_before {
                    backoff = config.retry_backoff;
                }
                metrics.errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %format!("{e:#}"), retry_in = ?backoff, "indexing interrupted; resuming from the stored cursor");
                tokio::select! {
                    _ = &mut shutdown => return Ok(()),
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// What the database side does next, prepared by the chain side.
pub enum Step {
    /// Consecutive blocks, rows already built: one database transaction.
    Apply(Vec<BlockRows>),
    Rollback {
        height: u32,
        id: BlockId,
        parent: BlockId,
    },
}

/// Chain side of the pipeline: turns events into steps, batching the forward runs that are
/// already fetched and building their rows on a blocking thread, while the database side writes
/// the previous step.
pub async fn produce<S>(
    events: S,
    decoder: Arc<Decoder>,
    max_batch: usize,
    steps: tokio::sync::mpsc::Sender<Step>,
) -> anyhow::Result<()>
where
    S: Stream<Item = Result<ChainEvent, FollowerError>>,
{
    let mut chunks = std::pin::pin!(events.ready_chunks(max_batch.max(1)));
    while let Some(evs) = chunks.next().await {
        let mut run: Vec<Arc<FullBlock>> = Vec::new();
        for ev in evs {
            match ev? {
                ChainEvent::RollForward(b) => run.push(b),
                ChainEvent::RollBackward(b) => {
                    send_run(&mut run, &decoder, &steps).await?;
                    let step = Step::Rollback {
                        height: b.height(),
                        id: b.id(),
                        parent: b.parent_id(),
                    };
                    steps
                        .send(step)
                        .await
                        .map_err(|_| anyhow::anyhow!("database side stopped"))?;
                }
            }
        }
        send_run(&mut run, &decoder, &steps).await?;
    }
    Ok(())
}

async fn send_run(
    run: &mut Vec<Arc<FullBlock>>,
    decoder: &Arc<Decoder>,
    steps: &tokio::sync::mpsc::Sender<Step>,
) -> anyhow::Result<()> {
    if run.is_empty() {
        return Ok(());
    }
    let blocks = std::mem::take(run);
    let d = decoder.clone();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let rows =
        tokio::task::spawn_blocking(move || BlockRows::from_blocks(&blocks, &d, threads)).await?;
    steps
        .send(Step::Apply(rows))
        .await
        .map_err(|_| anyhow::anyhow!("database side stopped"))
}

/// Database side of the pipeline: applies steps in order, each in one transaction.
pub async fn consume(
    mut store: Option<Store>,
    mut steps: tokio::sync::mpsc::Receiver<Step>,
    metrics: Arc<IndexerMetrics>,
) -> anyhow::Result<()> {
    while let Some(step) = steps.recv().await {
        match step {
            Step::Apply(rows) => {
                let n = rows.len() as u64;
                let boxes: usize = rows.iter().map(|r| r.box_count()).sum();
                let top = rows
                    .last()
                    .and_then(|r| r.header.as_ref())
                    .map(|h| h.height)
                    .unwrap_or(0);
                blocking(&mut store, move |s| s.apply_many(&rows)).await?;
                metrics.blocks_applied.fetch_add(n, Ordering::Relaxed);
                metrics
                    .boxes_indexed
                    .fetch_add(boxes as u64, Ordering::Relaxed);
                metrics.height.store(top as i64, Ordering::Relaxed);
            }
            Step::Rollback { height, id, parent } => {
                blocking(&mut store, move |s| s.rollback(height, &id, &parent)).await?;
                metrics.blocks_rolled_back.fetch_add(1, Ordering::Relaxed);
                metrics.height.store(height as i64 - 1, Ordering::Relaxed);
                tracing::info!(height, "rolled back a block");
            }
        }
    }
    Ok(())
}

async fn index_session(
    config: &IndexerConfig,
    client: &NodeClient,
    decoder: &Arc<Decoder>,
    metrics: &Arc<IndexerMetrics>,
) -> anyhow::Result<std::convert::Infallible> {
    let (store, cursor) = open(config, client, decoder).await?;
    metrics
        .height
        .store(cursor.height as i64, Ordering::Relaxed);
    let follower = Follower::new(client.clone(), config.follower.clone(), cursor);
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let producer = produce(
        follower.into_stream(),
        decoder.clone(),
        config.max_batch,
        tx,
    );
    let consumer = consume(store, rx, metrics.clone());
    let progress = report_progress(client, metrics);
    tokio::select! {
        r = producer => r.and_then(|_| Err(anyhow::anyhow!("the follower stopped"))),
        r = consumer => r.and_then(|_| Err(anyhow::anyhow!("the database side stopped"))),
        r = progress => Ok(r),
    }
}

/// Every 5 s: node height, lag and rate into the metrics and the log. Never returns.
async fn report_progress(
    client: &NodeClient,
    metrics: &Arc<IndexerMetrics>,
) -> std::convert::Infallible {
    let mut last = metrics.blocks_applied.load(Ordering::Relaxed);
    let mut at = Instant::now();
    loop {
        let now = metrics.blocks_applied.load(Ordering::Relaxed);
        let rate = (now - last) as f64 / at.elapsed().as_secs_f64().max(0.001);
        metrics
            .rate_milli
            .store((rate * 1000.0) as u64, Ordering::Relaxed);
        (last, at) = (now, Instant::now());
        let height = metrics.height.load(Ordering::Relaxed);
        if let Ok(info) = client.info().await {
            let tip = info.full_height.unwrap_or(0) as i64;
            metrics.node_height.store(tip, Ordering::Relaxed);
            tracing::info!(
                height,
                node_height = tip,
                lag = (tip - height).max(0),
                blocks_per_s = format!("{rate:.1}"),
                "indexing"
            );
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

async fn mempool_loop(
    url: String,
    client: NodeClient,
    every: Duration,
    metrics: Arc<IndexerMetrics>,
) {
    let mut store: Option<Store> = None;
    loop {
        tokio::time::sleep(every).await;
        if store.is_none() {
            let u = url.clone();
            match tokio::task::spawn_blocking(move || Store::connect(&u)).await {
                Ok(Ok(s)) => store = Some(s),
                _ => continue,
            }
        }
        let mut txs = Vec::new();
        let mut offset = 0;
        let ok = loop {
            match client.unconfirmed_transactions(offset, 100).await {
                Ok(page) => {
                    let n = page.len() as u32;
                    txs.extend(page);
                    if n < 100 {
                        break true;
                    }
                    offset += n;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "mempool poll failed");
                    break false;
                }
            }
        };
        if !ok {
            continue;
        }
        if let Err(e) = blocking(&mut store, move |s| s.replace_mempool(&txs)).await {
            metrics.errors.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, "mempool view not updated");
            store = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dgcm_contracts::deployment::Deployment;
    use dgcm_contracts::ProtocolParams;

    #[test]
    fn protocol_is_devnet_none_or_a_deployment_file() {
        let devnet = protocol_contracts("protocol", "devnet").unwrap().unwrap();
        assert_eq!(devnet.params, ProtocolParams::devnet_default());
        assert!(protocol_contracts("protocol", "none").unwrap().is_none());

        let dir = std::env::temp_dir().join(format!("dgcm-index-protocol-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("deployment.json");
        let mut d = Deployment::devnet_default();
        d.params.gpuc_id = dgcm_contracts::util::token_id([7; 32]);
        d.params.challenge_window = 99;
        d.save(&path).unwrap();
        let c = protocol_contracts("protocol", path.to_str().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(c.params, d.params, "decodes with the file's deployment");
        assert_ne!(
            c.listing, devnet.listing,
            "another GPUC id, another listing tree"
        );

        let missing = dir.join("missing.json");
        let e = format!(
            "{:#}",
            protocol_contracts("index.protocol", missing.to_str().unwrap()).unwrap_err()
        );
        assert!(
            e.starts_with("index.protocol: ")
                && e.contains("deployment file")
                && e.contains("missing.json"),
            "{e}"
        );
        std::fs::write(&path, "{\"network\": \"testnet\"").unwrap();
        let e = format!(
            "{:#}",
            protocol_contracts("protocol", path.to_str().unwrap()).unwrap_err()
        );
        assert!(e.contains("deployment") && e.contains("not JSON"), "{e}");
        assert!(protocol_contracts("protocol", " ").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
