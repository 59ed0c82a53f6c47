//! Issue 23 against the worker, on the devnet over HTTP and the real Docker daemon
//! (`DOCKER_HOST`; skipped loudly without one, failed with `DGCM_REQUIRE_DOCKER=1`): each attack
//! with its honest twin.

mod common;

use std::io::{Cursor, Read};
use std::time::Duration;

use bollard::container::{Config, CreateContainerOptions};
use bollard::image::{CommitContainerOptions, RemoveImageOptions, TagImageOptions};
use common::*;
use dgcm_worker::jobs::JobError;
use dgcm_worker::state::JobStatus;
use dgcm_worker::JobSpec;
use futures::StreamExt;

fn rand_tag() -> String {
    format!("{:x}", dgcm_worker::state::now_ms())
}

/// `tarball` (as `docker save` writes it) with `RepoTags` set to `tags`: what a renter's own
/// tarball may declare.
fn with_repo_tags(tarball: &[u8], tags: &[&str]) -> Vec<u8> {
    let mut input = tar::Archive::new(Cursor::new(tarball));
    let mut out = tar::Builder::new(Vec::new());
    for e in input.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().to_string();
        let mut header = e.header().clone();
        let mut body = Vec::new();
        e.read_to_end(&mut body).unwrap();
        if path == "manifest.json" {
            let mut v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            v[0]["RepoTags"] = serde_json::json!(tags);
            body = serde_json::to_vec(&v).unwrap();
            header.set_size(body.len() as u64);
            header.set_cksum();
        }
        out.append(&header, body.as_slice()).unwrap();
    }
    out.into_inner().unwrap()
}

/// A new image: the test image plus `/marker` (a committed container); its ID.
async fn marked_image(docker: &bollard::Docker, marker: &str) -> String {
    let name = format!("dgcm-attack-build-{}", rand_tag());
    let c = docker
        .create_container(
            Some(CreateContainerOptions {
                name: name.clone(),
                platform: None,
            }),
            Config {
                image: Some(image()),
                cmd: Some(vec![
                    "sh".into(),
                    "-c".into(),
                    format!("echo {marker} > /marker"),
                ]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    docker.start_container::<String>(&c.id, None).await.unwrap();
    let mut wait = docker.wait_container::<String>(&c.id, None);
    while wait.next().await.is_some() {}
    // Committed under a name (bollard 0.16 does not return the ID), which is dropped below.
    let built = format!("dgcm/attack-build:{}", rand_tag());
    let (repo, tag) = built.split_once(':').unwrap();
    docker
        .commit_container(
            CommitContainerOptions {
                container: c.id.clone(),
                repo: repo.to_string(),
                tag: tag.to_string(),
                ..Default::default()
            },
            Config::<String>::default(),
        )
        .await
        .unwrap();
    let id = docker.inspect_image(&built).await.unwrap().id.unwrap();
    dgcm_worker::runtime::docker::DockerRuntime::new(docker.clone(), Default::default())
        .remove(&c.id)
        .await;
    id
}

async fn remove_image(docker: &bollard::Docker, image: &str) {
    let _ = docker
        .remove_image(
            image,
            Some(RemoveImageOptions {
                force: true,
                ..Default::default()
            }),
            None,
        )
        .await;
}

/// A renter's tarball that claims a name already in the daemon ("dgcm/victim:…", the provider's
/// image under another name) is loaded without it: the name still gives the provider's image,
/// the upload has no name and is answered with its ID. Another lease naming that ID is refused;
/// the honest twin, the uploading lease, runs it by its ID.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_offchain_an_upload_takes_no_name_and_serves_only_its_lease() {
    let test = "attack_offchain_an_upload_takes_no_name_and_serves_only_its_lease";
    let Some(docker) = docker(test).await else {
        return;
    };
    let base = docker.inspect_image(&image()).await.unwrap().id.unwrap();
    let victim_tag = rand_tag();
    let victim = format!("dgcm/victim:{victim_tag}");
    docker
        .tag_image(
            &image(),
            Some(TagImageOptions {
                repo: "dgcm/victim",
                tag: &victim_tag,
            }),
        )
        .await
        .unwrap();
    let evil = marked_image(&docker, "pwned").await;
    let mut saved = Vec::new();
    let mut s = docker.export_image(&evil);
    while let Some(chunk) = s.next().await {
        saved.extend_from_slice(&chunk.unwrap());
    }
    let tarball = with_repo_tags(&saved, &[&victim]);
    remove_image(&docker, &evil).await;

    let spec = JobSpec {
        image: evil.clone(),
        command: vec!["cat".into(), "/marker".into()],
        env: Default::default(),
        resources: Default::default(),
    };
    let m = market(spec.clone(), spec.clone(), |_| {}).await;
    let ta = m.token(&m.lease_a, &m.consumer_a).await;
    let r = m
        .http
        .post(m.url(&format!("/v1/leases/{}/image", m.lease_a)))
        .bearer_auth(&ta)
        .body(tarball)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        (status, v["image_id"].as_str()),
        (200, Some(evil.as_str())),
        "{v}"
    );
    let after = docker.inspect_image(&victim).await.unwrap().id.unwrap();
    assert_eq!(after, base, "{victim} still names the provider's image");
    let tags = docker.inspect_image(&evil).await.unwrap().repo_tags;
    assert!(
        tags.unwrap_or_default().is_empty(),
        "the upload has no name"
    );

    // Lease B names A's upload by its ID: refused before anything is created.
    let tb = m.token(&m.lease_b, &m.consumer_b).await;
    let (s, v) = m.submit(&m.lease_b, &tb, &spec).await;
    assert_eq!(
        (s, v["reason"].as_str()),
        (422, Some("image_unavailable")),
        "{v}"
    );
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("not uploaded for this lease"),
        "{v}"
    );
    // A runs its own upload.
    let (s, v) = m.submit(&m.lease_a, &ta, &spec).await;
    assert!((200..300).contains(&s), "{v}");
    let (j, log) = finished(&m.worker.worker.jobs, &m.lease_a, Duration::from_secs(60)).await;
    assert_eq!(j.status, JobStatus::Succeeded, "{log}");
    assert!(log.contains("pwned"), "{log}");

    m.stop().await;
    remove_image(&docker, &evil).await;
    remove_image(&docker, &victim).await;
}

