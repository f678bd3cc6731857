//! The clock the host owns. The session logic reads time only through the
//! WASI wall clock, which the runtime backs with this clock, so tests and
//! reproducible demos can pin or advance time without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime};

use nexau_session_storage::Timestamp;

use crate::Error;

/// A source of wall-clock time, always within
/// [`TIMESTAMP_RANGE`](crate::TIMESTAMP_RANGE) (1970 to 2262).
pub trait Clock: Send + Sync + 'static {
    /// Nanoseconds since the Unix epoch (never negative).
    fn now_ns(&self) -> i64;

    /// The current time as a [`Timestamp`].
    fn timestamp(&self) -> Timestamp {
        Timestamp::from_ns_saturating(self.now_ns())
    }

    /// The current time as a [`SystemTime`].
    fn now(&self) -> SystemTime {
        self.timestamp().to_system_time()
    }
}

/// The operating system's clock, held to the supported range (a system clock
/// set before 1970 reads as 1970-01-01T00:00:00Z).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ns(&self) -> i64 {
        Timestamp::now().as_ns()
    }
}

/// A clock that moves only when told to: for tests, and for `NEXAU_SESSION_NOW`.
/// It never leaves [`TIMESTAMP_RANGE`](crate::TIMESTAMP_RANGE).
///
/// ```
/// use nexau_session::{Clock, ManualClock, Timestamp};
/// use std::time::Duration;
/// let clock = ManualClock::at_ns(1_000);
/// clock.advance(Duration::from_nanos(500));
/// assert_eq!(clock.now_ns(), 1_500);
/// let clock = ManualClock::at_rfc3339("2026-01-01T05:30:00+05:30")?;
/// assert_eq!(clock.timestamp(), Timestamp::parse_rfc3339("2026-01-01T00:00:00Z")?);
/// assert!(ManualClock::at_rfc3339("2300-01-01T00:00:00Z").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct ManualClock {
    ns: AtomicI64,
}

impl ManualClock {
    /// A clock pinned at `t`.
    pub fn at(t: Timestamp) -> Self {
        ManualClock { ns: AtomicI64::new(t.as_ns()) }
    }

    /// A clock pinned at `ns` nanoseconds since the epoch (a negative `ns`
    /// pins it at 1970-01-01T00:00:00Z).
    pub fn at_ns(ns: i64) -> Self {
        ManualClock::at(Timestamp::from_ns_saturating(ns))
    }

    /// A clock pinned at an RFC 3339 instant (`Z` or any `±HH:MM` offset).
    /// Malformed text, or an instant outside the supported range, is
    /// [`Error::Invalid`] naming the range.
    pub fn at_rfc3339(text: &str) -> Result<Self, Error> {
        Ok(ManualClock::at(Timestamp::parse_rfc3339(text)?))
    }

    /// Moves the clock forward, stopping at [`Timestamp::MAX`].
    pub fn advance(&self, by: Duration) {
        let step = |ns: i64| Some(Timestamp::from_ns_saturating(ns).saturating_add(by).as_ns());
        let _ = self.ns.fetch_update(Ordering::SeqCst, Ordering::SeqCst, step);
    }

    /// Sets the clock (a negative `ns` sets it to 1970-01-01T00:00:00Z).
    pub fn set_ns(&self, ns: i64) {
        self.ns.store(ns.max(0), Ordering::SeqCst);
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
/// set, else the [`SystemClock`]. A value that is malformed or outside the
/// supported range is [`Error::Invalid`] (the CLI exits 2 before touching storage).
pub fn clock_from_env() -> Result<Arc<dyn Clock>, Error> {
    match std::env::var(NOW_ENV) {
        Ok(text) if !text.trim().is_empty() => {
            let clock = ManualClock::at_rfc3339(text.trim()).map_err(|e| Error::Invalid(format!("{NOW_ENV}: {e}")))?;
            Ok(Arc::new(clock))
        }
        _ => Ok(Arc::new(SystemClock)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clocks_stay_in_range() {
        let c = ManualClock::at_ns(-5);
        assert_eq!(c.now_ns(), 0);
        c.set_ns(i64::MAX - 1);
        c.advance(Duration::from_secs(1));
        assert_eq!(c.timestamp(), Timestamp::MAX);
        c.set_ns(-1);
        assert_eq!(c.now_ns(), 0);
        for bad in ["2300-01-01T00:00:00Z", "1969-01-01T00:00:00Z", "not a time"] {
            assert!(matches!(ManualClock::at_rfc3339(bad), Err(Error::Invalid(_))), "{bad}");
        }
        let e = ManualClock::at_rfc3339("2300-01-01T00:00:00Z").err().unwrap().to_string();
        assert!(e.contains("2262-04-11T23:47:16"), "{e}");
        assert!(!e.contains('\n'));
    }
}
