//! Boxes in the node's JSON, rebuilt from `boxes`, `assets` and `registers` (and taken as the
//! node sent them from `mempool_outputs`).

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bytea, Integer, Nullable, Text};

use crate::model::{NodeAsset, NodeBox};
use crate::params::Cursor;
use crate::sql::{Bind, Sql};

type R<T> = Result<T, diesel::result::Error>;

/// A box's assets and registers.
type Parts = (Vec<NodeAsset>, BTreeMap<String, String>);

#[derive(QueryableByName)]
struct BoxRow {
    #[diesel(sql_type = Bytea)]
    box_id: Vec<u8>,
    #[diesel(sql_type = Bytea)]
    tx_id: Vec<u8>,
    #[diesel(sql_type = Integer)]
    output_index: i32,
    #[diesel(sql_type = Integer)]
    height: i32,
    #[diesel(sql_type = Integer)]
    creation_height: i32,
    #[diesel(sql_type = BigInt)]
    value: i64,
    #[diesel(sql_type = Bytea)]
    ergo_tree: Vec<u8>,
    #[diesel(sql_type = Nullable<Bytea>)]
    spent_tx_id: Option<Vec<u8>>,
}

#[derive(QueryableByName)]
struct AssetRow {
    #[diesel(sql_type = Bytea)]
    box_id: Vec<u8>,
    #[diesel(sql_type = Bytea)]
    token_id: Vec<u8>,
    #[diesel(sql_type = BigInt)]
    amount: i64,
}

#[derive(QueryableByName)]
struct RegisterRow {
    #[diesel(sql_type = Bytea)]
    box_id: Vec<u8>,
    #[diesel(sql_type = diesel::sql_types::SmallInt)]
    register: i16,
    #[diesel(sql_type = Bytea)]
    serialized: Vec<u8>,
}

const BOX_COLS: &str = "b.box_id, b.tx_id, b.output_index, b.height, b.creation_height, b.value, \
    b.ergo_tree, b.spent_tx_id";

/// Assets and registers for `rows`, assembled in the order of `rows`.
fn assemble(c: &mut PgConnection, rows: Vec<BoxRow>) -> R<Vec<NodeBox>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Vec<u8>> = rows.iter().map(|r| r.box_id.clone()).collect();
    let assets: Vec<AssetRow> = diesel::sql_query(
        "SELECT box_id, token_id, amount FROM assets WHERE box_id = ANY($1) ORDER BY box_id, asset_index",
    )
    .bind::<Array<Bytea>, _>(&ids)
    .load(c)?;
    let regs: Vec<RegisterRow> = diesel::sql_query(
        "SELECT box_id, register, serialized FROM registers WHERE box_id = ANY($1) ORDER BY box_id, register",
    )
    .bind::<Array<Bytea>, _>(&ids)
    .load(c)?;
    let mut by_box: HashMap<Vec<u8>, Parts> = HashMap::new();
    for a in assets {
        by_box.entry(a.box_id).or_default().0.push(NodeAsset {
            token_id: hex::encode(a.token_id),
            amount: a.amount,
        });
    }
    for r in regs {
        by_box
            .entry(r.box_id)
            .or_default()
            .1
            .insert(format!("R{}", r.register), hex::encode(r.serialized));
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let (assets, regs) = by_box.remove(&r.box_id).unwrap_or_default();
            NodeBox {
                box_id: hex::encode(&r.box_id),
                transaction_id: hex::encode(&r.tx_id),
                index: r.output_index,
                value: r.value,
                ergo_tree: hex::encode(&r.ergo_tree),
                creation_height: r.creation_height,
                assets,
                additional_registers: regs,
                inclusion_height: Some(r.height),
                spent_transaction_id: r.spent_tx_id.map(hex::encode),
            }
        })
        .collect())
}

/// A box from the node's JSON as stored in `mempool_outputs`.
fn from_node_json(v: serde_json::Value) -> Option<NodeBox> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct J {
        box_id: String,
        transaction_id: String,
        index: i32,
        value: i64,
        ergo_tree: String,
        creation_height: i32,
        #[serde(default)]
        assets: Vec<NodeAsset>,
        #[serde(default)]
        additional_registers: BTreeMap<String, String>,
    }
    let j: J = serde_json::from_value(v).ok()?;
    Some(NodeBox {
        box_id: j.box_id,
        transaction_id: j.transaction_id,
        index: j.index,
        value: j.value,
        ergo_tree: j.ergo_tree,
        creation_height: j.creation_height,
        assets: j.assets,
        additional_registers: j.additional_registers,
        inclusion_height: None,
        spent_transaction_id: None,
    })
}

