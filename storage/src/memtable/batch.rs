//! Write batches on in-memory tables: every op logs what it changed, and a
//! failed batch is rolled back from that log, so it is all-or-nothing.

#[cfg(feature = "jsonl")]
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use super::Table;
use super::filter::position;
use crate::{StorageError, TableSchema, Value, WriteOp};

/// Tables by name.
pub(crate) type Tables = HashMap<String, Table>;

/// One step to undo, newest last. The table is named by its schema (shared,
/// not a copy of the name: a batch logs a step per row it touches).
#[derive(Debug)]
pub(crate) enum Undo {
    Inserted {
        table: Arc<TableSchema>,
        id: u64,
    },
    Removed {
        table: Arc<TableSchema>,
        id: u64,
        row: Vec<Value>,
    },
    /// Cells of row `id` were set; their old values, in the order set.
    Assigned {
        table: Arc<TableSchema>,
        id: u64,
        old: Vec<(usize, Value)>,
    },
}

fn table_mut<'a>(tables: &'a mut Tables, name: &str) -> Result<&'a mut Table, StorageError> {
    tables.get_mut(name).ok_or_else(|| StorageError::TableNotFound(name.to_owned()))
}

/// Runs one op, logging what it changed; returns its affected-row count.
fn run_op(tables: &mut Tables, op: &WriteOp, undo: &mut Vec<Undo>) -> Result<u64, StorageError> {
    let name = op.table();
    let t = table_mut(tables, name)?;
    match op {
        WriteOp::Insert { rows, .. } => {
            for row in &rows.rows {
                let id = t.insert(t.arrange(&rows.columns, row)?)?;
                undo.push(Undo::Inserted { table: t.schema.clone(), id });
            }
            Ok(rows.rows.len() as u64)
        }
        WriteOp::Update { filter, set, .. } => {
            let set = set
                .iter()
                .map(|(c, v)| Ok((position(&t.schema, c)?, v.clone())))
                .collect::<Result<Vec<_>, StorageError>>()?;
            let ids = t.matching_ids(filter)?;
            for &id in &ids {
                let old = t.assign(id, &set)?;
                undo.push(Undo::Assigned { table: t.schema.clone(), id, old });
            }
            Ok(ids.len() as u64)
        }
        WriteOp::Delete { filter, .. } => {
            let ids = t.matching_ids(filter)?;
            for &id in &ids {
                if let Some(row) = t.take(id) {
                    undo.push(Undo::Removed { table: t.schema.clone(), id, row });
                }
            }
            Ok(ids.len() as u64)
        }
        WriteOp::Check { filter, .. } => t.count(filter),
    }
}

/// Undoes `undo`, newest step first.
#[cfg_attr(not(feature = "jsonl"), allow(dead_code))]
pub(crate) fn rollback(tables: &mut Tables, undo: Vec<Undo>) {
    for step in undo.into_iter().rev() {
        match step {
            Undo::Inserted { table, id } => {
                if let Some(t) = tables.get_mut(&table.name) {
                    t.take(id);
                }
            }
            Undo::Removed { table, id, row } => {
                if let Some(t) = tables.get_mut(&table.name) {
                    t.put(id, row);
                }
            }
            Undo::Assigned { table, id, old } => {
                if let Some(t) = tables.get_mut(&table.name)
                    && let Some(row) = t.get(id)
                {
                    let row = restored(row.clone(), &old);
                    t.put(id, row);
                }
            }
        }
    }
}

/// `row` with the cells of `old` (an [`Undo::Assigned`]'s) put back.
fn restored(mut row: Vec<Value>, old: &[(usize, Value)]) -> Vec<Value> {
    for (i, v) in old.iter().rev() {
        row[*i] = v.clone();
    }
    row
}

/// Runs `ops` all-or-nothing: on success the counts and the undo log (to
/// roll back later, should storing the batch fail); on failure nothing of
/// the batch remains.
pub(crate) fn apply_batch(tables: &mut Tables, ops: &[WriteOp]) -> Result<(Vec<u64>, Vec<Undo>), StorageError> {
    let mut undo = Vec::new();
    let mut counts = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        let result = run_op(tables, op, &mut undo).and_then(|n| match op.expected() {
            Some(e) if e != n => Err(StorageError::Conflict(u32::try_from(i).unwrap_or(u32::MAX))),
            _ => Ok(n),
        });
        match result {
            Ok(n) => counts.push(n),
            Err(e) => {
                rollback(tables, undo);
                return Err(e);
            }
        }
    }
    Ok((counts, undo))
}

/// A row change a batch made, as a log stores it.
#[cfg(feature = "jsonl")]
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Change {
    /// The row (whole, in table column order) now exists with this key.
    Put { table: String, row: Vec<Value> },
    /// The row with this key (given as the whole old row) is gone.
    Delete { table: String, row: Vec<Value> },
}

/// The net changes of an applied batch (from its undo log): per table, the
/// deletes first (keys that went away or changed), then the rows written.
/// A row written and removed again within the batch leaves nothing.
#[cfg(feature = "jsonl")]
pub(crate) fn net_changes(tables: &Tables, undo: &[Undo]) -> Vec<Change> {
    // The state of each touched row before the batch, by (table, id): the
    // steps undone in thought, newest first, from the rows as they are now.
    // A removed row is borrowed from the log; only a row rebuilt from
    // assigned cells is a copy.
    let mut before: std::collections::BTreeMap<(&str, u64), Option<Cow<'_, Vec<Value>>>> = Default::default();
    for step in undo.iter().rev() {
        match step {
            Undo::Inserted { table, id } => {
                before.insert((table.name.as_str(), *id), None);
            }
            Undo::Removed { table, id, row } => {
                before.insert((table.name.as_str(), *id), Some(Cow::Borrowed(row)));
            }
            Undo::Assigned { table, id, old } => {
                let key = (table.name.as_str(), *id);
                // The row just after this step: as a newer step found it, or as it is now.
                let after = match before.remove(&key) {
                    Some(state) => state.map(Cow::into_owned),
                    None => tables.get(&table.name).and_then(|t| t.get(*id)).cloned(),
                };
                before.insert(key, after.map(|row| Cow::Owned(restored(row, old))));
            }
        }
    }
    let (mut deletes, mut puts) = (Vec::new(), Vec::new());
    for ((table, id), old) in before {
        let Some(t) = tables.get(table) else { continue };
        let now = t.get(id);
        let pk = t.primary_key_positions();
        let same_key = |a: &[Value], b: &[Value]| pk.iter().all(|&i| a[i] == b[i]);
        match (old, now) {
            (Some(old), Some(now)) if *old == *now => {}
            (Some(old), Some(now)) => {
                if !same_key(&old, now) {
                    deletes.push(Change::Delete { table: table.to_owned(), row: old.into_owned() });
                }
                puts.push(Change::Put { table: table.to_owned(), row: now.clone() });
            }
            (Some(old), None) => deletes.push(Change::Delete { table: table.to_owned(), row: old.into_owned() }),
            (None, Some(now)) => puts.push(Change::Put { table: table.to_owned(), row: now.clone() }),
            (None, None) => {}
        }
    }
    deletes.extend(puts);
    deletes
}
