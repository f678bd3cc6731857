//! What the PostgreSQL and MySQL/MariaDB backends share: the [`Backend`]
//! methods written once over a small [`Driver`] interface (run a statement,
//! read rows, begin a transaction), so each backend file holds only what
//! differs: connecting, binding and decoding values, sorting errors.
//!
//! * `find`/`count`: one statement on a pooled connection.
//! * `apply`: one transaction; `Check` ops lock the rows they count, updates
//!   and deletes are conditional statements, inserts fail on a taken key.
//!   A batch that is one statement whose count is not checked runs on its
//!   own, without `BEGIN`/`COMMIT`; a driver that can pipeline (PostgreSQL)
//!   sends a batch's statements together. A
//!   serialization failure or deadlock reruns the whole batch, up to
//!   [`MAX_ATTEMPTS`](failure::MAX_ATTEMPTS) times, then the batch fails with
//!   `Conflict(ops.len())`: an index past the last op, meaning "the batch as a
//!   whole lost to concurrent writers" (no op's own count was wrong).
//! * `setup_models`: under a server-wide lock (so two hosts can run it at
//!   once), the same decisions as every backend (`schema_sync`), all planned
//!   before anything is changed.

mod failure;
pub(crate) mod scratch;
mod target;

use async_trait::async_trait;

pub(crate) use failure::Failure;
pub(crate) use target::{POOL_OPTIONS, Target};

use crate::schema_sync::{self, Plan, StoredColumn, schema_table};
use crate::sql::{Dialect, Statement};
use crate::{
    Backend, ColumnType, Filter, Query, RowSet, SCHEMA_TABLE, StorageError, TableSchema, Timestamp, Value, WriteOp,
};

/// A connection, or a transaction on one.
#[async_trait]
pub(crate) trait Session: Send {
    /// Runs a statement; the rows it affected (matched, for updates).
    async fn execute(&mut self, st: &Statement) -> Result<u64, Failure>;
    /// Runs a query, reading the cells of each row as `types`.
    async fn fetch(&mut self, st: &Statement, types: &[ColumnType]) -> Result<Vec<Vec<Value>>, Failure>;

    /// Runs `sts` in order, as [`execute`](Session::execute) would each:
    /// each one's outcome, up to the first failure at least. This one waits
    /// for each answer before sending the next statement and stops at a
    /// failure; a driver whose protocol pipelines sends them all first (one
    /// round trip) and answers for every one.
    async fn execute_all(&mut self, sts: &[Statement]) -> Vec<Result<u64, Failure>> {
        let mut outcomes = Vec::with_capacity(sts.len());
        for st in sts {
            let outcome = self.execute(st).await;
            let failed = outcome.is_err();
            outcomes.push(outcome);
            if failed {
                break;
            }
        }
        outcomes
    }
}

/// Implements [`Session`] for a driver's connection and transaction types by
/// forwarding to the `execute` and `fetch` functions in scope where it is
/// invoked (each driver writes those once, generic over its client types);
/// with `pipelined:`, `execute_all` too.
macro_rules! session_through {
    (pipelined: $($ty:ty),+ $(,)?) => {$(
        $crate::backends::server::session_through!(@impl $ty;
            async fn execute_all(&mut self, sts: &[Statement]) -> Vec<Result<u64, Failure>> {
                execute_all(self, sts).await
            }
        );
    )+};
    (@impl $ty:ty; $($extra:tt)*) => {
        #[async_trait::async_trait]
        impl $crate::backends::server::Session for $ty {
            async fn execute(&mut self, st: &Statement) -> Result<u64, Failure> {
                execute(self, st).await
            }

            async fn fetch(&mut self, st: &Statement, types: &[ColumnType]) -> Result<Vec<Vec<Value>>, Failure> {
                fetch(self, st, types).await
            }

            $($extra)*
        }
    };
    ($($ty:ty),+ $(,)?) => {$(
        $crate::backends::server::session_through!(@impl $ty;);
    )+};
}
pub(crate) use session_through;

/// An open transaction: dropped without [`commit`](Tx::commit), it rolls back.
#[async_trait]
pub(crate) trait Tx: Session {
    /// Commits.
    async fn commit(self: Box<Self>) -> Result<(), Failure>;
}

