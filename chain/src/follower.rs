//! The chain follower: a node seen as a stream of `RollForward` / `RollBackward` events.
//!
//! The follower keeps a cursor (height and id of the last block it emitted as applied). At each
//! step it compares the node's best chain with the cursor:
//! - the next best block's parent is the cursor → `RollForward(next)`;
//! - it is not (or the cursor's height now holds another block) → `RollBackward(cursor block)`
//!   and the cursor moves to the parent. Repeating this walks back to the common ancestor of any
//!   depth, then forward along the new best chain, so consumers only ever see a consistent
//!   sequence and never re-implement reorg logic.
//!
//! A header can be announced before its block is stored; a 404 for the next block is retried,
//! not treated as a fork. Consumers persist [`Follower::cursor`] together with the effects of each
//! event and resume with [`Follower::new`]; a cursor that was orphaned while they were away is
//! rolled back first.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use ergo_lib::ergo_chain_types::{BlockId, Digest32};
use futures::Stream;

use crate::client::{block_hex, NodeClient, NodeError};
use crate::types::FullBlock;

/// What happened to the best chain, in the order a consumer must apply it.
#[derive(Debug, Clone)]
pub enum ChainEvent {
    /// Apply this block on top of the cursor.
    RollForward(Arc<FullBlock>),
    /// Undo this block (the cursor's block); the cursor moves to its parent.
    RollBackward(Arc<FullBlock>),
}

impl ChainEvent {
    pub fn block(&self) -> &FullBlock {
        match self {
            ChainEvent::RollForward(b) | ChainEvent::RollBackward(b) => b,
        }
    }
}

/// The last block a consumer applied. Height 0 with the all-zero id is the state before block 1
/// (genesis boxes only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub height: u32,
    pub header_id: BlockId,
}

