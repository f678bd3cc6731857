//! `sqlite://`: a backend on one SQLite file (rusqlite, WAL).
//!
//! Concurrency: one writer connection behind a mutex, so writes of this
//! process never contend for SQLite's write lock, plus a small pool of
//! reader connections (WAL lets them read while the writer writes). Each call
//! runs on the calling thread, as a hand-written rusqlite program would: a
//! hop to another thread and back costs more than most statements. On a
//! multi-threaded tokio runtime it runs inside `block_in_place`, so the
//! runtime moves its other tasks to another worker meanwhile.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::config::DbConfig;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ErrorCode, OpenFlags, ToSql, TransactionBehavior};
use tokio::runtime::{Handle, RuntimeFlavor};

mod checkpoint;

use checkpoint::Checkpointer;

use super::{BackendKind, TargetKind, TestStore};
use crate::schema_sync::{self, Plan, StoredColumn, schema_table};
use crate::sql::{Dialect, Statement, sqlite_type};
use crate::{
    Backend, Column, ColumnType, DbUrl, Filter, PackedRows, Query, RowSet, SCHEMA_TABLE, StorageError, TableSchema,
    Timestamp, Value, WriteOp, packed_kind,
};

/// How long a connection waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Idle reader connections kept open (more are opened while more reads run
/// at once, and closed after).
const READERS: usize = 4;

const DIALECT: Dialect = Dialect::SQLITE;

/// A backend on one SQLite database file.
///
/// Opened in WAL mode with `synchronous=FULL` and a 10 s busy timeout. All
/// writes go through one connection, one at a time, inside
/// `BEGIN IMMEDIATE … COMMIT`; reads use a pool of connections. Each call
/// runs on the calling thread (inside `block_in_place` on a multi-threaded
/// tokio runtime). Several processes may share the file.
///
/// ```no_run
/// use nexau_session_storage::SqliteBackend;
/// let backend = SqliteBackend::open("sessions.db")?;
/// # Ok::<(), nexau_session_storage::StorageError>(())
/// ```
pub struct SqliteBackend {
    path: Option<PathBuf>,
    /// Declared before `_checkpointer`: it must close first (see [`Checkpointer`]).
    writer: Mutex<Connection>,
    /// `None` for an in-memory database: reads then go through the writer.
    readers: Option<Readers>,
    /// `None` for an in-memory database, or a file SQLite would not put in WAL mode.
    _checkpointer: Option<Checkpointer>,
}

impl std::fmt::Debug for SqliteBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteBackend").field("path", &self.path).finish_non_exhaustive()
    }
}

struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

/// What the backend was doing when SQLite failed: the context of an error.
#[derive(Clone, Copy)]
enum Doing<'a> {
    /// Reading or writing this table.
    Table(&'a str),
    /// A step that concerns no one table (opening, a pragma, a commit).
    Step(&'static str),
}

impl std::fmt::Display for Doing<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Doing::Table(t) => write!(f, "table `{t}`"),
            Doing::Step(s) => f.write_str(s),
        }
    }
}

/// Maps a rusqlite error met while `doing`, keeping it as the cause.
fn map_err(e: rusqlite::Error, doing: Doing<'_>) -> StorageError {
    if let rusqlite::Error::SqliteFailure(f, msg) = &e {
        match f.code {
            ErrorCode::ConstraintViolation
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                let text = msg.clone().unwrap_or_else(|| f.to_string());
                return StorageError::DuplicateKey(format!("{doing}: {text}"));
            }
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                return StorageError::backend_caused(
                    format!("sqlite: {doing}: database is locked (still busy after {}s)", BUSY_TIMEOUT.as_secs()),
                    e,
                );
            }
            _ => {}
        }
    }
    StorageError::backend_caused(format!("sqlite: {doing}"), e)
}

