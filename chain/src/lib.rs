//! Chain access for DGCM.
//!
//! Everything in the suite that talks to an Ergo node goes through this crate:
//! - [`client::NodeClient`]: a small async REST client for the node endpoints the suite needs
//!   (reqwest + rustls, timeouts, retries with backoff on transport errors, typed errors);
//! - [`follower::Follower`]: turns the node into a reorg-safe stream of
//!   [`follower::ChainEvent::RollForward`] / [`follower::ChainEvent::RollBackward`];
//! - [`mempool::MempoolWatcher`]: the unconfirmed pool as accepted / withdrawn events.
//!
//! Boxes, transactions and headers are ergo-lib 0.28 types; the JSON shapes that ergo-lib does not
//! model (node info, full blocks, API errors, scans) live in [`types`].

pub mod client;
pub mod follower;
pub mod header;
pub mod mempool;
pub mod rosen;
pub mod scan;
pub mod types;
pub mod wallet;

pub use client::{ClientConfig, NodeClient, NodeError};
pub use follower::{ChainEvent, Cursor, Follower, FollowerConfig};
pub use mempool::{MempoolEvent, MempoolWatcher};
pub use types::{ApiError, FullBlock, NodeInfo};
pub use wallet::{Signer, WalletError};
