//! The operator's key: load it, derive its address, sign transactions and messages.
//!
//! Bots, the worker, the on-ramp and `dgcm tx --submit` all sign through [`Signer`]. Signing is
//! pure (keys, the transaction, its input boxes and a state context); the state context for the
//! next block comes from the node with [`crate::NodeClient::state_context`].

use std::path::Path;

use ergo_lib::chain::ergo_state_context::ErgoStateContext;
use ergo_lib::chain::transaction::unsigned::UnsignedTransaction;
use ergo_lib::chain::transaction::Transaction;
use ergo_lib::ergotree_interpreter::sigma_protocol::private_input::DlogProverInput;
use ergo_lib::ergotree_interpreter::sigma_protocol::verifier::verify_signature;
use ergo_lib::ergotree_ir::chain::address::{Address, AddressEncoder, NetworkPrefix};
use ergo_lib::ergotree_ir::chain::ergo_box::ErgoBox;
use ergo_lib::ergotree_ir::ergo_tree::ErgoTree;
use ergo_lib::ergotree_ir::mir::expr::Expr;
use ergo_lib::ergotree_ir::sigma_protocol::sigma_boolean::SigmaProp;
use ergo_lib::ergotree_ir::sigma_protocol::sigma_boolean::{ProveDlog, SigmaBoolean};
use ergo_lib::wallet::secret_key::SecretKey;
use ergo_lib::wallet::tx_context::TransactionContext;
use ergo_lib::wallet::Wallet;

#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error("key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error("secret key: {0}")]
    Secret(String),
    #[error("cannot sign: {0}")]
    Sign(String),
}

/// One secret key (a discrete-log secret, as an Ergo P2PK address holds) and what derives from it.
pub struct Signer {
    secret: DlogProverInput,
    /// The public key.
    pub pk: ProveDlog,
    /// The P2PK tree of `pk`: where this key's boxes live.
    pub tree: ErgoTree,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("Signer").field("pk", &self.pk).finish()
    }
}

impl Clone for Signer {
    fn clone(&self) -> Self {
        Signer::from_input(self.secret.clone())
    }
}