/// Maps an error met while preparing or running a statement on `table`. A
/// table that is not in the database is `TableNotFound`, as the catalogue
/// says, not as the error text suggests.
fn table_err(conn: &Connection, table: &str, e: rusqlite::Error) -> StorageError {
    let missing = matches!(&e, rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::Unknown)
        && !table_exists(conn, table).unwrap_or(true);
    if missing { StorageError::TableNotFound(table.to_owned()) } else { map_err(e, Doing::Table(table)) }
}

/// Prepares (from the connection's cache) a statement on `table`.
fn prepare<'c>(conn: &'c Connection, sql: &str, table: &str) -> Result<rusqlite::CachedStatement<'c>, StorageError> {
    conn.prepare_cached(sql).map_err(|e| table_err(conn, table, e))
}

/// Whether the database holds a table called `table`.
fn table_exists(conn: &Connection, table: &str) -> Result<bool, StorageError> {
    conn.prepare_cached("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1")
        .and_then(|mut st| st.exists([table]))
        .map_err(|e| map_err(e, Doing::Step("reading the catalogue")))
}

/// Binds a [`Value`] as SQLite stores it.
struct Param<'a>(&'a Value);

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
            Value::Null => ValueRef::Null,
            Value::Bool(b) => ValueRef::Integer(i64::from(*b)),
            Value::Int(i) => ValueRef::Integer(*i),
            Value::Float(f) => ValueRef::Real(*f),
            Value::Text(s) | Value::Json(s) | Value::Timestamp(s) => ValueRef::Text(s.as_bytes()),
            Value::Bytes(b) => ValueRef::Blob(b),
        }))
    }
}

fn params(values: &[Value]) -> Vec<Param<'_>> {
    values.iter().map(Param).collect()
}

/// A cell as the column's declared type, borrowed from the row.
enum Cell<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Text of a `Text`, `Json` or `Timestamp` column.
    Text(&'a str),
    Bytes(&'a [u8]),
}

/// Checks a cell against the column's declared type.
#[inline(always)]
fn read_cell<'a>(v: ValueRef<'a>, ty: ColumnType, table: &str, column: &str) -> Result<Cell<'a>, StorageError> {
    let text = |b: &'a [u8]| {
        std::str::from_utf8(b).map(Cell::Text).map_err(|e| {
            StorageError::backend_caused(format!("sqlite: `{table}`.`{column}` holds text that is not UTF-8"), e)
        })
    };
    Ok(match (ty, v) {
        (_, ValueRef::Null) => Cell::Null,
        (ColumnType::Bool, ValueRef::Integer(i)) => Cell::Bool(i != 0),
        (ColumnType::Int, ValueRef::Integer(i)) => Cell::Int(i),
        (ColumnType::Float, ValueRef::Real(f)) => Cell::Float(f),
        (ColumnType::Float, ValueRef::Integer(i)) => Cell::Float(i as f64),
        (ColumnType::Text | ColumnType::Json | ColumnType::Timestamp, ValueRef::Text(b)) => text(b)?,
        (ColumnType::Bytes, ValueRef::Blob(b)) => Cell::Bytes(b),
        (ty, v) => {
            return Err(StorageError::backend(format!(
                "sqlite: `{table}`.`{column}` is declared {ty} but holds a {:?} value",
                v.data_type()
            )));
        }
    })
}

/// A checked cell as an owned [`Value`] of its column's type.
#[inline(always)]
fn owned(cell: Cell<'_>, ty: ColumnType) -> Value {
    match cell {
        Cell::Null => Value::Null,
        Cell::Bool(b) => Value::Bool(b),
        Cell::Int(i) => Value::Int(i),
        Cell::Float(f) => Value::Float(f),
        Cell::Text(s) if ty == ColumnType::Json => Value::Json(s.to_owned()),
        Cell::Text(s) if ty == ColumnType::Timestamp => Value::Timestamp(s.to_owned()),
        Cell::Text(s) => Value::Text(s.to_owned()),
        Cell::Bytes(b) => Value::Bytes(b.to_vec()),
    }
}

