//! [`SessionManager`]: lock settings and the busy policy, shared by the agents
//! of one process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::engine::AcquireOutcome;
use crate::run_lock::RunLock;
use crate::{AgentRef, Engine, Error, Result};

/// What to do when an agent's lock is held by someone else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusyPolicy {
    /// Fail at once with [`Error::LockHeld`].
    Fail,
    /// Wait up to this long (jittered backoff; a lock released in this
    /// process is picked up at once), then fail with [`Error::LockHeld`].
    Wait(Duration),
}

/// Configures a [`SessionManager`].
pub struct SessionManagerBuilder {
    engine: Engine,
    lock_ttl: Duration,
    heartbeat_interval: Duration,
    on_busy: BusyPolicy,
}

impl SessionManagerBuilder {
    /// How long a lock lives without a heartbeat (default 30 s).
    pub fn lock_ttl(mut self, ttl: Duration) -> Self {
        self.lock_ttl = ttl;
        self
    }

    /// How often a held lock is renewed (default 10 s); must be under half the TTL.
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.heartbeat_interval = interval;
        self
    }

    /// The default busy policy (default [`BusyPolicy::Fail`]).
    pub fn on_busy(mut self, policy: BusyPolicy) -> Self {
        self.on_busy = policy;
        self
    }

    /// Checks the settings and builds the manager.
    pub fn build(self) -> Result<SessionManager> {
        if self.lock_ttl < Duration::from_millis(1) {
            return Err(Error::Invalid("lock_ttl must be at least 1 ms".into()));
        }
        if self.heartbeat_interval.is_zero() || self.heartbeat_interval * 2 >= self.lock_ttl {
            return Err(Error::Invalid(format!(
                "heartbeat_interval ({}) must be above zero and under half of lock_ttl ({})",
                humantime::format_duration(self.heartbeat_interval),
                humantime::format_duration(self.lock_ttl)
            )));
        }
        Ok(SessionManager {
            inner: Arc::new(Inner {
                engine: self.engine,
                lock_ttl: self.lock_ttl,
                heartbeat_interval: self.heartbeat_interval,
                on_busy: self.on_busy,
                releases: Mutex::new(HashMap::new()),
            }),
        })
    }
}

struct Inner {
    engine: Engine,
    lock_ttl: Duration,
    heartbeat_interval: Duration,
    on_busy: BusyPolicy,
    /// Wakes this process's waiters when a lock of the key is released here.
    releases: Mutex<HashMap<AgentRef, Arc<Notify>>>,
}

/// Lock settings and the busy policy over an [`Engine`]. Cheap to clone.
///
/// ```no_run
/// # async fn demo() -> nexau_session::Result<()> {
/// use nexau_session::{BusyPolicy, Engine, SessionManager};
/// use std::time::Duration;
/// let engine = Engine::from_url("memory://").await?;
/// engine.setup_models().await?;
/// let manager = SessionManager::builder(engine)
///     .lock_ttl(Duration::from_secs(30))
///     .heartbeat_interval(Duration::from_secs(10))
///     .on_busy(BusyPolicy::Wait(Duration::from_secs(5)))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SessionManager {
    inner: Arc<Inner>,
}

/// Starting delay of the wait backoff.
const BACKOFF_START: Duration = Duration::from_millis(5);
/// Longest single sleep of the wait backoff.
const BACKOFF_MAX: Duration = Duration::from_millis(100);

impl SessionManager {
    /// A builder over `engine`.
    pub fn builder(engine: Engine) -> SessionManagerBuilder {
        SessionManagerBuilder {
            engine,
            lock_ttl: Duration::from_secs(30),
            heartbeat_interval: Duration::from_secs(10),
            on_busy: BusyPolicy::Fail,
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The lock TTL.
    pub fn lock_ttl(&self) -> Duration {
        self.inner.lock_ttl
    }

    /// The heartbeat interval.
    pub fn heartbeat_interval(&self) -> Duration {
        self.inner.heartbeat_interval
    }

    /// The default busy policy.
    pub fn on_busy(&self) -> BusyPolicy {
        self.inner.on_busy
    }

    /// Takes the agent's lock under the default busy policy and keeps it alive
    /// by heartbeat until released.
    pub async fn acquire(&self, agent: &AgentRef, run_id: Option<&str>) -> Result<RunLock> {
        self.acquire_with(agent, run_id, self.inner.on_busy).await
    }

    /// Takes the agent's lock under `policy`.
    pub async fn acquire_with(&self, agent: &AgentRef, run_id: Option<&str>, policy: BusyPolicy) -> Result<RunLock> {
        let holder_id = new_holder_id();
        let deadline = match policy {
            BusyPolicy::Fail => None,
            BusyPolicy::Wait(d) => Some(Instant::now() + d),
        };
        let mut backoff = BACKOFF_START;
        loop {
            let released = self.release_signal(agent);
            let notified = released.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.engine().try_acquire_lock(agent, &holder_id, run_id, self.inner.lock_ttl).await? {
                AcquireOutcome::Acquired(lease) => {
                    tracing::debug!(%agent, token = lease.token, "lock acquired");
                    return Ok(RunLock::start(self.clone(), agent.clone(), holder_id, lease));
                }
                AcquireOutcome::Held(holder) => {
                    let now = Instant::now();
                    let Some(deadline) = deadline.filter(|d| *d > now) else {
                        return Err(Error::LockHeld(holder));
                    };
                    let sleep = jitter(backoff).min(deadline - now);
                    tokio::select! {
                        _ = tokio::time::sleep(sleep) => {}
                        _ = notified => {}
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
    }

    pub(crate) fn release_signal(&self, agent: &AgentRef) -> Arc<Notify> {
        let mut map = self.inner.releases.lock().expect("release map poisoned");
        map.entry(agent.clone()).or_default().clone()
    }

    pub(crate) fn forget_release_signal(&self, agent: &AgentRef) {
        let mut map = self.inner.releases.lock().expect("release map poisoned");
        if let Some(n) = map.get(agent) {
            n.notify_waiters();
            // Only this map and no waiter hold it: drop the entry.
            if Arc::strong_count(n) == 1 {
                map.remove(agent);
            }
        }
    }
}

/// `{pid}:{8 hex}`: unique per acquisition, so two runs of one process are
/// different holders.
fn new_holder_id() -> String {
    format!("{}:{:08x}", std::process::id(), rand::rng().random::<u32>())
}

/// A random delay in `[d/2, d]`, so waiters do not move in lockstep.
fn jitter(d: Duration) -> Duration {
    let half = d / 2;
    half + Duration::from_nanos(rand::rng().random_range(0..=half.as_nanos() as u64))
}
