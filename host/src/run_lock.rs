//! [`RunLock`]: a held agent lock, renewed by a heartbeat task, that tells its
//! run at once when it is lost.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::{AgentRef, Error, Fence, Lease, Result, SessionManager};

/// A held lock. Keep it for the whole run; call [`RunLock::release`] at the end.
///
/// When a renewal finds the lock expired or taken, [`RunLock::lost`] is
/// cancelled, and every later write fenced with this lock's token is refused
/// with [`Error::LockExpired`].
pub struct RunLock {
    manager: SessionManager,
    agent: AgentRef,
    holder_id: String,
    token: u64,
    lost: CancellationToken,
    stop: CancellationToken,
    heartbeat: Option<JoinHandle<()>>,
}

impl RunLock {
    pub(crate) fn start(manager: SessionManager, agent: AgentRef, holder_id: String, lease: Lease) -> RunLock {
        let lost = CancellationToken::new();
        let stop = CancellationToken::new();
        let heartbeat = tokio::spawn(heartbeat(
            manager.clone(),
            agent.clone(),
            holder_id.clone(),
            lease.token,
            lease.expires_at_ns,
            lost.clone(),
            stop.clone(),
        ));
        RunLock { manager, agent, holder_id, token: lease.token, lost, stop, heartbeat: Some(heartbeat) }
    }

    /// The agent this lock is for.
    pub fn agent(&self) -> &AgentRef {
        &self.agent
    }

    /// This acquisition's holder id.
    pub fn holder_id(&self) -> &str {
        &self.holder_id
    }

    /// The fencing token: larger than every earlier acquisition's.
    pub fn token(&self) -> u64 {
        self.token
    }

    /// The fence to put on history writes made under this lock.
    pub fn fence(&self) -> Fence {
        Fence { holder_id: self.holder_id.clone(), token: self.token }
    }

    /// Cancelled when the heartbeat finds the lock lost.
    pub fn lost(&self) -> &CancellationToken {
        &self.lost
    }

    /// Whether the lock is known to be lost.
    pub fn is_lost(&self) -> bool {
        self.lost.is_cancelled()
    }

    /// Stops the heartbeat and releases the lock. Fails with
    /// [`Error::LockExpired`] when it was no longer this holder's (nothing is
    /// forced).
    pub async fn release(mut self) -> Result<()> {
        self.stop_heartbeat().await;
        let engine = self.manager.engine().clone();
        let result = engine.release_lock(&self.agent, &self.holder_id, self.token).await;
        self.manager.forget_release_signal(&self.agent);
        self.token = 0; // released: Drop has nothing left to do
        result
    }

    async fn stop_heartbeat(&mut self) {
        self.stop.cancel();
        if let Some(h) = self.heartbeat.take() {
            let _ = h.await;
        }
    }
}

impl Drop for RunLock {
    /// A lock dropped without `release` is released in the background (best
    /// effort); if that cannot happen, it expires after its TTL.
    fn drop(&mut self) {
        self.stop.cancel();
        if self.token == 0 || self.lost.is_cancelled() {
            return;
        }
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let (manager, agent, holder, token) =
                (self.manager.clone(), self.agent.clone(), self.holder_id.clone(), self.token);
            rt.spawn(async move {
                if let Err(e) = manager.engine().release_lock(&agent, &holder, token).await {
                    tracing::debug!(%agent, "release of a dropped lock: {e}");
                }
                manager.forget_release_signal(&agent);
            });
        }
    }
}

async fn heartbeat(
    manager: SessionManager,
    agent: AgentRef,
    holder_id: String,
    token: u64,
    mut expires_at_ns: i64,
    lost: CancellationToken,
    stop: CancellationToken,
) {
    let interval = manager.heartbeat_interval();
    let engine = manager.engine().clone();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        match engine.renew_lock(&agent, &holder_id, token, manager.lock_ttl()).await {
            Ok(lease) => expires_at_ns = lease.expires_at_ns,
            Err(Error::LockExpired(why)) => {
                tracing::warn!(%agent, token, "lock lost: {why}");
                lost.cancel();
                return;
            }
            Err(e) => {
                // A storage hiccup: try again next beat, unless the lease has run out meanwhile.
                if engine.clock().now_ns() >= expires_at_ns {
                    tracing::warn!(%agent, token, "lock lost: renewal failed past the TTL: {e}");
                    lost.cancel();
                    return;
                }
                tracing::warn!(%agent, token, "heartbeat failed, retrying: {e}");
                tokio::time::sleep(Duration::from_millis(50).min(interval)).await;
            }
        }
    }
}
