//! The egress policy: jobs of a listing that offers network egress (`worker.docker.egress`) run
//! on a Docker network the worker creates (`worker.docker.egress_network`, a bridge without
//! inter-container traffic and without IPv6), and the worker installs firewall rules for that
//! network's bridge before any job can run:
//!
//! | traffic from the jobs' bridge to | verdict |
//! |---|---|
//! | the host itself (its bridge gateway and every other host address: `INPUT`) | rejected |
//! | `127/8`, `0/8`, `10/8`, `172.16/12`, `192.168/16`, `169.254/16` (cloud metadata), `100.64/10`, `224/3` (multicast, reserved) | rejected |
//! | the networks the host is directly attached to (its LAN) | rejected |
//! | DNS (port 53) to the host's resolvers in `/etc/resolv.conf` | allowed (name resolution) |
//! | anything over IPv6 | rejected (the network has no IPv6) |
//! | everything else (the internet) | allowed (Docker's own rules: masquerade) |
//!
//! The rules live in chains of their own (`DGCM-EGRESS-<id>` reached from `DOCKER-USER`,
//! `DGCM-HOST-<id>` from `INPUT`, `DGCM-EGRESS6-<id>` from ip6tables' `FORWARD` and `INPUT`; `<id>`
//! is the network's short id): each start flushes and refills them and leaves exactly one jump to
//! each, so a restart refreshes the policy and never stacks duplicates. They stay in place while
//! the worker is stopped (its jobs' containers may outlive it). Installing them needs the
//! `iptables`/`ip6tables` commands, `CAP_NET_ADMIN` in the host's network namespace and a Docker
//! daemon that manages iptables (its `DOCKER-USER` chain); without any of them the worker refuses
//! to start with egress on ([`prepare`]), it never runs egress jobs unfiltered.

use std::collections::HashMap;
use std::process::Output;

use bollard::network::{CreateNetworkOptions, InspectNetworkOptions};
use bollard::Docker;

/// IPv4 destinations no egress job may reach (besides the host's own addresses and LAN).
pub const BLOCKED_V4: &[&str] = &[
    "127.0.0.0/8",
    "0.0.0.0/8",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "169.254.0.0/16",
    "100.64.0.0/10",
    "224.0.0.0/3",
];

/// Label on the network the worker creates.
pub const NETWORK_LABEL: &str = "dgcm.egress";

/// The jobs' network and the rules that guard it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressPolicy {
    /// Docker network name (`worker.docker.egress_network`).
    pub network: String,
    /// The network's id (its first 12 hex characters name the chains).
    pub network_id: String,
    /// The Linux bridge of the network (`br-<short id>` unless the network names its own).
    pub bridge: String,
    /// The network's IPv4 subnet and gateway (the host's address on it).
    pub subnet: String,
    pub gateway: String,
    /// Rejected IPv4 destinations, in rule order ([`BLOCKED_V4`], then the host's LAN).
    pub blocked_v4: Vec<String>,
    /// Resolvers that stay reachable on port 53.
    pub dns: Vec<String>,
}

/// Why the policy could not be installed (the text says what to do).
fn refuse(reason: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!(
        "worker.docker.egress = true, but the worker cannot install its egress policy: {reason}. \
         Without it an egress job would reach the host, the cloud metadata endpoint \
         (169.254.169.254) and private networks, so egress jobs are refused and the worker does \
         not start. Either run the worker as root in the host's network namespace (it needs \
         CAP_NET_ADMIN and the iptables/ip6tables commands; in a container: network_mode host, \
         cap_add NET_ADMIN) beside a Docker daemon that manages iptables (not --iptables=false), \
         or set worker.docker.egress = false (jobs get no network at all)"
    )
}

