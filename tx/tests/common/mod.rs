//! A devnet on a free port with a deployed LETS vault, and wallets for the story's people.
#![allow(dead_code)]

use std::path::PathBuf;

use dgcm_chain::{NodeClient, Signer};
use dgcm_contracts::build;
use dgcm_contracts::listing::Listing;
use dgcm_contracts::order::Order;
use dgcm_contracts::Typed;
use dgcm_devnet::{Devnet, DevnetConfig, RunningDevnet};
use dgcm_tx::select::fund;
use dgcm_tx::{deploy_vault, DeployOptions, Deployment, Planned, Wallet};
use ergo_lib::ergotree_ir::chain::ergo_box::BoxId;

pub struct Net {
    pub devnet: RunningDevnet,
    pub url: String,
    pub node: NodeClient,
    pub deployment: Deployment,
}

impl Net {
    /// Wallet `i` of the devnet's genesis.
    pub fn wallet(&self, i: usize) -> Wallet {
        Wallet::new(
            &self.url,
            &dgcm_devnet::genesis::test_wallet(i).secret_hex,
            &self.deployment,
        )
        .expect("wallet")
    }

    pub async fn mine(&self, blocks: u32) {
        mine(&self.url, blocks).await;
    }

    pub async fn height(&self) -> u32 {
        self.node.info().await.unwrap().full_height.unwrap_or(0)
    }

    pub async fn mempool_len(&self) -> usize {
        self.node
            .unconfirmed_transactions(0, 100)
            .await
            .unwrap()
            .len()
    }

    /// A key file holding wallet `i`'s secret.
    pub fn key_file(&self, i: usize) -> PathBuf {
        let p = temp_path(&format!("key-{i}"));
        std::fs::write(&p, dgcm_devnet::genesis::test_wallet(i).secret_hex + "\n").unwrap();
        p
    }

    /// The deployment as a file.
    pub fn deployment_file(&self) -> PathBuf {
        let p = temp_path("deployment.json");
        self.deployment.save(&p).unwrap();
        p
    }

    pub async fn stop(self) {
        self.devnet.stop().await;
    }
}

pub fn temp_path(name: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "dgcm-tx-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

pub async fn mine(url: &str, blocks: u32) {
    dgcm_devnet::testing::mine(url, blocks).await;
}

/// A devnet with one block (its genesis vault is the devnet default deployment's).
pub async fn bare() -> (RunningDevnet, String, NodeClient) {
    let d = Devnet::new(DevnetConfig::default()).expect("devnet");
    let devnet = dgcm_devnet::start(d, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("devnet starts");
    let url = devnet.url();
    mine(&url, 1).await;
    let node = NodeClient::connect(&url).unwrap();
    (devnet, url, node)
}

/// The deployer: the last genesis wallet.
pub const DEPLOYER: usize = 7;

/// A devnet with a deployed vault (mined).
pub async fn net() -> Net {
    let (devnet, url, node) = bare().await;
    let opts = DeployOptions::for_devnet(&url).await.expect("devnet info");
    let signer =
        Signer::from_secret_hex(&dgcm_devnet::genesis::test_wallet(DEPLOYER).secret_hex).unwrap();
    let deployment = deploy_vault(&url, &signer, &opts).await.expect("deploy");
    mine(&url, 1).await;
    Net {
        devnet,
        url,
        node,
        deployment,
    }
}

/// The matcher's job (the bots crate does it for real): lease from `order` and `listing`, signed
/// by `executor`. Returns (lease box, listing successor box).
pub async fn matched(executor: &Wallet, order: &BoxId, listing: &BoxId) -> (BoxId, BoxId) {
    let p = &executor.planner;
    let o: Typed<Order> = p.protocol_box("order", order).await.unwrap();
    let l: Typed<Listing> = p.protocol_box("listing", listing).await.unwrap();
    let height = p.next_height().await.unwrap();
    let boxes = p.wallet_boxes(executor.pk()).await.unwrap();
    let plan = fund(
        &p.contracts,
        "match",
        &executor.address(),
        boxes,
        executor.tree(),
        p.fee,
        |e| build::match_order(&p.contracts, &o, &l, height, e),
    )
    .unwrap();
    let s = executor
        .submit(
            Planned {
                action: "match",
                plan,
                created: Some((0, "lease")),
                cosigner: None,
            },
            &[],
        )
        .await
        .unwrap();
    let outs = &s.tx.outputs;
    (outs.get(0).unwrap().box_id(), outs.get(1).unwrap().box_id())
}
