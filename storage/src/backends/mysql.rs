//! `mysql://` (also `mysql+aiomysql://`, `mariadb://`): a backend on a
//! MySQL/MariaDB server, through mysql_async and its connection pool. What it
//! shares with the PostgreSQL backend lives in `server`.
//!
//! Columns: `BIGINT`, `BOOLEAN`, `DOUBLE`, text in `utf8mb4_nopad_bin`
//! (code-point order, trailing spaces significant), `VARCHAR(n)` for key
//! columns (as wide as InnoDB's 3072-byte index limit allows, shared by the
//! key's text columns) and `LONGTEXT` otherwise, `JSON` (MariaDB keeps the
//! text as written and checks it is valid), `LONGBLOB`, `DATETIME(6)` in UTC.
//! Batches run at InnoDB's `REPEATABLE READ`, where every read of a batch
//! locks (`Check` counts `FOR UPDATE`; updates and deletes lock what they
//! match, gaps included), so batches serialize as on SQLite; deadlocks are
//! retried. Connections report rows matched, not rows changed, so a
//! conditional update that writes the same value still counts.
//! `setup_models` holds `GET_LOCK` on the database; MySQL's DDL is not
//! transactional, so every table is planned (and refused) before any is changed.
//!
//! URL options: `pool_size`, `pool_timeout`, `connect_timeout` (seconds).

use std::sync::Arc;

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, IsolationLevel, OptsBuilder, Params, Pool, PoolConstraints, PoolOpts, Row, TxOpts};

use super::server::{Driver, Failure, POOL_OPTIONS, ServerBackend, Session, Target, Tx, scratch, session_through};
use super::{BackendKind, TargetKind, TestStore};
use crate::sql::{Dialect, Statement};
use crate::{Backend, ColumnType, DbUrl, StorageError, Timestamp, Value};

/// The backend's name in messages.
const NAME: &str = "mysql";
/// The server's default port.
const DEFAULT_PORT: u16 = 3306;
/// The environment variable naming the server the tests use.
pub const TEST_URL_VAR: &str = "NEXAU_TEST_MYSQL_URL";
/// Seconds `setup_models` waits for another process's setup to finish.
const SCHEMA_LOCK_WAIT_SECS: i64 = 120;
/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 256;

/// How long an idle pooled connection stays open. With the driver's
/// default (0) and no minimum pool size, the pool keeps no idle connection
/// at all: every storage call connected and authenticated anew (about 1 ms
/// on loopback, more than the statement).
const IDLE_CONNECTION_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// The `?query` options a MySQL/MariaDB URL accepts.
pub const OPTIONS: [&str; 3] = POOL_OPTIONS;

/// `mysql://`, `mysql+aiomysql://`, `mariadb://`: a MySQL/MariaDB server.
pub(crate) static KIND: BackendKind = BackendKind {
    name: NAME,
    schemes: &["mysql", "mariadb"],
    target: TargetKind::Server,
    options: &OPTIONS,
    open: |url| Box::pin(open_url(url)),
    test_store: || Box::pin(test_store()),
};

/// Opens a backend on the server `url` names and checks that it answers:
/// the error names host, port, database and the cause.
async fn open_url(url: &DbUrl) -> Result<Arc<dyn Backend>, StorageError> {
    let driver = MyDriver::new(Target::from_url(url)?)?;
    drop(driver.connect().await?);
    Ok(Arc::new(ServerBackend::new(driver)))
}

/// A throw-away database on the server [`TEST_URL_VAR`] names, dropped when
/// the returned store is dropped; `None` when the variable is unset. An
/// unreachable server is an error.
async fn test_store() -> Result<Option<TestStore>, StorageError> {
    let Some(base) = scratch::env_url(TEST_URL_VAR) else { return Ok(None) };
    let database = scratch::unique_name();
    run_admin(&base, format!("CREATE DATABASE `{database}`")).await?;
    let url = scratch::with_database(&base, &database);
    Ok(Some(scratch::store_removed_by(url, move || async move {
        run_admin(&base, format!("DROP DATABASE IF EXISTS `{database}`")).await
    })))
}

/// Runs one statement on the server `url` names, on a connection of its own.
async fn run_admin(url: &str, sql: String) -> Result<(), StorageError> {
    let driver = MyDriver::new(Target::from_url(&DbUrl::parse(url)?)?)?;
    let mut conn = driver.connect().await?;
    conn.execute(&Statement { sql, params: Vec::new() }).await.map_err(|f| f.into_storage(NAME, ""))?;
    drop(conn);
    driver.pool.disconnect().await.map_err(|e| StorageError::backend_caused(format!("{NAME}: closing the pool"), e))
}

/// The MySQL [`Driver`]: a pool, and where it points (for messages).
struct MyDriver {
    pool: Pool,
    target: Target,
}

