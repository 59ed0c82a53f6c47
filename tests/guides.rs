//! The README's guides, followed literally: every fenced ```sh block whose first line is
//! `# guide: <name>` runs, in README order, as printed, through `bash -e` in one working
//! directory, with the real `dgcm` binary first on `PATH`. Nothing in a block is substituted;
//! only the variables the README itself names are set: `DGCM_NODE` and `DGCM_API_URL` (where the
//! node and the query API are) and the settings' variables that move every service to a free
//! port (`DGCM_DEVNET__LISTEN`, `DGCM_API__LISTEN`, `DGCM_INDEX__METRICS_LISTEN`,
//! `DGCM_INDEX__PG_DIR`/`DGCM_INDEX__PG_PORT`, `DGCM_BOT__METRICS_LISTEN`, `DGCM_WORKER__LISTEN`).
//! `DATABASE_URL` is removed, so `dgcm index` takes the guide's path: its own private cluster.
//! Without a Docker daemon the worker gets the documented process runtime
//! (`DGCM_WORKER__RUNTIME=process`, `DGCM_WORKER__ALLOW_PROCESS_RUNTIME=true`), unless
//! `DGCM_REQUIRE_DOCKER=1`. A block that fails (or outlives its time) fails the test with its
//! output and the services' logs.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The `# guide:` blocks of `markdown`, in order: (name, script).
fn guide_blocks(markdown: &str) -> Vec<(String, String)> {
    let mut out = vec![];
    let mut lines = markdown.lines();
    while let Some(l) = lines.next() {
        if l.trim_end() != "```sh" {
            continue;
        }
        let body: Vec<&str> = lines
            .by_ref()
            .take_while(|l| l.trim_end() != "```")
            .collect();
        if let Some(name) = body.first().and_then(|f| f.strip_prefix("# guide: ")) {
            out.push((name.trim().to_string(), body.join("\n") + "\n"));
        }
    }
    out
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Process groups of the blocks (their background services) and the private cluster: stopped
/// on drop, whatever happened.
struct Services {
    groups: Vec<u32>,
    work: PathBuf,
    pg_port: u16,
}

impl Drop for Services {
    fn drop(&mut self) {
        for sig in ["-TERM", "-KILL"] {
            for g in &self.groups {
                let _ = Command::new("kill")
                    .args([sig, "--", &format!("-{g}")])
                    .stderr(Stdio::null())
                    .status();
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        let pg = self.work.join("pg");
        if pg.join("data").exists() {
            if let Ok(c) = dgcm_indexer::pgcluster::PgCluster::start(&pg, self.pg_port) {
                let _ = c.stop();
            }
        }
        let _ = std::fs::remove_dir_all(&self.work);
    }
}

fn logs(work: &Path) -> String {
    let mut s = String::new();
    for f in [
        "devnet.log",
        "index.log",
        "api.log",
        "worker.log",
        "bot.log",
    ] {
        let text = std::fs::read_to_string(work.join(f)).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(40).collect();
        s.push_str(&format!("--- {f} (last lines)\n"));
        for l in tail.into_iter().rev() {
            s.push_str(l);
            s.push('\n');
        }
    }
    s
}

fn docker_reachable() -> bool {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(10),
            dgcm_worker::runtime::docker::connect(None),
        )
        .await
        .is_ok_and(|r| r.is_ok())
    })
}

fn curl(url: &str) -> String {
    let o = Command::new("curl").args(["-sf", url]).output().unwrap();
    assert!(o.status.success(), "GET {url} failed");
    String::from_utf8_lossy(&o.stdout).to_string()
}

