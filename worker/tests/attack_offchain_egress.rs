//! Issue 23, finding 7: egress jobs behind the worker's egress policy, against the real Docker
//! daemon (`DOCKER_HOST`; skipped loudly without one, failed with `DGCM_REQUIRE_DOCKER=1`).
//!
//! Nothing on the internet is reachable here, so the test builds its own "outside": a network
//! namespace behind a veth pair, routed from the host, whose loopback carries a public address
//! (`198.51.100.7`, allowed), the cloud metadata address (`169.254.169.254`) and a private one
//! (`10.213.9.9`), with an HTTP server on all three. The host itself listens on a TCP port.
//! Every target is first shown reachable without the policy, so a blocked verdict is the policy's.
//! Needs root (network namespaces, iptables) like the daemon itself.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use dgcm_worker::jobs::JobManager;
use dgcm_worker::runtime::egress;
use dgcm_worker::state::JobStatus;

const NS: &str = "dgcm-egress-peer";
const VETH_HOST: &str = "dgcm-eg-h";
const VETH_PEER: &str = "dgcm-eg-p";
const HOST_SIDE: &str = "10.213.0.1";
const PEER_SIDE: &str = "10.213.0.2";
const PUBLIC: &str = "198.51.100.7";
const METADATA: &str = "169.254.169.254";
const PRIVATE: &str = "10.213.9.9";
const PORT: u16 = 18080;

