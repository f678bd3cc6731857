//! What the session logic does when its host misbehaves within the
//! contract's letter: a storage that hands back rows without a declared
//! column, and a random source that always returns the same number.

#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;

use async_trait::async_trait;
use nexau_session::runtime::RandomSource;
use nexau_session::storage::{
    Backend, DbUrl, Filter, Query, RowSet, StorageError, TableSchema, Value, WriteOp, backends,
};
use nexau_session::{Engine, Error, Message, Role, WriteOptions};
use support::{root_agent, user};

/// A storage that passes everything to memory but changes what `find`
/// returns for one table.
struct Tampered {
    inner: Arc<dyn Backend>,
    table: &'static str,
    change: fn(&mut RowSet),
}

#[async_trait]
impl Backend for Tampered {
    fn name(&self) -> &'static str {
        "tampered"
    }
    async fn setup_models(&self, schemas: &[TableSchema]) -> Result<(), StorageError> {
        self.inner.setup_models(schemas).await
    }
    async fn find(&self, table: &TableSchema, query: &Query) -> Result<RowSet, StorageError> {
        let mut rows = self.inner.find(table, query).await?;
        if table.name == self.table {
            (self.change)(&mut rows);
        }
        Ok(rows)
    }
    async fn count(&self, table: &TableSchema, filter: &Filter) -> Result<u64, StorageError> {
        self.inner.count(table, filter).await
    }
    async fn apply(&self, ops: &[WriteOp]) -> Result<Vec<u64>, StorageError> {
        self.inner.apply(ops).await
    }
}

fn drop_column(rows: &mut RowSet, name: &str) {
    let i = rows.position(name).expect("the column is there to drop");
    rows.columns.remove(i);
    for row in &mut rows.rows {
        row.remove(i);
    }
}

async fn tampered(table: &'static str, change: fn(&mut RowSet)) -> Engine {
    let inner = backends::open(&DbUrl::parse("memory://").unwrap()).await.unwrap();
    let backend = Arc::new(Tampered { inner, table, change });
    let engine = Engine::builder_on_backend(backend).clock(support::test_clock() as Arc<_>).build().await.unwrap();
    engine.setup_models().await.unwrap();
    engine
}

fn storage_refusal(err: Error, column: &str) {
    assert!(matches!(err, Error::Storage(_)), "{err:?}");
    assert!(err.to_string().contains(&format!("storage row without {column}")), "{err}");
}

#[tokio::test]
async fn a_row_without_a_declared_column_fails_the_call() {
    // Without the check, `version` read as 0 and the session came back.
    let engine = tampered("sessions", |rows| drop_column(rows, "version")).await;
    engine.get_or_create_session("alice", Some("s1")).await.unwrap(); // the insert needs no read
    let err = engine.get_session("alice", "s1").await.unwrap_err();
    storage_refusal(err, "sessions.version");

    // A message row without its position: the load fails, naming it.
    let engine = tampered("agent_messages", |rows| drop_column(rows, "pos")).await;
    let agent = root_agent(&engine, "alice", "s1").await;
    engine.append(&agent, &[user("hello")], &WriteOptions::default()).await.unwrap();
    storage_refusal(engine.load(&agent, None).await.unwrap_err(), "agent_messages.pos");
}

#[tokio::test]
async fn a_null_or_mistyped_cell_in_a_not_null_column_fails_the_call() {
    fn null_token(rows: &mut RowSet) {
        let i = rows.position("token").unwrap();
        rows.rows.iter_mut().for_each(|r| r[i] = Value::Null);
    }
    fn token_as_text(rows: &mut RowSet) {
        let i = rows.position("token").unwrap();
        rows.rows.iter_mut().for_each(|r| r[i] = Value::Text("1".into()));
    }
    for change in [null_token as fn(&mut RowSet), token_as_text] {
        let engine = tampered("agent_locks", change).await;
        let agent = root_agent(&engine, "alice", "s1").await;
        engine.try_acquire_lock(&agent, "h1", None, std::time::Duration::from_secs(30)).await.unwrap();
        storage_refusal(engine.show_lock(&agent).await.unwrap_err(), "agent_locks.token");
    }
}

/// Always the same number.
struct Constant;

impl RandomSource for Constant {
    fn next_u64(&self) -> u64 {
        0x0123_4567_89ab_cdef
    }
}

#[tokio::test]
async fn ids_stay_unique_with_a_constant_random_source_and_a_pinned_clock() {
    let b = support::backend("memory").await.unwrap();
    let engine = Engine::builder(&b.url)
        .clock(support::test_clock() as Arc<_>)
        .random_source(Arc::new(Constant))
        .build()
        .await
        .unwrap();
    engine.setup_models().await.unwrap();

    // Two sessions made in the same millisecond from the same random bits:
    // the second collides on its first id and takes the next one, rather
    // than returning the first user's session.
    let a = engine.get_or_create_session("alice", None).await.unwrap();
    let b2 = engine.get_or_create_session("alice", None).await.unwrap();
    assert_ne!(a.session_id, b2.session_id);
    assert_eq!(engine.list_sessions(&Default::default()).await.unwrap().len(), 2);

    // Three messages without ids in one append (one instance) get three ids;
    // a second append (a fresh instance: the same first action id, taken)
    // retries with the next one and lands.
    let agent = root_agent(&engine, "alice", &a.session_id).await;
    let three = [user("one"), Message::from_text(Role::Assistant, "two"), user("three")];
    let first = engine.append(&agent, &three, &WriteOptions::default()).await.unwrap();
    let second = engine.append(&agent, &[user("four")], &WriteOptions::default()).await.unwrap();
    assert_ne!(first.action_id, second.action_id);
    assert_eq!((first.seq, second.seq), (1, 2));
    let loaded = engine.load(&agent, None).await.unwrap();
    assert_eq!(support::texts(&loaded), ["one", "two", "three", "four"]);
    let mut ids: Vec<&str> = loaded[..3].iter().map(|m| m.id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3, "the message ids of one append repeat: {ids:?}");
}
