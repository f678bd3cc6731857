//! Compaction: a table's file rewritten with only its live rows.
//!
//! Under the exclusive lock, the live rows go to `<table>.jsonl.compact`
//! (a `compacted` header naming the last batch, then one put per row),
//! which is flushed, renamed over `<table>.jsonl`, and the directory
//! flushed. A crash before the rename leaves the old file whole (the
//! leftover temp file is removed on the next open); after it, the new one.
//! Other processes see the file's identity change and read it anew.

use std::io::Write;

use super::log_file::sync_dir;
use super::record;
use super::state::{State, file_name};
use crate::{Compacted, StorageError};

/// The suffix of a compaction's temp file.
pub(crate) const TEMP_SUFFIX: &str = ".compact";

/// Compact a table once its file holds at least this many records...
pub(crate) const AUTO_MIN_RECORDS: u64 = 1000;
/// ...of which more than this share are dead (replaced or deleted rows).
pub(crate) const AUTO_GARBAGE_RATIO: f64 = 0.5;

fn io_err(what: &str, path: &std::path::Path, e: std::io::Error) -> StorageError {
    StorageError::backend_caused(format!("jsonl: cannot {what} {}", path.display()), e)
}

/// Whether `table`'s file has enough dead records to compact on its own.
pub(crate) fn worth_it(state: &State, table: &str) -> bool {
    let records = state.records.get(table).copied().unwrap_or(0);
    let live = state.tables.get(table).map_or(0, |t| t.len() as u64);
    records >= AUTO_MIN_RECORDS && (records - live.min(records)) as f64 > AUTO_GARBAGE_RATIO * records as f64
}

/// Rewrites `table`'s file with its live rows. The caller holds the
/// exclusive lock and has caught up.
pub(crate) fn compact_table(state: &mut State, table: &str) -> Result<Compacted, StorageError> {
    let t = state.tables.get(table).ok_or_else(|| StorageError::TableNotFound(table.to_owned()))?;
    let path = state.dir.join(file_name(table));
    let temp = state.dir.join(format!("{}{TEMP_SUFFIX}", file_name(table)));
    let op = state.last_op;
    let mut bytes = Vec::new();
    record::compacted_line(&mut bytes, op);
    for row in t.rows() {
        record::put_line(&mut bytes, op, &t.schema, row, None);
    }
    let records_after = t.len() as u64 + 1;
    let bytes_before = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&temp)
        .map_err(|e| io_err("create", &temp, e))?;
    f.write_all(&bytes).and_then(|_| f.sync_all()).map_err(|e| io_err("write", &temp, e))?;
    drop(f);
    std::fs::rename(&temp, &path).map_err(|e| io_err("rename", &temp, e))?;
    sync_dir(&state.dir)?;
    let records_before = state.records.insert(table.to_owned(), records_after).unwrap_or(0);
    state.watermark = state.watermark.max(op);
    if let Some(file) = state.files.get_mut(table) {
        file.reopen_after_replace(bytes.len() as u64, records_after)?;
    }
    Ok(Compacted {
        table: table.to_owned(),
        records_before,
        records_after,
        bytes_before,
        bytes_after: bytes.len() as u64,
    })
}

/// Removes the temp files of compactions a crash interrupted (the old files
/// are whole). The caller holds the exclusive lock.
pub(crate) fn remove_leftovers(state: &State) -> Result<(), StorageError> {
    let entries = std::fs::read_dir(&state.dir).map_err(|e| io_err("list", &state.dir, e))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.ends_with(&format!(".jsonl{TEMP_SUFFIX}")) {
            let path = entry.path();
            tracing::warn!(file = %path.display(), "jsonl: removing the temp file of an interrupted compaction (the table's file is whole)");
            std::fs::remove_file(&path).map_err(|e| io_err("remove", &path, e))?;
        }
    }
    Ok(())
}
