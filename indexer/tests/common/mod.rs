#![allow(dead_code)]

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dgcm_chain::{FollowerConfig, NodeClient};
use dgcm_indexer::{IndexerConfig, IndexerMetrics};
use diesel::prelude::*;
use diesel::sql_types::Text;

pub fn config(url: &str) -> IndexerConfig {
    IndexerConfig {
        follower: FollowerConfig {
            poll_interval: Duration::from_millis(20),
            batch: 8,
            ..Default::default()
        },
        max_batch: 8,
        mempool_every: None,
        retry_backoff: Duration::from_millis(50),
        ..IndexerConfig::new(url)
    }
}

pub struct Running {
    pub metrics: Arc<IndexerMetrics>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

pub fn spawn(config: IndexerConfig, node: NodeClient) -> Running {
    let metrics = Arc::new(IndexerMetrics::default());
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let m = metrics.clone();
    let task = tokio::spawn(dgcm_indexer::run(config, node, m, async move {
        let _ = rx.await;
    }));
    Running {
        metrics,
        stop,
        task,
    }
}

impl Running {
    pub fn is_running(&self) -> bool {
        !self.task.is_finished()
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(10), self.task).await;
    }
}

/// Wait until the database cursor is the node's best block.
pub async fn wait_synced(db: &str, node: &NodeClient) {
    let t0 = Instant::now();
    loop {
        let info = node.info().await.unwrap();
        let best = info.best_full_header_id.unwrap_or_else(|| "0".repeat(64));
        let url = db.to_string();
        let cur = tokio::task::spawn_blocking(move || {
            let mut c = PgConnection::establish(&url).ok()?;
            #[derive(QueryableByName)]
            struct C {
                #[diesel(sql_type = Text)]
                id: String,
            }
            diesel::sql_query("SELECT encode(header_id, 'hex') AS id FROM sync_cursor")
                .get_result::<C>(&mut c)
                .ok()
                .map(|c| c.id)
        })
        .await
        .unwrap();
        if cur.as_deref() == Some(best.as_str()) {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "indexer did not catch up: cursor {cur:?}, node {best}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One text column `r`, for ad-hoc queries in tests.
#[derive(QueryableByName)]
pub struct TextRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub r: String,
}

/// Every chain table as sorted JSON rows (mempool tables excluded).
pub fn dump(db: &str) -> Vec<(String, Vec<String>)> {
    let mut c = PgConnection::establish(db).unwrap();
    #[derive(QueryableByName)]
    struct R {
        #[diesel(sql_type = Text)]
        r: String,
    }
    let tables = [
        ("sync_cursor", "id"),
        ("headers", "height"),
        ("transactions", "tx_id"),
        ("boxes", "box_id"),
        ("inputs", "tx_id, input_index"),
        ("assets", "box_id, asset_index"),
        ("registers", "box_id, register"),
        ("tokens", "token_id"),
        ("protocol_boxes", "box_id"),
        ("listings", "box_id"),
        ("orders", "box_id"),
        ("leases", "box_id"),
        ("lets_accounts", "box_id"),
        ("arbitration_cases", "box_id"),
        ("rosen_deposits", "box_id"),
        ("rosen_events", "box_id"),
        ("provider_stats", "provider_pk"),
    ];
    tables
        .iter()
        .map(|(t, key)| {
            let rows: Vec<R> = diesel::sql_query(format!(
                "SELECT row_to_json(x)::text AS r FROM (SELECT * FROM {t} ORDER BY {key}) x"
            ))
            .load(&mut c)
            .unwrap();
            (t.to_string(), rows.into_iter().map(|r| r.r).collect())
        })
        .collect()
}

/// Terminate every connection the indexer holds to `db` (a crash of the connection mid-sync).
pub fn kill_connections(db: &str) -> usize {
    let admin = format!("{}/postgres", db.rsplit_once('/').unwrap().0);
    let name = db.rsplit_once('/').unwrap().1.to_string();
    let mut c = PgConnection::establish(&admin).unwrap();
    #[derive(QueryableByName)]
    struct K {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        k: bool,
    }
    let killed: Vec<K> = diesel::sql_query(format!(
        "SELECT pg_terminate_backend(pid) AS k FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    ))
    .load(&mut c)
    .unwrap();
    killed.len()
}

pub fn applied(r: &Running) -> u64 {
    r.metrics.blocks_applied.load(Ordering::Relaxed)
}
