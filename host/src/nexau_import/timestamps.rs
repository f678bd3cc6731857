//! Reading the times NexAU stores, liberally: what its SQL drivers write
//! (`2026-01-01 10:00:00.123456`, naive, read as UTC), what its JSONL engine
//! writes (`datetime.isoformat()`: `2026-01-01T10:00:00.123456`, with or
//! without an offset), `Z`, `±HH:MM`, `±HHMM` or `±HH` offsets, with or
//! without a fraction of a second (up to nanoseconds), and for integer
//! columns (`created_at_ns`) nanoseconds since the epoch.

use crate::Timestamp;

/// Parses one time as text; the error says what was expected.
pub(crate) fn parse_time(text: &str) -> Result<Timestamp, String> {
    let t = text.trim();
    let mut candidates = vec![t.to_owned()];
    // `+HHMM` and `+HH` offsets (PostgreSQL's text form, `%z`): make them `+HH:MM`.
    let tail_start = t.len().saturating_sub(5);
    if let Some(tail) = t.get(tail_start..)
        && let Some(sign_at) = tail.rfind(['+', '-']).map(|i| i + tail_start)
        && t.get(..sign_at).is_some_and(|head| head.contains(':'))
    {
        let digits = &t[sign_at + 1..];
        if digits.bytes().all(|b| b.is_ascii_digit()) && (digits.len() == 2 || digits.len() == 4) {
            let (h, m) = digits.split_at(2);
            let m = if m.is_empty() { "00" } else { m };
            candidates.push(format!("{}{}{h}:{m}", &t[..sign_at], &t[sign_at..=sign_at]));
        }
    }
    for c in &candidates {
        if let Ok(ts) = Timestamp::parse_rfc3339(c) {
            return Ok(ts);
        }
    }
    Err(format!(
        "{t:?} is not a time (expected e.g. 2026-01-01 10:00:00.123456, 2026-01-01T10:00:00Z or 2026-01-01T10:00:00+02:00)"
    ))
}

/// A time from nanoseconds since the epoch.
pub(crate) fn from_ns(ns: i64) -> Result<Timestamp, String> {
    Timestamp::from_ns(ns).map_err(|e| format!("{ns} ns: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_form_nexau_writes() {
        let micros = Timestamp::parse_rfc3339("2026-01-02T03:04:05.123456Z").unwrap();
        for text in [
            "2026-01-02 03:04:05.123456",
            "2026-01-02T03:04:05.123456",
            "2026-01-02T03:04:05.123456Z",
            "2026-01-02T03:04:05.123456+00:00",
            "2026-01-02 03:04:05.123456+00",
            "2026-01-02T05:04:05.123456+0200",
            "2026-01-02T01:04:05.123456-02",
            " 2026-01-02 03:04:05.123456 ",
        ] {
            assert_eq!(parse_time(text), Ok(micros), "{text}");
        }
        let whole = Timestamp::parse_rfc3339("2026-01-02T03:04:05Z").unwrap();
        assert_eq!(parse_time("2026-01-02 03:04:05"), Ok(whole));
        assert_eq!(parse_time("2026-01-02T03:04:05.5Z").unwrap().as_ns(), whole.as_ns() + 500_000_000);
        assert_eq!(parse_time("2026-01-02T03:04:05.123456789Z").unwrap().as_ns(), whole.as_ns() + 123_456_789);
    }

    #[test]
    fn refuses_what_is_not_a_time() {
        for text in ["", "yesterday", "2026-13-01 00:00:00", "2026-01-02 03:04:05+2", "2026-01-02 03:04:05é", "été"]
        {
            assert!(parse_time(text).unwrap_err().contains("is not a time"), "{text}");
        }
        assert!(from_ns(-1).is_err());
        assert_eq!(from_ns(5).unwrap().as_ns(), 5);
    }
}
