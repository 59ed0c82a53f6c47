//! Rosen relay: converts Rosen deposits (guards' payments to a user's DGCM deposit address)
//! into the owner's LETS account — stable assets the vault takes (rsUSDT) as GPUC credit at the
//! oracle's price, anything else listed as collateral — and records each event's path: source
//! chain and transaction → EventTrigger box → payment (deposit) box → conversion transaction.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use dgcm_chain::rosen::RosenEvent;
use dgcm_chain::NodeClient;
use dgcm_contracts::build;
use dgcm_contracts::trees::Contracts;
use ergo_lib::ergotree_ir::chain::address::{Address, AddressEncoder, NetworkPrefix};
use ergo_lib::ergotree_ir::ergo_tree::ErgoTree;
use serde::{Deserialize, Serialize};

use crate::executor::{BotKind, Job, Runtime};
use crate::view::MarketView;

/// One bridged deposit's path, as the relay records it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RosenPath {
    pub source_chain: Option<String>,
    pub source_tx: Option<String>,
    pub event_box: Option<String>,
    pub deposit_box: String,
    pub payment_tx: String,
    pub convert_tx: String,
    pub owner: String,
}

/// What the relay remembers: EventTriggers by destination address, and a journal of paths.
pub struct RosenRelay {
    /// Where EventTrigger boxes live (Rosen's trigger contract; the guards' address on the
    /// devnet stand-in).
    pub trigger_tree: Option<ErgoTree>,
    pub network: NetworkPrefix,
    /// JSON-lines journal of converted paths (survives restarts).
    pub journal: Option<PathBuf>,
    events: HashMap<String, (RosenEvent, String)>,
    /// Deposit boxes already in the journal (read once at start).
    recorded: std::collections::HashSet<String>,
}

impl RosenRelay {
    pub fn new(
        trigger_tree: Option<ErgoTree>,
        network: NetworkPrefix,
        journal: Option<PathBuf>,
    ) -> Self {
        let mut r = RosenRelay {
            trigger_tree,
            network,
            journal,
            events: HashMap::new(),
            recorded: Default::default(),
        };
        r.recorded = r.paths().into_iter().map(|p| p.deposit_box).collect();
        r
    }

    /// Refreshes the EventTriggers the relay knows (mempool-aware).
    pub async fn refresh(&mut self, node: &NodeClient) {
        let Some(tree) = &self.trigger_tree else {
            return;
        };
        match node.unspent_boxes_by_tree(tree, true).await {
            Ok(boxes) => {
                for b in boxes {
                    if let Some(ev) = RosenEvent::from_box(&b) {
                        self.events
                            .insert(ev.to_address.clone(), (ev, String::from(b.box_id())));
                    }
                }
            }
            Err(e) => tracing::debug!(error = %e, "cannot read Rosen event triggers"),
        }
    }

    /// The recorded paths.
    pub fn paths(&self) -> Vec<RosenPath> {
        let Some(j) = &self.journal else {
            return vec![];
        };
        std::fs::read_to_string(j)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Appends a path to the journal once (a restarted relay does not write it twice).
    pub fn record(&mut self, path: &RosenPath) {
        tracing::info!(?path, "Rosen deposit converted");
        let Some(j) = &self.journal else { return };
        if !self.recorded.insert(path.deposit_box.clone()) {
            return;
        }
        let line = serde_json::to_string(path).unwrap_or_default();
        let r = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(j)
            .and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = r {
            tracing::warn!(error = %e, journal = %j.display(), "cannot write the Rosen path journal");
        }
    }

    /// The path of a deposit about to be converted by `convert_tx`.
    pub fn path_of(&self, deposit: &MarketDeposit, convert_tx: String) -> RosenPath {
        let ev = self.events.get(&deposit.address);
        RosenPath {
            source_chain: ev.map(|e| e.0.from_chain.clone()),
            source_tx: ev.map(|e| e.0.source_tx_id.clone()),
            event_box: ev.map(|e| e.1.clone()),
            deposit_box: deposit.box_id.clone(),
            payment_tx: deposit.payment_tx.clone(),
            convert_tx,
            owner: deposit.address.clone(),
        }
    }
}

/// A deposit box, named for the journal.
#[derive(Debug, Clone)]
pub struct MarketDeposit {
    pub box_id: String,
    pub payment_tx: String,
    pub address: String,
}

/// Convertible deposits whose owner has a LETS account: credit for stable assets (through the
/// vault, one per round: each spends it), collateral for the rest (accounts not in debt only:
/// the deposit script refuses the others; their owners convert with their own key).
pub fn rosen_jobs(
    c: &Arc<Contracts>,
    view: &MarketView,
    rt: &Runtime,
    network: NetworkPrefix,
) -> Vec<(Job, MarketDeposit)> {
    let next = view.height + 1;
    let mut used_members = std::collections::HashSet::new();
    let mut vault_used = view
        .vault
        .as_ref()
        .is_none_or(|v| rt.is_busy(&v.bx.box_id(), view.height));
    let mut jobs = Vec::new();
    for d in &view.deposits {
        if d.v.convertible_assets(c).is_none() || rt.is_busy(&d.bx.box_id(), view.height) {
            continue;
        }
        let credit = d.v.credit_assets(c).is_some();
        if credit && vault_used {
            continue;
        }
        // One conversion per member per round: each spends the member box.
        let Some(m) = view.members.iter().find(|m| {
            m.v.owner == d.v.owner
                && (credit || m.v.balance >= 0)
                && !used_members.contains(&m.bx.box_id())
                && !rt.is_busy(&m.bx.box_id(), view.height)
        }) else {
            continue;
        };
        used_members.insert(m.bx.box_id());
        let address = Address::recreate_from_ergo_tree(&d.bx.ergo_tree)
            .map(|a| AddressEncoder::encode_address_as_string(network, &a))
            .unwrap_or_default();
        let info = MarketDeposit {
            box_id: String::from(d.bx.box_id()),
            payment_tx: String::from(d.bx.transaction_id),
            address,
        };
        let (dep, member, c) = (d.clone(), m.clone(), c.clone());
        let job = match (&view.vault, credit) {
            (Some(vault), true) => {
                vault_used = true;
                let (vault, oracles) = (vault.clone(), view.oracles.clone());
                Job {
                    bot: BotKind::RosenRelay,
                    what: format!("credit Rosen deposit {}", info.box_id),
                    spends: vec![vault.bx.box_id(), member.bx.box_id(), dep.bx.box_id()],
                    build: Box::new(move |exec| {
                        build::convert_rosen_credit(&c, &vault, &dep, &member, &oracles, next, exec)
                            .map(|(plan, _)| plan)
                    }),
                    token_prices: vec![],
                }
            }
            _ => Job {
                bot: BotKind::RosenRelay,
                what: format!("convert Rosen deposit {}", info.box_id),
                spends: vec![member.bx.box_id(), dep.bx.box_id()],
                build: Box::new(move |exec| build::convert_rosen(&c, &dep, &member, next, exec)),
                token_prices: vec![],
            },
        };
        jobs.push((job, info));
    }
    jobs
}