/// Appends a checked cell to `out`.
#[inline(always)]
fn pack(out: &mut PackedRows, cell: Cell<'_>, ty: ColumnType) -> Result<(), StorageError> {
    match cell {
        Cell::Null => out.push_word(packed_kind::NULL, 0),
        Cell::Bool(b) => out.push_word(packed_kind::BOOL, u64::from(b)),
        Cell::Int(i) => out.push_word(packed_kind::INT, i as u64),
        Cell::Float(f) => out.push_word(packed_kind::FLOAT, f.to_bits()),
        Cell::Text(s) if ty == ColumnType::Json => out.push_text(packed_kind::JSON, s)?,
        Cell::Text(s) if ty == ColumnType::Timestamp => out.push_text(packed_kind::TIMESTAMP, s)?,
        Cell::Text(s) => out.push_text(packed_kind::TEXT, s)?,
        Cell::Bytes(b) => out.push_bytes(b)?,
    }
    Ok(())
}

/// Runs `query` on `schema` and hands `cell` each cell, row by row: its
/// index in the row, its column and its value, checked. `columns` are the
/// query's (`schema.projection`).
fn select_each(
    conn: &Connection,
    schema: &TableSchema,
    columns: &[&Column],
    query: &Query,
    mut cell: impl FnMut(usize, &Column, Cell<'_>) -> Result<(), StorageError>,
) -> Result<(), StorageError> {
    let t = &schema.name;
    let Statement { sql, params: values } = DIALECT.select(schema, query);
    let mut stmt = prepare(conn, &sql, t)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(params(&values))).map_err(|e| table_err(conn, t, e))?;
    while let Some(row) = rows.next().map_err(|e| table_err(conn, t, e))? {
        for (i, c) in columns.iter().enumerate() {
            let v = row.get_ref(i).map_err(|e| table_err(conn, t, e))?;
            cell(i, c, read_cell(v, c.ty, t, &c.name)?)?;
        }
    }
    Ok(())
}

/// The names of `columns`.
fn names(columns: &[&Column]) -> Vec<String> {
    columns.iter().map(|c| c.name.clone()).collect()
}

fn run_select(conn: &Connection, schema: &TableSchema, query: &Query) -> Result<RowSet, StorageError> {
    let columns = schema.projection(&query.columns)?;
    let mut rows: Vec<Vec<Value>> = Vec::new();
    select_each(conn, schema, &columns, query, |i, c, cell| {
        if i == 0 {
            rows.push(Vec::with_capacity(columns.len()));
        }
        if let Some(row) = rows.last_mut() {
            row.push(owned(cell, c.ty));
        }
        Ok(())
    })?;
    Ok(RowSet { columns: names(&columns), rows })
}

fn run_select_packed(conn: &Connection, schema: &TableSchema, query: &Query) -> Result<PackedRows, StorageError> {
    let columns = schema.projection(&query.columns)?;
    let mut out = PackedRows::with_columns(names(&columns));
    // Rows the limit allows after the first, whose size stands for theirs.
    let more = query.limit.map_or(0, |l| usize::try_from(l).unwrap_or(usize::MAX).saturating_sub(1));
    let last = columns.len().saturating_sub(1);
    select_each(conn, schema, &columns, query, |i, c, cell| {
        pack(&mut out, cell, c.ty)?;
        if i == last && more > 0 && out.rows() == 1 {
            out.reserve_rows(more);
        }
        Ok(())
    })?;
    Ok(out)
}

fn run_count(conn: &Connection, table: &str, filter: &Filter, lock: bool) -> Result<u64, StorageError> {
    let Statement { sql, params: values } = DIALECT.count(table, filter, lock);
    let mut stmt = prepare(conn, &sql, table)?;
    let n: i64 = stmt
        .query_row(rusqlite::params_from_iter(params(&values)), |r| r.get(0))
        .map_err(|e| table_err(conn, table, e))?;
    Ok(n as u64)
}

