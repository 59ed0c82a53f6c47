//! Settings as a provider gets them: the default `state_dir` is relative (`.dgcm/worker`), and a
//! Docker job's output folder becomes a bind mount, which Docker takes for a volume *name* when
//! the path is relative. One test per binary: it changes the process's working directory.

mod common;

use std::time::Duration;

use common::*;
use dgcm_worker::state::JobStatus;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_job_runs_with_the_default_relative_state_dir() {
    if docker("docker_job_runs_with_the_default_relative_state_dir")
        .await
        .is_none()
    {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    std::env::set_current_dir(home.path()).unwrap();
    let defaults = dgcm_worker::WorkerConfig::default();
    assert!(
        defaults.state_dir.is_relative(),
        "the default is what a provider gets: {:?}",
        defaults.state_dir
    );
    let mut cfg = config(&defaults.state_dir);
    cfg.state_dir = defaults.state_dir.clone();
    let jm = dgcm_worker::local_job_manager(&cfg).await.unwrap();

    let spec = sh("echo hi > /output/r.txt && echo RAN");
    let lease = lease_for(&spec, 30);
    jm.submit(&lease, spec).await.expect("job accepted");
    let (j, log) = finished(&jm, &lease.lease_id, Duration::from_secs(60)).await;
    assert_eq!(j.status, JobStatus::Succeeded, "{:?}\n{log}", j.detail);
    assert!(log.contains("RAN"), "{log}");
    // The output landed under the relative state dir, resolved against the working directory.
    let out = home
        .path()
        .join(&defaults.state_dir)
        .join("jobs")
        .join(&lease.lease_id)
        .join("output/r.txt");
    assert_eq!(std::fs::read_to_string(&out).unwrap().trim(), "hi");
    assert!(jm.job_dir(&lease.lease_id).is_absolute());
}
