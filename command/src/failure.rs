//! Why a command failed: its exit code (the CLI contract's) and the one
//! line on stderr that says why, worded as the native CLI words it.

/// Success.
pub const OK: u8 = 0;
/// Internal or storage error.
pub const INTERNAL: u8 = 1;
/// Bad input: nothing was written.
pub const BAD_INPUT: u8 = 2;
/// The lock was lost while running (a fenced write refused).
pub const LOCK_LOST: u8 = 4;
/// The work was done and stored, but its output could not be written.
pub const OUTPUT_LOST: u8 = 5;

/// A failed command.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Bad input (an id, a URL, a role, a filter, a message source); nothing was written.
    #[error("{0}")]
    Invalid(String),
    /// The named session does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A fenced write was refused: the lock moved on.
    #[error("lock expired: {0}")]
    LockExpired(String),
    /// A versioned update saw another version.
    #[error("version conflict: the session is at version {0}")]
    VersionConflict(u64),
    /// The table was never set up.
    #[error("table `{0}` does not exist: call Engine::setup_models() first")]
    TableNotFound(String),
    /// Concurrent writers kept colliding.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The storage failed (I/O, a corrupt file, no directory).
    #[error("storage backend error: {0}")]
    Storage(String),
    /// Stdout could not be written (closed pipe, full disk).
    #[error("{0}")]
    Output(#[from] std::io::Error),
}

impl Failure {
    /// The exit code and the one line for stderr. `writes`: whether the
    /// command stores anything (a lost output after a write is exit 5).
    pub fn explain(&self, writes: bool) -> (u8, String) {
        let code = match self {
            Failure::Output(e) => {
                return if writes {
                    (OUTPUT_LOST, format!("the work was done and stored, but its output could not be written: {e}"))
                } else {
                    (INTERNAL, format!("the output could not be written: {e}"))
                };
            }
            Failure::Invalid(_) | Failure::NotFound(_) | Failure::VersionConflict(_) => BAD_INPUT,
            Failure::LockExpired(_) => LOCK_LOST,
            Failure::TableNotFound(_) | Failure::Conflict(_) | Failure::Storage(_) => INTERNAL,
        };
        (code, one_line(&format!("error: {self}")))
    }
}

/// `text` on one line: line breaks and runs of blanks become one space.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
