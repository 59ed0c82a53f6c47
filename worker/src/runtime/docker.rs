//! Jobs in Docker containers, through bollard, with hardened defaults:
//!
//! | what | setting |
//! |---|---|
//! | network | `none` (only a loopback interface) unless the listing offers egress: then `worker.docker.egress_network` behind the egress policy ([`super::egress`]) |
//! | root filesystem | read-only; scratch is a size-capped tmpfs at `/tmp` (`noexec,nosuid,nodev`) |
//! | host files | only the job's own output directory, at `/output`; volumes the image declares get a tmpfs, never host disk |
//! | user | non-root `uid:gid` from `worker.docker.user` (65534:65534) |
//! | privileges | all capabilities dropped, `no-new-privileges`, not privileged |
//! | memory | limit = the job's memory, swap = 0 (memory-swap = memory); OOM kill reported |
//! | CPU, pids | `nano_cpus` from the job's CPU, `pids_limit` |
//! | GPUs | by index from the job manager's allocation table (`device_ids`, never a count); a device request only when `worker.docker.gpus` |
//! | environment | the job's own (no `NVIDIA_*`, `LD_*`), then `NVIDIA_VISIBLE_DEVICES` = the allocated indices (`void`), `NVIDIA_DRIVER_CAPABILITIES`, empty `LD_PRELOAD`, over the image's |
//! | deadline | `docker stop` with the grace (SIGTERM, then SIGKILL), at the stop time |
//! | daemon logs | json-file capped at 8 MiB (the worker keeps its own capped copy) |
//!
//! The Docker socket is never mounted, and with `network: none` there is no route to a TCP
//! daemon either.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bollard::container::{
    AttachContainerOptions, Config, CreateContainerOptions, InspectContainerOptions, LogOutput,
    LogsOptions, MemoryStatsStats, RemoveContainerOptions, StartContainerOptions, Stats,
    StatsOptions, StopContainerOptions, WaitContainerOptions,
};
use bollard::image::{CreateImageOptions, ImportImageOptions};
use bollard::models::{
    DeviceRequest, HealthConfig, HostConfig, HostConfigLogConfig, ResourcesUlimits,
};
use bollard::Docker;
use bytes::Bytes;
use futures::{Stream, StreamExt};

use super::{image, Outcome, RunError, RunRequest, SampleTx, SharedSink};
use crate::config::DockerConfig;
use crate::metering::UsageSample;
use crate::state::now_ms;

/// Removes what is inside `dir` (not `dir` itself); symbolic links are removed, not followed.
fn clear_dir(dir: &std::path::Path) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            let _ = match p.symlink_metadata() {
                Ok(m) if m.is_dir() => std::fs::remove_dir_all(&p),
                _ => std::fs::remove_file(&p),
            };
        }
    }
}

/// Label put on every job container (value: the lease id).
pub const LEASE_LABEL: &str = "dgcm.lease";

/// Connection to the daemon plus the job settings.
#[derive(Clone)]
pub struct DockerRuntime {
    pub docker: Docker,
    cfg: DockerConfig,
}

/// A started container.
pub struct DockerJob {
    pub id: String,
    pump: tokio::task::JoinHandle<()>,
    sink: SharedSink,
}

