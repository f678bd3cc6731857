//! The library's error type.

use nexau_session_storage::{Cause, StorageError, Timestamp, TimestampError};

/// Who holds a lock, as reported by [`Error::LockHeld`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    /// The holder's id (`{pid}:{8 hex}` for this host's holders).
    pub holder_id: String,
    /// The run the holder declared, if any.
    pub run_id: Option<String>,
    /// The holder's fencing token.
    pub token: u64,
    /// When the holder's lease runs out unless renewed (ns since the epoch).
    pub expires_at_ns: i64,
}

impl LockHolder {
    /// The expiry as RFC 3339 text (milliseconds).
    pub fn expires_at_rfc3339(&self) -> String {
        Timestamp::from_ns_saturating(self.expires_at_ns).to_rfc3339_millis()
    }
}

/// Everything that can go wrong in nexau-session.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input (an id, a URL, a message, an option); nothing was written.
    #[error("{0}")]
    Invalid(String),
    /// A session, agent or run that does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A table that was never set up (`TableNotFoundError` in NexAU, the Python implementation).
    #[error("table `{0}` does not exist: call Engine::setup_models() first")]
    TableNotFound(String),
    /// The agent's lock is held by someone else.
    #[error("lock held by {} (token {}) until {}", .0.holder_id, .0.token, .0.expires_at_rfc3339())]
    LockHeld(LockHolder),
    /// The run's lock expired or moved on; the write that carried its token was
    /// refused (`AgentLockExpiredError` in NexAU).
    #[error("lock expired: {0}")]
    LockExpired(String),
    /// A versioned update saw another version.
    #[error("version conflict: the session is at version {current}")]
    VersionConflict {
        /// The version now stored.
        current: u64,
    },
    /// Concurrent writers kept colliding; the call may be retried.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The storage backend failed; the [`StorageError`] keeps the driver's or
    /// the operating system's error as its source.
    #[error(transparent)]
    Storage(StorageError),
    /// The model behind an [`Agent`](crate::Agent) failed.
    #[error("model: {0}")]
    Model(String),
    /// The WebAssembly runtime failed (compile error, trap, resource limit).
    #[error(transparent)]
    Runtime(RuntimeError),
}

/// Why the WebAssembly runtime failed: one line naming the limit the call
/// ran into, when it ran into one, and the trap or error behind it.
///
/// ```
/// use nexau_session::RuntimeError;
/// let e = RuntimeError::new("the call ran past its deadline of 1m (Limits::deadline)");
/// assert_eq!(e.to_string(), "runtime: the call ran past its deadline of 1m (Limits::deadline)");
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[error("runtime: {message}")]
pub struct RuntimeError {
    message: String,
    #[source]
    source: Option<Cause>,
}

impl RuntimeError {
    /// A runtime failure with no underlying error.
    pub fn new(message: impl Into<String>) -> Self {
        RuntimeError { message: message.into(), source: None }
    }

    /// A runtime failure caused by `source`.
    pub fn caused(message: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        RuntimeError { message: message.into(), source: Some(std::sync::Arc::new(source)) }
    }

    /// What failed, without the `runtime: ` prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl Error {
    /// True for [`Error::LockExpired`]: the run lost its lock.
    pub fn is_lock_lost(&self) -> bool {
        matches!(self, Error::LockExpired(_))
    }
}

impl From<StorageError> for Error {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::TableNotFound(t) => Error::TableNotFound(t),
            StorageError::Invalid(m) | StorageError::Url(m) => Error::Invalid(m),
            StorageError::DuplicateKey(m) => Error::Conflict(format!("duplicate key: {m}")),
            StorageError::Conflict(i) => Error::Conflict(format!("batch op {i} did not match")),
            e @ (StorageError::SchemaMismatch(_) | StorageError::Backend { .. }) => Error::Storage(e),
        }
    }
}

/// A time that is malformed or outside the supported range is bad input.
impl From<TimestampError> for Error {
    fn from(e: TimestampError) -> Self {
        Error::Invalid(e.to_string())
    }
}

impl From<wasmtime::Error> for Error {
    fn from(e: wasmtime::Error) -> Self {
        Error::Runtime(RuntimeError::new(crate::runtime::one_line_error(&e)))
    }
}

impl From<RuntimeError> for Error {
    fn from(e: RuntimeError) -> Self {
        Error::Runtime(e)
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
