//! `memory://`: a backend that keeps everything in process memory.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use super::{BackendKind, TargetKind, TestStore};
use crate::schema_sync::{self, Plan, StoredColumn};
use crate::{Backend, CmpOp, Filter, Query, RowSet, StorageError, TableSchema, Timestamp, Value, WriteOp};

/// A backend that keeps every table in process memory (`memory://`); the data
/// is gone when the value is dropped.
///
/// Primary and unique keys are enforced through hash indexes (a key with a
/// NULL part never collides). Every call is atomic: writes are recorded in an
/// undo log and rolled back on any error, so a failed `apply` leaves nothing
/// behind. Filters follow SQL semantics (a comparison with NULL is unknown,
/// and so is its negation), so results agree with the SQL backends.
/// `setup_models` follows the same rules as on SQL backends: it remembers the
/// tables it created and adds declared nullable columns to existing tables.
///
/// ```
/// use nexau_session_storage::{Backend, MemoryBackend};
/// let backend = MemoryBackend::new();
/// assert_eq!(backend.name(), "memory");
/// ```
#[derive(Debug, Default)]
pub struct MemoryBackend {
    state: Mutex<HashMap<String, Table>>,
    /// The tables `setup_models` created, and when (the SQL backends keep this
    /// in `nexau_schema`). Locked only while `state` is.
    created: Mutex<BTreeMap<String, Timestamp>>,
}

impl MemoryBackend {
    /// An empty in-memory backend.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Table>> {
        // A panic while holding the lock cannot leave a half-applied batch
        // behind unless it happened mid-write; the undo log runs before any
        // error returns, so recovering the guard is sound for our own code.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A key part that hashes and compares like SQL equality within one column type.
#[derive(Debug, Clone)]
struct KeyPart(Value);

impl PartialEq for KeyPart {
    fn eq(&self, other: &Self) -> bool {
        compare(&self.0, &other.0) == Some(Ordering::Equal)
    }
}
impl Eq for KeyPart {}
impl Hash for KeyPart {
    fn hash<H: Hasher>(&self, h: &mut H) {
        match &self.0 {
            Value::Null => 0u8.hash(h),
            Value::Bool(b) => b.hash(h),
            // Ints and floats hash as the float they equal, so 1 and 1.0 agree.
            Value::Int(i) => normalize(*i as f64).hash(h),
            Value::Float(f) => normalize(*f).hash(h),
            Value::Text(s) | Value::Json(s) | Value::Timestamp(s) => s.hash(h),
            Value::Bytes(b) => b.hash(h),
        }
    }
}

fn normalize(f: f64) -> u64 {
    if f == 0.0 { 0.0f64.to_bits() } else { f.to_bits() }
}

#[derive(Debug, Clone)]
struct UniqueIndex {
    name: String,
    columns: Vec<usize>,
    entries: HashMap<Vec<KeyPart>, u64>,
}

impl UniqueIndex {
    /// The key of `row`, or `None` when a part is NULL (NULLs never collide).
    fn key(&self, row: &[Value]) -> Option<Vec<KeyPart>> {
        self.columns
            .iter()
            .map(|&i| match &row[i] {
                Value::Null => None,
                v => Some(KeyPart(v.clone())),
            })
            .collect()
    }
}

#[derive(Debug, Clone)]
struct Table {
    schema: Arc<TableSchema>,
    rows: BTreeMap<u64, Vec<Value>>,
    next_id: u64,
    unique: Vec<UniqueIndex>,
}

/// One step to undo, newest last.
enum Undo {
    Inserted { table: String, id: u64 },
    Removed { table: String, id: u64, row: Vec<Value> },
    Replaced { table: String, id: u64, old: Vec<Value> },
}

fn position(schema: &TableSchema, column: &str) -> Result<usize, StorageError> {
    schema
        .columns
        .iter()
        .position(|c| c.name == column)
        .ok_or_else(|| StorageError::Invalid(format!("table `{}` has no column `{column}`", schema.name)))
}

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
    fn new(schema: &TableSchema) -> Result<Table, StorageError> {
        let mut unique = Vec::new();
        let mut add = |name: &str, cols: &[String]| -> Result<(), StorageError> {
            let columns = cols.iter().map(|c| position(schema, c)).collect::<Result<_, _>>()?;
            unique.push(UniqueIndex { name: name.to_owned(), columns, entries: HashMap::new() });
            Ok(())
        };
        if !schema.primary_key.is_empty() {
            add("primary key", &schema.primary_key)?;
        }
        for ix in schema.indexes.iter().filter(|ix| ix.unique) {
            add(&ix.name, &ix.columns)?;
        }
        Ok(Table { schema: Arc::new(schema.clone()), rows: BTreeMap::new(), next_id: 1, unique })
    }

