//! `postgresql://` (also `postgres://`, `postgresql+asyncpg://`): a backend
//! on a PostgreSQL server, through tokio-postgres and a deadpool connection
//! pool. What it shares with the MySQL backend lives in `server`.
//!
//! Columns: `BIGINT`, `BOOLEAN`, `DOUBLE PRECISION`, `TEXT COLLATE "C"` (byte
//! order), `JSON` (the document's text kept as written; `jsonb` would
//! reorder keys and respace it), `BYTEA`, `TIMESTAMPTZ` (microseconds, as
//! canonical timestamps). Batches run `SERIALIZABLE`; `setup_models` holds a
//! transaction-scoped advisory lock, and PostgreSQL's DDL is transactional,
//! so a refused or failed setup leaves nothing behind.
//!
//! URL options: `pool_size`, `pool_timeout`, `connect_timeout` (seconds) and
//! `schema` (the schema the tables live in, default `public`).

use std::error::Error as StdError;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::{BufMut, BytesMut};
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime};
use futures_util::future::join_all;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{IsolationLevel, NoTls, Row};

use super::server::{Driver, Failure, POOL_OPTIONS, ServerBackend, Session, Target, Tx, scratch, session_through};
use super::{BackendKind, TargetKind, TestStore};
use crate::sql::{Dialect, Statement};
use crate::validate::check_identifier;
use crate::{Backend, ColumnType, DbUrl, StorageError, Timestamp, Value};

/// The backend's name in messages.
const NAME: &str = "postgres";
/// The server's default port.
const DEFAULT_PORT: u16 = 5432;
/// The environment variable naming the server the tests use.
pub const TEST_URL_VAR: &str = "NEXAU_TEST_POSTGRES_URL";
/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// The `?query` options a PostgreSQL URL accepts.
pub const OPTIONS: [&str; 4] = [POOL_OPTIONS[0], POOL_OPTIONS[1], POOL_OPTIONS[2], "schema"];

/// `postgresql://`, `postgres://`, `postgresql+asyncpg://`: a PostgreSQL server.
pub(crate) static KIND: BackendKind = BackendKind {
    name: NAME,
    schemes: &["postgres", "postgresql"],
    target: TargetKind::Server,
    options: &OPTIONS,
    open: |url| Box::pin(open_url(url)),
    test_store: || Box::pin(test_store()),
};

/// Opens a backend on the server `url` names and checks that it answers:
/// the error names host, port, database and the cause.
async fn open_url(url: &DbUrl) -> Result<Arc<dyn Backend>, StorageError> {
    let driver = PgDriver::new(&Target::from_url(url)?)?;
    drop(driver.connect().await?);
    Ok(Arc::new(ServerBackend::new(driver)))
}

/// A throw-away schema on the server [`TEST_URL_VAR`] names, dropped with
/// everything in it when the returned store is dropped; `None` when the
/// variable is unset. An unreachable server is an error.
async fn test_store() -> Result<Option<TestStore>, StorageError> {
    let Some(base) = scratch::env_url(TEST_URL_VAR) else { return Ok(None) };
    let schema = scratch::unique_name();
    run_admin(&base, format!("CREATE SCHEMA \"{schema}\"")).await?;
    let url = scratch::with_option(&base, "schema", &schema);
    Ok(Some(scratch::store_removed_by(url, move || async move {
        run_admin(&base, format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).await
    })))
}

/// Runs one statement on the server `url` names, on a connection of its own.
async fn run_admin(url: &str, sql: String) -> Result<(), StorageError> {
    let driver = PgDriver::new(&Target::from_url(&DbUrl::parse(url)?)?)?;
    let mut conn = driver.connect().await?;
    Session::execute(&mut conn, &Statement { sql, params: Vec::new() }).await.map_err(|f| f.into_storage(NAME, ""))?;
    Ok(())
}

