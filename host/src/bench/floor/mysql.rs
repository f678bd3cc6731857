//! The MySQL/MariaDB floor: mysql_async on one connection to a database of
//! its own, InnoDB with the server's default durability (a commit is flushed
//! before it returns), as the backend uses it. A turn is one transaction:
//! read the agent's next position, insert the turn's messages in one
//! multi-row `INSERT`, touch the session's `updated_at`. A load is one
//! `SELECT` decoded into [`Message`]s; a lock cycle two single-row updates.

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, TxOpts};
use nexau_session_storage::StorageError;
use tokio::sync::Mutex;

use super::super::side::{AGENT, HOLDER, Side, USER, stamped};
use super::{Types, create_tables, decode, encode, now_ns};
use crate::{Error, Message, Result};

const TYPES: Types = Types { int: "BIGINT", id: "VARCHAR(128)", text: "LONGTEXT", table_options: " ENGINE = InnoDB" };

const NEXT_POS: &str =
    "SELECT COALESCE(MAX(pos) + 1, 0) FROM messages WHERE user_id = ? AND session_id = ? AND agent_id = ?";
const TOUCH_SESSION: &str = "UPDATE sessions SET updated_at = ? WHERE user_id = ? AND session_id = ?";
const LOAD: &str = "SELECT message FROM messages WHERE user_id = ? AND session_id = ? AND agent_id = ? ORDER BY pos";
const LOAD_TAIL: &str = "SELECT message FROM messages WHERE user_id = ? AND session_id = ? AND agent_id = ? \
  ORDER BY pos DESC LIMIT ?";
const ACQUIRE: &str = "UPDATE locks SET holder_id = ?, token = token + 1, expires_at_ns = ? \
  WHERE user_id = ? AND session_id = ? AND agent_id = ? AND (holder_id IS NULL OR expires_at_ns <= ?)";
const RELEASE: &str =
    "UPDATE locks SET holder_id = NULL WHERE user_id = ? AND session_id = ? AND agent_id = ? AND holder_id = ?";

/// `INSERT INTO messages … VALUES (…), (…)` for `n` messages.
fn insert_messages(n: usize) -> String {
    let rows = vec!["(?, ?, ?, ?, ?)"; n].join(", ");
    format!("INSERT INTO messages (user_id, session_id, agent_id, pos, message) VALUES {rows}")
}

/// A hand-written store in one MySQL/MariaDB database; the driver caches
/// the prepared statements of its connection.
pub struct MysqlFloor {
    conn: Mutex<Conn>,
}

fn err(e: mysql_async::Error) -> Error {
    Error::Storage(StorageError::backend_caused("mysql floor", e))
}

impl MysqlFloor {
    /// Connects to the database `url` names (`mysql://…/DATABASE`) and creates the tables.
    pub async fn open(url: &str) -> Result<MysqlFloor> {
        let opts = Opts::from_url(url).map_err(|e| Error::Invalid(format!("mysql floor: bad URL {url:?}: {e}")))?;
        let mut conn = Conn::new(OptsBuilder::from_opts(opts).prefer_socket(false)).await.map_err(err)?;
        conn.query_drop(create_tables(&TYPES)).await.map_err(err)?;
        Ok(MysqlFloor { conn: Mutex::new(conn) })
    }
}

#[async_trait]
impl Side for MysqlFloor {
    async fn create(&self, session: &str) -> Result<()> {
        let mut conn = self.conn.lock().await;
        let mut tx = conn.start_transaction(TxOpts::default()).await.map_err(err)?;
        tx.exec_drop("INSERT INTO sessions VALUES (?, ?, ?)", (USER, session, now_ns())).await.map_err(err)?;
        tx.exec_drop("INSERT INTO locks VALUES (?, ?, ?, NULL, 0, 0)", (USER, session, AGENT)).await.map_err(err)?;
        tx.commit().await.map_err(err)
    }

    async fn append(&self, session: &str, messages: &[Message]) -> Result<()> {
        let json = stamped(messages).iter().map(encode).collect::<Result<Vec<_>>>()?;
        let mut conn = self.conn.lock().await;
        let mut tx = conn.start_transaction(TxOpts::default()).await.map_err(err)?;
        let next: i64 = tx.exec_first(NEXT_POS, (USER, session, AGENT)).await.map_err(err)?.unwrap_or(0);
        let mut params: Vec<mysql_async::Value> = Vec::with_capacity(5 * json.len());
        for (pos, m) in (next..).zip(json) {
            params.extend([USER.into(), session.into(), AGENT.into(), pos.into(), m.into()]);
        }
        tx.exec_drop(insert_messages(messages.len()), params).await.map_err(err)?;
        tx.exec_drop(TOUCH_SESSION, (now_ns(), USER, session)).await.map_err(err)?;
        if tx.affected_rows() != 1 {
            return Err(Error::NotFound(format!("session {session}")));
        }
        tx.commit().await.map_err(err)
    }

    async fn load(&self, session: &str, last: Option<u32>) -> Result<Vec<Message>> {
        let mut conn = self.conn.lock().await;
        let rows: Vec<String> = match last {
            None => conn.exec(LOAD, (USER, session, AGENT)).await.map_err(err)?,
            Some(n) => conn.exec(LOAD_TAIL, (USER, session, AGENT, n)).await.map_err(err)?,
        };
        let mut out = rows.iter().map(|m| decode(m)).collect::<Result<Vec<_>>>()?;
        if last.is_some() {
            out.reverse();
        }
        Ok(out)
    }

    async fn lock_cycle(&self, session: &str) -> Result<()> {
        let mut conn = self.conn.lock().await;
        let now = now_ns();
        conn.exec_drop(ACQUIRE, (HOLDER, now + 30_000_000_000, USER, session, AGENT, now)).await.map_err(err)?;
        if conn.affected_rows() != 1 {
            return Err(Error::Conflict("floor lock held".into()));
        }
        conn.exec_drop(RELEASE, (USER, session, AGENT, HOLDER)).await.map_err(err)?;
        if conn.affected_rows() != 1 {
            return Err(Error::Conflict("floor lock lost".into()));
        }
        Ok(())
    }
}
