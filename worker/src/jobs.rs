//! The job manager: checks a submitted spec against its lease, runs it on the runtime, keeps its
//! record, log, usage samples and commitment, and finds running jobs again after a restart.
//! Chain-agnostic: what to do when a job finished (the completion transaction) is a hook.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use tokio::sync::{mpsc, watch, Mutex, Notify};

use crate::config::DockerConfig;
use crate::gpu::Gpu;
use crate::jobspec::{job_spec_hash, JobSpec};
use crate::metering::{usage_commitment, LogProgress, LogSink, Metrics, UsageWriter};
use crate::runtime::{Limits, Outcome, RunError, RunRequest, Running, Runtime, SharedSink};
use crate::state::{now_ms, JobRecord, JobStatus, LeaseRecord, Store};

/// Called with the lease id when a job has finished and its record is final.
pub type FinishHook = Arc<dyn Fn(String) -> BoxFuture<'static, ()> + Send + Sync>;

/// Why a job was refused or cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("job spec hash {got} differs from the lease's job-spec hash {expected}")]
    HashMismatch { expected: String, got: String },
    #[error("this lease already has a job ({0})")]
    Exists(String),
    #[error("{field}: {reason}")]
    Spec { field: String, reason: String },
    #[error("image: {0}")]
    Image(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    NotReady(String),
    #[error("{0}")]
    TooLarge(String),
    /// Every GPU this worker has is allocated to a running job.
    #[error("{0}")]
    NoGpuFree(String),
    #[error("{0}")]
    Internal(String),
}

impl From<RunError> for JobError {
    fn from(e: RunError) -> Self {
        match e {
            RunError::Image(m) => JobError::Image(m),
            RunError::Spec { field, reason } => JobError::Spec { field, reason },
            RunError::Runtime(m) => JobError::Internal(m),
        }
    }
}

/// Names the worker sets itself and a job may not: `NVIDIA_*` (which GPUs and driver parts the
/// NVIDIA runtime hands the container) and `LD_*` (the dynamic loader). Everything else is a
/// plain name (letters, digits, `_`, not starting with a digit).
pub const RESERVED_ENV_PREFIXES: [&str; 2] = ["NVIDIA_", "LD_"];

/// The job's environment against [`RESERVED_ENV_PREFIXES`] and the name shape.
fn check_env(spec: &JobSpec) -> Result<(), JobError> {
    for k in spec.env.keys() {
        let plain = k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !k.starts_with(|c: char| c.is_ascii_digit());
        if !plain {
            return Err(JobError::Spec {
                field: format!("env.{k}"),
                reason: "a variable name is letters, digits and _, not starting with a digit"
                    .into(),
            });
        }
        if let Some(p) = RESERVED_ENV_PREFIXES
            .iter()
            .find(|p| k.to_ascii_uppercase().starts_with(*p))
        {
            return Err(JobError::Spec {
                field: format!("env.{k}"),
                reason: format!("{p}* is reserved: the worker sets it (GPUs, loader) itself"),
            });
        }
    }
    Ok(())
}

fn internal(e: impl std::fmt::Display) -> JobError {
    JobError::Internal(e.to_string())
}

/// What the manager needs of the configuration.
#[derive(Debug, Clone)]
pub struct JobSettings {
    pub docker: DockerConfig,
    pub block_time: Duration,
    pub stop_margin_blocks: u32,
    /// GPUs on this machine (for the default GPU request when `docker.gpus`).
    pub gpu_count: u32,
}

struct Live {
    progress: watch::Receiver<LogProgress>,
    stop: Arc<Notify>,
}

pub struct JobManager {
    pub store: Arc<Store>,
    pub metrics: Arc<Metrics>,
    pub gpu: Arc<Gpu>,
    pub runtime: Arc<Runtime>,
    pub settings: JobSettings,
    live: std::sync::Mutex<HashMap<String, Live>>,
    hook: std::sync::Mutex<Option<FinishHook>>,
    /// GPU index → the lease whose job holds it: two jobs never share a GPU.
    gpu_table: std::sync::Mutex<Vec<Option<String>>>,
    /// Log followers open per lease (`docker.max_log_followers` at most).
    followers: Arc<std::sync::Mutex<HashMap<String, usize>>>,
}

/// One open log follower of a lease; counted down when dropped (the stream ended or the client
/// went away).
pub struct FollowerSlot {
    map: Arc<std::sync::Mutex<HashMap<String, usize>>>,
    lease_id: String,
}