/// A job naming an image the provider does not allow is refused, even when the daemon has it
/// (here the test image under another name) and without any pull; the honest twin, the allowed
/// name of the same image, runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_offchain_a_job_names_only_allowed_images() {
    let test = "attack_offchain_a_job_names_only_allowed_images";
    let Some((_d, jm)) = manager(test, |c| c.docker.pull = true).await else {
        return;
    };
    let docker = dgcm_worker::runtime::docker::connect(None).await.unwrap();
    let tag = rand_tag();
    docker
        .tag_image(
            &image(),
            Some(TagImageOptions {
                repo: "dgcm/not-allowed",
                tag: &tag,
            }),
        )
        .await
        .unwrap();
    for name in [
        format!("dgcm/not-allowed:{tag}"),
        "evil.example.com/library/busybox:1".to_string(),
    ] {
        let mut spec = sh("echo ran");
        spec.image = name.clone();
        let lease = lease_for(&spec, 30);
        match jm.submit(&lease, spec).await {
            Err(JobError::Image(e)) => assert!(e.contains("allowed_images"), "{name}: {e}"),
            other => panic!("{name}: {other:?}"),
        }
        assert!(jm.job(&lease.lease_id).is_none(), "nothing recorded");
    }
    let (j, log) = run(&jm, sh("echo ran"), 20).await;
    assert_eq!(j.status, JobStatus::Succeeded, "{log}");
    assert!(log.contains("ran"));
    remove_image(&docker, &format!("dgcm/not-allowed:{tag}")).await;
}

/// `sh -c script` asking for one GPU, on a fresh lease `secs` from its deadline.
fn gpu_job(script: &str, secs: u64) -> (JobSpec, dgcm_worker::state::LeaseRecord) {
    let mut spec = sh(script);
    spec.resources.gpus = Some(1);
    let lease = lease_for(&spec, secs);
    (spec, lease)
}

/// A worker with two GPUs. The GPUs are a stand-in (no NVIDIA runtime here: `docker.gpus` off,
/// `gpu.count` = 2 without NVML): what is real is the allocation table and the container's
/// `NVIDIA_VISIBLE_DEVICES`, which the NVIDIA runtime would obey.
async fn two_gpus(
    test: &str,
) -> Option<(
    tempfile::TempDir,
    std::sync::Arc<dgcm_worker::jobs::JobManager>,
)> {
    manager(test, |c| c.gpu.count = 2).await
}

