//! A block (or the genesis boxes) turned into table rows. Pure: no database here.

use dgcm_chain::FullBlock;
use diesel::prelude::*;
use ergo_lib::chain::transaction::{Transaction, TxId};
use ergo_lib::ergotree_ir::chain::ergo_box::{BoxId, ErgoBox, NonMandatoryRegisterId};
use ergo_lib::ergotree_ir::serialization::SigmaSerializable;

use crate::decode::Decoder;
use crate::schema::*;

#[derive(Insertable, Queryable, Debug, Clone, PartialEq)]
#[diesel(table_name = headers, treat_none_as_default_value = false)]
pub struct HeaderRow {
    pub height: i32,
    pub header_id: Vec<u8>,
    pub parent_id: Vec<u8>,
    pub timestamp: i64,
    pub version: i16,
    pub tx_count: i32,
}

#[derive(Insertable, Queryable, Debug, Clone, PartialEq)]
#[diesel(table_name = transactions, treat_none_as_default_value = false)]
pub struct TxRow {
    pub tx_id: Vec<u8>,
    pub height: i32,
    pub tx_index: i32,
}

#[derive(Insertable, Debug, Clone, PartialEq)]
#[diesel(table_name = boxes, treat_none_as_default_value = false)]
pub struct BoxRow {
    pub box_id: Vec<u8>,
    pub tx_id: Vec<u8>,
    pub output_index: i32,
    pub height: i32,
    pub creation_height: i32,
    pub value: i64,
    pub ergo_tree: Vec<u8>,
    pub kind: Option<String>,
    /// Set at insert time when the same batch spends the box (see `Store::apply_many`).
    pub spent_tx_id: Option<Vec<u8>>,
    pub spent_height: Option<i32>,
}

#[derive(Insertable, Debug, Clone, PartialEq)]
#[diesel(table_name = inputs, treat_none_as_default_value = false)]
pub struct InputRow {
    pub tx_id: Vec<u8>,
    pub input_index: i32,
    pub box_id: Vec<u8>,
    pub height: i32,
    /// Context variable 0 when it is a Byte: the DGCM path selector.
    pub path: Option<i16>,
}

#[derive(Insertable, Debug, Clone, PartialEq)]
#[diesel(table_name = assets, treat_none_as_default_value = false)]
pub struct AssetRow {
    pub box_id: Vec<u8>,
    pub asset_index: i16,
    pub token_id: Vec<u8>,
    pub amount: i64,
    pub height: i32,
}

#[derive(Insertable, Debug, Clone, PartialEq)]
#[diesel(table_name = registers, treat_none_as_default_value = false)]
pub struct RegisterRow {
    pub box_id: Vec<u8>,
    pub register: i16,
    pub stype: String,
    pub serialized: Vec<u8>,
    pub height: i32,
}

#[derive(Insertable, Debug, Clone, PartialEq)]
#[diesel(table_name = tokens, treat_none_as_default_value = false)]
pub struct TokenRow {
    pub token_id: Vec<u8>,
    pub issuing_box_id: Vec<u8>,
    pub emission_amount: i64,
    pub name: Option<String>,
    pub description: Option<String>,
    pub decimals: Option<i32>,
    pub height: i32,
}

#[derive(Insertable, Debug, Clone, PartialEq)]
#[diesel(table_name = protocol_boxes, treat_none_as_default_value = false)]
pub struct ProtocolBoxRow {
    pub box_id: Vec<u8>,
    pub kind: String,
    pub height: i32,
    pub decoded: Option<serde_json::Value>,
    pub error: Option<String>,
}

#[derive(Insertable, Debug, Clone, PartialEq)]
#[diesel(table_name = listings, treat_none_as_default_value = false)]
pub struct ListingRow {
    pub box_id: Vec<u8>,
    pub listing_nft: Vec<u8>,
    pub provider_pk: Vec<u8>,
    pub price_per_hour: i64,
    pub collateral_per_hour: i64,
    pub min_hours: i64,
    pub max_hours: i64,
    pub vram_mib: i64,
    pub gpu_count: i64,
    pub benchmark_score: i64,
    pub model: String,
    pub region: String,
    pub endpoint: String,
    pub stake: i64,
    pub height: i32,
    /// The worker's limits and R7 busyUntil, `{memory_mib, cpu_millis, pids, disk_mib,
    /// busy_until}` (migration 000010 derives a column from each).
    pub capacity: serde_json::Value,
}

