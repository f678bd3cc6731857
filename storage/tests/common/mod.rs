//! Shared helpers of the storage tests: backend factories and a test schema.
#![allow(dead_code)]

use std::sync::Arc;

use nexau_session_storage::*;
use tempfile::TempDir;

/// A backend under test plus whatever keeps it alive (a temp directory).
pub struct Harness {
    pub backend: Arc<dyn Backend>,
    pub registry: SchemaRegistry,
    pub dir: Option<TempDir>,
    /// A throw-away schema or database on a server, removed when dropped
    /// (after the backend: fields drop in order).
    pub scratch: Option<ScratchStore>,
}

impl Harness {
    /// A checked store of this backend bound to `scope`.
    pub fn store(&self, scope: &str) -> CheckedStore {
        CheckedStore::new(self.backend.clone(), self.registry.clone(), scope)
    }
}

/// A fresh in-memory backend.
pub fn memory() -> Option<Harness> {
    Some(Harness { backend: Arc::new(MemoryBackend::new()), registry: SchemaRegistry::new(), dir: None, scratch: None })
}

/// A fresh SQLite backend on a file in a new temp directory.
pub fn sqlite() -> Option<Harness> {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = SqliteBackend::open(dir.path().join("test.db")).expect("open sqlite");
    Some(Harness { backend: Arc::new(backend), registry: SchemaRegistry::new(), dir: Some(dir), scratch: None })
}

/// Runs `work` on a runtime of its own (the factories are synchronous).
fn blocking<T: Send + 'static>(work: impl std::future::Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(work)
    })
    .join()
    .expect("setup thread")
}

/// Makes a throw-away store on a server (`None`: no server configured).
type ScratchFactory =
    fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Option<ScratchStore>, StorageError>> + Send>>;

/// A server backend in a throw-away schema/database, or `None` (with a note)
/// when `var` is unset. Call inside the test's runtime.
fn server(
    var: &str,
    scratch: ScratchFactory,
    open: fn(&str) -> Result<Arc<dyn Backend>, StorageError>,
) -> Option<Harness> {
    let Some(store) = blocking(scratch()).expect("create a scratch store") else {
        eprintln!("skipped: {var} is not set");
        return None;
    };
    let backend = open(&store.url).expect("open");
    Some(Harness { backend, registry: SchemaRegistry::new(), dir: None, scratch: Some(store) })
}

/// A PostgreSQL backend in a fresh schema, when `NEXAU_TEST_POSTGRES_URL` is set.
pub fn postgres() -> Option<Harness> {
    server(postgres::TEST_URL_VAR, || Box::pin(postgres::scratch_store()), postgres::open)
}

/// A MySQL/MariaDB backend in a fresh database, when `NEXAU_TEST_MYSQL_URL` is set.
pub fn mysql() -> Option<Harness> {
    server(mysql::TEST_URL_VAR, || Box::pin(mysql::scratch_store()), mysql::open)
}

pub fn col(name: &str, ty: ColumnType, nullable: bool) -> Column {
    Column { name: name.into(), ty, nullable }
}

/// `items`: every column type, a unique index on `email`, a plain index on `n`.
pub fn items() -> TableSchema {
    TableSchema {
        name: "items".into(),
        columns: vec![
            col("id", ColumnType::Int, false),
            col("name", ColumnType::Text, true),
            col("email", ColumnType::Text, true),
            col("n", ColumnType::Int, true),
            col("x", ColumnType::Float, true),
            col("flag", ColumnType::Bool, true),
            col("at", ColumnType::Timestamp, true),
            col("doc", ColumnType::Json, true),
            col("data", ColumnType::Bytes, true),
        ],
        primary_key: vec!["id".into()],
        indexes: vec![
            Index { name: "by_email".into(), columns: vec!["email".into()], unique: true },
            Index { name: "by_n".into(), columns: vec!["n".into()], unique: false },
        ],
    }
}

/// `pairs`: a composite primary key and a composite unique key with a nullable part.
pub fn pairs() -> TableSchema {
    TableSchema {
        name: "pairs".into(),
        columns: vec![
            col("a", ColumnType::Text, false),
            col("b", ColumnType::Int, false),
            col("u", ColumnType::Text, true),
            col("v", ColumnType::Int, true),
        ],
        primary_key: vec!["a".into(), "b".into()],
        indexes: vec![Index { name: "uv".into(), columns: vec!["u".into(), "v".into()], unique: true }],
    }
}

/// A row set of `columns` with `rows`.
pub fn rows(columns: &[&str], rows: Vec<Vec<Value>>) -> RowSet {
    RowSet { columns: columns.iter().map(|c| c.to_string()).collect(), rows }
}

/// `(id, name, n)` rows for `items`.
pub fn items_rows(data: &[(i64, Option<&str>, Option<i64>)]) -> RowSet {
    rows(
        &["id", "name", "n"],
        data.iter()
            .map(|(id, name, n)| {
                vec![Value::Int(*id), name.map_or(Value::Null, Value::from), n.map_or(Value::Null, Value::Int)]
            })
            .collect(),
    )
}

/// The `id`s of `set`, in order.
pub fn ids(set: &RowSet) -> Vec<i64> {
    (0..set.len()).map(|r| set.get(r, "id").and_then(Value::as_i64).expect("id")).collect()
}

/// `find` ordered by `id`, returning the ids.
pub async fn find_ids(store: &CheckedStore, table: &str, filter: Filter) -> Vec<i64> {
    let q = Query { filter, order_by: vec![Order::parse("id")], limit: None, offset: None };
    ids(&store.find(table, &q).await.expect("find"))
}
