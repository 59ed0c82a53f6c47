//! The `process` runtime: a plain child process with rlimits and a stop time. **No isolation**
//! (the job sees the host's filesystem, network and processes with the worker's user): for
//! development and the demo on machines without Docker only. The worker refuses it unless
//! `allow_process_runtime = true`, and logs a warning at start.
//!
//! The image is ignored; `command` runs in the job's output directory with only the spec's
//! environment (plus `PATH`). Limits: address space (memory), CPU seconds up to the stop time, no
//! core dumps; the process gets its own session so the whole group is signalled at the stop time.

use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

use super::{Outcome, RunError, RunRequest, SampleTx, SharedSink};
use crate::jobspec::JobSpec;
use crate::metering::UsageSample;
use crate::state::now_ms;

#[derive(Clone, Default)]
pub struct ProcessRuntime;

pub struct ProcessJob {
    pub pid: u32,
    child: Child,
    pumps: Vec<tokio::task::JoinHandle<()>>,
    sink: SharedSink,
}

fn signal_group(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) with a negative pid signals the process group the child leads (it called
    // setsid); no memory is shared.
    unsafe {
        libc::kill(-(pid as libc::pid_t), sig);
    }
}

impl ProcessRuntime {
    pub fn check(&self, spec: &JobSpec) -> Result<(), RunError> {
        if spec.command.is_empty() {
            return Err(RunError::Spec {
                field: "command".into(),
                reason: "the process runtime needs a command (there is no image default)".into(),
            });
        }
        if spec.resources.gpus.unwrap_or(0) > 0 {
            return Err(RunError::Spec {
                field: "resources.gpus".into(),
                reason: "the process runtime has no GPU assignment".into(),
            });
        }
        Ok(())
    }

    pub async fn start(&self, req: &RunRequest, sink: SharedSink) -> Result<ProcessJob, RunError> {
        self.check(&req.spec)?;
        let mut cmd = Command::new(&req.spec.command[0]);
        cmd.args(&req.spec.command[1..])
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .envs(&req.spec.env)
            .current_dir(&req.output_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mem = req.limits.memory_bytes.max(0) as libc::rlim_t;
        let cpu_secs = req
            .stop_at
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
            .as_secs()
            .saturating_add(req.stop_grace.as_secs() + 1) as libc::rlim_t;
        // SAFETY: between fork and exec only async-signal-safe calls (setsid, setrlimit).
        unsafe {
            cmd.pre_exec(move || {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let set = |res, v: libc::rlim_t| {
                    let l = libc::rlimit {
                        rlim_cur: v,
                        rlim_max: v,
                    };
                    libc::setrlimit(res, &l)
                };
                set(libc::RLIMIT_AS, mem);
                set(libc::RLIMIT_CPU, cpu_secs);
                set(libc::RLIMIT_CORE, 0);
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|e| RunError::Spec {
            field: "command".into(),
            reason: format!("cannot start {:?}: {e}", req.spec.command[0]),
        })?;
        let pid = child.id().unwrap_or(0);
        // The image is not used here: said in the job's log (and the worker's), never silently.
        let why = format!(
            "process runtime: the image {:?} is ignored; {:?} runs on the host WITHOUT isolation",
            req.spec.image, req.spec.command[0]
        );
        tracing::warn!(lease = %req.lease_id, "{why}");
        let _ = sink.lock().await.note(&why).await;
        let mut pumps = vec![];
        if let Some(out) = child.stdout.take() {
            pumps.push(tokio::spawn(pump(out, sink.clone())));
        }
        if let Some(err) = child.stderr.take() {
            pumps.push(tokio::spawn(pump(err, sink.clone())));
        }
        Ok(ProcessJob {
            pid,
            child,
            pumps,
            sink,
        })
    }

    pub async fn wait(&self, mut job: ProcessJob, req: &RunRequest, samples: SampleTx) -> Outcome {
        let pid = job.pid;
        let sampler = tokio::spawn(sample_proc(pid, req.sample_every, samples));
        let until_stop = req
            .stop_at
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        let status = tokio::select! {
            s = job.child.wait() => Some(s),
            _ = tokio::time::sleep(until_stop) => None,
            _ = req.stop_now.notified() => None,
        };
        let outcome = match status {
            Some(Ok(s)) => Outcome::Exited(exit_code(s)),
            Some(Err(e)) => Outcome::Failed(format!("wait: {e}")),
            None => {
                let _ = job
                    .sink
                    .lock()
                    .await
                    .note("lease deadline reached: SIGTERM, grace, then SIGKILL")
                    .await;
                signal_group(pid, libc::SIGTERM);
                if tokio::time::timeout(req.stop_grace, job.child.wait())
                    .await
                    .is_err()
                {
                    signal_group(pid, libc::SIGKILL);
                    let _ = job.child.wait().await;
                }
                Outcome::DeadlineKilled
            }
        };
        // Leftover members of the group go too.
        signal_group(pid, libc::SIGKILL);
        for p in job.pumps {
            let _ = tokio::time::timeout(Duration::from_secs(2), p).await;
        }
        sampler.abort();
        outcome
    }
}

fn exit_code(s: std::process::ExitStatus) -> i64 {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (Some(c), _) => c as i64,
        (None, Some(sig)) => 128 + sig as i64,
        _ => -1,
    }
}

async fn pump<R: tokio::io::AsyncRead + Unpin>(mut r: R, sink: SharedSink) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if let Err(e) = sink.lock().await.write(&buf[..n]).await {
                    tracing::warn!(error = %e, "writing the job log failed");
                }
            }
        }
    }
}

/// CPU (utime + stime, clock ticks) and resident memory of the leader from /proc.
fn read_proc(pid: u32) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let rss_pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some((utime + stime, rss_pages * 4096))
}

async fn sample_proc(pid: u32, every: Duration, tx: SampleTx) {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let mut prev: Option<(u64, Instant)> = None;
    loop {
        tokio::time::sleep(every).await;
        let Some((cpu, rss)) = read_proc(pid) else {
            break;
        };
        let now = Instant::now();
        let cpu_millis = match prev {
            Some((c, t)) => {
                let dt = now.duration_since(t).as_secs_f64().max(1e-3);
                ((cpu.saturating_sub(c)) as f64 / ticks / dt * 1000.0).round() as u64
            }
            None => 0,
        };
        prev = Some((cpu, now));
        let s = UsageSample {
            t_ms: now_ms(),
            cpu_millis,
            memory_bytes: rss,
            pids: 1,
            gpus: vec![],
        };
        if tx.send(s).is_err() {
            break;
        }
    }
}
