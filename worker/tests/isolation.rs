//! Hostile jobs against the real Docker daemon (`DOCKER_HOST`): each test runs a job through the
//! worker's job manager with the hardened defaults and checks it stayed contained. Without a
//! daemon they are skipped with a loud message, or fail with `DGCM_REQUIRE_DOCKER=1`.

mod common;

use std::time::{Duration, Instant};

use common::*;
use dgcm_worker::state::JobStatus;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolation_fork_bomb_is_contained() {
    let Some((_d, jm)) = manager("isolation_fork_bomb_is_contained", |c| {
        c.docker.pids_limit = 32
    })
    .await
    else {
        return;
    };
    let lease = lease_for(&sh("x"), 8);
    let bomb = sh("f(){ f|f& }; f; sleep 3; echo bomb-done");
    let lease = dgcm_worker::state::LeaseRecord {
        job_spec_hash: hex::encode(dgcm_worker::job_spec_hash(&bomb)),
        ..lease
    };
    jm.submit(&lease, bomb).await.unwrap();
    // While it runs, the host still forks and answers.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let t0 = Instant::now();
    let out = tokio::process::Command::new("true").status().await;
    assert!(
        out.is_ok_and(|s| s.success()),
        "the host could not fork during the bomb"
    );
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "the host was slow to fork: {:?}",
        t0.elapsed()
    );
    let (j, log) = finished(&jm, &lease.lease_id, Duration::from_secs(30)).await;
    assert!(
        log.contains("can't fork") || log.contains("Resource temporarily unavailable"),
        "the pids limit never bit: {log}"
    );
    assert!(
        j.peak_pids <= 32,
        "peak pids {} above the limit",
        j.peak_pids
    );
    assert!(j.status.finished());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolation_memory_hog_is_oom_killed_and_reported() {
    let Some((_d, jm)) = manager("isolation_memory_hog_is_oom_killed_and_reported", |c| {
        c.docker.memory_mib = 32
    })
    .await
    else {
        return;
    };
    let (j, log) = run(&jm, spec(&["tail", "/dev/zero"]), 30).await;
    assert_eq!(j.status, JobStatus::OomKilled, "{j:?}\n{log}");
    assert!(j.detail.as_deref().unwrap_or("").contains("OOM"), "{j:?}");
    assert!(log.contains("OOM killer"), "the log says why: {log}");
    assert!(
        j.peak_memory_bytes <= 33 * 1024 * 1024,
        "peak {} above the limit",
        j.peak_memory_bytes
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolation_network_egress_is_impossible() {
    let Some((_d, jm)) = manager("isolation_network_egress_is_impossible", |_| {}).await else {
        return;
    };
    // A server on the host's loopback: the job must not reach it (or anything else).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = tokio::spawn(async move { listener.accept().await.is_ok() });
    let script = format!(
        "echo IFACES; cat /proc/net/dev; echo ROUTES; cat /proc/net/route; echo END_ROUTES; \
         if nc -w 2 127.0.0.1 {port} </dev/null 2>/dev/null; then echo CONNECTED; else echo NOCONNECT; fi"
    );
    let (j, log) = run(&jm, sh(&script), 30).await;
    assert_eq!(j.status, JobStatus::Succeeded, "{log}");
    let ifaces: Vec<&str> = log
        .split("IFACES")
        .nth(1)
        .unwrap_or("")
        .split("ROUTES")
        .next()
        .unwrap_or("")
        .lines()
        .filter(|l| l.contains(':') && !l.contains('|'))
        .map(|l| l.split(':').next().unwrap_or("").trim())
        .collect();
    assert_eq!(ifaces, vec!["lo"], "only a loopback interface: {log}");
    let routes: Vec<&str> = log
        .split("ROUTES")
        .nth(1)
        .unwrap_or("")
        .split("END_")
        .next()
        .unwrap_or("")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("Iface"))
        .collect();
    assert!(routes.is_empty(), "no route out: {routes:?}\n{log}");
    assert!(
        log.contains("NOCONNECT") && !log.contains("\nCONNECTED"),
        "{log}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !accepted.is_finished(),
        "the host listener got a connection"
    );
    accepted.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolation_root_fs_is_read_only() {
    let Some((_d, jm)) = manager("isolation_root_fs_is_read_only", |_| {}).await else {
        return;
    };
    let (j, log) = run(
        &jm,
        sh("touch /bin/evil; touch /etc/evil; echo x > /evil; \
            echo s > /tmp/scratch && echo TMP_OK; echo r > /output/r.txt && echo OUT_OK; \
            echo UID=$(id -u)"),
        30,
    )
    .await;
    assert_eq!(j.status, JobStatus::Succeeded, "{log}");
    assert!(log.matches("Read-only file system").count() >= 3, "{log}");
    assert!(log.contains("TMP_OK"), "tmpfs scratch writable: {log}");
    assert!(log.contains("OUT_OK"), "output dir writable: {log}");
    assert!(log.contains("UID=65534"), "not root: {log}");
    // The results archive carries the output, as the renter downloads it.
    let tar_path = jm.results(&j.lease_id).await.unwrap();
    let mut a = tar::Archive::new(std::fs::File::open(tar_path).unwrap());
    let names: Vec<String> = a
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert!(names.iter().any(|n| n == "output/r.txt"), "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolation_privileged_operations_are_refused() {
    let Some((_d, jm)) = manager("isolation_privileged_operations_are_refused", |_| {}).await
    else {
        return;
    };
    let (j, log) = run(
        &jm,
        sh(
            "mkdir -p /tmp/m; mount -t tmpfs none /tmp/m && echo MOUNTED; \
            mount --bind /output /tmp/m && echo BOUND; \
            arping -c 1 -I lo 127.0.0.1; traceroute -m 1 127.0.0.1; \
            grep -E 'CapEff|CapBnd|NoNewPrivs' /proc/self/status; echo END",
        ),
        30,
    )
    .await;
    assert_eq!(j.status, JobStatus::Succeeded, "{log}");
    assert!(
        !log.contains("MOUNTED") && !log.contains("BOUND"),
        "mount worked: {log}"
    );
    assert!(
        log.contains("arping: socket: Operation not permitted"),
        "raw socket (arping): {log}"
    );
    assert!(
        log.contains("traceroute: socket: Operation not permitted"),
        "raw socket (traceroute): {log}"
    );
    assert!(
        log.contains("CapEff:\t0000000000000000"),
        "capabilities left: {log}"
    );
    assert!(
        log.contains("CapBnd:\t0000000000000000"),
        "bounding set not empty: {log}"
    );
    assert!(log.contains("NoNewPrivs:\t1"), "no-new-privileges: {log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolation_job_past_deadline_is_killed() {
    let Some((_d, jm)) = manager("isolation_job_past_deadline_is_killed", |_| {}).await else {
        return;
    };
    let t0 = Instant::now();
    // Ignores SIGTERM: only the SIGKILL after the grace ends it.
    let (j, log) = run(&jm, sh("trap '' TERM; echo started; sleep 600"), 3).await;
    let took = t0.elapsed();
    assert_eq!(j.status, JobStatus::DeadlineExceeded, "{j:?}\n{log}");
    assert!(
        log.contains("started") && log.contains("lease deadline reached"),
        "{log}"
    );
    assert!(took < Duration::from_secs(15), "stopped late: {took:?}");
    assert!(took >= Duration::from_secs(3), "stopped early: {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolation_job_cannot_reach_the_docker_socket() {
    let Some((_d, jm)) = manager("isolation_job_cannot_reach_the_docker_socket", |_| {}).await
    else {
        return;
    };
    let host_sock = std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| h.strip_prefix("unix://").map(str::to_string))
        .unwrap_or_else(|| "/var/run/docker.sock".into());
    let script = format!(
        "for s in /var/run/docker.sock /run/docker.sock {host_sock}; do \
           if [ -e $s ]; then echo FOUND $s; else echo ABSENT $s; fi; done; \
         ls -la /var/run /run 2>&1; \
         find / -xdev -type s 2>/dev/null | sed 's/^/SOCKET /'; \
         if nc -w 1 127.0.0.1 2375 </dev/null; then echo TCP_OPEN; else echo TCP_CLOSED; fi; echo END"
    );
    let (j, log) = run(&jm, sh(&script), 30).await;
    assert_eq!(j.status, JobStatus::Succeeded, "{log}");
    assert!(!log.contains("FOUND"), "a docker socket is visible: {log}");
    assert_eq!(log.matches("ABSENT").count(), 3, "{log}");
    assert!(!log.contains("SOCKET "), "a unix socket is visible: {log}");
    assert!(log.contains("TCP_CLOSED"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_spec_hash_mismatch_starts_nothing() {
    let Some((_d, jm)) = manager("job_spec_hash_mismatch_starts_nothing", |_| {}).await else {
        return;
    };
    let docker = docker("job_spec_hash_mismatch_starts_nothing")
        .await
        .unwrap();
    let committed = sh("echo committed");
    let lease = lease_for(&committed, 60);
    let other = sh("echo something else");
    let e = jm.submit(&lease, other).await.unwrap_err();
    assert!(
        matches!(e, dgcm_worker::jobs::JobError::HashMismatch { .. }),
        "{e}"
    );
    assert!(jm.job(&lease.lease_id).is_none(), "no job recorded");
    assert!(!jm.job_dir(&lease.lease_id).exists(), "no job directory");
    let name = dgcm_worker::runtime::docker::container_name(&lease.lease_id);
    let r = docker
        .inspect_container(&name, None::<bollard::container::InspectContainerOptions>)
        .await;
    assert!(r.is_err(), "a container was created");
}
