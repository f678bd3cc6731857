//! The JSONL backend's own promises: data and definitions survive a reopen,
//! several handles on one directory see each other's writes and decide
//! compare-and-set exactly, an unfinished write is cut off (and reported
//! once) while a corrupt record in the middle is an error naming the file
//! and line, and compaction keeps every live row whatever step it stops at.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use common::*;
use nexau_session_storage::*;

fn open(dir: &Path) -> Arc<JsonlBackend> {
    Arc::new(JsonlBackend::open(dir, SyncMode::Always).expect("open jsonl"))
}

async fn store_on(backend: &Arc<JsonlBackend>) -> CheckedStore {
    let store = CheckedStore::new(backend.clone(), SchemaRegistry::new(), "t1");
    store.setup_models(vec![items(), pairs()]).await.expect("setup");
    store
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap().lines().map(str::to_owned).collect()
}

fn file(dir: &Path, table: &str) -> PathBuf {
    dir.join(format!("{table}.jsonl"))
}

/// Runs `f` with the warnings it logs captured; returns them.
fn warnings<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    (out, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_and_definitions_survive_a_reopen_as_readable_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    {
        let s = store_on(&open(&dir)).await;
        s.insert("items", items_rows(&[(1, Some("a"), Some(1)), (2, Some("b"), None)])).await.unwrap();
        s.update("items", Filter::eq("id", 2i64), vec![("n".into(), Value::Int(5))]).await.unwrap();
        s.delete("items", Filter::eq("id", 1i64)).await.unwrap();
    }
    let text = lines(&file(&dir, "items"));
    assert_eq!(text.len(), 4, "two puts (one batch), a put and a delete: {text:?}");
    assert!(text[0].starts_with(r#"{"op":2,"put":{"scope":"t1","id":1,"name":"a""#), "{}", text[0]);
    assert_eq!(text[3], r#"{"op":4,"del":{"scope":"t1","id":1},"files":1}"#);
    let schema_lines = lines(&file(&dir, SCHEMA_TABLE));
    assert_eq!(schema_lines.len(), 2, "items and pairs recorded in one batch");

    let s = store_on(&open(&dir)).await;
    let got = s.find("items", &Query::default()).await.unwrap();
    assert_eq!(ids(&got), vec![2]);
    assert_eq!(got.get(0, "n"), Some(&Value::Int(5)));
    // Setting up on the existing directory follows the stored definitions.
    let mut retyped = items();
    retyped.columns[3].ty = ColumnType::Text;
    let fresh = CheckedStore::new(s.backend().clone(), SchemaRegistry::new(), "t1");
    let r = fresh.setup_models(vec![retyped]).await;
    assert!(matches!(&r, Err(StorageError::SchemaMismatch(m)) if m.contains("column `n` is stored as")), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handles_see_each_other_and_compare_and_set_is_exact() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let (a, b) = (store_on(&open(&dir)).await, store_on(&open(&dir)).await);
    a.insert("items", items_rows(&[(1, Some("v"), Some(0))])).await.unwrap();
    assert_eq!(find_ids(&b, "items", Filter::All).await, vec![1], "b reads a's append");
    // Both try to move n from 0 to their own value; exactly one wins.
    let cas = |n: i64| WriteOp::Update {
        table: "items".into(),
        filter: Filter::and([Filter::eq("id", 1i64), Filter::eq("n", 0i64)]),
        set: vec![("n".into(), Value::Int(n))],
        expect: Some(1),
    };
    let (ra, rb) = tokio::join!(a.apply(vec![cas(1)]), b.apply(vec![cas(2)]));
    assert!(ra.is_ok() != rb.is_ok(), "exactly one compare-and-set wins: {ra:?} {rb:?}");
    let loser = if ra.is_ok() { rb } else { ra };
    assert_eq!(loser, Err(StorageError::Conflict(0)));
    let seen_a = a.find("items", &Query::default()).await.unwrap();
    let seen_b = b.find("items", &Query::default()).await.unwrap();
    assert_eq!(seen_a, seen_b);
    // A key taken through one handle is a duplicate through the other.
    let dup = b.insert("items", items_rows(&[(1, Some("again"), None)])).await;
    assert!(matches!(dup, Err(StorageError::DuplicateKey(_))), "{dup:?}");
}

#[test]
fn a_line_cut_short_is_cut_off_once_and_earlier_records_stay() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    rt.block_on(async {
        let s = store_on(&open(&dir)).await;
        for id in 1..=3 {
            s.insert("items", items_rows(&[(id, Some("x"), None)])).await.unwrap();
        }
    });
    let path = file(&dir, "items");
    let whole = std::fs::read(&path).unwrap();
    let keep = whole.len() - 20; // in the middle of the third record
    std::fs::write(&path, &whole[..keep]).unwrap();

    let (backend, warned) = warnings(|| open(&dir));
    assert!(warned.contains("cut off an unfinished write") && warned.contains("items.jsonl"), "{warned}");
    assert_eq!(warned.matches("WARN").count(), 1, "{warned}");
    let s = rt.block_on(store_on(&backend));
    assert_eq!(rt.block_on(find_ids(&s, "items", Filter::All)), vec![1, 2]);
    let two_lines = whole[..keep].iter().rposition(|&b| b == b'\n').unwrap() + 1;
    assert_eq!(std::fs::read(&path).unwrap(), whole[..two_lines], "cut at the end of the second line");
    drop(s);
    drop(backend);
    let (_, again) = warnings(|| open(&dir));
    assert!(again.is_empty(), "reported once: {again}");
    // The next write goes after the kept records.
    let s = rt.block_on(store_on(&open(&dir)));
    rt.block_on(s.insert("items", items_rows(&[(3, Some("y"), None)]))).unwrap();
    assert_eq!(rt.block_on(find_ids(&s, "items", Filter::All)), vec![1, 2, 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_line_in_the_middle_is_an_error_naming_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    {
        let s = store_on(&open(&dir)).await;
        for id in 1..=3 {
            s.insert("items", items_rows(&[(id, Some("x"), None)])).await.unwrap();
        }
    }
    let path = file(&dir, "items");
    let mut text = lines(&path);
    text[1] = text[1].replace("\"name\":\"x\"", "\"name\":x");
    std::fs::write(&path, text.join("\n") + "\n").unwrap();
    let err = JsonlBackend::open(&dir, SyncMode::Always).unwrap_err().to_string();
    assert!(err.contains("items.jsonl line 2"), "{err}");
    assert_eq!(lines(&path).len(), 3, "nothing was cut");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_missing_from_one_of_its_files_is_cut_from_all() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    {
        let s = store_on(&open(&dir)).await;
        s.insert("items", items_rows(&[(1, Some("kept"), None)])).await.unwrap();
        let pair = rows(&["a", "b"], vec![vec![Value::from("p"), Value::Int(1)]]);
        s.apply(vec![
            WriteOp::Insert { table: "items".into(), rows: items_rows(&[(2, Some("torn"), None)]) },
            WriteOp::Insert { table: "pairs".into(), rows: pair },
        ])
        .await
        .unwrap();
    }
    // A crash after the batch reached items.jsonl but before pairs.jsonl.
    std::fs::write(file(&dir, "pairs"), "").unwrap();
    let items_before = lines(&file(&dir, "items"));
    assert!(items_before[1].ends_with(r#""files":2}"#), "{}", items_before[1]);
    let (backend, warned) = warnings(|| open(&dir));
    assert!(warned.contains("items.jsonl"), "{warned}");
    let s = store_on(&backend).await;
    assert_eq!(find_ids(&s, "items", Filter::All).await, vec![1], "none of the unfinished batch");
    assert_eq!(lines(&file(&dir, "items")), items_before[..1].to_vec());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_leaves_an_unfinished_tail_to_the_next_writer() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let reader = store_on(&open(&dir)).await;
    let writer = store_on(&open(&dir)).await;
    writer.insert("items", items_rows(&[(1, Some("a"), None)])).await.unwrap();
    // Another process died half-way through its line.
    let path = file(&dir, "items");
    std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(br#"{"op":99,"put":{"sco"#).unwrap();
    assert_eq!(find_ids(&reader, "items", Filter::All).await, vec![1], "no error, nothing half-read");
    writer.insert("items", items_rows(&[(2, Some("b"), None)])).await.unwrap();
    assert_eq!(find_ids(&reader, "items", Filter::All).await, vec![1, 2]);
    assert!(lines(&path).iter().all(|l| !l.contains("\"op\":99")), "the torn line was cut before the append");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_keeps_the_live_rows_and_other_handles_follow() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let backend = open(&dir);
    let s = store_on(&backend).await;
    let other = store_on(&open(&dir)).await;
    s.insert("items", items_rows(&[(1, Some("a"), Some(0)), (2, Some("b"), Some(0)), (3, Some("c"), Some(0))]))
        .await
        .unwrap();
    for n in 1..=50 {
        s.update("items", Filter::eq("id", 1i64), vec![("n".into(), Value::Int(n))]).await.unwrap();
    }
    s.delete("items", Filter::eq("id", 3i64)).await.unwrap();
    assert_eq!(find_ids(&other, "items", Filter::All).await, vec![1, 2]);
    let before = other.find("items", &Query::default()).await.unwrap();
    let done = backend.compact_files().await.unwrap();
    let items_report = done.iter().find(|c| c.table == "items").expect("items compacted");
    assert_eq!((items_report.records_before, items_report.records_after), (54, 3));
    let text = lines(&file(&dir, "items"));
    assert_eq!(text.len(), 3);
    assert!(text[0].contains("\"compacted\":true"), "{}", text[0]);
    // The other handle reads the new file; both keep writing to it.
    assert_eq!(other.find("items", &Query::default()).await.unwrap(), before);
    other.update("items", Filter::eq("id", 2i64), vec![("n".into(), Value::Int(7))]).await.unwrap();
    s.insert("items", items_rows(&[(4, Some("d"), None)])).await.unwrap();
    assert_eq!(find_ids(&other, "items", Filter::All).await, vec![1, 2, 4]);
    assert_eq!(find_ids(&s, "items", Filter::eq("n", 7i64)).await, vec![2]);
    drop((s, other, backend));
    let reopened = store_on(&open(&dir)).await;
    assert_eq!(find_ids(&reopened, "items", Filter::All).await, vec![1, 2, 4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compaction_stopped_before_its_rename_leaves_the_old_file_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    {
        let s = store_on(&open(&dir)).await;
        for n in 0..10 {
            s.insert("items", items_rows(&[(n, Some("x"), None)])).await.unwrap();
        }
    }
    let path = file(&dir, "items");
    let old = std::fs::read(&path).unwrap();
    // What a crash mid-compaction leaves: a partial temp file beside the old one.
    let temp = dir.join("items.jsonl.compact");
    std::fs::write(&temp, b"{\"op\":11,\"compacted\":true}\n{\"op\":11,\"put\":{\"sc").unwrap();
    let (backend, warned) = warnings(|| open(&dir));
    assert!(warned.contains("interrupted compaction"), "{warned}");
    assert!(!temp.exists(), "the leftover is removed");
    assert_eq!(std::fs::read(&path).unwrap(), old, "the old file is untouched");
    let s = store_on(&backend).await;
    assert_eq!(find_ids(&s, "items", Filter::All).await, (0..10).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_mostly_garbage_is_compacted_on_its_own() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let s = store_on(&open(&dir)).await;
    s.insert("items", items_rows(&[(1, Some("a"), Some(0))])).await.unwrap();
    for n in 1..=1500 {
        s.update("items", Filter::eq("id", 1i64), vec![("n".into(), Value::Int(n))]).await.unwrap();
    }
    let n = lines(&file(&dir, "items")).len();
    assert!(n < 1000, "compacted automatically: {n} lines");
    let got = s.find("items", &Query::default()).await.unwrap();
    assert_eq!(got.get(0, "n"), Some(&Value::Int(1500)));
    let reopened = store_on(&open(&dir)).await;
    assert_eq!(reopened.find("items", &Query::default()).await.unwrap(), got);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_names_that_are_not_identifiers_never_become_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let backend = open(&tmp.path().join("d"));
    let mut evil = items();
    evil.name = "../escape".into();
    let r = backend.setup_models(&[validate::scoped_schema(&evil)]).await;
    assert!(matches!(r, Err(StorageError::Invalid(_))), "{r:?}");
    assert!(!tmp.path().join("escape.jsonl").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_table_file_is_refused_not_recreated_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    {
        let s = store_on(&open(&dir)).await;
        s.insert("items", items_rows(&[(1, Some("a"), None)])).await.unwrap();
    }
    std::fs::remove_file(file(&dir, "items")).unwrap();
    let backend = open(&dir);
    let r = CheckedStore::new(backend.clone(), SchemaRegistry::new(), "t1").setup_models(vec![items()]).await;
    assert!(matches!(&r, Err(StorageError::SchemaMismatch(m)) if m.contains("missing now")), "{r:?}");
    assert!(!file(&dir, "items").exists(), "not recreated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_open_through_the_registry_with_their_sync_mode() {
    let tmp = tempfile::tempdir().unwrap();
    for sync in ["always", "batch", "never"] {
        let url = format!("jsonl:///{}?sync={sync}", tmp.path().join(sync).display());
        let backend = backends::open(&DbUrl::parse(&url).unwrap()).await.unwrap();
        assert_eq!(backend.name(), "jsonl");
        let s = CheckedStore::new(backend, SchemaRegistry::new(), "t1");
        s.setup_models(vec![items()]).await.unwrap();
        s.insert("items", items_rows(&[(1, Some(sync), None)])).await.unwrap();
        drop(s);
        let again = store_on(&open(&tmp.path().join(sync))).await;
        assert_eq!(find_ids(&again, "items", Filter::All).await, vec![1], "{sync}");
    }
    let bad = format!("jsonl:///{}?sync=sometimes", tmp.path().join("bad").display());
    let r = backends::open(&DbUrl::parse(&bad).unwrap()).await;
    assert!(matches!(&r, Err(StorageError::Url(m)) if m.contains("sometimes")), "{:?}", r.err());
    assert!(!tmp.path().join("bad").exists());
}

/// The write lock file every writer holds (`nexau.lock.held`, what keeps the
/// WebAssembly command component and native writers apart): it is gone
/// after each write; a crashed native writer's is removed by the next
/// native writer at once; a WASI writer's is waited for while fresh and
/// removed once stale; and a write that waited goes through afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_write_lock_file_is_held_per_write_and_left_ones_are_cleared() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let held = dir.join("nexau.lock.held");
    let s = store_on(&open(&dir)).await;
    s.insert("items", items_rows(&[(1, Some("a"), None)])).await.unwrap();
    assert!(!held.exists(), "no write lock outlives its write");

    // Left by a native writer that crashed: the next native writer holds
    // the OS lock, so it knows the maker is gone.
    std::fs::write(&held, "native\n").unwrap();
    s.insert("items", items_rows(&[(2, Some("b"), None)])).await.unwrap();
    assert!(!held.exists());

    // Left by a WASI writer a minute and more ago: stale, removed.
    std::fs::write(&held, "wasi\n").unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(120);
    std::fs::File::options().write(true).open(&held).unwrap().set_modified(old).unwrap();
    s.insert("items", items_rows(&[(3, Some("c"), None)])).await.unwrap();
    assert!(!held.exists());

    // Held by a live WASI writer: the native write waits for it, then runs.
    std::fs::write(&held, "wasi\n").unwrap();
    let (s2, held2) = (s.clone(), held.clone());
    let writer = tokio::spawn(async move { s2.insert("items", items_rows(&[(4, Some("d"), None)])).await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(held2.exists() && !writer.is_finished(), "a native write does not run while a WASI writer holds the lock");
    std::fs::remove_file(&held).unwrap();
    assert_eq!(writer.await.unwrap().unwrap(), 1);
    assert_eq!(ids(&s.find("items", &Query::default()).await.unwrap()), vec![1, 2, 3, 4]);
    assert!(!dir.join("nexau.lock.break").exists());
}
