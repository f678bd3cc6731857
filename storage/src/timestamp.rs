//! [`Timestamp`]: an instant in the one range every part of nexau-session can
//! hold (nanoseconds since the Unix epoch in an `i64`), built only through
//! checked conversions.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The range of [`Timestamp`], as written in errors and docs.
pub const TIMESTAMP_RANGE: &str = "1970-01-01T00:00:00Z ..= 2262-04-11T23:47:16.854775807Z";

/// Why a text, a [`SystemTime`] or a number could not become a [`Timestamp`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// The text is not an RFC 3339 instant.
    #[error("not an RFC 3339 time: {text:?} ({reason}); write e.g. 2026-01-01T00:00:00Z or 2026-01-01T05:30:00+05:30")]
    Malformed {
        /// The text as given.
        text: String,
        /// What the parser objected to.
        reason: String,
    },
    /// A well-formed instant outside [`TIMESTAMP_RANGE`].
    #[error("{what} is outside the supported time range {TIMESTAMP_RANGE}")]
    OutOfRange {
        /// The instant, as given or as RFC 3339 text.
        what: String,
    },
}

fn out_of_range(what: impl fmt::Display) -> TimestampError {
    TimestampError::OutOfRange { what: what.to_string() }
}

/// An instant between 1970-01-01T00:00:00Z and 2262-04-11T23:47:16.854775807Z
/// ([`TIMESTAMP_RANGE`]), held as nanoseconds since the Unix epoch.
///
/// Every constructor checks the range: RFC 3339 text (with `Z` or any
/// `±HH:MM` offset; text without an offset is read as UTC), a [`SystemTime`],
/// a number of nanoseconds, or another timestamp plus or minus a
/// [`Duration`]. Nothing wraps around: out-of-range input is a
/// [`TimestampError`] naming the range, or, for the `saturating_*` methods,
/// the nearest end of it.
///
/// ```
/// use nexau_session_storage::Timestamp;
/// use std::time::Duration;
/// let t = Timestamp::parse_rfc3339("2026-01-01T05:30:00+05:30")?;
/// assert_eq!(t.to_string(), "2026-01-01T00:00:00.000000Z");
/// assert!(Timestamp::parse_rfc3339("2300-01-01T00:00:00Z").is_err());
/// assert_eq!(t.checked_sub(Duration::from_secs(86_400 * 365 * 60)), None);
/// assert_eq!(t.saturating_sub(Duration::from_secs(86_400 * 365 * 60)), Timestamp::MIN);
/// # Ok::<(), nexau_session_storage::TimestampError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    /// 1970-01-01T00:00:00Z.
    pub const MIN: Timestamp = Timestamp(0);
    /// 2262-04-11T23:47:16.854775807Z.
    pub const MAX: Timestamp = Timestamp(i64::MAX);

    /// The instant `ns` nanoseconds after the epoch; negative `ns` is out of range.
    pub fn from_ns(ns: i64) -> Result<Self, TimestampError> {
        if ns < 0 { Err(out_of_range(format_args!("{ns} ns since the epoch"))) } else { Ok(Timestamp(ns)) }
    }

    /// Like [`Timestamp::from_ns`], but negative `ns` becomes [`Timestamp::MIN`].
    /// For showing stored numbers (a released lock's expiry is 0).
    pub fn from_ns_saturating(ns: i64) -> Self {
        Timestamp(ns.max(0))
    }

    /// Nanoseconds since the epoch (never negative).
    pub fn as_ns(self) -> i64 {
        self.0
    }

    /// The instant `t`, if it lies within the range.
    pub fn from_system_time(t: SystemTime) -> Result<Self, TimestampError> {
        let describe = || jiff::Timestamp::try_from(t).map_or_else(|_| format!("{t:?}"), |j| j.to_string());
        let since = t.duration_since(UNIX_EPOCH).map_err(|_| out_of_range(describe()))?;
        i64::try_from(since.as_nanos()).map(Timestamp).map_err(|_| out_of_range(describe()))
    }

    /// The system clock now, held to the range (a clock set before 1970 reads
    /// as [`Timestamp::MIN`], one past 2262 as [`Timestamp::MAX`]).
    pub fn now() -> Self {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
            Err(_) => Timestamp::MIN,
        }
    }

    /// The same instant as a [`SystemTime`].
    pub fn to_system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.0.unsigned_abs())
    }

    /// Parses an RFC 3339 instant: `2026-01-01T00:00:00Z`, with optional
    /// fractional seconds and any `±HH:MM` offset (converted to UTC). Text
    /// without an offset is read as UTC. A space may stand for the `T`.
    ///
    /// ```
    /// use nexau_session_storage::Timestamp;
    /// let a = Timestamp::parse_rfc3339("2026-01-01T00:00:00Z")?;
    /// let b = Timestamp::parse_rfc3339("2025-12-31T19:00:00-05:00")?;
    /// assert_eq!(a, b);
    /// # Ok::<(), nexau_session_storage::TimestampError>(())
    /// ```
    pub fn parse_rfc3339(text: &str) -> Result<Self, TimestampError> {
        let parsed = text.parse::<jiff::Timestamp>().or_else(|e| {
            // Appending `Z` fails for text that already carries an offset, so
            // this reads only offset-less text, as UTC.
            format!("{text}Z").parse::<jiff::Timestamp>().map_err(|_| e)
        });
        let t = parsed.map_err(|e| TimestampError::Malformed { text: text.to_owned(), reason: e.to_string() })?;
        let ns = i64::try_from(t.as_nanosecond()).map_err(|_| out_of_range(text))?;
        if ns < 0 {
            return Err(out_of_range(text));
        }
        Ok(Timestamp(ns))
    }

    /// `self + d`, or `None` past [`Timestamp::MAX`].
    pub fn checked_add(self, d: Duration) -> Option<Self> {
        let d = i64::try_from(d.as_nanos()).ok()?;
        self.0.checked_add(d).map(Timestamp)
    }

    /// `self - d`, or `None` before [`Timestamp::MIN`].
    pub fn checked_sub(self, d: Duration) -> Option<Self> {
        let d = i64::try_from(d.as_nanos()).ok()?;
        self.0.checked_sub(d).filter(|ns| *ns >= 0).map(Timestamp)
    }

    /// `self + d`, held at [`Timestamp::MAX`].
    pub fn saturating_add(self, d: Duration) -> Self {
        self.checked_add(d).unwrap_or(Timestamp::MAX)
    }

    /// `self - d`, held at [`Timestamp::MIN`].
    pub fn saturating_sub(self, d: Duration) -> Self {
        self.checked_sub(d).unwrap_or(Timestamp::MIN)
    }

    /// The canonical storage form, `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC,
    /// microseconds, truncated): text order is time order.
    pub fn to_rfc3339_micros(self) -> String {
        humantime::format_rfc3339_micros(self.to_system_time()).to_string()
    }

    /// `YYYY-MM-DDTHH:MM:SS.fffZ` (UTC, milliseconds, truncated), for people.
    ///
    /// ```
    /// use nexau_session_storage::Timestamp;
    /// assert_eq!(Timestamp::from_ns_saturating(-5).to_rfc3339_millis(), "1970-01-01T00:00:00.000Z");
    /// ```
    pub fn to_rfc3339_millis(self) -> String {
        humantime::format_rfc3339_millis(self.to_system_time()).to_string()
    }
}

