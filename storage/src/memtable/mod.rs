//! In-memory tables that evaluate filters, keys and all-or-nothing batches
//! exactly as the storage contract (the [`Backend`](crate::Backend) trait)
//! states and the conformance suite checks on every backend. Shared by the
//! backends that serve reads from memory (`memory://`, and `jsonl://`, which
//! keeps its files' state here).
//!
//! | file | job |
//! |---|---|
//! | `filter.rs` | filters compiled to column positions, SQL three-valued logic, value order |
//! | `index.rs` | ordered indexes and the choice of one for a filter |
//! | `batch.rs` | write batches: all-or-nothing through an undo log, and their net row changes |

mod batch;
mod filter;
mod index;

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

#[cfg(feature = "jsonl")]
pub(crate) use batch::{Change, net_changes, rollback};
pub(crate) use batch::{Tables, apply_batch};
use filter::{Compiled, position, sort_cmp};
use index::{Key, OrderedIndex, Plan};

use crate::schema_sync::StoredColumn;
use crate::{CmpOp, Filter, PackedRows, Query, RowSet, StorageError, TableSchema, Value};

/// One table: rows by an internal id, and its keys and indexes.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    pub(crate) schema: Arc<TableSchema>,
    rows: BTreeMap<u64, Vec<Value>>,
    next_id: u64,
    /// The primary key first (when there is one), then the declared indexes.
    indexes: Vec<OrderedIndex>,
}

/// The error of an update whose row went missing between finding and writing it.
fn vanished(table: &str, id: u64) -> StorageError {
    StorageError::backend(format!("table `{table}`: row {id} vanished"))
}

/// Whether `row` can collide with another in `ix`: the index is unique and
/// the row's key has no NULL part (NULLs never collide).
fn can_collide(ix: &OrderedIndex, row: &[Value]) -> bool {
    ix.unique && ix.columns.iter().all(|&i| !row[i].is_null())
}

/// A value for a message, cut to 64 characters.
fn show(v: &Value) -> String {
    let s = match v {
        Value::Null => "NULL".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Text(s) | Value::Json(s) | Value::Timestamp(s) => format!("{s:?}"),
        Value::Bytes(b) => format!("<{} bytes>", b.len()),
    };
    if s.chars().count() > 64 { format!("{}…", s.chars().take(64).collect::<String>()) } else { s }
}

impl Table {
    /// An empty table of `schema`.
    pub(crate) fn new(schema: &TableSchema) -> Result<Table, StorageError> {
        let positions = |cols: &[String]| cols.iter().map(|c| position(schema, c)).collect::<Result<Vec<_>, _>>();
        let mut indexes = Vec::new();
        if !schema.primary_key.is_empty() {
            indexes.push(OrderedIndex::new("primary key", positions(&schema.primary_key)?, true));
        }
        for ix in &schema.indexes {
            indexes.push(OrderedIndex::new(&ix.name, positions(&ix.columns)?, ix.unique));
        }
        Ok(Table { schema: Arc::new(schema.clone()), rows: BTreeMap::new(), next_id: 1, indexes })
    }

    /// Number of rows.
    #[cfg_attr(not(feature = "jsonl"), allow(dead_code))]
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// Every row, in insertion order.
    #[cfg_attr(not(feature = "jsonl"), allow(dead_code))]
    pub(crate) fn rows(&self) -> impl Iterator<Item = &Vec<Value>> {
        self.rows.values()
    }

    /// Fails with `DuplicateKey` if `row` collides with a row other than `except`.
    pub(crate) fn check_unique(&self, row: &[Value], except: Option<u64>) -> Result<(), StorageError> {
        self.indexes.iter().try_for_each(|ix| self.check_unique_in(ix, row, except))
    }

    /// [`Table::check_unique`] for one index (nothing when it is not unique).
    fn check_unique_in(&self, ix: &OrderedIndex, row: &[Value], except: Option<u64>) -> Result<(), StorageError> {
        if !can_collide(ix, row) {
            return Ok(());
        }
        self.check_unique_key(ix, &ix.key(row), row, except)
    }

