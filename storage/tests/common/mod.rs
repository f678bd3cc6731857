//! Shared helpers of the storage tests: backend factories and a test schema.
#![allow(dead_code)]

use std::sync::Arc;

use nexau_session_storage::*;
use tempfile::TempDir;

/// A backend under test plus whatever keeps it alive (a temp directory, a
/// test schema).
pub struct Harness {
    pub backend: Arc<dyn Backend>,
    pub registry: SchemaRegistry,
    pub dir: Option<TempDir>,
    /// The registry's test store the backend was opened on, if any.
    pub store: Option<backends::TestStore>,
}

impl Harness {
    /// A checked store of this backend bound to `scope`.
    pub fn store(&self, scope: &str) -> CheckedStore {
        CheckedStore::new(self.backend.clone(), self.registry.clone(), scope)
    }
}

/// A fresh in-memory backend.
pub fn memory() -> Harness {
    Harness { backend: Arc::new(MemoryBackend::new()), registry: SchemaRegistry::new(), dir: None, store: None }
}

/// A fresh store of `kind`, opened, or `None` (with a note) where this
/// machine has none.
pub async fn harness(kind: &backends::BackendKind) -> Option<Harness> {
    let name = kind.name;
    let store = (kind.test_store)().await.unwrap_or_else(|e| panic!("{name}: cannot make a test store: {e}"));
    let Some(store) = store else {
        eprintln!("note: no {name} store on this machine; its cases are skipped");
        return None;
    };
    let url = DbUrl::parse(&store.url).unwrap_or_else(|e| panic!("{name}: test store URL: {e}"));
    let backend = backends::open(&url).await.unwrap_or_else(|e| panic!("{name}: open: {e}"));
    Some(Harness { backend, registry: SchemaRegistry::new(), dir: None, store: Some(store) })
}

/// Runs `case` on a fresh store of every registered backend, one after the
/// other; a failure names the backend.
pub async fn on_every_backend<F, Fut>(case_name: &str, case: F)
where
    F: Fn(Harness) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    for kind in backends::BACKENDS {
        let Some(h) = harness(kind).await else { continue };
        if let Err(e) = tokio::spawn(case(h)).await {
            let text = match e.try_into_panic() {
                Ok(p) => p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default(),
                Err(e) => e.to_string(),
            };
            panic!("{case_name} failed on the {} backend: {text}", kind.name);
        }
    }
}

/// A fresh SQLite backend on a file in a new temp directory.
pub fn sqlite() -> Harness {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = SqliteBackend::open(dir.path().join("test.db")).expect("open sqlite");
    Harness { backend: Arc::new(backend), registry: SchemaRegistry::new(), dir: Some(dir), store: None }
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
    let q = Query { filter, order_by: vec![Order::parse("id")], ..Query::default() };
    ids(&store.find(table, &q).await.expect("find"))
}