/// The canonical storage form ([`Timestamp::to_rfc3339_micros`]).
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339_micros())
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timestamp::parse_rfc3339(s)
    }
}

impl TryFrom<SystemTime> for Timestamp {
    type Error = TimestampError;

    fn try_from(t: SystemTime) -> Result<Self, Self::Error> {
        Timestamp::from_system_time(t)
    }
}

impl From<Timestamp> for SystemTime {
    fn from(t: Timestamp) -> Self {
        t.to_system_time()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ends_of_the_range() {
        assert_eq!(Timestamp::parse_rfc3339("1970-01-01T00:00:00Z").unwrap(), Timestamp::MIN);
        let max = Timestamp::parse_rfc3339("2262-04-11T23:47:16.854775807Z").unwrap();
        assert_eq!(max, Timestamp::MAX);
        assert_eq!(max.to_rfc3339_micros(), "2262-04-11T23:47:16.854775Z");
        for text in [
            "2262-04-11T23:47:16.854775808Z",
            "2300-01-01T00:00:00Z",
            "1969-12-31T23:59:59.999Z",
            "9000-01-01T00:00:00Z",
        ] {
            let e = Timestamp::parse_rfc3339(text).unwrap_err();
            assert!(matches!(e, TimestampError::OutOfRange { .. }), "{text}: {e}");
            assert!(e.to_string().contains(TIMESTAMP_RANGE), "{e}");
        }
        assert!(Timestamp::parse_rfc3339("9999-12-31T23:59:59Z").is_err(), "past jiff's range too");
        assert!(Timestamp::from_ns(-1).is_err());
        assert_eq!(Timestamp::from_ns(i64::MAX).unwrap(), Timestamp::MAX);
    }

    #[test]
    fn offsets_are_converted_to_utc() {
        let utc = Timestamp::parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
        for text in [
            "2026-01-01T05:00:00+05:00",
            "2025-12-31T19:00:00-05:00",
            "2026-01-01T00:00:00-00:00",
            "2026-01-01t00:00:00z",
            "2026-01-01 00:00:00Z",
            "2026-01-01T00:00:00",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(text).unwrap(), utc, "{text}");
        }
        // Before 1970 in local time, after it in UTC.
        let t = Timestamp::parse_rfc3339("1969-12-31T23:00:00-05:00").unwrap();
        assert_eq!(t.as_ns(), 4 * 3600 * 1_000_000_000);
    }

    #[test]
    fn malformed_text_is_refused() {
        for text in
            ["", "yesterday", "2026-01-01", "2026-13-01T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:00:00+5"]
        {
            let e = Timestamp::parse_rfc3339(text).unwrap_err();
            assert!(matches!(e, TimestampError::Malformed { .. }), "{text}: {e}");
        }
    }

    #[test]
    fn system_times_and_durations_are_checked() {
        let before = UNIX_EPOCH - Duration::from_secs(1);
        assert!(Timestamp::from_system_time(before).unwrap_err().to_string().contains("1969-12-31T23:59:59Z"));
        let after = UNIX_EPOCH + Duration::from_secs(i64::MAX as u64 / 1_000_000_000 + 1);
        assert!(Timestamp::from_system_time(after).is_err());
        let t = Timestamp::from_ns(10).unwrap();
        assert_eq!(Timestamp::from_system_time(t.to_system_time()).unwrap(), t);
        assert_eq!(t.checked_sub(Duration::from_nanos(11)), None);
        assert_eq!(t.checked_sub(Duration::from_nanos(10)), Some(Timestamp::MIN));
        assert_eq!(Timestamp::MAX.checked_add(Duration::from_nanos(1)), None);
        assert_eq!(Timestamp::MAX.saturating_add(Duration::MAX), Timestamp::MAX);
        assert_eq!(t.saturating_sub(Duration::MAX), Timestamp::MIN);
        assert!(Timestamp::now() > Timestamp::parse_rfc3339("2020-01-01T00:00:00Z").unwrap());
    }
}
