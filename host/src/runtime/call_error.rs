//! What a failed call into the guest reports: one line that says what went
//! wrong and which limit to raise, not a wasm backtrace (that goes to the
//! `debug` log).

use wasmtime::Trap;

use super::Limits;
use crate::{Error, RuntimeError};

/// The error of a call that failed in the runtime; `memory_refused` is true
/// when the guest was refused memory during the call.
pub fn explain(e: wasmtime::Error, limits: &Limits, memory_refused: bool) -> Error {
    tracing::debug!("call into the session logic failed: {e:?}");
    let trap = e.downcast_ref::<Trap>().copied();
    let message = match trap {
        Some(Trap::Interrupt) => format!(
            "the call ran past its deadline of {} (Limits::deadline)",
            humantime::format_duration(limits.deadline)
        ),
        _ if memory_refused => format!(
            "the call needed more than the {} MiB of guest memory it may use (Limits::memory_bytes)",
            limits.memory_bytes >> 20
        ),
        // The trap itself is the error's source.
        Some(_) => "the session logic trapped".to_owned(),
        None => one_line(&e),
    };
    Error::Runtime(match trap {
        Some(trap) => RuntimeError::caused(message, trap),
        None => RuntimeError::new(message),
    })
}

/// `e` with its causes, on one line.
pub fn one_line(e: &wasmtime::Error) -> String {
    collapse_whitespace(&format!("{e:#}"))
}

/// `text` on one line: line breaks and runs of blanks become one space.
pub(super) fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traps_become_one_line_that_names_the_limit() {
        let limits = Limits::default();
        let trap = || wasmtime::Error::from(Trap::UnreachableCodeReached).context("error while executing at\n  0: f");
        let memory = explain(trap(), &limits, true).to_string();
        assert_eq!(
            memory,
            "runtime: the call needed more than the 512 MiB of guest memory it may use (Limits::memory_bytes)"
        );
        let deadline = explain(wasmtime::Error::from(Trap::Interrupt), &limits, false).to_string();
        assert_eq!(deadline, "runtime: the call ran past its deadline of 1m (Limits::deadline)");
        let other = explain(trap(), &limits, false).to_string();
        assert_eq!(other, "runtime: the session logic trapped");
        let Error::Runtime(r) = explain(trap(), &limits, false) else { panic!("not a runtime error") };
        let cause = std::error::Error::source(&r).expect("the trap is the source").to_string();
        assert!(cause.contains("unreachable"), "{cause}");
        let plain = explain(wasmtime::Error::msg("a\nb").context("c"), &limits, false).to_string();
        assert_eq!(plain, "runtime: c: a b");
    }
}
