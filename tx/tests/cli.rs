//! `dgcm tx` as the command line runs it: flags parsed by clap, EIP-12 output for wallets,
//! `--key --submit` signing and submitting, and refusals that name the flag and submit nothing.

mod common;

use clap::Parser;
use dgcm_tx::{run, TxArgs};
use ergo_lib::chain::transaction::unsigned::UnsignedTransaction;
use ergo_lib::ergotree_ir::chain::ergo_box::ErgoBox;
use ergo_lib::wallet::secret_key::SecretKey;
use serde_json::Value;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    tx: TxArgs,
}

fn args(v: &[&str]) -> TxArgs {
    match Cli::try_parse_from(std::iter::once("tx").chain(v.iter().copied())) {
        Ok(c) => c.tx,
        Err(e) => panic!("{v:?}: {e}"),
    }
}

fn addr(i: usize) -> String {
    dgcm_devnet::genesis::test_wallet(i)
        .encoded_address(ergo_lib::ergotree_ir::chain::address::NetworkPrefix::Testnet)
}

/// Checks the EIP-12 shape: full input boxes (with extensions) that are unspent on the node.
async fn check_eip12(net: &common::Net, j: &Value, protocol_inputs: usize) {
    let inputs = j["inputs"].as_array().expect("inputs");
    assert!(inputs.len() > protocol_inputs, "{j}");
    for (i, b) in inputs.iter().enumerate() {
        for k in [
            "boxId",
            "value",
            "ergoTree",
            "creationHeight",
            "assets",
            "additionalRegisters",
            "transactionId",
            "index",
            "extension",
        ] {
            assert!(b.get(k).is_some(), "input {i} lacks {k}: {b}");
        }
        assert!(b["value"].is_string(), "amounts as strings");
        let id = dgcm_tx::input::box_id("box", b["boxId"].as_str().unwrap()).unwrap();
        let on_node = net.node.unspent_box_with_pool(&id).await.unwrap();
        let on_node = on_node.expect("the input is unspent on the node");
        let parsed: ErgoBox = serde_json::from_value(b.clone()).expect("a box");
        assert_eq!(parsed, on_node, "the full box, as on the node");
        let ext = b["extension"].as_object().unwrap();
        if i < protocol_inputs {
            assert!(
                ext.contains_key("0"),
                "path selector on protocol input {i}: {b}"
            );
        } else {
            assert!(ext.is_empty(), "funding input {i} has no extension");
        }
    }
    assert!(j["dataInputs"].is_array());
    let outs = j["outputs"].as_array().unwrap();
    assert!(outs
        .iter()
        .all(|o| o["value"].is_string() && o["ergoTree"].is_string()));
}