/// What a server backend supplies to [`ServerBackend`].
#[async_trait]
pub(crate) trait Driver: Send + Sync + 'static {
    /// A pooled connection (back to the pool when dropped).
    type Conn: Session + 'static;
    /// The backend's short name (`postgres`, `mysql`).
    const NAME: &'static str;
    /// Its SQL flavour.
    const DIALECT: Dialect;

    /// A connection from the pool; the error names host, port and database.
    async fn connect(&self) -> Result<Self::Conn, StorageError>;

    /// Begins a transaction on `conn`: serializable for batches, the
    /// server's default for `setup_models`.
    async fn begin<'c>(conn: &'c mut Self::Conn, serializable: bool) -> Result<Box<dyn Tx + 'c>, Failure>;

    /// A query answering, for table `table`, one row per column: name,
    /// type (as [`stored_type`](Driver::stored_type) reads it), and whether
    /// NULL is allowed (`YES`/`NO`); no rows when there is no such table.
    fn columns_query(table: &str) -> Statement;

    /// The column type a stored type name stands for (`integer`, `text`, ...,
    /// as [`ColumnType`]'s `Display`), or the name itself when it stands for none.
    fn stored_type(name: &str) -> String;

    /// A query taking the schema lock of this database, answering one row
    /// with the integer 1 once held.
    fn lock_schema(&self) -> Statement;

    /// A statement releasing the schema lock, or `None` when committing
    /// releases it.
    fn unlock_schema(&self) -> Option<Statement>;

    /// Marks `conn`, about to take the schema lock, to have its session
    /// reset when it goes back to the pool, so that a setup cut short never
    /// leaves the lock held by a pooled connection. Nothing to do where the
    /// lock ends with the transaction.
    fn reset_when_returned(_conn: &mut Self::Conn) {}
}

/// A [`Backend`] on a SQL server, through driver `D`.
pub(crate) struct ServerBackend<D: Driver> {
    driver: D,
}

impl<D: Driver> ServerBackend<D> {
    /// A backend on `driver`.
    pub(crate) fn new(driver: D) -> Self {
        ServerBackend { driver }
    }

    fn err(table: &str) -> impl Fn(Failure) -> StorageError + '_ {
        move |f| f.into_storage(D::NAME, table)
    }

    /// One attempt at a batch: begin, run every op, check counts, commit.
    ///
    /// A `Check` is a query, run in its turn. A batch without one is all
    /// statements: they are sent at once (a pipelining driver takes one round
    /// trip) and their outcomes read in op order, so the first problem is the
    /// one running the ops one after the other would report (a count that
    /// missed its `expect` before a later failure). A batch of one statement
    /// whose count is not checked runs without `BEGIN` and `COMMIT` (two
    /// round trips fewer): a single statement is atomic on its own, and an
    /// `UPDATE` re-checks its filter on rows another writer changed
    /// meanwhile, so a compare-and-set stays one.
    async fn try_batch(&self, ops: &[WriteOp]) -> Result<Vec<u64>, Attempt> {
        let mut conn = self.driver.connect().await.map_err(Attempt::Failed)?;
        let planned = (!ops.iter().any(|op| matches!(op, WriteOp::Check { .. })))
            .then(|| ops.iter().map(|op| statements(D::DIALECT, op)).collect::<Vec<_>>());
        if let (Some([only]), [op]) = (planned.as_deref(), ops)
            && let [st] = only.as_slice()
            && op.expected().is_none()
        {
            let n = conn.execute(st).await.map_err(|f| Attempt::from_failure::<D>(f, op.table()))?;
            return Ok(vec![n]);
        }
        let first = ops.first().map_or("", WriteOp::table);
        let mut tx = D::begin(&mut conn, true).await.map_err(|f| Attempt::from_failure::<D>(f, first))?;
        let per_op: Option<Vec<usize>> = planned.as_ref().map(|p| p.iter().map(Vec::len).collect());
        let sent: Vec<Statement> = planned.into_iter().flatten().flatten().collect();
        let mut outcomes = tx.execute_all(&sent).await.into_iter();
        let unanswered = || Err(Failure::Other("a statement of the batch got no answer".into()));
        let mut counts = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            let n = match &per_op {
                Some(lens) => (0..lens[i]).map(|_| outcomes.next().unwrap_or_else(unanswered)).sum(),
                None => run_op(&mut *tx, D::DIALECT, op).await,
            }
            .map_err(|f| Attempt::from_failure::<D>(f, op.table()))?;
            if op.expected().is_some_and(|e| e != n) {
                return Err(Attempt::Failed(StorageError::Conflict(u32::try_from(i).unwrap_or(u32::MAX))));
            }
            counts.push(n);
        }
        tx.commit().await.map_err(|f| Attempt::from_failure::<D>(f, ""))?;
        Ok(counts)
    }

    /// Plans every table, then creates, extends and records them.
    async fn sync_schemas(session: &mut dyn Session, schemas: &[TableSchema]) -> Result<(), StorageError> {
        let d = D::DIALECT;
        let record_table = schema_table();
        let none = Statement { sql: String::new(), params: Vec::new() };
        let create_record = Statement { sql: d.create_table(&record_table), ..none.clone() };
        session.execute(&create_record).await.map_err(Self::err(SCHEMA_TABLE))?;
        let select = d.select(&record_table, &Query::default());
        let types: Vec<ColumnType> = record_table.columns.iter().map(|c| c.ty).collect();
        let recorded: Vec<String> = session
            .fetch(&select, &types)
            .await
            .map_err(Self::err(SCHEMA_TABLE))?
            .into_iter()
            .filter_map(|row| row.into_iter().next().and_then(|v| v.as_str().map(str::to_owned)))
            .collect();
        let mut plans = Vec::with_capacity(schemas.len());
        for s in schemas {
            let stored = stored_columns::<D>(session, &s.name).await?;
            let is_recorded = recorded.contains(&s.name);
            plans.push((s, is_recorded, schema_sync::plan(s, is_recorded, stored.as_deref(), |ty| ty.to_string())?));
        }
        let created_at = Value::from(Timestamp::now());
        for (s, is_recorded, plan) in plans {
            let mut ddl = match plan {
                Plan::Create => vec![d.create_table(s)],
                Plan::AddColumns(columns) => columns.iter().map(|c| d.add_column(&s.name, c)).collect(),
            };
            ddl.extend(s.indexes.iter().map(|ix| d.create_index(s, ix)));
            for sql in ddl {
                session.execute(&Statement { sql, ..none.clone() }).await.map_err(Self::err(&s.name))?;
            }
            if !is_recorded {
                let record = Statement {
                    sql: d.insert(SCHEMA_TABLE, &["table_name".into(), "created_at".into()]),
                    params: vec![Value::Text(s.name.clone()), created_at.clone()],
                };
                session.execute(&record).await.map_err(Self::err(SCHEMA_TABLE))?;
            }
        }
        Ok(())
    }
}

