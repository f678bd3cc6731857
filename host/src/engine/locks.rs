//! The lock calls, one step each; waiting and heartbeats live in
//! [`SessionManager`](crate::SessionManager).

use std::time::Duration;

use super::{Engine, wit_map};
use crate::runtime::bindings::exports::nexau::session::locks as wit;
use crate::{AgentRef, Error, Lease, LockHolder, Result};

/// What one acquisition attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcquireOutcome {
    /// The caller holds the lock now.
    Acquired(Lease),
    /// Someone else holds it.
    Held(LockHolder),
}

fn ttl_ms(ttl: Duration) -> Result<u64> {
    let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return Err(Error::Invalid("the lock TTL must be at least 1 ms".into()));
    }
    Ok(ms)
}

impl Engine {
    /// One compare-and-set attempt to take the agent's lock.
    #[tracing::instrument(level = "debug", skip_all, fields(agent = %agent, holder = holder_id))]
    pub async fn try_acquire_lock(
        &self,
        agent: &AgentRef,
        holder_id: &str,
        run_id: Option<&str>,
        ttl: Duration,
    ) -> Result<AcquireOutcome> {
        let ttl = ttl_ms(ttl)?;
        let mut i = self.instance().await?;
        let r = i
            .logic
            .nexau_session_locks()
            .call_acquire(&mut i.store, &wit_map::agent_ref(agent), holder_id, run_id, ttl)
            .await;
        Ok(match i.settle(r)? {
            wit::AcquireOutcome::Acquired(l) => AcquireOutcome::Acquired(wit_map::lease(l)),
            wit::AcquireOutcome::Held(l) => AcquireOutcome::Held(LockHolder {
                holder_id: l.holder_id.unwrap_or_default(),
                run_id: l.run_id,
                token: l.token,
                expires_at_ns: l.expires_at_ns,
            }),
        })
    }

    /// Extends the caller's unexpired lease; [`Error::LockExpired`] when it expired or moved on.
    #[tracing::instrument(level = "debug", skip_all, fields(agent = %agent, holder = holder_id, token))]
    pub async fn renew_lock(&self, agent: &AgentRef, holder_id: &str, token: u64, ttl: Duration) -> Result<Lease> {
        let ttl = ttl_ms(ttl)?;
        let mut i = self.instance().await?;
        let r = i
            .logic
            .nexau_session_locks()
            .call_renew(&mut i.store, &wit_map::agent_ref(agent), holder_id, token, ttl)
            .await;
        Ok(wit_map::lease(i.settle(r)?))
    }

    /// Releases the caller's own lease; [`Error::LockExpired`] when it is no longer theirs.
    #[tracing::instrument(level = "debug", skip_all, fields(agent = %agent, holder = holder_id, token))]
    pub async fn release_lock(&self, agent: &AgentRef, holder_id: &str, token: u64) -> Result<()> {
        let mut i = self.instance().await?;
        let r = i
            .logic
            .nexau_session_locks()
            .call_release(&mut i.store, &wit_map::agent_ref(agent), holder_id, token)
            .await;
        i.settle(r)
    }

    /// The lock row of one agent, if it was ever locked.
    #[tracing::instrument(level = "debug", skip_all, fields(agent = %agent))]
    pub async fn show_lock(&self, agent: &AgentRef) -> Result<Option<Lease>> {
        let mut i = self.instance().await?;
        let r = i.logic.nexau_session_locks().call_show(&mut i.store, &wit_map::agent_ref(agent)).await;
        Ok(i.settle(r)?.map(wit_map::lease))
    }

    /// Every lock row of a session, by agent id.
    #[tracing::instrument(level = "debug", skip_all, fields(user = user_id, session = session_id))]
    pub async fn list_locks(&self, user_id: &str, session_id: &str) -> Result<Vec<(String, Lease)>> {
        let mut i = self.instance().await?;
        let r = i.logic.nexau_session_locks().call_list_session_locks(&mut i.store, user_id, session_id).await;
        Ok(i.settle(r)?.into_iter().map(|(a, l)| (a, wit_map::lease(l))).collect())
    }
}