    /// Fails with `DuplicateKey` if a row other than `except` holds `key`
    /// (`row`'s key in `ix`, which [`can_collide`]).
    fn check_unique_key(
        &self,
        ix: &OrderedIndex,
        key: &[u8],
        row: &[Value],
        except: Option<u64>,
    ) -> Result<(), StorageError> {
        if ix.holders(key).any(|other| Some(other) != except) {
            let cols: Vec<&str> = ix.columns.iter().map(|&i| self.schema.columns[i].name.as_str()).collect();
            let vals: Vec<String> = ix.columns.iter().map(|&i| show(&row[i])).collect();
            return Err(StorageError::DuplicateKey(format!(
                "table `{}` {}: ({}) = ({}) already exists",
                self.schema.name,
                ix.name,
                cols.join(", "),
                vals.join(", ")
            )));
        }
        Ok(())
    }

    /// Adds `row` under a new id, unless it collides with a stored row on a
    /// unique key (`DuplicateKey`, nothing changed); returns the id. Each
    /// index key is encoded once, for the check and the insert.
    pub(crate) fn insert(&mut self, row: Vec<Value>) -> Result<u64, StorageError> {
        let keys: Vec<Key> = self.indexes.iter().map(|ix| ix.key(&row)).collect();
        for (ix, key) in self.indexes.iter().zip(&keys) {
            if can_collide(ix, &row) {
                self.check_unique_key(ix, key, &row, None)?;
            }
        }
        let id = self.new_id();
        for (ix, key) in self.indexes.iter_mut().zip(keys) {
            ix.insert_key(key, id);
        }
        self.rows.insert(id, row);
        Ok(id)
    }

    /// Stores `row` under `id` without checks (they were done, or this is an undo).
    pub(crate) fn put(&mut self, id: u64, row: Vec<Value>) {
        if let Some(old) = self.rows.remove(&id) {
            for ix in &mut self.indexes {
                ix.remove(id, &old);
            }
        }
        for ix in &mut self.indexes {
            ix.insert(id, &row);
        }
        self.rows.insert(id, row);
    }

    /// Replaces row `id` with `new` (which must exist), checking the unique
    /// keys it changes; returns the old row. Only the indexes whose columns
    /// changed are touched: an update of a counter or a timestamp costs no
    /// index work. On a key conflict nothing changes.
    pub(crate) fn replace(&mut self, id: u64, new: Vec<Value>) -> Result<Vec<Value>, StorageError> {
        let Some(old) = self.rows.get(&id) else { return Err(vanished(&self.schema.name, id)) };
        let moved: Vec<usize> =
            (0..self.indexes.len()).filter(|&n| self.indexes[n].columns.iter().any(|&c| old[c] != new[c])).collect();
        for &n in &moved {
            self.check_unique_in(&self.indexes[n], &new, Some(id))?;
        }
        let old = self.rows.insert(id, new).unwrap_or_default();
        let new = &self.rows[&id];
        for &n in &moved {
            self.indexes[n].remove(id, &old);
            self.indexes[n].insert(id, new);
        }
        Ok(old)
    }

    /// Sets the cells `set` (column position, value) of row `id`, checking
    /// the unique keys that change; returns the cells' old values, in `set`'s
    /// order. An assignment that moves no index key (a counter, a timestamp,
    /// a lock holder) changes the row in place and copies nothing else of
    /// it. On a key conflict nothing changes.
    pub(crate) fn assign(&mut self, id: u64, set: &[(usize, Value)]) -> Result<Vec<(usize, Value)>, StorageError> {
        let row = self.rows.get(&id).ok_or_else(|| vanished(&self.schema.name, id))?;
        let moves = |ix: &OrderedIndex| set.iter().any(|(c, v)| ix.columns.contains(c) && row[*c] != *v);
        if self.indexes.iter().any(moves) {
            let mut new = row.clone();
            for (i, v) in set {
                new[*i] = v.clone();
            }
            let old = self.replace(id, new)?;
            return Ok(set.iter().map(|&(i, _)| (i, old[i].clone())).collect());
        }
        let name = &self.schema.name;
        let row = self.rows.get_mut(&id).ok_or_else(|| vanished(name, id))?;
        Ok(set.iter().map(|(i, v)| (*i, std::mem::replace(&mut row[*i], v.clone()))).collect())
    }