/// The tests share the peer namespace, the routes and the daemon's rules: one at a time.
static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn sh_ok(cmd: &str) -> Result<String, String> {
    let o = Command::new("sh")
        .args(["-c", cmd])
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if o.status.success() {
        Ok(String::from_utf8_lossy(&o.stdout).to_string())
    } else {
        Err(format!(
            "{cmd}: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        ))
    }
}

/// The "outside": a namespace with an HTTP server, routed from the host.
struct Peer {
    httpd: std::process::Child,
    _www: tempfile::TempDir,
}

fn teardown() {
    for a in [PUBLIC, METADATA, PRIVATE] {
        let _ = sh_ok(&format!("ip route del {a}/32 2>/dev/null"));
    }
    let _ = sh_ok(&format!("ip link del {VETH_HOST} 2>/dev/null"));
    let _ = sh_ok(&format!("ip netns del {NS} 2>/dev/null"));
}

impl Peer {
    fn start() -> Result<Peer, String> {
        teardown();
        let www = tempfile::tempdir().map_err(|e| e.to_string())?;
        std::fs::write(www.path().join("ok.txt"), "reached-the-outside\n")
            .map_err(|e| e.to_string())?;
        sh_ok(&format!(
            "set -e; ip netns add {NS}; ip link add {VETH_HOST} type veth peer name {VETH_PEER}; \
             ip link set {VETH_PEER} netns {NS}; ip addr add {HOST_SIDE}/30 dev {VETH_HOST}; \
             ip link set {VETH_HOST} up; ip -n {NS} addr add {PEER_SIDE}/30 dev {VETH_PEER}; \
             ip -n {NS} link set {VETH_PEER} up; ip -n {NS} link set lo up; \
             for a in {PUBLIC} {METADATA} {PRIVATE}; do ip -n {NS} addr add $a/32 dev lo; \
             ip route add $a/32 via {PEER_SIDE}; done; \
             ip -n {NS} route add default via {HOST_SIDE}"
        ))?;
        let busybox = ["/bin/busybox", "/usr/bin/busybox"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .ok_or("no busybox on the host (worker/ci-docker.sh installs busybox-static)")?;
        let httpd = Command::new("ip")
            .args(["netns", "exec", NS, busybox, "httpd", "-f", "-p"])
            .arg(PORT.to_string())
            .arg("-h")
            .arg(www.path())
            .spawn()
            .map_err(|e| format!("httpd: {e}"))?;
        let peer = Peer { httpd, _www: www };
        // The control: every outside address answers the host.
        for a in [PUBLIC, METADATA, PRIVATE] {
            let t0 = Instant::now();
            while std::net::TcpStream::connect_timeout(
                &format!("{a}:{PORT}").parse().unwrap(),
                Duration::from_millis(500),
            )
            .is_err()
            {
                if t0.elapsed() > Duration::from_secs(10) {
                    return Err(format!("the peer's server never answered on {a}:{PORT}"));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(peer)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.httpd.kill();
        let _ = self.httpd.wait();
        teardown();
    }
}

/// The peer, or `None` (skipped loudly; a failure under `DGCM_REQUIRE_DOCKER=1`).
fn peer(test: &str) -> Option<Peer> {
    match Peer::start() {
        Ok(p) => Some(p),
        Err(e) => {
            teardown();
            if std::env::var("DGCM_REQUIRE_DOCKER").is_ok_and(|v| v == "1") {
                panic!("{test}: DGCM_REQUIRE_DOCKER=1 but the test's peer namespace failed: {e}");
            }
            eprintln!("\n!!!!!!!!!! SKIPPED {test}: {e} (needs root and iproute2) !!!!!!!!!!\n");
            None
        }
    }
}

/// A job that tries TCP to each `ip:port` and prints `<ip>:<port> OPEN|BLOCKED`; the HTTP
/// targets print the body too.
fn probe(targets: &[(String, u16)]) -> dgcm_worker::JobSpec {
    let mut script = String::from("cat /proc/net/dev | tail -n +3 | cut -d: -f1; ");
    for (ip, port) in targets {
        script.push_str(&format!(
            "if printf 'GET /ok.txt HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {ip} {port} > /tmp/r 2>/dev/null \
             && [ -s /tmp/r ]; then echo {ip}:{port} OPEN; cat /tmp/r; \
             else echo {ip}:{port} BLOCKED; fi; rm -f /tmp/r; "
        ));
    }
    sh(&script)
}

fn verdict(log: &str, ip: &str, port: u16) -> &'static str {
    if log.contains(&format!("{ip}:{port} OPEN")) {
        "OPEN"
    } else if log.contains(&format!("{ip}:{port} BLOCKED")) {
        "BLOCKED"
    } else {
        "MISSING"
    }
}

/// The daemon, the peer, and a job manager whose jobs have egress on `network`; `None` when the
/// test is skipped.
async fn setup(
    test: &str,
    network: &str,
) -> Option<(bollard::Docker, Peer, tempfile::TempDir, Arc<JobManager>)> {
    let docker = docker(test).await?;
    let peer = peer(test)?;
    let network = network.to_string();
    let (dir, jm) = manager(test, move |c| {
        c.docker.egress = true;
        c.docker.egress_network = network;
    })
    .await?;
    Some((docker, peer, dir, jm))
}

/// A host listener on every address; counts the connections it accepted.
async fn host_listener() -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
    let l = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let n = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = n.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            use tokio::io::AsyncWriteExt;
            let _ = s.write_all(b"host-answered\n").await;
        }
    });
    (port, n)
}

fn jumps(cmd: &str, chain: &str, to: &str) -> usize {
    sh_ok(&format!("{cmd} -w -S {chain}"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.ends_with(&format!("-j {to}")))
        .count()
}

/// An egress job tries the host (the bridge's gateway and the host's address on another link,
/// where a test server listens), the cloud metadata endpoint and a private address: all
/// rejected. Control: with the policy removed the same job reaches every one of them (so the
/// rules are what block). Installing twice leaves one jump per chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_offchain_egress_job_cannot_reach_host_metadata_or_private_ranges() {
    let test = "attack_offchain_egress_job_cannot_reach_host_metadata_or_private_ranges";
    let _g = LOCK.lock().await;
    let network = "dgcm-egress-attack";
    let Some((docker, _peer, _d, jm)) = setup(test, network).await else {
        return;
    };
    let policy = egress::ensure_network(&docker, network).await.unwrap();
    let (port, accepted) = host_listener().await;
    let targets = vec![
        (policy.gateway.clone(), port),
        (HOST_SIDE.to_string(), port),
        (METADATA.to_string(), PORT),
        (PRIVATE.to_string(), PORT),
    ];

    let (j, log) = run(&jm, probe(&targets), 60).await;
    assert_eq!(j.status, JobStatus::Succeeded, "{log}");
    for (ip, p) in &targets {
        assert_eq!(verdict(&log, ip, *p), "BLOCKED", "{ip}:{p}\n{log}");
    }
    assert!(
        !log.contains("reached-the-outside") && !log.contains("host-answered"),
        "{log}"
    );
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 0);

    // The rule set, as iptables shows it.
    let rules = sh_ok(&format!("iptables -w -S {}", policy.forward_chain())).unwrap();
    for cidr in [
        "169.254.0.0/16",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
    ] {
        assert!(
            rules.contains(&format!("-d {cidr} -j REJECT")),
            "{cidr} missing:\n{rules}"
        );
    }
    assert_eq!(jumps("iptables", "DOCKER-USER", &policy.forward_chain()), 1);
    assert_eq!(jumps("iptables", "INPUT", &policy.host_chain()), 1);

    // Control: without the rules the very same job gets through to every target.
    egress::uninstall(&policy);
    let (_, open) = run(&jm, probe(&targets), 60).await;
    for (ip, p) in &targets {
        assert_eq!(verdict(&open, ip, *p), "OPEN", "control {ip}:{p}\n{open}");
    }
    // A restart's refresh: installed twice, one jump each, and the job is blocked again.
    egress::prepare(&docker, network).await.unwrap();
    egress::prepare(&docker, network).await.unwrap();
    assert_eq!(jumps("iptables", "DOCKER-USER", &policy.forward_chain()), 1);
    assert_eq!(jumps("iptables", "INPUT", &policy.host_chain()), 1);
    let (_, again) = run(&jm, probe(&targets), 60).await;
    for (ip, p) in &targets {
        assert_eq!(
            verdict(&again, ip, *p),
            "BLOCKED",
            "refreshed {ip}:{p}\n{again}"
        );
    }
    egress::uninstall(&policy);
    let _ = docker.remove_network(network).await;
}

