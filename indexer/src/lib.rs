//! `dgcm-indexer`: follows an Ergo node (real or devnet) into PostgreSQL and keeps the database
//! exactly equal to the node's best chain, through forks and crashes.
//!
//! - [`store`]: the database side (diesel, embedded migrations); apply / undo a block in one
//!   transaction with the cursor;
//! - [`rows`]: a block turned into rows (pure); [`decode`]: DGCM boxes through the
//!   dgcm-contracts codecs;
//! - [`indexer`]: the loop over `dgcm-chain`'s follower, with batching, progress and recovery;
//! - [`pgcluster`]: a private PostgreSQL cluster for tests and the demo;
//! - [`bench`]: `dgcm bench index`.

pub mod bench;
pub mod decode;
pub mod indexer;
pub mod pgcluster;
pub mod rows;
pub mod schema;
pub mod serve;
pub mod store;

pub use indexer::{protocol_contracts, run, IndexerConfig, IndexerMetrics};
pub use store::Store;