/// Two jobs hold both GPUs; a third paying job is refused (409 `no_gpu_free`) instead of
/// sharing one, and gets GPU 0 once its holder has finished. Before the fix GPUs were requested
/// by count and every job was given one, the same one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_offchain_a_third_gpu_job_is_refused_while_two_hold_both() {
    let test = "attack_offchain_a_third_gpu_job_is_refused_while_two_hold_both";
    let Some((_d, jm)) = two_gpus(test).await else {
        return;
    };
    let (a, la) = gpu_job("echo gpu=$NVIDIA_VISIBLE_DEVICES; sleep 2", 60);
    let (b, lb) = gpu_job("echo gpu=$NVIDIA_VISIBLE_DEVICES; sleep 30", 60);
    jm.submit(&la, a).await.unwrap();
    jm.submit(&lb, b).await.unwrap();
    let (c, lc) = gpu_job("echo gpu=$NVIDIA_VISIBLE_DEVICES", 60);
    match jm.submit(&lc, c.clone()).await {
        Err(dgcm_worker::jobs::JobError::NoGpuFree(e)) => {
            assert!(e.contains("0 of this worker's 2 GPUs are free"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert!(jm.job(&lc.lease_id).is_none(), "nothing recorded");
    let (j, _) = finished(&jm, &la.lease_id, Duration::from_secs(30)).await;
    assert_eq!(j.gpu_ids, vec![0]);
    let (lc2, c2) = (lease_for(&c, 60), c);
    jm.submit(&lc2, c2).await.unwrap();
    let (j, log) = finished(&jm, &lc2.lease_id, Duration::from_secs(30)).await;
    assert_eq!(
        (j.gpu_ids.clone(), j.status),
        (vec![0], JobStatus::Succeeded),
        "{log}"
    );
    assert!(log.contains("gpu=0"), "{log}");
    let table = jm.gpu_allocation();
    assert_eq!(
        table,
        vec![None, Some(lb.lease_id.clone())],
        "B still holds GPU 1"
    );
    jm.stop(&lb.lease_id);
    finished(&jm, &lb.lease_id, Duration::from_secs(30)).await;
}

/// Its honest twin: one lease gets GPU 0, the next GPU 1, each seeing only its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_twin_two_gpu_jobs_get_gpu_0_and_gpu_1() {
    let test = "honest_twin_two_gpu_jobs_get_gpu_0_and_gpu_1";
    let Some((_d, jm)) = two_gpus(test).await else {
        return;
    };
    let (a, la) = gpu_job("echo gpu=$NVIDIA_VISIBLE_DEVICES; sleep 1", 60);
    let (b, lb) = gpu_job("echo gpu=$NVIDIA_VISIBLE_DEVICES; sleep 1", 60);
    jm.submit(&la, a).await.unwrap();
    jm.submit(&lb, b).await.unwrap();
    for (l, want) in [(&la, 0u32), (&lb, 1)] {
        let (j, log) = finished(&jm, &l.lease_id, Duration::from_secs(30)).await;
        assert_eq!(
            (j.gpu_ids, j.status),
            (vec![want], JobStatus::Succeeded),
            "{log}"
        );
        assert!(log.contains(&format!("gpu={want}\n")), "{log}");
    }
    assert_eq!(jm.gpu_allocation(), vec![None, None], "both given back");
}

/// The job's environment cannot name GPUs or preload a library (refused at submission, naming
/// the variable), and an image whose own environment says `NVIDIA_VISIBLE_DEVICES=all` and
/// `LD_PRELOAD=…` runs with neither; the honest twin's ordinary variable passes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_offchain_job_and_image_environment_cannot_choose_gpus_or_preload() {
    let test = "attack_offchain_job_and_image_environment_cannot_choose_gpus_or_preload";
    let tag = rand_tag();
    let name = format!("dgcm/env-image:{tag}");
    let n2 = name.clone();
    let Some((_d, jm)) = manager(test, move |c| c.docker.allowed_images.push(n2)).await else {
        return;
    };
    for (k, v) in [
        ("NVIDIA_VISIBLE_DEVICES", "all"),
        ("LD_PRELOAD", "/tmp/x.so"),
        ("nvidia_driver_capabilities", "all"),
    ] {
        let mut spec = sh("true");
        spec.env.insert(k.into(), v.into());
        let lease = lease_for(&spec, 30);
        match jm.submit(&lease, spec).await {
            Err(dgcm_worker::jobs::JobError::Spec { field, reason }) => {
                assert_eq!(field, format!("env.{k}"));
                assert!(reason.contains("reserved"), "{reason}");
            }
            other => panic!("{k}: {other:?}"),
        }
    }
    // An image that declares both in its own environment.
    let docker = dgcm_worker::runtime::docker::connect(None).await.unwrap();
    let c = docker
        .create_container(
            None::<CreateContainerOptions<String>>,
            Config {
                image: Some(image()),
                cmd: Some(vec!["true".to_string()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    docker
        .commit_container(
            CommitContainerOptions {
                container: c.id.clone(),
                repo: "dgcm/env-image".to_string(),
                tag: tag.clone(),
                changes: Some(
                    "ENV NVIDIA_VISIBLE_DEVICES=all\nENV LD_PRELOAD=/tmp/evil.so".to_string(),
                ),
                ..Default::default()
            },
            Config::<String>::default(),
        )
        .await
        .unwrap();
    dgcm_worker::runtime::docker::DockerRuntime::new(docker.clone(), Default::default())
        .remove(&c.id)
        .await;
    let mut spec = sh("echo vis=$NVIDIA_VISIBLE_DEVICES pre=[$LD_PRELOAD] epochs=$EPOCHS");
    spec.image = name.clone();
    spec.env.insert("EPOCHS".into(), "3".into());
    let (j, log) = run(&jm, spec, 20).await;
    assert_eq!(j.status, JobStatus::Succeeded, "{log}");
    assert!(log.contains("vis=void pre=[] epochs=3"), "{log}");
    remove_image(&docker, &name).await;
}

/// The challenge for `lease`: (status, body).
async fn challenge_of(m: &Market, lease: &str) -> (u16, serde_json::Value) {
    m.post("/v1/auth/challenge", serde_json::json!({"lease_id": lease}))
        .await
}

/// A lease still in the mempool (its renter could double-spend the order behind it) is not
/// served: 409 `lease_unconfirmed`. The honest twin: the same lease, once in a block, is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_offchain_a_lease_in_the_mempool_is_not_served() {
    let test = "attack_offchain_a_lease_in_the_mempool_is_not_served";
    if docker(test).await.is_none() {
        return;
    }
    let m = market(sh("true"), sh("true"), |_| {}).await;
    let lease = m.direct_lease(1000, 100).await;
    let (s, v) = challenge_of(&m, &lease).await;
    assert_eq!(
        (s, v["reason"].as_str()),
        (409, Some("lease_unconfirmed")),
        "{v}"
    );
    mine(&m.devnet.url(), 1).await;
    let (s, v) = challenge_of(&m, &lease).await;
    assert_eq!(s, 200, "{v}");
    m.stop().await;
}

/// With `lease_confirmations = 3` a lease in the last two blocks is not served yet; three blocks
/// deep it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_twin_a_lease_is_served_at_the_configured_depth() {
    let test = "honest_twin_a_lease_is_served_at_the_configured_depth";
    if docker(test).await.is_none() {
        return;
    }
    let m = market(sh("true"), sh("true"), |c| c.lease_confirmations = 3).await;
    let lease = m.direct_lease(1000, 100).await;
    for depth in 1..=3 {
        mine(&m.devnet.url(), 1).await;
        let (s, v) = challenge_of(&m, &lease).await;
        let want = if depth < 3 { 409 } else { 200 };
        assert_eq!(s, want, "depth {depth}: {v}");
    }
    m.stop().await;
}

/// A job that writes past its `/output` quota (2 MiB here) is stopped, its output deleted, and
/// it ends `failed` saying why, whether it is still writing or has already exited; before the
/// fix `/output` had no quota and filled the host's disk. The honest twin writes 1 MiB, keeps
/// it, and runs under the `nofile` ulimit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_offchain_a_job_over_its_output_quota_is_stopped_and_its_output_deleted() {
    let test = "attack_offchain_a_job_over_its_output_quota_is_stopped_and_its_output_deleted";
    let Some((_d, jm)) = manager(test, |c| c.docker.max_output_mib = 2).await else {
        return;
    };
    for script in [
        "dd if=/dev/zero of=/output/big bs=1M count=8; sleep 20",
        "dd if=/dev/zero of=/output/big bs=1M count=8",
    ] {
        let spec = sh(script);
        let lease = lease_for(&spec, 60);
        jm.submit(&lease, spec).await.unwrap();
        let (j, log) = finished(&jm, &lease.lease_id, Duration::from_secs(20)).await;
        assert_eq!(j.status, JobStatus::Failed, "{script}: {log}");
        assert!(j.detail.unwrap().contains("/output quota"), "{script}");
        let out = jm.job_dir(&lease.lease_id).join("output");
        assert_eq!(
            std::fs::read_dir(&out).unwrap().count(),
            0,
            "{script}: deleted"
        );
    }
    let (j, log) = run(
        &jm,
        sh("dd if=/dev/zero of=/output/ok bs=1M count=1 2>/dev/null; echo nofile=$(ulimit -n)"),
        20,
    )
    .await;
    assert_eq!(j.status, JobStatus::Succeeded, "{log}");
    assert!(log.contains("nofile=4096"), "{log}");
    let out = jm.job_dir(&j.lease_id).join("output").join("ok");
    assert_eq!(std::fs::metadata(out).unwrap().len(), 1 << 20);
}

/// One lease cannot hold more than `max_log_followers` (2 here) log followers open: the next is
/// refused with 429 (each is a task and an open file on the worker); once they have ended, a new
/// one is served (the honest twin).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_offchain_log_followers_per_lease_are_bounded() {
    let test = "attack_offchain_log_followers_per_lease_are_bounded";
    if docker(test).await.is_none() {
        return;
    }
    let spec = sh("echo started; sleep 30");
    let m = market(spec.clone(), sh("true"), |c| c.docker.max_log_followers = 2).await;
    let t = m.token(&m.lease_a, &m.consumer_a).await;
    let (s, v) = m.submit(&m.lease_a, &t, &spec).await;
    assert!((200..300).contains(&s), "{v}");
    let follow = || {
        m.http
            .get(m.url(&format!("/v1/leases/{}/logs?follow=true", m.lease_a)))
            .bearer_auth(&t)
            .send()
    };
    let a = follow().await.unwrap();
    let b = follow().await.unwrap();
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    let c = follow().await.unwrap();
    assert_eq!(c.status().as_u16(), 429);
    // A follower holds its slot until its stream ends (at the latest when the job does: the
    // lease deadline bounds it); then the slots come back.
    m.worker.worker.jobs.stop(&m.lease_a);
    let (a, b) = (a.text().await.unwrap(), b.text().await.unwrap());
    assert!(a.contains("started") && b.contains("started"), "{a}");
    let d = follow().await.unwrap();
    assert_eq!(d.status().as_u16(), 200);
    assert!(d.text().await.unwrap().contains("started"));
    m.stop().await;
}

/// A finished job's files stay while its lease can still be disputed (the honest twin: its
/// results are served after the completion), and are removed once the deadline, the challenge
/// window and a margin have passed (before the fix they were kept forever, and enough finished
/// jobs filled the disk).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_offchain_job_files_are_removed_after_the_dispute_window() {
    let test = "attack_offchain_job_files_are_removed_after_the_dispute_window";
    if docker(test).await.is_none() {
        return;
    }
    let spec = sh("echo evidence > /output/f; echo done");
    let m = market(spec.clone(), sh("true"), |_| {}).await;
    let t = m.token(&m.lease_a, &m.consumer_a).await;
    let (s, v) = m.submit(&m.lease_a, &t, &spec).await;
    assert!((200..300).contains(&s), "{v}");
    let jm = m.worker.worker.jobs.clone();
    let (j, _) = finished(&jm, &m.lease_a, Duration::from_secs(30)).await;
    assert_eq!(j.status, JobStatus::Succeeded);
    let dir = jm.job_dir(&m.lease_a);
    mine(&m.devnet.url(), 5).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (s, _, _) = m
        .get(&format!("/v1/leases/{}/results", m.lease_a), &t)
        .await;
    assert_eq!(s, 200, "served inside the window");
    assert!(dir.exists());
    let deadline = m
        .worker
        .worker
        .store
        .read(|s| s.leases[&m.lease_a].deadline_height);
    let window = m.contracts.params.challenge_window + dgcm_worker::CLEAN_MARGIN_BLOCKS;
    let now = m.node.info().await.unwrap().full_height.unwrap() as i64;
    mine(&m.devnet.url(), (deadline + window - now + 1) as u32).await;
    let t0 = std::time::Instant::now();
    while dir.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "{} still there",
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(jm.job(&m.lease_a).unwrap().cleaned_ms.is_some());
    m.stop().await;
}

