//! The node's unconfirmed pool seen as events.
//!
//! `Withdrawn` means the transaction left the pool: it was mined or dropped. Consumers that care
//! which one combine this with the follower's `RollForward` events.

use std::collections::HashSet;

use ergo_lib::chain::transaction::{Transaction, TxId};

use crate::client::{NodeClient, NodeError};

#[derive(Debug, Clone)]
pub enum MempoolEvent {
    Accepted(Transaction),
    Withdrawn(TxId),
}

pub struct MempoolWatcher {
    client: NodeClient,
    known: HashSet<TxId>,
    page: u32,
}

impl MempoolWatcher {
    pub fn new(client: NodeClient) -> Self {
        MempoolWatcher {
            client,
            known: HashSet::new(),
            page: 100,
        }
    }

    /// Transactions currently known to be in the pool.
    pub fn known(&self) -> &HashSet<TxId> {
        &self.known
    }

    /// Read the whole pool once and report what changed since the last call.
    pub async fn poll(&mut self) -> Result<Vec<MempoolEvent>, NodeError> {
        let mut now = Vec::new();
        let mut offset = 0;
        loop {
            let page = self
                .client
                .unconfirmed_transactions(offset, self.page)
                .await?;
            let n = page.len() as u32;
            now.extend(page);
            if n < self.page {
                break;
            }
            offset += n;
        }
        let ids: HashSet<TxId> = now.iter().map(|t| t.id()).collect();
        let mut events: Vec<MempoolEvent> = self
            .known
            .iter()
            .filter(|id| !ids.contains(id))
            .map(|id| MempoolEvent::Withdrawn(*id))
            .collect();
        events.extend(
            now.into_iter()
                .filter(|t| !self.known.contains(&t.id()))
                .map(MempoolEvent::Accepted),
        );
        self.known = ids;
        Ok(events)
    }
}
