//! The `process` runtime (no isolation; development only): refused unless allowed, runs a
//! command with its log and samples, and is stopped at the deadline.

mod common;

use std::time::{Duration, Instant};

use common::*;
use dgcm_worker::state::JobStatus;

fn process_config(dir: &std::path::Path) -> dgcm_worker::WorkerConfig {
    let mut c = config(dir);
    c.runtime = "process".into();
    c.docker.memory_mib = 512;
    c
}

#[tokio::test]
async fn process_runtime_is_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let c = process_config(dir.path());
    let e = dgcm_worker::local_job_manager(&c)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("WITHOUT isolation") && e.contains("allow_process_runtime"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_runtime_runs_and_stops_at_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = process_config(dir.path());
    c.allow_process_runtime = true;
    let jm = dgcm_worker::local_job_manager(&c).await.unwrap();
    let (j, log) = run(
        &jm,
        spec(&[
            "sh",
            "-c",
            "echo out; echo err >&2; echo f > result.txt; sleep 0.5",
        ]),
        30,
    )
    .await;
    assert_eq!(j.status, JobStatus::Succeeded, "{log}");
    assert!(log.contains("out") && log.contains("err"), "{log}");
    assert!(jm.job_dir(&j.lease_id).join("output/result.txt").exists());
    assert!(j.usage_commitment.is_some());

    let t0 = Instant::now();
    let (j, log) = run(
        &jm,
        spec(&["sh", "-c", "trap '' TERM; echo started; sleep 60"]),
        2,
    )
    .await;
    assert_eq!(j.status, JobStatus::DeadlineExceeded, "{log}");
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());

    let (j, _) = run(&jm, spec(&["sh", "-c", "exit 3"]), 30).await;
    assert_eq!((j.status, j.exit_code), (JobStatus::Failed, Some(3)));
}