/// Every row of `table` on the server `url` names, each cell as text (see
/// [`crate::foreign::read_table`]).
pub(crate) async fn read_foreign_table(url: &DbUrl, table: &str) -> Result<Option<crate::RowSet>, StorageError> {
    let driver = PgDriver::new(&Target::from_url(url)?)?;
    super::server::read_foreign_table(&driver, table, "TEXT").await
}

/// The PostgreSQL [`Driver`]: a pool, and where it points (for messages).
struct PgDriver {
    pool: Pool,
    target: Target,
    /// The schema the tables live in (`None`: the server's search path).
    schema: Option<String>,
}

impl PgDriver {
    fn new(target: &Target) -> Result<Self, StorageError> {
        let mut config = tokio_postgres::Config::new();
        let user = target.user.clone().or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "postgres".into());
        config
            .host(&target.host)
            .port(target.port.unwrap_or(DEFAULT_PORT))
            .user(&user)
            .connect_timeout(target.connect_timeout)
            .application_name("nexau-session");
        if let Some(password) = &target.password {
            config.password(password);
        }
        if let Some(db) = &target.database {
            config.dbname(db);
        }
        let schema = target.option("schema").map(str::to_owned);
        if let Some(schema) = &schema {
            check_identifier("schema", schema)
                .map_err(|e| StorageError::Url(format!("{NAME} URL: option schema: {e}")))?;
            config.options(format!("-c search_path={schema}"));
        }
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(target.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(target.pool_timeout))
            .create_timeout(Some(target.connect_timeout))
            .build()
            .map_err(|e| StorageError::backend_caused(format!("{NAME}: cannot build the connection pool"), e))?;
        Ok(PgDriver { pool, target: target.clone(), schema })
    }
}

/// Sorts a tokio-postgres error.
fn classify(e: tokio_postgres::Error) -> Failure {
    let Some(db) = e.as_db_error() else { return Failure::Other(crate::error::chain(&e)) };
    let mut msg = db.message().to_owned();
    if let Some(detail) = db.detail() {
        msg = format!("{msg} ({detail})");
    }
    let code = db.code();
    if *code == SqlState::UNIQUE_VIOLATION {
        Failure::Duplicate(msg)
    } else if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED {
        Failure::Retry(msg)
    } else if *code == SqlState::UNDEFINED_TABLE {
        Failure::NoTable
    } else if [
        SqlState::CHARACTER_NOT_IN_REPERTOIRE,
        SqlState::UNTRANSLATABLE_CHARACTER,
        SqlState::STRING_DATA_RIGHT_TRUNCATION,
        SqlState::INVALID_TEXT_REPRESENTATION,
        SqlState::PROGRAM_LIMIT_EXCEEDED,
    ]
    .contains(code)
    {
        Failure::BadValue(msg)
    } else {
        Failure::Other(format!("{msg} [SQLSTATE {}]", code.code()))
    }
}

/// A [`Value`] bound as the parameter type PostgreSQL inferred.
#[derive(Debug)]
struct Param<'a>(&'a Value);

impl ToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match self.0 {
            Value::Null => return Ok(IsNull::Yes),
            Value::Bool(b) => return b.to_sql(ty, out),
            Value::Int(i) if *ty == Type::INT4 => return i32::try_from(*i)?.to_sql(ty, out),
            Value::Int(i) if *ty == Type::INT2 => return i16::try_from(*i)?.to_sql(ty, out),
            Value::Int(i) => return i.to_sql(ty, out),
            Value::Float(f) => return f.to_sql(ty, out),
            Value::Timestamp(s) if *ty == Type::TIMESTAMPTZ || *ty == Type::TIMESTAMP => {
                let micros = Timestamp::parse_rfc3339(s)?.as_ns() / 1000;
                return (micros - PG_EPOCH_MICROS).to_sql(&Type::INT8, out);
            }
            Value::Json(_) if *ty == Type::JSONB => out.put_u8(1), // jsonb's version byte
            Value::Text(_) | Value::Json(_) | Value::Timestamp(_) | Value::Bytes(_) => {}
        }
        match self.0 {
            Value::Text(s) | Value::Json(s) | Value::Timestamp(s) => out.put_slice(s.as_bytes()),
            Value::Bytes(b) => out.put_slice(b),
            _ => {}
        }
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A cell's bytes as PostgreSQL sent them (binary format).
struct RawCell<'a>(&'a [u8]);

