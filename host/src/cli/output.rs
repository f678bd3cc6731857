//! Printing: one JSON document for `--json`, aligned text otherwise.

use serde::Serialize;

/// Prints `value` as one JSON document on stdout.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// An RFC 3339 rendering of nanoseconds since the epoch.
pub fn ns_to_rfc3339(ns: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(ns.max(0) as u64);
    humantime::format_rfc3339_millis(t).to_string()
}
