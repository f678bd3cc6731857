//! Maintenance over the session logic's tables, as in NexAU (the Python implementation):
//! `engine.find_many::<SessionModel>(filter)`, `engine.delete::<SessionModel>(filter)`.
//! Served by the host's checked store: table and column names are checked
//! against the schemas the session logic declared, and every call is bound to
//! the engine's scope. Deleting sessions goes through the session logic, so
//! their agents, history and locks go with them, one session per atomic batch.

use serde::Serialize;

use super::Engine;
use crate::storage::{Filter, Query, StorageError, Value};
use crate::{Error, Result};

/// A row type of one of the session logic's tables.
pub trait Record: Sized {
    /// The table name.
    const TABLE: &'static str;

    /// Builds the record from one row of `find`.
    fn from_row(row: &RowReader<'_>) -> Result<Self>;
}

/// Reads typed cells from one row.
pub struct RowReader<'a> {
    columns: &'a [String],
    values: &'a [Value],
    table: &'static str,
}

impl RowReader<'_> {
    fn get(&self, column: &str) -> Result<&Value> {
        self.columns
            .iter()
            .position(|c| c == column)
            .and_then(|i| self.values.get(i))
            .ok_or_else(|| Error::Storage(StorageError::backend(format!("{}: column {column} is missing", self.table))))
    }

    fn wrong(&self, column: &str, v: &Value) -> Error {
        Error::Storage(StorageError::backend(format!("{}: column {column} holds an unexpected {v:?}", self.table)))
    }

    /// A non-null text, JSON or timestamp cell.
    pub fn text(&self, column: &str) -> Result<String> {
        let v = self.get(column)?;
        v.as_str().map(str::to_owned).ok_or_else(|| self.wrong(column, v))
    }

    /// A nullable text cell.
    pub fn opt_text(&self, column: &str) -> Result<Option<String>> {
        match self.get(column)? {
            Value::Null => Ok(None),
            _ => self.text(column).map(Some),
        }
    }

    /// A non-null integer cell.
    pub fn int(&self, column: &str) -> Result<i64> {
        let v = self.get(column)?;
        v.as_i64().ok_or_else(|| self.wrong(column, v))
    }

    /// A nullable JSON cell.
    pub fn json(&self, column: &str) -> Result<Option<serde_json::Value>> {
        match self.opt_text(column)? {
            None => Ok(None),
            Some(t) => serde_json::from_str(&t).map(Some).map_err(|e| {
                Error::Storage(StorageError::backend_caused(format!("{}: column {column} is not JSON", self.table), e))
            }),
        }
    }
}

/// A row of `sessions`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionModel {
    /// The user.
    pub user_id: String,
    /// The session.
    pub session_id: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
    /// JSON object.
    pub context: serde_json::Value,
    /// JSON object.
    pub storage: serde_json::Value,
    /// JSON.
    pub sandbox_state: Option<serde_json::Value>,
    /// The root agent.
    pub root_agent_id: Option<String>,
    /// Tool calls awaiting results (JSON), as NexAU keeps them.
    pub pending_tool_calls: Option<serde_json::Value>,
    /// Update counter.
    pub version: i64,
}

impl Record for SessionModel {
    const TABLE: &'static str = "sessions";

    fn from_row(r: &RowReader<'_>) -> Result<Self> {
        Ok(SessionModel {
            user_id: r.text("user_id")?,
            session_id: r.text("session_id")?,
            created_at: r.text("created_at")?,
            updated_at: r.text("updated_at")?,
            context: r.json("context")?.unwrap_or_default(),
            storage: r.json("storage")?.unwrap_or_default(),
            sandbox_state: r.json("sandbox_state")?,
            root_agent_id: r.opt_text("root_agent_id")?,
            pending_tool_calls: r.json("pending_tool_calls")?,
            version: r.int("version")?,
        })
    }
}

/// A row of `agents`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentModel {
    /// The user.
    pub user_id: String,
    /// The session.
    pub session_id: String,
    /// The agent.
    pub agent_id: String,
    /// Display name.
    pub agent_name: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub last_updated: String,
}

impl Record for AgentModel {
    const TABLE: &'static str = "agents";

    fn from_row(r: &RowReader<'_>) -> Result<Self> {
        Ok(AgentModel {
            user_id: r.text("user_id")?,
            session_id: r.text("session_id")?,
            agent_id: r.text("agent_id")?,
            agent_name: r.text("agent_name")?,
            created_at: r.text("created_at")?,
            last_updated: r.text("last_updated")?,
        })
    }
}

/// A row of `agent_locks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentLockModel {
    /// The user.
    pub user_id: String,
    /// The session.
    pub session_id: String,
    /// The agent.
    pub agent_id: String,
    /// The holder, `None` when released.
    pub holder_id: Option<String>,
    /// The holder's run.
    pub run_id: Option<String>,
    /// The fencing token.
    pub token: i64,
    /// ns since the epoch.
    pub acquired_at_ns: i64,
    /// ns since the epoch.
    pub expires_at_ns: i64,
}

