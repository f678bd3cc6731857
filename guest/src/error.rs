//! The component's error type and the mapping from storage errors.

use crate::bindings::exports::nexau::session::types::{self as wit, ErrorKind};
use crate::bindings::nexau::session::storage::StorageError;
use crate::prelude::*;

/// Why a call failed (see `session-error` in `wit/types.wit`).
#[derive(Debug, Clone, PartialEq)]
pub enum SessionError {
    /// Bad input; nothing was written.
    Invalid(String),
    /// The named session, agent or run does not exist.
    NotFound(String),
    /// The table was never set up.
    TableNotFound(String),
    /// A fencing token is no longer the lock's.
    LockExpired(String),
    /// A versioned update saw another version; the current one.
    VersionConflict(u64),
    /// Concurrent writers kept colliding.
    Conflict(String),
    /// The storage backend failed.
    Backend(String),
}

impl SessionError {
    /// The WIT form (one flat record: cheap to pass out of the component).
    #[inline(never)]
    pub fn into_wit(self) -> wit::SessionError {
        let (kind, message, current_version) = match self {
            SessionError::Invalid(m) => (ErrorKind::Invalid, m, 0),
            SessionError::NotFound(m) => (ErrorKind::NotFound, m, 0),
            SessionError::TableNotFound(m) => (ErrorKind::TableNotFound, m, 0),
            SessionError::LockExpired(m) => (ErrorKind::LockExpired, m, 0),
            SessionError::VersionConflict(v) => (ErrorKind::VersionConflict, String::new(), v),
            SessionError::Conflict(m) => (ErrorKind::Conflict, m, 0),
            SessionError::Backend(m) => (ErrorKind::Backend, m, 0),
        };
        wit::SessionError { kind, message, current_version }
    }
}

/// Result of every operation of the session logic.
pub type Res<T> = Result<T, SessionError>;

/// How many times a call retries at once after losing a race on storage.
pub const MAX_ATTEMPTS: usize = 32;

/// `invalid` with this message.
pub fn invalid(msg: impl Into<String>) -> SessionError {
    SessionError::Invalid(msg.into())
}

/// `not-found` with this message.
pub fn not_found(msg: impl Into<String>) -> SessionError {
    SessionError::NotFound(msg.into())
}

/// `conflict` after the retries ran out.
#[inline(never)]
pub fn too_many_conflicts(what: &str) -> SessionError {
    SessionError::Conflict(cat(&[what, ": too many concurrent writers; retry"]))
}

/// Maps a storage error that the caller did not expect.
#[inline(never)]
pub fn from_storage(e: StorageError) -> SessionError {
    match e {
        StorageError::TableNotFound(t) => SessionError::TableNotFound(t),
        StorageError::DuplicateKey(m) => SessionError::Conflict(m),
        StorageError::Conflict(i) => {
            SessionError::Conflict(cat(&["batch op ", &num(u64::from(i)), ": unexpected row count"]))
        }
        StorageError::Invalid(m) => SessionError::Invalid(m),
        StorageError::Backend(m) => SessionError::Backend(m),
    }
}
