//! `--state-dir`: an append-only chain log so a devnet restarts where it stopped.
//!
//! `devnet.json` records the genesis parameters; `chain.log` holds one line per event:
//! `B <header hex> <tx hex>...` for a block (node binary serialisations) and `R <depth>` for a
//! rollback. Replaying the log rebuilds the exact chain, UTXO set and orphan blocks.
//! The mempool is not persisted.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use ergo_lib::chain::transaction::Transaction;
use ergo_lib::ergo_chain_types::Header;
use ergo_lib::ergotree_ir::serialization::SigmaSerializable;
use sigma_ser::ScorexSerializable;

use crate::state::{ChainLog, DevnetState};
use crate::DevnetConfig;

struct FileLog(File);

impl ChainLog for FileLog {
    fn block(&mut self, header: &Header, txs: &[Arc<Transaction>]) {
        let mut line = format!(
            "B {}",
            hex::encode(header.scorex_serialize_bytes().unwrap_or_default())
        );
        for tx in txs {
            line.push(' ');
            line.push_str(&hex::encode(tx.sigma_serialize_bytes().unwrap_or_default()));
        }
        line.push('\n');
        if let Err(e) = self
            .0
            .write_all(line.as_bytes())
            .and_then(|_| self.0.flush())
        {
            tracing::error!(error = %e, "devnet: cannot append to chain log");
        }
    }

    fn rollback(&mut self, depth: u32) {
        if let Err(e) = writeln!(self.0, "R {depth}").and_then(|_| self.0.flush()) {
            tracing::error!(error = %e, "devnet: cannot append to chain log");
        }
    }
}

/// Replay `dir/chain.log` into `state` (if any) and log new events there from now on.
pub fn open(dir: &Path, config: &DevnetConfig, state: &mut DevnetState) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating state dir {}", dir.display()))?;
    let meta_path = dir.join("devnet.json");
    let meta =
        serde_json::json!({"wallets": config.wallets, "boxes_per_wallet": config.boxes_per_wallet});
    if meta_path.exists() {
        let old: serde_json::Value = serde_json::from_slice(&std::fs::read(&meta_path)?)
            .with_context(|| format!("reading {}", meta_path.display()))?;
        if old != meta {
            anyhow::bail!(
                "state dir {} was created with {old}, not {meta}: use another --state-dir or the same settings",
                dir.display()
            );
        }
    } else {
        std::fs::write(&meta_path, serde_json::to_vec_pretty(&meta)?)?;
    }
    let log_path = dir.join("chain.log");
    if log_path.exists() {
        let f = File::open(&log_path)?;
        for (n, line) in BufReader::new(f).lines().enumerate() {
            let line = line?;
            let at = || format!("{}:{}", log_path.display(), n + 1);
            let mut parts = line.split_whitespace();
            match parts.next() {
                Some("B") => {
                    let header_hex = parts
                        .next()
                        .with_context(|| format!("{}: no header", at()))?;
                    let header = Header::scorex_parse_bytes(&hex::decode(header_hex)?)
                        .map_err(|e| anyhow::anyhow!("{}: header: {e}", at()))?;
                    let txs = parts
                        .map(|t| {
                            Transaction::sigma_parse_bytes(&hex::decode(t)?)
                                .map_err(|e| anyhow::anyhow!("{}: transaction: {e}", at()))
                        })
                        .collect::<anyhow::Result<Vec<_>>>()?;
                    state
                        .replay_block(header, txs)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", at()))?;
                }
                Some("R") => {
                    let depth: u32 = parts.next().unwrap_or("").parse().with_context(at)?;
                    state
                        .replay_rollback(depth)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", at()))?;
                }
                None => {}
                Some(other) => anyhow::bail!("{}: unknown entry {other:?}", at()),
            }
        }
        state.clear_mempool();
        tracing::info!(
            height = state.height(),
            "devnet resumed from {}",
            log_path.display()
        );
    }
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)?;
    state.set_log(Box::new(FileLog(f)));
    Ok(())
}
