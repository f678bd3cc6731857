//! Agents within a session: the root agent and sub-agents, each with its own history.

pub use crate::bindings::exports::nexau::session::sessions::Agent;
use crate::bindings::exports::nexau::session::types::AgentRef;
use crate::clock::{now_ns, rfc3339_micros};
use crate::error::{MAX_ATTEMPTS, Res, SessionError, from_storage, invalid, not_found, too_many_conflicts};
use crate::ids;
use crate::prelude::*;
use crate::schema::{AGENT_COLUMNS, AGENTS, SESSIONS};
use crate::sessions::{find_session, session_not_found};
use crate::store::{
    self, Found, InsertOp, Row, RowSet, StorageError, UpdateOp, WriteOp, agent_key, asc, first, int, new_row, rows,
    session_key, set, text, timestamp, uint,
};

/// Longest accepted agent name, in bytes.
const MAX_NAME_LEN: usize = 1024;

/// Checks the three ids of an agent reference.
pub fn check_ref(agent: &AgentRef) -> Res<()> {
    ids::check("user_id", &agent.user_id)?;
    ids::check("session_id", &agent.session_id)?;
    ids::check("agent_id", &agent.agent_id)
}

/// The `not-found` error of a missing agent.
pub fn agent_not_found(session_id: &str, agent_id: &str) -> SessionError {
    not_found(cat(&["agent ", agent_id, " of session ", session_id, " not found"]))
}

/// Reads the agent's row (ids already checked).
pub fn find_row(user_id: &str, session_id: &str, agent_id: &str) -> Res<Found> {
    let q = agent_key(user_id, session_id, agent_id);
    store::select(AGENTS, q, "", Some(1), &[])
}

fn agent_from_row(r: Row<'_>, root: Option<&str>) -> Agent {
    let agent_id = r.string("agent_id");
    Agent {
        user_id: r.string("user_id"),
        session_id: r.string("session_id"),
        is_root: root == Some(agent_id.as_str()),
        agent_id,
        agent_name: r.string("agent_name"),
        created_at: r.string("created_at"),
        last_updated: r.string("last_updated"),
    }
}

fn agent_row(user_id: &str, session_id: &str, agent_id: &str, name: &str, now: i64) -> RowSet {
    new_row(
        &AGENT_COLUMNS,
        vec![
            text(user_id),
            text(session_id),
            text(agent_id),
            text(name),
            timestamp(now),
            timestamp(now),
            uint(1),
            int(0),
            int(0),
            int(0),
        ],
    )
}

fn new_agent(user_id: &str, session_id: &str, agent_id: String, name: &str, now: i64, is_root: bool) -> Agent {
    let ts = rfc3339_micros(now);
    Agent {
        user_id: user_id.to_owned(),
        session_id: session_id.to_owned(),
        agent_id,
        agent_name: name.to_owned(),
        created_at: ts.clone(),
        last_updated: ts,
        is_root,
    }
}

/// Returns the agent row, inserting it when absent.
fn get_or_insert(user_id: &str, session_id: &str, agent_id: &str, name: &str, root: Option<&str>) -> Res<Agent> {
    for _ in 0..MAX_ATTEMPTS {
        let found = find_row(user_id, session_id, agent_id)?;
        if let Some(r) = first(&found) {
            return Ok(agent_from_row(r, root));
        }
        let now = now_ns();
        match store::insert(AGENTS, agent_row(user_id, session_id, agent_id, name, now)) {
            Ok(_) => return Ok(new_agent(user_id, session_id, agent_id.to_owned(), name, now, root == Some(agent_id))),
            Err(StorageError::DuplicateKey(_)) => continue,
            Err(e) => return Err(from_storage(e)),
        }
    }
    Err(too_many_conflicts("ensure-agent"))
}

/// Returns the agent, creating it when absent; `None` is the session's root agent.
pub fn ensure_agent(user_id: &str, session_id: &str, agent_id: Option<&str>, name: &str) -> Res<Agent> {
    ids::check("user_id", user_id)?;
    ids::check("session_id", session_id)?;
    ids::check_opt("agent_id", agent_id)?;
    if name.len() > MAX_NAME_LEN {
        return Err(invalid("agent_name: at most 1024 bytes"));
    }
    for _ in 0..MAX_ATTEMPTS {
        let session = find_session(user_id, session_id)?.ok_or_else(|| session_not_found(user_id, session_id))?;
        let root = session.root_agent_id.as_deref();
        if let Some(a) = agent_id.or(root) {
            return get_or_insert(user_id, session_id, a, name, root);
        }
        // No root yet: claim it and create its row in one batch.
        let a = ids::new_agent_id();
        let now = now_ns();
        let claim = UpdateOp {
            table: SESSIONS.into(),
            filter: session_key(user_id, session_id).null("root_agent_id").build(),
            set: set(vec![("root_agent_id", text(&a))]),
            expect: Some(1),
        };
        let insert = InsertOp { table: AGENTS.into(), rows: agent_row(user_id, session_id, &a, name, now) };
        match store::apply(&[WriteOp::Update(claim), WriteOp::Insert(insert)]) {
            Ok(_) => return Ok(new_agent(user_id, session_id, a, name, now, true)),
            // Someone else claimed the root (or the session went away): read again.
            Err(StorageError::Conflict(_) | StorageError::DuplicateKey(_)) => continue,
            Err(e) => return Err(from_storage(e)),
        }
    }
    Err(too_many_conflicts("ensure-agent"))
}

/// The agents of a session, oldest first.
pub fn list_agents(user_id: &str, session_id: &str) -> Res<Vec<Agent>> {
    ids::check("user_id", user_id)?;
    ids::check("session_id", session_id)?;
    let session = find_session(user_id, session_id)?;
    let root = session.as_ref().and_then(|s| s.root_agent_id.as_deref());
    let q = store::query(session_key(user_id, session_id).build(), vec![asc("created_at"), asc("agent_id")], None);
    let rs = store::rows_of(AGENTS, &q)?;
    Ok(rows(&rs).map(|r| agent_from_row(r, root)).collect())
}