impl MyDriver {
    fn new(target: Target) -> Result<Self, StorageError> {
        let constraints = PoolConstraints::new(0, target.pool_size)
            .ok_or_else(|| StorageError::Url(format!("{NAME} URL: option pool_size must be at least 1")))?;
        let opts = OptsBuilder::default()
            .ip_or_hostname(target.host.clone())
            .tcp_port(target.port.unwrap_or(DEFAULT_PORT))
            .user(target.user.clone())
            .pass(target.password.clone())
            .db_name(target.database.clone())
            .prefer_socket(false)
            .client_found_rows(true)
            .stmt_cache_size(STATEMENT_CACHE)
            // A connection goes back to the pool as it is: resetting it
            // (the driver's default) costs a round trip per storage call and
            // drops its prepared statements, so every call would prepare its
            // statements again. Nothing here leaves session state behind: a
            // transaction is rolled back by the driver when dropped, the
            // isolation level is set per transaction, and the one lock held
            // across statements (the schema lock) marks its connection for a
            // reset (`reset_when_returned`).
            .pool_opts(
                PoolOpts::default()
                    .with_constraints(constraints)
                    .with_reset_connection(false)
                    .with_inactive_connection_ttl(IDLE_CONNECTION_TTL),
            );
        Ok(MyDriver { pool: Pool::new(opts), target })
    }
}

/// Every row of `table` on the server `url` names, each cell as text (see
/// [`crate::foreign::read_table`]).
pub(crate) async fn read_foreign_table(url: &DbUrl, table: &str) -> Result<Option<crate::RowSet>, StorageError> {
    let driver = MyDriver::new(Target::from_url(url)?)?;
    super::server::read_foreign_table(&driver, table, "CHAR").await
}

/// Sorts a mysql_async error.
fn classify(e: mysql_async::Error) -> Failure {
    let mysql_async::Error::Server(s) = &e else { return Failure::Other(crate::error::chain(&e)) };
    let msg = s.message.clone();
    match s.code {
        1062 => Failure::Duplicate(msg),
        // Deadlock; lock wait timeout.
        1213 | 1205 => Failure::Retry(msg),
        1146 => Failure::NoTable,
        // Data too long; incorrect string value; check constraint (JSON_VALID) failed.
        1406 | 1366 | 4025 => Failure::BadValue(msg),
        code => Failure::Other(format!("{msg} [error {code}]")),
    }
}

/// `2026-01-02T03:04:05.000006Z` as MySQL's date-time value (UTC).
fn datetime(canonical: &str) -> Result<mysql_async::Value, Failure> {
    let t = Timestamp::parse_rfc3339(canonical).map_err(|e| Failure::BadValue(e.to_string()))?;
    let s = t.to_rfc3339_micros();
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|d| d.parse::<u32>().ok()).unwrap_or(0);
    let year = u16::try_from(num(0..4)).unwrap_or(0);
    let small = |r| u8::try_from(num(r)).unwrap_or(0);
    Ok(mysql_async::Value::Date(
        year,
        small(5..7),
        small(8..10),
        small(11..13),
        small(14..16),
        small(17..19),
        num(20..26),
    ))
}

/// A [`Value`] as a MySQL parameter.
fn param(v: &Value) -> Result<mysql_async::Value, Failure> {
    use mysql_async::Value as M;
    Ok(match v {
        Value::Null => M::NULL,
        Value::Bool(b) => M::Int(i64::from(*b)),
        Value::Int(i) => M::Int(*i),
        Value::Float(f) => M::Double(*f),
        Value::Text(s) | Value::Json(s) => M::Bytes(s.as_bytes().to_vec()),
        Value::Bytes(b) => M::Bytes(b.clone()),
        Value::Timestamp(s) => datetime(s)?,
    })
}

fn params(st: &Statement) -> Result<Params, Failure> {
    if st.params.is_empty() {
        return Ok(Params::Empty);
    }
    Ok(Params::Positional(st.params.iter().map(param).collect::<Result<_, _>>()?))
}

/// Reads a MySQL cell as column type `ty`.
fn decode(cell: &mysql_async::Value, ty: ColumnType) -> Result<Value, Failure> {
    use mysql_async::Value as M;
    let bad = || Failure::Other(format!("a {ty} column holds {cell:?}"));
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| bad());
    Ok(match (ty, cell) {
        (_, M::NULL) => Value::Null,
        (ColumnType::Bool, M::Int(i)) => Value::Bool(*i != 0),
        (ColumnType::Bool, M::UInt(i)) => Value::Bool(*i != 0),
        (ColumnType::Int, M::Int(i)) => Value::Int(*i),
        (ColumnType::Int, M::UInt(u)) => Value::Int(i64::try_from(*u).map_err(|_| bad())?),
        (ColumnType::Int, M::Bytes(b)) => Value::Int(text(b)?.parse().map_err(|_| bad())?),
        (ColumnType::Float, M::Double(f)) => Value::Float(*f),
        (ColumnType::Float, M::Float(f)) => Value::Float(f64::from(*f)),
        (ColumnType::Text, M::Bytes(b)) => Value::Text(text(b)?),
        (ColumnType::Json, M::Bytes(b)) => Value::Json(text(b)?),
        (ColumnType::Bytes, M::Bytes(b)) => Value::Bytes(b.clone()),
        (ColumnType::Timestamp, M::Date(y, mo, d, h, mi, s, us)) => {
            Value::Timestamp(format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{us:06}Z"))
        }
        _ => return Err(bad()),
    })
}

