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
