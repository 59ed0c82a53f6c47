//! Rosen Bridge lock requests on Ergo (`dgcm tx bridge-out`): how a provider takes earnings
//! (ERG or a bridged rs-token) to another chain.
//!
//! The format is Rosen's own (rosen-bridge/rosen-sdk `ErgoRosenChainSDK.createLockBox`, and the
//! watchers' Ergo extractor): one output to the bridge's **lock address** whose `R4` is a
//! `Coll[Coll[Byte]]` of five UTF-8 strings, in this order:
//! `toChain`, `toAddress`, `networkFee`, `bridgeFee`, `fromAddress` (fees as decimal strings in
//! the transferred asset's base units). An ERG transfer locks the amount as the box value; a
//! token transfer locks the token in the box (value = the box minimum). A lock box whose `R4`
//! cannot be read, or whose asset the target chain does not support, is kept by the bridge as a
//! donation, so every field is checked before building.

use dgcm_contracts::codec::{candidate, min_value};
use ergo_lib::ergotree_ir::chain::ergo_box::{ErgoBox, ErgoBoxCandidate, NonMandatoryRegisterId};
use ergo_lib::ergotree_ir::chain::token::TokenId;
use ergo_lib::ergotree_ir::ergo_tree::ErgoTree;
use ergo_lib::ergotree_ir::mir::constant::{Constant, TryExtractInto};

use crate::error::{Result, TxError};

/// A lock request: what to send where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeOut {
    /// The Rosen lock address's tree.
    pub lock: ErgoTree,
    /// Target chain as Rosen names it (`cardano`, `bitcoin`, `ethereum`, `binance`, `doge`, ...).
    pub to_chain: String,
    /// Destination address on the target chain.
    pub to_address: String,
    /// `None`: ERG; otherwise the token locked.
    pub token: Option<TokenId>,
    /// Base units (nanoERG or the token's) locked, fees included.
    pub amount: u64,
    pub bridge_fee: u64,
    pub network_fee: u64,
}

/// The five fields of a lock request's R4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockRequest {
    pub to_chain: String,
    pub to_address: String,
    pub network_fee: String,
    pub bridge_fee: String,
    pub from_address: String,
}

impl LockRequest {
    pub fn to_register(&self) -> Constant {
        Constant::from(vec![
            self.to_chain.as_bytes().to_vec(),
            self.to_address.as_bytes().to_vec(),
            self.network_fee.as_bytes().to_vec(),
            self.bridge_fee.as_bytes().to_vec(),
            self.from_address.as_bytes().to_vec(),
        ])
    }

    /// Reads R4 of a lock box as the watchers do; `None` when it is not five UTF-8 strings.
    pub fn from_box(b: &ErgoBox) -> Option<LockRequest> {
        let c = b
            .additional_registers
            .get_constant(NonMandatoryRegisterId::R4)
            .ok()??;
        let v: Vec<Vec<u8>> = c.v.try_extract_into().ok()?;
        let [a, b, c, d, e]: [Vec<u8>; 5] = v.try_into().ok()?;
        let s = |x: Vec<u8>| String::from_utf8(x).ok();
        Some(LockRequest {
            to_chain: s(a)?,
            to_address: s(b)?,
            network_fee: s(c)?,
            bridge_fee: s(d)?,
            from_address: s(e)?,
        })
    }
}

impl BridgeOut {
    /// Checks every field the bridge reads (errors name the flag).
    pub fn check(&self) -> Result<()> {
        let chain = &self.to_chain;
        if chain.is_empty()
            || chain.len() > 32
            || !chain
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(TxError::input(
                "to-chain",
                format!("{chain:?} is not a Rosen chain name (lowercase, e.g. cardano, ethereum)"),
            ));
        }
        if chain == "ergo" {
            return Err(TxError::input(
                "to-chain",
                "the lock request leaves Ergo; choose another chain",
            ));
        }
        let to = &self.to_address;
        if to.is_empty()
            || to.len() > 256
            || to.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(TxError::input(
                "to-address",
                format!("{to:?} is not an address (1..256 characters, no spaces)"),
            ));
        }
        let fees = self
            .bridge_fee
            .checked_add(self.network_fee)
            .ok_or_else(|| TxError::input("bridge-fee", "bridge fee + network fee overflows"))?;
        if self.amount <= fees {
            return Err(TxError::input(
                "amount",
                format!(
                    "{} does not exceed bridge fee + network fee ({fees}): nothing would arrive",
                    self.amount
                ),
            ));
        }
        Ok(())
    }

    /// The lock box for `from_address` (the sender's address, as the guards refund to it).
    pub fn lock_box(&self, from_address: &str, height: u32) -> Result<ErgoBoxCandidate> {
        self.check()?;
        let req = LockRequest {
            to_chain: self.to_chain.clone(),
            to_address: self.to_address.clone(),
            network_fee: self.network_fee.to_string(),
            bridge_fee: self.bridge_fee.to_string(),
            from_address: from_address.to_string(),
        };
        let (value, tokens) = match self.token {
            None => (self.amount, None),
            Some(id) => (0, dgcm_contracts::util::tokens(&[(id, self.amount)])),
        };
        let b = candidate(
            "rosen lock",
            self.lock.clone(),
            value,
            tokens,
            vec![req.to_register()],
            height,
        )
        .map_err(|e| TxError::input("amount", e.to_string()))?;
        if self.token.is_none() && *b.value.as_u64() != self.amount {
            return Err(TxError::input(
                "amount",
                format!(
                    "{} nanoERG is below the {} nanoERG the lock box needs",
                    self.amount,
                    min_value(&b)
                ),
            ));
        }
        Ok(b)
    }
}