fn run_statement(conn: &Connection, table: &str, st: &Statement) -> Result<u64, StorageError> {
    let mut stmt = prepare(conn, &st.sql, table)?;
    let n = stmt.execute(rusqlite::params_from_iter(params(&st.params))).map_err(|e| table_err(conn, table, e))?;
    Ok(n as u64)
}

fn run_op(conn: &Connection, op: &WriteOp) -> Result<u64, StorageError> {
    match op {
        WriteOp::Insert { table, rows } => {
            if rows.rows.is_empty() {
                return Ok(0);
            }
            let sql = DIALECT.insert(table, &rows.columns);
            let mut stmt = prepare(conn, &sql, table)?;
            for row in &rows.rows {
                stmt.execute(rusqlite::params_from_iter(params(row))).map_err(|e| table_err(conn, table, e))?;
            }
            Ok(rows.rows.len() as u64)
        }
        WriteOp::Update { table, filter, set, .. } => run_statement(conn, table, &DIALECT.update(table, filter, set)),
        WriteOp::Delete { table, filter, .. } => run_statement(conn, table, &DIALECT.delete(table, filter)),
        WriteOp::Check { table, filter, .. } => run_count(conn, table, filter, true),
    }
}

/// Runs `ops` in one `BEGIN IMMEDIATE` transaction; any error rolls it back.
fn run_batch(conn: &mut Connection, ops: &[WriteOp]) -> Result<Vec<u64>, StorageError> {
    let tx = WriteTx::begin(conn)?;
    let mut counts = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        let n = run_op(tx.conn, op)?; // dropping `tx` on error rolls back
        if op.expected().is_some_and(|e| e != n) {
            return Err(StorageError::Conflict(u32::try_from(i).unwrap_or(u32::MAX)));
        }
        counts.push(n);
    }
    tx.commit()?;
    Ok(counts)
}

/// A write transaction whose `BEGIN IMMEDIATE` and `COMMIT` are cached
/// statements (`rusqlite::Transaction` parses both on every write); rolled
/// back when dropped uncommitted.
struct WriteTx<'c> {
    conn: &'c Connection,
    open: bool,
}

