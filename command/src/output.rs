//! Printing: one JSON document for `--json`, text lines otherwise. Every
//! write to stdout is flushed at once, so a closed pipe or a full disk comes
//! back as [`Failure::Output`] (exit 5 after a write), never as a panic.

use std::io::Write;

use serde::Serialize;

use crate::failure::Failure;

/// Writes `args` and a newline to stdout, and flushes.
pub fn line(args: std::fmt::Arguments<'_>) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    out.write_fmt(args)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

/// `say!("…", args)`: one line on stdout through [`line`].
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))
    };
}
pub(crate) use say;

/// Prints `value` as one JSON document on stdout (pretty, as the native CLI does).
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Failure::Storage(e.to_string()))?;
    line(format_args!("{text}"))
}

/// Writes one line on stderr; a closed stderr is ignored.
pub fn report(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Nanoseconds since the epoch as RFC 3339 with milliseconds (negative: the epoch).
pub fn ns_to_rfc3339(ns: i64) -> String {
    let ns = u64::try_from(ns).unwrap_or(0);
    humantime::format_rfc3339_millis(std::time::UNIX_EPOCH + std::time::Duration::from_nanos(ns)).to_string()
}

/// Now, in nanoseconds since the epoch (WASI's wall clock, the one the session logic reads).
pub fn now_ns() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_nanos()).unwrap_or(i64::MAX)
}