    /// Adds `row` under a new id, without checks; returns the id.
    pub(crate) fn push(&mut self, row: Vec<Value>) -> u64 {
        let id = self.new_id();
        self.put(id, row);
        id
    }

    /// An id no row has had.
    fn new_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Removes row `id`, returning it.
    pub(crate) fn take(&mut self, id: u64) -> Option<Vec<Value>> {
        let row = self.rows.remove(&id)?;
        for ix in &mut self.indexes {
            ix.remove(id, &row);
        }
        Some(row)
    }

    /// The row stored under `id`.
    pub(crate) fn get(&self, id: u64) -> Option<&Vec<Value>> {
        self.rows.get(&id)
    }

    /// The id of the row whose primary key is the key of `row` (a full row
    /// of this table), if any.
    #[cfg_attr(not(feature = "jsonl"), allow(dead_code))]
    pub(crate) fn find_by_primary_key(&self, row: &[Value]) -> Option<u64> {
        let pk = self.indexes.first().filter(|_| !self.schema.primary_key.is_empty())?;
        pk.holders(&pk.key(row)).next()
    }

    /// Stores `row` (a full row of this table) in place of the row with its
    /// primary key, or as a new row; without checks. How a logged row is
    /// replayed.
    #[cfg_attr(not(feature = "jsonl"), allow(dead_code))]
    pub(crate) fn put_by_key(&mut self, row: Vec<Value>) {
        match self.find_by_primary_key(&row) {
            Some(id) => self.put(id, row),
            None => {
                self.push(row);
            }
        }
    }

    /// Removes the row whose primary key is the key of `row` (a full row, or
    /// its key columns in place); whether there was one. How a logged delete
    /// is replayed.
    #[cfg_attr(not(feature = "jsonl"), allow(dead_code))]
    pub(crate) fn take_by_key(&mut self, row: &[Value]) -> bool {
        self.find_by_primary_key(row).and_then(|id| self.take(id)).is_some()
    }

    /// The primary-key column positions.
    #[cfg_attr(not(feature = "jsonl"), allow(dead_code))]
    pub(crate) fn primary_key_positions(&self) -> &[usize] {
        match self.indexes.first() {
            Some(ix) if !self.schema.primary_key.is_empty() => &ix.columns,
            _ => &[],
        }
    }

    /// Orders a row of `columns` into the table's column order (missing → NULL).
    pub(crate) fn arrange(&self, columns: &[String], row: &[Value]) -> Result<Vec<Value>, StorageError> {
        if columns.len() == self.schema.columns.len()
            && columns.iter().zip(&self.schema.columns).all(|(a, b)| *a == b.name)
        {
            if row.len() != columns.len() {
                return Err(StorageError::Invalid(format!("row width mismatch for table `{}`", self.schema.name)));
            }
            return Ok(row.to_vec());
        }
        let mut out = vec![Value::Null; self.schema.columns.len()];
        for (c, v) in columns.iter().zip(row) {
            out[position(&self.schema, c)?] = v.clone();
        }
        Ok(out)
    }

    /// The table re-laid for `declared` (existing rows get NULL in columns
    /// they lack; stored columns no longer declared stay, after the declared ones).
    pub(crate) fn extended(&self, declared: &TableSchema) -> Result<Table, StorageError> {
        let mut schema = declared.clone();
        for c in &self.schema.columns {
            if schema.column(&c.name).is_none() {
                schema.columns.push(c.clone());
            }
        }
        let from: Vec<Option<usize>> =
            schema.columns.iter().map(|c| self.schema.columns.iter().position(|o| o.name == c.name)).collect();
        let mut t = Table::new(&schema)?;
        for (&id, row) in &self.rows {
            let row: Vec<Value> = from.iter().map(|p| p.map_or(Value::Null, |i| row[i].clone())).collect();
            t.check_unique(&row, None)?;
            t.put(id, row);
        }
        t.next_id = self.next_id;
        Ok(t)
    }

