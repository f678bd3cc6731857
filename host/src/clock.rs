//! The clock the host owns. The session logic reads time only through the
//! WASI wall clock, which the runtime backs with this clock, so tests and
//! reproducible demos can pin or advance time without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::Error;

/// A source of wall-clock time.
pub trait Clock: Send + Sync + 'static {
    /// Nanoseconds since the Unix epoch.
    fn now_ns(&self) -> i64;

    /// The current time as a [`SystemTime`].
    fn now(&self) -> SystemTime {
        let ns = self.now_ns();
        if ns >= 0 {
            UNIX_EPOCH + Duration::from_nanos(ns as u64)
        } else {
            UNIX_EPOCH - Duration::from_nanos(ns.unsigned_abs())
        }
    }
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ns(&self) -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
    }
}

/// A clock that moves only when told to: for tests, and for `NEXAU_SESSION_NOW`.
///
/// ```
/// use nexau_session::{Clock, ManualClock};
/// use std::time::Duration;
/// let clock = ManualClock::at_ns(1_000);
/// clock.advance(Duration::from_nanos(500));
/// assert_eq!(clock.now_ns(), 1_500);
/// ```
#[derive(Debug, Default)]
pub struct ManualClock {
    ns: AtomicI64,
}

impl ManualClock {
    /// A clock pinned at `ns` nanoseconds since the epoch.
    pub fn at_ns(ns: i64) -> Self {
        ManualClock { ns: AtomicI64::new(ns) }
    }

    /// A clock pinned at an RFC 3339 instant.
    pub fn at_rfc3339(text: &str) -> Result<Self, Error> {
        let t = humantime::parse_rfc3339_weak(text)
            .map_err(|e| Error::Invalid(format!("not an RFC 3339 time: {text:?} ({e})")))?;
        let ns =
            t.duration_since(UNIX_EPOCH).map_err(|_| Error::Invalid(format!("time before 1970: {text:?}")))?.as_nanos()
                as i64;
        Ok(ManualClock::at_ns(ns))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.ns.fetch_add(by.as_nanos() as i64, Ordering::SeqCst);
    }

    /// Sets the clock.
    pub fn set_ns(&self, ns: i64) {
        self.ns.store(ns, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ns(&self) -> i64 {
        self.ns.load(Ordering::SeqCst)
    }
}

/// The environment variable that pins the clock (RFC 3339).
pub const NOW_ENV: &str = "NEXAU_SESSION_NOW";

/// The clock `NEXAU_SESSION_NOW` asks for: a pinned [`ManualClock`] when it is
/// set, else the [`SystemClock`].
pub fn clock_from_env() -> Result<Arc<dyn Clock>, Error> {
    match std::env::var(NOW_ENV) {
        Ok(text) if !text.trim().is_empty() => Ok(Arc::new(ManualClock::at_rfc3339(text.trim())?)),
        _ => Ok(Arc::new(SystemClock)),
    }
}