impl Drop for FollowerSlot {
    fn drop(&mut self) {
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(&self.lease_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&self.lease_id);
            }
        }
    }
}

fn ms_to_time(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

impl JobManager {
    pub fn new(
        store: Arc<Store>,
        metrics: Arc<Metrics>,
        gpu: Arc<Gpu>,
        runtime: Arc<Runtime>,
        settings: JobSettings,
    ) -> Arc<JobManager> {
        let gpus = settings.gpu_count as usize;
        Arc::new(JobManager {
            store,
            metrics,
            gpu,
            runtime,
            settings,
            live: std::sync::Mutex::new(HashMap::new()),
            hook: std::sync::Mutex::new(None),
            gpu_table: std::sync::Mutex::new(vec![None; gpus]),
            followers: Arc::new(std::sync::Mutex::new(HashMap::new())),
        })
    }

    /// A log follower slot for `lease_id`, or `None` when it already holds
    /// `docker.max_log_followers` (each follower is a task and an open file on the worker).
    pub fn follower(&self, lease_id: &str) -> Option<FollowerSlot> {
        let mut m = self.followers.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(lease_id.to_string()).or_insert(0);
        if *n >= self.settings.docker.max_log_followers {
            return None;
        }
        *n += 1;
        Some(FollowerSlot {
            map: self.followers.clone(),
            lease_id: lease_id.to_string(),
        })
    }

    fn gpu_table(&self) -> std::sync::MutexGuard<'_, Vec<Option<String>>> {
        self.gpu_table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Allocates `n` free GPUs (lowest indices first) to `lease_id`, or refuses when fewer are
    /// free: GPUs are handed out by index, never by count, so two paying jobs never share one.
    fn allocate_gpus(&self, lease_id: &str, n: u32) -> Result<Vec<u32>, JobError> {
        if n == 0 {
            return Ok(vec![]);
        }
        let mut t = self.gpu_table();
        let free: Vec<u32> = (0..t.len() as u32)
            .filter(|&i| t[i as usize].is_none())
            .take(n as usize)
            .collect();
        if free.len() < n as usize {
            let busy = t.iter().filter(|x| x.is_some()).count();
            return Err(JobError::NoGpuFree(format!(
                "resources.gpus: {n} asked, {} of this worker's {} GPUs are free ({busy} held by                  running jobs); try again when one finishes",
                free.len(),
                t.len()
            )));
        }
        for &i in &free {
            t[i as usize] = Some(lease_id.to_string());
        }
        Ok(free)
    }

    /// Gives back the GPUs `lease_id` holds.
    fn release_gpus(&self, lease_id: &str) {
        for slot in self.gpu_table().iter_mut() {
            if slot.as_deref() == Some(lease_id) {
                *slot = None;
            }
        }
    }

    /// Frees the disk a finished job used — its folder (output, log, usage, results archive)
    /// and the images its lease uploaded that no other lease uploaded too — once nothing can
    /// ask for them (the caller knows the lease's dispute window has closed). The record stays,
    /// marked `cleaned_ms`.
    pub async fn clean(&self, lease_id: &str) {
        let Some(j) = self.job(lease_id) else { return };
        if !j.status.finished() || j.cleaned_ms.is_some() {
            return;
        }
        let dir = self.job_dir(lease_id);
        if let Err(e) = tokio::fs::remove_dir_all(&dir).await {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(lease = %lease_id, error = %e, "removing the job folder failed");
                return;
            }
        }
        let (mine, others): (Vec<String>, Vec<String>) = self.store.read(|s| {
            let mine = s.uploads.get(lease_id).cloned().unwrap_or_default();
            let others = s
                .uploads
                .iter()
                .filter(|(l, _)| l.as_str() != lease_id)
                .flat_map(|(_, ids)| ids.clone())
                .collect();
            (mine, others)
        });
        if let Runtime::Docker(d) = self.runtime.as_ref() {
            for id in mine.iter().filter(|id| !others.contains(id)) {
                d.remove_image(id).await;
            }
        }
        let _ = self.store.update(|s| {
            s.uploads.remove(lease_id);
            if let Some(r) = s.jobs.get_mut(lease_id) {
                r.cleaned_ms = Some(now_ms());
            }
        });
        tracing::info!(lease = %lease_id, "job files and uploads removed after the dispute window");
    }

    /// The GPU allocation table: index → lease holding it.
    pub fn gpu_allocation(&self) -> Vec<Option<String>> {
        self.gpu_table().clone()
    }

    pub fn set_finish_hook(&self, hook: FinishHook) {
        *self.hook.lock().unwrap_or_else(|p| p.into_inner()) = Some(hook);
    }

    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<String, Live>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn job_dir(&self, lease_id: &str) -> PathBuf {
        self.store.job_dir(lease_id)
    }

    pub fn log_path(&self, lease_id: &str) -> PathBuf {
        self.job_dir(lease_id).join("log")
    }

    pub fn usage_path(&self, lease_id: &str) -> PathBuf {
        self.job_dir(lease_id).join("usage.jsonl")
    }

    pub fn job(&self, lease_id: &str) -> Option<JobRecord> {
        self.store.read(|s| s.jobs.get(lease_id).cloned())
    }

    /// The log progress of a job: live while it runs, "done" otherwise.
    pub fn progress(&self, lease_id: &str) -> watch::Receiver<LogProgress> {
        if let Some(l) = self.live().get(lease_id) {
            return l.progress.clone();
        }
        let (_tx, rx) = watch::channel(LogProgress {
            done: true,
            ..Default::default()
        });
        rx
    }

    /// Asks a running job to stop now (deadline sequence).
    pub fn stop(&self, lease_id: &str) {
        if let Some(l) = self.live().get(lease_id) {
            l.stop.notify_one();
        }
    }

    /// Lease ids of the jobs running now.
    pub fn running(&self) -> Vec<String> {
        self.live().keys().cloned().collect()
    }

    /// The limits for `spec`: the worker's, lowered by the spec's requests. A spec is refused
    /// exactly when it does not fit this worker's listing (`capacity::spec_fits` against the
    /// limits the listing publishes, `docker.capacity()`), naming the field.
    pub fn limits(&self, spec: &JobSpec) -> Result<Limits, JobError> {
        let d = &self.settings.docker;
        let r = &spec.resources;
        dgcm_contracts::capacity::spec_fits(spec, &d.capacity(), self.settings.gpu_count as i64)
            .map_err(|e| JobError::Spec {
                field: e.field,
                reason: e.reason,
            })?;
        let memory_mib = r.memory_mib.unwrap_or(d.memory_mib);
        let cpu_millis = r.cpu_millis.unwrap_or(d.cpu_millis);
        let pids = r.pids.unwrap_or(d.pids_limit);
        // Without `docker.gpus` (no NVIDIA runtime) a job gets none unless it asks; what it asks
        // for is still allocated by index (the GPUs the listing advertises).
        let default_gpus = if d.gpus { self.settings.gpu_count } else { 0 };
        let gpus = r.gpus.unwrap_or(default_gpus);
        Ok(Limits {
            memory_bytes: (memory_mib * 1024 * 1024) as i64,
            cpu_millis,
            pids,
            tmpfs_mib: d.tmpfs_mib,
            gpus,
            // Filled from the allocation table at submission.
            gpu_ids: vec![],
            egress: d.egress,
            output_bytes: d.max_output_mib.saturating_mul(1024 * 1024),
        })
    }

    /// A spec over this worker's limits: the renter's fault (a no-show: the no-show rule
    /// completes the lease) unless the spec fits limits our listing published earlier, which
    /// the lease may have been matched against (then ours: recorded in `fault_refused`, and the
    /// lease is left to the slash).
    fn refused(&self, lease: &LeaseRecord, spec: &JobSpec, e: JobError) -> JobError {
        let gpus = self.settings.gpu_count as i64;
        let promised = self.store.read(|s| {
            s.published_limits
                .iter()
                .any(|c| dgcm_contracts::capacity::spec_fits(spec, c, gpus).is_ok())
        });
        if !promised {
            // The renter's fault: the spec its lease commits to can never run here.
            let _ = self.store.update(|s| {
                s.spec_refused.insert(lease.lease_id.clone());
            });
            return match e {
                JobError::Spec { field, reason } => JobError::Spec {
                    field,
                    reason: format!(
                        "{reason}: over the limits this provider's listing publishes, so the \
                         lease is settled as a no-show (no_show_blocks are billed)"
                    ),
                },
                other => other,
            };
        }
        let _ = self.store.update(|s| {
            s.fault_refused.insert(lease.lease_id.clone());
        });
        tracing::error!(
            lease = %lease.lease_id,
            error = %e,
            "a job spec within limits our listing published is over this worker's limits now: \
             the lease is left to the slash (the renter gets the payment and the collateral)"
        );
        match e {
            JobError::Spec { field, reason } => JobError::Spec {
                field,
                reason: format!(
                    "{reason}; it fits limits this provider's listing published, so the \
                     provider is at fault: the lease will not be completed and can be slashed \
                     after its deadline"
                ),
            },
            other => other,
        }
    }

    /// When a lease's job is stopped: the deadline less the margin.
    pub fn stop_at_ms(&self, lease: &LeaseRecord) -> u64 {
        let margin =
            self.settings.block_time.as_millis() as u64 * self.settings.stop_margin_blocks as u64;
        lease.deadline_ms.saturating_sub(margin)
    }

    /// Accepts and starts the lease's job. Checks, in order and before anything is created:
    /// the spec hash against the lease, that the lease has no job yet, the limits, the deadline,
    /// the image. Returns once the job is recorded as `starting`.
    pub async fn submit(
        self: &Arc<Self>,
        lease: &LeaseRecord,
        spec: JobSpec,
    ) -> Result<JobRecord, JobError> {
        let got = hex::encode(job_spec_hash(&spec));
        if !got.eq_ignore_ascii_case(&lease.job_spec_hash) {
            return Err(JobError::HashMismatch {
                expected: lease.job_spec_hash.clone(),
                got,
            });
        }
        if let Some(j) = self.job(&lease.lease_id) {
            return Err(JobError::Exists(format!("{:?}", j.status).to_lowercase()));
        }
        spec.check().map_err(|e| JobError::Spec {
            field: e.field,
            reason: e.reason,
        })?;
        check_env(&spec)?;
        let mut limits = match self.limits(&spec) {
            Ok(l) => l,
            Err(e) => return Err(self.refused(lease, &spec, e)),
        };
        let stop_at_ms = self.stop_at_ms(lease);
        if stop_at_ms <= now_ms() + 1000 {
            return Err(JobError::Spec {
                field: "lease".into(),
                reason: "too close to its deadline to run a job".into(),
            });
        }
        let uploaded = self
            .store
            .read(|s| s.uploads.get(&lease.lease_id).cloned().unwrap_or_default());
        let image = self.runtime.prepare(&spec, &uploaded).await?;
        limits.gpu_ids = match self.allocate_gpus(&lease.lease_id, limits.gpus) {
            Ok(ids) => ids,
            Err(e) => {
                // Our capacity, not the renter's absence: remembered for the no-show rule.
                let _ = self.store.update(|s| {
                    s.gpu_refused.insert(lease.lease_id.clone());
                });
                return Err(e);
            }
        };

        let dir = self.job_dir(&lease.lease_id);
        let output = dir.join("output");
        std::fs::create_dir_all(&output).map_err(internal)?;
        // The job runs as an unprivileged uid: its output directory must be writable by it.
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&output, std::fs::Permissions::from_mode(0o777))
                .map_err(internal)?;
        }
        let record = JobRecord {
            lease_id: lease.lease_id.clone(),
            spec: spec.clone(),
            runtime: self.runtime.name().into(),
            status: JobStatus::Starting,
            detail: None,
            container: None,
            pid: None,
            created_ms: now_ms(),
            started_ms: None,
            finished_ms: None,
            exit_code: None,
            stop_at_ms,
            peak_memory_bytes: 0,
            peak_pids: 0,
            samples: 0,
            usage_commitment: None,
            used_blocks: None,
            completion_tx: None,
            completion_error: None,
            completion_attempts: 0,
            gpu_ids: limits.gpu_ids.clone(),
            image_id: Some(image.clone()),
            completion_height: None,
            cleaned_ms: None,
        };
        let inserted = self
            .store
            .update(|s| {
                if s.jobs.contains_key(&lease.lease_id) {
                    return false;
                }
                s.jobs.insert(lease.lease_id.clone(), record.clone());
                true
            })
            .map_err(internal)?;
        if !inserted {
            self.release_gpus(&lease.lease_id);
            return Err(JobError::Exists("starting".into()));
        }
        let req = RunRequest {
            lease_id: lease.lease_id.clone(),
            spec,
            image,
            limits,
            output_dir: output,
            stop_at: ms_to_time(stop_at_ms),
            stop_grace: self.settings.docker.stop_grace,
            sample_every: self.settings.docker.sample_interval,
            stop_now: Arc::new(Notify::new()),
        };
        let sink = self.open_sink(&req, false).await?;
        let me = self.clone();
        tokio::spawn(async move {
            let started = me.runtime.start(&req, sink.clone()).await;
            match started {
                Ok(running) => me.supervise(req, running, sink).await,
                Err(e) => {
                    let _ = sink
                        .lock()
                        .await
                        .note(&format!("the job could not start: {e}"))
                        .await;
                    me.finish(
                        &req.lease_id,
                        Outcome::Failed(e.to_string()),
                        &sink,
                        (0, 0, 0),
                    )
                    .await;
                }
            }
        });
        Ok(record)
    }

    async fn open_sink(&self, req: &RunRequest, keep: bool) -> Result<SharedSink, JobError> {
        let (tx, rx) = watch::channel(LogProgress::default());
        let path = self.log_path(&req.lease_id);
        if !keep {
            let _ = tokio::fs::remove_file(&path).await;
        }
        let sink = LogSink::open(&path, self.settings.docker.log_cap_bytes, tx)
            .await
            .map_err(internal)?;
        self.live().insert(
            req.lease_id.clone(),
            Live {
                progress: rx,
                stop: req.stop_now.clone(),
            },
        );
        Ok(Arc::new(Mutex::new(sink)))
    }

    /// From a started job to its final record.
    async fn supervise(self: Arc<Self>, req: RunRequest, running: Running, sink: SharedSink) {
        let handle = running.handle();
        let pid = match &running {
            Running::Process(p) => Some(p.pid),
            Running::Docker(_) => None,
        };
        let lease_id = req.lease_id.clone();
        let _ = self.store.update(|s| {
            if let Some(j) = s.jobs.get_mut(&lease_id) {
                j.status = JobStatus::Running;
                j.container = Some(handle.clone());
                j.pid = pid;
                j.started_ms.get_or_insert(now_ms());
            }
        });
        self.metrics.jobs_started.inc();
        self.metrics.jobs_running.inc();
        let (tx, mut rx) = mpsc::unbounded_channel::<crate::metering::UsageSample>();
        let usage_path = self.usage_path(&lease_id);
        let gpu = self.gpu.clone();
        let metrics = self.metrics.clone();
        let lid = lease_id.clone();
        let consumer = tokio::spawn(async move {
            let mut w = match UsageWriter::open(&usage_path).await {
                Ok(w) => Some(w),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot open the usage file");
                    None
                }
            };
            let (mut peak_mem, mut peak_pids) = (0u64, 0u64);
            while let Some(mut s) = rx.recv().await {
                s.gpus = gpu.sample();
                peak_mem = peak_mem.max(s.memory_bytes);
                peak_pids = peak_pids.max(s.pids);
                metrics.record_sample(&lid, &s);
                if let Some(w) = w.as_mut() {
                    if let Err(e) = w.push(&s).await {
                        tracing::warn!(error = %e, "writing a usage sample failed");
                    }
                }
            }
            (w.map(|w| w.count).unwrap_or(0), peak_mem, peak_pids)
        });
        let outcome = self.runtime.wait(running, &req, tx).await;
        let stats = consumer.await.unwrap_or((0, 0, 0));
        self.metrics.jobs_running.dec();
        self.finish(&lease_id, outcome, &sink, stats).await;
    }

    async fn finish(
        &self,
        lease_id: &str,
        outcome: Outcome,
        sink: &SharedSink,
        stats: (u64, u64, u64),
    ) {
        let (status, detail, exit_code) = match &outcome {
            Outcome::Exited(0) => (
                JobStatus::Succeeded,
                "exited with code 0".to_string(),
                Some(0),
            ),
            Outcome::Exited(c) => (JobStatus::Failed, format!("exited with code {c}"), Some(*c)),
            Outcome::OomKilled => (
                JobStatus::OomKilled,
                "killed by the OOM killer at the memory limit".to_string(),
                Some(137),
            ),
            Outcome::DeadlineKilled => (
                JobStatus::DeadlineExceeded,
                "stopped at the lease deadline".to_string(),
                None,
            ),
            Outcome::Failed(m) => (JobStatus::Failed, m.clone(), None),
        };
        {
            // The log's last line; followers are released only once the record is final.
            let mut s = sink.lock().await;
            let _ = s.note(&format!("job finished: {detail}")).await;
            let _ = s.flush().await;
        }
        // The evidence manifest: what the completion's R9 commits to (`evidence.rs`). The
        // results archive is built now, so that what is served later is what was committed.
        let usage = tokio::fs::read(self.usage_path(lease_id))
            .await
            .unwrap_or_default();
        let (results_blake2b256, results_error) = match self.build_results(lease_id).await {
            Ok(p) => {
                match tokio::task::spawn_blocking(move || crate::evidence::file_blake2b256(&p))
                    .await
                {
                    Ok(Ok(d)) => (Some(hex::encode(d)), None),
                    Ok(Err(e)) => (None, Some(format!("results: {e}"))),
                    Err(e) => (None, Some(format!("results: {e}"))),
                }
            }
            Err(e) => (None, Some(e.to_string())),
        };
        let log_path = self.log_path(lease_id);
        let log = tokio::task::spawn_blocking(move || crate::evidence::file_blake2b256(&log_path))
            .await
            .ok()
            .and_then(|r| r.ok())
            .unwrap_or_else(|| usage_commitment(b""));
        let evidence = crate::evidence::Evidence {
            version: 1,
            lease_id: lease_id.to_string(),
            image: self
                .job(lease_id)
                .and_then(|j| j.image_id.or(Some(j.spec.image)))
                .unwrap_or_default(),
            status: format!("{status:?}").to_lowercase(),
            exit_code,
            usage_blake2b256: hex::encode(usage_commitment(&usage)),
            log_blake2b256: hex::encode(log),
            results_blake2b256,
            results_error,
        };
        if let Err(e) = tokio::fs::write(self.evidence_path(lease_id), evidence.to_bytes()).await {
            tracing::warn!(lease = %lease_id, error = %e, "writing the evidence manifest failed");
        }
        let commitment = hex::encode(evidence.commitment());
        let block_ms = self.settings.block_time.as_millis().max(1) as u64;
        let now = now_ms();
        let _ = self.store.update(|s| {
            let hours = s.leases.get(lease_id).map(|l| l.hours).unwrap_or(0);
            if let Some(j) = s.jobs.get_mut(lease_id) {
                j.status = status;
                j.detail = Some(detail.clone());
                j.exit_code = exit_code;
                j.finished_ms = Some(now);
                j.samples = j.samples.max(stats.0);
                j.peak_memory_bytes = j.peak_memory_bytes.max(stats.1);
                j.peak_pids = j.peak_pids.max(stats.2);
                j.usage_commitment = Some(commitment.clone());
                let ran = now.saturating_sub(j.started_ms.unwrap_or(now));
                let blocks = ran.div_ceil(block_ms) as i64;
                j.used_blocks = Some(blocks.clamp(0, (hours * 30).max(0)));
            }
        });
        sink.lock().await.finish();
        self.metrics.forget_job(lease_id);
        self.metrics
            .jobs_finished
            .get_or_create(&crate::metering::StatusLabel {
                status: format!("{status:?}").to_lowercase(),
            })
            .inc();
        self.live().remove(lease_id);
        self.release_gpus(lease_id);
        tracing::info!(lease = %lease_id, ?status, %detail, "job finished");
        self.run_hook(lease_id).await;
    }

    async fn run_hook(&self, lease_id: &str) {
        let hook = self.hook.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(h) = hook {
            h(lease_id.to_string()).await;
        }
    }

    /// After a restart: every job that was starting or running is found again (Docker: its
    /// container, running or exited, whose log is re-read) or marked `lost`; finished jobs whose
    /// completion is still owed get the hook again.
    pub async fn recover(self: &Arc<Self>) -> Vec<(String, JobStatus)> {
        let jobs: Vec<JobRecord> = self.store.read(|s| s.jobs.values().cloned().collect());
        let mut report = vec![];
        for j in jobs {
            if j.status.finished() {
                if j.status != JobStatus::Lost && j.completion_tx.is_none() {
                    self.run_hook(&j.lease_id).await;
                }
                continue;
            }
            let found = self.reattach(&j).await;
            match found {
                Ok(true) => {
                    tracing::info!(lease = %j.lease_id, "running job found again after restart");
                    report.push((j.lease_id.clone(), JobStatus::Running));
                }
                Ok(false) | Err(_) => {
                    let why = match found {
                        Err(e) => format!("not found again after a worker restart: {e}"),
                        _ => "not found again after a worker restart".to_string(),
                    };
                    tracing::warn!(lease = %j.lease_id, %why, "job lost");
                    let _ = self.store.update(|s| {
                        if let Some(r) = s.jobs.get_mut(&j.lease_id) {
                            r.status = JobStatus::Lost;
                            r.detail = Some(why.clone());
                            r.finished_ms = Some(now_ms());
                        }
                    });
                    self.metrics
                        .jobs_finished
                        .get_or_create(&crate::metering::StatusLabel {
                            status: "lost".into(),
                        })
                        .inc();
                    report.push((j.lease_id.clone(), JobStatus::Lost));
                }
            }
        }
        report
    }

    async fn reattach(self: &Arc<Self>, j: &JobRecord) -> Result<bool, JobError> {
        let Runtime::Docker(d) = self.runtime.as_ref() else {
            return Err(JobError::Internal(
                "the process runtime cannot find a job again after a restart".into(),
            ));
        };
        let container = j
            .container
            .clone()
            .unwrap_or_else(|| crate::runtime::docker::container_name(&j.lease_id));
        let mut limits = self.limits(&j.spec)?;
        // The container keeps the GPUs it was created with: hold them again.
        {
            let mut t = self.gpu_table();
            for &i in &j.gpu_ids {
                if let Some(slot) = t.get_mut(i as usize) {
                    *slot = Some(j.lease_id.clone());
                }
            }
        }
        limits.gpu_ids = j.gpu_ids.clone();
        let req = RunRequest {
            lease_id: j.lease_id.clone(),
            spec: j.spec.clone(),
            // The container exists already; nothing is created from this.
            image: j.spec.image.clone(),
            limits,
            output_dir: self.job_dir(&j.lease_id).join("output"),
            stop_at: ms_to_time(j.stop_at_ms),
            stop_grace: self.settings.docker.stop_grace,
            sample_every: self.settings.docker.sample_interval,
            stop_now: Arc::new(Notify::new()),
        };
        let sink = self.open_sink(&req, true).await?;
        match d.reattach(&container, sink.clone()).await? {
            Some(job) => {
                let me = self.clone();
                tokio::spawn(async move {
                    me.supervise(req, Running::Docker(job), sink).await;
                });
                Ok(true)
            }
            None => {
                self.live().remove(&j.lease_id);
                Ok(false)
            }
        }
    }

    /// The output directory as a tar archive (built once, after the job finished). Symbolic
    /// links are archived as links, never followed (a job cannot make the worker read host
    /// files through its output).
    pub async fn results(&self, lease_id: &str) -> Result<PathBuf, JobError> {
        let j = self
            .job(lease_id)
            .ok_or_else(|| JobError::NotFound("this lease has no job".into()))?;
        if !j.status.finished() {
            return Err(JobError::NotReady("the job is still running".into()));
        }
        self.build_results(lease_id).await
    }

    /// The evidence manifest of a finished job (`evidence.rs`).
    pub fn evidence_path(&self, lease_id: &str) -> PathBuf {
        self.job_dir(lease_id).join("evidence.json")
    }

    /// [`JobManager::results`] without the status check: the job has ended (called by
    /// `finish`, before the record says so).
    async fn build_results(&self, lease_id: &str) -> Result<PathBuf, JobError> {
        let dir = self.job_dir(lease_id);
        let tar_path = dir.join("results.tar");
        if tar_path.exists() {
            return Ok(tar_path);
        }
        let max = self.settings.docker.max_results_mib * 1024 * 1024;
        let out = dir.join("output");
        let tmp = dir.join("results.tar.tmp");
        let tp = tar_path.clone();
        tokio::task::spawn_blocking(move || -> Result<(), JobError> {
            let size = crate::runtime::dir_size(&out, crate::runtime::MAX_OUTPUT_FILES);
            if size > max {
                return Err(JobError::TooLarge(format!(
                    "the output is {size} bytes, above the {max}-byte cap of this worker"
                )));
            }
            let f = std::fs::File::create(&tmp).map_err(internal)?;
            let mut b = tar::Builder::new(f);
            b.follow_symlinks(false);
            if out.exists() {
                b.append_dir_all("output", &out).map_err(internal)?;
            }
            b.into_inner()
                .and_then(|f| f.sync_all())
                .map_err(internal)?;
            std::fs::rename(&tmp, &tp).map_err(internal)?;
            Ok(())
        })
        .await
        .map_err(internal)??;
        Ok(tar_path)
    }
}
