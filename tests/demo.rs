//! `dgcm demo --json` as a newcomer runs it: every scenario passes and reports its runtime.

use std::process::Command;

#[test]
fn demo_passes_every_scenario_and_reports_its_runtime() {
    let dir = std::env::temp_dir().join(format!("dgcm-demo-test-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_dgcm"))
        .args(["demo", "--json", "--data-dir"])
        .arg(&dir)
        .output()
        .expect("dgcm runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{stderr}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each stdout line is JSON"))
        .collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    let wp = &lines[0];
    assert_eq!(wp["scenario"], "white-paper");
    assert_eq!(wp["ok"], true);
    assert_eq!(wp["consumer_gpuc_delta"], -1.0);
    assert_eq!(wp["provider_gpuc_delta"], 1.0);
    assert!(["docker", "process"].contains(&wp["runtime"].as_str().unwrap()));
    let md = &lines[1];
    assert_eq!(md["scenario"], "missed-deadline");
    assert_eq!(md["ok"], true);
    assert_eq!(md["consumer_collateral_gain"], 0.5);
    assert!(md["executor_fee_erg"].as_f64().unwrap() > 0.0);
    assert!(md["txs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["step"] == "slash"));
    // v2's no-show rule: a consumer who never submits a job gains nothing (no collateral).
    let ns = &lines[2];
    assert_eq!(ns["scenario"], "no-show");
    assert_eq!(ns["ok"], true, "{ns}");
    assert_eq!(ns["consumer_gpuc_delta"], -1.0, "{ns}");
    assert_eq!(ns["consumer_collateral_gain"], 0.0, "{ns}");
    assert!(ns["txs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["step"] == "complete"));
    let _ = std::fs::remove_dir_all(&dir);
}
