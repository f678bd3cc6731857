//! Maps the guest's WIT types to the Rust API's types.

use crate::runtime::bindings::exports::nexau::session::{history, sessions, types};
use nexau_session_storage::StorageError;

use crate::{AgentInfo, AgentRef, Error, Lease, Receipt, Session};

/// A WIT session error → [`Error`]. (The guest never reports a held lock
/// as an error: `acquire` answers `held`, which the engine maps itself.)
pub(crate) fn error(e: types::SessionError) -> Error {
    use types::ErrorKind as K;
    let m = e.message;
    match e.kind {
        K::Invalid => Error::Invalid(m),
        K::NotFound => Error::NotFound(m),
        K::TableNotFound => Error::TableNotFound(m),
        K::LockExpired => Error::LockExpired(m),
        K::VersionConflict => Error::VersionConflict { current: e.current_version },
        K::Conflict => Error::Conflict(m),
        K::Backend => Error::Storage(StorageError::backend(m)),
    }
}

pub(crate) fn agent_ref(a: &AgentRef) -> types::AgentRef {
    types::AgentRef { user_id: a.user_id.clone(), session_id: a.session_id.clone(), agent_id: a.agent_id.clone() }
}

fn json(text: &str, what: &str) -> Result<serde_json::Value, Error> {
    serde_json::from_str(text)
        .map_err(|e| Error::Storage(StorageError::backend_caused(format!("stored {what} is not JSON"), e)))
}

pub(crate) fn session(s: sessions::Session) -> Result<Session, Error> {
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

pub(crate) fn agent(a: sessions::Agent) -> AgentInfo {
    AgentInfo {
        user_id: a.user_id,
        session_id: a.session_id,
        agent_id: a.agent_id,
        agent_name: a.agent_name,
        created_at: a.created_at,
        last_updated: a.last_updated,
        is_root: a.is_root,
    }
}

pub(crate) fn lease(l: types::Lease) -> Lease {
    Lease {
        holder_id: l.holder_id,
        run_id: l.run_id,
        token: l.token,
        acquired_at_ns: l.acquired_at_ns,
        expires_at_ns: l.expires_at_ns,
    }
}

pub(crate) fn receipt(r: history::Receipt) -> Receipt {
    Receipt { action_id: r.action_id, seq: r.seq, stored: r.stored }
}