    /// The columns as `schema_sync` compares them.
    pub(crate) fn stored_columns(&self) -> Vec<StoredColumn> {
        self.schema
            .columns
            .iter()
            .map(|c| StoredColumn { name: c.name.clone(), ty: c.ty.to_string(), not_null: !c.nullable })
            .collect()
    }

    /// The ids of the rows matching `filter`, ascending.
    fn matching(&self, filter: &Compiled) -> Vec<u64> {
        let conjuncts = filter.conjuncts();
        let plan = index::choose(&self.schema, &self.indexes, &conjuncts, &[], false);
        self.matching_planned(filter, &conjuncts, plan)
    }

    /// [`Table::matching`] through `plan`, chosen for `filter`'s `conjuncts`
    /// (a caller that planned already does not plan twice).
    fn matching_planned(
        &self,
        filter: &Compiled,
        conjuncts: &[(usize, CmpOp, &Value)],
        plan: Option<Plan>,
    ) -> Vec<u64> {
        if let Some(ids) = self.matching_in_list(filter, conjuncts, plan.as_ref()) {
            return ids;
        }
        match plan {
            Some(plan) => {
                let mut ids: Vec<u64> = self.indexes[plan.index]
                    .scan(&plan.range, false)
                    .filter(|id| self.rows.get(id).is_some_and(|r| filter.matches(r)))
                    .collect();
                ids.sort_unstable();
                ids
            }
            None => self.rows.iter().filter(|(_, r)| filter.matches(r)).map(|(id, _)| *id).collect(),
        }
    }

    /// The ids of the rows matching `filter` read through one index range
    /// per value of an `IN` list, when that fixes more of an index than
    /// `plan` (the best range without it) does: `x IN (a, b)` reads what
    /// `x = a` and `x = b` would. `None` when no `IN` list does better.
    fn matching_in_list(
        &self,
        filter: &Compiled,
        conjuncts: &[(usize, CmpOp, &Value)],
        plan: Option<&Plan>,
    ) -> Option<Vec<u64>> {
        /// Beyond this many values, one wider range is read instead.
        const MAX_RANGES: usize = 64;
        let fixed = plan.map_or(0, |p| p.fixed);
        for (column, values) in filter.in_lists() {
            if values.is_empty() || values.len() > MAX_RANGES {
                continue;
            }
            let plans: Option<Vec<Plan>> = values
                .iter()
                .map(|v| {
                    let mut with_value = conjuncts.to_vec();
                    with_value.push((column, CmpOp::Eq, v));
                    index::choose(&self.schema, &self.indexes, &with_value, &[], false).filter(|p| p.fixed > fixed)
                })
                .collect();
            let Some(plans) = plans else { continue };
            let mut ids: Vec<u64> = plans
                .iter()
                .flat_map(|p| self.indexes[p.index].scan(&p.range, false))
                .filter(|id| self.rows.get(id).is_some_and(|r| filter.matches(r)))
                .collect();
            ids.sort_unstable();
            ids.dedup();
            return Some(ids);
        }
        None
    }

    /// The ids of the rows matching a filter of this table, ascending.
    pub(crate) fn matching_ids(&self, filter: &Filter) -> Result<Vec<u64>, StorageError> {
        Ok(self.matching(&Compiled::new(&self.schema, filter)?))
    }

    /// How many rows match `filter`.
    pub(crate) fn count(&self, filter: &Filter) -> Result<u64, StorageError> {
        Ok(self.matching(&Compiled::new(&self.schema, filter)?).len() as u64)
    }

    /// The rows answering `query`, with its columns, or else those of
    /// `schema` in its order (the table may hold more: one added by a newer
    /// declaration).
    ///
    /// Ties in the order keep insertion order. When an index yields the rows
    /// in the requested order, only the rows up to `offset + limit` (and
    /// those tying with the last of them) are read.
    pub(crate) fn find(&self, schema: &TableSchema, query: &Query) -> Result<RowSet, StorageError> {
        let (columns, at, rows) = self.select(schema, query)?;
        let rows = rows.into_iter().map(|r| at.iter().map(|&i| r[i].clone()).collect()).collect();
        Ok(RowSet { columns, rows })
    }

