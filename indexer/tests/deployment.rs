//! A deployment that `dgcm_tx::deploy_vault` creates on the devnet (new GPUC, membership and
//! vault NFT ids, so new trees) is decoded by the indexer given its deployment file
//! (`dgcm index --protocol FILE`), and not by the built-in devnet deployment.

mod common;

use common::{config, spawn, wait_synced};
use dgcm_chain::{NodeClient, Signer};
use dgcm_devnet::DevnetConfig;
use dgcm_indexer::pgcluster::fresh_test_database;
use dgcm_tx::{deploy_vault, DeployOptions, Wallet};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

const ERG: u64 = 1_000_000_000;

use dgcm_devnet::testing::mine;

#[derive(QueryableByName, Debug, PartialEq, Eq)]
struct Account {
    #[diesel(sql_type = Text)]
    box_id: String,
    #[diesel(sql_type = Text)]
    owner_pk: String,
    #[diesel(sql_type = BigInt)]
    erg_collateral: i64,
}

#[derive(QueryableByName, Debug)]
struct Vault {
    #[diesel(sql_type = Text)]
    box_id: String,
}

/// The LETS member accounts and the unspent vault boxes `db` holds (decoded as the indexer's
/// deployment: a box of another deployment's vault is recorded with an error instead).
async fn lets(db: &str) -> (Vec<Account>, Vec<String>) {
    let db = db.to_string();
    tokio::task::spawn_blocking(move || {
        let mut c = PgConnection::establish(&db).unwrap();
        let accounts: Vec<Account> = diesel::sql_query(
            "SELECT encode(box_id, 'hex') AS box_id, encode(owner_pk, 'hex') AS owner_pk, \
             erg_collateral FROM lets_accounts ORDER BY box_id",
        )
        .load(&mut c)
        .unwrap();
        let vaults: Vec<Vault> = diesel::sql_query(
            "SELECT encode(p.box_id, 'hex') AS box_id FROM protocol_boxes p \
             JOIN boxes b ON b.box_id = p.box_id \
             WHERE p.kind = 'lets_vault' AND p.error IS NULL AND b.spent_height IS NULL \
             ORDER BY 1",
        )
        .load(&mut c)
        .unwrap();
        (accounts, vaults.into_iter().map(|v| v.box_id).collect())
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_made_by_deploy_vault_is_decoded_when_the_indexer_is_given_its_file() {
    let dn = dgcm_devnet::testing::start_local(DevnetConfig::default()).await;
    let url = dn.url();
    mine(&url, 1).await;
    let node = NodeClient::connect(&url).unwrap();

    // A new deployment (the deployer is the last genesis wallet), saved as `deploy-vault` does.
    let opts = DeployOptions::for_devnet(&url).await.unwrap();
    let deployer =
        Signer::from_secret_hex(&dgcm_devnet::genesis::test_wallet(7).secret_hex).unwrap();
    let deployment = deploy_vault(&url, &deployer, &opts).await.unwrap();
    mine(&url, 1).await;
    assert_ne!(
        deployment.params.vault_nft,
        dgcm_contracts::ProtocolParams::devnet_default().vault_nft
    );
    let dir = std::env::temp_dir().join(format!("dgcm-index-deployment-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("deployment.json");
    deployment.save(&file).unwrap();

    // Alice joins the new deployment's LETS vault with 2 ERG of collateral.
    let alice = Wallet::new(
        &url,
        &dgcm_devnet::genesis::test_wallet(0).secret_hex,
        &deployment,
    )
    .unwrap();
    let joined = alice.join_credit(0, 2 * ERG).await.unwrap();
    mine(&url, 1).await;
    let member_box = joined.box_id.clone().expect("the member box");
    let alice_pk = {
        use ergo_lib::ergotree_ir::serialization::SigmaSerializable;
        hex::encode(alice.pk().h.sigma_serialize_bytes().unwrap())
    };

    // One indexer with the file (`--protocol FILE`), one with the built-in devnet deployment.
    let (with_file, builtin) = tokio::task::spawn_blocking(|| {
        (
            fresh_test_database().unwrap(),
            fresh_test_database().unwrap(),
        )
    })
    .await
    .unwrap();
    for (db, protocol) in [(&with_file, file.to_str().unwrap()), (&builtin, "devnet")] {
        let mut cfg = config(db);
        cfg.contracts = dgcm_indexer::protocol_contracts("protocol", protocol).unwrap();
        let indexer = spawn(cfg, node.clone());
        wait_synced(db, &node).await;
        indexer.stop().await;
    }

    let (accounts, vaults) = lets(&with_file).await;
    assert_eq!(
        accounts,
        vec![Account {
            box_id: member_box.clone(),
            owner_pk: alice_pk,
            erg_collateral: 2 * ERG as i64,
        }],
        "Alice's member account of the new deployment"
    );
    let vault = alice.planner.vault().await.unwrap();
    assert_eq!(
        vaults,
        vec![hex::encode(vault.bx.box_id().as_ref())],
        "the new deployment's vault only (the devnet's genesis vault is another deployment's)"
    );

    let (accounts, vaults) = lets(&builtin).await;
    assert!(
        accounts.iter().all(|a| a.box_id != member_box),
        "the devnet deployment's trees do not match the new deployment's boxes: {accounts:?}"
    );
    assert_eq!(
        vaults.len(),
        1,
        "only the devnet's genesis vault decodes as the devnet deployment: {vaults:?}"
    );
    assert!(!vaults.contains(&hex::encode(vault.bx.box_id().as_ref())));

    let _ = std::fs::remove_dir_all(&dir);
    dn.stop().await;
}
