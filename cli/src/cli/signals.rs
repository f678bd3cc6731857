//! SIGTERM and SIGINT, caught from the start of `main`: a signal never kills
//! the process half-way; it cancels a token the running command observes.
//! `locks hold` releases its lock and exits 0; every other command stops at
//! its next step and exits 128 + the signal number (130 for SIGINT, 143 for
//! SIGTERM).

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// The process's shutdown request: cancelled by the first SIGTERM or SIGINT.
#[derive(Clone)]
pub struct Shutdown {
    requested: CancellationToken,
    signal: Arc<AtomicU8>,
}

impl Shutdown {
    /// Installs the handlers. Call inside the runtime, before anything else:
    /// from then on the signals are queued for the token, not fatal.
    pub fn install() -> std::io::Result<Shutdown> {
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let shutdown = Shutdown { requested: CancellationToken::new(), signal: Arc::new(AtomicU8::new(0)) };
        let s = shutdown.clone();
        tokio::spawn(async move {
            let signo = tokio::select! {
                _ = term.recv() => 15,
                _ = int.recv() => 2,
            };
            s.signal.store(signo, Ordering::SeqCst);
            s.requested.cancel();
        });
        Ok(shutdown)
    }

    /// Cancelled once a signal asked the process to stop.
    pub fn requested(&self) -> &CancellationToken {
        &self.requested
    }

    /// The error a command stopped by the signal returns.
    pub fn interrupted(&self) -> Interrupted {
        Interrupted(self.signal.load(Ordering::SeqCst))
    }
}

/// A command stopped by a signal (its number).
#[derive(Debug, thiserror::Error)]
#[error("interrupted by {}; an interrupted write is either fully stored or not at all", signal_name(self.0))]
pub struct Interrupted(u8);

impl Interrupted {
    /// 128 + the signal number.
    pub fn exit_code(&self) -> u8 {
        128 + self.0
    }
}

fn signal_name(signo: u8) -> &'static str {
    match signo {
        2 => "SIGINT",
        15 => "SIGTERM",
        _ => "a signal",
    }
}