impl EgressPolicy {
    fn short_id(&self) -> &str {
        &self.network_id[..self.network_id.len().min(12)]
    }
    /// The IPv4 chain reached from `DOCKER-USER` (traffic the host forwards for the jobs).
    pub fn forward_chain(&self) -> String {
        format!("DGCM-EGRESS-{}", self.short_id())
    }
    /// The IPv4 chain reached from `INPUT` (traffic to the host itself).
    pub fn host_chain(&self) -> String {
        format!("DGCM-HOST-{}", self.short_id())
    }
    /// The IPv6 chain (reached from `FORWARD` and `INPUT`).
    pub fn v6_chain(&self) -> String {
        format!("DGCM-EGRESS6-{}", self.short_id())
    }

    /// The rules of the forward chain, as `iptables -A` arguments.
    pub fn forward_rules(&self) -> Vec<Vec<String>> {
        let mut rules = vec![];
        for ns in &self.dns {
            for proto in ["udp", "tcp"] {
                rules.push(args(&[
                    "-d", ns, "-p", proto, "--dport", "53", "-j", "RETURN",
                ]));
            }
        }
        for cidr in &self.blocked_v4 {
            rules.push(args(&["-d", cidr, "-j", "REJECT"]));
        }
        rules.push(args(&["-j", "RETURN"]));
        rules
    }

    /// The rules of the host chain: replies to connections the host opened pass, the rest is
    /// rejected.
    pub fn host_rules(&self) -> Vec<Vec<String>> {
        vec![
            args(&[
                "-m",
                "conntrack",
                "--ctstate",
                "ESTABLISHED,RELATED",
                "-j",
                "RETURN",
            ]),
            args(&["-j", "REJECT"]),
        ]
    }
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// Runs `cmd -w args`.
fn run(cmd: &str, a: &[String]) -> std::io::Result<Output> {
    std::process::Command::new(cmd).arg("-w").args(a).output()
}

fn stderr_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).trim().to_string()
}

/// Runs a command that must succeed; the error says what failed.
fn must(cmd: &str, a: &[String]) -> anyhow::Result<()> {
    let o = run(cmd, a).map_err(|e| refuse(format!("`{cmd}` could not be run ({e})")))?;
    if !o.status.success() {
        return Err(refuse(format!(
            "`{cmd} {}` failed: {}",
            a.join(" "),
            stderr_of(&o)
        )));
    }
    Ok(())
}

/// Checks that `cmd` works here and the chain `chain` exists (a daemon's `DOCKER-USER`).
fn check_chain(cmd: &str, chain: &str) -> anyhow::Result<()> {
    let o = match run(cmd, &args(&["-S", chain])) {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(refuse(format!(
                "no `{cmd}` command on this host (install iptables)"
            )))
        }
        Err(e) => return Err(refuse(format!("`{cmd}` could not be run ({e})"))),
    };
    if o.status.success() {
        return Ok(());
    }
    let err = stderr_of(&o);
    let lower = err.to_lowercase();
    if lower.contains("permission denied") || lower.contains("must be root") {
        Err(refuse(format!(
            "`{cmd} -S {chain}` was refused ({err}): the worker lacks CAP_NET_ADMIN"
        )))
    } else if lower.contains("no chain") || lower.contains("does not exist") {
        Err(refuse(format!(
            "there is no {chain} chain (`{cmd} -S {chain}`: {err}): the Docker daemon does not \
             manage iptables (--iptables=false), or it uses another iptables backend than this \
             host's `{cmd}`"
        )))
    } else {
        Err(refuse(format!("`{cmd} -S {chain}` failed: {err}")))
    }
}

/// Creates `chain` when missing and empties it.
fn fresh_chain(cmd: &str, chain: &str) -> anyhow::Result<()> {
    if !run(cmd, &args(&["-S", chain]))?.status.success() {
        must(cmd, &args(&["-N", chain]))?;
    }
    must(cmd, &args(&["-F", chain]))
}

