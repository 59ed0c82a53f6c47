//! The indexer's database: applying and undoing blocks, each in one transaction with the cursor.
//!
//! Undo is keyed by height: every row carries the height of the block that wrote it and the
//! spend marks on `boxes` carry `spent_height`, so undoing block h deletes the rows with
//! `height = h` and clears the marks with `spent_height = h`. Nothing else changes when a block
//! is applied, so the undo is exact by construction (see ARCHITECTURE.md).

use dgcm_chain::Cursor;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Bytea, Int4};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use ergo_lib::chain::transaction::Transaction;
use ergo_lib::ergo_chain_types::{BlockId, Digest32};

use crate::rows::{box_bytes, tx_bytes, BlockRows};
use crate::schema::*;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("applying migrations: {0}")]
    Migrations(String),
    #[error("indexer state does not match the event: {0}")]
    Inconsistent(String),
}

pub struct Store {
    conn: PgConnection,
}

/// Rows per INSERT statement; PostgreSQL allows 65535 bind parameters per statement.
const CHUNK: usize = 4000;

macro_rules! insert_chunked {
    ($conn:expr, $table:expr, $rows:expr) => {
        for chunk in $rows.chunks(CHUNK) {
            diesel::insert_into($table).values(chunk).execute($conn)?;
        }
    };
}

