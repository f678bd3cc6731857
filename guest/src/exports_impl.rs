//! The exported interfaces, implemented on [`Component`] by delegating to the
//! modules that own each job.

use crate::Component;
use crate::bindings::exports::nexau::session::history::{self, Action, LoadOptions, Receipt, WriteOptions};
use crate::bindings::exports::nexau::session::locks::{self, AcquireOutcome};
use crate::bindings::exports::nexau::session::records;
use crate::bindings::exports::nexau::session::sessions::{self, Agent, Session, SessionQuery, SessionUpdate};
use crate::bindings::exports::nexau::session::types::{AgentRef, Lease, SessionError};
use crate::bindings::nexau::session::storage::{Filter, Query, RowSet};
use crate::prelude::*;

type Res<T> = Result<T, SessionError>;

impl sessions::Guest for Component {
    fn setup_models() -> Res<()> {
        crate::sessions::setup_models()
    }

    fn get_or_create(user_id: String, session_id: Option<String>) -> Res<Session> {
        crate::sessions::get_or_create(&user_id, session_id.as_deref())
    }

    fn get(user_id: String, session_id: String) -> Res<Option<Session>> {
        crate::sessions::get(&user_id, &session_id)
    }

    fn list_sessions(query: SessionQuery) -> Res<Vec<Session>> {
        crate::sessions::list(query)
    }

    fn update(user_id: String, session_id: String, changes: SessionUpdate, expected: Option<u64>) -> Res<Session> {
        crate::sessions::update(&user_id, &session_id, changes, expected)
    }

    fn delete(user_id: String, session_id: String) -> Res<bool> {
        crate::sessions::delete(&user_id, &session_id)
    }

    fn ensure_agent(user_id: String, session_id: String, agent_id: Option<String>, agent_name: String) -> Res<Agent> {
        crate::agents::ensure_agent(&user_id, &session_id, agent_id.as_deref(), &agent_name)
    }

    fn list_agents(user_id: String, session_id: String) -> Res<Vec<Agent>> {
        crate::agents::list_agents(&user_id, &session_id)
    }
}

impl records::Guest for Component {
    fn tables() -> Vec<String> {
        crate::records::tables()
    }

    fn find(table: String, query: Query) -> Res<RowSet> {
        crate::records::find(&table, query)
    }

    fn count(table: String, filter: Filter) -> Res<u64> {
        crate::records::count(&table, filter)
    }

    fn delete(table: String, filter: Filter) -> Res<u64> {
        crate::records::delete(&table, filter)
    }
}

impl history::Guest for Component {
    fn write(agent: AgentRef, action: Action, options: WriteOptions) -> Res<Receipt> {
        crate::history::write::write(&agent, action, options)
    }

    fn load(agent: AgentRef, options: LoadOptions) -> Res<String> {
        crate::history::load::load(&agent, options)
    }
}

impl locks::Guest for Component {
    fn acquire(agent: AgentRef, holder_id: String, run_id: Option<String>, ttl_ms: u64) -> Res<AcquireOutcome> {
        crate::locks::acquire(&agent, &holder_id, run_id.as_deref(), ttl_ms)
    }

    fn renew(agent: AgentRef, holder_id: String, token: u64, ttl_ms: u64) -> Res<Lease> {
        crate::locks::renew(&agent, &holder_id, token, ttl_ms)
    }

    fn release(agent: AgentRef, holder_id: String, token: u64) -> Res<()> {
        crate::locks::release(&agent, &holder_id, token)
    }

    fn show(agent: AgentRef) -> Res<Option<Lease>> {
        crate::locks::show(&agent)
    }

    fn list_session_locks(user_id: String, session_id: String) -> Res<Vec<(String, Lease)>> {
        crate::locks::list(&user_id, &session_id)
    }
}
