//! Where jobs run: [`docker::DockerRuntime`] (isolated containers through bollard; the default
//! and the only runtime for real renters) or [`process::ProcessRuntime`] (plain child processes
//! with rlimits; development and demo only, refused unless explicitly allowed).
//!
//! Both have the same shape: `start` creates the job and begins copying its output into the
//! job's [`LogSink`]; the returned handle's `wait` samples usage, enforces the stop time
//! (SIGTERM, grace, SIGKILL) and returns the [`Outcome`].

pub mod docker;
pub mod egress;
pub mod image;
pub mod process;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{mpsc, Mutex, Notify};

use crate::jobspec::JobSpec;
use crate::metering::{LogSink, UsageSample};

/// The limits a job runs under (the worker's, lowered by the job spec's requests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub memory_bytes: i64,
    pub cpu_millis: u64,
    pub pids: i64,
    pub tmpfs_mib: u64,
    pub gpus: u32,
    /// The GPU indices allocated to this job (`gpus` of them), from the worker's table.
    pub gpu_ids: Vec<u32>,
    pub egress: bool,
    /// Quota of the output directory (bytes).
    pub output_bytes: u64,
}

/// Bytes under `dir` (symbolic links not followed), or `u64::MAX` past `max_files` entries: a
/// job's output is measured against its quota.
pub fn dir_size(dir: &std::path::Path, max_files: usize) -> u64 {
    let (mut total, mut seen) = (0u64, 0usize);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            seen += 1;
            if seen > max_files {
                return u64::MAX;
            }
            let Ok(m) = e.path().symlink_metadata() else {
                continue;
            };
            if m.is_dir() {
                stack.push(e.path());
            }
            total = total.saturating_add(m.len());
        }
    }
    total
}

/// Resolves when the output directory of `req` exceeds its quota (checked every sample
/// period); never otherwise.
pub async fn output_over_quota(req: &RunRequest) -> u64 {
    loop {
        tokio::time::sleep(req.sample_every).await;
        let dir = req.output_dir.clone();
        let size = tokio::task::spawn_blocking(move || dir_size(&dir, MAX_OUTPUT_FILES))
            .await
            .unwrap_or(0);
        if size > req.limits.output_bytes {
            return size;
        }
    }
}

/// More entries than this under `/output` count as over quota (walking them is work too).
pub const MAX_OUTPUT_FILES: usize = 100_000;

/// Everything a runtime needs to run one job.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub lease_id: String,
    pub spec: JobSpec,
    /// What the container is created from: the image ID resolved at submission (docker), or
    /// the spec's image (process).
    pub image: String,
    pub limits: Limits,
    /// Mounted read-write at `/output` (docker) or the working directory (process).
    pub output_dir: PathBuf,
    /// When the job is stopped if still running.
    pub stop_at: SystemTime,
    /// SIGTERM → SIGKILL delay at the stop time.
    pub stop_grace: Duration,
    /// Usage sample period.
    pub sample_every: Duration,
    /// Notified to stop the job now (same sequence as at the stop time).
    pub stop_now: Arc<Notify>,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Exited(i64),
    OomKilled,
    DeadlineKilled,
    /// The runtime lost the job or failed while running it.
    Failed(String),
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The image is not available (not present, pull failed or disabled).
    #[error("image: {0}")]
    Image(String),
    /// The spec cannot run here (names the field).
    #[error("{field}: {reason}")]
    Spec { field: String, reason: String },
    #[error("runtime: {0}")]
    Runtime(String),
}

/// A job's log, shared by the output pump and the worker's own notes.
pub type SharedSink = Arc<Mutex<LogSink>>;

/// A sample channel: the runtime sends, the job manager writes the usage file and metrics.
pub type SampleTx = mpsc::UnboundedSender<UsageSample>;

/// The configured runtime (one per worker: the size difference does not matter).
#[allow(clippy::large_enum_variant)]
pub enum Runtime {
    Docker(docker::DockerRuntime),
    Process(process::ProcessRuntime),
}

/// A started job.
pub enum Running {
    Docker(docker::DockerJob),
    Process(process::ProcessJob),
}

impl Running {
    /// Container id or process id, as recorded in the job's state.
    pub fn handle(&self) -> String {
        match self {
            Running::Docker(j) => j.id.clone(),
            Running::Process(p) => p.pid.to_string(),
        }
    }
}

impl Runtime {
    pub fn name(&self) -> &'static str {
        match self {
            Runtime::Docker(_) => "docker",
            Runtime::Process(_) => "process",
        }
    }

    /// Makes sure the job's image can run and returns what to run (docker: the image ID of an
    /// upload of this lease, `uploaded`, or of an allowed name, pulled when absent and allowed).
    pub async fn prepare(&self, spec: &JobSpec, uploaded: &[String]) -> Result<String, RunError> {
        match self {
            Runtime::Docker(d) => d.resolve(&spec.image, uploaded).await,
            Runtime::Process(p) => p.check(spec).map(|()| spec.image.clone()),
        }
    }

    pub async fn start(&self, req: &RunRequest, sink: SharedSink) -> Result<Running, RunError> {
        match self {
            Runtime::Docker(d) => d.start(req, sink).await.map(Running::Docker),
            Runtime::Process(p) => p.start(req, sink).await.map(Running::Process),
        }
    }

    pub async fn wait(&self, job: Running, req: &RunRequest, samples: SampleTx) -> Outcome {
        match (self, job) {
            (Runtime::Docker(d), Running::Docker(j)) => d.wait(j, req, samples).await,
            (Runtime::Process(p), Running::Process(j)) => p.wait(j, req, samples).await,
            _ => Outcome::Failed("runtime mismatch".into()),
        }
    }
}