impl Store {
    /// Connect and bring the schema up to date (embedded migrations).
    pub fn connect(url: &str) -> Result<Store, StoreError> {
        let mut conn = PgConnection::establish(url)?;
        conn.run_pending_migrations(MIGRATIONS)
            .map_err(|e| StoreError::Migrations(e.to_string()))?;
        Ok(Store { conn })
    }

    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.conn
    }

    /// The backend process id of this connection (tests terminate it to simulate crashes).
    pub fn backend_pid(&mut self) -> Result<i32, StoreError> {
        #[derive(QueryableByName)]
        struct Pid {
            #[diesel(sql_type = Int4)]
            pid: i32,
        }
        let p: Pid =
            diesel::sql_query("SELECT pg_backend_pid() AS pid").get_result(&mut self.conn)?;
        Ok(p.pid)
    }

    /// The last applied block, or `None` on an empty database.
    pub fn cursor(&mut self) -> Result<Option<Cursor>, StoreError> {
        let row: Option<(i32, Vec<u8>)> = sync_cursor::table
            .select((sync_cursor::height, sync_cursor::header_id))
            .first(&mut self.conn)
            .optional()?;
        row.map(|(h, id)| {
            let d = Digest32::try_from(id)
                .map_err(|e| StoreError::Inconsistent(format!("cursor id: {e}")))?;
            Ok(Cursor {
                height: h as u32,
                header_id: BlockId(d),
            })
        })
        .transpose()
    }

    /// First start: the genesis boxes (when known) and the starting cursor, atomically.
    pub fn initialise(
        &mut self,
        genesis: Option<&BlockRows>,
        start: Cursor,
    ) -> Result<(), StoreError> {
        self.conn.transaction(|conn| {
            if let Some(rows) = genesis {
                insert_rows(conn, rows)?;
            }
            diesel::insert_into(sync_cursor::table)
                .values((
                    sync_cursor::id.eq(1i16),
                    sync_cursor::height.eq(start.height as i32),
                    sync_cursor::header_id.eq(Vec::<u8>::from(start.header_id.0)),
                ))
                .execute(conn)?;
            Ok(())
        })
    }

    /// Apply one block on top of the cursor: its rows, the spend marks, the new cursor.
    pub fn apply(&mut self, rows: &BlockRows) -> Result<(), StoreError> {
        self.apply_many(std::slice::from_ref(rows))
    }

    /// Apply consecutive blocks in one transaction (catch-up); the cursor ends at the last.
    pub fn apply_many(&mut self, blocks: &[BlockRows]) -> Result<(), StoreError> {
        let Some(last) = blocks.last() else {
            return Ok(());
        };
        let mut expected: Option<(i32, &[u8])> = None;
        for rows in blocks {
            let header = rows
                .header
                .as_ref()
                .ok_or_else(|| StoreError::Inconsistent("block rows without header".into()))?;
            if let Some((h, id)) = expected {
                if header.height != h + 1 || header.parent_id != id {
                    return Err(StoreError::Inconsistent(format!(
                        "block at height {} does not extend the one before it in the batch",
                        header.height
                    )));
                }
            }
            expected = Some((header.height, &header.header_id));
        }
        let first = blocks[0].header.as_ref().expect("checked");
        let last = last.header.as_ref().expect("checked");
        self.conn.transaction(|conn| {
            let (h, cur): (i32, Vec<u8>) = sync_cursor::table
                .select((sync_cursor::height, sync_cursor::header_id))
                .first(conn)?;
            if h + 1 != first.height || cur != first.parent_id {
                return Err(StoreError::Inconsistent(format!(
                    "block {} at height {} does not extend the cursor at height {h}",
                    hex::encode(&first.header_id),
                    first.height
                )));
            }
            insert_many(conn, blocks)?;
            diesel::sql_query(
                "UPDATE boxes SET spent_tx_id = i.tx_id, spent_height = i.height \
                 FROM inputs i WHERE i.height BETWEEN $1 AND $2 AND boxes.box_id = i.box_id \
                 AND boxes.spent_height IS NULL",
            )
            .bind::<Int4, _>(first.height)
            .bind::<Int4, _>(last.height)
            .execute(conn)?;
            // Provenance before reputation: forged leases never count (migration 000009).
            diesel::sql_query("SELECT mark_forged($1, $2)")
                .bind::<Int4, _>(first.height)
                .bind::<Int4, _>(last.height)
                .execute(conn)?;
            diesel::sql_query(ADD_PROVIDER_STATS)
                .bind::<Int4, _>(first.height)
                .bind::<Int4, _>(last.height)
                .execute(conn)?;
            diesel::update(sync_cursor::table)
                .set((
                    sync_cursor::height.eq(last.height),
                    sync_cursor::header_id.eq(&last.header_id),
                ))
                .execute(conn)?;
            Ok(())
        })
    }

    /// Undo the block at the cursor (`height`, `header_id`); the cursor moves to `parent`.
    pub fn rollback(
        &mut self,
        height: u32,
        header_id: &BlockId,
        parent: &BlockId,
    ) -> Result<(), StoreError> {
        let h = height as i32;
        let id: Vec<u8> = header_id.0.into();
        let parent: Vec<u8> = parent.0.into();
        self.conn.transaction(|conn| {
            let (ch, cid): (i32, Vec<u8>) = sync_cursor::table
                .select((sync_cursor::height, sync_cursor::header_id))
                .first(conn)?;
            if ch != h || cid != id {
                return Err(StoreError::Inconsistent(format!(
                    "rollback of {} at height {h}, but the cursor is {} at {ch}",
                    hex::encode(&id),
                    hex::encode(&cid)
                )));
            }
            // The counters first: their delta is computed from the rows about to go. A provider
            // back at zero has no lease rows left, and a fresh index would have no row for it.
            diesel::sql_query(SUBTRACT_PROVIDER_STATS)
                .bind::<Int4, _>(h)
                .execute(conn)?;
            diesel::sql_query(
                "DELETE FROM provider_stats \
                 WHERE listings = 0 AND leases = 0 AND completed = 0 AND slashed = 0 AND disputed = 0",
            )
            .execute(conn)?;
            for stmt in [
                "DELETE FROM listings WHERE height = $1",
                "DELETE FROM orders WHERE height = $1",
                "DELETE FROM leases WHERE height = $1",
                "DELETE FROM lets_accounts WHERE height = $1",
                "DELETE FROM arbitration_cases WHERE height = $1",
                "DELETE FROM rosen_deposits WHERE height = $1",
                "DELETE FROM rosen_events WHERE height = $1",
                "DELETE FROM protocol_boxes WHERE height = $1",
                "DELETE FROM tokens WHERE height = $1",
                "DELETE FROM registers WHERE height = $1",
                "DELETE FROM assets WHERE height = $1",
                "UPDATE boxes SET spent_tx_id = NULL, spent_height = NULL WHERE spent_height = $1",
                "DELETE FROM inputs WHERE height = $1",
                "DELETE FROM boxes WHERE height = $1",
                "DELETE FROM transactions WHERE height = $1",
                "DELETE FROM headers WHERE height = $1",
            ] {
                diesel::sql_query(stmt).bind::<Int4, _>(h).execute(conn)?;
            }
            diesel::update(sync_cursor::table)
                .set((
                    sync_cursor::height.eq(h - 1),
                    sync_cursor::header_id.eq(&parent),
                ))
                .execute(conn)?;
            Ok(())
        })
    }

    /// Replace the mempool view with the node's current pool.
    pub fn replace_mempool(&mut self, txs: &[Transaction]) -> Result<(), StoreError> {
        self.conn.transaction(|conn| {
            diesel::delete(mempool_inputs::table).execute(conn)?;
            diesel::delete(mempool_outputs::table).execute(conn)?;
            diesel::delete(mempool_transactions::table).execute(conn)?;
            let mut t = Vec::new();
            let mut outs = Vec::new();
            let mut ins = Vec::new();
            for tx in txs {
                let id = tx_bytes(tx.id());
                t.push((
                    mempool_transactions::tx_id.eq(id.clone()),
                    mempool_transactions::tx.eq(serde_json::to_value(tx).unwrap_or_default()),
                ));
                for o in tx.outputs.iter() {
                    outs.push((
                        mempool_outputs::box_id.eq(box_bytes(o.box_id())),
                        mempool_outputs::tx_id.eq(id.clone()),
                        mempool_outputs::box_json.eq(serde_json::to_value(o).unwrap_or_default()),
                    ));
                }
                for i in tx.inputs.iter() {
                    ins.push((
                        mempool_inputs::box_id.eq(box_bytes(i.box_id)),
                        mempool_inputs::tx_id.eq(id.clone()),
                    ));
                }
            }
            insert_chunked!(conn, mempool_transactions::table, t);
            insert_chunked!(conn, mempool_outputs::table, outs);
            for chunk in ins.chunks(CHUNK) {
                // Two pool transactions never spend one box; be lenient if a node says otherwise.
                diesel::insert_into(mempool_inputs::table)
                    .values(chunk)
                    .on_conflict_do_nothing()
                    .execute(conn)?;
            }
            Ok(())
        })
    }

    /// Height of the indexed tip (0 before block 1).
    pub fn height(&mut self) -> Result<u32, StoreError> {
        Ok(self.cursor()?.map(|c| c.height).unwrap_or(0))
    }

    /// Ids of unspent boxes holding `token` (what the node's byTokenId endpoint answers).
    pub fn unspent_box_ids_with_token(&mut self, token: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
        #[derive(QueryableByName)]
        struct Id {
            #[diesel(sql_type = Bytea)]
            box_id: Vec<u8>,
        }
        let ids: Vec<Id> = diesel::sql_query(
            "SELECT DISTINCT b.box_id FROM boxes b JOIN assets a ON a.box_id = b.box_id \
             WHERE a.token_id = $1 AND b.spent_height IS NULL ORDER BY b.box_id",
        )
        .bind::<Bytea, _>(token)
        .load(&mut self.conn)?;
        Ok(ids.into_iter().map(|i| i.box_id).collect())
    }
}

