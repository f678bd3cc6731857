//! Printing: one JSON document for `--json`, aligned text otherwise. Every
//! write to stdout goes through here and is flushed at once, so a closed pipe
//! or a full disk comes back as an [`OutputError`] (exit 5 after a write),
//! never as a panic or a silently lost line.

use std::io::Write;

use serde::Serialize;

/// Stdout could not be written (closed pipe, full disk).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OutputError(#[from] std::io::Error);

/// Writes `args` and a newline to stdout, and flushes.
pub fn line(args: std::fmt::Arguments<'_>) -> Result<(), OutputError> {
    let mut out = std::io::stdout().lock();
    out.write_fmt(args)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

/// `say!("…", args)`: one line on stdout through [`line`]; evaluates to
/// `Result<(), OutputError>`.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::cli::output::line(format_args!($($arg)*))
    };
}
pub(crate) use say;

/// Prints `value` as one JSON document on stdout.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    line(format_args!("{text}"))?;
    Ok(())
}

/// Writes one line on stderr; a closed stderr is ignored (there is nowhere
/// left to say it).
pub fn report(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// An RFC 3339 rendering of nanoseconds since the epoch.
pub fn ns_to_rfc3339(ns: i64) -> String {
    nexau_session::Timestamp::from_ns_saturating(ns).to_rfc3339_millis()
}