impl Record for AgentLockModel {
    const TABLE: &'static str = "agent_locks";

    fn from_row(r: &RowReader<'_>) -> Result<Self> {
        Ok(AgentLockModel {
            user_id: r.text("user_id")?,
            session_id: r.text("session_id")?,
            agent_id: r.text("agent_id")?,
            holder_id: r.opt_text("holder_id")?,
            run_id: r.opt_text("run_id")?,
            token: r.int("token")?,
            acquired_at_ns: r.int("acquired_at_ns")?,
            expires_at_ns: r.int("expires_at_ns")?,
        })
    }
}

/// A row of `agent_run_actions`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentRunActionModel {
    /// `act_{ULID}`.
    pub action_id: String,
    /// The user.
    pub user_id: String,
    /// The session.
    pub session_id: String,
    /// The agent.
    pub agent_id: String,
    /// Per-agent sequence number.
    pub seq: i64,
    /// The run.
    pub run_id: Option<String>,
    /// `append`, `replace`, `undo`, `run_start` or `run_end`.
    pub action_type: String,
    /// RFC 3339.
    pub created_at: String,
    /// Messages of an `append`.
    pub append_messages: Option<serde_json::Value>,
    /// Messages of a `replace`.
    pub replace_messages: Option<serde_json::Value>,
    /// The run an `undo` rewinds to before.
    pub undo_before_run_id: Option<String>,
    /// The write's idempotency key.
    pub idempotency_key: Option<String>,
    /// Extra data (a run's end status).
    pub extra: Option<serde_json::Value>,
}

impl Record for AgentRunActionModel {
    const TABLE: &'static str = "agent_run_actions";

    fn from_row(r: &RowReader<'_>) -> Result<Self> {
        Ok(AgentRunActionModel {
            action_id: r.text("action_id")?,
            user_id: r.text("user_id")?,
            session_id: r.text("session_id")?,
            agent_id: r.text("agent_id")?,
            seq: r.int("seq")?,
            run_id: r.opt_text("run_id")?,
            action_type: r.text("action_type")?,
            created_at: r.text("created_at")?,
            append_messages: r.json("append_messages")?,
            replace_messages: r.json("replace_messages")?,
            undo_before_run_id: r.opt_text("undo_before_run_id")?,
            idempotency_key: r.opt_text("idempotency_key")?,
            extra: r.json("extra")?,
        })
    }
}

impl Engine {
    /// Rows of `R`'s table matching `query`.
    pub async fn find<R: Record>(&self, query: &Query) -> Result<Vec<R>> {
        let rows = self.store.find(R::TABLE, query).await?;
        rows.rows
            .iter()
            .map(|values| R::from_row(&RowReader { columns: &rows.columns, values, table: R::TABLE }))
            .collect()
    }

    /// Rows of `R`'s table matching `filter`.
    ///
    /// ```no_run
    /// # async fn demo(engine: nexau_session::Engine) -> nexau_session::Result<()> {
    /// use nexau_session::{SessionModel, storage::Filter};
    /// let old = engine.find_many::<SessionModel>(Filter::lt("updated_at", "2026-01-01T00:00:00Z")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn find_many<R: Record>(&self, filter: Filter) -> Result<Vec<R>> {
        self.find(&Query::filter(filter)).await
    }

    /// How many rows of `R`'s table match `filter`.
    pub async fn count<R: Record>(&self, filter: Filter) -> Result<u64> {
        Ok(self.store.count(R::TABLE, &filter).await?)
    }

    /// Deletes the rows of `R`'s table matching `filter` and returns how many.
    /// Sessions are deleted with everything that belongs to them, each only
    /// if it is unchanged since it was found to match: a session written to
    /// meanwhile (an append, say) is kept with what was written.
    pub async fn delete<R: Record>(&self, filter: Filter) -> Result<u64> {
        if R::TABLE != SessionModel::TABLE {
            return Ok(self.store.delete(R::TABLE, filter).await?);
        }
        let keys = Query { filter, ..Query::default() };
        let matching = self.store.find(SessionModel::TABLE, &keys).await?;
        let columns = ["user_id", "session_id", "updated_at"].map(|c| matching.position(c));
        let [Some(user), Some(session), Some(updated)] = columns else {
            return Err(Error::Storage(StorageError::backend("sessions rows lack their key columns")));
        };
        let mut deleted = 0;
        for row in &matching.rows {
            if let (Some(u), Some(s), Some(at)) = (row[user].as_str(), row[session].as_str(), row[updated].as_str())
                && self.delete_session_if_unchanged(u, s, at).await?
            {
                deleted += 1;
            }
        }
        Ok(deleted)
    }
}
