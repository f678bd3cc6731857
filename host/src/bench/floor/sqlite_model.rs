//! The SQLite model floor: the rows the component stores (its own tables and
//! indexes, as the backend creates them), written and read by hand with
//! rusqlite prepared statements on the backend's settings, on the calling
//! thread. It does the storage work of the component's design and nothing
//! else: against the floor it is the cost of that design (the action log,
//! the agent's counters, message ids and roles, the sessions' recency
//! index); the native side against it is the cost of the storage layer.
//!
//! A turn is one transaction: read the agent's counters, advance them,
//! touch the session, insert the message rows and the action row. A load
//! reads the agent's epoch, then the columns the component reads of each
//! live message row, and decodes the messages. A lock cycle reads the lock
//! row, takes it with a compare-and-set and releases it: three single-row
//! statements, the two writes durable.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;
use std::sync::Mutex;

use async_trait::async_trait;
use nexau_session_storage::{CheckedStore, StorageError};
use rusqlite::{Connection, OptionalExtension, params};

use super::super::native::seed;
use super::super::side::{AGENT, HOLDER, Side, USER, stamped};
use super::sqlite::{connect, in_turn};
use super::{decode, encode, now_ns};
use crate::engine::DEFAULT_SCOPE;
use crate::engine::message_rows::tool_calls_cell;
use crate::{ContentBlock, Error, Message, Result, Role};

const HEAD: &str = r#"SELECT "next_seq", "live_count", "epoch" FROM "agents"
  WHERE "scope" = ?1 AND "user_id" = ?2 AND "session_id" = ?3 AND "agent_id" = ?4"#;
const ADVANCE: &str = r#"UPDATE "agents" SET "next_seq" = ?5, "last_updated" = ?6, "live_count" = ?7
  WHERE "scope" = ?1 AND "user_id" = ?2 AND "session_id" = ?3 AND "agent_id" = ?4 AND "next_seq" = ?8"#;
const TOUCH_SESSION: &str =
    r#"UPDATE "sessions" SET "updated_at" = ?4 WHERE "scope" = ?1 AND "user_id" = ?2 AND "session_id" = ?3"#;
const INSERT_MESSAGE: &str = r#"INSERT INTO "agent_messages" ("scope", "user_id", "session_id", "agent_id",
  "action_seq", "epoch", "pos", "live", "message_id", "role", "tool_calls", "message")
  VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, ?9, ?10, ?11)"#;
const INSERT_ACTION: &str = r#"INSERT INTO "agent_run_actions" ("scope", "action_id", "user_id", "session_id",
  "agent_id", "seq", "created_at", "created_at_ns", "action_type", "epoch", "live_before", "request_hash")
  VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'append', ?9, ?10, ?11)"#;
const EPOCH: &str = r#"SELECT "epoch" FROM "agents"
  WHERE "scope" = ?1 AND "user_id" = ?2 AND "session_id" = ?3 AND "agent_id" = ?4"#;
const LOAD: &str = r#"SELECT "pos", "role", "tool_calls", "message" FROM "agent_messages"
  WHERE "scope" = ?1 AND "user_id" = ?2 AND "session_id" = ?3 AND "agent_id" = ?4 AND "epoch" = ?5 AND "live" = 1
  ORDER BY "pos""#;
const LOAD_TAIL: &str = r#"SELECT "pos", "role", "tool_calls", "message" FROM "agent_messages"
  WHERE "scope" = ?1 AND "user_id" = ?2 AND "session_id" = ?3 AND "agent_id" = ?4 AND "epoch" = ?5 AND "live" = 1
  ORDER BY "pos" DESC LIMIT ?6"#;
const LOCK_ROW: &str = r#"SELECT "token", "holder_id", "expires_at_ns" FROM "agent_locks"
  WHERE "scope" = ?1 AND "user_id" = ?2 AND "session_id" = ?3 AND "agent_id" = ?4"#;
const INSERT_LOCK: &str = r#"INSERT INTO "agent_locks" ("scope", "user_id", "session_id", "agent_id",
  "holder_id", "token", "acquired_at_ns", "expires_at_ns") VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7)"#;
const TAKE_LOCK: &str = r#"UPDATE "agent_locks" SET "holder_id" = ?5, "token" = ?6, "acquired_at_ns" = ?7,
  "expires_at_ns" = ?8
  WHERE "scope" = ?1 AND "user_id" = ?2 AND "session_id" = ?3 AND "agent_id" = ?4 AND "token" = ?9"#;
const RELEASE_LOCK: &str = r#"UPDATE "agent_locks" SET "holder_id" = NULL, "expires_at_ns" = 0
  WHERE "scope" = ?1 AND "user_id" = ?2 AND "session_id" = ?3 AND "agent_id" = ?4 AND "holder_id" = ?5
  AND "token" = ?6"#;

