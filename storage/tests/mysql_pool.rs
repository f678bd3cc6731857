//! The MySQL/MariaDB backend's pool keeps its connections between calls: a
//! storage call that opened a connection of its own each time (the driver's
//! default when no connection is kept idle) paid a connect and a login,
//! about a millisecond on loopback, on every call. Runs when
//! `NEXAU_TEST_MYSQL_URL` is set (`DEVELOPERS.md`).
#![cfg(feature = "mysql")]

mod common;

use std::time::Duration;

use common::*;
use mysql_async::prelude::Queryable;
use nexau_session_storage::backends;
use nexau_session_storage::*;

/// The ids of the server's connections to `url`'s database, other than the
/// one asking.
async fn connections(url: &str) -> Vec<u64> {
    let mut conn = mysql_async::Conn::new(mysql_async::Opts::from_url(url).unwrap()).await.unwrap();
    let ids: Vec<u64> = conn
        .query("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID()")
        .await
        .unwrap();
    conn.disconnect().await.unwrap();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_serves_call_after_call() {
    let kind = backends::by_name("mysql").unwrap();
    let Some(store) = (kind.test_store)().await.unwrap() else {
        eprintln!("note: no mysql store on this machine; skipped");
        return;
    };
    let backend = backends::open(&DbUrl::parse(&store.url).unwrap()).await.unwrap();
    backend.setup_models(&[items()]).await.unwrap();
    // Time for the pool to close a connection it does not keep.
    let settle = Duration::from_millis(300);
    backend.find(&items(), &Query::default()).await.unwrap();
    tokio::time::sleep(settle).await;
    let after_first = connections(&store.url).await;
    backend.find(&items(), &Query::default()).await.unwrap();
    tokio::time::sleep(settle).await;
    let after_second = connections(&store.url).await;
    assert!(!after_first.is_empty(), "no connection stayed open after a call");
    assert!(
        after_first.iter().any(|id| after_second.contains(id)),
        "the second call did not reuse a connection: {after_first:?} then {after_second:?}"
    );
}