impl<'a> FromSql<'a> for RawCell<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        Ok(RawCell(raw))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Reads cell `i` of `row` as column type `ty`.
fn decode(row: &Row, i: usize, ty: ColumnType) -> Result<Value, Failure> {
    let bad = |what: &str| Failure::Other(format!("column {i} ({ty}): {what}"));
    let Some(RawCell(raw)) = row.try_get::<_, Option<RawCell>>(i).map_err(classify)? else { return Ok(Value::Null) };
    let pg = row.columns()[i].type_();
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| bad("text that is not UTF-8"));
    let be = |n: usize| -> Result<[u8; 8], Failure> {
        let mut buf = [0u8; 8];
        if raw.len() != n || n > 8 {
            return Err(bad(&format!("{} bytes where {n} were expected", raw.len())));
        }
        buf[8 - n..].copy_from_slice(raw);
        Ok(buf)
    };
    Ok(match ty {
        ColumnType::Bool => Value::Bool(raw.first().is_some_and(|b| *b != 0)),
        ColumnType::Int => match raw.len() {
            8 => Value::Int(i64::from_be_bytes(be(8)?)),
            4 => Value::Int(i64::from(i32::from_be_bytes(raw.try_into().map_err(|_| bad("int4"))?))),
            2 => Value::Int(i64::from(i16::from_be_bytes(raw.try_into().map_err(|_| bad("int2"))?))),
            _ => return Err(bad("not an integer")),
        },
        ColumnType::Float if *pg == Type::FLOAT4 => {
            Value::Float(f64::from(f32::from_be_bytes(raw.try_into().map_err(|_| bad("float4"))?)))
        }
        ColumnType::Float => Value::Float(f64::from_be_bytes(be(8)?)),
        ColumnType::Text => Value::Text(text(raw)?),
        ColumnType::Json if *pg == Type::JSONB => Value::Json(text(raw.get(1..).unwrap_or_default())?),
        ColumnType::Json => Value::Json(text(raw)?),
        ColumnType::Bytes => Value::Bytes(raw.to_vec()),
        ColumnType::Timestamp if *pg == Type::TIMESTAMPTZ || *pg == Type::TIMESTAMP => {
            let micros = i64::from_be_bytes(be(8)?).saturating_add(PG_EPOCH_MICROS);
            let t = Timestamp::from_ns(micros.saturating_mul(1000)).map_err(|e| bad(&e.to_string()))?;
            Value::Timestamp(t.to_rfc3339_micros())
        }
        ColumnType::Timestamp => Value::Timestamp(text(raw)?),
    })
}

async fn execute<C: GenericClient>(client: &C, st: &Statement) -> Result<u64, Failure> {
    let prepared = client.prepare_cached(&st.sql).await.map_err(classify)?;
    let params: Vec<Param<'_>> = st.params.iter().map(Param).collect();
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    client.execute(&prepared, &refs).await.map_err(classify)
}

async fn fetch<C: GenericClient>(client: &C, st: &Statement, types: &[ColumnType]) -> Result<Vec<Vec<Value>>, Failure> {
    let prepared = client.prepare_cached(&st.sql).await.map_err(classify)?;
    let params: Vec<Param<'_>> = st.params.iter().map(Param).collect();
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    let rows = client.query(&prepared, &refs).await.map_err(classify)?;
    rows.iter().map(|row| types.iter().enumerate().map(|(i, ty)| decode(row, i, *ty)).collect()).collect()
}

