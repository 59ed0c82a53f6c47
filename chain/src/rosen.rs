//! Rosen Bridge EventTrigger boxes on Ergo: one codec for the devnet's stand-in (which writes
//! them) and the indexer (which reads them).
//!
//! Registers: R4 = `Coll[Coll[Byte]]` watcher ids, R5 = `Coll[Coll[Byte]]` event data in this
//! order: sourceTxId, fromChain, toChain, fromAddress, toAddress, amount, bridgeFee, networkFee,
//! sourceChainTokenId, targetChainTokenId, sourceBlockId, height (strings UTF-8, numbers
//! big-endian unsigned integers), R6 = `Coll[Byte]` permit script hash, R7 = `Int` commitments.

use std::collections::HashMap;

use ergo_lib::ergotree_ir::chain::ergo_box::{
    ErgoBox, NonMandatoryRegisterId, NonMandatoryRegisters,
};
use ergo_lib::ergotree_ir::mir::constant::{Constant, Literal};
use ergo_lib::ergotree_ir::mir::value::{CollKind, NativeColl};

/// The transfer an EventTrigger box attests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosenEvent {
    pub source_tx_id: String,
    pub from_chain: String,
    pub to_chain: String,
    pub from_address: String,
    pub to_address: String,
    pub amount: u128,
    pub bridge_fee: u128,
    pub network_fee: u128,
    pub source_token: String,
    pub target_token: String,
    pub source_block: String,
    pub source_height: u128,
}

fn bytes_of(l: &Literal) -> Option<Vec<u8>> {
    match l {
        Literal::Coll(CollKind::NativeColl(NativeColl::CollByte(v))) => {
            Some(v.iter().map(|x| *x as u8).collect())
        }
        _ => None,
    }
}

fn number(v: &[u8]) -> Option<u128> {
    (v.len() <= 16).then(|| v.iter().fold(0u128, |acc, x| (acc << 8) | *x as u128))
}

fn text(v: &[u8]) -> Option<String> {
    String::from_utf8(v.to_vec()).ok()
}

impl RosenEvent {
    /// The event of a box with the EventTrigger register shape (R5 twelve byte strings, R6 a
    /// byte string); `None` for any other box.
    pub fn from_box(b: &ErgoBox) -> Option<RosenEvent> {
        let r5 = b
            .additional_registers
            .get_constant(NonMandatoryRegisterId::R5)
            .ok()??;
        let f: Vec<Vec<u8>> = match &r5.v {
            Literal::Coll(CollKind::WrappedColl { items, .. }) if items.len() == 12 => {
                items.iter().map(bytes_of).collect::<Option<Vec<_>>>()?
            }
            _ => return None,
        };
        let r6 = b
            .additional_registers
            .get_constant(NonMandatoryRegisterId::R6)
            .ok()??;
        bytes_of(&r6.v)?;
        Some(RosenEvent {
            source_tx_id: text(&f[0])?,
            from_chain: text(&f[1])?,
            to_chain: text(&f[2])?,
            from_address: text(&f[3])?,
            to_address: text(&f[4])?,
            amount: number(&f[5])?,
            bridge_fee: number(&f[6])?,
            network_fee: number(&f[7])?,
            source_token: text(&f[8])?,
            target_token: text(&f[9])?,
            source_block: text(&f[10])?,
            source_height: number(&f[11])?,
        })
    }

    /// EventTrigger registers for this event (numbers as 8-byte big-endian when they fit).
    pub fn to_registers(
        &self,
        watcher_ids: Vec<Vec<u8>>,
        permit_script_hash: Vec<u8>,
        commitments: i32,
    ) -> NonMandatoryRegisters {
        let n = |x: u128| match u64::try_from(x) {
            Ok(v) => v.to_be_bytes().to_vec(),
            Err(_) => x.to_be_bytes().to_vec(),
        };
        let fields: Vec<Vec<u8>> = vec![
            self.source_tx_id.as_bytes().to_vec(),
            self.from_chain.as_bytes().to_vec(),
            self.to_chain.as_bytes().to_vec(),
            self.from_address.as_bytes().to_vec(),
            self.to_address.as_bytes().to_vec(),
            n(self.amount),
            n(self.bridge_fee),
            n(self.network_fee),
            self.source_token.as_bytes().to_vec(),
            self.target_token.as_bytes().to_vec(),
            self.source_block.as_bytes().to_vec(),
            n(self.source_height),
        ];
        let regs: HashMap<NonMandatoryRegisterId, Constant> = [
            (NonMandatoryRegisterId::R4, Constant::from(watcher_ids)),
            (NonMandatoryRegisterId::R5, Constant::from(fields)),
            (
                NonMandatoryRegisterId::R6,
                Constant::from(permit_script_hash),
            ),
            (NonMandatoryRegisterId::R7, Constant::from(commitments)),
        ]
        .into_iter()
        .collect();
        NonMandatoryRegisters::new(regs).expect("four registers")
    }
}