/// A market whose lease A ran `echo evidence` and whose completion is on chain (the lease box
/// spent): (market, the completion height the worker recorded).
async fn completed_lease(test: &str) -> Option<(Market, u32)> {
    docker(test).await?;
    let spec = sh("echo evidence > /output/f; echo logged");
    let m = market(spec.clone(), sh("true"), |_| {}).await;
    let t = m.token(&m.lease_a, &m.consumer_a).await;
    let (s, v) = m.submit(&m.lease_a, &t, &spec).await;
    assert!((200..300).contains(&s), "{v}");
    let jm = m.worker.worker.jobs.clone();
    finished(&jm, &m.lease_a, Duration::from_secs(30)).await;
    let t0 = std::time::Instant::now();
    let posted = loop {
        if let Some(h) = jm.job(&m.lease_a).and_then(|j| j.completion_height) {
            break h;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "no completion posted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    mine(&m.devnet.url(), 1).await;
    let id = dgcm_worker::chain::parse_box_id(&m.lease_a).unwrap();
    assert!(
        m.node.unspent_box(&id).await.unwrap().is_none(),
        "lease box spent"
    );
    Some((m, posted))
}

/// Once the completion has spent the lease box, the renter can still get a fresh token (the
/// old one may have expired) and download the job record, logs and results while the lease can
/// be disputed; before the fix the challenge answered 404 and the evidence was out of reach.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_offchain_a_completed_lease_keeps_its_evidence_within_the_window() {
    let Some((m, _)) =
        completed_lease("attack_offchain_a_completed_lease_keeps_its_evidence_within_the_window")
            .await
    else {
        return;
    };
    let t = m.token(&m.lease_a, &m.consumer_a).await;
    let (s, job) = m
        .get_json(&format!("/v1/leases/{}/job", m.lease_a), &t)
        .await;
    assert_eq!(
        (s, job["status"].as_str()),
        (200, Some("succeeded")),
        "{job}"
    );
    let (s, log, _) = m.get(&format!("/v1/leases/{}/logs", m.lease_a), &t).await;
    assert!(s == 200 && String::from_utf8_lossy(&log).contains("logged"));
    let (s, tar, _) = m
        .get(&format!("/v1/leases/{}/results", m.lease_a), &t)
        .await;
    assert!(s == 200 && !tar.is_empty());
    // Another key still gets nothing.
    let (s, _) = m.token_with(&m.lease_a, &m.consumer_b).await;
    assert_eq!(s, 401);
    m.stop().await;
}

/// Its honest twin: a completed lease admits no new job, and its access ends with its dispute
/// window (a fresh challenge is refused, an issued token too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_twin_evidence_access_ends_with_the_window_and_admits_no_job() {
    let Some((m, posted)) =
        completed_lease("honest_twin_evidence_access_ends_with_the_window_and_admits_no_job").await
    else {
        return;
    };
    let t = m.token(&m.lease_a, &m.consumer_a).await;
    let (s, v) = m.submit(&m.lease_a, &t, &sh("echo again")).await;
    assert_eq!(
        (s, v["reason"].as_str()),
        (403, Some("lease_completed")),
        "{v}"
    );
    let end = posted as i64 + 30 + m.contracts.params.challenge_window;
    let now = m.node.info().await.unwrap().full_height.unwrap() as i64;
    mine(&m.devnet.url(), (end - now + 1) as u32).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (s, _) = m
        .post(
            "/v1/auth/challenge",
            serde_json::json!({"lease_id": m.lease_a}),
        )
        .await;
    assert_eq!(s, 404, "the window closed");
    let (s, _, _) = m.get(&format!("/v1/leases/{}/job", m.lease_a), &t).await;
    assert_eq!(s, 401, "the token ended with the window");
    m.stop().await;
}