impl<'c> WriteTx<'c> {
    fn begin(conn: &'c Connection) -> Result<WriteTx<'c>, StorageError> {
        let doing = Doing::Step("beginning a write transaction");
        conn.prepare_cached("BEGIN IMMEDIATE").and_then(|mut s| s.execute([])).map_err(|e| map_err(e, doing))?;
        Ok(WriteTx { conn, open: true })
    }

    fn commit(mut self) -> Result<(), StorageError> {
        let doing = Doing::Step("committing a write");
        self.conn.prepare_cached("COMMIT").and_then(|mut s| s.execute([])).map_err(|e| map_err(e, doing))?;
        self.open = false;
        Ok(())
    }
}

impl Drop for WriteTx<'_> {
    fn drop(&mut self) {
        if self.open && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// The columns of `table` as SQLite stores them; `None` when there is no such table.
fn stored_columns(conn: &Connection, table: &str) -> Result<Option<Vec<StoredColumn>>, StorageError> {
    let mut stmt = conn
        .prepare_cached(r#"SELECT "name", "type", "notnull" FROM pragma_table_info(?1)"#)
        .map_err(|e| map_err(e, Doing::Table(table)))?;
    let columns = stmt
        .query_map([table], |r| Ok(StoredColumn { name: r.get(0)?, ty: r.get(1)?, not_null: r.get::<_, i64>(2)? != 0 }))
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(|e| map_err(e, Doing::Table(table)))?;
    Ok(if columns.is_empty() { None } else { Some(columns) })
}

/// The tables this database records having created.
fn recorded_tables(conn: &Connection) -> Result<HashSet<String>, StorageError> {
    let sql = format!("SELECT {} FROM {}", DIALECT.quote_ident("table_name"), DIALECT.quote_ident(SCHEMA_TABLE));
    let mut stmt = conn.prepare(&sql).map_err(|e| map_err(e, Doing::Table(SCHEMA_TABLE)))?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect::<Result<HashSet<_>, _>>())
        .map_err(|e| map_err(e, Doing::Table(SCHEMA_TABLE)))?;
    Ok(names)
}

/// Creates, extends or refuses each table (see `schema_sync`), records the
/// tables created, and creates missing indexes: all in one transaction.
fn setup(conn: &mut Connection, schemas: &[TableSchema]) -> Result<(), StorageError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| map_err(e, Doing::Step("beginning setup_models")))?;
    tx.execute_batch(&DIALECT.create_table(&schema_table())).map_err(|e| map_err(e, Doing::Table(SCHEMA_TABLE)))?;
    let recorded = recorded_tables(&tx)?;
    let record = DIALECT.insert(SCHEMA_TABLE, &["table_name".into(), "created_at".into()]);
    let created_at = Timestamp::now().to_rfc3339_micros();
    for s in schemas {
        let stored = stored_columns(&tx, &s.name)?;
        match schema_sync::plan(s, recorded.contains(&s.name), stored.as_deref(), |ty| sqlite_type(ty).to_owned())? {
            Plan::Create => {
                tx.execute_batch(&DIALECT.create_table(s)).map_err(|e| map_err(e, Doing::Table(&s.name)))?
            }
            Plan::AddColumns(columns) => {
                for c in &columns {
                    tx.execute_batch(&DIALECT.add_column(&s.name, c)).map_err(|e| map_err(e, Doing::Table(&s.name)))?;
                }
            }
        }
        for ix in &s.indexes {
            tx.execute_batch(&DIALECT.create_index(s, ix)).map_err(|e| map_err(e, Doing::Table(&s.name)))?;
        }
        if !recorded.contains(&s.name) {
            tx.execute(&record, [s.name.as_str(), created_at.as_str()])
                .map_err(|e| map_err(e, Doing::Table(SCHEMA_TABLE)))?;
        }
    }
    tx.commit().map_err(|e| map_err(e, Doing::Step("committing setup_models")))
}

fn configure(conn: &Connection) -> Result<(), StorageError> {
    conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| map_err(e, Doing::Step("setting the busy timeout")))?;
    // FULL: fsync the WAL on every commit, so every write we acknowledge
    // survives a crash or power loss (NORMAL could lose the last commits),
    // and the database file on every checkpoint.
    conn.pragma_update(None, "synchronous", "FULL").map_err(|e| map_err(e, Doing::Step("setting synchronous=FULL")))?;
    conn.set_prepared_statement_cache_capacity(64);
    // One plan per statement, whatever its parameters. Without this, SQLite
    // marks a statement whose `LIMIT ?`/`OFFSET ?` is bound to 0 or 1 (every
    // single-row read here) to be compiled again on each rebinding: half the
    // time of a read went to re-preparing cached statements.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(|e| map_err(e, Doing::Step("fixing query plans")))?;
    Ok(())
}

/// The writer connection, and whether the file is in WAL mode.
fn open_writer(path: &Path) -> Result<(Connection, bool), StorageError> {
    let conn = Connection::open(path)
        .map_err(|e| StorageError::backend_caused(format!("sqlite: cannot open {}", path.display()), e))?;
    configure(&conn)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(|e| map_err(e, Doing::Step("switching to WAL")))?;
    let wal = mode.eq_ignore_ascii_case("wal");
    if !wal {
        tracing::warn!(path = %path.display(), mode, "sqlite: WAL mode unavailable; readers may wait for writers");
    }
    Ok((conn, wal))
}