    /// Fails with `DuplicateKey` if `row` collides with a row other than `except`.
    fn check_unique(&self, row: &[Value], except: Option<u64>) -> Result<(), StorageError> {
        for ix in &self.unique {
            if let Some(key) = ix.key(row)
                && let Some(&other) = ix.entries.get(&key)
                && Some(other) != except
            {
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
        }
        Ok(())
    }

    /// Stores `row` under `id` without checks (they were done, or this is an undo).
    fn put(&mut self, id: u64, row: Vec<Value>) {
        for ix in &mut self.unique {
            if let Some(key) = ix.key(&row) {
                ix.entries.insert(key, id);
            }
        }
        self.rows.insert(id, row);
    }

    fn take(&mut self, id: u64) -> Option<Vec<Value>> {
        let row = self.rows.remove(&id)?;
        for ix in &mut self.unique {
            if let Some(key) = ix.key(&row) {
                ix.entries.remove(&key);
            }
        }
        Some(row)
    }

    /// Orders a row of `columns` into the table's column order (missing → NULL).
    fn arrange(&self, columns: &[String], row: &[Value]) -> Result<Vec<Value>, StorageError> {
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
    fn extended(&self, declared: &TableSchema) -> Result<Table, StorageError> {
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
    fn stored_columns(&self) -> Vec<StoredColumn> {
        self.schema
            .columns
            .iter()
            .map(|c| StoredColumn { name: c.name.clone(), ty: c.ty.to_string(), not_null: !c.nullable })
            .collect()
    }

    fn matching(&self, filter: &Compiled) -> Vec<u64> {
        self.rows.iter().filter(|(_, r)| filter.matches(r)).map(|(id, _)| *id).collect()
    }
}

/// SQL-like comparison of two non-null values of one column type; `None`
/// when either is NULL (unknown) or the types differ.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Null, _) | (_, Value::Null) => None,
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y),
        (Value::Int(x), Value::Float(y)) => (*x as f64).partial_cmp(y),
        (Value::Float(x), Value::Int(y)) => x.partial_cmp(&(*y as f64)),
        // Byte-wise, like SQLite's BINARY collation.
        (
            Value::Text(x) | Value::Json(x) | Value::Timestamp(x),
            Value::Text(y) | Value::Json(y) | Value::Timestamp(y),
        ) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::Bytes(x), Value::Bytes(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// A filter with column names resolved to positions.
enum Compiled {
    All,
    Cmp(usize, CmpOp, Value),
    In(usize, Vec<Value>),
    IsNull(usize),
    And(Vec<Compiled>),
    Or(Vec<Compiled>),
    Not(Box<Compiled>),
}

impl Compiled {
    fn new(schema: &TableSchema, f: &Filter) -> Result<Compiled, StorageError> {
        Ok(match f {
            Filter::All => Compiled::All,
            Filter::Cmp { field, op, value } => Compiled::Cmp(position(schema, field)?, *op, value.clone()),
            Filter::In { field, values } => Compiled::In(position(schema, field)?, values.clone()),
            Filter::IsNull(field) => Compiled::IsNull(position(schema, field)?),
            Filter::And(v) => Compiled::And(v.iter().map(|f| Compiled::new(schema, f)).collect::<Result<_, _>>()?),
            Filter::Or(v) => Compiled::Or(v.iter().map(|f| Compiled::new(schema, f)).collect::<Result<_, _>>()?),
            Filter::Not(f) => Compiled::Not(Box::new(Compiled::new(schema, f)?)),
        })
    }

    /// SQL three-valued evaluation: `None` is unknown.
    fn eval(&self, row: &[Value]) -> Option<bool> {
        match self {
            Compiled::All => Some(true),
            Compiled::Cmp(i, op, v) => {
                let o = compare(&row[*i], v)?;
                Some(match op {
                    CmpOp::Eq => o == Ordering::Equal,
                    CmpOp::Ne => o != Ordering::Equal,
                    CmpOp::Lt => o == Ordering::Less,
                    CmpOp::Le => o != Ordering::Greater,
                    CmpOp::Gt => o == Ordering::Greater,
                    CmpOp::Ge => o != Ordering::Less,
                })
            }
            Compiled::In(_, values) if values.is_empty() => Some(false),
            Compiled::In(i, values) => {
                let cell = &row[*i];
                if cell.is_null() {
                    return None;
                }
                let mut unknown = false;
                for v in values {
                    match compare(cell, v) {
                        Some(Ordering::Equal) => return Some(true),
                        Some(_) => {}
                        None => unknown = true,
                    }
                }
                if unknown { None } else { Some(false) }
            }
            Compiled::IsNull(i) => Some(row[*i].is_null()),
            Compiled::And(v) => {
                let mut result = Some(true);
                for f in v {
                    match f.eval(row) {
                        Some(false) => return Some(false),
                        None => result = None,
                        Some(true) => {}
                    }
                }
                result
            }
            Compiled::Or(v) => {
                let mut result = Some(false);
                for f in v {
                    match f.eval(row) {
                        Some(true) => return Some(true),
                        None => result = None,
                        Some(false) => {}
                    }
                }
                result
            }
            Compiled::Not(f) => f.eval(row).map(|b| !b),
        }
    }

    fn matches(&self, row: &[Value]) -> bool {
        self.eval(row) == Some(true)
    }
}

/// Sort order of one key: NULLs first, then by value.
fn sort_cmp(a: &Value, b: &Value) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => compare(a, b).unwrap_or(Ordering::Equal),
    }
}

fn table<'a>(tables: &'a HashMap<String, Table>, name: &str) -> Result<&'a Table, StorageError> {
    tables.get(name).ok_or_else(|| StorageError::TableNotFound(name.to_owned()))
}

