//! The memory floor: a map keyed by agent, holding its messages and its lock.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::super::side::{AGENT, HOLDER, Side, USER, stamped};
use super::now_ns;
use crate::{Error, Message, Result};

/// One agent's state.
#[derive(Default)]
struct AgentState {
    messages: Vec<Message>,
    updated_at_ns: i64,
    holder: Option<String>,
    token: u64,
    expires_at_ns: i64,
}

/// Conversations in a map keyed by (user, session, agent).
#[derive(Default)]
pub struct MemoryFloor {
    agents: Mutex<HashMap<(String, String, String), AgentState>>,
}

fn key(session: &str) -> (String, String, String) {
    (USER.to_owned(), session.to_owned(), AGENT.to_owned())
}

impl MemoryFloor {
    fn with<T>(&self, session: &str, f: impl FnOnce(&mut AgentState) -> Result<T>) -> Result<T> {
        let mut agents = self.agents.lock().unwrap_or_else(|p| p.into_inner());
        let state = agents.get_mut(&key(session)).ok_or_else(|| Error::NotFound(format!("session {session}")))?;
        f(state)
    }
}

#[async_trait]
impl Side for MemoryFloor {
    async fn create(&self, session: &str) -> Result<()> {
        self.agents.lock().unwrap_or_else(|p| p.into_inner()).entry(key(session)).or_default();
        Ok(())
    }

    async fn append(&self, session: &str, messages: &[Message]) -> Result<()> {
        let messages = stamped(messages);
        self.with(session, |a| {
            a.messages.extend(messages);
            a.updated_at_ns = now_ns();
            Ok(())
        })
    }

    async fn load(&self, session: &str, last: Option<u32>) -> Result<Vec<Message>> {
        self.with(session, |a| {
            let from = last.map_or(0, |n| a.messages.len().saturating_sub(n as usize));
            Ok(a.messages[from..].to_vec())
        })
    }

    async fn lock_cycle(&self, session: &str) -> Result<()> {
        let now = now_ns();
        let token = self.with(session, |a| {
            if a.holder.is_some() && a.expires_at_ns > now {
                return Err(Error::Conflict("floor lock held".into()));
            }
            a.holder = Some(HOLDER.to_owned());
            a.token += 1;
            a.expires_at_ns = now + 30_000_000_000;
            Ok(a.token)
        })?;
        self.with(session, |a| {
            if a.holder.as_deref() != Some(HOLDER) || a.token != token {
                return Err(Error::Conflict("floor lock lost".into()));
            }
            a.holder = None;
            Ok(())
        })
    }
}