/// Rows go in with COPY (binary), the fastest way into PostgreSQL; the header row (one per block)
/// with a plain INSERT.
/// Adds what the blocks at heights $1..$2 contribute to `provider_stats` (migration
/// `2026-11-26-000008_provider_stats`: the delta is defined once, in SQL).
const ADD_PROVIDER_STATS: &str = "INSERT INTO provider_stats \
    SELECT * FROM provider_stats_delta($1, $2) ON CONFLICT (provider_pk) DO UPDATE SET \
    listings = provider_stats.listings + EXCLUDED.listings, leases = provider_stats.leases + EXCLUDED.leases, \
    completed = provider_stats.completed + EXCLUDED.completed, \
    slashed = provider_stats.slashed + EXCLUDED.slashed, \
    disputed = provider_stats.disputed + EXCLUDED.disputed, \
    completed_blocks = provider_stats.completed_blocks + EXCLUDED.completed_blocks";

/// Takes back what the block at height $1 contributed to `provider_stats`.
const SUBTRACT_PROVIDER_STATS: &str = "UPDATE provider_stats s SET \
    listings = s.listings - d.listings, leases = s.leases - d.leases, completed = s.completed - d.completed, \
    slashed = s.slashed - d.slashed, disputed = s.disputed - d.disputed, \
    completed_blocks = s.completed_blocks - d.completed_blocks \
    FROM provider_stats_delta($1, $1) d WHERE s.provider_pk = d.provider_pk";

fn insert_rows(conn: &mut PgConnection, rows: &BlockRows) -> Result<(), StoreError> {
    insert_many(conn, std::slice::from_ref(rows))
}

/// The rows of several blocks, one COPY per table.
fn insert_many(conn: &mut PgConnection, blocks: &[BlockRows]) -> Result<(), StoreError> {
    macro_rules! copy {
        ($table:expr, $field:ident) => {{
            let all: Vec<_> = blocks.iter().flat_map(|b| b.$field.iter()).collect();
            if !all.is_empty() {
                diesel::copy_from($table)
                    .from_insertable(all)
                    .execute(conn)?;
            }
        }};
    }
    // Boxes created and spent inside this batch get their spend mark in the COPY itself, so
    // the UPDATE afterwards only touches boxes from earlier batches.
    let spends: std::collections::HashMap<&[u8], (&Vec<u8>, i32)> = blocks
        .iter()
        .flat_map(|b| b.inputs.iter())
        .map(|i| (i.box_id.as_slice(), (&i.tx_id, i.height)))
        .collect();
    let marked: Vec<crate::rows::BoxRow> = blocks
        .iter()
        .flat_map(|b| b.boxes.iter())
        .map(|b| {
            let mut b = b.clone();
            if let Some((tx, h)) = spends.get(b.box_id.as_slice()) {
                b.spent_tx_id = Some((*tx).clone());
                b.spent_height = Some(*h);
            }
            b
        })
        .collect();
    if !marked.is_empty() {
        diesel::copy_from(boxes::table)
            .from_insertable(&marked)
            .execute(conn)?;
    }
    let headers: Vec<_> = blocks.iter().filter_map(|b| b.header.as_ref()).collect();
    if !headers.is_empty() {
        diesel::insert_into(headers::table)
            .values(headers)
            .execute(conn)?;
    }
    copy!(transactions::table, txs);
    copy!(inputs::table, inputs);
    copy!(assets::table, assets);
    copy!(registers::table, registers);
    copy!(tokens::table, tokens);
    copy!(protocol_boxes::table, protocol);
    copy!(listings::table, listings);
    copy!(orders::table, orders);
    copy!(leases::table, leases);
    copy!(lets_accounts::table, accounts);
    copy!(arbitration_cases::table, arbitrations);
    copy!(rosen_deposits::table, rosen_deposits);
    copy!(rosen_events::table, rosen_events);
    Ok(())
}
