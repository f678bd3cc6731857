//! The SQLite floor: rusqlite on one file with the backend's settings (WAL,
//! `synchronous=FULL`, fixed query plans), prepared statements cached per
//! connection, run on the calling thread. A turn is one transaction that inserts its messages and
//! touches the session's `updated_at`; a load is one `SELECT` decoded into
//! [`Message`]s; a lock cycle is two durable single-row updates.

use std::path::Path;
use std::sync::Mutex;

use async_trait::async_trait;
use nexau_session_storage::StorageError;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::super::side::{AGENT, HOLDER, Side, USER, stamped};
use super::{Types, create_tables, decode, encode, now_ns};
use crate::{Error, Message, Result};

const TYPES: Types = Types { int: "INTEGER", id: "TEXT", text: "TEXT", table_options: "" };

// The next position is read once per turn. A subquery in the INSERT would
// do it per message, and SQLite re-prepares such a statement on every turn
// (`SQLITE_STMTSTATUS_REPREPARE` counted one per turn): work a hand-written
// program would not do.
const NEXT_POS: &str =
    "SELECT COALESCE(MAX(pos) + 1, 0) FROM messages WHERE user_id = ?1 AND session_id = ?2 AND agent_id = ?3";
const INSERT_MESSAGE: &str =
    "INSERT INTO messages (user_id, session_id, agent_id, pos, message) VALUES (?1, ?2, ?3, ?4, ?5)";
const TOUCH_SESSION: &str = "UPDATE sessions SET updated_at = ?3 WHERE user_id = ?1 AND session_id = ?2";
const LOAD: &str = "SELECT message FROM messages WHERE user_id = ?1 AND session_id = ?2 AND agent_id = ?3 ORDER BY pos";
const LOAD_TAIL: &str = "SELECT message FROM messages WHERE user_id = ?1 AND session_id = ?2 AND agent_id = ?3 \
  ORDER BY pos DESC LIMIT ?4";
const ACQUIRE: &str = "UPDATE locks SET holder_id = ?4, token = token + 1, expires_at_ns = ?5 \
  WHERE user_id = ?1 AND session_id = ?2 AND agent_id = ?3 AND (holder_id IS NULL OR expires_at_ns <= ?6) \
  RETURNING token";
const RELEASE: &str = "UPDATE locks SET holder_id = NULL WHERE user_id = ?1 AND session_id = ?2 AND agent_id = ?3 \
  AND holder_id = ?4 AND token = ?5";

/// A connection to the SQLite file at `path` with the backend's settings:
/// WAL, `synchronous=FULL`, and one plan per statement (as the backend
/// does; without it SQLite compiles a load again on every rebinding, as its
/// `ORDER BY` after equality terms makes the plan depend on the values bound).
pub(super) fn connect(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).map_err(err)?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
    conn.pragma_update(None, "synchronous", "FULL").map_err(err)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).map_err(err)?;
    Ok(conn)
}

/// A hand-written store on one SQLite file.
pub struct SqliteFloor {
    conn: Mutex<Connection>,
}

fn err(e: rusqlite::Error) -> Error {
    Error::Storage(StorageError::backend_caused("sqlite floor", e))
}

impl SqliteFloor {
    /// Creates the file and its tables.
    pub fn open(path: &Path) -> Result<SqliteFloor> {
        let conn = connect(path)?;
        conn.execute_batch(&create_tables(&TYPES)).map_err(err)?;
        Ok(SqliteFloor { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A turn's writes, inside its transaction: its messages at the next
/// positions, and the session's `updated_at`.
fn insert_turn(conn: &Connection, session: &str, json: &[String]) -> Result<()> {
    let next: i64 = conn
        .prepare_cached(NEXT_POS)
        .and_then(|mut st| st.query_row(params![USER, session, AGENT], |r| r.get(0)))
        .map_err(err)?;
    let mut insert = conn.prepare_cached(INSERT_MESSAGE).map_err(err)?;
    for (pos, m) in (next..).zip(json) {
        insert.execute(params![USER, session, AGENT, pos, m]).map_err(err)?;
    }
    let touched = conn.prepare_cached(TOUCH_SESSION).and_then(|mut st| st.execute(params![USER, session, now_ns()]));
    if touched.map_err(err)? != 1 {
        return Err(Error::NotFound(format!("session {session}")));
    }
    Ok(())
}

/// Runs `writes` as one durable transaction: `BEGIN IMMEDIATE` and `COMMIT`
/// as cached statements (`rusqlite::Transaction` parses both on every
/// turn); any error rolls the turn back.
pub(super) fn in_turn(conn: &Connection, writes: impl FnOnce(&Connection) -> Result<()>) -> Result<()> {
    conn.prepare_cached("BEGIN IMMEDIATE").and_then(|mut st| st.execute([])).map_err(err)?;
    let turn = writes(conn).and_then(|()| conn.prepare_cached("COMMIT").and_then(|mut st| st.execute([])).map_err(err));
    if turn.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    turn.map(drop)
}

#[async_trait]
impl Side for SqliteFloor {
    async fn create(&self, session: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        tx.execute("INSERT INTO sessions VALUES (?1, ?2, ?3)", params![USER, session, now_ns()]).map_err(err)?;
        tx.execute("INSERT INTO locks VALUES (?1, ?2, ?3, NULL, 0, 0)", params![USER, session, AGENT]).map_err(err)?;
        tx.commit().map_err(err)
    }

    async fn append(&self, session: &str, messages: &[Message]) -> Result<()> {
        let json = stamped(messages).iter().map(encode).collect::<Result<Vec<_>>>()?;
        let conn = self.conn();
        in_turn(&conn, |conn| insert_turn(conn, session, &json))
    }

    async fn load(&self, session: &str, last: Option<u32>) -> Result<Vec<Message>> {
        let conn = self.conn();
        let mut out = Vec::new();
        match last {
            None => {
                let mut st = conn.prepare_cached(LOAD).map_err(err)?;
                let mut rows = st.query(params![USER, session, AGENT]).map_err(err)?;
                while let Some(row) = rows.next().map_err(err)? {
                    out.push(decode(row.get_ref(0).map_err(err)?.as_str().map_err(|e| err(e.into()))?)?);
                }
            }
            Some(n) => {
                let mut st = conn.prepare_cached(LOAD_TAIL).map_err(err)?;
                let mut rows = st.query(params![USER, session, AGENT, n]).map_err(err)?;
                while let Some(row) = rows.next().map_err(err)? {
                    out.push(decode(row.get_ref(0).map_err(err)?.as_str().map_err(|e| err(e.into()))?)?);
                }
                out.reverse();
            }
        }
        Ok(out)
    }

    async fn lock_cycle(&self, session: &str) -> Result<()> {
        let conn = self.conn();
        let now = now_ns();
        let token: Option<i64> = conn
            .prepare_cached(ACQUIRE)
            .and_then(|mut st| {
                st.query_row(params![USER, session, AGENT, HOLDER, now + 30_000_000_000, now], |r| r.get(0)).optional()
            })
            .map_err(err)?;
        let Some(token) = token else { return Err(Error::Conflict("floor lock held".into())) };
        let released =
            conn.prepare_cached(RELEASE).and_then(|mut st| st.execute(params![USER, session, AGENT, HOLDER, token]));
        if released.map_err(err)? != 1 {
            return Err(Error::Conflict("floor lock lost".into()));
        }
        Ok(())
    }
}