#[derive(Insertable, Debug, Clone, PartialEq)]
#[diesel(table_name = orders, treat_none_as_default_value = false)]
pub struct OrderRow {
    pub box_id: Vec<u8>,
    pub consumer_pk: Vec<u8>,
    pub budget: i64,
    pub max_price_per_hour: i64,
    pub hours: i64,
    pub min_vram_mib: i64,
    pub min_gpu_count: i64,
    pub min_benchmark_score: i64,
    pub expiry_height: i64,
    pub matcher_fee_cap: i64,
    pub listing_nft: Option<Vec<u8>>,
    pub model: Option<String>,
    pub region: Option<String>,
    pub job_spec_hash: Vec<u8>,
    pub height: i32,
    /// The job's requests (order R5[8..11]), `{memory_mib, cpu_millis, pids, disk_mib}`.
    pub capacity: serde_json::Value,
}

#[derive(Insertable, Debug, Clone, PartialEq)]
#[diesel(table_name = leases, treat_none_as_default_value = false)]
pub struct LeaseRow {
    pub box_id: Vec<u8>,
    pub consumer_pk: Vec<u8>,
    pub provider_pk: Vec<u8>,
    pub listing_nft: Vec<u8>,
    pub price_per_hour: i64,
    pub hours: i64,
    pub payment: i64,
    pub collateral: i64,
    pub start_height: i64,
    pub deadline: i64,
    pub exec_fee_cap: i64,
    pub used_blocks: i64,
    pub completed_at: i64,
    pub job_spec_hash: Vec<u8>,
    pub usage_commitment: Vec<u8>,
    pub height: i32,
}

#[derive(Insertable, Debug, Clone, PartialEq)]
#[diesel(table_name = lets_accounts, treat_none_as_default_value = false)]
pub struct AccountRow {
    pub box_id: Vec<u8>,
    pub owner_pk: Vec<u8>,
    pub balance: i64,
    pub erg_collateral: i64,
    pub sigusd_collateral: i64,
    pub height: i32,
}

#[derive(Insertable, Debug, Clone, PartialEq)]
#[diesel(table_name = arbitration_cases, treat_none_as_default_value = false)]
pub struct ArbitrationRow {
    pub box_id: Vec<u8>,
    pub lease_box_id: Vec<u8>,
    pub consumer_pk: Vec<u8>,
    pub provider_pk: Vec<u8>,
    pub payment: i64,
    pub collateral: i64,
    pub claimed_pay: i64,
    pub timeout: i64,
    pub height: i32,
}

#[derive(Insertable, Debug, Clone, PartialEq)]
#[diesel(table_name = rosen_deposits, treat_none_as_default_value = false)]
pub struct RosenDepositRow {
    pub box_id: Vec<u8>,
    pub owner_pk: Vec<u8>,
    pub value: i64,
    pub tokens: serde_json::Value,
    pub height: i32,
}

#[derive(Insertable, Debug, Clone, PartialEq)]
#[diesel(table_name = rosen_events, treat_none_as_default_value = false)]
pub struct RosenEventRow {
    pub box_id: Vec<u8>,
    pub source_tx_id: String,
    pub from_chain: String,
    pub to_chain: String,
    pub from_address: String,
    pub to_address: String,
    pub amount: String,
    pub bridge_fee: String,
    pub network_fee: String,
    pub source_token: String,
    pub target_token: String,
    pub source_block: String,
    pub source_height: String,
    pub to_ergo_tree: Option<Vec<u8>>,
    pub height: i32,
}

/// A Rosen EventTrigger box (see `dgcm_chain::rosen`) as a row; amounts as decimal text (they
/// may exceed i64), the destination address parsed to its ErgoTree when it is an Ergo address.
pub fn rosen_event(b: &ErgoBox, height: i32) -> Option<RosenEventRow> {
    let ev = dgcm_chain::rosen::RosenEvent::from_box(b)?;
    let to_ergo_tree =
        ergo_lib::ergotree_ir::chain::address::AddressEncoder::unchecked_parse_address_from_str(
            &ev.to_address,
        )
        .ok()
        .and_then(|a| a.script().ok())
        .and_then(|t| t.sigma_serialize_bytes().ok());
    Some(RosenEventRow {
        box_id: box_bytes(b.box_id()),
        source_tx_id: ev.source_tx_id,
        from_chain: ev.from_chain,
        to_chain: ev.to_chain,
        from_address: ev.from_address,
        to_address: ev.to_address,
        amount: ev.amount.to_string(),
        bridge_fee: ev.bridge_fee.to_string(),
        network_fee: ev.network_fee.to_string(),
        source_token: ev.source_token,
        target_token: ev.target_token,
        source_block: ev.source_block,
        source_height: ev.source_height.to_string(),
        to_ergo_tree,
        height,
    })
}