/// The component's rows on one SQLite file, written by hand.
pub struct SqliteModelFloor {
    /// Creates sessions and agents (not timed) as the native side does.
    seeds: CheckedStore,
    conn: Mutex<Connection>,
}

fn err(e: rusqlite::Error) -> Error {
    Error::Storage(StorageError::backend_caused("sqlite model floor", e))
}

/// The `tool_calls` cell of a message (see [`tool_calls_cell`]).
fn tool_calls(m: &Message) -> Option<String> {
    let asks = m.role == Role::Assistant;
    let ids = m.content.iter().filter_map(|b| match b {
        ContentBlock::ToolUse { id, .. } if asks => Some(id.as_str()),
        ContentBlock::ToolResult { tool_use_id, .. } if !asks => Some(tool_use_id.as_str()),
        _ => None,
    });
    tool_calls_cell(asks, &m.created_at, ids)
}

impl SqliteModelFloor {
    /// Works on the SQLite file at `path`, whose tables `seeds` (a store on
    /// the same file) has created.
    pub fn open(path: &Path, seeds: CheckedStore) -> Result<SqliteModelFloor> {
        Ok(SqliteModelFloor { seeds, conn: Mutex::new(connect(path)?) })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A turn's writes, inside its transaction.
fn insert_turn(conn: &Connection, session: &str, messages: &[Message], json: &[String]) -> Result<()> {
    let key = params![DEFAULT_SCOPE, USER, session, AGENT];
    let (seq, live, epoch): (i64, i64, i64) = conn
        .prepare_cached(HEAD)
        .and_then(|mut st| st.query_row(key, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))))
        .map_err(err)?;
    let ns = now_ns();
    let stamp = humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string();
    let added = json.len() as i64;
    let advanced = conn
        .prepare_cached(ADVANCE)
        .and_then(|mut st| st.execute(params![DEFAULT_SCOPE, USER, session, AGENT, seq + 1, stamp, live + added, seq]));
    if advanced.map_err(err)? != 1 {
        return Err(Error::Conflict(format!("model floor: agent of session {session} moved on")));
    }
    let touched =
        conn.prepare_cached(TOUCH_SESSION).and_then(|mut st| st.execute(params![DEFAULT_SCOPE, USER, session, stamp]));
    if touched.map_err(err)? != 1 {
        return Err(Error::NotFound(format!("session {session}")));
    }
    let mut insert = conn.prepare_cached(INSERT_MESSAGE).map_err(err)?;
    let mut request = DefaultHasher::new();
    for ((pos, m), text) in (live..).zip(messages).zip(json) {
        text.hash(&mut request);
        let row =
            params![DEFAULT_SCOPE, USER, session, AGENT, seq, epoch, pos, m.id, m.role.as_str(), tool_calls(m), text];
        insert.execute(row).map_err(err)?;
    }
    let action_id = format!("act_{}", ulid::Ulid::new());
    let hash = request.finish().to_string();
    conn.prepare_cached(INSERT_ACTION)
        .and_then(|mut st| {
            st.execute(params![DEFAULT_SCOPE, action_id, USER, session, AGENT, seq, stamp, ns, epoch, live, hash])
        })
        .map_err(err)?;
    Ok(())
}

/// Decodes the `message` cells of `rows` (pos, role, tool_calls, message).
fn decode_rows(rows: &mut rusqlite::Rows<'_>, out: &mut Vec<Message>) -> Result<()> {
    while let Some(row) = rows.next().map_err(err)? {
        // The cells the component reads, read here too.
        let _pos: i64 = row.get(0).map_err(err)?;
        let _role = row.get_ref(1).map_err(err)?;
        let _calls = row.get_ref(2).map_err(err)?;
        out.push(decode(row.get_ref(3).map_err(err)?.as_str().map_err(|e| err(e.into()))?)?);
    }
    Ok(())
}

#[async_trait]
impl Side for SqliteModelFloor {
    async fn create(&self, session: &str) -> Result<()> {
        Ok(seed(&self.seeds, USER, session, AGENT).await?)
    }

    async fn append(&self, session: &str, messages: &[Message]) -> Result<()> {
        let messages = stamped(messages);
        let json = messages.iter().map(encode).collect::<Result<Vec<_>>>()?;
        let conn = self.conn();
        in_turn(&conn, |conn| insert_turn(conn, session, &messages, &json))
    }