#[tokio::test]
async fn eip12_output_has_full_inputs_and_submits_nothing() {
    let net = common::net().await;
    let dep = net.deployment_file();
    let dep = dep.to_str().unwrap();
    let (alice, bob) = (net.wallet(0), net.wallet(1));
    alice.deposit_sigusd_for_gpuc(2000, 10_000).await.unwrap();
    bob.deposit_sigusd_for_gpuc(1000, 5_000).await.unwrap();
    net.mine(1).await;
    let order = alice
        .place_order(dgcm_tx::OrderSpec {
            job_spec_hash: vec![1; 32],
            ..Default::default()
        })
        .await
        .unwrap()
        .box_id
        .unwrap();
    net.mine(1).await;
    let height = net.height().await;
    let a = addr(0);
    let b = addr(1);
    let d = addr(3);
    let hash = "ab".repeat(32);
    let cases: Vec<(Vec<&str>, usize)> = vec![
        (vec!["join", "--sigusd", "20", "--address", &d], 1),
        (vec!["withdraw-credit", "--gpuc", "1", "--address", &a], 2),
        (vec!["top-up", "--sigusd", "1.5", "--address", &a], 1),
        (
            vec![
                "list",
                "--price",
                "1",
                "--collateral",
                "0.5",
                "--model",
                "RTX 4090",
                "--region",
                "eu-west",
                "--endpoint",
                "https://bob.example:8443",
                "--address",
                &b,
            ],
            0,
        ),
        (
            vec![
                "place-order",
                "--max-price",
                "1",
                "--hours",
                "1",
                "--job-spec-hash",
                &hash,
                "--address",
                &a,
            ],
            0,
        ),
        (vec!["cancel-order", "--order", &order, "--address", &a], 1),
    ];
    for (mut v, protocol_inputs) in cases {
        v.extend(["--deployment", dep]);
        let j = run(args(&v), &net.url)
            .await
            .unwrap_or_else(|e| panic!("{v:?}: {e:#}"));
        check_eip12(&net, &j, protocol_inputs).await;
    }
    assert_eq!(net.mempool_len().await, 0, "EIP-12 output submits nothing");
    assert_eq!(net.height().await, height);

    // What a wallet does with the output: read the transaction and the input boxes, sign, submit.
    let j = run(
        args(&[
            "cancel-order",
            "--order",
            &order,
            "--address",
            &a,
            "--deployment",
            dep,
        ]),
        &net.url,
    )
    .await
    .unwrap();
    let unsigned: UnsignedTransaction = serde_json::from_value(j.clone()).expect("EIP-12 parses");
    let boxes: Vec<ErgoBox> = j["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| serde_json::from_value(b.clone()).unwrap())
        .collect();
    let secret = hex::decode(dgcm_devnet::genesis::test_wallet(0).secret_hex).unwrap();
    let secret = SecretKey::dlog_from_bytes(&secret.try_into().unwrap()).unwrap();
    let ctx = net.node.state_context().await.unwrap();
    let signed = ergo_lib::wallet::Wallet::from_secrets(vec![secret])
        .sign_transaction(
            ergo_lib::wallet::tx_context::TransactionContext::new(unsigned, boxes, vec![]).unwrap(),
            &ctx,
            None,
        )
        .expect("a wallet signs it");
    net.node
        .submit_transaction(&signed)
        .await
        .expect("the node accepts it");
    net.mine(1).await;
    assert_eq!(net.mempool_len().await, 0);
    let o = dgcm_tx::input::box_id("order", &order).unwrap();
    assert!(
        net.node.unspent_box(&o).await.unwrap().is_none(),
        "order cancelled"
    );
    let height = net.height().await;

    // the withdrawal names the oracle pool box as a data input (the balance goes negative)
    let j = run(
        args(&[
            "withdraw",
            "--gpuc",
            "1",
            "--address",
            &a,
            "--deployment",
            dep,
        ]),
        &net.url,
    )
    .await
    .unwrap();
    assert_eq!(j["dataInputs"].as_array().unwrap().len(), 1);
    assert_eq!(net.mempool_len().await, 0, "EIP-12 output submits nothing");
    assert_eq!(net.height().await, height);
    net.stop().await;
}

#[tokio::test]
async fn key_files_sign_and_submit_and_deploy_vault_writes_the_deployment() {
    let (devnet, url, node) = common::bare().await;
    let dir = common::temp_path("x");
    let key = |i: usize| {
        let p = dir.with_file_name(format!("key{i}"));
        std::fs::write(&p, dgcm_devnet::genesis::test_wallet(i).secret_hex).unwrap();
        p.to_str().unwrap().to_string()
    };
    let (k7, k0) = (key(7), key(0));
    let out = dir.with_file_name("deployment.json");
    let out = out.to_str().unwrap();
    let j = run(
        args(&["deploy-vault", "--key", &k7, "--submit", "--out", out]),
        &url,
    )
    .await
    .unwrap();
    assert_eq!(j["tx_ids"].as_array().unwrap().len(), 3, "{j}");
    common::mine(&url, 1).await;
    let d = dgcm_tx::Deployment::load(std::path::Path::new(out)).unwrap();
    assert_eq!(j["deployment"], d.to_json());
    // a restarted deployment job reuses the live vault
    let again = run(
        args(&[
            "deploy-vault",
            "--key",
            &k7,
            "--submit",
            "--out",
            out,
            "--reuse",
        ]),
        &url,
    )
    .await
    .unwrap();
    assert_eq!(again["reused"], true, "{again}");
    assert_eq!(again["deployment"], d.to_json());
    assert_eq!(node.unconfirmed_transactions(0, 10).await.unwrap().len(), 0);

    // global flags before or after the action
    let j = run(
        args(&[
            "--key",
            &k0,
            "--submit",
            "--deployment",
            out,
            "join",
            "--sigusd",
            "20",
        ]),
        &url,
    )
    .await
    .unwrap();
    assert_eq!(j["action"], "join");
    assert_eq!(j["kind"], "lets_member");
    let tx_id = j["tx_id"].as_str().unwrap().to_string();
    assert_eq!(tx_id.len(), 64);
    let j = run(
        args(&[
            "withdraw",
            "--gpuc",
            "10",
            "--key",
            &k0,
            "--submit",
            "--deployment",
            out,
        ]),
        &url,
    )
    .await
    .unwrap();
    assert_eq!(j["action"], "withdraw-credit");
    common::mine(&url, 1).await;
    assert_eq!(node.unconfirmed_transactions(0, 10).await.unwrap().len(), 0);
    let w =
        dgcm_tx::Wallet::new(&url, &dgcm_devnet::genesis::test_wallet(0).secret_hex, &d).unwrap();
    assert_eq!(w.gpuc_balance().await.unwrap(), 10_000);
    assert_eq!(
        w.member().await.unwrap().unwrap().v.balance,
        -10_000,
        "joined and withdrew 10 GPUC through the command line"
    );
    // the Rosen deposit address needs no transaction
    let j = run(
        args(&["rosen-address", "--key", &k0, "--deployment", out]),
        &url,
    )
    .await
    .unwrap();
    assert_eq!(
        j["rosen_deposit_address"],
        w.rosen_deposit_address().unwrap()
    );
    devnet.stop().await;
}

#[tokio::test]
async fn bad_input_names_the_field_and_submits_nothing() {
    let net = common::net().await;
    let dep = net.deployment_file();
    let dep = dep.to_str().unwrap();
    let alice = net.wallet(0);
    alice.deposit_sigusd_for_gpuc(2000, 10_000).await.unwrap();
    let order = alice
        .place_order(dgcm_tx::OrderSpec {
            job_spec_hash: vec![1; 32],
            ..Default::default()
        })
        .await
        .unwrap()
        .box_id
        .unwrap();
    net.mine(1).await;
    let height = net.height().await;
    let k0 = net.key_file(0);
    let k0 = k0.to_str().unwrap();
    let k2 = net.key_file(2);
    let k2 = k2.to_str().unwrap();
    let a = addr(0);
    let a1 = addr(1);
    let mainnet_addr = dgcm_devnet::genesis::test_wallet(0)
        .encoded_address(ergo_lib::ergotree_ir::chain::address::NetworkPrefix::Mainnet);
    let bad_spec_file =
        std::env::temp_dir().join(format!("dgcm-bad-spec-{}.json", std::process::id()));
    std::fs::write(&bad_spec_file, r#"{"image": "x", "gpu": true}"#).unwrap();
    let bad_spec = bad_spec_file.display().to_string();
    let missing = "ab".repeat(32);
    let wallet_box = alice.planner.wallet_boxes(alice.pk()).await.unwrap()[0].box_id();
    let wallet_box = hex::encode(wallet_box.as_ref());
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (
            vec!["join", "--sigusd", "20", "--address", "9notAnAddress"],
            "--address: ",
            "not a valid testnet address",
        ),
        (
            vec!["join", "--sigusd", "20", "--address", &mainnet_addr],
            "--address: ",
            "mainnet address",
        ),
        (
            vec!["join", "--sigusd", "1.234", "--address", &a],
            "--sigusd: ",
            "more than 2 decimals",
        ),
        (
            vec!["join", "--sigusd", "-5", "--address", &a],
            "--sigusd: ",
            "negative",
        ),
        (
            vec!["join", "--address", &a],
            "--erg: ",
            "give --erg, --sigusd",
        ),
        (
            vec![
                "join",
                "--token",
                "rsDOGE",
                "--amount",
                "1",
                "--address",
                &a,
            ],
            "--token: ",
            "not a listed collateral asset (listed: SigUSD, rsBTC, rsETH, rsUSDT)",
        ),
        (
            vec![
                "top-up",
                "--token",
                "rsBTC",
                "--amount",
                "0.000000001",
                "--address",
                &a,
            ],
            "--amount: ",
            "more than 8 decimals",
        ),
        (
            vec!["withdraw", "--gpuc", "abc", "--address", &a],
            "--gpuc: ",
            "not a decimal",
        ),
        (
            vec!["withdraw", "--gpuc", "0", "--address", &a],
            "--gpuc: ",
            "must be > 0",
        ),
        (
            vec!["withdraw", "--gpuc", "100", "--key", k0, "--submit"],
            "withdraw-credit: ",
            "top up first",
        ),
        (
            vec!["withdraw", "--gpuc", "1", "--to", "nope", "--address", &a],
            "--to: ",
            "not a valid",
        ),
        (
            vec!["cancel-order", "--order", "xyz", "--address", &a],
            "--order: ",
            "not hex",
        ),
        (
            vec!["cancel-order", "--order", "abcd", "--address", &a],
            "--order: ",
            "2 bytes, expected 32",
        ),
        (
            vec!["cancel-order", "--order", &missing, "--key", k0, "--submit"],
            "--order: box ",
            "not unspent",
        ),
        (
            vec![
                "cancel-order",
                "--order",
                &wallet_box,
                "--key",
                k0,
                "--submit",
            ],
            "--order: box ",
            "not this deployment's order box",
        ),
        (
            vec!["cancel-order", "--order", &order, "--key", k2, "--submit"],
            "--order: box ",
            "not the consumer",
        ),
        (
            vec!["accept", "--lease", &order, "--key", k0, "--submit"],
            "--lease: box ",
            "not this deployment's lease box",
        ),
        (
            vec!["cancel-order", "--order", &order, "--submit"],
            "--submit: ",
            "needs --key",
        ),
        (
            vec!["cancel-order", "--order", &order],
            "--address: ",
            "give --address",
        ),
        (
            vec![
                "cancel-order",
                "--order",
                &order,
                "--key",
                "/nonexistent/key",
                "--submit",
            ],
            "--key: ",
            "/nonexistent/key",
        ),
        (
            vec![
                "cancel-order",
                "--order",
                &order,
                "--address",
                &a1,
                "--key",
                k0,
            ],
            "--address: ",
            "differs",
        ),
        (
            vec!["join", "--sigusd", "1", "--address", &a, "--fee", "0"],
            "--fee: ",
            "must be > 0",
        ),
        (
            vec![
                "place-order",
                "--max-price",
                "1",
                "--hours",
                "1",
                "--address",
                &a,
            ],
            "--job-spec-hash: ",
            "give the job spec",
        ),
        (
            vec![
                "place-order",
                "--max-price",
                "1",
                "--hours",
                "1",
                "--job-spec",
                &bad_spec,
                "--address",
                &a,
            ],
            "--job-spec: ",
            "unknown field",
        ),
        (
            vec![
                "place-order",
                "--max-price",
                "1",
                "--hours",
                "0",
                "--job-spec-hash",
                &missing,
                "--address",
                &a,
            ],
            "--hours: ",
            "≥ 1",
        ),
        (
            vec![
                "place-order",
                "--max-price",
                "1",
                "--hours",
                "1",
                "--job-spec-hash",
                &missing,
                "--budget",
                "0.5",
                "--address",
                &a,
            ],
            "--budget: ",
            "below max price",
        ),
        (
            vec![
                "place-order",
                "--max-price",
                "1",
                "--hours",
                "1",
                "--job-spec-hash",
                &missing,
                "--listing",
                &missing,
                "--address",
                &a,
            ],
            "--listing: ",
            "no live listing",
        ),
        (
            vec![
                "place-order",
                "--max-price",
                "1000",
                "--hours",
                "1",
                "--job-spec-hash",
                &missing,
                "--key",
                k0,
                "--submit",
            ],
            "not enough funds",
            "GPUC",
        ),
        (
            vec![
                "list",
                "--price",
                "1",
                "--collateral",
                "1",
                "--min-hours",
                "2",
                "--max-hours",
                "1",
                "--model",
                "m",
                "--region",
                "r",
                "--endpoint",
                "e",
                "--address",
                &a,
            ],
            "--max-hours: ",
            "below --min-hours",
        ),
        (
            vec![
                "list",
                "--price",
                "0",
                "--model",
                "m",
                "--region",
                "r",
                "--endpoint",
                "e",
                "--address",
                &a,
            ],
            "--price: ",
            "must be > 0",
        ),
        (
            vec![
                "complete",
                "--lease",
                &order,
                "--used-blocks",
                "3",
                "--usage-commitment",
                "00",
                "--address",
                &a,
            ],
            "--usage-commitment: ",
            "expected 32",
        ),
        (
            vec![
                "bridge-out",
                "--lock-address",
                &a,
                "--to-chain",
                "cardano",
                "--to-address",
                "addr1",
                "--amount",
                "10",
                "--bridge-fee",
                "5",
                "--network-fee",
                "5",
                "--address",
                &a,
            ],
            "--amount: ",
            "does not exceed",
        ),
        (
            vec!["deploy-vault", "--address", &a],
            "--key: ",
            "--key FILE --submit",
        ),
    ];
    for (mut v, prefix, reason) in cases {
        v.extend(["--deployment", dep]);
        let e = match run(args(&v), &net.url).await {
            Ok(j) => panic!("{v:?} succeeded: {j}"),
            Err(e) => format!("{e:#}"),
        };
        assert!(
            e.starts_with(prefix),
            "{v:?}: {e:?} should start with {prefix:?}"
        );
        assert!(e.contains(reason), "{v:?}: {e:?} should say {reason:?}");
    }
    // unknown flags and missing required ones are clap's errors
    assert!(Cli::try_parse_from(["tx", "join", "--sigusd"]).is_err());
    assert!(Cli::try_parse_from(["tx", "withdraw"]).is_err());
    assert_eq!(net.mempool_len().await, 0, "nothing submitted");
    assert_eq!(net.height().await, height);
    net.stop().await;
}
