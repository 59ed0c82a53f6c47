//! Usage samples, the usage commitment, capped job logs, and the Prometheus metrics.
//!
//! **Commitment.** Each job's samples are appended as JSON lines to `usage.jsonl`; the file is
//! served byte for byte by `GET /v1/leases/{id}/usage`, and the usage commitment written into the
//! lease's R9 by the completion transaction is blake2b256 of exactly those bytes. A renter checks
//! it by hashing what they downloaded ([`usage_commitment`]).

use std::path::{Path, PathBuf};
use std::time::Instant;

use bytes::Bytes;
use futures::Stream;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::sync::watch;

use crate::gpu::GpuSample;

/// One usage sample of a running job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageSample {
    /// ms since the Unix epoch.
    pub t_ms: u64,
    /// CPU used since the previous sample, in thousandths of a core.
    pub cpu_millis: u64,
    pub memory_bytes: u64,
    pub pids: u64,
    /// Per GPU, when NVML is present.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gpus: Vec<GpuSample>,
}

/// Appends samples to a job's `usage.jsonl`.
pub struct UsageWriter {
    file: tokio::fs::File,
    pub count: u64,
}

impl UsageWriter {
    /// Opens for appending (a job found again after a restart keeps its earlier samples).
    pub async fn open(path: &Path) -> std::io::Result<UsageWriter> {
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .await?;
        Ok(UsageWriter { file, count: 0 })
    }

    pub async fn push(&mut self, s: &UsageSample) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(s).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line).await?;
        self.count += 1;
        Ok(())
    }
}

/// blake2b256 of a usage file's bytes (what the completion transaction commits to).
pub fn usage_commitment(bytes: &[u8]) -> [u8; 32] {
    dgcm_contracts::util::blake2b256(bytes)
}

/// Progress of a job's log, for followers.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogProgress {
    pub bytes: u64,
    /// No more output will come.
    pub done: bool,
    /// When the first byte was written (for the start-to-first-log figure).
    pub first_at: Option<Instant>,
}

/// A job's log file with a size cap; followers are woken through a watch channel.
pub struct LogSink {
    file: tokio::fs::File,
    written: u64,
    cap: u64,
    truncated: bool,
    progress: watch::Sender<LogProgress>,
}

impl LogSink {
    /// Opens `path` for appending (existing content counts against the cap).
    pub async fn open(
        path: &Path,
        cap: u64,
        progress: watch::Sender<LogProgress>,
    ) -> std::io::Result<LogSink> {
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .await?;
        let written = file.metadata().await?.len();
        progress.send_modify(|p| p.bytes = written);
        Ok(LogSink {
            file,
            written,
            cap,
            truncated: written >= cap,
            progress,
        })
    }

    /// Starts over (a job found again after a restart re-reads the daemon's whole log).
    pub async fn reset(&mut self) -> std::io::Result<()> {
        self.file.set_len(0).await?;
        self.file.seek(std::io::SeekFrom::Start(0)).await?;
        self.written = 0;
        self.truncated = false;
        self.progress.send_modify(|p| p.bytes = 0);
        Ok(())
    }

    /// Appends `data`, up to the cap; past it, one marker line and nothing more.
    pub async fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        if data.is_empty() || self.truncated {
            return Ok(());
        }
        let room = self.cap.saturating_sub(self.written) as usize;
        let take = data.len().min(room);
        self.file.write_all(&data[..take]).await?;
        self.written += take as u64;
        if take < data.len() {
            let marker = format!("\n[dgcm-worker: log truncated at {} bytes]\n", self.cap);
            self.file.write_all(marker.as_bytes()).await?;
            self.written += marker.len() as u64;
            self.truncated = true;
        }
        let now = Instant::now();
        let written = self.written;
        self.progress.send_modify(|p| {
            p.bytes = written;
            p.first_at.get_or_insert(now);
        });
        Ok(())
    }

    /// Adds a line from the worker itself (not counted against the cap).
    pub async fn note(&mut self, line: &str) -> std::io::Result<()> {
        let l = format!("[dgcm-worker] {line}\n");
        self.file.write_all(l.as_bytes()).await?;
        self.written += l.len() as u64;
        let written = self.written;
        self.progress.send_modify(|p| p.bytes = written);
        Ok(())
    }

    /// Hands what was written to the file system (before the log is hashed).
    pub async fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush().await
    }

    pub fn finish(&self) {
        self.progress.send_modify(|p| p.done = true);
    }
}

