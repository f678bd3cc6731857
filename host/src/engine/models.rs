//! The row types of the session logic's tables, as NexAU (the Python
//! implementation) names them: `SessionModel`, `AgentModel`,
//! `AgentLockModel`, `AgentRunActionModel`.

use nexau_session_tables as tables;
use serde::Serialize;

use super::records::{DeleteRule, Record, RowReader};
use crate::Result;

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
    const TABLE: &'static str = tables::SESSIONS;
    const DELETE: DeleteRule = DeleteRule::SessionWithEverything;

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

/// The session as the Rust API shows it (without `pending_tool_calls`).
impl TryFrom<SessionModel> for crate::Session {
    type Error = crate::Error;

    fn try_from(m: SessionModel) -> Result<Self> {
        let version = u64::try_from(m.version).map_err(|_| {
            crate::Error::Storage(crate::storage::StorageError::backend(format!(
                "sessions: {}/{} has a negative version {}",
                m.user_id, m.session_id, m.version
            )))
        })?;
        Ok(crate::Session {
            user_id: m.user_id,
            session_id: m.session_id,
            created_at: m.created_at,
            updated_at: m.updated_at,
            context: m.context,
            storage: m.storage,
            sandbox_state: m.sandbox_state,
            root_agent_id: m.root_agent_id,
            version,
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
    const TABLE: &'static str = tables::AGENTS;
    const DELETE: DeleteRule = DeleteRule::AgentWithHistory;

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
    const TABLE: &'static str = tables::AGENT_LOCKS;
    const DELETE: DeleteRule = DeleteRule::RowsAlone;

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
    const TABLE: &'static str = tables::ACTIONS;
    const DELETE: DeleteRule = DeleteRule::Refused(
        "history rows are deleted with their agent or session; to shorten a history, write a replace",
    );

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
