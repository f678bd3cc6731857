//! Exit codes of the CLI contract, and the one line on stderr that explains a
//! failure.

use nexau_session::Error;

use super::output::OutputError;
use super::signals::Interrupted;

/// Success.
pub const OK: u8 = 0;
/// Internal or storage error.
pub const INTERNAL: u8 = 1;
/// Bad input: nothing was written.
pub const BAD_INPUT: u8 = 2;
/// The lock is held by someone else.
pub const LOCK_HELD: u8 = 3;
/// The lock was lost while running.
pub const LOCK_LOST: u8 = 4;
/// The work was done and stored, but its output could not be written: do not
/// retry blindly.
pub const OUTPUT_LOST: u8 = 5;

/// The exit code and the one-line message for `e`. `writes` tells whether the
/// command stores anything: a lost output after a write is [`OUTPUT_LOST`],
/// after a read-only command [`INTERNAL`].
pub fn explain(e: &anyhow::Error, writes: bool) -> (u8, String) {
    let code = if let Some(out) = e.downcast_ref::<OutputError>() {
        return if writes {
            (OUTPUT_LOST, format!("the work was done and stored, but its output could not be written: {out}"))
        } else {
            (INTERNAL, format!("the output could not be written: {out}"))
        };
    } else if let Some(i) = e.downcast_ref::<Interrupted>() {
        i.exit_code()
    } else {
        match e.downcast_ref::<Error>() {
            Some(Error::Invalid(_) | Error::NotFound(_) | Error::VersionConflict { .. }) => BAD_INPUT,
            Some(Error::LockHeld(_)) => LOCK_HELD,
            Some(Error::LockExpired(_)) => LOCK_LOST,
            _ => INTERNAL,
        }
    };
    (code, one_line(&format!("error: {e:#}")))
}

/// `text` on one line: line breaks and runs of blanks become one space.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
