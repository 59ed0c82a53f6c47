//! `dgcm bench worker`: job start-to-first-log through the worker (spec hash check, state
//! records, output directory, hardened container create, attach, start, log file) against a
//! bare container start of the same image and command through the same daemon (create, attach,
//! start, first output byte; `network_mode: none` like the job). One JSON line with
//! `overhead_ratio` = worker median / bare median; `bare_default_network_ms` is the same bare
//! start on the daemon's default bridge network, for reference.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use bollard::container::{
    AttachContainerOptions, Config, CreateContainerOptions, RemoveContainerOptions,
    StartContainerOptions,
};
use futures::StreamExt;
use serde_json::json;

use crate::config::WorkerConfig;
use crate::jobspec::{job_spec_hash, JobSpec};
use crate::state::{now_ms, LeaseRecord};

/// `dgcm bench worker` flags.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Print only the JSON line.
    #[arg(long)]
    pub json: bool,
    /// Measured runs per side (after one warm-up each); medians are compared.
    #[arg(long, default_value_t = 15)]
    pub runs: usize,
    /// Image both sides start (must be in the daemon; `worker/ci-docker.sh` builds the default).
    #[arg(long, default_value = "dgcm/busybox:test")]
    pub image: String,
    /// Docker endpoint [default: DOCKER_HOST, else the default socket].
    #[arg(long)]
    pub docker_host: Option<String>,
}

impl Default for BenchArgs {
    fn default() -> Self {
        BenchArgs {
            json: true,
            runs: 15,
            image: "dgcm/busybox:test".into(),
            docker_host: None,
        }
    }
}

fn median_ms(mut v: Vec<Duration>) -> f64 {
    v.sort();
    let n = v.len();
    if n == 0 {
        return 0.0;
    }
    let m = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    };
    m.as_secs_f64() * 1000.0
}

