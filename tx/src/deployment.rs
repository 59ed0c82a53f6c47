//! The deployment file: defined in [`dgcm_contracts::deployment`] (every service reads it),
//! re-exported here so that `dgcm_tx::Deployment` and `dgcm_tx::deployment::*` keep working.

use ergo_lib::ergotree_ir::chain::address::NetworkPrefix;

pub use dgcm_contracts::deployment::{Deployment, DeploymentError, DeploymentFile};

use crate::error::{Result, TxError};

/// `mainnet` or `testnet` (also `devnet`) as typed by a user: errors name the flag `--field`.
pub fn parse_network(field: &'static str, s: &str) -> Result<NetworkPrefix> {
    dgcm_contracts::deployment::parse_network(field, s).map_err(|e| match e {
        DeploymentError::Field { reason, .. } => TxError::input(field, reason),
        other => TxError::input(field, other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_errors_become_tx_errors_naming_the_deployment() {
        let mut f = Deployment::devnet_default().to_file();
        f.gpuc_id = "zz".into();
        let e: TxError = Deployment::from_file(&f).unwrap_err().into();
        let e = e.to_string();
        assert!(
            e.starts_with("deployment: gpuc_id:") && e.contains("not hex"),
            "{e}"
        );
        let e = parse_network("network", "moonnet").unwrap_err().to_string();
        assert!(e.starts_with("--network: \"moonnet\""), "{e}");
        assert_eq!(
            parse_network("network", "devnet").unwrap(),
            NetworkPrefix::Testnet
        );
    }
}
