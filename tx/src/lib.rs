//! DGCM wallet actions: every user action of PROTOCOL.md, built with the dgcm-contracts builders
//! from boxes resolved on a node, then either handed to any Ergo wallet as an EIP-12 unsigned
//! transaction (full input boxes) or signed locally and submitted.
//!
//! Layers:
//! - [`input`]: parsing and checking what a user types (amounts, addresses, ids);
//! - [`deployment`]: the deployment file (token ids and numbers the trees are built from);
//! - [`chain`]: resolving the user's boxes and the protocol boxes on a node;
//! - [`actions`]: one [`Action`] per user action, planned into a [`dgcm_contracts::TxPlan`];
//! - [`wallet`]: the typed API ([`Wallet`]: sign and submit), including [`deploy_vault`];
//! - [`cli`]: `dgcm tx <action>` ([`TxArgs`], [`run`]).

pub mod actions;
pub mod chain;
pub mod cli;
pub mod deployment;
pub mod error;
pub mod input;
pub mod rosen;
pub mod select;
pub mod wallet;

pub use actions::{Action, ListingSpec, ListingUpdate, OrderSpec, Planned};
pub use chain::Planner;
pub use cli::{run, TxAction, TxArgs};
pub use deployment::{Deployment, DeploymentFile};
pub use error::TxError;
pub use rosen::BridgeOut;
pub use wallet::{deploy_vault, DeployOptions, Submitted, Wallet};