fn table_mut<'a>(tables: &'a mut HashMap<String, Table>, name: &str) -> Result<&'a mut Table, StorageError> {
    tables.get_mut(name).ok_or_else(|| StorageError::TableNotFound(name.to_owned()))
}

/// Runs one op, logging what it changed; returns its affected-row count.
fn run_op(tables: &mut HashMap<String, Table>, op: &WriteOp, undo: &mut Vec<Undo>) -> Result<u64, StorageError> {
    let name = op.table();
    let t = table_mut(tables, name)?;
    match op {
        WriteOp::Insert { rows, .. } => {
            for row in &rows.rows {
                let row = t.arrange(&rows.columns, row)?;
                t.check_unique(&row, None)?;
                let id = t.next_id;
                t.next_id += 1;
                t.put(id, row);
                undo.push(Undo::Inserted { table: name.to_owned(), id });
            }
            Ok(rows.rows.len() as u64)
        }
        WriteOp::Update { filter, set, .. } => {
            let filter = Compiled::new(&t.schema, filter)?;
            let set = set
                .iter()
                .map(|(c, v)| Ok((position(&t.schema, c)?, v.clone())))
                .collect::<Result<Vec<_>, StorageError>>()?;
            let ids = t.matching(&filter);
            for &id in &ids {
                let old = t.take(id).expect("matched row exists");
                let mut new = old.clone();
                for (i, v) in &set {
                    new[*i] = v.clone();
                }
                if let Err(e) = t.check_unique(&new, None) {
                    t.put(id, old);
                    return Err(e);
                }
                t.put(id, new);
                undo.push(Undo::Replaced { table: name.to_owned(), id, old });
            }
            Ok(ids.len() as u64)
        }
        WriteOp::Delete { filter, .. } => {
            let filter = Compiled::new(&t.schema, filter)?;
            let ids = t.matching(&filter);
            for &id in &ids {
                let row = t.take(id).expect("matched row exists");
                undo.push(Undo::Removed { table: name.to_owned(), id, row });
            }
            Ok(ids.len() as u64)
        }
        WriteOp::Check { filter, .. } => {
            let filter = Compiled::new(&t.schema, filter)?;
            Ok(t.rows.values().filter(|r| filter.matches(r)).count() as u64)
        }
    }
}

fn expected(op: &WriteOp) -> Option<u64> {
    match op {
        WriteOp::Insert { .. } => None,
        WriteOp::Update { expect, .. } | WriteOp::Delete { expect, .. } => *expect,
        WriteOp::Check { expect, .. } => Some(*expect),
    }
}

fn rollback(tables: &mut HashMap<String, Table>, undo: Vec<Undo>) {
    for step in undo.into_iter().rev() {
        match step {
            Undo::Inserted { table, id } => {
                if let Some(t) = tables.get_mut(&table) {
                    t.take(id);
                }
            }
            Undo::Removed { table, id, row } => {
                if let Some(t) = tables.get_mut(&table) {
                    t.put(id, row);
                }
            }
            Undo::Replaced { table, id, old } => {
                if let Some(t) = tables.get_mut(&table) {
                    t.take(id);
                    t.put(id, old);
                }
            }
        }
    }
}

