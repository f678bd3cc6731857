//! Sessions, agents and leases as the Rust API returns them.

use serde::Serialize;

use crate::storage::{Filter, Order};

/// Identifies one agent of one session: the unit that has a history and a lock.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct AgentRef {
    /// The user.
    pub user_id: String,
    /// The session.
    pub session_id: String,
    /// The agent.
    pub agent_id: String,
}

impl AgentRef {
    /// An agent reference.
    pub fn new(user_id: impl Into<String>, session_id: impl Into<String>, agent_id: impl Into<String>) -> AgentRef {
        AgentRef { user_id: user_id.into(), session_id: session_id.into(), agent_id: agent_id.into() }
    }
}

impl std::fmt::Display for AgentRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.user_id, self.session_id, self.agent_id)
    }
}

/// A session: the state of one conversation of one user.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    /// The user.
    pub user_id: String,
    /// The session (`sess_{ULID}` when generated).
    pub session_id: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; moves with every history write.
    pub updated_at: String,
    /// Free-form context (a JSON object).
    pub context: serde_json::Value,
    /// The session's shared key/value store (a JSON object).
    pub storage: serde_json::Value,
    /// Sandbox state, when set.
    pub sandbox_state: Option<serde_json::Value>,
    /// The root agent, once created.
    pub root_agent_id: Option<String>,
    /// Grows with every update; see [`SessionUpdate`].
    pub version: u64,
}

/// A partial update of a session; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionUpdate {
    /// New context (a JSON object).
    pub context: Option<serde_json::Value>,
    /// New key/value store (a JSON object).
    pub storage: Option<serde_json::Value>,
    /// New sandbox state.
    pub sandbox_state: Option<serde_json::Value>,
}

/// An agent within a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentInfo {
    /// The user.
    pub user_id: String,
    /// The session.
    pub session_id: String,
    /// The agent (`agent_{8 hex}` when generated).
    pub agent_id: String,
    /// A display name.
    pub agent_name: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub last_updated: String,
    /// Whether this is the session's root agent.
    pub is_root: bool,
}

impl AgentInfo {
    /// The reference to this agent.
    pub fn agent_ref(&self) -> AgentRef {
        AgentRef::new(&self.user_id, &self.session_id, &self.agent_id)
    }
}

/// Which sessions to list.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionQuery {
    /// Only this user's sessions.
    pub user_id: Option<String>,
    /// Over the `sessions` columns.
    pub filter: Filter,
    /// Sort keys (default: `created_at`, `session_id`).
    pub order_by: Vec<Order>,
    /// At most this many.
    pub limit: Option<u32>,
    /// Skip this many first.
    pub offset: Option<u32>,
}

impl Default for SessionQuery {
    fn default() -> Self {
        SessionQuery { user_id: None, filter: Filter::All, order_by: Vec::new(), limit: None, offset: None }
    }
}

/// The state of one lock row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lease {
    /// The holder, `None` when released.
    pub holder_id: Option<String>,
    /// The holder's run.
    pub run_id: Option<String>,
    /// The fencing token of the latest acquisition.
    pub token: u64,
    /// When it was acquired (ns since the epoch).
    pub acquired_at_ns: i64,
    /// When it runs out unless renewed (ns since the epoch).
    pub expires_at_ns: i64,
}

impl Lease {
    /// Whether someone holds it at `now_ns`.
    pub fn is_held_at(&self, now_ns: i64) -> bool {
        self.holder_id.is_some() && self.expires_at_ns > now_ns
    }
}

/// What a history write stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receipt {
    /// `act_{ULID}`.
    pub action_id: String,
    /// The action's per-agent sequence number.
    pub seq: u64,
    /// False when an earlier write with the same idempotency key was found instead.
    pub stored: bool,
}