/// R9 of the completed lease commits to the evidence manifest, which names the digests of the
/// log, the usage samples and the results archive, the exit code and the image ID: a log or
/// results rewritten after the completion no longer match (before the fix R9 covered only the
/// usage samples). The honest twin: the files as served match the manifest, and the manifest R9.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_offchain_evidence_rewritten_after_completion_no_longer_matches_r9() {
    let Some((m, _)) =
        completed_lease("attack_offchain_evidence_rewritten_after_completion_no_longer_matches_r9")
            .await
    else {
        return;
    };
    let t = m.token(&m.lease_a, &m.consumer_a).await;
    let digest = |b: &[u8]| hex::encode(dgcm_contracts::util::blake2b256(b));
    let (s, manifest, _) = m
        .get(&format!("/v1/leases/{}/evidence", m.lease_a), &t)
        .await;
    assert_eq!(s, 200);
    let jm = m.worker.worker.jobs.clone();
    let tx = jm.job(&m.lease_a).unwrap().completion_tx.unwrap();
    let done: dgcm_contracts::Typed<dgcm_contracts::lease::Lease> =
        dgcm_contracts::Typed::parse(&m.contracts, m.lease_of_tx(&tx).await).unwrap();
    assert_eq!(
        hex::encode(&done.v.usage_commitment),
        digest(&manifest),
        "R9"
    );
    let ev: dgcm_worker::evidence::Evidence = serde_json::from_slice(&manifest).unwrap();
    let get = |what: &'static str| {
        let (m, t) = (&m, t.clone());
        async move {
            m.get(&format!("/v1/leases/{}/{what}", m.lease_a), &t)
                .await
                .1
        }
    };
    assert_eq!(ev.log_blake2b256, digest(&get("logs").await));
    assert_eq!(ev.results_blake2b256, Some(digest(&get("results").await)));
    assert_eq!((ev.status.as_str(), ev.exit_code), ("succeeded", Some(0)));
    // The provider rewrites the log and the results after the fact: the renter sees it.
    std::fs::write(jm.log_path(&m.lease_a), b"nothing happened\n").unwrap();
    let tar = jm.job_dir(&m.lease_a).join("results.tar");
    std::fs::write(&tar, b"not the results").unwrap();
    assert_ne!(ev.log_blake2b256, digest(&get("logs").await));
    assert_ne!(ev.results_blake2b256, Some(digest(&get("results").await)));
    m.stop().await;
}

