//! The imported session logic and store: bindings, the session logic's
//! errors as [`Failure`]s, and the rows it returns as the native CLI
//! prints them.

use serde::Serialize;

use crate::failure::Failure;

/// Bindings generated for the `command` world.
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: ["../wit", "../wasi-storage/wit", "wit"],
        world: "nexau:session-command/command",
        generate_all,
    });
}

pub use bindings::nexau::session::types::AgentRef;
pub use bindings::nexau::session::types::ErrorKind;
use bindings::nexau::session::types::SessionError;
pub use bindings::nexau::session::{history, locks, sessions};
use bindings::nexau::session_wasi::store::{self, StoreError};

/// A session-logic error as the native CLI reports it.
pub fn failure(e: SessionError) -> Failure {
    let m = e.message;
    match e.kind {
        ErrorKind::Invalid => Failure::Invalid(m),
        ErrorKind::NotFound => Failure::NotFound(m),
        ErrorKind::TableNotFound => Failure::TableNotFound(m),
        ErrorKind::LockExpired => Failure::LockExpired(m),
        ErrorKind::VersionConflict => Failure::VersionConflict(e.current_version),
        ErrorKind::Conflict => Failure::Conflict(m),
        ErrorKind::Backend => Failure::Storage(m),
    }
}

/// A store error: bad input, or the storage failing.
pub fn store_failure(e: StoreError) -> Failure {
    match e {
        StoreError::Invalid(m) => Failure::Invalid(m),
        StoreError::Backend(m) => Failure::Storage(m),
    }
}

/// Opens the store `db` names and sets up the session logic's tables (as
/// the native CLI does before every command).
pub fn open(db: &str) -> Result<(), Failure> {
    store::open(db).map_err(store_failure)?;
    sessions::setup_models().map_err(failure)
}

/// `--filter`s (ANDed) and `--order-by`s of `sessions list`, parsed against
/// the `sessions` table; the sort keys made total as the native CLI makes them.
pub fn session_listing(filters: &[String], order_by: &[String]) -> Result<store::SessionListing, Failure> {
    store::parse_session_listing(filters, order_by).map_err(store_failure)
}

/// A session as the native CLI prints it (`context`, `storage` and
/// `sandbox_state` as JSON, not text).
#[derive(Debug, Serialize)]
pub struct Session {
    pub user_id: String,
    pub session_id: String,
    pub created_at: String,
    pub updated_at: String,
    pub context: serde_json::Value,
    pub storage: serde_json::Value,
    pub sandbox_state: Option<serde_json::Value>,
    pub root_agent_id: Option<String>,
    pub version: u64,
}

fn json(text: &str, what: &str) -> Result<serde_json::Value, Failure> {
    serde_json::from_str(text).map_err(|e| Failure::Storage(format!("stored {what} is not JSON: {e}")))
}

impl Session {
    /// From the session logic's record.
    pub fn from_wit(s: sessions::Session) -> Result<Session, Failure> {
        Ok(Session {
            context: json(&s.context, "context")?,
            storage: json(&s.storage, "storage")?,
            sandbox_state: s.sandbox_state.as_deref().map(|t| json(t, "sandbox_state")).transpose()?,
            user_id: s.user_id,
            session_id: s.session_id,
            created_at: s.created_at,
            updated_at: s.updated_at,
            root_agent_id: s.root_agent_id,
            version: s.version,
        })
    }
}

/// An agent as the native CLI prints it.
#[derive(Debug, Serialize)]
pub struct Agent {
    pub user_id: String,
    pub session_id: String,
    pub agent_id: String,
    pub agent_name: String,
    pub created_at: String,
    pub last_updated: String,
    pub is_root: bool,
}

impl From<sessions::Agent> for Agent {
    fn from(a: sessions::Agent) -> Agent {
        Agent {
            user_id: a.user_id,
            session_id: a.session_id,
            agent_id: a.agent_id,
            agent_name: a.agent_name,
            created_at: a.created_at,
            last_updated: a.last_updated,
            is_root: a.is_root,
        }
    }
}

/// A lock row as the native CLI prints it.
#[derive(Debug, Serialize)]
pub struct Lease {
    pub holder_id: Option<String>,
    pub run_id: Option<String>,
    pub token: u64,
    pub acquired_at_ns: i64,
    pub expires_at_ns: i64,
}

impl Lease {
    /// From the session logic's record.
    pub fn from_wit(l: bindings::nexau::session::types::Lease) -> Lease {
        Lease {
            holder_id: l.holder_id,
            run_id: l.run_id,
            token: l.token,
            acquired_at_ns: l.acquired_at_ns,
            expires_at_ns: l.expires_at_ns,
        }
    }

    /// Whether someone holds it at `now_ns`.
    pub fn is_held_at(&self, now_ns: i64) -> bool {
        self.holder_id.is_some() && self.expires_at_ns > now_ns
    }
}

/// The session's locks, by agent.
pub fn session_locks(user: &str, session: &str) -> Result<Vec<(String, Lease)>, Failure> {
    let locks = locks::list_session_locks(user, session).map_err(failure)?;
    Ok(locks.into_iter().map(|(agent, l)| (agent, Lease::from_wit(l))).collect())
}