/// `chain`, created when missing, holding exactly `rules` (`-A` arguments) in order.
fn fill_chain(cmd: &str, chain: &str, rules: Vec<Vec<String>>) -> anyhow::Result<()> {
    fresh_chain(cmd, chain)?;
    for r in rules {
        let mut a = args(&["-A", chain]);
        a.extend(r);
        must(cmd, &a)?;
    }
    Ok(())
}

/// Leaves exactly one `-I from 1 -i bridge -j to` (every older copy removed first).
fn one_jump(cmd: &str, from: &str, bridge: &str, to: &str) -> anyhow::Result<()> {
    let jump = |op: &str| {
        let mut a = args(&[op, from]);
        if op == "-I" {
            a.push("1".into());
        }
        a.extend(args(&["-i", bridge, "-j", to]));
        a
    };
    for _ in 0..100 {
        if !run(cmd, &jump("-D"))?.status.success() {
            break;
        }
    }
    must(cmd, &jump("-I"))
}

/// Removes every jump to `to` from `from`, then the chain itself (missing pieces are fine).
fn drop_chain(cmd: &str, from: &str, bridge: &str, to: &str) {
    for _ in 0..100 {
        match run(cmd, &args(&["-D", from, "-i", bridge, "-j", to])) {
            Ok(o) if o.status.success() => continue,
            _ => break,
        }
    }
    let _ = run(cmd, &args(&["-F", to]));
    let _ = run(cmd, &args(&["-X", to]));
}

/// Whether this host has IPv6 on (then the IPv6 rules are required too).
fn ipv6_enabled() -> bool {
    std::fs::read_to_string("/proc/sys/net/ipv6/conf/all/disable_ipv6")
        .map(|s| s.trim() == "0")
        .unwrap_or(false)
}

/// The IPv4 networks the host is directly attached to (`/proc/net/route` entries without a
/// gateway, the default route left out), as CIDRs.
pub fn connected_v4() -> Vec<String> {
    let Ok(table) = std::fs::read_to_string("/proc/net/route") else {
        return vec![];
    };
    let mut out = vec![];
    for line in table.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 8 {
            continue;
        }
        // Each word is the address's bytes read as a little-endian number.
        let hex = |s: &str| {
            u32::from_str_radix(s, 16)
                .ok()
                .map(|v| u32::from_be_bytes(v.to_le_bytes()))
        };
        let (Some(dest), Some(gw), Some(mask)) = (hex(f[1]), hex(f[2]), hex(f[7])) else {
            continue;
        };
        if gw != 0 || mask == 0 {
            continue;
        }
        let cidr = format!(
            "{}/{}",
            std::net::Ipv4Addr::from(dest & mask),
            mask.leading_ones()
        );
        if !out.contains(&cidr) {
            out.push(cidr);
        }
    }
    out
}

/// The host's IPv4 resolvers (`nameserver` lines of `/etc/resolv.conf`, loopback ones left out:
/// Docker does not hand those to containers).
pub fn resolvers() -> Vec<String> {
    let Ok(conf) = std::fs::read_to_string("/etc/resolv.conf") else {
        return vec![];
    };
    conf.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|a| a.trim().parse::<std::net::Ipv4Addr>().ok())
        .filter(|a| !a.is_loopback())
        .map(|a| a.to_string())
        .collect()
}