/// A renter turned away because the worker's only GPU was taken is not a no-show: when the
/// worker completes its idle lease before the deadline it claims 0 blocks (before, the no-show
/// rule charged it `no_show_blocks`). The honest twin is the lease that got the GPU, which ran.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_offchain_a_renter_refused_for_want_of_a_gpu_is_not_charged_as_a_no_show() {
    let test = "attack_offchain_a_renter_refused_for_want_of_a_gpu_is_not_charged_as_a_no_show";
    if docker(test).await.is_none() {
        return;
    }
    let mut a = sh("sleep 600");
    a.resources.gpus = Some(1);
    let mut b = sh("echo b");
    b.resources.gpus = Some(1);
    let m = market(a.clone(), b.clone(), |c| c.gpu.count = 1).await;
    let ta = m.token(&m.lease_a, &m.consumer_a).await;
    let (s, v) = m.submit(&m.lease_a, &ta, &a).await;
    assert!((200..300).contains(&s), "{v}");
    let tb = m.token(&m.lease_b, &m.consumer_b).await;
    let (s, v) = m.submit(&m.lease_b, &tb, &b).await;
    assert_eq!((s, v["reason"].as_str()), (409, Some("no_gpu_free")), "{v}");
    // Up to the no-show completion window of lease B.
    let deadline = m
        .worker
        .worker
        .store
        .read(|s| s.leases[&m.lease_b].deadline_height);
    let margin = dgcm_contracts::build::COMPLETION_SLACK as i64; // the tests run with stop_margin_blocks = 0
    let now = m.node.info().await.unwrap().full_height.unwrap() as i64;
    mine(&m.devnet.url(), (deadline - margin - now).max(0) as u32).await;
    let done = m.idle_completion(&m.lease_b).await;
    assert_eq!(done.v.terms.used_blocks, 0, "nothing claimed");
    let j = m.worker.worker.jobs.job(&m.lease_a).unwrap();
    assert_eq!(j.gpu_ids, vec![0], "A holds the GPU");
    m.worker.worker.jobs.stop(&m.lease_a);
    m.stop().await;
}