/// Another connection to the file (the checkpointer's, a reader's).
fn open_other(path: &Path) -> Result<Connection, StorageError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| StorageError::backend_caused(format!("sqlite: cannot open {}", path.display()), e))?;
    configure(&conn)?;
    Ok(conn)
}

fn open_reader(path: &Path) -> Result<Connection, StorageError> {
    let conn = open_other(path)?;
    conn.pragma_update(None, "query_only", true).map_err(|e| map_err(e, Doing::Step("making a reader read-only")))?;
    Ok(conn)
}

/// Runs `f`, which blocks on SQLite, on the calling thread: inside
/// `block_in_place` on a multi-threaded tokio runtime (its other tasks move
/// to another worker meanwhile), directly anywhere else.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

impl SqliteBackend {
    /// Opens (creating if missing) the database file at `path`, in WAL mode.
    ///
    /// The parent directory must exist (creating it is the caller's job).
    /// Does brief blocking file I/O: call it at startup or from
    /// `spawn_blocking`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StorageError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.is_dir()
        {
            return Err(StorageError::backend(format!(
                "sqlite: cannot open {}: directory {} does not exist",
                path.display(),
                dir.display()
            )));
        }
        let (mut writer, wal) = open_writer(&path)?;
        let checkpointer = if wal { Some(Checkpointer::start(&path, open_other(&path)?, &mut writer)?) } else { None };
        let readers = Readers { path: path.clone(), idle: Mutex::new(Vec::new()) };
        Ok(SqliteBackend {
            path: Some(path),
            writer: Mutex::new(writer),
            readers: Some(readers),
            _checkpointer: checkpointer,
        })
    }

    /// A private in-memory database (one connection; reads share the
    /// writer's). For tests.
    pub fn open_in_memory() -> Result<Self, StorageError> {
        let conn =
            Connection::open_in_memory().map_err(|e| map_err(e, Doing::Step("opening an in-memory database")))?;
        configure(&conn)?;
        Ok(SqliteBackend { path: None, writer: Mutex::new(conn), readers: None, _checkpointer: None })
    }

    /// The database file, or `None` for an in-memory database.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The writer connection, outside any transaction. A panic inside a
    /// write poisons the mutex after the transaction's drop rolled it back;
    /// the connection is still sound, and a transaction left open anyway is
    /// rolled back here.
    fn writer(&self) -> MutexGuard<'_, Connection> {
        let conn = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        conn
    }

    /// Runs `f` on the writer connection.
    fn on_writer<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T, StorageError>) -> Result<T, StorageError> {
        blocking(|| f(&mut self.writer()))
    }

    /// Runs a read `f` on the writer connection when no write is running,
    /// else on an idle reader connection (opening one when none is idle);
    /// always on the writer for an in-memory database.
    ///
    /// The writer first because of page caches: a connection drops its whole
    /// cache whenever it sees that another connection wrote, so a reader
    /// reads every page again from the file after each write, while the
    /// writer's cache already holds what it wrote. Readers take the reads
    /// that come while a write runs.
    fn on_reader<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T, StorageError>) -> Result<T, StorageError> {
        let Some(readers) = &self.readers else { return self.on_writer(f) };
        blocking(|| {
            if let Ok(mut writer) = self.writer.try_lock()
                && writer.is_autocommit()
            {
                return f(&mut writer);
            }
            let idle = readers.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let mut conn = match idle {
                Some(c) => c,
                None => open_reader(&readers.path)?,
            };
            let out = f(&mut conn);
            let mut idle = readers.idle.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() < READERS {
                idle.push(conn);
            }
            out
        })
    }
}

#[async_trait]
impl Backend for SqliteBackend {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    async fn setup_models(&self, schemas: &[TableSchema]) -> Result<(), StorageError> {
        self.on_writer(|conn| setup(conn, schemas))
    }