#[derive(QueryableByName)]
struct MempoolBox {
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    box_json: serde_json::Value,
}

/// One box: confirmed (spent or not), or with `mempool` a pool output; with `mempool` an
/// unspent confirmed box spent in the pool names the pool transaction.
pub fn by_id(c: &mut PgConnection, id: &[u8], mempool: bool) -> R<Option<NodeBox>> {
    let rows: Vec<BoxRow> = diesel::sql_query(format!(
        "SELECT {BOX_COLS} FROM boxes b WHERE b.box_id = $1"
    ))
    .bind::<Bytea, _>(id)
    .load(c)?;
    let mut found = assemble(c, rows)?.pop();
    if !mempool {
        return Ok(found);
    }
    let spent_in: Option<String> = {
        #[derive(QueryableByName)]
        struct S {
            #[diesel(sql_type = Text)]
            tx: String,
        }
        diesel::sql_query("SELECT encode(tx_id, 'hex') AS tx FROM mempool_inputs WHERE box_id = $1")
            .bind::<Bytea, _>(id)
            .get_result::<S>(c)
            .optional()?
            .map(|s| s.tx)
    };
    if found.is_none() {
        let m: Option<MempoolBox> =
            diesel::sql_query("SELECT box AS box_json FROM mempool_outputs WHERE box_id = $1")
                .bind::<Bytea, _>(id)
                .get_result(c)
                .optional()?;
        found = m.and_then(|m| from_node_json(m.box_json));
    }
    if let Some(b) = found.as_mut() {
        if b.spent_transaction_id.is_none() {
            b.spent_transaction_id = spent_in;
        }
    }
    Ok(found)
}

/// Unspent boxes holding `token`, in the node's order (creation height, then box id), keyset
/// on that pair. With `mempool`: boxes spent in the pool are dropped and pool outputs holding
/// the token (and not themselves spent in the pool) merged in.
pub fn unspent_by_token(
    c: &mut PgConnection,
    token: &[u8],
    mempool: bool,
    cursor: Option<&Cursor>,
    limit: i64,
) -> R<Vec<NodeBox>> {
    let mut q = Sql::new(format!(
        "SELECT {BOX_COLS} FROM boxes b WHERE b.spent_height IS NULL \
         AND b.box_id IN (SELECT box_id FROM assets WHERE token_id = "
    ));
    let t = q.bind(Bind::Bytes(token.to_vec()));
    q.push(&format!("{t})"));
    if mempool {
        q.push(" AND NOT EXISTS (SELECT 1 FROM mempool_inputs mi WHERE mi.box_id = b.box_id)");
    }
    if let Some(cur) = cursor {
        let k = q.bind(Bind::Int(cur.key));
        let id = q.bind(Bind::Bytes(cur.id.clone()));
        q.push(&format!(
            " AND (b.creation_height > {k} OR (b.creation_height = {k} AND b.box_id > {id}))"
        ));
    }
    let lim = q.bind(Bind::Int(limit));
    q.push(&format!(
        " ORDER BY b.creation_height, b.box_id LIMIT {lim}"
    ));
    let rows: Vec<BoxRow> = q.query().load(c)?;
    let mut boxes = assemble(c, rows)?;
    if !mempool {
        return Ok(boxes);
    }
    let pattern = serde_json::json!([{ "tokenId": hex::encode(token) }]);
    let pool: Vec<MempoolBox> = diesel::sql_query(
        "SELECT mo.box AS box_json FROM mempool_outputs mo \
         WHERE mo.box->'assets' @> $1 \
         AND NOT EXISTS (SELECT 1 FROM mempool_inputs mi WHERE mi.box_id = mo.box_id)",
    )
    .bind::<diesel::sql_types::Jsonb, _>(pattern)
    .load(c)?;
    let key = |b: &NodeBox| (b.creation_height as i64, b.box_id.clone());
    let after = cursor.map(|c| (c.key, hex::encode(&c.id)));
    boxes.extend(
        pool.into_iter()
            .filter_map(|m| from_node_json(m.box_json))
            .filter(|b| after.as_ref().is_none_or(|a| key(b) > *a)),
    );
    boxes.sort_by_key(key);
    boxes.truncate(limit as usize);
    Ok(boxes)
}