/// The typed row of a decoded DGCM box (box id and height are filled by [`BlockRows`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Typed {
    Listing(ListingRow),
    Order(OrderRow),
    Lease(LeaseRow),
    Account(AccountRow),
    Arbitration(ArbitrationRow),
    RosenDeposit(RosenDepositRow),
}

/// Context variable 0 of an input when it is a Byte (the DGCM path selector).
fn path_selector(input: &ergo_lib::chain::transaction::Input) -> Option<i16> {
    match input.spending_proof.extension.values.get(&0)?.v {
        ergo_lib::ergotree_ir::mir::constant::Literal::Byte(b) => Some(b as i16),
        _ => None,
    }
}

/// Everything one block writes.
#[derive(Debug, Default, Clone)]
pub struct BlockRows {
    pub header: Option<HeaderRow>,
    pub txs: Vec<TxRow>,
    pub boxes: Vec<BoxRow>,
    pub inputs: Vec<InputRow>,
    pub assets: Vec<AssetRow>,
    pub registers: Vec<RegisterRow>,
    pub tokens: Vec<TokenRow>,
    pub protocol: Vec<ProtocolBoxRow>,
    pub listings: Vec<ListingRow>,
    pub orders: Vec<OrderRow>,
    pub leases: Vec<LeaseRow>,
    pub accounts: Vec<AccountRow>,
    pub arbitrations: Vec<ArbitrationRow>,
    pub rosen_deposits: Vec<RosenDepositRow>,
    pub rosen_events: Vec<RosenEventRow>,
}

fn bytes<T: Into<Vec<u8>>>(x: T) -> Vec<u8> {
    x.into()
}

pub fn box_bytes(id: BoxId) -> Vec<u8> {
    id.as_ref().to_vec()
}

pub fn tx_bytes(id: TxId) -> Vec<u8> {
    id.0.into()
}

impl BlockRows {
    pub fn from_block(block: &FullBlock, decoder: &Decoder) -> BlockRows {
        let height = block.height() as i32;
        let mut rows = BlockRows {
            header: Some(HeaderRow {
                height,
                header_id: block.id().0.into(),
                parent_id: block.parent_id().0.into(),
                timestamp: block.header.timestamp as i64,
                version: block.header.version as i16,
                tx_count: block.transactions().len() as i32,
            }),
            ..Default::default()
        };
        for (i, tx) in block.transactions().iter().enumerate() {
            rows.add_tx(tx, i, height, decoder);
        }
        rows
    }