    async fn find(&self, table: &TableSchema, query: &Query) -> Result<RowSet, StorageError> {
        self.on_reader(|conn| run_select(conn, table, query))
    }

    async fn find_packed(&self, table: &TableSchema, query: &Query) -> Result<PackedRows, StorageError> {
        self.on_reader(|conn| run_select_packed(conn, table, query))
    }

    async fn count(&self, table: &TableSchema, filter: &Filter) -> Result<u64, StorageError> {
        self.on_reader(|conn| run_count(conn, &table.name, filter, false))
    }

    async fn apply(&self, ops: &[WriteOp]) -> Result<Vec<u64>, StorageError> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        self.on_writer(|conn| run_batch(conn, ops))
    }
}

/// `sqlite:///relative.db`, `sqlite:////absolute.db`, `sqlite+aiosqlite:///…`:
/// one file, created with its missing parent directories.
pub(crate) static KIND: BackendKind = BackendKind {
    name: "sqlite",
    schemes: &["sqlite"],
    target: TargetKind::Path,
    options: &[],
    open: |url| Box::pin(open_url(url)),
    test_store: || {
        Box::pin(async {
            TestStore::in_temp_dir(|dir| format!("sqlite:///{}", dir.join("sessions.db").display())).map(Some)
        })
    },
};

async fn open_url(url: &DbUrl) -> Result<Arc<dyn Backend>, StorageError> {
    let path = url.path().ok_or_else(|| StorageError::Url(format!("{url}: a sqlite URL names a file")))?.to_owned();
    tokio::task::spawn_blocking(move || {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StorageError::backend_caused(format!("sqlite: cannot create {}", parent.display()), e))?;
        }
        Ok(Arc::new(SqliteBackend::open(&path)?) as Arc<dyn Backend>)
    })
    .await
    .map_err(|e| StorageError::backend_caused("sqlite: opening the database failed unexpectedly", e))?
}

/// Every row of `table` in the SQLite file `url` names, opened read-only
/// (see [`crate::foreign::read_table`]); `None` when there is no such table.
pub(crate) async fn read_foreign_table(url: &DbUrl, table: &str) -> Result<Option<RowSet>, StorageError> {
    let path = url.path().ok_or_else(|| StorageError::Url(format!("{url}: a sqlite URL names a file")))?.to_owned();
    let table = table.to_owned();
    tokio::task::spawn_blocking(move || {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags)
            .map_err(|e| StorageError::backend_caused(format!("sqlite: cannot open {} to read", path.display()), e))?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(|e| map_err(e, Doing::Table(&table)))?;
        if !table_exists(&conn, &table)? {
            return Ok(None);
        }
        let mut st = prepare(&conn, &format!("SELECT * FROM \"{table}\""), &table)?;
        let columns: Vec<String> = st.column_names().map(str::to_owned).collect();
        let mut rows = Vec::new();
        let mut cursor = st.query([]).map_err(|e| table_err(&conn, &table, e))?;
        while let Some(row) = cursor.next().map_err(|e| map_err(e, Doing::Table(&table)))? {
            let mut cells = Vec::with_capacity(columns.len());
            for (i, column) in columns.iter().enumerate() {
                let cell = row.get_ref(i).map_err(|e| map_err(e, Doing::Table(&table)))?;
                cells.push(match cell {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(n) => Value::Int(n),
                    ValueRef::Real(f) => Value::Float(f),
                    ValueRef::Text(t) | ValueRef::Blob(t) => {
                        Value::Text(String::from_utf8(t.to_vec()).map_err(|e| {
                            StorageError::backend_caused(
                                format!("sqlite: `{table}`.`{column}` holds text that is not UTF-8"),
                                e,
                            )
                        })?)
                    }
                });
            }
            rows.push(cells);
        }
        Ok(Some(RowSet { columns, rows }))
    })
    .await
    .map_err(|e| StorageError::backend_caused("sqlite: reading a table failed unexpectedly", e))?
}
