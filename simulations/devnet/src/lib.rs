//! `dgcm-devnet`: a local Ergo node for tests, demos and simulations.
//!
//! It answers the real node's REST API (the subset the suite uses, same JSON), keeps a UTXO set
//! and a mempool (chained unconfirmed spends allowed), validates every submitted transaction with
//! ergo-lib against a proper state context, produces blocks on an interval or on demand, and has
//! test controls under `/devnet/*` (mine, roll back, random traffic, wallets).
//!
//! Modules: [`genesis`] (test wallets, stand-in tokens and oracle pool), [`state`] (chain, UTXO,
//! mempool, validation), [`server`] (HTTP, EIP-1 scans through `dgcm_chain::scan`), [`traffic`] (random
//! transfers), [`persist`] (the `--state-dir` chain log).

pub mod bench;
pub mod genesis;
pub mod oracle;
pub mod persist;
pub mod rosen;
pub mod server;
pub mod state;
pub mod testing;
pub mod traffic;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use dgcm_chain::types::TrackingRule;
use ergo_lib::ergotree_ir::chain::address::NetworkPrefix;

use genesis::TestWallet;
use state::DevnetState;

/// How to run a devnet.
#[derive(Debug, Clone)]
pub struct DevnetConfig {
    /// `None`: blocks only on `POST /devnet/mine` (manual).
    pub block_time: Option<Duration>,
    /// Where the chain log lives; `None` keeps everything in memory.
    pub state_dir: Option<PathBuf>,
    /// Number of funded test wallets.
    pub wallets: usize,
    /// Genesis boxes per wallet (more boxes allow more parallel spends).
    pub boxes_per_wallet: usize,
    /// Address prefix used in `/devnet/info`.
    pub network: NetworkPrefix,
}

impl Default for DevnetConfig {
    fn default() -> Self {
        DevnetConfig {
            block_time: None,
            state_dir: None,
            wallets: 8,
            boxes_per_wallet: 4,
            network: NetworkPrefix::Testnet,
        }
    }
}

/// A devnet: chain state plus what the HTTP layer needs.
pub struct Devnet {
    state: Mutex<DevnetState>,
    pub wallets: Vec<TestWallet>,
    pub config: DevnetConfig,
    scans: Mutex<Vec<TrackingRule>>,
    pub launch_time: u64,
}

impl Devnet {
    /// Create the genesis state, or resume it from `config.state_dir`.
    pub fn new(config: DevnetConfig) -> anyhow::Result<Arc<Devnet>> {
        let wallets: Vec<TestWallet> = (0..config.wallets).map(genesis::test_wallet).collect();
        let mut boxes = genesis::genesis_boxes(&wallets, config.boxes_per_wallet);
        boxes.extend(genesis::guard_boxes(&rosen::guards(), boxes.len() as u16));
        let mut state = DevnetState::new(boxes);
        if let Some(dir) = &config.state_dir {
            persist::open(dir, &config, &mut state)?;
        }
        Ok(Arc::new(Devnet {
            state: Mutex::new(state),
            wallets,
            config,
            scans: Mutex::new(Vec::new()),
            launch_time: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
        }))
    }

    /// The chain state. A poisoned lock (a panic while holding it) is taken over: every state
    /// change is applied completely or not at all before anything that can fail.
    pub fn state(&self) -> MutexGuard<'_, DevnetState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn scans(&self) -> MutexGuard<'_, Vec<TrackingRule>> {
        self.scans.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `GET /devnet/info`.
    pub fn info_json(&self) -> serde_json::Value {
        let wallets: Vec<_> = self
            .wallets
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let (name, role) = genesis::wallet_role(i);
                serde_json::json!({
                    "name": name,
                    "role": role,
                    "address": w.encoded_address(self.config.network),
                    "secret": w.secret_hex,
                })
            })
            .collect();
        let tokens: std::collections::BTreeMap<&str, String> = genesis::TOKENS
            .iter()
            .map(|(name, _, _)| (*name, String::from(genesis::token_id(name))))
            .collect();
        let oracle = genesis::oracle_operator();
        serde_json::json!({
            "wallets": wallets,
            "tokens": tokens,
            "token_decimals": genesis::TOKENS.iter().map(|(n, d, _)| (n.to_string(), *d)).collect::<std::collections::BTreeMap<_, _>>(),
            "oracle_pool_nft": String::from(genesis::oracle_pool_nft()),
            "rosen_guards": {"address": rosen::guards().encoded_address(self.config.network)},
            "oracle_operator": {"address": oracle.encoded_address(self.config.network), "secret": oracle.secret_hex},
            "network": match self.config.network { NetworkPrefix::Mainnet => "mainnet", NetworkPrefix::Testnet => "testnet" },
        })
    }
}

/// A devnet serving HTTP in the background (tests, the demo).
pub struct RunningDevnet {
    pub devnet: Arc<Devnet>,
    pub addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
    miner: Option<tokio::task::JoinHandle<()>>,
}

impl RunningDevnet {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn stop(mut self) {
        if let Some(m) = self.miner.take() {
            m.abort();
        }
        self.handle.stop(true).await;
    }
}

/// Serve `devnet` on `listen` (port 0 picks a free port) from inside a tokio runtime, producing
/// blocks every `config.block_time` when set.
pub async fn start(devnet: Arc<Devnet>, listen: SocketAddr) -> anyhow::Result<RunningDevnet> {
    let listener = std::net::TcpListener::bind(listen)
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr()?;
    let server = server::http_server(devnet.clone(), listener)?;
    let handle = server.handle();
    tokio::spawn(server);
    let miner = devnet.config.block_time.map(|every| {
        let d = devnet.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                let d = d.clone();
                let _ = tokio::task::spawn_blocking(move || d.state().mine(1)).await;
            }
        })
    });
    tracing::info!(%addr, block_time = ?devnet.config.block_time, "devnet listening");
    Ok(RunningDevnet {
        devnet,
        addr,
        handle,
        miner,
    })
}
