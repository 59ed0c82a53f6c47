//! docker/: the compose file, the Kubernetes manifests and the monitoring provisioning parse, and
//! every command they give the `dgcm` image is one the real binary accepts: each is run as
//! `dgcm <command...> --help`, so clap checks the subcommands, their values and every flag
//! (an unknown subcommand, value or flag is an error before help is printed).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const DGCM: &str = env!("CARGO_BIN_EXE_dgcm");

fn docker(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docker")
        .join(rel)
}

fn read(rel: &str) -> String {
    let p = docker(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// One YAML document (merge keys `<<` applied) as JSON.
fn yaml(rel: &str) -> Value {
    let mut v: serde_norway::Value =
        serde_norway::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    v.apply_merge()
        .unwrap_or_else(|e| panic!("{rel}: merge keys: {e}"));
    serde_json::to_value(v).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every document of a multi-document YAML file.
fn yaml_docs(rel: &str) -> Vec<Value> {
    use serde::Deserialize;
    let text = read(rel);
    let mut out = vec![];
    for doc in serde_norway::Deserializer::from_str(&text) {
        let mut v = serde_norway::Value::deserialize(doc).unwrap_or_else(|e| panic!("{rel}: {e}"));
        if v.is_null() {
            continue;
        }
        v.apply_merge().unwrap_or_else(|e| panic!("{rel}: {e}"));
        out.push(serde_json::to_value(v).unwrap_or_else(|e| panic!("{rel}: {e}")));
    }
    out
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| match x {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `dgcm <args> --help` must succeed: clap rejects an unknown subcommand, a value outside a
/// subcommand's possible values, or an unknown flag before it prints help. Returns the error.
fn check_command(what: &str, args: &[String]) -> Result<(), String> {
    if args.is_empty() || args[0].starts_with('-') {
        return Err(format!(
            "{what}: the command must start with a dgcm subcommand: {args:?}"
        ));
    }
    // The subcommand chain first, for a clear message.
    let top = Command::new(DGCM)
        .arg("--help")
        .output()
        .map_err(|e| format!("{DGCM}: {e}"))?;
    let top = String::from_utf8_lossy(&top.stdout).to_string();
    let listed = subcommands(&top).contains(&args[0]);
    if !listed {
        return Err(format!(
            "{what}: `dgcm {}` is not a subcommand of this binary (dgcm --help lists: {})",
            args[0],
            subcommands(&top).join(", ")
        ));
    }
    let out = Command::new(DGCM)
        .args(args)
        .arg("--help")
        .env_remove("DGCM_CONFIG")
        .output()
        .map_err(|e| format!("{DGCM}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what}: `dgcm {} --help` fails: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in args.iter().filter(|a| a.starts_with("--")) {
        let name = flag.split('=').next().unwrap_or(flag);
        if !help.contains(name) {
            return Err(format!(
                "{what}: flag {name} is not in the help of `dgcm {}`",
                args.join(" ")
            ));
        }
    }
    Ok(())
}

/// The subcommand names of a clap help text (the `Commands:` section).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|w| w != "help")
        .collect()
}

fn is_dgcm_image(image: &str) -> bool {
    let name = image.rsplit('/').next().unwrap_or(image);
    name.starts_with("dgcm:") || name == "dgcm" || name.starts_with("${DGCM_IMAGE")
}

/// `KEY=VALUE` lines of an env file.
fn env_file(rel: &str) -> BTreeMap<String, String> {
    read(rel)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// Every `dgcm` command of the compose file, by service.
fn compose_commands(compose: &Value) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for (name, svc) in compose["services"].as_object().expect("services") {
        let image = svc["image"].as_str().unwrap_or_default();
        if is_dgcm_image(image) || svc.get("build").is_some() {
            out.insert(name.clone(), strings(&svc["command"]));
        }
    }
    out
}

/// Every `dgcm` container's args in the Kubernetes manifests, by `file/kind/name/container`.
fn k8s_commands(docs: &[(String, Value)]) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for (file, d) in docs {
        let spec = &d["spec"]["template"]["spec"];
        for c in spec["containers"].as_array().into_iter().flatten() {
            if is_dgcm_image(c["image"].as_str().unwrap_or_default()) {
                let key = format!(
                    "{file}/{}/{}/{}",
                    d["kind"].as_str().unwrap_or("?"),
                    d["metadata"]["name"].as_str().unwrap_or("?"),
                    c["name"].as_str().unwrap_or("?")
                );
                out.insert(key, strings(&c["args"]));
            }
        }
    }
    out
}

fn k8s_docs() -> Vec<(String, Value)> {
    let mut files: Vec<String> = std::fs::read_dir(docker("k8s"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|f| f.ends_with(".yaml") || f.ends_with(".yml"))
        .collect();
    files.sort();
    let mut out = vec![];
    for f in files {
        for d in yaml_docs(&format!("k8s/{f}")) {
            out.push((f.clone(), d));
        }
    }
    out
}

#[test]
fn every_dgcm_command_in_compose_and_kubernetes_is_a_real_subcommand() {
    let compose = yaml("compose.yml");
    let k8s = k8s_docs();
    let mut commands: Vec<(String, Vec<String>)> = compose_commands(&compose)
        .into_iter()
        .map(|(k, v)| (format!("compose.yml/services/{k}"), v))
        .collect();
    commands.extend(
        k8s_commands(&k8s)
            .into_iter()
            .map(|(k, v)| (format!("k8s/{k}"), v)),
    );
    assert!(commands.len() >= 10, "{commands:?}");
    let used: BTreeSet<String> = commands.iter().map(|(_, c)| c[0].clone()).collect();
    eprintln!("dgcm subcommands used by docker/: {used:?}");
    let failures: Vec<String> = commands
        .iter()
        .filter_map(|(what, args)| check_command(what, args).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} command(s) the binary does not accept:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_checker_refuses_what_the_binary_refuses() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert!(check_command("t", &s(&["index", "--node", "http://node:9053"])).is_ok());
    let e = check_command("t", &s(&["no-such-service"])).unwrap_err();
    assert!(e.contains("not a subcommand"), "{e}");
    let e = check_command("t", &s(&["index", "--no-such-flag", "x"])).unwrap_err();
    assert!(e.contains("fails"), "{e}");
    let e = check_command("t", &s(&["api", "--listen", "not-an-address"])).unwrap_err();
    assert!(e.contains("fails"), "{e}");
    let e = check_command("t", &s(&["--log", "info"])).unwrap_err();
    assert!(e.contains("must start with a dgcm subcommand"), "{e}");
}

#[test]
fn compose_file_has_the_stack_profiles_mounts_and_secrets() {
    let c = yaml("compose.yml");
    let services = c["services"].as_object().unwrap();
    for s in [
        "node",
        "devnet",
        "deploy-vault",
        "postgres",
        "index",
        "api",
        "bots",
        "worker",
        "prometheus",
        "grafana",
    ] {
        assert!(services.contains_key(s), "service {s}");
    }
    let profiles = |s: &str| strings(&services[s]["profiles"]);
    assert_eq!(profiles("node"), ["mainnet"]);
    assert_eq!(profiles("devnet"), ["devnet"]);
    assert_eq!(profiles("deploy-vault"), ["devnet"]);
    assert_eq!(profiles("worker"), ["gpu"]);
    for always in ["postgres", "index", "api", "bots", "prometheus", "grafana"] {
        assert!(
            profiles(always).is_empty(),
            "{always} runs in every profile"
        );
    }
    // the devnet answers as `node`, so the services' node URL is the same in both profiles
    let aliases = strings(&services["devnet"]["networks"]["default"]["aliases"]);
    assert_eq!(aliases, ["node"]);
    for (name, cmd) in compose_commands(&c) {
        if let Some(i) = cmd.iter().position(|a| a == "--node") {
            assert_eq!(cmd[i + 1], "http://node:9053", "{name}");
        }
    }
    // the worker: NVIDIA runtime and a GPU reservation, the host's Docker socket
    let w = &services["worker"];
    assert_eq!(w["runtime"], "nvidia");
    let dev = &w["deploy"]["resources"]["reservations"]["devices"][0];
    assert_eq!(dev["driver"], "nvidia");
    assert!(strings(&dev["capabilities"]).contains(&"gpu".to_string()));
    assert!(strings(&w["volumes"])
        .iter()
        .any(|v| v.starts_with("/var/run/docker.sock:")));
    // every DGCM service gets the settings file it is pointed at
    for (name, svc) in services {
        if svc["environment"]["DGCM_CONFIG"].is_string() {
            assert!(
                strings(&svc["volumes"])
                    .iter()
                    .any(|v| v.contains(":/etc/dgcm/dgcm.toml")),
                "{name} reads DGCM_CONFIG but does not mount it"
            );
        }
    }
    // bind-mounted files exist; secrets are declared
    let declared: BTreeSet<String> = c["secrets"].as_object().unwrap().keys().cloned().collect();
    for (name, svc) in services {
        for v in strings(&svc["volumes"]) {
            if let Some(rel) = v.strip_prefix("./") {
                let host = rel.split(':').next().unwrap();
                assert!(docker(host).exists(), "{name}: ./{host} is missing");
            }
        }
        for s in strings(&svc["secrets"]) {
            assert!(declared.contains(&s), "{name}: secret {s} is not declared");
        }
    }
    // the devnet profile's env file names real key files for every declared secret
    let env = env_file("devnet.env");
    assert_eq!(env["COMPOSE_PROFILES"], "devnet");
    let dir = env["DGCM_SECRETS_DIR"].trim_start_matches("./").to_string();
    for (name, s) in c["secrets"].as_object().unwrap() {
        let file = s["file"].as_str().unwrap();
        let base = file.rsplit('/').next().unwrap();
        assert!(
            docker(&format!("{dir}/{base}")).exists(),
            "secret {name}: {dir}/{base} missing for the devnet profile"
        );
    }
    for k in [
        "POSTGRES_PASSWORD",
        "GRAFANA_ADMIN_PASSWORD",
        "DGCM_NETWORK",
    ] {
        assert!(env.contains_key(k), "devnet.env sets {k}");
        assert!(
            env_file("mainnet.env.example").contains_key(k),
            "mainnet.env.example sets {k}"
        );
    }
}

#[test]
fn devnet_keys_are_the_genesis_test_wallets() {
    for (file, wallet) in [("deployer.key", 7), ("bots.key", 6), ("provider.key", 5)] {
        assert_eq!(
            read(&format!("devnet/keys/{file}")).trim(),
            dgcm_devnet::genesis::test_wallet(wallet).secret_hex,
            "{file}"
        );
    }
}

#[test]
fn settings_file_is_toml() {
    let p = docker("config/dgcm.toml");
    config::Config::builder()
        .add_source(config::File::from(p.as_path()).format(config::FileFormat::Toml))
        .build()
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
}

#[test]
fn prometheus_scrapes_what_the_services_listen_on() {
    let c = yaml("compose.yml");
    let cmds = compose_commands(&c);
    let listen_port = |svc: &str| -> String {
        let cmd = &cmds[svc];
        let i = cmd
            .iter()
            .position(|a| a == "--listen" || a == "--metrics-listen")
            .unwrap_or_else(|| panic!("{svc} has no listen flag: {cmd:?}"));
        cmd[i + 1].rsplit(':').next().unwrap().to_string()
    };
    let p = yaml("prometheus/prometheus.yml");
    let mut jobs = BTreeMap::new();
    for job in p["scrape_configs"].as_array().unwrap() {
        let name = job["job_name"].as_str().unwrap().to_string();
        let target = if let Some(t) = job["static_configs"][0]["targets"][0].as_str() {
            t.to_string()
        } else {
            let sd = &job["dns_sd_configs"][0];
            format!("{}:{}", sd["names"][0].as_str().unwrap(), sd["port"])
        };
        jobs.insert(name, target);
    }
    for (job, svc) in [
        ("dgcm-index", "index"),
        ("dgcm-api", "api"),
        ("dgcm-bots", "bots"),
        ("dgcm-worker", "worker"),
    ] {
        assert_eq!(
            jobs[job],
            format!("{svc}:{}", listen_port(svc)),
            "scrape target of {job}"
        );
    }
}

#[test]
fn grafana_provisions_the_three_dashboards() {
    let ds = yaml("grafana/provisioning/datasources/prometheus.yml");
    let uid = ds["datasources"][0]["uid"].as_str().unwrap().to_string();
    assert_eq!(ds["datasources"][0]["url"], "http://prometheus:9090");
    let prov = yaml("grafana/provisioning/dashboards/dgcm.yml");
    assert_eq!(
        prov["providers"][0]["options"]["path"],
        "/var/lib/grafana/dashboards"
    );
    // Where each family of metric names is registered (prometheus-client: counters get
    // `_total`, a registry prefix is joined with `_`).
    let sources: [(&str, &str, &str); 4] = [
        ("indexer_", "indexer/src/indexer.rs", "indexer_"),
        ("bot_", "bots/src/metrics.rs", "bot_"),
        ("dgcm_worker_", "worker/src/metering.rs", ""),
        ("dgcm_api_", "api/src/metrics.rs", ""),
    ];
    let src = |rel: &str| {
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel))
            .unwrap_or_else(|e| panic!("{rel}: {e}"))
    };
    let mut uids = BTreeSet::new();
    for (file, must_query) in [
        ("indexer.json", "indexer_lag_blocks"),
        ("bots.json", "bot_fees_earned_nanoerg_total"),
        ("gpu.json", "dgcm_worker_gpu_utilization_percent"),
    ] {
        let d: Value = serde_json::from_str(&read(&format!("grafana/dashboards/{file}")))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(
            uids.insert(d["uid"].as_str().unwrap().to_string()),
            "{file}: uid"
        );
        let panels = d["panels"].as_array().unwrap();
        assert!(!panels.is_empty());
        let mut exprs = vec![];
        for p in panels {
            assert_eq!(
                p["datasource"]["uid"],
                uid.as_str(),
                "{file}: {}",
                p["title"]
            );
            for t in p["targets"].as_array().unwrap() {
                exprs.push(t["expr"].as_str().unwrap().to_string());
            }
        }
        assert!(
            exprs.iter().any(|e| e.contains(must_query)),
            "{file} queries {must_query}"
        );
        // every metric a dashboard queries is one a service registers
        for e in &exprs {
            for word in e.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
                let Some((prefix, rel, keep)) =
                    sources.iter().find(|(p, _, _)| word.starts_with(p))
                else {
                    continue;
                };
                let base = word.strip_suffix("_total").unwrap_or(word);
                let registered = format!("{keep}{}", &base[prefix.len()..]);
                assert!(
                    src(rel).contains(&format!("\"{registered}\"")),
                    "{file}: {word} is not registered in {rel} (as {registered:?})"
                );
            }
        }
    }
}

#[test]
fn kubernetes_manifests_scale_the_api_keep_one_indexer_and_put_workers_on_gpus() {
    let docs = k8s_docs();
    let find = |kind: &str, name: &str| -> &Value {
        &docs
            .iter()
            .find(|(_, d)| d["kind"] == kind && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{kind}/{name} missing"))
            .1
    };
    for (_, d) in &docs {
        assert!(d["apiVersion"].is_string() && d["kind"].is_string(), "{d}");
        if d["kind"] != "Kustomization" {
            assert!(d["metadata"]["name"].is_string(), "{d}");
        }
    }
    let api = find("Deployment", "dgcm-api");
    assert!(api["spec"]["replicas"].as_u64().unwrap() >= 2);
    let hpa = find("HorizontalPodAutoscaler", "dgcm-api");
    assert_eq!(hpa["spec"]["scaleTargetRef"]["kind"], "Deployment");
    assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], "dgcm-api");
    assert!(hpa["spec"]["maxReplicas"].as_u64() > hpa["spec"]["minReplicas"].as_u64());

    let idx = find("Deployment", "dgcm-indexer");
    assert_eq!(idx["spec"]["replicas"], 1, "one writer");
    assert_eq!(
        idx["spec"]["strategy"]["type"], "Recreate",
        "never two writers"
    );
    let bots = find("Deployment", "dgcm-bots");
    assert_eq!(bots["spec"]["replicas"], 1);

    let w = find("DaemonSet", "dgcm-worker");
    let spec = &w["spec"]["template"]["spec"];
    assert_eq!(spec["runtimeClassName"], "nvidia");
    assert!(spec["nodeSelector"]
        .as_object()
        .is_some_and(|m| !m.is_empty()));
    assert!(spec["tolerations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["key"] == "nvidia.com/gpu"));

    // selectors match their pods; referenced ConfigMaps exist; referenced Secrets are documented
    let configmaps: BTreeSet<&str> = docs
        .iter()
        .filter(|(_, d)| d["kind"] == "ConfigMap")
        .map(|(_, d)| d["metadata"]["name"].as_str().unwrap())
        .collect();
    let secrets_doc = read("k8s/secrets.yaml");
    for (file, d) in &docs {
        let t = &d["spec"]["template"];
        if t.is_null() {
            continue;
        }
        let sel = d["spec"]["selector"]["matchLabels"].as_object().unwrap();
        for (k, v) in sel {
            assert_eq!(&t["metadata"]["labels"][k], v, "{file}: selector {k}");
        }
        let text = t.to_string();
        let names_after = |key: &str| -> Vec<String> {
            text.split(key)
                .skip(1)
                .filter_map(|part| {
                    let rest = part.split("\"name\":\"").nth(1)?;
                    rest.split('"').next().map(str::to_string)
                })
                .collect()
        };
        for key in ["\"configMapRef\":", "\"configMap\":"] {
            for name in names_after(key) {
                assert!(
                    configmaps.contains(name.as_str()),
                    "{file}: ConfigMap {name}"
                );
            }
        }
        let mut secret_names = names_after("\"secretKeyRef\":");
        secret_names.extend(
            text.split("\"secretName\":\"")
                .skip(1)
                .filter_map(|p| p.split('"').next().map(str::to_string)),
        );
        for name in secret_names {
            assert!(
                secrets_doc.contains(&name),
                "{file}: Secret {name} is not documented in secrets.yaml"
            );
        }
    }

    // kustomization lists every manifest (secrets.yaml only documents)
    let k = yaml("k8s/kustomization.yaml");
    let listed: BTreeSet<String> = strings(&k["resources"]).into_iter().collect();
    let files: BTreeSet<String> = docs
        .iter()
        .map(|(f, _)| f.clone())
        .filter(|f| f != "kustomization.yaml" && f != "secrets.yaml")
        .collect();
    assert_eq!(listed, files);
}

/// Every DGCM container told where the deployment file is (`DGCM_DEPLOYMENT`, or a path given to
/// `--protocol` / `--deployment`) mounts the directory that holds it, in compose and on
/// Kubernetes; the indexer, API, bots and worker are all given it.
#[test]
fn every_service_given_the_deployment_file_mounts_it() {
    const DIR: &str = "/etc/dgcm/deployment";
    let mounts_dir = |v: &str| v.ends_with(&format!(":{DIR}")) || v.contains(&format!(":{DIR}:"));

    let c = yaml("compose.yml");
    let mut given = BTreeSet::new();
    for (name, svc) in c["services"].as_object().unwrap() {
        let cmd = strings(&svc["command"]);
        let from_flag = cmd
            .windows(2)
            .find(|w| w[0] == "--protocol" || w[0] == "--deployment")
            .map(|w| w[1].clone())
            .filter(|p| p.starts_with('/'));
        let from_env = svc["environment"]["DGCM_DEPLOYMENT"]
            .as_str()
            .map(str::to_string);
        for path in from_flag.into_iter().chain(from_env) {
            assert!(
                path.starts_with(&format!("{DIR}/")),
                "compose {name}: {path} is not under {DIR}"
            );
            assert!(
                strings(&svc["volumes"]).iter().any(|v| mounts_dir(v)),
                "compose {name}: reads {path} but does not mount {DIR}"
            );
            given.insert(name.clone());
        }
    }
    for s in ["index", "api", "bots", "worker"] {
        assert!(
            given.contains(s),
            "compose: {s} is not given the deployment file"
        );
    }

    let docs = k8s_docs();
    let env = &docs
        .iter()
        .find(|(_, d)| d["kind"] == "ConfigMap" && d["metadata"]["name"] == "dgcm-env")
        .expect("ConfigMap dgcm-env")
        .1["data"];
    let path = env["DGCM_DEPLOYMENT"]
        .as_str()
        .expect("dgcm-env sets DGCM_DEPLOYMENT");
    assert!(path.starts_with(&format!("{DIR}/")), "dgcm-env: {path}");
    let mut given = BTreeSet::new();
    for (file, d) in &docs {
        let spec = &d["spec"]["template"]["spec"];
        for ctr in spec["containers"].as_array().into_iter().flatten() {
            if !is_dgcm_image(ctr["image"].as_str().unwrap_or_default()) {
                continue;
            }
            let gets_env = ctr["envFrom"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|e| e["configMapRef"]["name"] == "dgcm-env");
            if !gets_env {
                continue;
            }
            let mount = ctr["volumeMounts"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|m| m["mountPath"] == DIR)
                .unwrap_or_else(|| panic!("{file}: gets DGCM_DEPLOYMENT but does not mount {DIR}"));
            let volume = spec["volumes"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|v| v["name"] == mount["name"])
                .unwrap_or_else(|| panic!("{file}: volume {} missing", mount["name"]));
            assert_eq!(
                volume["configMap"]["name"], "dgcm-deployment",
                "{file}: {DIR} is the dgcm-deployment ConfigMap"
            );
            given.insert(file.clone());
        }
    }
    for f in ["indexer.yaml", "api.yaml", "bots.yaml", "worker.yaml"] {
        assert!(
            given.contains(f),
            "k8s/{f} is not given the deployment file"
        );
    }
}
