//! EIP-1 tracking rules (node format: `value`, not `bytes`), one per box kind, for a deployment.
//! `scanner-rules/*.json` holds them for [`ProtocolParams::devnet_default`](crate::ProtocolParams::devnet_default);
//! `cargo test -p dgcm-contracts --test scanner_rules` checks those files against this code
//! (`DGCM_BLESS=1` rewrites them).
//!
//! * Kinds with one tree per deployment (everything but the Rosen deposit): `equals` on R1 (the
//!   ErgoTree bytes) with the final, re-parameterised tree, and, where the codec requires a
//!   protocol token, `and` with `containsAsset` of that token (vault NFT, membership token,
//!   GPUC), so that boxes parked at a protocol address without the token are not tracked.
//! * Rosen deposit (one tree per owner): `contains` on R1 with [`Contracts::rosen_template_suffix`],
//!   the tree bytes after the `OWNER` constant. Every deposit of the deployment contains it
//!   (the owner is the first constant and nothing after it depends on the owner), and nothing
//!   else is expected to: it holds the deployment's ids and the whole script body (hundreds of
//!   bytes). Someone can deliberately embed those bytes in another tree; such a box is tracked
//!   but refused by the codec (`RosenDeposit::parse` requires the exact template for some
//!   owner), so a scan hit is a candidate, the codec the verdict, for every kind.

use serde_json::{json, Value};

use crate::trees::{tree_bytes, Contracts, Kind, TreeError};

fn equals_tree(c: &Contracts, kind: Kind) -> Value {
    json!({"predicate": "equals", "register": "R1", "value": hex::encode(tree_bytes(c.tree(kind)))})
}

fn contains_asset(id: &ergo_lib::ergotree_ir::chain::token::TokenId) -> Value {
    json!({"predicate": "containsAsset", "assetId": String::from(*id)})
}

/// The tracking rule of one kind.
pub fn scanner_rule(c: &Contracts, kind: Kind) -> Result<Value, TreeError> {
    let p = &c.params;
    let with = |id| json!({"predicate": "and", "args": [equals_tree(c, kind), contains_asset(id)]});
    Ok(match kind {
        Kind::Listing => equals_tree(c, kind),
        Kind::Order | Kind::Lease | Kind::Arbitration => with(&p.gpuc_id),
        Kind::LetsMember => with(&p.membership_id),
        Kind::LetsVault => with(&p.vault_nft),
        Kind::RosenDeposit => json!({
            "predicate": "contains",
            "register": "R1",
            "value": hex::encode(c.rosen_template_suffix()?),
        }),
    })
}

/// One `(kind name, tracking rule)` per kind, in [`Kind::ALL`] order.
pub fn scanner_rules(c: &Contracts) -> Result<Vec<(&'static str, Value)>, TreeError> {
    Kind::ALL
        .iter()
        .map(|&k| Ok((k.name(), scanner_rule(c, k)?)))
        .collect()
}

/// The file text of a rule as committed in `scanner-rules/<kind>.json`: two-space indented,
/// `predicate` first and the other keys sorted, trailing newline. Written by hand so that the
/// bytes do not depend on whether serde_json's `preserve_order` feature is on in a build.
pub fn rule_file_text(rule: &Value) -> String {
    let mut s = String::new();
    write_value(&mut s, rule, 0);
    s.push('\n');
    s
}

fn write_value(out: &mut String, v: &Value, depth: usize) {
    let pad = |n: usize| "  ".repeat(n);
    match v {
        Value::Object(m) if !m.is_empty() => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by_key(|k| (k.as_str() != "predicate", k.as_str()));
            out.push_str("{\n");
            for (i, k) in keys.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push_str(": ");
                write_value(out, &m[k.as_str()], depth + 1);
                out.push_str(if i + 1 < keys.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(depth));
            out.push('}');
        }
        Value::Array(a) if !a.is_empty() => {
            out.push_str("[\n");
            for (i, x) in a.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                write_value(out, x, depth + 1);
                out.push_str(if i + 1 < a.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(depth));
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}