#[test]
fn the_readme_guides_work_when_followed_literally() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let blocks = guide_blocks(&readme);
    let names: Vec<&str> = blocks.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "playground",
            "provider",
            "operator",
            "renter",
            "renter-settle",
            "wallet"
        ],
        "the README's guide blocks"
    );
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_dgcm"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let work = std::env::temp_dir().join(format!("dgcm-guides-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    // As root the private cluster runs as `postgres`, which must reach its directory.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&work, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (node, api) = (free_port(), free_port());
    let mut services = Services {
        groups: vec![],
        work: work.clone(),
        pg_port: free_port(),
    };
    let mut env: Vec<(String, String)> = vec![
        ("PATH".into(), path),
        ("DGCM_NODE".into(), format!("http://127.0.0.1:{node}")),
        ("DGCM_DEVNET__LISTEN".into(), format!("127.0.0.1:{node}")),
        ("DGCM_API_URL".into(), format!("http://127.0.0.1:{api}")),
        ("DGCM_API__LISTEN".into(), format!("127.0.0.1:{api}")),
        (
            "DGCM_INDEX__METRICS_LISTEN".into(),
            format!("127.0.0.1:{}", free_port()),
        ),
        (
            "DGCM_INDEX__PG_DIR".into(),
            work.join("pg").display().to_string(),
        ),
        ("DGCM_INDEX__PG_PORT".into(), services.pg_port.to_string()),
        (
            "DGCM_BOT__METRICS_LISTEN".into(),
            format!("127.0.0.1:{}", free_port()),
        ),
        (
            "DGCM_WORKER__LISTEN".into(),
            format!("127.0.0.1:{}", free_port()),
        ),
    ];
    let runtime = if docker_reachable() {
        "docker"
    } else if std::env::var("DGCM_REQUIRE_DOCKER").is_ok_and(|v| v == "1") {
        panic!("DGCM_REQUIRE_DOCKER=1 but no Docker daemon answers (DOCKER_HOST)");
    } else {
        eprintln!(
            "\n!!!!!!!!!! guides: no Docker daemon; the worker runs with the documented \
             process runtime (DGCM_WORKER__RUNTIME=process) !!!!!!!!!!\n"
        );
        env.push(("DGCM_WORKER__RUNTIME".into(), "process".into()));
        env.push(("DGCM_WORKER__ALLOW_PROCESS_RUNTIME".into(), "true".into()));
        "process"
    };

    for (name, script) in &blocks {
        let t0 = Instant::now();
        let limit = Duration::from_secs(180);
        let mut cmd = Command::new("bash");
        cmd.arg("-e")
            .arg("-c")
            .arg(script)
            .current_dir(&work)
            .env_remove("DATABASE_URL")
            .env_remove("DGCM_CONFIG")
            .env_remove("DGCM_DEPLOYMENT")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::from(
                std::fs::File::create(work.join(format!("guide-{name}.out"))).unwrap(),
            ))
            .stderr(Stdio::from(
                std::fs::File::create(work.join(format!("guide-{name}.err"))).unwrap(),
            ))
            .process_group(0);
        let mut child = cmd.spawn().expect("bash runs");
        services.groups.push(child.id());
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break Some(s);
            }
            if t0.elapsed() > limit {
                let _ = child.kill();
                break None;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let out =
            std::fs::read_to_string(work.join(format!("guide-{name}.out"))).unwrap_or_default();
        let err =
            std::fs::read_to_string(work.join(format!("guide-{name}.err"))).unwrap_or_default();
        match status {
            Some(s) if s.success() => eprintln!(
                "guide block {name:?}: ok in {:.1} s ({runtime} runtime)",
                t0.elapsed().as_secs_f64()
            ),
            other => panic!(
                "guide block {name:?} failed ({}):\n{script}\n--- stdout\n{out}\n--- stderr\n{err}\n{}",
                match other {
                    Some(s) => format!("{s}"),
                    None => format!("still running after {limit:?}"),
                },
                logs(&work)
            ),
        }
    }

    // What the guides promise, checked from outside.
    let devnet_info: serde_json::Value =
        serde_json::from_str(&curl(&format!("http://127.0.0.1:{node}/devnet/info"))).unwrap();
    let alice = devnet_info["wallets"][0].clone();
    let bob = devnet_info["wallets"][1].clone();
    assert_eq!(
        (alice["name"].as_str(), alice["role"].as_str()),
        (Some("alice"), Some("renter"))
    );
    assert_eq!(bob["name"], "bob");
    assert_eq!(devnet_info["wallets"][5]["name"], "operator");
    let alice_addr = alice["address"].as_str().unwrap();
    assert_eq!(
        std::fs::read_to_string(work.join("alice.address"))
            .unwrap()
            .trim(),
        alice_addr,
        "dgcm devnet keys and /devnet/info agree"
    );
    let settled: serde_json::Value = serde_json::from_str(&curl(&format!(
        "http://127.0.0.1:{api}/api/v1/leases?consumer={alice_addr}&state=settled"
    )))
    .unwrap();
    let items = settled["items"].as_array().expect("a page of leases");
    assert_eq!(items.len(), 1, "Alice's lease is settled: {settled}");
    assert_eq!(
        items[0]["provider_address"], bob["address"],
        "Bob's worker served it, and the API writes the devnet's (testnet) addresses"
    );
    let listings: serde_json::Value = serde_json::from_str(&curl(&format!(
        "http://127.0.0.1:{api}/api/v1/listings?model=RTX%204090"
    )))
    .unwrap();
    let l = &listings["items"][0];
    assert_eq!(l["provider_address"], bob["address"], "{listings}");
    assert_eq!(
        l["vram_mib"], 24576,
        "the example's [worker.gpu]: {listings}"
    );
    let eip12: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.join("order.eip12.json")).unwrap())
            .expect("the wallet guide's output is JSON");
    assert!(eip12.to_string().contains("inputs"), "{eip12}");
    drop(services);
}

#[test]
fn guide_blocks_are_found_in_order() {
    let md = "text\n```sh\n# guide: a\necho 1\n```\n```sh\necho skipped\n```\n```toml\n# guide: no\n```\n```sh\n# guide: b\necho 2\n```\n";
    let b = guide_blocks(md);
    assert_eq!(
        b,
        vec![
            ("a".to_string(), "# guide: a\necho 1\n".to_string()),
            ("b".to_string(), "# guide: b\necho 2\n".to_string())
        ]
    );
}