async fn execute<Q: Queryable + Send>(q: &mut Q, st: &Statement) -> Result<u64, Failure> {
    let result = q.exec_iter(st.sql.as_str(), params(st)?).await.map_err(classify)?;
    let affected = result.affected_rows();
    result.drop_result().await.map_err(classify)?;
    Ok(affected)
}

async fn fetch<Q: Queryable + Send>(
    q: &mut Q,
    st: &Statement,
    types: &[ColumnType],
) -> Result<Vec<Vec<Value>>, Failure> {
    let rows: Vec<Row> = q.exec(st.sql.as_str(), params(st)?).await.map_err(classify)?;
    rows.iter()
        .map(|row| {
            types
                .iter()
                .enumerate()
                .map(|(i, ty)| row.as_ref(i).map_or(Ok(Value::Null), |cell| decode(cell, *ty)))
                .collect()
        })
        .collect()
}

session_through!(Conn, mysql_async::Transaction<'_>);

#[async_trait]
impl Tx for mysql_async::Transaction<'_> {
    async fn commit(self: Box<Self>) -> Result<(), Failure> {
        (*self).commit().await.map_err(classify)
    }
}

#[async_trait]
impl Driver for MyDriver {
    type Conn = Conn;
    const NAME: &'static str = NAME;
    const DIALECT: Dialect = Dialect::MYSQL;

    async fn connect(&self) -> Result<Conn, StorageError> {
        let t = &self.target;
        let limit = t.pool_timeout + t.connect_timeout;
        let what = format!("{NAME}: cannot connect to {}", t.describe(DEFAULT_PORT));
        match tokio::time::timeout(limit, self.pool.get_conn()).await {
            Ok(Ok(conn)) => Ok(conn),
            // mysql_async repeats each cause in its own text: name them once.
            Ok(Err(e)) => Err(StorageError::backend(format!("{what}: {}", crate::error::chain(&e)))),
            Err(_) => Err(StorageError::backend(format!(
                "{what}: no connection within {}s (pool_timeout + connect_timeout; pool_size={})",
                limit.as_secs_f64(),
                t.pool_size
            ))),
        }
    }

    /// InnoDB's `REPEATABLE READ` either way: a batch's reads all lock.
    async fn begin<'c>(conn: &'c mut Conn, _serializable: bool) -> Result<Box<dyn Tx + 'c>, Failure> {
        let mut opts = TxOpts::default();
        opts.with_isolation_level(IsolationLevel::RepeatableRead);
        Ok(Box::new(conn.start_transaction(opts).await.map_err(classify)?))
    }

    fn columns_query(table: &str) -> Statement {
        Statement {
            sql: "SELECT c.COLUMN_NAME, CASE WHEN EXISTS (SELECT 1 FROM information_schema.CHECK_CONSTRAINTS k \
                  WHERE k.CONSTRAINT_SCHEMA = c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME \
                  AND k.CHECK_CLAUSE = CONCAT('json_valid(`', c.COLUMN_NAME, '`)')) THEN 'json' ELSE c.DATA_TYPE END, \
                  c.IS_NULLABLE FROM information_schema.COLUMNS c \
                  WHERE c.TABLE_SCHEMA = DATABASE() AND c.TABLE_NAME = ? ORDER BY c.ORDINAL_POSITION"
                .into(),
            params: vec![Value::Text(table.to_owned())],
        }
    }

    fn stored_type(name: &str) -> String {
        let ty = match name.to_ascii_lowercase().as_str() {
            "tinyint" => ColumnType::Bool,
            "bigint" => ColumnType::Int,
            "double" => ColumnType::Float,
            "varchar" | "longtext" => ColumnType::Text,
            "json" => ColumnType::Json,
            "varbinary" | "longblob" => ColumnType::Bytes,
            "datetime" => ColumnType::Timestamp,
            _ => return name.to_owned(),
        };
        ty.to_string()
    }

    fn lock_schema(&self) -> Statement {
        Statement {
            sql: "SELECT GET_LOCK(CONCAT('nexau_schema:', LEFT(DATABASE(), 48)), ?)".into(),
            params: vec![Value::Int(SCHEMA_LOCK_WAIT_SECS)],
        }
    }

    fn unlock_schema(&self) -> Option<Statement> {
        Some(Statement {
            sql: "SELECT RELEASE_LOCK(CONCAT('nexau_schema:', LEFT(DATABASE(), 48)))".into(),
            params: Vec::new(),
        })
    }

    fn reset_when_returned(conn: &mut Conn) {
        conn.reset_connection(true);
    }
}
