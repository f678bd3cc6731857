//! Maps the guest's WIT types to the Rust API's types.

use crate::runtime::bindings::exports::nexau::session::{history, sessions, types};
use crate::{AgentInfo, AgentRef, Error, Lease, LockHolder, Receipt, Session};

/// A WIT session error → [`Error`].
pub(crate) fn error(e: types::SessionError) -> Error {
    use types::SessionError as E;
    match e {
        E::Invalid(m) => Error::Invalid(m),
        E::NotFound(m) => Error::NotFound(m),
        E::TableNotFound(t) => Error::TableNotFound(t),
        E::LockHeld(l) => Error::LockHeld(LockHolder {
            holder_id: l.holder_id.unwrap_or_default(),
            run_id: l.run_id,
            token: l.token,
            expires_at_ns: l.expires_at_ns,
        }),
        E::LockExpired(m) => Error::LockExpired(m),
        E::VersionConflict(current) => Error::VersionConflict { current },
        E::Conflict(m) => Error::Conflict(m),
        E::Backend(m) => Error::Storage(m),
    }
}

pub(crate) fn agent_ref(a: &AgentRef) -> types::AgentRef {
    types::AgentRef { user_id: a.user_id.clone(), session_id: a.session_id.clone(), agent_id: a.agent_id.clone() }
}

fn json(text: &str, what: &str) -> Result<serde_json::Value, Error> {
    serde_json::from_str(text).map_err(|e| Error::Storage(format!("stored {what} is not JSON: {e}")))
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