/// The outcome of one failed attempt at a batch.
enum Attempt {
    /// Worth running again.
    Retry(String),
    /// Final.
    Failed(StorageError),
}

impl Attempt {
    fn from_failure<D: Driver>(f: Failure, table: &str) -> Self {
        match f {
            Failure::Retry(m) => Attempt::Retry(m),
            f => Attempt::Failed(f.into_storage(D::NAME, table)),
        }
    }
}

async fn stored_columns<D: Driver>(
    session: &mut dyn Session,
    table: &str,
) -> Result<Option<Vec<StoredColumn>>, StorageError> {
    let text = [ColumnType::Text, ColumnType::Text, ColumnType::Text];
    let rows = session.fetch(&D::columns_query(table), &text).await.map_err(|f| f.into_storage(D::NAME, table))?;
    let columns: Vec<StoredColumn> = rows
        .into_iter()
        .map(|row| {
            let cell = |i: usize| row.get(i).and_then(Value::as_str).unwrap_or_default().to_owned();
            StoredColumn { name: cell(0), ty: D::stored_type(&cell(1)), not_null: cell(2).eq_ignore_ascii_case("NO") }
        })
        .collect();
    Ok(if columns.is_empty() { None } else { Some(columns) })
}

/// Rows of `width` columns one `INSERT` carries: both servers take at most
/// 65535 parameters a statement.
fn rows_per_insert(width: usize) -> usize {
    (65_535 / width.max(1)).clamp(1, 1000)
}

/// The statements of a write op (none for a `Check`, which is a query);
/// their counts add up to the op's.
fn statements(d: Dialect, op: &WriteOp) -> Vec<Statement> {
    match op {
        WriteOp::Insert { table, rows } => rows
            .rows
            .chunks(rows_per_insert(rows.columns.len()))
            .map(|chunk| Statement {
                sql: d.insert_many(table, &rows.columns, chunk.len()),
                params: chunk.iter().flatten().cloned().collect(),
            })
            .collect(),
        WriteOp::Update { table, filter, set, .. } => vec![d.update(table, filter, set)],
        WriteOp::Delete { table, filter, .. } => vec![d.delete(table, filter)],
        WriteOp::Check { .. } => Vec::new(),
    }
}

/// Runs one op of a batch; its affected (or, for `Check`, matched) rows.
async fn run_op(session: &mut dyn Session, d: Dialect, op: &WriteOp) -> Result<u64, Failure> {
    match op {
        WriteOp::Check { table, filter, .. } => count(session, &d.count(table, filter, true)).await,
        op => {
            let mut n = 0;
            for st in statements(d, op) {
                n += session.execute(&st).await?;
            }
            Ok(n)
        }
    }
}

