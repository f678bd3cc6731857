//! Appending one batch: its records go to the files of the tables it
//! changed, the last record in each file says how many files the batch
//! wrote, and the files are flushed as the sync mode asks.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::state::State;
use super::{definition, record};
use crate::memtable::Change;
use crate::{SCHEMA_TABLE, StorageError};

/// When an acknowledged write is flushed to the disk (`?sync=` in the URL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncMode {
    /// `fdatasync` every file a write touched before the write returns
    /// (the default): an acknowledged write survives a power loss.
    #[default]
    Always,
    /// Group flushes: a write flushes every file written since the last
    /// flush once that flush is 100 ms old; compaction and dropping the
    /// backend flush too. An acknowledged write survives the process
    /// crashing (it is in the OS's cache), but a power loss may lose the
    /// writes since the last flush.
    Batch,
    /// Never flush; leave it to the operating system (tests, scratch data).
    Never,
}

impl SyncMode {
    /// Parses `always`, `batch` or `never` (the value of `?sync=`); anything
    /// else is a [`StorageError::Url`].
    pub fn parse(s: &str) -> Result<SyncMode, StorageError> {
        match s {
            "always" => Ok(SyncMode::Always),
            "batch" => Ok(SyncMode::Batch),
            "never" => Ok(SyncMode::Never),
            other => Err(StorageError::Url(format!("sync={other:?}: expected always, batch or never"))),
        }
    }
}

/// How far behind the disk is.
#[derive(Debug)]
pub(crate) struct Durability {
    pub(crate) mode: SyncMode,
    last_sync: Instant,
    /// Files written but not flushed yet (`Batch`).
    dirty: BTreeSet<String>,
}

/// Longest a `Batch` write stays unflushed while writes keep coming.
const BATCH_WINDOW: Duration = Duration::from_millis(100);

impl Durability {
    pub(crate) fn new(mode: SyncMode) -> Durability {
        Durability { mode, last_sync: Instant::now(), dirty: BTreeSet::new() }
    }

    /// Flushes the files written but not flushed yet.
    pub(crate) fn flush(&mut self, state: &State) -> Result<(), StorageError> {
        for name in std::mem::take(&mut self.dirty) {
            if let Some(f) = state.files.get(&name) {
                f.sync()?;
            }
        }
        self.last_sync = Instant::now();
        Ok(())
    }
}

/// Appends `changes` as batch `state.last_op + 1` and flushes them per
/// `durability`. On failure every file is cut back to where it was.
pub(crate) fn commit(state: &mut State, changes: &[Change], durability: &mut Durability) -> Result<(), StorageError> {
    if changes.is_empty() {
        return Ok(());
    }
    let mut per_file: BTreeMap<&str, Vec<&Change>> = BTreeMap::new();
    for c in changes {
        let (Change::Put { table, .. } | Change::Delete { table, .. }) = c;
        per_file.entry(table.as_str()).or_default().push(c);
    }
    let files = u32::try_from(per_file.len()).unwrap_or(u32::MAX);
    let op = state.last_op + 1;
    let mut encoded: Vec<(String, Vec<u8>, u64)> = Vec::with_capacity(per_file.len());
    for (table, changes) in per_file {
        let (schema, key) = if table == SCHEMA_TABLE {
            (definition::schema_table(), vec![0])
        } else {
            let t = state.tables.get(table).ok_or_else(|| StorageError::TableNotFound(table.to_owned()))?;
            ((*t.schema).clone(), t.primary_key_positions().to_vec())
        };
        let mut bytes = Vec::new();
        for (i, c) in changes.iter().enumerate() {
            let last = (i + 1 == changes.len()).then_some(files);
            match c {
                Change::Put { row, .. } => record::put_line(&mut bytes, op, &schema, row, last),
                Change::Delete { row, .. } => record::del_line(&mut bytes, op, &schema, &key, row, last),
            }
        }
        encoded.push((table.to_owned(), bytes, changes.len() as u64));
    }
    let mut written: Vec<&str> = Vec::new();
    let mut failure = None;
    for (table, bytes, _) in &encoded {
        let Some(f) = state.files.get_mut(table) else { continue };
        match f.append(bytes) {
            Ok(()) => written.push(table),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    if failure.is_none() && durability.mode == SyncMode::Always {
        for table in &written {
            if let Err(e) = state.files[*table].sync() {
                failure = Some(e);
                break;
            }
        }
    }
    if let Some(e) = failure {
        for table in written {
            if let Some(f) = state.files.get_mut(table) {
                let at = f.offset;
                let _ = f.truncate(at);
            }
        }
        return Err(e);
    }
    for (table, bytes, n) in encoded {
        if let Some(f) = state.files.get_mut(&table) {
            let (end, lines) = (f.offset + bytes.len() as u64, f.lines + n);
            f.advance(end, lines);
        }
        *state.records.entry(table.clone()).or_insert(0) += n;
        if durability.mode == SyncMode::Batch {
            durability.dirty.insert(table);
        }
    }
    state.last_op = op;
    if durability.mode == SyncMode::Batch && durability.last_sync.elapsed() >= BATCH_WINDOW {
        durability.flush(state)?;
    }
    Ok(())
}
