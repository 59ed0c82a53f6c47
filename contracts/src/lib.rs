//! DGCM protocol v1 in Rust (see ../PROTOCOL.md): the compiled trees re-parameterised for a
//! deployment ([`trees`]), one typed codec per box kind, and pure transaction builders
//! ([`build`]) that place every protocol input and output at the index the scripts check.
//! [`deployment`] is the deployment file every service reads (the parameters of one deployment
//! and its network).

pub mod arbitration;
pub mod build;
pub mod capacity;
pub mod codec;
pub mod deployment;
pub mod eip12;
pub mod jobspec;
pub mod lease;
pub mod lets_member;
pub mod lets_vault;
pub mod listing;
pub mod order;
pub mod rosen_deposit;
pub mod scanner;
pub mod testkit;
pub mod trees;
pub mod tx;
pub mod util;

pub use codec::{BoxKind, CodecError, Typed};
pub use deployment::{Deployment, DeploymentError, DeploymentFile};
pub use trees::{Contracts, Kind, ProtocolParams, TreeError};
pub use tx::{BuildError, Executor, Spend, TxDraft, TxPlan};