/// Prepares, then runs, every statement with all requests in flight at once:
/// tokio-postgres pipelines the requests of futures polled together, so a
/// batch costs one round trip (two while a statement is not prepared yet)
/// instead of one per statement. Every statement gets an outcome; after a
/// failure the server answers the rest of a transaction with errors.
async fn execute_all<C: GenericClient>(client: &C, sts: &[Statement]) -> Vec<Result<u64, Failure>> {
    let prepared = join_all(sts.iter().map(|st| client.prepare_cached(&st.sql))).await;
    let params: Vec<Vec<Param<'_>>> = sts.iter().map(|st| st.params.iter().map(Param).collect()).collect();
    let refs: Vec<Vec<&(dyn ToSql + Sync)>> =
        params.iter().map(|ps| ps.iter().map(|p| p as &(dyn ToSql + Sync)).collect()).collect();
    join_all(prepared.into_iter().zip(&refs).map(|(p, r)| async move {
        match p {
            Ok(p) => client.execute(&p, r).await.map_err(classify),
            Err(e) => Err(classify(e)),
        }
    }))
    .await
}

session_through!(pipelined: Object, deadpool_postgres::Transaction<'_>);

#[async_trait]
impl Tx for deadpool_postgres::Transaction<'_> {
    async fn commit(self: Box<Self>) -> Result<(), Failure> {
        (*self).commit().await.map_err(classify)
    }
}

/// A stable 64-bit key for the advisory lock of one schema (FNV-1a).
fn lock_key(name: &str) -> i64 {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    i64::from_ne_bytes(hash.to_ne_bytes())
}

#[async_trait]
impl Driver for PgDriver {
    type Conn = Object;
    const NAME: &'static str = NAME;
    const DIALECT: Dialect = Dialect::POSTGRES;

    async fn connect(&self) -> Result<Object, StorageError> {
        let t = &self.target;
        self.pool.get().await.map_err(|e| {
            let what = format!("{NAME}: cannot connect to {}", t.describe(DEFAULT_PORT));
            let cause = match e {
                PoolError::Backend(e) => return StorageError::backend_caused(what, e),
                PoolError::Timeout(deadpool_postgres::TimeoutType::Wait) => format!(
                    "no free connection within pool_timeout={}s (pool_size={})",
                    t.pool_timeout.as_secs_f64(),
                    t.pool_size
                ),
                PoolError::Timeout(_) => {
                    format!("no answer within connect_timeout={}s", t.connect_timeout.as_secs_f64())
                }
                e => e.to_string(),
            };
            StorageError::backend(format!("{what}: {cause}"))
        })
    }

    async fn begin<'c>(conn: &'c mut Object, serializable: bool) -> Result<Box<dyn Tx + 'c>, Failure> {
        let level = if serializable { IsolationLevel::Serializable } else { IsolationLevel::ReadCommitted };
        let tx = conn.build_transaction().isolation_level(level).start().await.map_err(classify)?;
        Ok(Box::new(tx))
    }

    fn columns_query(table: &str) -> Statement {
        Statement {
            sql: "SELECT column_name::text, data_type::text, is_nullable::text FROM information_schema.columns \
                  WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
                .into(),
            params: vec![Value::Text(table.to_owned())],
        }
    }

    fn stored_type(name: &str) -> String {
        let ty = match name {
            "boolean" => ColumnType::Bool,
            "bigint" => ColumnType::Int,
            "double precision" => ColumnType::Float,
            "text" => ColumnType::Text,
            "json" => ColumnType::Json,
            "bytea" => ColumnType::Bytes,
            "timestamp with time zone" => ColumnType::Timestamp,
            other => return other.to_owned(),
        };
        ty.to_string()
    }

    fn lock_schema(&self) -> Statement {
        let scope = format!(
            "nexau_schema:{}:{}",
            self.target.database.as_deref().unwrap_or(""),
            self.schema.as_deref().unwrap_or("")
        );
        Statement {
            sql: "SELECT COUNT(*) FROM (SELECT pg_advisory_xact_lock($1)) AS locked".into(),
            params: vec![Value::Int(lock_key(&scope))],
        }
    }

    fn unlock_schema(&self) -> Option<Statement> {
        None
    }
}