impl Signer {
    /// From 64 hex characters (a 32-byte big-endian scalar), surrounding whitespace ignored.
    pub fn from_secret_hex(hex_text: &str) -> Result<Signer, WalletError> {
        let bytes = hex::decode(hex_text.trim())
            .map_err(|e| WalletError::Secret(format!("not hex: {e}")))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| WalletError::Secret(format!("{} bytes, expected 32", b.len())))?;
        Signer::from_bytes(&bytes)
    }

    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Signer, WalletError> {
        if bytes.iter().all(|b| *b == 0) {
            return Err(WalletError::Secret("zero is not a secret key".into()));
        }
        let input = DlogProverInput::from_bytes(bytes).ok_or_else(|| {
            WalletError::Secret("not a valid scalar (zero or ≥ group order)".into())
        })?;
        Ok(Signer::from_input(input))
    }

    fn from_input(secret: DlogProverInput) -> Signer {
        let pk = secret.public_image();
        let tree = p2pk_tree(&pk);
        Signer { secret, pk, tree }
    }

    /// A key file: the secret as 64 hex characters (what `/devnet/info` prints per wallet).
    pub fn load(path: &Path) -> Result<Signer, WalletError> {
        let text = std::fs::read_to_string(path).map_err(|e| WalletError::KeyFile {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Signer::from_secret_hex(&text).map_err(|e| WalletError::KeyFile {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
    }

    /// ergo-lib's wallet is not `Send`; one is made per signature (cheap: it holds the key).
    fn wallet(&self) -> Wallet {
        Wallet::from_secrets(vec![SecretKey::DlogSecretKey(self.secret.clone())])
    }

    /// The P2PK address of this key.
    pub fn address(&self, network: NetworkPrefix) -> String {
        AddressEncoder::encode_address_as_string(network, &Address::P2Pk(self.pk.clone()))
    }

    /// Signs every input this key can prove (P2PK inputs and contract paths that need this key).
    pub fn sign(
        &self,
        unsigned: UnsignedTransaction,
        inputs: Vec<ErgoBox>,
        data_inputs: Vec<ErgoBox>,
        state: &ErgoStateContext,
    ) -> Result<Transaction, WalletError> {
        let ctx = TransactionContext::new(unsigned, inputs, data_inputs)
            .map_err(|e| WalletError::Sign(e.to_string()))?;
        self.wallet()
            .sign_transaction(ctx, state, None)
            .map_err(|e| WalletError::Sign(e.to_string()))
    }

    /// A Schnorr signature of `msg` by this key (ergo-lib's message signing).
    pub fn sign_message(&self, msg: &[u8]) -> Result<Vec<u8>, WalletError> {
        self.wallet()
            .sign_message(SigmaBoolean::ProofOfKnowledge(self.pk.clone().into()), msg)
            .map_err(|e| WalletError::Sign(e.to_string()))
    }
}

/// Whether `sig` is `pk`'s signature of `msg` (false for malformed signatures).
pub fn verify_message(pk: &ProveDlog, msg: &[u8], sig: &[u8]) -> bool {
    verify_signature(SigmaBoolean::ProofOfKnowledge(pk.clone().into()), msg, sig).unwrap_or(false)
}

/// Parses an address of the given network (P2PK or script) into the tree that guards its boxes.
pub fn address_tree(address: &str, network: NetworkPrefix) -> Result<ErgoTree, String> {
    let addr = AddressEncoder::new(network)
        .parse_address_from_str(address)
        .map_err(|e| format!("{address:?} is not a valid {network:?} address: {e}"))?;
    addr.script()
        .map_err(|e| format!("{address:?}: cannot derive its script: {e}"))
}

/// The public key of a P2PK address.
pub fn address_pk(address: &str, network: NetworkPrefix) -> Result<ProveDlog, String> {
    match AddressEncoder::new(network).parse_address_from_str(address) {
        Ok(Address::P2Pk(pk)) => Ok(pk),
        Ok(_) => Err(format!("{address:?} is not a P2PK address")),
        Err(e) => Err(format!(
            "{address:?} is not a valid {network:?} address: {e}"
        )),
    }
}

/// The P2PK tree `0008cd<key>`.
pub fn p2pk_tree(pk: &ProveDlog) -> ErgoTree {
    #[allow(clippy::expect_used)] // a constant proveDlog always makes a tree
    ErgoTree::try_from(Expr::Const(SigmaProp::from(pk.clone()).into())).expect("P2PK tree")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_signature_roundtrip_and_forgery() {
        let a = Signer::from_secret_hex(&"11".repeat(32)).unwrap();
        let b = Signer::from_secret_hex(&"22".repeat(32)).unwrap();
        let sig = a.sign_message(b"lease nonce").unwrap();
        assert!(verify_message(&a.pk, b"lease nonce", &sig));
        assert!(!verify_message(&b.pk, b"lease nonce", &sig), "another key");
        assert!(
            !verify_message(&a.pk, b"other nonce", &sig),
            "another message"
        );
        let mut bad = sig.clone();
        bad[5] ^= 1;
        assert!(!verify_message(&a.pk, b"lease nonce", &bad), "altered");
        assert!(!verify_message(&a.pk, b"lease nonce", &[]), "empty");
        assert!(
            !verify_message(&a.pk, b"lease nonce", &[1, 2, 3]),
            "garbage"
        );
    }

    #[test]
    fn bad_secrets_are_refused_with_a_reason() {
        assert!(Signer::from_secret_hex("zz")
            .unwrap_err()
            .to_string()
            .contains("not hex"));
        assert!(Signer::from_secret_hex("abcd")
            .unwrap_err()
            .to_string()
            .contains("2 bytes"));
        assert!(Signer::from_secret_hex(&"00".repeat(32)).is_err());
        let s = Signer::from_secret_hex(&format!("  {}\n", "11".repeat(32))).unwrap();
        let addr = s.address(NetworkPrefix::Testnet);
        assert_eq!(address_pk(&addr, NetworkPrefix::Testnet).unwrap(), s.pk);
        assert_eq!(address_tree(&addr, NetworkPrefix::Testnet).unwrap(), s.tree);
        assert!(address_tree(&addr, NetworkPrefix::Mainnet).is_err());
    }
}