/// Creates the jobs' network when missing (a bridge without inter-container traffic or IPv6,
/// labelled [`NETWORK_LABEL`]) and describes it.
pub async fn ensure_network(docker: &Docker, name: &str) -> anyhow::Result<EgressPolicy> {
    let inspect = |d: &Docker| {
        let d = d.clone();
        let name = name.to_string();
        async move {
            d.inspect_network(&name, None::<InspectNetworkOptions<String>>)
                .await
        }
    };
    let net = match inspect(docker).await {
        Ok(n) => n,
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => {
            let mut options = HashMap::new();
            options.insert(
                "com.docker.network.bridge.enable_icc".to_string(),
                "false".to_string(),
            );
            let mut labels = HashMap::new();
            labels.insert(NETWORK_LABEL.to_string(), "1".to_string());
            docker
                .create_network(CreateNetworkOptions {
                    name: name.to_string(),
                    check_duplicate: true,
                    driver: "bridge".to_string(),
                    enable_ipv6: false,
                    options,
                    labels,
                    ..Default::default()
                })
                .await
                .map_err(|e| {
                    anyhow::anyhow!("worker.docker.egress_network: creating {name:?}: {e}")
                })?;
            inspect(docker).await.map_err(|e| {
                anyhow::anyhow!("worker.docker.egress_network: inspecting {name:?}: {e}")
            })?
        }
        Err(e) => anyhow::bail!("worker.docker.egress_network: inspecting {name:?}: {e}"),
    };
    let field = "worker.docker.egress_network";
    if net.driver.as_deref() != Some("bridge") {
        anyhow::bail!(
            "{field}: {name:?} exists with driver {:?}, not bridge; name another network (the \
             worker creates it)",
            net.driver
        );
    }
    if net.enable_ipv6 == Some(true) {
        anyhow::bail!(
            "{field}: {name:?} has IPv6 enabled; the egress policy covers IPv4 only: remove it \
             (the worker creates it) or name another"
        );
    }
    let opts = net.options.clone().unwrap_or_default();
    if opts
        .get("com.docker.network.bridge.enable_icc")
        .map(String::as_str)
        != Some("false")
    {
        anyhow::bail!(
            "{field}: {name:?} lets containers talk to each other (enable_icc is not false): \
             remove it (the worker creates it) or name another"
        );
    }
    let id = net.id.clone().unwrap_or_default();
    if id.len() < 12 {
        anyhow::bail!("{field}: {name:?} has no id in the daemon's answer");
    }
    let bridge = opts
        .get("com.docker.network.bridge.name")
        .cloned()
        .unwrap_or_else(|| format!("br-{}", &id[..12]));
    let ipam = net
        .ipam
        .and_then(|i| i.config)
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.subnet.as_deref().is_some_and(|s| !s.contains(':')));
    let (subnet, gateway) = match ipam {
        Some(c) => (c.subnet.unwrap_or_default(), c.gateway.unwrap_or_default()),
        None => anyhow::bail!("{field}: {name:?} has no IPv4 subnet"),
    };
    let mut blocked_v4: Vec<String> = BLOCKED_V4.iter().map(|s| s.to_string()).collect();
    for c in connected_v4() {
        if !blocked_v4.contains(&c) {
            blocked_v4.push(c);
        }
    }
    Ok(EgressPolicy {
        network: name.to_string(),
        network_id: id,
        bridge,
        subnet,
        gateway,
        blocked_v4,
        dns: resolvers(),
    })
}

/// Installs (or refreshes) the rules of `p`; every failure is an error saying what to do.
pub fn install(p: &EgressPolicy) -> anyhow::Result<()> {
    check_chain("iptables", "DOCKER-USER")?;
    let fwd = p.forward_chain();
    fill_chain("iptables", &fwd, p.forward_rules())?;
    let host = p.host_chain();
    fill_chain("iptables", &host, p.host_rules())?;
    one_jump("iptables", "DOCKER-USER", &p.bridge, &fwd)?;
    one_jump("iptables", "INPUT", &p.bridge, &host)?;
    if ipv6_enabled() {
        check_chain("ip6tables", "INPUT")?;
        let v6 = p.v6_chain();
        fill_chain("ip6tables", &v6, vec![args(&["-j", "REJECT"])])?;
        one_jump("ip6tables", "FORWARD", &p.bridge, &v6)?;
        one_jump("ip6tables", "INPUT", &p.bridge, &v6)?;
    }
    Ok(())
}

