//! The worker's durable state: one JSON document (`<state_dir>/state.json`, replaced atomically
//! by write-to-temp + fsync + rename on every change) plus a folder per job
//! (`<state_dir>/jobs/<lease_id>/`: `log`, `usage.jsonl`, `output/`, `results.tar`).
//!
//! Kept: the listing NFT, challenge nonces (single use), bearer tokens (only their blake2b256
//! hash), the leases seen, and every job with its status, container, commitment and completion
//! transaction. Nothing is kept in memory only that a restart would need.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::jobspec::JobSpec;

/// How long expired nonces and tokens are remembered.
pub const KEEP_EXPIRED_MS: u64 = 24 * 3600 * 1000;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// What the worker knows of a lease (from its box, checked when the challenge was issued).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRecord {
    /// Box id of the lease (hex): the lease id renters use.
    pub lease_id: String,
    /// Consumer public key (hex, 33 bytes compressed).
    pub consumer_pk: String,
    pub hours: i64,
    pub start_height: i64,
    pub deadline_height: i64,
    /// Hex of R7.
    pub job_spec_hash: String,
    /// Wall-clock estimate of the deadline (ms), from the height when the lease was seen.
    pub deadline_ms: u64,
    /// Set once the lease is completed: its evidence (job record, logs, usage, results) stays
    /// readable until this height, when its dispute window closes (no job can be submitted).
    #[serde(default)]
    pub evidence_until_height: Option<i64>,
    /// Wall-clock estimate of `evidence_until_height` (ms).
    #[serde(default)]
    pub evidence_until_ms: Option<u64>,
}

impl LeaseRecord {
    /// The last height a token for this lease is good for: its deadline, or the end of its
    /// dispute window once completed, whichever is later.
    pub fn access_end_height(&self) -> i64 {
        self.deadline_height
            .max(self.evidence_until_height.unwrap_or(i64::MIN))
    }