/// Honest twin: with egress on a job reaches an address outside the blocked ranges (the peer's
/// `198.51.100.7`) and reads the page; with egress off the job has only `lo` and reaches nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_twin_egress_job_reaches_an_allowed_address_and_without_egress_nothing() {
    let test = "honest_twin_egress_job_reaches_an_allowed_address_and_without_egress_nothing";
    let _g = LOCK.lock().await;
    let network = "dgcm-egress-honest";
    let Some((docker, _peer, _d, jm)) = setup(test, network).await else {
        return;
    };
    let target = vec![(PUBLIC.to_string(), PORT)];
    let (j, log) = run(&jm, probe(&target), 60).await;
    assert_eq!(j.status, JobStatus::Succeeded, "{log}");
    assert_eq!(verdict(&log, PUBLIC, PORT), "OPEN", "{log}");
    assert!(log.contains("reached-the-outside"), "{log}");

    let Some((_d2, off)) = manager(test, |_| {}).await else {
        return;
    };
    let (j, log) = run(&off, probe(&target), 60).await;
    assert_eq!(j.status, JobStatus::Succeeded, "{log}");
    assert_eq!(verdict(&log, PUBLIC, PORT), "BLOCKED", "{log}");
    let ifaces: Vec<&str> = log
        .lines()
        .map(str::trim)
        .take_while(|l| !l.contains(' '))
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(ifaces, vec!["lo"], "no network but loopback: {log}");

    let policy = egress::ensure_network(&docker, network).await.unwrap();
    egress::uninstall(&policy);
    let _ = docker.remove_network(network).await;
}
