//! SQLite-specific behaviour: concurrency through one file, durability across
//! reopen, several backends on one file, and open errors.

mod common;

use std::sync::Arc;

use common::*;
use nexau_session_storage::*;

fn counter() -> TableSchema {
    TableSchema {
        name: "counter".into(),
        columns: vec![col("id", ColumnType::Int, false), col("value", ColumnType::Int, false)],
        primary_key: vec!["id".into()],
        indexes: vec![],
    }
}

async fn read_value(store: &CheckedStore) -> i64 {
    let rows = store.find("counter", &Query::filter(Filter::eq("id", 1i64))).await.unwrap();
    rows.get(0, "value").and_then(Value::as_i64).expect("counter row")
}

/// Increments the counter `times` times by compare-and-set, retrying when
/// another task got there first. Returns how many attempts lost the race.
async fn increment(store: CheckedStore, times: usize) -> Result<u64, StorageError> {
    let mut lost = 0;
    for _ in 0..times {
        loop {
            let seen = read_value(&store).await;
            let changed = store
                .update(
                    "counter",
                    Filter::and([Filter::eq("id", 1i64), Filter::eq("value", seen)]),
                    vec![("value".into(), Value::Int(seen + 1))],
                )
                .await?;
            if changed == 1 {
                break;
            }
            assert_eq!(changed, 0);
            lost += 1;
        }
    }
    Ok(lost)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_tasks_of_conditional_increments_lose_no_update() {
    let h = sqlite();
    let store = h.store("t");
    store.setup_models(vec![counter()]).await.unwrap();
    store.insert("counter", rows(&["id", "value"], vec![vec![Value::Int(1), Value::Int(0)]])).await.unwrap();
    let tasks: Vec<_> = (0..8).map(|_| tokio::spawn(increment(store.clone(), 100))).collect();
    let mut lost = 0;
    for t in tasks {
        // Any error (e.g. "database is locked") fails the test here.
        lost += t.await.expect("task").expect("no storage error");
    }
    assert_eq!(read_value(&store).await, 800, "every increment landed exactly once ({lost} lost races retried)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_backends_on_one_file_serialize_through_sqlite_locks() {
    // Two backends on one file behave like two processes: their writers
    // contend for SQLite's lock and rely on BEGIN IMMEDIATE + busy_timeout.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let one: Arc<dyn Backend> = Arc::new(SqliteBackend::open(&path).unwrap());
    let two: Arc<dyn Backend> = Arc::new(SqliteBackend::open(&path).unwrap());
    let s1 = CheckedStore::new(one, SchemaRegistry::new(), "t");
    let s2 = CheckedStore::new(two, SchemaRegistry::new(), "t");
    s1.setup_models(vec![counter()]).await.unwrap();
    s2.setup_models(vec![counter()]).await.unwrap();
    s1.insert("counter", rows(&["id", "value"], vec![vec![Value::Int(1), Value::Int(0)]])).await.unwrap();
    let tasks: Vec<_> = [&s1, &s2, &s1, &s2].into_iter().map(|s| tokio::spawn(increment(s.clone(), 50))).collect();
    for t in tasks {
        t.await.unwrap().expect("no storage error");
    }
    assert_eq!(read_value(&s1).await, 200);
    assert_eq!(read_value(&s2).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("durable.db");
    {
        let store = CheckedStore::new(Arc::new(SqliteBackend::open(&path).unwrap()), SchemaRegistry::new(), "t");
        store.setup_models(vec![items()]).await.unwrap();
        store.insert("items", items_rows(&[(1, Some("kept"), Some(5))])).await.unwrap();
    }
    let backend = SqliteBackend::open(&path).unwrap();
    assert_eq!(backend.path(), Some(path.as_path()));
    let store = CheckedStore::new(Arc::new(backend), SchemaRegistry::new(), "t");
    store.setup_models(vec![items()]).await.unwrap();
    let rows = store.find("items", &Query::default()).await.unwrap();
    assert_eq!(rows.get(0, "name"), Some(&Value::from("kept")));
    assert_eq!(rows.len(), 1);
    let mode: String =
        rusqlite::Connection::open(&path).unwrap().query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
}

#[test]
fn missing_parent_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no").join("such").join("dir").join("s.db");
    let err = SqliteBackend::open(&path).unwrap_err();
    match err {
        StorageError::Backend { message: m, .. } => assert!(m.contains("does not exist") && m.contains("dir"), "{m}"),
        other => panic!("expected a Backend error, got {other:?}"),
    }
    assert!(!path.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_dropped_behind_our_back_is_table_not_found() {
    let h = sqlite();
    let store = h.store("t");
    store.setup_models(vec![items()]).await.unwrap();
    let path = h.dir.as_ref().unwrap().path().join("test.db");
    rusqlite::Connection::open(&path).unwrap().execute_batch("DROP TABLE items").unwrap();
    let err = store.count("items", &Filter::All).await.unwrap_err();
    assert_eq!(err, StorageError::TableNotFound("items".into()));
    let err = store.insert("items", items_rows(&[(1, None, None)])).await.unwrap_err();
    assert_eq!(err, StorageError::TableNotFound("items".into()));
}

#[tokio::test(flavor = "current_thread")]
async fn in_memory_database_works_on_a_current_thread_runtime() {
    let store = CheckedStore::new(Arc::new(SqliteBackend::open_in_memory().unwrap()), SchemaRegistry::new(), "t");
    store.setup_models(vec![items()]).await.unwrap();
    store.insert("items", items_rows(&[(1, Some("a"), None), (2, Some("b"), None)])).await.unwrap();
    assert_eq!(find_ids(&store, "items", Filter::ne("name", "a")).await, vec![2]);
}

fn open_store(path: &std::path::Path) -> CheckedStore {
    CheckedStore::new(Arc::new(SqliteBackend::open(path).unwrap()), SchemaRegistry::new(), "t")
}

fn tables_in(path: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

fn recorded_in(path: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn.prepare(&format!("SELECT table_name FROM {SCHEMA_TABLE} ORDER BY table_name")).unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_table_is_refused_not_recreated_empty() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = open_store(&path);
    store.setup_models(vec![items(), pairs()]).await.unwrap();
    store.setup_models(vec![items(), pairs()]).await.expect("a second setup works");
    store.insert("items", items_rows(&[(1, Some("a"), None)])).await.unwrap();
    assert_eq!(recorded_in(&path), vec!["items".to_string(), "pairs".into()]);

    rusqlite::Connection::open(&path).unwrap().execute_batch("DROP TABLE pairs").unwrap();
    // As a new process would: a new backend on the file, a fresh registry.
    let err = open_store(&path).setup_models(vec![items(), pairs()]).await.unwrap_err();
    assert_eq!(
        err,
        StorageError::SchemaMismatch(
            "table `pairs` was created in this store before but is missing now (dropped?); \
             restore it from a backup; refusing to recreate it empty"
                .into()
        )
    );
    assert_eq!(err.to_string().lines().count(), 1);
    assert_eq!(tables_in(&path), vec!["items".to_string(), SCHEMA_TABLE.into()], "not recreated");
    // The same on the backend that created it.
    assert!(matches!(store.setup_models(vec![pairs()]).await, Err(StorageError::SchemaMismatch(_))));
    // Tables never created before are still created next to the intact ones.
    let mut added = pairs();
    added.name = "added_later".into();
    open_store(&path).setup_models(vec![items(), added]).await.expect("a new table is created");
    assert_eq!(recorded_in(&path), vec!["added_later".to_string(), "items".into(), "pairs".into()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_older_than_the_record_adopts_its_tables() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    open_store(&path).setup_models(vec![items()]).await.unwrap();
    rusqlite::Connection::open(&path).unwrap().execute_batch(&format!("DROP TABLE {SCHEMA_TABLE}")).unwrap();
    let store = open_store(&path);
    store.setup_models(vec![items(), pairs()]).await.expect("existing tables are adopted");
    assert_eq!(recorded_in(&path), vec!["items".to_string(), "pairs".into()]);
    rusqlite::Connection::open(&path).unwrap().execute_batch("DROP TABLE items").unwrap();
    assert!(matches!(open_store(&path).setup_models(vec![items()]).await, Err(StorageError::SchemaMismatch(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nullable_column_is_added_with_alter_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    open_store(&path).setup_models(vec![counter()]).await.unwrap();
    let mut wider = counter();
    wider.columns.push(col("label", ColumnType::Text, true));
    open_store(&path).setup_models(vec![wider]).await.unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let (ty, not_null): (String, i64) = conn
        .query_row("SELECT type, \"notnull\" FROM pragma_table_info('counter') WHERE name = 'label'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((ty.as_str(), not_null), ("TEXT", 0));
}

/// Enough commits to pass the WAL sizes at which the writer wakes the
/// checkpoint thread (1,000 pages) and checkpoints inline (4,000): every
/// write is acknowledged (the WAL hook runs after the commit, so an error
/// from it would report a written row as failed), every row is there, and
/// the WAL stays bounded instead of growing with the history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_past_the_checkpoint_sizes_all_succeed_and_the_wal_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wal.db");
    let store = open_store(&path);
    let notes = TableSchema {
        name: "notes".into(),
        columns: vec![col("id", ColumnType::Int, false), col("body", ColumnType::Text, false)],
        primary_key: vec!["id".into()],
        indexes: vec![],
    };
    store.setup_models(vec![notes]).await.unwrap();
    // Three overflow pages and a leaf per commit: about 10,000 WAL pages
    // (40 MiB) if the WAL never started over.
    let body = "x".repeat(3 * 4096);
    let commits = 2_500i64;
    let mut largest_wal = 0;
    let wal = path.with_extension("db-wal");
    for id in 0..commits {
        let row = rows(&["id", "body"], vec![vec![Value::Int(id), Value::from(body.as_str())]]);
        store.insert("notes", row).await.unwrap_or_else(|e| panic!("commit {id}: {e}"));
        largest_wal = largest_wal.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
    }
    assert_eq!(store.count("notes", &Filter::All).await.unwrap(), commits as u64);
    // 4,000 pages and the commit that crosses them, with headers: under 20 MiB.
    assert!(largest_wal < 20 << 20, "the WAL grew to {largest_wal} bytes");
}
