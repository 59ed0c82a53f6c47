//! The renter's whole path on a devnet with the real Docker daemon: lease → auth → a spec that
//! differs from the lease refused (nothing started) → the committed spec runs → logs followed,
//! usage samples, results → the completion transaction lands with R9 = blake2b256(evidence manifest).
//! Also: a worker restart finds a running container again.

mod common;

use std::time::{Duration, Instant};

use common::*;
use dgcm_contracts::lease::Lease;
use dgcm_contracts::Typed;
use dgcm_worker::state::JobStatus;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renter_flow_runs_the_committed_job_and_posts_completion() {
    let Some(docker) = docker("renter_flow_runs_the_committed_job_and_posts_completion").await
    else {
        return;
    };
    let spec_a = sh("echo hello from the job; echo result > /output/r.txt; sleep 1; echo bye");
    let m = market(spec_a.clone(), sh("echo b"), |_| {}).await;
    let token = m.token(&m.lease_a, &m.consumer_a).await;

    // A spec whose hash differs from the lease's: refused, nothing started.
    let (s, v) = m
        .submit(&m.lease_a, &token, &sh("echo not what was ordered"))
        .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["reason"], "spec_hash_mismatch", "{v}");
    let (s, _) = m
        .get_json(&format!("/v1/leases/{}/job", m.lease_a), &token)
        .await;
    assert_eq!(s, 404, "no job recorded");
    let mut filters = std::collections::HashMap::new();
    filters.insert(
        "label".to_string(),
        vec![format!("dgcm.lease={}", m.lease_a)],
    );
    let found = docker
        .list_containers(Some(bollard::container::ListContainersOptions {
            all: true,
            filters,
            ..Default::default()
        }))
        .await
        .unwrap();
    assert!(found.is_empty(), "a container was created: {found:?}");

    // The committed spec runs.
    let (s, v) = m.submit(&m.lease_a, &token, &spec_a).await;
    assert_eq!(s, 202, "{v}");
    let (s, v) = m.submit(&m.lease_a, &token, &spec_a).await;
    assert_eq!(
        (s, v["reason"].as_str()),
        (409, Some("job_exists")),
        "one job per lease"
    );

    // Follow the log until the job ends.
    let (s, body, _) = m
        .get(
            &format!("/v1/leases/{}/logs?follow=true", m.lease_a),
            &token,
        )
        .await;
    let log = String::from_utf8_lossy(&body).to_string();
    assert_eq!(s, 200);
    assert!(
        log.contains("hello from the job") && log.contains("bye"),
        "{log}"
    );
    assert!(log.contains("job finished: exited with code 0"), "{log}");

    let (s, job) = m
        .get_json(&format!("/v1/leases/{}/job", m.lease_a), &token)
        .await;
    assert_eq!(s, 200);
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(
        job["spec_hash"],
        hex::encode(dgcm_worker::job_spec_hash(&spec_a))
    );

    // Usage samples and their commitment.
    let (s, usage, headers) = m
        .get(&format!("/v1/leases/{}/usage", m.lease_a), &token)
        .await;
    assert_eq!(s, 200);
    // R9 commits to the evidence manifest, which names the digest of each file served.
    let (s, manifest, _) = m
        .get(&format!("/v1/leases/{}/evidence", m.lease_a), &token)
        .await;
    assert_eq!(s, 200);
    let commitment = hex::encode(dgcm_contracts::util::blake2b256(&manifest));
    assert_eq!(headers["x-usage-commitment"].to_str().unwrap(), commitment);
    assert_eq!(job["usage_commitment"], commitment);
    let ev: dgcm_worker::evidence::Evidence = serde_json::from_slice(&manifest).unwrap();
    let digest = |b: &[u8]| hex::encode(dgcm_contracts::util::blake2b256(b));
    assert_eq!(ev.usage_blake2b256, digest(&usage));
    assert_eq!((ev.status.as_str(), ev.exit_code), ("succeeded", Some(0)));
    assert!(
        ev.image.starts_with("sha256:"),
        "the image ID it ran: {}",
        ev.image
    );
    let (_, log, _) = m
        .get(&format!("/v1/leases/{}/logs", m.lease_a), &token)
        .await;
    assert_eq!(ev.log_blake2b256, digest(&log));
    let samples: Vec<dgcm_worker::metering::UsageSample> = String::from_utf8(usage)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!samples.is_empty(), "a 1 s job has samples at 200 ms");
    // the last sample may be taken as the container exits (no process left): every sample of a
    // running container has memory and a process, and there is one
    let running: Vec<_> = samples.iter().filter(|s| s.pids >= 1).collect();
    assert!(
        !running.is_empty() && running.iter().all(|s| s.memory_bytes > 0),
        "{samples:?}"
    );

    // Results.
    let (s, tarball, _) = m
        .get(&format!("/v1/leases/{}/results", m.lease_a), &token)
        .await;
    assert_eq!(s, 200);
    let mut a = tar::Archive::new(std::io::Cursor::new(tarball.clone()));
    let mut found = false;
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().display().to_string() == "output/r.txt" {
            let mut t = String::new();
            std::io::Read::read_to_string(&mut e, &mut t).unwrap();
            assert_eq!(t, "result\n");
            found = true;
        }
    }
    assert!(found, "output/r.txt in the results");
    assert_eq!(ev.results_blake2b256, Some(digest(&tarball)));

    // Completion on chain: the lease continues with R9 = the commitment.
    let t0 = Instant::now();
    let tx = loop {
        if let Some(j) = m.worker.worker.jobs.job(&m.lease_a) {
            if let Some(tx) = j.completion_tx {
                break tx;
            }
            assert!(j.completion_error.is_none(), "{:?}", j.completion_error);
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "no completion");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    mine(&m.devnet.url(), 1).await;
    let l: Typed<Lease> = Typed::parse(&m.contracts, m.lease_of_tx(&tx).await).unwrap();
    assert!(l.v.terms.completed());
    assert_eq!(hex::encode(&l.v.usage_commitment), commitment);
    assert_eq!(Some(l.v.terms.used_blocks), job["used_blocks"].as_i64());

    let (_, metrics, _) = m.get("/metrics", "").await;
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(
        metrics.contains("dgcm_worker_jobs_finished_total{status=\"succeeded\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("dgcm_worker_completions_total{status=\"submitted\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("dgcm_worker_nvml_available 0"),
        "{metrics}"
    );
    let (_, health, _) = m.get("/health", "").await;
    let health: serde_json::Value = serde_json::from_slice(&health).unwrap();
    assert_eq!(health["gpu"]["source"], "config", "{health}");
    assert_eq!(health["isolated"], true);
    m.stop().await;
}

/// A worker "crash" (its runtime and tasks gone, the container left running) and a new worker on
/// the same state directory: the job is found again and finishes normally; a job whose container
/// vanished is reported lost.
#[test]
fn restart_finds_the_running_job_again() {
    let rt1 = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let Some(_docker) = rt1.block_on(docker("restart_finds_the_running_job_again")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let spec = sh("echo before; sleep 3; echo after");
    let lease = lease_for(&spec, 60);
    let lost_spec = sh("sleep 30");
    let lost = lease_for(&lost_spec, 60);
    rt1.block_on(async {
        let jm = dgcm_worker::local_job_manager(&cfg).await.unwrap();
        jm.store
            .update(|s| {
                s.leases.insert(lease.lease_id.clone(), lease.clone());
            })
            .unwrap();
        jm.submit(&lease, spec).await.unwrap();
        jm.submit(&lost, lost_spec).await.unwrap();
        let t0 = Instant::now();
        while jm.job(&lease.lease_id).unwrap().status != JobStatus::Running
            || jm.job(&lost.lease_id).unwrap().status != JobStatus::Running
        {
            assert!(t0.elapsed() < Duration::from_secs(20));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    // The crash: every task of the first worker is dropped mid-flight.
    rt1.shutdown_background();

    let rt2 = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt2.block_on(async {
        let jm = dgcm_worker::local_job_manager(&cfg).await.unwrap();
        // The second job's container disappears while the worker is down.
        let d = dgcm_worker::runtime::docker::connect(None).await.unwrap();
        let c = jm.job(&lost.lease_id).unwrap().container.unwrap();
        d.remove_container(
            &c,
            Some(bollard::container::RemoveContainerOptions {
                force: true,
                ..Default::default()
            }),
        )
        .await
        .unwrap();
        let report = jm.recover().await;
        assert!(
            report.contains(&(lease.lease_id.clone(), JobStatus::Running)),
            "{report:?}"
        );
        assert!(
            report.contains(&(lost.lease_id.clone(), JobStatus::Lost)),
            "{report:?}"
        );
        let (j, log) = finished(&jm, &lease.lease_id, Duration::from_secs(30)).await;
        assert_eq!(j.status, JobStatus::Succeeded, "{j:?}\n{log}");
        assert!(
            log.contains("before") && log.contains("after"),
            "the whole log: {log}"
        );
        assert!(j.usage_commitment.is_some());
        let l = jm.job(&lost.lease_id).unwrap();
        assert_eq!(l.status, JobStatus::Lost);
        assert!(l.detail.unwrap().contains("restart"));
    });
}

/// A job whose container cannot start (its command does not exist in the image) never ran:
/// the worker completes the lease claiming 0 blocks, and finalisation gives the renter the
/// whole payment back (issue: a job that never ran was billed the one-hour minimum).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_cannot_start_costs_the_renter_nothing() {
    if docker("a_job_that_cannot_start_costs_the_renter_nothing")
        .await
        .is_none()
    {
        return;
    }
    let broken = spec(&["/no/such/program"]);
    let m = market(broken.clone(), sh("echo b"), |_| {}).await;
    let token = m.token(&m.lease_a, &m.consumer_a).await;
    let (s, v) = m.submit(&m.lease_a, &token, &broken).await;
    assert_eq!(s, 202, "{v}");
    let t0 = Instant::now();
    let (job, tx) = loop {
        if let Some(j) = m.worker.worker.jobs.job(&m.lease_a) {
            if let Some(tx) = j.completion_tx.clone() {
                break (j, tx);
            }
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "no completion");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(job.status, JobStatus::Failed, "{job:?}");
    assert!(job.started_ms.is_none(), "it never started: {job:?}");
    assert_eq!(job.used_blocks, Some(0));
    mine(&m.devnet.url(), 1).await;
    let done: Typed<Lease> = Typed::parse(&m.contracts, m.lease_of_tx(&tx).await).unwrap();
    assert_eq!(done.v.terms.used_blocks, 0);
    assert_eq!(done.v.terms.pay(), 0, "nothing billed");

    // After the challenge window anyone finalises: the renter gets the whole payment back.
    mine(
        &m.devnet.url(),
        61 + dgcm_contracts::build::COMPLETION_SLACK,
    )
    .await;
    let h = m.node.info().await.unwrap().full_height.unwrap() + 1;
    let exec = dgcm_contracts::Executor {
        funding: m
            .node
            .unspent_boxes_by_tree(&m.consumer_b.tree, true)
            .await
            .unwrap(),
        change: m.consumer_b.tree.clone(),
        fee: 1_100_000,
    };
    let plan = dgcm_contracts::build::finalise(&m.contracts, &done, h, &exec).unwrap();
    let paid_back = plan.draft.outputs[1]
        .tokens
        .as_ref()
        .unwrap()
        .first()
        .amount;
    assert_eq!(*paid_back.as_u64() as i64, done.v.terms.payment);
    sign_submit(&m.node, &m.consumer_b, plan).await;
    mine(&m.devnet.url(), 1).await;
    m.stop().await;
}

/// The no-show rule: a lease whose consumer never submits a job is completed by the worker
/// shortly before its deadline, claiming one hour, so that the consumer cannot slash it for the
/// collateral.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_completes_a_lease_whose_consumer_never_shows_up() {
    let m = market(sh("echo a"), sh("echo b"), |_| {}).await;
    let lease: Typed<Lease> = Typed::parse(
        &m.contracts,
        m.node
            .unspent_box_with_pool(&dgcm_worker::chain::parse_box_id(&m.lease_b).unwrap())
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    let deadline = lease.v.terms.deadline;
    let h = m.node.info().await.unwrap().full_height.unwrap() as i64;
    // Well before the deadline nothing happens: the consumer may still come.
    mine(&m.devnet.url(), (deadline - 30 - h) as u32).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(m
        .worker
        .worker
        .store
        .read(|s| s.idle_completions.is_empty()));
    // Inside the no-show margin the worker completes it.
    mine(&m.devnet.url(), 20).await;
    let done = m.idle_completion(&m.lease_b).await;
    assert_eq!(
        done.v.terms.used_blocks, 30,
        "one hour held for the consumer"
    );
    assert_eq!(done.v.terms.pay(), done.v.terms.price_per_hour);
    // Lease A (also idle) got the same; the consumer cannot slash either after the deadline.
    assert!(m
        .worker
        .worker
        .store
        .read(|s| s.idle_completions.contains_key(&m.lease_a)));
    m.stop().await;
}