    async fn load(&self, session: &str, last: Option<u32>) -> Result<Vec<Message>> {
        let conn = self.conn();
        let key = params![DEFAULT_SCOPE, USER, session, AGENT];
        let epoch: i64 = conn.prepare_cached(EPOCH).and_then(|mut st| st.query_row(key, |r| r.get(0))).map_err(err)?;
        let mut out = Vec::new();
        match last {
            None => {
                let mut st = conn.prepare_cached(LOAD).map_err(err)?;
                decode_rows(
                    &mut st.query(params![DEFAULT_SCOPE, USER, session, AGENT, epoch]).map_err(err)?,
                    &mut out,
                )?;
            }
            Some(n) => {
                let mut st = conn.prepare_cached(LOAD_TAIL).map_err(err)?;
                let mut rows = st.query(params![DEFAULT_SCOPE, USER, session, AGENT, epoch, n]).map_err(err)?;
                decode_rows(&mut rows, &mut out)?;
                out.reverse();
            }
        }
        Ok(out)
    }

    async fn lock_cycle(&self, session: &str) -> Result<()> {
        let conn = self.conn();
        let key = params![DEFAULT_SCOPE, USER, session, AGENT];
        let row: Option<(i64, Option<String>, i64)> = conn
            .prepare_cached(LOCK_ROW)
            .and_then(|mut st| st.query_row(key, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional())
            .map_err(err)?;
        let now = now_ns();
        let expires = now + 30_000_000_000;
        let token = match row {
            None => {
                conn.prepare_cached(INSERT_LOCK)
                    .and_then(|mut st| st.execute(params![DEFAULT_SCOPE, USER, session, AGENT, HOLDER, now, expires]))
                    .map_err(err)?;
                1
            }
            Some((_, Some(_), until)) if until > now => return Err(Error::Conflict("model floor: lock held".into())),
            Some((old, _, _)) => {
                let taken = conn.prepare_cached(TAKE_LOCK).and_then(|mut st| {
                    st.execute(params![DEFAULT_SCOPE, USER, session, AGENT, HOLDER, old + 1, now, expires, old])
                });
                if taken.map_err(err)? != 1 {
                    return Err(Error::Conflict("model floor: lock taken meanwhile".into()));
                }
                old + 1
            }
        };
        let released = conn
            .prepare_cached(RELEASE_LOCK)
            .and_then(|mut st| st.execute(params![DEFAULT_SCOPE, USER, session, AGENT, HOLDER, token]));
        if released.map_err(err)? != 1 {
            return Err(Error::Conflict("model floor: lock lost".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use nexau_session_storage::backends::TestStore;

    use super::*;
    use crate::{AcquireOutcome, AgentRef, Engine, SystemClock, WriteOptions};

    /// The model floor writes the component's rows: the component reads
    /// its turns, writes after them at the next positions, and takes the
    /// lock after its cycles.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_component_reads_and_continues_what_the_model_floor_wrote() {
        let mut file = std::path::PathBuf::new();
        let store = TestStore::in_temp_dir(|dir| {
            file = dir.join("model.db");
            format!("sqlite:///{}", file.display())
        })
        .expect("a scratch directory");
        let engine = Engine::builder(&store.url).clock(Arc::new(SystemClock)).build().await.expect("an engine");
        engine.setup_models().await.expect("the tables");
        let schemas = engine.table_schemas().expect("the schemas");
        let seeds = super::super::super::checked_store(store.url.clone(), schemas).await.expect("a store");
        let floor = SqliteModelFloor::open(&file, seeds).expect("the model floor");

        floor.create("s").await.expect("created");
        let turn = [Message::from_text(Role::User, "first"), Message::from_text(Role::Assistant, "second")];
        floor.append("s", &turn).await.expect("a turn");
        floor.append("s", &turn[..1]).await.expect("another");
        floor.lock_cycle("s").await.expect("a lock cycle");
        floor.lock_cycle("s").await.expect("another");

        let agent = AgentRef::new(USER, "s", AGENT);
        let read = engine.load(&agent, None).await.expect("the component loads");
        assert_eq!(read.iter().map(Message::text).collect::<Vec<_>>(), ["first", "second", "first"]);
        assert_eq!(read, floor.load("s", None).await.expect("the floor loads"));

        engine
            .append(&agent, &[Message::from_text(Role::User, "third")], &WriteOptions::default())
            .await
            .expect("append");
        let tail = floor.load("s", Some(2)).await.expect("a tail");
        assert_eq!(tail.iter().map(Message::text).collect::<Vec<_>>(), ["first", "third"]);

        let ttl = std::time::Duration::from_secs(30);
        match engine.try_acquire_lock(&agent, "other", None, ttl).await.expect("acquire") {
            AcquireOutcome::Acquired(lease) => assert_eq!(lease.token, 3, "two cycles took tokens 1 and 2"),
            AcquireOutcome::Held(h) => panic!("the floor left the lock held: {h:?}"),
        }
        assert!(floor.lock_cycle("s").await.is_err(), "the floor must not take a held lock");
    }
}