fn is_404(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

fn rt(what: &str, e: bollard::errors::Error) -> RunError {
    RunError::Runtime(format!("{what}: {e}"))
}

/// Connects to `host` (or `DOCKER_HOST`, or the default socket) and negotiates the API version.
pub async fn connect(host: Option<&str>) -> anyhow::Result<Docker> {
    let docker = match host {
        Some(h) if h.starts_with("unix://") => {
            Docker::connect_with_unix(h, 120, bollard::API_DEFAULT_VERSION)?
        }
        Some(h) => Docker::connect_with_http(h, 120, bollard::API_DEFAULT_VERSION)?,
        None => Docker::connect_with_defaults()?,
    };
    let docker = docker.negotiate_version().await?;
    docker.ping().await?;
    Ok(docker)
}

/// The name of a lease's job container.
pub fn container_name(lease_id: &str) -> String {
    format!("dgcm-job-{lease_id}")
}

impl DockerRuntime {
    pub async fn connect(cfg: &DockerConfig) -> anyhow::Result<DockerRuntime> {
        let docker = connect(cfg.host.as_deref()).await.map_err(|e| {
            anyhow::anyhow!(
                "worker.docker.host: no Docker daemon at {} ({e}). Start one (or point                  worker.docker.host / DOCKER_HOST at it; `eval \"$(bash worker/ci-docker.sh)\"`                  starts a private daemon with a test image), or, on a development machine only,                  run jobs WITHOUT isolation: `dgcm worker --runtime process                  --allow-process-runtime` (worker.runtime = \"process\",                  worker.allow_process_runtime = true)",
                cfg.host
                    .clone()
                    .or_else(|| std::env::var("DOCKER_HOST").ok())
                    .unwrap_or_else(|| "the default socket".into())
            )
        })?;
        if cfg.egress {
            super::egress::prepare(&docker, &cfg.egress_network).await?;
        }
        Ok(DockerRuntime {
            docker,
            cfg: cfg.clone(),
        })
    }

    /// From a client made elsewhere (nothing is checked).
    pub fn new(docker: Docker, cfg: DockerConfig) -> DockerRuntime {
        DockerRuntime { docker, cfg }
    }

    /// The image must be in the daemon; when it is not and pulling is allowed, it is pulled.
    pub async fn ensure_image(&self, image: &str) -> Result<(), RunError> {
        match self.docker.inspect_image(image).await {
            Ok(_) => return Ok(()),
            Err(e) if is_404(&e) => {}
            Err(e) => return Err(RunError::Image(format!("{image}: {e}"))),
        }
        if !self.cfg.pull {
            return Err(RunError::Image(format!(
                "{image} is not in the daemon and pulling is disabled; upload it with POST \
                 /v1/leases/{{id}}/image (a `docker save` tarball)"
            )));
        }
        let mut pull = self.docker.create_image(
            Some(CreateImageOptions {
                from_image: image,
                ..Default::default()
            }),
            None,
            None,
        );
        while let Some(step) = pull.next().await {
            if let Err(e) = step {
                return Err(RunError::Image(format!(
                    "{image} is not in the daemon and pulling it failed ({e}); upload it with \
                     POST /v1/leases/{{id}}/image (a `docker save` tarball)"
                )));
            }
        }
        Ok(())
    }

    /// `docker load` of a tarball (as `docker save` writes it) stripped of every repository name
    /// first ([`image::strip_names`]): the image is known by its ID only, which is returned.
    pub async fn load_image(&self, tarball: Bytes) -> Result<String, RunError> {
        let stripped = image::strip_names(&tarball)
            .map_err(|e| RunError::Image(format!("body: not a `docker save` tarball ({e})")))?;
        let mut s = self.docker.import_image(
            ImportImageOptions { quiet: true },
            Bytes::from(stripped),
            None,
        );
        let mut ids = vec![];
        while let Some(step) = s.next().await {
            let info = step.map_err(|e| RunError::Image(format!("docker load: {e}")))?;
            if let Some(err) = info.error {
                return Err(RunError::Image(format!("docker load: {err}")));
            }
            for line in info.stream.iter().flat_map(|s| s.lines()) {
                if let Some(id) = line
                    .trim()
                    .strip_prefix("Loaded image ID: ")
                    .and_then(image::as_image_id)
                {
                    ids.push(id);
                } else if let Some(name) = line.trim().strip_prefix("Loaded image: ") {
                    // Names were stripped; a daemon that still reports one is not trusted.
                    return Err(RunError::Image(format!(
                        "docker load kept the name {name}; refusing the upload"
                    )));
                }
            }
        }
        match ids.as_slice() {
            [id] => Ok(id.clone()),
            [] => Err(RunError::Image(
                "body: the tarball holds no image".to_string(),
            )),
            _ => Err(RunError::Image(format!(
                "body: the tarball holds {} images; upload one",
                ids.len()
            ))),
        }
    }

    /// The ID of the image a job of a lease that uploaded `uploaded` may run as `image`: one of
    /// its own uploads (named by ID), or an allowed name (pulled when absent and `pull`).
    pub async fn resolve(&self, image: &str, uploaded: &[String]) -> Result<String, RunError> {
        if let Some(id) = image::as_image_id(image) {
            if !uploaded.contains(&id) {
                return Err(RunError::Image(format!(
                    "{id} was not uploaded for this lease: a job runs an image its own lease \
                     uploaded (POST /v1/leases/{{id}}/image) or one the provider allows"
                )));
            }
            return match self.docker.inspect_image(&id).await {
                Ok(_) => Ok(id),
                Err(e) => Err(RunError::Image(format!(
                    "{id}: not in the daemon any more ({e}); upload it again"
                ))),
            };
        }
        image::allowed(image, &self.cfg.allowed_images).map_err(RunError::Image)?;
        self.ensure_image(image).await?;
        let i = self
            .docker
            .inspect_image(image)
            .await
            .map_err(|e| RunError::Image(format!("{image}: {e}")))?;
        i.id.ok_or_else(|| RunError::Image(format!("{image}: the daemon gave no image ID")))
    }

    /// Paths the image declares as volumes: each gets a size-capped tmpfs instead of a
    /// writable anonymous volume on the host's disk.
    pub async fn image_volumes(&self, image: &str) -> Vec<String> {
        match self.docker.inspect_image(image).await {
            Ok(i) => i
                .config
                .and_then(|c| c.volumes)
                .map(|v| v.into_keys().collect())
                .unwrap_or_default(),
            Err(_) => vec![],
        }
    }

    /// The container configuration of a job: the hardened defaults of the module docs
    /// (`image_volumes`: the image's declared volumes, mounted as tmpfs).
    pub fn container_config(&self, req: &RunRequest, image_volumes: &[String]) -> Config<String> {
        let l = &req.limits;
        let mut labels = HashMap::new();
        labels.insert(LEASE_LABEL.to_string(), req.lease_id.clone());
        // By index: the worker's allocation table gave this job these GPUs and no other job
        // holds them.
        let ids: Vec<String> = l.gpu_ids.iter().map(|i| i.to_string()).collect();
        let device_requests = (self.cfg.gpus && !ids.is_empty()).then(|| {
            vec![DeviceRequest {
                driver: Some("nvidia".into()),
                device_ids: Some(ids.clone()),
                capabilities: Some(vec![vec!["gpu".into()]]),
                ..Default::default()
            }]
        });
        let mut tmpfs = HashMap::new();
        for v in image_volumes
            .iter()
            .filter(|v| v.starts_with('/') && v.as_str() != "/output")
        {
            tmpfs.insert(
                v.clone(),
                format!("rw,noexec,nosuid,nodev,size={}m,mode=1777", l.tmpfs_mib),
            );
        }
        tmpfs.insert(
            "/tmp".to_string(),
            format!("rw,noexec,nosuid,nodev,size={}m,mode=1777", l.tmpfs_mib),
        );
        let mut log_opts = HashMap::new();
        log_opts.insert("max-size".to_string(), "8m".to_string());
        log_opts.insert("max-file".to_string(), "1".to_string());
        let host = HostConfig {
            memory: Some(l.memory_bytes),
            memory_swap: Some(l.memory_bytes),
            nano_cpus: Some(l.cpu_millis as i64 * 1_000_000),
            pids_limit: Some(l.pids),
            // Egress: the worker's own network, guarded by the policy installed at connect.
            network_mode: Some(if l.egress {
                self.cfg.egress_network.clone()
            } else {
                "none".into()
            }),
            readonly_rootfs: Some(true),
            tmpfs: Some(tmpfs),
            cap_drop: Some(vec!["ALL".into()]),
            security_opt: Some(vec!["no-new-privileges:true".into()]),
            privileged: Some(false),
            binds: Some(vec![format!("{}:/output:rw", req.output_dir.display())]),
            device_requests,
            runtime: self.cfg.oci_runtime.clone(),
            log_config: Some(HostConfigLogConfig {
                typ: Some("json-file".into()),
                config: Some(log_opts),
            }),
            ipc_mode: Some("private".into()),
            oom_kill_disable: Some(false),
            // Open files per process; no core dumps on host disk. (`nproc` counts processes per
            // uid across the host, and every job runs as the same uid: the per-container
            // `pids_limit` bounds processes instead.)
            ulimits: Some(vec![
                ResourcesUlimits {
                    name: Some("nofile".into()),
                    soft: Some(self.cfg.nofile as i64),
                    hard: Some(self.cfg.nofile as i64),
                },
                ResourcesUlimits {
                    name: Some("core".into()),
                    soft: Some(0),
                    hard: Some(0),
                },
            ]),
            ..Default::default()
        };
        // The job's own variables (checked at submission: no NVIDIA_*, no LD_*), then the ones
        // the worker sets, which also override any the image declares: the NVIDIA runtime reads
        // NVIDIA_VISIBLE_DEVICES from the container's environment, so an image saying `all`
        // would otherwise reach every GPU; LD_PRELOAD is emptied.
        let mut env: Vec<String> = req
            .spec
            .env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        env.push(format!(
            "NVIDIA_VISIBLE_DEVICES={}",
            if ids.is_empty() {
                "void".to_string()
            } else {
                ids.join(",")
            }
        ));
        env.push("NVIDIA_DRIVER_CAPABILITIES=compute,utility".into());
        env.push("LD_PRELOAD=".into());
        Config {
            image: Some(req.image.clone()),
            cmd: (!req.spec.command.is_empty()).then(|| req.spec.command.clone()),
            env: Some(env),
            user: Some(self.cfg.user.clone()),
            working_dir: Some("/output".into()),
            hostname: Some("job".into()),
            labels: Some(labels),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(false),
            open_stdin: Some(false),
            host_config: Some(host),
            // An image's HEALTHCHECK would run through the daemon outside the job's own limits.
            healthcheck: Some(HealthConfig {
                test: Some(vec!["NONE".into()]),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// Creates the container, attaches to its output, starts it.
    pub async fn start(&self, req: &RunRequest, sink: SharedSink) -> Result<DockerJob, RunError> {
        let name = container_name(&req.lease_id);
        let volumes = self.image_volumes(&req.image).await;
        // A container of an earlier, failed start of this lease's job is removed first.
        let _ = self
            .docker
            .remove_container(
                &name,
                Some(RemoveContainerOptions {
                    force: true,
                    ..Default::default()
                }),
            )
            .await;
        let created = self
            .docker
            .create_container(
                Some(CreateContainerOptions {
                    name: name.clone(),
                    platform: None,
                }),
                self.container_config(req, &volumes),
            )
            .await
            .map_err(|e| rt("create container", e))?;
        let id = created.id;
        let attached = self
            .docker
            .attach_container(
                &id,
                Some(AttachContainerOptions::<String> {
                    stdout: Some(true),
                    stderr: Some(true),
                    stream: Some(true),
                    logs: Some(true),
                    ..Default::default()
                }),
            )
            .await
            .map_err(|e| rt("attach", e))?;
        let pump = tokio::spawn(pump(attached.output, sink.clone()));
        if let Err(e) = self
            .docker
            .start_container(&id, None::<StartContainerOptions<String>>)
            .await
        {
            pump.abort();
            self.remove(&id).await;
            return Err(rt("start container", e));
        }
        Ok(DockerJob { id, pump, sink })
    }

    /// Finds a job's container again after a restart: `None` when it is gone. The log is
    /// re-read from the daemon from the beginning.
    pub async fn reattach(
        &self,
        container: &str,
        sink: SharedSink,
    ) -> Result<Option<DockerJob>, RunError> {
        match self
            .docker
            .inspect_container(container, None::<InspectContainerOptions>)
            .await
        {
            Ok(_) => {}
            Err(e) if is_404(&e) => return Ok(None),
            Err(e) => return Err(rt("inspect", e)),
        }
        sink.lock()
            .await
            .reset()
            .await
            .map_err(|e| RunError::Runtime(format!("job log: {e}")))?;
        let logs = self.docker.logs(
            container,
            Some(LogsOptions::<String> {
                follow: true,
                stdout: true,
                stderr: true,
                ..Default::default()
            }),
        );
        let pump = tokio::spawn(pump(logs, sink.clone()));
        Ok(Some(DockerJob {
            id: container.to_string(),
            pump,
            sink,
        }))
    }

    /// Waits for the container to exit, stopping it at `req.stop_at`; samples usage meanwhile.
    pub async fn wait(&self, job: DockerJob, req: &RunRequest, samples: SampleTx) -> Outcome {
        let stop_sampling = Arc::new(AtomicBool::new(false));
        let sampler = tokio::spawn(sample_stats(
            self.docker.clone(),
            job.id.clone(),
            req.sample_every,
            samples,
            stop_sampling.clone(),
        ));
        let until_stop = req
            .stop_at
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        let mut deadline_hit = false;
        let mut over_quota: Option<u64> = None;
        let exited = tokio::select! {
            r = self.wait_exit(&job.id) => Some(r),
            _ = tokio::time::sleep(until_stop) => None,
            _ = req.stop_now.notified() => None,
            size = super::output_over_quota(req) => {
                over_quota = Some(size);
                None
            }
        };
        if exited.is_none() {
            deadline_hit = over_quota.is_none();
            let why = match over_quota {
                Some(_) => format!(
                    "/output is over its quota of {} bytes: stopping the job",
                    req.limits.output_bytes
                ),
                None => "lease deadline reached: stopping the job".to_string(),
            };
            let _ = job
                .sink
                .lock()
                .await
                .note(&format!(
                    "{why} (SIGTERM, {}s grace, then SIGKILL)",
                    req.stop_grace.as_secs()
                ))
                .await;
            let grace = req.stop_grace.as_secs().max(1) as i64;
            if let Err(e) = self
                .docker
                .stop_container(&job.id, Some(StopContainerOptions { t: grace }))
                .await
            {
                tracing::warn!(container = %job.id, error = %e, "stop failed; killing");
                let _ = self.docker.kill_container::<String>(&job.id, None).await;
            }
            let _ = tokio::time::timeout(
                req.stop_grace + Duration::from_secs(10),
                self.wait_exit(&job.id),
            )
            .await;
        }
        // Output and samples until the end.
        stop_sampling.store(true, Ordering::Relaxed);
        let _ = tokio::time::timeout(Duration::from_secs(5), job.pump).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), sampler).await;
        let outcome = match self
            .docker
            .inspect_container(&job.id, None::<InspectContainerOptions>)
            .await
        {
            Ok(c) => {
                let st = c.state.unwrap_or_default();
                if st.running == Some(true) {
                    Outcome::Failed("the container did not stop".into())
                } else if st.oom_killed == Some(true) {
                    Outcome::OomKilled
                } else if deadline_hit {
                    Outcome::DeadlineKilled
                } else {
                    Outcome::Exited(st.exit_code.unwrap_or(-1))
                }
            }
            Err(e) => Outcome::Failed(format!("inspect after exit: {e}")),
        };
        self.remove(&job.id).await;
        // Also a job that wrote past its quota between two checks and exited.
        let dir = req.output_dir.clone();
        let size = match over_quota {
            Some(s) => s,
            None => {
                tokio::task::spawn_blocking(move || super::dir_size(&dir, super::MAX_OUTPUT_FILES))
                    .await
                    .unwrap_or(0)
            }
        };
        if size > req.limits.output_bytes {
            // Its disk goes back to the host now; the renter gets the reason, not the files.
            let dir = req.output_dir.clone();
            let _ = tokio::task::spawn_blocking(move || clear_dir(&dir)).await;
            return Outcome::Failed(format!(
                "the job wrote more than its /output quota of {} bytes                  (worker.docker.max_output_mib); its output was deleted",
                req.limits.output_bytes
            ));
        }
        outcome
    }

    async fn wait_exit(&self, id: &str) -> Result<i64, String> {
        let mut s = self.docker.wait_container(
            id,
            Some(WaitContainerOptions {
                condition: "not-running",
            }),
        );
        match s.next().await {
            Some(Ok(r)) => Ok(r.status_code),
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(code),
            Some(Err(e)) => Err(e.to_string()),
            None => Err("wait stream ended".into()),
        }
    }

    /// Removes an image by ID (an upload whose lease is over); errors are logged only.
    pub async fn remove_image(&self, id: &str) {
        if let Err(e) = self
            .docker
            .remove_image(
                id,
                Some(bollard::image::RemoveImageOptions {
                    force: true,
                    ..Default::default()
                }),
                None,
            )
            .await
        {
            if !is_404(&e) {
                tracing::warn!(image = %id, error = %e, "removing an uploaded image failed");
            }
        }
    }

    /// Removes a container (and its anonymous volumes); errors are logged only.
    pub async fn remove(&self, id: &str) {
        if let Err(e) = self
            .docker
            .remove_container(
                id,
                Some(RemoveContainerOptions {
                    force: true,
                    v: true,
                    ..Default::default()
                }),
            )
            .await
        {
            if !is_404(&e) {
                tracing::warn!(container = %id, error = %e, "removing the job container failed");
            }
        }
    }
}

/// Copies a container's output into the job log until the stream ends.
async fn pump<S>(mut output: S, sink: SharedSink)
where
    S: Stream<Item = Result<LogOutput, bollard::errors::Error>> + Unpin,
{
    while let Some(item) = output.next().await {
        match item {
            Ok(LogOutput::StdOut { message })
            | Ok(LogOutput::StdErr { message })
            | Ok(LogOutput::Console { message }) => {
                if let Err(e) = sink.lock().await.write(&message).await {
                    tracing::warn!(error = %e, "writing the job log failed");
                }
            }
            Ok(LogOutput::StdIn { .. }) => {}
            Err(e) => {
                tracing::debug!(error = %e, "job output stream ended with an error");
                break;
            }
        }
    }
}

/// Memory in use as `docker stats` shows it (page cache of inactive files left out).
fn memory_in_use(s: &Stats) -> u64 {
    let usage = s.memory_stats.usage.unwrap_or(0);
    let inactive = match s.memory_stats.stats {
        Some(MemoryStatsStats::V1(v)) => v.total_inactive_file,
        Some(MemoryStatsStats::V2(v)) => v.inactive_file,
        None => 0,
    };
    usage.saturating_sub(inactive)
}

/// Polls one-shot `docker stats` every period (the first right away, so that even a short job
/// is sampled) until `stop` is set; CPU is the usage between two polls.
async fn sample_stats(
    docker: Docker,
    id: String,
    every: Duration,
    tx: SampleTx,
    stop: Arc<AtomicBool>,
) {
    let mut prev: Option<(u64, u64)> = None;
    while !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        let mut one = docker.stats(
            &id,
            Some(StatsOptions {
                stream: false,
                one_shot: true,
            }),
        );
        let s = match one.next().await {
            Some(Ok(s)) => s,
            _ => break,
        };
        // A stopped container reports zeros.
        let pids = s.pids_stats.current.unwrap_or(0);
        if pids > 0 || s.memory_stats.usage.unwrap_or(0) > 0 {
            let cpu = s.cpu_stats.cpu_usage.total_usage;
            let sys = s.cpu_stats.system_cpu_usage.unwrap_or(0);
            let cpus = s.cpu_stats.online_cpus.unwrap_or(1).max(1);
            let cpu_millis = match prev {
                Some((pc, ps)) if sys > ps => {
                    (cpu.saturating_sub(pc) as f64 / (sys - ps) as f64 * cpus as f64 * 1000.0)
                        .round() as u64
                }
                _ => 0,
            };
            prev = Some((cpu, sys));
            let sample = UsageSample {
                t_ms: now_ms(),
                cpu_millis,
                memory_bytes: memory_in_use(&s),
                pids,
                gpus: vec![],
            };
            if tx.send(sample).is_err() {
                break;
            }
        }
        tokio::time::sleep(every.saturating_sub(t.elapsed())).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::Limits;

    #[test]
    fn the_container_config_is_hardened() {
        // A client that is never used: building the config needs no daemon.
        let docker =
            Docker::connect_with_unix("unix:///nonexistent.sock", 1, bollard::API_DEFAULT_VERSION)
                .unwrap();
        let rt = DockerRuntime::new(docker, DockerConfig::default());
        let req = RunRequest {
            lease_id: "ab".repeat(32),
            spec: crate::jobspec::JobSpec {
                image: "img:1".into(),
                command: vec!["run".into()],
                env: [("K".to_string(), "V".to_string())].into(),
                resources: Default::default(),
            },
            image: format!("sha256:{}", "c".repeat(64)),
            limits: Limits {
                memory_bytes: 64 << 20,
                cpu_millis: 1500,
                pids: 50,
                tmpfs_mib: 8,
                gpus: 0,
                gpu_ids: vec![],
                egress: false,
                output_bytes: 1 << 20,
            },
            output_dir: "/state/jobs/x/output".into(),
            stop_at: SystemTime::now(),
            stop_grace: Duration::from_secs(1),
            sample_every: Duration::from_secs(1),
            stop_now: Arc::new(tokio::sync::Notify::new()),
        };
        let c = rt.container_config(&req, &["/data".to_string()]);
        assert_eq!(
            c.image,
            Some(req.image.clone()),
            "created from the resolved ID"
        );
        let h = c.host_config.unwrap();
        assert_eq!(h.network_mode.as_deref(), Some("none"));
        assert_eq!(h.readonly_rootfs, Some(true));
        assert_eq!(h.cap_drop, Some(vec!["ALL".to_string()]));
        assert_eq!(
            h.security_opt,
            Some(vec!["no-new-privileges:true".to_string()])
        );
        assert_eq!(h.privileged, Some(false));
        assert_eq!(h.memory, Some(64 << 20));
        assert_eq!(h.memory_swap, Some(64 << 20), "no swap beyond the limit");
        assert_eq!(h.nano_cpus, Some(1_500_000_000));
        assert_eq!(h.pids_limit, Some(50));
        assert_eq!(
            h.binds,
            Some(vec!["/state/jobs/x/output:/output:rw".to_string()]),
            "the only host path"
        );
        assert!(h.mounts.is_none() && h.volumes_from.is_none() && h.devices.is_none());
        assert!(h.device_requests.is_none(), "no GPU unless configured");
        let tmpfs = h.tmpfs.unwrap();
        assert!(tmpfs["/tmp"].contains("size=8m"));
        assert!(tmpfs["/data"].contains("size=8m"), "image volume on tmpfs");
        assert_eq!(c.user.as_deref(), Some("65534:65534"));
        assert_eq!(
            c.healthcheck.as_ref().and_then(|h| h.test.clone()),
            Some(vec!["NONE".to_string()])
        );
        let u = h.ulimits.clone().unwrap();
        assert!(u
            .iter()
            .any(|u| u.name.as_deref() == Some("nofile") && u.hard == Some(4096)));
        assert_eq!(
            c.env,
            Some(vec![
                "K=V".to_string(),
                "NVIDIA_VISIBLE_DEVICES=void".into(),
                "NVIDIA_DRIVER_CAPABILITIES=compute,utility".into(),
                "LD_PRELOAD=".into()
            ]),
            "no GPU visible, whatever the image's environment says"
        );

        let gpu_cfg = DockerConfig {
            gpus: true,
            egress: true,
            ..Default::default()
        };
        let rt = DockerRuntime::new(rt.docker.clone(), gpu_cfg);
        let mut req = req;
        req.limits.gpus = 2;
        req.limits.gpu_ids = vec![1, 3];
        req.limits.egress = true;
        let c = rt.container_config(&req, &[]);
        assert!(c
            .env
            .unwrap()
            .contains(&"NVIDIA_VISIBLE_DEVICES=1,3".to_string()));
        let h = c.host_config.unwrap();
        let d = &h.device_requests.unwrap()[0];
        assert_eq!(
            d.device_ids,
            Some(vec!["1".to_string(), "3".into()]),
            "by index"
        );
        assert_eq!(d.count, None, "never by count");
        assert_eq!(d.capabilities, Some(vec![vec!["gpu".to_string()]]));
        assert_eq!(
            h.network_mode.as_deref(),
            Some("dgcm-egress"),
            "egress offered: the worker's guarded network, never the default bridge"
        );
    }
}
