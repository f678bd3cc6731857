//! The PostgreSQL floor: tokio-postgres on one connection to a schema of its
//! own, with the server's default durability (`synchronous_commit = on`, as
//! the backend uses it). A turn is one statement, so one round trip and one
//! implicit transaction: it inserts the turn's messages after the agent's
//! last position and touches the session's `updated_at`. A load is one
//! `SELECT` decoded into [`Message`]s; a lock cycle two single-row updates.

use async_trait::async_trait;
use nexau_session_storage::StorageError;
use tokio_postgres::{Client, NoTls, Statement};

use super::super::side::{AGENT, HOLDER, Side, USER, stamped};
use super::{Types, create_tables, decode, encode, now_ns};
use crate::{Error, Message, Result};

const TYPES: Types = Types { int: "BIGINT", id: "TEXT", text: "TEXT", table_options: "" };

/// One turn in one statement: the messages (an array) numbered from the
/// agent's next position, and the session's `updated_at`.
const APPEND: &str = "
WITH next AS (
  SELECT COALESCE(MAX(pos) + 1, 0) AS pos FROM messages WHERE user_id = $1 AND session_id = $2 AND agent_id = $3
), added AS (
  INSERT INTO messages (user_id, session_id, agent_id, pos, message)
  SELECT $1, $2, $3, next.pos + m.n - 1, m.message FROM next, unnest($4::text[]) WITH ORDINALITY AS m(message, n)
)
UPDATE sessions SET updated_at = $5 WHERE user_id = $1 AND session_id = $2";
const LOAD: &str = "SELECT message FROM messages WHERE user_id = $1 AND session_id = $2 AND agent_id = $3 ORDER BY pos";
const LOAD_TAIL: &str = "SELECT message FROM messages WHERE user_id = $1 AND session_id = $2 AND agent_id = $3 \
  ORDER BY pos DESC LIMIT $4";
const ACQUIRE: &str = "UPDATE locks SET holder_id = $4, token = token + 1, expires_at_ns = $5 \
  WHERE user_id = $1 AND session_id = $2 AND agent_id = $3 AND (holder_id IS NULL OR expires_at_ns <= $6) \
  RETURNING token";
const RELEASE: &str = "UPDATE locks SET holder_id = NULL WHERE user_id = $1 AND session_id = $2 AND agent_id = $3 \
  AND holder_id = $4 AND token = $5";

/// A hand-written store in one PostgreSQL schema, its statements prepared
/// once.
pub struct PostgresFloor {
    client: Client,
    append: Statement,
    load: Statement,
    load_tail: Statement,
    acquire: Statement,
    release: Statement,
}

fn err(e: tokio_postgres::Error) -> Error {
    Error::Storage(StorageError::backend_caused("postgres floor", e))
}

impl PostgresFloor {
    /// Connects to the database `url` names (a `postgresql://` URL whose
    /// `?schema=` option names the schema to work in) and creates the tables.
    pub async fn open(url: &str) -> Result<PostgresFloor> {
        let (base, schema) = match url.split_once("?schema=") {
            Some((base, schema)) => (base, Some(schema)),
            None => (url, None),
        };
        let (client, connection) = tokio_postgres::connect(base, NoTls).await.map_err(err)?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!("postgres floor: the connection ended: {e}");
            }
        });
        if let Some(schema) = schema {
            client.batch_execute(&format!("SET search_path TO \"{schema}\"")).await.map_err(err)?;
        }
        client.batch_execute(&create_tables(&TYPES)).await.map_err(err)?;
        Ok(PostgresFloor {
            append: client.prepare(APPEND).await.map_err(err)?,
            load: client.prepare(LOAD).await.map_err(err)?,
            load_tail: client.prepare(LOAD_TAIL).await.map_err(err)?,
            acquire: client.prepare(ACQUIRE).await.map_err(err)?,
            release: client.prepare(RELEASE).await.map_err(err)?,
            client,
        })
    }
}

#[async_trait]
impl Side for PostgresFloor {
    async fn create(&self, session: &str) -> Result<()> {
        let sql =
            "WITH s AS (INSERT INTO sessions VALUES ($1, $2, $4)) INSERT INTO locks VALUES ($1, $2, $3, NULL, 0, 0)";
        self.client.execute(sql, &[&USER, &session, &AGENT, &now_ns()]).await.map_err(err)?;
        Ok(())
    }

    async fn append(&self, session: &str, messages: &[Message]) -> Result<()> {
        let json = stamped(messages).iter().map(encode).collect::<Result<Vec<_>>>()?;
        let touched =
            self.client.execute(&self.append, &[&USER, &session, &AGENT, &json, &now_ns()]).await.map_err(err)?;
        if touched != 1 {
            return Err(Error::NotFound(format!("session {session}")));
        }
        Ok(())
    }

    async fn load(&self, session: &str, last: Option<u32>) -> Result<Vec<Message>> {
        let rows = match last {
            None => self.client.query(&self.load, &[&USER, &session, &AGENT]).await.map_err(err)?,
            Some(n) => {
                self.client.query(&self.load_tail, &[&USER, &session, &AGENT, &i64::from(n)]).await.map_err(err)?
            }
        };
        let mut out = rows.iter().map(|r| decode(r.get::<_, &str>(0))).collect::<Result<Vec<_>>>()?;
        if last.is_some() {
            out.reverse();
        }
        Ok(out)
    }

    async fn lock_cycle(&self, session: &str) -> Result<()> {
        let now = now_ns();
        let row = self
            .client
            .query_opt(&self.acquire, &[&USER, &session, &AGENT, &HOLDER, &(now + 30_000_000_000), &now])
            .await
            .map_err(err)?;
        let Some(row) = row else { return Err(Error::Conflict("floor lock held".into())) };
        let token: i64 = row.get(0);
        if self.client.execute(&self.release, &[&USER, &session, &AGENT, &HOLDER, &token]).await.map_err(err)? != 1 {
            return Err(Error::Conflict("floor lock lost".into()));
        }
        Ok(())
    }
}