/// Bare: create, attach, start, first output byte (then wait and remove, untimed). With
/// `no_network` the container gets `network_mode: none` like a job (the ratio's baseline, so
/// that network setup the job does not get is not counted in its favour).
async fn bare_once(
    docker: &bollard::Docker,
    image: &str,
    cmd: &[String],
    name: &str,
    no_network: bool,
) -> anyhow::Result<Duration> {
    let t0 = Instant::now();
    let c = docker
        .create_container(
            Some(CreateContainerOptions {
                name: name.to_string(),
                platform: None,
            }),
            Config {
                image: Some(image.to_string()),
                cmd: Some(cmd.to_vec()),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                host_config: no_network.then(|| bollard::models::HostConfig {
                    network_mode: Some("none".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await
        .context("bare create")?;
    let mut att = docker
        .attach_container(
            &c.id,
            Some(AttachContainerOptions::<String> {
                stdout: Some(true),
                stderr: Some(true),
                stream: Some(true),
                logs: Some(true),
                ..Default::default()
            }),
        )
        .await
        .context("bare attach")?;
    docker
        .start_container(&c.id, None::<StartContainerOptions<String>>)
        .await
        .context("bare start")?;
    let mut first = None;
    while let Some(item) = att.output.next().await {
        if let Ok(o) = item {
            if !o.into_bytes().is_empty() {
                first = Some(t0.elapsed());
                break;
            }
        }
    }
    let d = first.context("the bare container printed nothing")?;
    while att.output.next().await.is_some() {}
    let _ = docker
        .remove_container(
            &c.id,
            Some(RemoveContainerOptions {
                force: true,
                ..Default::default()
            }),
        )
        .await;
    Ok(d)
}

/// Runs the benchmark and returns its JSON line.
pub async fn bench(args: &BenchArgs) -> anyhow::Result<serde_json::Value> {
    anyhow::ensure!(args.runs >= 1, "--runs: at least 1");
    let dir = tempfile_dir()?;
    let mut cfg = WorkerConfig {
        state_dir: dir.clone(),
        ..Default::default()
    };
    cfg.docker.host = args.docker_host.clone();
    cfg.docker.allowed_images.push(args.image.clone());
    cfg.docker.memory_mib = 256;
    cfg.docker.pids_limit = 64;
    cfg.gpu.nvml = false;
    let jobs = crate::local_job_manager(&cfg).await?;
    let crate::runtime::Runtime::Docker(d) = jobs.runtime.as_ref() else {
        anyhow::bail!("the benchmark needs the docker runtime");
    };
    let docker = d.docker.clone();
    docker.inspect_image(&args.image).await.with_context(|| {
        format!(
            "image {}: not in the daemon (build it with `bash worker/ci-docker.sh`, or pass --image)",
            args.image
        )
    })?;
    let server = docker
        .version()
        .await
        .ok()
        .and_then(|v| v.version)
        .unwrap_or_default();
    let (mut bare, mut bridge, mut worker) = (vec![], vec![], vec![]);
    let tag = format!("{:x}", now_ms());
    for i in 0..=args.runs {
        let cmd = vec!["echo".to_string(), format!("first log {i}")];
        // Alternate which side goes first so neither always gets a warmer daemon.
        for side in if i % 2 == 0 { [0, 1, 2] } else { [2, 1, 0] } {
            if side == 0 || side == 2 {
                let b = bare_once(
                    &docker,
                    &args.image,
                    &cmd,
                    &format!("dgcm-bench-bare-{tag}-{i}-{side}"),
                    side == 0,
                )
                .await?;
                if i > 0 {
                    if side == 0 {
                        bare.push(b);
                    } else {
                        bridge.push(b);
                    }
                }
            } else {
                let spec = JobSpec {
                    image: args.image.clone(),
                    command: cmd.clone(),
                    env: BTreeMap::new(),
                    resources: Default::default(),
                };
                let lease_id = hex::encode(dgcm_contracts::util::blake2b256(
                    format!("bench/{tag}/{i}").as_bytes(),
                ));
                let lease = LeaseRecord {
                    lease_id: lease_id.clone(),
                    consumer_pk: String::new(),
                    hours: 1,
                    start_height: 0,
                    deadline_height: 1000,
                    job_spec_hash: hex::encode(job_spec_hash(&spec)),
                    deadline_ms: now_ms() + 3_600_000,
                    evidence_until_height: None,
                    evidence_until_ms: None,
                };
                let t0 = Instant::now();
                jobs.submit(&lease, spec)
                    .await
                    .map_err(|e| anyhow::anyhow!("worker job: {e}"))?;
                let mut rx = jobs.progress(&lease_id);
                let first = loop {
                    let p = *rx.borrow_and_update();
                    if let Some(t) = p.first_at {
                        break Some(t.duration_since(t0));
                    }
                    if p.done {
                        break None;
                    }
                    if tokio::time::timeout(Duration::from_secs(30), rx.changed())
                        .await
                        .is_err()
                    {
                        break None;
                    }
                };
                let first = first.context("the worker's job printed nothing")?;
                // Let it finish before the next run (untimed).
                loop {
                    if rx.borrow_and_update().done {
                        break;
                    }
                    if tokio::time::timeout(Duration::from_secs(30), rx.changed())
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
                while jobs.running().contains(&lease_id) {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                if i > 0 {
                    worker.push(first);
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let b = median_ms(bare);
    let w = median_ms(worker);
    let ratio = if b > 0.0 { w / b } else { 0.0 };
    Ok(json!({
        "bench": "worker",
        "image": args.image,
        "runs": args.runs,
        "docker_server": server,
        "bare_start_to_first_log_ms": (b * 100.0).round() / 100.0,
        "bare_default_network_ms": (median_ms(bridge) * 100.0).round() / 100.0,
        "worker_start_to_first_log_ms": (w * 100.0).round() / 100.0,
        "overhead_ratio": (ratio * 1000.0).round() / 1000.0,
        "goal_ratio": 1.2,
        "debug_build": cfg!(debug_assertions),
    }))
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let d = std::env::temp_dir().join(format!(
        "dgcm-bench-worker-{}-{}",
        std::process::id(),
        now_ms()
    ));
    std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
    Ok(d)
}