#[async_trait]
impl Backend for MemoryBackend {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn setup_models(&self, schemas: &[TableSchema]) -> Result<(), StorageError> {
        let mut tables = self.lock();
        let mut created = self.created.lock().unwrap_or_else(|e| e.into_inner());
        // Everything is decided and built first, so a refusal changes nothing.
        let mut built = Vec::new();
        for s in schemas {
            let stored = tables.get(&s.name).map(Table::stored_columns);
            match schema_sync::plan(s, created.contains_key(&s.name), stored.as_deref(), |ty| ty.to_string())? {
                Plan::Create => built.push(Table::new(s)?),
                Plan::AddColumns(columns) if columns.is_empty() => {}
                Plan::AddColumns(_) => {
                    let old = table(&tables, &s.name)?;
                    built.push(old.extended(s)?);
                }
            }
        }
        for t in built {
            tables.insert(t.schema.name.clone(), t);
        }
        let now = Timestamp::now();
        for s in schemas {
            created.entry(s.name.clone()).or_insert(now);
        }
        Ok(())
    }

    async fn find(&self, schema: &TableSchema, query: &Query) -> Result<RowSet, StorageError> {
        let tables = self.lock();
        let t = table(&tables, &schema.name)?;
        let filter = Compiled::new(&t.schema, &query.filter)?;
        let keys = query
            .order_by
            .iter()
            .map(|o| Ok((position(&t.schema, &o.field)?, o.descending)))
            .collect::<Result<Vec<_>, StorageError>>()?;
        let mut rows: Vec<&Vec<Value>> = t.rows.values().filter(|r| filter.matches(r)).collect();
        if !keys.is_empty() {
            rows.sort_by(|a, b| {
                keys.iter()
                    .map(|&(i, desc)| {
                        let o = sort_cmp(&a[i], &b[i]);
                        if desc { o.reverse() } else { o }
                    })
                    .find(|o| *o != Ordering::Equal)
                    .unwrap_or(Ordering::Equal)
            });
        }
        let offset = usize::try_from(query.offset.unwrap_or(0)).unwrap_or(usize::MAX);
        let limit = usize::try_from(query.limit.unwrap_or(u64::MAX)).unwrap_or(usize::MAX);
        let rows = rows.into_iter().skip(offset).take(limit);
        // Rows come back with the columns of `schema`, in its order, as from
        // SQL (the table may hold more: one added by a newer declaration).
        let columns: Vec<String> = schema.columns.iter().map(|c| c.name.clone()).collect();
        let rows = if t.schema.columns.iter().map(|c| &c.name).eq(columns.iter()) {
            rows.cloned().collect()
        } else {
            let at = columns.iter().map(|c| position(&t.schema, c)).collect::<Result<Vec<_>, _>>()?;
            rows.map(|r| at.iter().map(|&i| r[i].clone()).collect()).collect()
        };
        Ok(RowSet { columns, rows })
    }

    async fn count(&self, schema: &TableSchema, filter: &Filter) -> Result<u64, StorageError> {
        let tables = self.lock();
        let t = table(&tables, &schema.name)?;
        let filter = Compiled::new(&t.schema, filter)?;
        Ok(t.rows.values().filter(|r| filter.matches(r)).count() as u64)
    }

    async fn apply(&self, ops: &[WriteOp]) -> Result<Vec<u64>, StorageError> {
        let mut tables = self.lock();
        let mut undo = Vec::new();
        let mut counts = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            let result = run_op(&mut tables, op, &mut undo).and_then(|n| match expected(op) {
                Some(e) if e != n => Err(StorageError::Conflict(u32::try_from(i).unwrap_or(u32::MAX))),
                _ => Ok(n),
            });
            match result {
                Ok(n) => counts.push(n),
                Err(e) => {
                    rollback(&mut tables, undo);
                    return Err(e);
                }
            }
        }
        Ok(counts)
    }
}

/// `memory://`: process memory, for tests; gone when the process exits.
pub(crate) static KIND: BackendKind = BackendKind {
    name: "memory",
    schemes: &["memory"],
    target: TargetKind::None,
    options: &[],
    open: |_url| Box::pin(async { Ok(Arc::new(MemoryBackend::new()) as Arc<dyn Backend>) }),
    test_store: || Box::pin(async { Ok(Some(TestStore::new("memory://"))) }),
};