/// The log as a byte stream that follows the file until the job is done.
pub fn follow_log(
    path: PathBuf,
    rx: watch::Receiver<LogProgress>,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
    struct St {
        path: PathBuf,
        file: Option<tokio::fs::File>,
        rx: watch::Receiver<LogProgress>,
        finished: bool,
    }
    futures::stream::unfold(
        St {
            path,
            file: None,
            rx,
            finished: false,
        },
        |mut st| async move {
            if st.finished {
                return None;
            }
            loop {
                if st.file.is_none() {
                    match tokio::fs::File::open(&st.path).await {
                        Ok(f) => st.file = Some(f),
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => {
                            st.finished = true;
                            return Some((Err(e), st));
                        }
                    }
                }
                let done = st.rx.borrow_and_update().done;
                if let Some(f) = st.file.as_mut() {
                    let mut buf = vec![0u8; 64 * 1024];
                    match f.read(&mut buf).await {
                        Ok(0) => {}
                        Ok(n) => {
                            buf.truncate(n);
                            return Some((Ok(Bytes::from(buf)), st));
                        }
                        Err(e) => {
                            st.finished = true;
                            return Some((Err(e), st));
                        }
                    }
                }
                if done {
                    return None;
                }
                // Wait for more output (or re-check now and then: a sender dropped at a
                // restart must not hang the follower forever).
                let _ =
                    tokio::time::timeout(std::time::Duration::from_secs(1), st.rx.changed()).await;
            }
        },
    )
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LeaseLabel {
    pub lease: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GpuLabel {
    pub gpu: String,
}

/// Everything on `/metrics` (prefix `dgcm_worker_`).
pub struct Metrics {
    registry: Registry,
    pub jobs_started: Counter,
    pub jobs_finished: Family<StatusLabel, Counter>,
    pub jobs_running: Gauge,
    pub auth_refused: Family<ReasonLabel, Counter>,
    pub tokens_issued: Counter,
    pub completions: Family<StatusLabel, Counter>,
    pub chain_height: Gauge,
    pub job_cpu_millis: Family<LeaseLabel, Gauge>,
    pub job_memory_bytes: Family<LeaseLabel, Gauge>,
    pub job_pids: Family<LeaseLabel, Gauge>,
    pub gpu_util_pct: Family<GpuLabel, Gauge>,
    pub gpu_memory_used_bytes: Family<GpuLabel, Gauge>,
    pub gpu_power_mw: Family<GpuLabel, Gauge>,
    pub gpu_temp_c: Family<GpuLabel, Gauge>,
    pub nvml_available: Gauge,
    pub first_log_seconds: Histogram,
    pub listing_price: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut r = Registry::with_prefix("dgcm_worker");
        let m = Metrics {
            jobs_started: Counter::default(),
            jobs_finished: Family::default(),
            jobs_running: Gauge::default(),
            auth_refused: Family::default(),
            tokens_issued: Counter::default(),
            completions: Family::default(),
            chain_height: Gauge::default(),
            job_cpu_millis: Family::default(),
            job_memory_bytes: Family::default(),
            job_pids: Family::default(),
            gpu_util_pct: Family::default(),
            gpu_memory_used_bytes: Family::default(),
            gpu_power_mw: Family::default(),
            gpu_temp_c: Family::default(),
            nvml_available: Gauge::default(),
            first_log_seconds: Histogram::new(
                prometheus_client::metrics::histogram::exponential_buckets(0.01, 2.0, 12),
            ),
            listing_price: Gauge::default(),
            registry: Registry::default(),
        };
        r.register("jobs_started", "Jobs started", m.jobs_started.clone());
        r.register(
            "jobs_finished",
            "Jobs finished, by status",
            m.jobs_finished.clone(),
        );
        r.register("jobs_running", "Jobs running now", m.jobs_running.clone());
        r.register(
            "auth_refused",
            "Auth requests refused, by reason",
            m.auth_refused.clone(),
        );
        r.register(
            "tokens_issued",
            "Bearer tokens issued",
            m.tokens_issued.clone(),
        );
        r.register(
            "completions",
            "Completion transactions, by result",
            m.completions.clone(),
        );
        r.register(
            "chain_height",
            "Last chain height seen",
            m.chain_height.clone(),
        );
        r.register(
            "job_cpu_millis",
            "CPU of a running job, thousandths of a core",
            m.job_cpu_millis.clone(),
        );
        r.register(
            "job_memory_bytes",
            "Memory of a running job",
            m.job_memory_bytes.clone(),
        );
        r.register("job_pids", "Processes of a running job", m.job_pids.clone());
        r.register(
            "gpu_utilization_percent",
            "NVML GPU utilisation",
            m.gpu_util_pct.clone(),
        );
        r.register(
            "gpu_memory_used_bytes",
            "NVML GPU memory used",
            m.gpu_memory_used_bytes.clone(),
        );
        r.register(
            "gpu_power_milliwatts",
            "NVML power draw",
            m.gpu_power_mw.clone(),
        );
        r.register(
            "gpu_temperature_celsius",
            "NVML GPU temperature",
            m.gpu_temp_c.clone(),
        );
        r.register(
            "nvml_available",
            "1 when GPU metrics come from NVML, 0 when NVML is unavailable",
            m.nvml_available.clone(),
        );
        r.register(
            "job_first_log_seconds",
            "From job start request to its first log byte",
            m.first_log_seconds.clone(),
        );
        r.register(
            "listing_price",
            "Price published in the listing, mGPUC per hour",
            m.listing_price.clone(),
        );
        Metrics { registry: r, ..m }
    }
}

impl Metrics {
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut s, &self.registry);
        s
    }

    pub fn record_sample(&self, lease: &str, s: &UsageSample) {
        let l = LeaseLabel {
            lease: lease.to_string(),
        };
        self.job_cpu_millis
            .get_or_create(&l)
            .set(s.cpu_millis as i64);
        self.job_memory_bytes
            .get_or_create(&l)
            .set(s.memory_bytes as i64);
        self.job_pids.get_or_create(&l).set(s.pids as i64);
        self.record_gpus(&s.gpus);
    }

    pub fn record_gpus(&self, gpus: &[GpuSample]) {
        for g in gpus {
            let l = GpuLabel {
                gpu: g.index.to_string(),
            };
            self.gpu_util_pct.get_or_create(&l).set(g.util_pct as i64);
            self.gpu_memory_used_bytes
                .get_or_create(&l)
                .set(g.memory_used_bytes as i64);
            self.gpu_power_mw.get_or_create(&l).set(g.power_mw as i64);
            self.gpu_temp_c.get_or_create(&l).set(g.temp_c as i64);
        }
    }

    pub fn forget_job(&self, lease: &str) {
        let l = LeaseLabel {
            lease: lease.to_string(),
        };
        self.job_cpu_millis.remove(&l);
        self.job_memory_bytes.remove(&l);
        self.job_pids.remove(&l);
    }

    pub fn refused(&self, reason: &str) {
        self.auth_refused
            .get_or_create(&ReasonLabel {
                reason: reason.to_string(),
            })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[tokio::test]
    async fn log_cap_marker_and_follow() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let (tx, rx) = watch::channel(LogProgress::default());
        let mut sink = LogSink::open(&path, 10, tx).await.unwrap();
        let follower = tokio::spawn(follow_log(path.clone(), rx).collect::<Vec<_>>());
        sink.write(b"hello ").await.unwrap();
        sink.write(b"world, more than ten").await.unwrap();
        sink.write(b"dropped").await.unwrap();
        sink.finish();
        let got: Vec<u8> = follower
            .await
            .unwrap()
            .into_iter()
            .flat_map(|b| b.unwrap().to_vec())
            .collect();
        let text = String::from_utf8(got).unwrap();
        assert!(
            text.starts_with("hello worl\n[dgcm-worker: log truncated at 10 bytes]"),
            "{text}"
        );
        assert!(!text.contains("dropped"));
        assert_eq!(text, std::fs::read_to_string(&path).unwrap());
    }

    #[test]
    fn metrics_render() {
        let m = Metrics::default();
        m.jobs_started.inc();
        m.record_sample(
            "ab",
            &UsageSample {
                t_ms: 1,
                cpu_millis: 5,
                memory_bytes: 7,
                pids: 2,
                gpus: vec![],
            },
        );
        let text = m.render();
        assert!(text.contains("dgcm_worker_jobs_started_total 1"), "{text}");
        assert!(
            text.contains("dgcm_worker_job_memory_bytes{lease=\"ab\"} 7"),
            "{text}"
        );
    }
}