impl Cursor {
    pub fn genesis() -> Self {
        Cursor {
            height: 0,
            header_id: BlockId(Digest32::zero()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct FollowerConfig {
    /// How long to wait at the tip before asking the node again.
    pub poll_interval: Duration,
    /// How many times to retry a block whose header is known but whose body is not stored yet.
    pub missing_block_retries: u32,
    /// Blocks fetched ahead in one round trip while catching up.
    pub batch: u32,
    /// Applied blocks kept in memory so a rollback needs no round trip.
    pub keep_recent: usize,
}

impl Default for FollowerConfig {
    fn default() -> Self {
        FollowerConfig {
            poll_interval: Duration::from_secs(1),
            missing_block_retries: 20,
            batch: 32,
            keep_recent: 64,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FollowerError {
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error("block {id} at height {height} is announced but the node did not serve it after {tries} tries")]
    BlockMissing { id: String, height: u32, tries: u32 },
    #[error("the node has no block at height {0} (start below its tip)")]
    NoBlockAt(u32),
    #[error("cannot roll back past block {id} at height {height}: the node no longer serves it")]
    RollbackUnavailable { id: String, height: u32 },
}

pub struct Follower {
    client: NodeClient,
    config: FollowerConfig,
    cursor: Cursor,
    /// Recently applied blocks, newest at the back (for rollbacks).
    recent: VecDeque<Arc<FullBlock>>,
    /// Blocks fetched ahead during catch-up, next at the front.
    ahead: VecDeque<Arc<FullBlock>>,
}

impl Follower {
    /// Follow from a stored cursor (or [`Cursor::genesis`]).
    pub fn new(client: NodeClient, config: FollowerConfig, cursor: Cursor) -> Self {
        Follower {
            client,
            config,
            cursor,
            recent: VecDeque::new(),
            ahead: VecDeque::new(),
        }
    }

    /// Follow starting with the block at `height` (its parent becomes the cursor).
    pub async fn from_height(
        client: NodeClient,
        config: FollowerConfig,
        height: u32,
    ) -> Result<Self, FollowerError> {
        let cursor = if height <= 1 {
            Cursor::genesis()
        } else {
            let ids = client.block_ids_at(height - 1).await?;
            let id = ids
                .first()
                .copied()
                .ok_or(FollowerError::NoBlockAt(height - 1))?;
            Cursor {
                height: height - 1,
                header_id: id,
            }
        };
        Ok(Self::new(client, config, cursor))
    }

    pub fn cursor(&self) -> Cursor {
        self.cursor
    }

    pub fn client(&self) -> &NodeClient {
        &self.client
    }

    /// The next event, waiting at the tip until there is one.
    pub async fn next_event(&mut self) -> Result<ChainEvent, FollowerError> {
        loop {
            if let Some(ev) = self.poll().await? {
                return Ok(ev);
            }
            tokio::time::sleep(self.config.poll_interval).await;
        }
    }

    /// One step: `Some(event)`, or `None` when the cursor is at the node's tip.
    pub async fn poll(&mut self) -> Result<Option<ChainEvent>, FollowerError> {
        if let Some(next) = self.ahead.pop_front() {
            if next.parent_id() == self.cursor.header_id {
                return Ok(Some(self.roll_forward(next)));
            }
            // The prefetched chain does not extend ours any more: a fork happened meanwhile.
            self.ahead.clear();
        }
        let info = self.client.info().await?;
        let tip = info.full_height.unwrap_or(0);
        if tip <= self.cursor.height {
            if self.cursor.height == 0 {
                return Ok(None);
            }
            let cursor_hex = block_hex(&self.cursor.header_id);
            if tip == self.cursor.height && info.best_full_header_id.as_deref() == Some(&cursor_hex)
            {
                return Ok(None);
            }
            // The best chain is now shorter than our cursor, or ends in another block at our
            // height: our cursor block was orphaned.
            return self.roll_backward().await.map(Some);
        }
        let last = tip.min(self.cursor.height + self.config.batch.max(1));
        self.prefetch(self.cursor.height + 1, last).await?;
        match self.ahead.pop_front() {
            Some(next) if next.parent_id() == self.cursor.header_id => {
                Ok(Some(self.roll_forward(next)))
            }
            Some(_) => {
                self.ahead.clear();
                self.roll_backward().await.map(Some)
            }
            None => Ok(None),
        }
    }

    /// The next `RollForward` if it is already fetched and extends the cursor (no network).
    /// Lets a consumer apply a run of catch-up blocks in one database transaction.
    pub fn next_ready(&mut self) -> Option<ChainEvent> {
        match self.ahead.front() {
            Some(b) if b.parent_id() == self.cursor.header_id => {
                let b = self.ahead.pop_front()?;
                Some(self.roll_forward(b))
            }
            _ => None,
        }
    }

    /// A stream of events (never ends on its own; errors are yielded and the stream goes on).
    pub fn into_stream(self) -> impl Stream<Item = Result<ChainEvent, FollowerError>> {
        futures::stream::unfold(self, |mut f| async move {
            let ev = f.next_event().await;
            Some((ev, f))
        })
    }

    fn roll_forward(&mut self, block: Arc<FullBlock>) -> ChainEvent {
        self.cursor = Cursor {
            height: block.height(),
            header_id: block.id(),
        };
        self.recent.push_back(block.clone());
        while self.recent.len() > self.config.keep_recent.max(1) {
            self.recent.pop_front();
        }
        ChainEvent::RollForward(block)
    }

    async fn roll_backward(&mut self) -> Result<ChainEvent, FollowerError> {
        let block = match self.recent.pop_back() {
            Some(b) if b.id() == self.cursor.header_id => b,
            _ => {
                self.recent.clear();
                match self.client.block(&self.cursor.header_id).await {
                    Ok(b) => Arc::new(b),
                    Err(e) if e.is_not_found() => {
                        return Err(FollowerError::RollbackUnavailable {
                            id: block_hex(&self.cursor.header_id),
                            height: self.cursor.height,
                        })
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        self.cursor = Cursor {
            height: block.height().saturating_sub(1),
            header_id: block.parent_id(),
        };
        Ok(ChainEvent::RollBackward(block))
    }

    /// Fetch the best blocks at heights `from..=to` into `ahead`, retrying blocks that are
    /// announced but not stored yet.
    async fn prefetch(&mut self, from: u32, to: u32) -> Result<(), FollowerError> {
        let id_lists =
            futures::future::try_join_all((from..=to).map(|h| self.client.block_ids_at(h))).await?;
        let mut ids = Vec::new();
        for list in id_lists {
            match list.first() {
                Some(id) => ids.push(*id),
                None => break, // the tip moved back meanwhile
            }
        }
        if ids.is_empty() {
            return Ok(());
        }
        let mut tries = 0;
        loop {
            let blocks = self.client.blocks(&ids).await?;
            // Keep the contiguous prefix that arrived; a missing first block means "retry".
            let mut got = Vec::new();
            for id in &ids {
                match blocks.iter().find(|b| b.id() == *id) {
                    Some(b) => got.push(Arc::new(b.clone())),
                    None => break,
                }
            }
            if !got.is_empty() {
                self.ahead.extend(got);
                return Ok(());
            }
            tries += 1;
            if tries > self.config.missing_block_retries {
                return Err(FollowerError::BlockMissing {
                    id: block_hex(&ids[0]),
                    height: from,
                    tries,
                });
            }
            tracing::debug!(
                height = from,
                "block announced but not stored yet; retrying"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}
