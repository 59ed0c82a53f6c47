//! Errors of wallet actions. Every error about something the user gave names the field (the
//! command-line flag without dashes, which is also the parameter name of the typed API) and the
//! reason; nothing is submitted when any of them occurs.

use dgcm_chain::NodeError;
use dgcm_contracts::BuildError;

#[derive(Debug, thiserror::Error)]
pub enum TxError {
    /// A value the user gave is malformed or out of range.
    #[error("--{field}: {reason}")]
    Input { field: &'static str, reason: String },
    /// A box the user named is not usable for this action.
    #[error("--{field}: box {id}: {reason}")]
    Box {
        field: &'static str,
        id: String,
        reason: String,
    },
    /// Something the action needs is not on chain (vault, member account, oracle, ...).
    #[error("{0}")]
    Missing(String),
    /// The user's boxes do not hold enough ERG or tokens.
    #[error("not enough funds in {address}: {reason}")]
    Funds { address: String, reason: String },
    /// The protocol refuses the action (a script condition would fail).
    #[error("{action}: {source}")]
    Build {
        action: &'static str,
        #[source]
        source: BuildError,
    },
    #[error("node: {0}")]
    Node(#[from] NodeError),
    #[error("signing: {0}")]
    Sign(String),
    #[error("deployment: {0}")]
    Deployment(String),
}

impl TxError {
    pub fn input(field: &'static str, reason: impl Into<String>) -> TxError {
        TxError::Input {
            field,
            reason: reason.into(),
        }
    }

    pub fn bx(field: &'static str, id: impl Into<String>, reason: impl Into<String>) -> TxError {
        TxError::Box {
            field,
            id: id.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn build(action: &'static str) -> impl FnOnce(BuildError) -> TxError {
        move |source| TxError::Build { action, source }
    }
}

impl From<dgcm_contracts::DeploymentError> for TxError {
    fn from(e: dgcm_contracts::DeploymentError) -> TxError {
        TxError::Deployment(e.to_string())
    }
}

pub type Result<T, E = TxError> = std::result::Result<T, E>;
