//! Errors keep their causes: a storage failure met inside a call of the
//! session logic reaches the caller as the storage error itself, with the
//! driver's error as its source, not as text the component passed along.

#[path = "support/mod.rs"]
mod support;

use nexau_session::Error;
use nexau_session::storage::StorageError;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_failure_inside_a_call_keeps_its_cause() {
    let b = support::backend("sqlite").await.unwrap();
    let engine = support::engine(&b).await;
    engine.get_or_create_session("alice", Some("s1")).await.unwrap();

    // Text that is not UTF-8, written behind the engine's back.
    let path = nexau_session::DbUrl::parse(&b.url).unwrap().path().unwrap().to_owned();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE sessions SET context = CAST(X'7BFF7D' AS TEXT) WHERE session_id = 's1'", []).unwrap();

    let err = engine.get_session("alice", "s1").await.unwrap_err();
    let Error::Storage(StorageError::Backend { message, source }) = &err else {
        panic!("expected the backend's own error, got {err:?}");
    };
    assert!(message.contains("`sessions`.`context`") && message.contains("not UTF-8"), "{message}");
    let cause = source.as_ref().expect("the decoding error is kept as the source").to_string();
    assert!(cause.contains("utf-8") || cause.contains("UTF-8"), "{cause}");
    // Shown with its causes, as the CLI prints it.
    let shown = format!("{:#}", anyhow::Error::new(err));
    assert!(shown.contains("not UTF-8") && shown.contains(&cause), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_the_session_logic_reports_itself_stays_its_own() {
    // A missing table is not a backend failure: it stays TableNotFound.
    let b = support::backend("sqlite").await.unwrap();
    let engine = nexau_session::Engine::from_url(&b.url).await.unwrap();
    let err = engine.get_or_create_session("alice", Some("s1")).await.unwrap_err();
    assert!(matches!(err, Error::TableNotFound(_)), "{err:?}");
}
