//! What only a shared server shows: several processes' worth of backends
//! (each with its own connection pool) on one database at once. Runs on every
//! registered server backend whose test URL is set (`DEVELOPERS.md`).

mod common;

use std::sync::Arc;

use common::*;
use nexau_session_storage::backends::{self, TargetKind, TestStore};
use nexau_session_storage::*;

/// A fresh store of every server backend this machine can provide.
async fn server_stores() -> Vec<(&'static str, TestStore)> {
    let mut out = Vec::new();
    for kind in backends::BACKENDS.iter().filter(|k| k.target == TargetKind::Server) {
        match (kind.test_store)().await.unwrap_or_else(|e| panic!("{}: test store: {e}", kind.name)) {
            Some(store) => out.push((kind.name, store)),
            None => eprintln!("note: no {} store on this machine; skipped", kind.name),
        }
    }
    out
}

/// `n` backends on `url`, as `n` hosts would open it.
async fn hosts(url: &str, n: usize) -> Vec<Arc<dyn Backend>> {
    let url = DbUrl::parse(url).unwrap();
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(backends::open(&url).await.expect("open"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hosts_setting_up_at_once_all_succeed_and_record_each_table_once() {
    for (name, store) in server_stores().await {
        let tasks: Vec<_> = hosts(&store.url, 6)
            .await
            .into_iter()
            .map(|b| {
                tokio::spawn(async move {
                    CheckedStore::new(b, SchemaRegistry::new(), "t1").setup_models(vec![items(), pairs()]).await
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap_or_else(|e| panic!("{name}: a concurrent setup failed: {e}"));
        }
        let b = hosts(&store.url, 1).await.remove(0);
        let record = TableSchema {
            name: SCHEMA_TABLE.into(),
            columns: vec![col("table_name", ColumnType::Text, false), col("created_at", ColumnType::Timestamp, false)],
            primary_key: vec!["table_name".into()],
            indexes: vec![],
        };
        let recorded = b.find(&record, &Query::default()).await.unwrap();
        let mut names: Vec<&str> =
            (0..recorded.len()).filter_map(|r| recorded.get(r, "table_name")?.as_str()).collect();
        names.sort();
        assert_eq!(names, ["items", "pairs"], "{name}: each table recorded once");
        let s = CheckedStore::new(b, SchemaRegistry::new(), "t1");
        s.setup_models(vec![items(), pairs()]).await.unwrap();
        s.insert("items", items_rows(&[(1, Some("a"), None)])).await.unwrap();
    }
}

/// Every batch updates one shared row and inserts a row of its own: the
/// servers make concurrent batches wait, fail to serialize or deadlock, and
/// the backend runs them again, so every batch lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn contending_batches_are_retried_until_each_lands() {
    for (name, store) in server_stores().await {
        let backends = hosts(&store.url, 4).await;
        let first = CheckedStore::new(backends[0].clone(), SchemaRegistry::new(), "t1");
        first.setup_models(vec![items(), pairs()]).await.unwrap();
        first.insert("items", items_rows(&[(0, Some("shared"), Some(0))])).await.unwrap();
        let per_task = 25i64;
        let tasks: Vec<_> = backends
            .into_iter()
            .enumerate()
            .map(|(t, b)| {
                tokio::spawn(async move {
                    let s = CheckedStore::new(b, SchemaRegistry::new(), "t1");
                    s.setup_models(vec![items(), pairs()]).await.unwrap();
                    for i in 0..per_task {
                        let id = 1 + t as i64 * per_task + i;
                        let batch = vec![
                            WriteOp::Check { table: "items".into(), filter: Filter::eq("id", 0i64), expect: 1 },
                            WriteOp::Update {
                                table: "items".into(),
                                filter: Filter::eq("id", 0i64),
                                set: vec![("n".into(), Value::Int(id))],
                                expect: Some(1),
                            },
                            WriteOp::Insert { table: "items".into(), rows: items_rows(&[(id, None, Some(id))]) },
                        ];
                        s.apply(batch).await?;
                    }
                    Ok::<(), StorageError>(())
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap_or_else(|e| panic!("{name}: a batch failed: {e}"));
        }
        let s = CheckedStore::new(hosts(&store.url, 1).await.remove(0), SchemaRegistry::new(), "t1");
        s.setup_models(vec![items(), pairs()]).await.unwrap();
        assert_eq!(
            s.count("items", &Filter::All).await.unwrap(),
            1 + 4 * per_task as u64,
            "{name}: every batch landed"
        );
    }
}