/// Removes the rules of `p` (not the network); nothing fails.
pub fn uninstall(p: &EgressPolicy) {
    drop_chain("iptables", "DOCKER-USER", &p.bridge, &p.forward_chain());
    drop_chain("iptables", "INPUT", &p.bridge, &p.host_chain());
    drop_chain("ip6tables", "FORWARD", &p.bridge, &p.v6_chain());
    drop_chain("ip6tables", "INPUT", &p.bridge, &p.v6_chain());
}

/// The jobs' network of `name`, created when missing, with its policy installed: what the worker
/// does at start when `worker.docker.egress` is on.
pub async fn prepare(docker: &Docker, name: &str) -> anyhow::Result<EgressPolicy> {
    let p = ensure_network(docker, name).await?;
    let q = p.clone();
    tokio::task::spawn_blocking(move || install(&q))
        .await
        .map_err(|e| refuse(format!("the installing task failed ({e})")))??;
    tracing::info!(
        network = %p.network,
        bridge = %p.bridge,
        subnet = %p.subnet,
        blocked = %p.blocked_v4.join(","),
        "egress policy installed: jobs reach the internet, not the host, link-local or private \
         ranges"
    );
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> EgressPolicy {
        EgressPolicy {
            network: "dgcm-egress".into(),
            network_id: "0123456789abcdef".into(),
            bridge: "br-0123456789ab".into(),
            subnet: "172.18.0.0/16".into(),
            gateway: "172.18.0.1".into(),
            blocked_v4: BLOCKED_V4.iter().map(|s| s.to_string()).collect(),
            dns: vec!["10.255.255.53".into()],
        }
    }

    #[test]
    fn the_rules_allow_dns_then_reject_private_ranges_then_return() {
        let p = policy();
        assert_eq!(p.forward_chain(), "DGCM-EGRESS-0123456789ab");
        assert!(p.forward_chain().len() <= 28 && p.v6_chain().len() <= 28);
        let r = p.forward_rules();
        assert_eq!(
            r[0].join(" "),
            "-d 10.255.255.53 -p udp --dport 53 -j RETURN"
        );
        assert_eq!(r[2].join(" "), "-d 127.0.0.0/8 -j REJECT");
        for must in [
            "169.254.0.0/16",
            "10.0.0.0/8",
            "172.16.0.0/12",
            "100.64.0.0/10",
        ] {
            assert!(r
                .iter()
                .any(|x| x.join(" ") == format!("-d {must} -j REJECT")));
        }
        assert_eq!(r.last().unwrap().join(" "), "-j RETURN");
        assert_eq!(p.host_rules().last().unwrap().join(" "), "-j REJECT");
    }

    #[test]
    fn a_policy_that_cannot_be_installed_is_refused_naming_the_setting() {
        let e = format!(
            "{:#}",
            check_chain("/nonexistent/iptables", "DOCKER-USER").unwrap_err()
        );
        assert!(e.starts_with("worker.docker.egress = true"), "{e}");
        assert!(e.contains("no `/nonexistent/iptables` command"), "{e}");
        assert!(e.contains("set worker.docker.egress = false"), "{e}");
        // A daemon without iptables management has no DOCKER-USER: the same as a missing chain
        // (checked where iptables runs, i.e. as root with the command present).
        if let Err(e) = check_chain("iptables", "DGCM-NO-SUCH-CHAIN") {
            let e = format!("{e:#}");
            assert!(e.starts_with("worker.docker.egress = true"), "{e}");
            assert!(
                e.contains("--iptables=false")
                    || e.contains("CAP_NET_ADMIN")
                    || e.contains("no `iptables` command"),
                "{e}"
            );
        } else {
            panic!("a missing chain was accepted");
        }
    }

    #[test]
    fn connected_networks_are_cidrs_without_the_default_route() {
        for c in connected_v4() {
            let (a, m) = c.split_once('/').unwrap();
            a.parse::<std::net::Ipv4Addr>().unwrap();
            let m: u32 = m.parse().unwrap();
            assert!(m > 0 && m <= 32, "{c}");
        }
    }
}
