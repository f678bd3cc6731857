//! Printing: one JSON document for `--json`, aligned text otherwise.

use serde::Serialize;

/// Prints `value` as one JSON document on stdout.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// An RFC 3339 rendering of nanoseconds since the epoch.
pub fn ns_to_rfc3339(ns: i64) -> String {
    nexau_session::Timestamp::from_ns_saturating(ns).to_rfc3339_millis()
}
