//! The guest side: every operation through [`Engine`], that is through the
//! session-logic component.

use async_trait::async_trait;

use super::side::{AGENT, HOLDER, Side, USER};
use crate::{AcquireOutcome, AgentRef, Engine, Error, Message, Result, WriteOptions};

/// The component on one store.
pub struct GuestSide {
    pub(super) engine: Engine,
}

fn agent(session: &str) -> AgentRef {
    AgentRef::new(USER, session, AGENT)
}

#[async_trait]
impl Side for GuestSide {
    async fn create(&self, session: &str) -> Result<()> {
        self.engine.get_or_create_session(USER, Some(session)).await?;
        self.engine.ensure_agent(USER, session, Some(AGENT), AGENT).await?;
        Ok(())
    }

    async fn append(&self, session: &str, messages: &[Message]) -> Result<()> {
        self.engine.append(&agent(session), messages, &WriteOptions::default()).await.map(drop)
    }

    async fn load(&self, session: &str, last: Option<u32>) -> Result<Vec<Message>> {
        self.engine.load(&agent(session), last).await
    }

    async fn lock_cycle(&self, session: &str) -> Result<()> {
        let agent = agent(session);
        let ttl = std::time::Duration::from_secs(30);
        match self.engine.try_acquire_lock(&agent, HOLDER, None, ttl).await? {
            AcquireOutcome::Acquired(lease) => self.engine.release_lock(&agent, HOLDER, lease.token).await,
            AcquireOutcome::Held(h) => Err(Error::LockHeld(h)),
        }
    }
}