async fn count(session: &mut dyn Session, st: &Statement) -> Result<u64, Failure> {
    let rows = session.fetch(st, &[ColumnType::Int]).await?;
    match rows.first().and_then(|r| r.first()) {
        Some(Value::Int(n)) => Ok(u64::try_from(*n).unwrap_or(0)),
        other => Err(Failure::Other(format!("COUNT(*) answered {other:?}"))),
    }
}

#[async_trait]
impl<D: Driver> Backend for ServerBackend<D> {
    fn name(&self) -> &'static str {
        D::NAME
    }

    async fn setup_models(&self, schemas: &[TableSchema]) -> Result<(), StorageError> {
        let mut conn = self.driver.connect().await?;
        D::reset_when_returned(&mut conn);
        let outcome = {
            let mut tx = D::begin(&mut conn, false).await.map_err(Self::err(""))?;
            let locked = count(&mut *tx, &self.driver.lock_schema()).await.map_err(Self::err(""));
            match locked {
                Ok(1) => match Self::sync_schemas(&mut *tx, schemas).await {
                    Ok(()) => tx.commit().await.map_err(Self::err("")),
                    Err(e) => Err(e), // dropping `tx` rolls back what the server can
                },
                Ok(n) => Err(StorageError::backend(format!("{}: could not take the schema lock ({n})", D::NAME))),
                Err(e) => Err(e),
            }
        };
        if let Some(unlock) = self.driver.unlock_schema() {
            conn.fetch(&unlock, &[]).await.map_err(Self::err(""))?;
        }
        outcome
    }

    async fn find(&self, table: &TableSchema, query: &Query) -> Result<RowSet, StorageError> {
        let columns = table.projection(&query.columns)?;
        let st = D::DIALECT.select(table, query);
        let types: Vec<ColumnType> = columns.iter().map(|c| c.ty).collect();
        let mut conn = self.driver.connect().await?;
        let rows = conn.fetch(&st, &types).await.map_err(Self::err(&table.name))?;
        Ok(RowSet { columns: columns.iter().map(|c| c.name.clone()).collect(), rows })
    }

    async fn count(&self, table: &TableSchema, filter: &Filter) -> Result<u64, StorageError> {
        let mut conn = self.driver.connect().await?;
        count(&mut conn, &D::DIALECT.count(&table.name, filter, false)).await.map_err(Self::err(&table.name))
    }

    async fn apply(&self, ops: &[WriteOp]) -> Result<Vec<u64>, StorageError> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        let mut attempt = 1;
        loop {
            match self.try_batch(ops).await {
                Ok(counts) => return Ok(counts),
                Err(Attempt::Failed(e)) => return Err(e),
                Err(Attempt::Retry(cause)) if attempt >= failure::MAX_ATTEMPTS => {
                    tracing::warn!(backend = D::NAME, attempts = attempt, %cause, "batch kept conflicting; giving up");
                    return Err(StorageError::Conflict(u32::try_from(ops.len()).unwrap_or(u32::MAX)));
                }
                Err(Attempt::Retry(cause)) => {
                    tracing::debug!(backend = D::NAME, attempt, %cause, "batch conflicted; running it again");
                    tokio::time::sleep(failure::backoff(attempt)).await;
                    attempt += 1;
                }
            }
        }
    }
}

/// Every row of `table` on the server `driver` reaches, each cell read as
/// the server's text form of it (see [`crate::foreign::read_table`]); `None`
/// when the database (schema) has no such table. `cast` is the dialect's
/// type name for text (`TEXT`, `CHAR`).
pub(crate) async fn read_foreign_table<D: Driver>(
    driver: &D,
    table: &str,
    cast: &str,
) -> Result<Option<RowSet>, StorageError> {
    let err = ServerBackend::<D>::err(table);
    let mut conn = driver.connect().await?;
    let stored = conn.fetch(&D::columns_query(table), &[ColumnType::Text; 3]).await.map_err(&err)?;
    if stored.is_empty() {
        return Ok(None);
    }
    let columns: Vec<String> = stored.iter().map(|c| c[0].as_str().unwrap_or_default().to_owned()).collect();
    let cells: Vec<String> = columns.iter().map(|c| format!("CAST({} AS {cast})", D::DIALECT.quote_ident(c))).collect();
    let sql = format!("SELECT {} FROM {}", cells.join(", "), D::DIALECT.quote_ident(table));
    let types = vec![ColumnType::Text; columns.len()];
    let rows = conn.fetch(&Statement { sql, params: Vec::new() }, &types).await.map_err(&err)?;
    Ok(Some(RowSet { columns, rows }))
}