    /// Rows of many blocks, built on up to `threads` threads (row building is CPU-bound: tree
    /// serialisation dominates) while the database applies the previous batch.
    pub fn from_blocks(
        blocks: &[std::sync::Arc<FullBlock>],
        decoder: &Decoder,
        threads: usize,
    ) -> Vec<BlockRows> {
        let per = blocks.len().div_ceil(threads.max(1)).max(1);
        if blocks.len() <= 1 || threads <= 1 {
            return blocks
                .iter()
                .map(|b| BlockRows::from_block(b, decoder))
                .collect();
        }
        std::thread::scope(|s| {
            let parts: Vec<_> = blocks
                .chunks(per)
                .map(|part| {
                    s.spawn(move || {
                        part.iter()
                            .map(|b| BlockRows::from_block(b, decoder))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            parts
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    }

    /// Genesis boxes: height 0, no header, no transaction rows.
    pub fn from_genesis(boxes: &[ErgoBox], decoder: &Decoder) -> BlockRows {
        let mut rows = BlockRows::default();
        for b in boxes {
            rows.add_box(b, 0, decoder);
        }
        rows
    }

    fn add_tx(&mut self, tx: &Transaction, index: usize, height: i32, decoder: &Decoder) {
        let tx_id = tx_bytes(tx.id());
        self.txs.push(TxRow {
            tx_id: tx_id.clone(),
            height,
            tx_index: index as i32,
        });
        for (i, input) in tx.inputs.iter().enumerate() {
            self.inputs.push(InputRow {
                tx_id: tx_id.clone(),
                input_index: i as i32,
                box_id: box_bytes(input.box_id),
                height,
                path: path_selector(input),
            });
        }
        let first_input: Vec<u8> = box_bytes(tx.inputs.first().box_id);
        for out in tx.outputs.iter() {
            self.add_box(out, height, decoder);
            // EIP-4: a token whose id is the first input's id is minted here.
            for t in out.tokens.iter().flatten() {
                let id = bytes(t.token_id);
                if id == first_input && !self.tokens.iter().any(|r| r.token_id == id) {
                    self.tokens
                        .push(eip4_token(out, id, *t.amount.as_u64(), height));
                }
            }
        }
    }

    fn add_box(&mut self, b: &ErgoBox, height: i32, decoder: &Decoder) {
        let box_id = box_bytes(b.box_id());
        let ergo_tree = b.ergo_tree.sigma_serialize_bytes().unwrap_or_default();
        let decoded = decoder.decode(b, &ergo_tree);
        self.boxes.push(BoxRow {
            box_id: box_id.clone(),
            tx_id: tx_bytes(b.transaction_id),
            output_index: b.index as i32,
            height,
            creation_height: b.creation_height as i32,
            value: *b.value.as_u64() as i64,
            ergo_tree,
            kind: decoded.as_ref().map(|d| d.kind.to_string()),
            spent_tx_id: None,
            spent_height: None,
        });
        for (i, t) in b.tokens.iter().flatten().enumerate() {
            self.assets.push(AssetRow {
                box_id: box_id.clone(),
                asset_index: i as i16,
                token_id: bytes(t.token_id),
                amount: *t.amount.as_u64() as i64,
                height,
            });
        }
        for reg in 4..=9i8 {
            let Ok(id) = NonMandatoryRegisterId::try_from(reg) else {
                continue;
            };
            match b.additional_registers.get_constant(id) {
                Ok(Some(c)) => self.registers.push(RegisterRow {
                    box_id: box_id.clone(),
                    register: reg as i16,
                    stype: format!("{:?}", c.tpe),
                    serialized: c.sigma_serialize_bytes().unwrap_or_default(),
                    height,
                }),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(box_id = %hex::encode(&box_id), register = reg, error = %e, "register does not parse; stored as unparsed");
                    self.registers.push(RegisterRow {
                        box_id: box_id.clone(),
                        register: reg as i16,
                        stype: "unparsed".into(),
                        serialized: vec![],
                        height,
                    });
                }
            }
        }
        if b.additional_registers.len() >= 2 {
            if let Some(ev) = rosen_event(b, height) {
                self.rosen_events.push(ev);
            }
        }
        if let Some(d) = decoded {
            let id = box_id.clone();
            match d.typed {
                Some(Typed::Listing(r)) => self.listings.push(ListingRow {
                    box_id: id,
                    height,
                    ..r
                }),
                Some(Typed::Order(r)) => self.orders.push(OrderRow {
                    box_id: id,
                    height,
                    ..r
                }),
                Some(Typed::Lease(r)) => self.leases.push(LeaseRow {
                    box_id: id,
                    height,
                    ..r
                }),
                Some(Typed::Account(r)) => self.accounts.push(AccountRow {
                    box_id: id,
                    height,
                    ..r
                }),
                Some(Typed::Arbitration(r)) => self.arbitrations.push(ArbitrationRow {
                    box_id: id,
                    height,
                    ..r
                }),
                Some(Typed::RosenDeposit(r)) => self.rosen_deposits.push(RosenDepositRow {
                    box_id: id,
                    height,
                    ..r
                }),
                None => {}
            }
            self.protocol.push(ProtocolBoxRow {
                box_id,
                kind: d.kind.to_string(),
                height,
                decoded: d.json,
                error: d.error,
            });
        }
    }

    pub fn box_count(&self) -> usize {
        self.boxes.len()
    }
}

fn register_utf8(b: &ErgoBox, id: NonMandatoryRegisterId) -> Option<String> {
    let c = b.additional_registers.get_constant(id).ok()??;
    use ergo_lib::ergotree_ir::mir::constant::TryExtractInto;
    let v: Vec<u8> = c.v.try_extract_into::<Vec<u8>>().ok()?;
    String::from_utf8(v).ok()
}

fn eip4_token(out: &ErgoBox, id: Vec<u8>, amount: u64, height: i32) -> TokenRow {
    TokenRow {
        issuing_box_id: box_bytes(out.box_id()),
        token_id: id,
        emission_amount: amount as i64,
        name: register_utf8(out, NonMandatoryRegisterId::R4),
        description: register_utf8(out, NonMandatoryRegisterId::R5),
        decimals: register_utf8(out, NonMandatoryRegisterId::R6)
            .and_then(|s| s.trim().parse().ok()),
        height,
    }
}
