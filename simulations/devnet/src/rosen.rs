//! A Rosen Bridge stand-in: `POST /devnet/rosen/transfer` plays the watchers and guards of a
//! transfer from another chain. It creates an EventTrigger box in Rosen's real register format
//! and the guards' payment of the bridged token to the destination address, both signed by a
//! devnet "guards" wallet (the real trigger and lock contracts are not deployed here).
//!
//! EventTrigger registers: R4 = `Coll[Coll[Byte]]` watcher ids, R5 = `Coll[Coll[Byte]]` event
//! data (sourceTxId, fromChain, toChain, fromAddress, toAddress, amount, bridgeFee, networkFee,
//! sourceChainTokenId, targetChainTokenId, sourceBlockId, height; strings as UTF-8, numbers as
//! big-endian integers), R6 = `Coll[Byte]` permit script hash, R7 = `Int` commitment count.
//! The payment carries the token amount minus both fees and no registers.

use dgcm_chain::rosen::RosenEvent;
use ergo_lib::ergotree_ir::chain::address::AddressEncoder;
use ergo_lib::ergotree_ir::chain::ergo_box::box_value::BoxValue;
use ergo_lib::ergotree_ir::chain::ergo_box::{ErgoBoxCandidate, NonMandatoryRegisters};
use ergo_lib::ergotree_ir::chain::token::{Token, TokenAmount};
use serde::{Deserialize, Serialize};

use crate::genesis::{blake2b256, token_id, TestWallet, ERG, TOKENS};
use crate::state::DevnetState;
use crate::traffic::{signed_payment, spendable_boxes};

/// `POST /devnet/rosen/transfer` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosenTransfer {
    /// Ergo address that receives the bridged token (e.g. a DGCM Rosen deposit address).
    pub to_address: String,
    /// Stand-in token name: rsUSDT, rsADA, rsBTC or rsETH, or ERG (native ERG coming home; amount in
    /// nanoERG, paid as the box value).
    pub token: String,
    /// Amount in the token's base units, before fees.
    pub amount: u64,
    #[serde(default = "default_chain")]
    pub from_chain: String,
    #[serde(default)]
    pub from_address: Option<String>,
    #[serde(default)]
    pub source_tx: Option<String>,
    #[serde(default)]
    pub bridge_fee: u64,
    #[serde(default)]
    pub network_fee: u64,
}

fn default_chain() -> String {
    "ethereum".into()
}

#[derive(Debug, Serialize)]
pub struct RosenTransferDone {
    pub source_tx: String,
    pub event_tx: String,
    pub event_box: String,
    pub payment_tx: String,
    pub payment_box: String,
    pub paid: u64,
}

/// The devnet's guards wallet.
pub fn guards() -> TestWallet {
    TestWallet::derive("dgcm-devnet/rosen-guards")
}

/// The guards' spendable boxes without their EventTrigger boxes (which carry registers): an
/// event stays on chain for relays and the indexer to read.
fn guard_funds(
    state: &DevnetState,
    g: &TestWallet,
) -> Vec<ergo_lib::ergotree_ir::chain::ergo_box::ErgoBox> {
    spendable_boxes(state, &g.tree)
        .into_iter()
        .filter(|b| b.additional_registers.is_empty())
        .collect()
}

/// Create the EventTrigger and the payment (two transactions in the mempool).
pub fn transfer(state: &mut DevnetState, req: &RosenTransfer) -> Result<RosenTransferDone, String> {
    // ERG comes home from another chain (rsERG burnt there, native ERG unlocked here).
    let native_erg = req.token == "ERG";
    if !native_erg
        && !TOKENS
            .iter()
            .any(|(n, _, _)| *n == req.token && n.starts_with("rs"))
    {
        return Err(format!(
            "token: {:?} is not a bridged stand-in (rsUSDT, rsADA, rsBTC, rsETH) nor ERG",
            req.token
        ));
    }
    let fees = req
        .bridge_fee
        .checked_add(req.network_fee)
        .ok_or("bridge_fee + network_fee overflows")?;
    if req.amount == 0 || req.amount <= fees {
        return Err("amount: must be positive and above bridge_fee + network_fee".into());
    }
    let to = AddressEncoder::unchecked_parse_address_from_str(&req.to_address)
        .map_err(|e| format!("to_address: not an Ergo address ({e})"))?;
    let to_tree = to.script().map_err(|e| format!("to_address: {e}"))?;
    let height = state.height() + 1;
    let source_tx = req.source_tx.clone().unwrap_or_else(|| {
        hex::encode(blake2b256(
            format!(
                "{}/{}/{}/{height}",
                req.from_chain, req.to_address, req.amount
            )
            .as_bytes(),
        ))
    });
    let ev = RosenEvent {
        source_tx_id: source_tx.clone(),
        from_chain: req.from_chain.clone(),
        to_chain: "ergo".into(),
        from_address: req
            .from_address
            .clone()
            .unwrap_or_else(|| "devnet-sender".into()),
        to_address: req.to_address.clone(),
        amount: req.amount as u128,
        bridge_fee: req.bridge_fee as u128,
        network_fee: req.network_fee as u128,
        source_token: format!("{}-on-{}", req.token, req.from_chain),
        target_token: if native_erg {
            "erg".into()
        } else {
            String::from(token_id(&req.token))
        },
        source_block: hex::encode(blake2b256(source_tx.as_bytes())),
        source_height: height as u128,
    };
    let watcher_ids: Vec<Vec<u8>> = (0..3)
        .map(|i| blake2b256(format!("watcher/{i}").as_bytes()).to_vec())
        .collect();
    let regs = ev.to_registers(watcher_ids, blake2b256(b"devnet-permit").to_vec(), 3);
    let g = guards();
    let event = ErgoBoxCandidate {
        value: BoxValue::new(ERG / 100).map_err(|e| e.to_string())?,
        ergo_tree: g.tree.clone(),
        tokens: None,
        additional_registers: regs,
        creation_height: height,
    };
    let event_tx = signed_payment(state, &g, guard_funds(state, &g), vec![event])
        .map_err(|e| e.to_string())?;
    let event_id = state.submit(event_tx.clone()).map_err(|e| e.to_string())?;
    let paid = req.amount - fees;
    let payment = if native_erg {
        ErgoBoxCandidate {
            value: BoxValue::new(paid).map_err(|e| format!("amount: {e}"))?,
            ergo_tree: to_tree,
            tokens: None,
            additional_registers: NonMandatoryRegisters::empty(),
            creation_height: height,
        }
    } else {
        ErgoBoxCandidate {
            value: BoxValue::new(ERG / 100).map_err(|e| e.to_string())?,
            ergo_tree: to_tree,
            tokens: Some(
                vec![Token {
                    token_id: token_id(&req.token),
                    amount: TokenAmount::try_from(paid).map_err(|e| e.to_string())?,
                }]
                .try_into()
                .map_err(|_| "one token")?,
            ),
            additional_registers: NonMandatoryRegisters::empty(),
            creation_height: height,
        }
    };
    let pay_tx = signed_payment(state, &g, guard_funds(state, &g), vec![payment])
        .map_err(|e| e.to_string())?;
    let pay_id = state.submit(pay_tx.clone()).map_err(|e| e.to_string())?;
    Ok(RosenTransferDone {
        source_tx,
        event_tx: String::from(event_id),
        event_box: String::from(event_tx.outputs.first().box_id()),
        payment_tx: String::from(pay_id),
        payment_box: String::from(pay_tx.outputs.first().box_id()),
        paid,
    })
}