    /// [`Table::find`]'s rows packed, each cell copied once, into the packing.
    pub(crate) fn find_packed(&self, schema: &TableSchema, query: &Query) -> Result<PackedRows, StorageError> {
        let (columns, at, rows) = self.select(schema, query)?;
        let mut out = PackedRows::with_columns(columns);
        out.reserve_exact_for(rows.iter().flat_map(|r| at.iter().map(|&i| &r[i])));
        for row in rows {
            for &i in &at {
                out.push_value(&row[i])?;
            }
        }
        Ok(out)
    }

    /// The rows answering `query` in its order: the columns to return,
    /// where each is in a stored row, and the rows.
    #[allow(clippy::type_complexity)]
    fn select(
        &self,
        schema: &TableSchema,
        query: &Query,
    ) -> Result<(Vec<String>, Vec<usize>, Vec<&Vec<Value>>), StorageError> {
        let filter = Compiled::new(&self.schema, &query.filter)?;
        let keys = query
            .order_by
            .iter()
            .map(|o| Ok((position(&self.schema, &o.field)?, o.descending)))
            .collect::<Result<Vec<_>, StorageError>>()?;
        let offset = usize::try_from(query.offset.unwrap_or(0)).unwrap_or(usize::MAX);
        let limit = usize::try_from(query.limit.unwrap_or(u64::MAX)).unwrap_or(usize::MAX);
        let cmp_keys = |a: &[Value], b: &[Value]| {
            keys.iter()
                .map(|&(i, desc)| {
                    let o = sort_cmp(&a[i], &b[i]);
                    if desc { o.reverse() } else { o }
                })
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        };
        let conjuncts = filter.conjuncts();
        let plan = index::choose(&self.schema, &self.indexes, &conjuncts, &keys, query.limit.is_some());
        let ids = match plan {
            Some(plan) if plan.ordered.is_some() => {
                let need = offset.saturating_add(limit);
                let mut got: Vec<u64> = Vec::new();
                let descending = plan.ordered == Some(true);
                for id in self.indexes[plan.index].scan(&plan.range, descending) {
                    let Some(row) = self.rows.get(&id) else { continue };
                    if !filter.matches(row) {
                        continue;
                    }
                    if got.len() >= need {
                        match got.last() {
                            Some(last) if cmp_keys(&self.rows[last], row) == Ordering::Equal => {}
                            _ => break,
                        }
                    }
                    got.push(id);
                }
                got
            }
            plan => self.matching_planned(&filter, &conjuncts, plan),
        };
        // Each row looked up once; then in the order asked for, ties in
        // insertion order (by id). An index read in order is usually sorted
        // already, and checking that costs one pass instead of a sort.
        let mut found: Vec<(u64, &Vec<Value>)> = ids.into_iter().map(|id| (id, &self.rows[&id])).collect();
        let in_order = |a: &(u64, &Vec<Value>), b: &(u64, &Vec<Value>)| cmp_keys(a.1, b.1).then(a.0.cmp(&b.0));
        if !found.is_sorted_by(|a, b| in_order(a, b) != Ordering::Greater) {
            found.sort_unstable_by(in_order);
        }
        let rows = found.into_iter().skip(offset).take(limit).map(|(_, row)| row).collect();
        let columns: Vec<String> = schema.projection(&query.columns)?.iter().map(|c| c.name.clone()).collect();
        // Where each column is stored, looked for first right after the
        // previous one (columns asked for in stored order cost a compare each).
        let mut next = 0;
        let mut at = Vec::with_capacity(columns.len());
        for c in &columns {
            let i = match self.schema.columns.get(next) {
                Some(stored) if stored.name == *c => next,
                _ => position(&self.schema, c)?,
            };
            at.push(i);
            next = i + 1;
        }
        Ok((columns, at, rows))
    }
}

#[cfg(all(test, feature = "jsonl"))]
mod batch_tests;
#[cfg(test)]
mod tests;
