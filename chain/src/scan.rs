//! EIP-1 tracking rules evaluated against boxes: the devnet's `/scan/*` endpoints and the tests
//! of `scanner-rules/` use this one evaluator.
//!
//! Rule semantics follow the node: `containsAsset` looks at token ids; `equals` /
//! `contains` on R1 (the default) compare against the box's ErgoTree bytes, on R4–R9 against the
//! register's serialized constant, both given as hex in `value`.

use crate::types::TrackingRule;
use ergo_lib::ergotree_ir::chain::ergo_box::{ErgoBox, NonMandatoryRegisterId};
use ergo_lib::ergotree_ir::serialization::SigmaSerializable;

/// Check a rule is well formed (hex values, known registers) before it is stored.
pub fn check_rule(rule: &TrackingRule) -> Result<(), String> {
    match rule {
        TrackingRule::ContainsAsset { asset_id } => {
            let b = hex::decode(asset_id).map_err(|e| format!("assetId: {e}"))?;
            if b.len() != 32 {
                return Err(format!("assetId: expected 32 bytes, got {}", b.len()));
            }
            Ok(())
        }
        TrackingRule::Contains { register, value } | TrackingRule::Equals { register, value } => {
            hex::decode(value).map_err(|e| format!("value: {e}"))?;
            register_index(register.as_deref()).map(|_| ())
        }
        TrackingRule::And { args } | TrackingRule::Or { args } => {
            if args.is_empty() {
                return Err("and/or: args must not be empty".into());
            }
            args.iter().try_for_each(check_rule)
        }
    }
}

fn register_index(register: Option<&str>) -> Result<u8, String> {
    match register.unwrap_or("R1") {
        "R0" => Ok(0),
        "R1" => Ok(1),
        "R2" => Ok(2),
        r @ ("R4" | "R5" | "R6" | "R7" | "R8" | "R9") => Ok(r[1..].parse().expect("digit")),
        other => Err(format!(
            "register: unsupported {other:?} (R0, R1, R2, R4..R9)"
        )),
    }
}

/// Bytes a rule compares for register `r` of `b`.
fn register_bytes(b: &ErgoBox, r: u8) -> Option<Vec<u8>> {
    match r {
        0 => Some(b.value.as_u64().to_be_bytes().to_vec()),
        1 => b.ergo_tree.sigma_serialize_bytes().ok(),
        2 => b.tokens.as_ref().map(|ts| {
            ts.iter()
                .flat_map(|t| {
                    let mut v: Vec<u8> = t.token_id.into();
                    v.extend_from_slice(&t.amount.as_u64().to_be_bytes());
                    v
                })
                .collect()
        }),
        4..=9 => {
            let id = NonMandatoryRegisterId::try_from(r as i8).ok()?;
            let c = b.additional_registers.get_constant(id).ok()??;
            c.sigma_serialize_bytes().ok()
        }
        _ => None,
    }
}

pub fn matches(rule: &TrackingRule, b: &ErgoBox) -> bool {
    match rule {
        TrackingRule::ContainsAsset { asset_id } => b
            .tokens
            .iter()
            .flatten()
            .any(|t| String::from(t.token_id) == asset_id.to_lowercase()),
        TrackingRule::Equals { register, value } => {
            let (Ok(r), Ok(want)) = (register_index(register.as_deref()), hex::decode(value))
            else {
                return false;
            };
            register_bytes(b, r).is_some_and(|have| have == want)
        }
        TrackingRule::Contains { register, value } => {
            let (Ok(r), Ok(want)) = (register_index(register.as_deref()), hex::decode(value))
            else {
                return false;
            };
            register_bytes(b, r).is_some_and(|have| {
                want.is_empty() || have.windows(want.len()).any(|w| w == want.as_slice())
            })
        }
        TrackingRule::And { args } => args.iter().all(|a| matches(a, b)),
        TrackingRule::Or { args } => args.iter().any(|a| matches(a, b)),
    }
}