    /// [`LeaseRecord::access_end_height`] as wall-clock time (ms).
    pub fn access_end_ms(&self) -> u64 {
        self.deadline_ms.max(self.evidence_until_ms.unwrap_or(0))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NonceRecord {
    pub lease_id: String,
    pub expires_ms: u64,
    /// Redeemed (or tried): a nonce is good once.
    #[serde(default)]
    pub used: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub lease_id: String,
    pub expires_ms: u64,
    pub issued_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Accepted; the container is being created.
    Starting,
    Running,
    /// Exit code 0.
    Succeeded,
    /// Non-zero exit (or the runtime failed to start it).
    Failed,
    /// Killed by the kernel's OOM killer at the memory limit.
    OomKilled,
    /// Stopped (SIGTERM, grace, SIGKILL) at the lease deadline.
    DeadlineExceeded,
    /// Running when the worker restarted and could not be found again.
    Lost,
}

impl JobStatus {
    pub fn finished(self) -> bool {
        !matches!(self, JobStatus::Starting | JobStatus::Running)
    }
}

/// One job (one per lease).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub lease_id: String,
    pub spec: JobSpec,
    /// `docker` or `process`.
    pub runtime: String,
    pub status: JobStatus,
    /// Human-readable detail (exit reason, error).
    pub detail: Option<String>,
    /// Docker container id, or the process id for the process runtime.
    pub container: Option<String>,
    pub pid: Option<u32>,
    pub created_ms: u64,
    pub started_ms: Option<u64>,
    pub finished_ms: Option<u64>,
    pub exit_code: Option<i64>,
    /// When the job is stopped (lease deadline less the margin), ms since the epoch.
    pub stop_at_ms: u64,
    /// Peak values seen by the sampler.
    pub peak_memory_bytes: u64,
    pub peak_pids: u64,
    pub samples: u64,
    /// blake2b256 of the usage file as served (hex), set when the job finished.
    pub usage_commitment: Option<String>,
    pub used_blocks: Option<i64>,
    /// Completion transaction id (submitted), or the EIP-12 file written for an external wallet.
    pub completion_tx: Option<String>,
    pub completion_error: Option<String>,
    #[serde(default)]
    pub completion_attempts: u32,
    /// GPU indices allocated to the job (held until it finishes).
    #[serde(default)]
    pub gpu_ids: Vec<u32>,
    /// The image ID the container was created from (docker), or the spec's image (process).
    #[serde(default)]
    pub image_id: Option<String>,
    /// Chain height when its completion was posted (the dispute window runs from there).
    #[serde(default)]
    pub completion_height: Option<u32>,
    /// When its files (output, log, usage, results) and uploaded images were removed, after
    /// the lease's dispute window closed.
    #[serde(default)]
    pub cleaned_ms: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    /// Token id (hex) of our listing's NFT once created.
    pub listing_nft: Option<String>,
    /// Price currently published (mGPUC/h).
    pub listing_price: Option<i64>,
    pub nonces: BTreeMap<String, NonceRecord>,
    /// Keyed by blake2b256(token) hex: a copy of the state file does not leak usable tokens.
    pub tokens: BTreeMap<String, TokenRecord>,
    pub leases: BTreeMap<String, LeaseRecord>,
    pub jobs: BTreeMap<String, JobRecord>,
    /// Leases of our listing whose consumer never submitted a job, completed by us before the
    /// deadline (the no-show rule): lease id → completion transaction (or EIP-12 file).
    #[serde(default)]
    pub idle_completions: BTreeMap<String, String>,
    /// Every (price per hour, collateral per hour) our listing has carried: a lease on other
    /// terms was not made from it (PROTOCOL.md "Provenance").
    #[serde(default)]
    pub published_terms: std::collections::BTreeSet<(i64, i64)>,
    /// Image IDs each lease uploaded: the only IDs its jobs may name.
    #[serde(default)]
    pub uploads: BTreeMap<String, Vec<String>>,
    /// Leases whose job we refused because no GPU was free: they are not no-shows (the no-show
    /// rule claims nothing for them).
    #[serde(default)]
    pub gpu_refused: std::collections::BTreeSet<String>,
    /// Every set of limits our listing has published (R5[7..10]): a job spec that fits one of
    /// them may have been matched against it, so refusing it is our fault, not the renter's.
    #[serde(default)]
    pub published_limits: std::collections::BTreeSet<dgcm_contracts::capacity::Capacity>,
    /// Leases whose job we refused although it fits limits our listing published (the limits
    /// were lowered since): not no-shows. The no-show rule leaves them alone, so they are
    /// slashed after the deadline (the renter gets the payment and the collateral).
    #[serde(default)]
    pub fault_refused: std::collections::BTreeSet<String>,
    /// Leases whose job spec (the one their hash commits to) is over the limits our listing
    /// published: it can never run, so the lease is a no-show, completed as soon as
    /// `no_show_blocks` have passed since its start (not only near its deadline), which frees
    /// the listing early.
    #[serde(default)]
    pub spec_refused: std::collections::BTreeSet<String>,
}

/// The state document behind a lock; every [`Store::update`] is persisted before it returns.
pub struct Store {
    dir: PathBuf,
    state: Mutex<State>,
}

impl Store {
    /// Opens (or creates) the store under `dir`.
    pub fn open(dir: &Path) -> anyhow::Result<Store> {
        // Job folders are bind-mounted into containers, and Docker takes a relative source for a
        // volume name: every path below the store is absolute from here on.
        let dir = &std::path::absolute(dir)
            .with_context(|| format!("worker.state_dir: cannot resolve {}", dir.display()))?;
        std::fs::create_dir_all(dir.join("jobs"))
            .with_context(|| format!("worker.state_dir: cannot create {}", dir.display()))?;
        let path = dir.join("state.json");
        let state = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "worker.state_dir: {} is not a worker state file",
                    path.display()
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(e) => {
                return Err(e).with_context(|| format!("reading {}", path.display()));
            }
        };
        Ok(Store {
            dir: dir.to_path_buf(),
            state: Mutex::new(state),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn job_dir(&self, lease_id: &str) -> PathBuf {
        self.dir.join("jobs").join(lease_id)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-applied change on disk: the file is
        // only replaced after the closure returns.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A copy of the current state.
    pub fn snapshot(&self) -> State {
        self.lock().clone()
    }

    /// Reads without persisting.
    pub fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.lock())
    }

    /// Applies `f` and persists the result. Nonces and tokens are dropped a day after they
    /// expired (until then a replay or a late use is refused with the precise reason).
    /// When persisting fails the in-memory state is rolled back and the error returned.
    pub fn update<T>(&self, f: impl FnOnce(&mut State) -> T) -> anyhow::Result<T> {
        let mut g = self.lock();
        let before = g.clone();
        let out = f(&mut g);
        let now = now_ms();
        g.nonces.retain(|_, n| n.expires_ms + KEEP_EXPIRED_MS > now);
        g.tokens.retain(|_, t| t.expires_ms + KEEP_EXPIRED_MS > now);
        if let Err(e) = self.persist(&g) {
            *g = before;
            return Err(e);
        }
        Ok(out)
    }

    fn persist(&self, s: &State) -> anyhow::Result<()> {
        let path = self.dir.join("state.json");
        let tmp = self.dir.join("state.json.tmp");
        let bytes = serde_json::to_vec_pretty(s).context("serialising the worker state")?;
        let mut f =
            std::fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        f.write_all(&bytes)
            .and_then(|_| f.sync_data())
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("replacing {}", path.display()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_reopen_and_drops_expired_entries() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        s.update(|st| {
            st.listing_nft = Some("ab".into());
            st.nonces.insert(
                "n1".into(),
                NonceRecord {
                    lease_id: "l".into(),
                    expires_ms: now_ms() + 60_000,
                    used: false,
                },
            );
            st.nonces.insert(
                "old".into(),
                NonceRecord {
                    lease_id: "l".into(),
                    expires_ms: 1,
                    used: false,
                },
            );
        })
        .unwrap();
        drop(s);
        let s = Store::open(dir.path()).unwrap();
        let st = s.snapshot();
        assert_eq!(st.listing_nft.as_deref(), Some("ab"));
        assert!(st.nonces.contains_key("n1"));
        assert!(!st.nonces.contains_key("old"));
        std::fs::write(dir.path().join("state.json"), b"garbage").unwrap();
        let e = Store::open(dir.path()).err().unwrap();
        assert!(format!("{e:#}").contains("state_dir"), "{e:#}");
    }
}
