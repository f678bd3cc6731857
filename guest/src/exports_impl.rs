//! The exported interfaces, implemented on [`Component`] by delegating to the
//! modules that own each job.

use crate::Component;
use crate::bindings::exports::nexau::session::history::{
    self, Action, LoadOptions, Page, PageStart, Receipt, WriteOptions,
};
use crate::bindings::exports::nexau::session::locks::{self, AcquireOutcome};
use crate::bindings::exports::nexau::session::sessions::{self, Agent, Session, SessionQuery, SessionUpdate};
use crate::bindings::exports::nexau::session::types::{AgentRef, Lease, SessionError};
use crate::error::SessionError as Error;
use crate::prelude::*;

type Res<T> = Result<T, SessionError>;

/// An internal result in its WIT form.
fn out<T>(r: Result<T, Error>) -> Res<T> {
    r.map_err(Error::into_wit)
}

impl sessions::Guest for Component {
    fn setup_models() -> Res<()> {
        out(crate::sessions::setup_models())
    }

    fn get_or_create(user_id: String, session_id: Option<String>) -> Res<Session> {
        out(crate::sessions::get_or_create(&user_id, session_id.as_deref()))
    }

    fn get(user_id: String, session_id: String) -> Res<Option<Session>> {
        out(crate::sessions::get(&user_id, &session_id))
    }

    fn list_sessions(query: SessionQuery) -> Res<Vec<Session>> {
        out(crate::sessions::list(query))
    }

    fn update(user_id: String, session_id: String, changes: SessionUpdate, expected: Option<u64>) -> Res<Session> {
        out(crate::sessions::update(&user_id, &session_id, changes, expected))
    }

    fn delete(user_id: String, session_id: String) -> Res<bool> {
        out(crate::sessions::delete(&user_id, &session_id, None))
    }

    fn delete_if_unchanged(user_id: String, session_id: String, updated_at: String) -> Res<bool> {
        out(crate::sessions::delete(&user_id, &session_id, Some(updated_at)))
    }

    fn ensure_agent(user_id: String, session_id: String, agent_id: Option<String>, agent_name: String) -> Res<Agent> {
        out(crate::agents::ensure_agent(&user_id, &session_id, agent_id.as_deref(), &agent_name))
    }

    fn list_agents(user_id: String, session_id: String) -> Res<Vec<Agent>> {
        out(crate::agents::list_agents(&user_id, &session_id))
    }
}

impl history::Guest for Component {
    fn write(agent: AgentRef, action: Action, options: WriteOptions) -> Res<Receipt> {
        out(crate::history::write::write(&agent, action, options))
    }

    fn load(agent: AgentRef, options: LoadOptions) -> Res<String> {
        out(crate::history::load::load(&agent, options))
    }

    fn load_page(agent: AgentRef, start: PageStart, max_bytes: u32) -> Res<Page> {
        out(crate::history::load::load_page(&agent, start, max_bytes))
    }
}

impl locks::Guest for Component {
    fn acquire(agent: AgentRef, holder_id: String, run_id: Option<String>, ttl_ms: u64) -> Res<AcquireOutcome> {
        out(crate::locks::acquire(&agent, &holder_id, run_id.as_deref(), ttl_ms))
    }

    fn renew(agent: AgentRef, holder_id: String, token: u64, ttl_ms: u64) -> Res<Lease> {
        out(crate::locks::renew(&agent, &holder_id, token, ttl_ms))
    }

    fn release(agent: AgentRef, holder_id: String, token: u64) -> Res<()> {
        out(crate::locks::release(&agent, &holder_id, token))
    }

    fn show(agent: AgentRef) -> Res<Option<Lease>> {
        out(crate::locks::show(&agent))
    }

    fn list_session_locks(user_id: String, session_id: String) -> Res<Vec<(String, Lease)>> {
        out(crate::locks::list(&user_id, &session_id))
    }
}
