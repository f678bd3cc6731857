//! The component's error type and the mapping from storage errors.

pub use crate::bindings::exports::nexau::session::types::SessionError;
use crate::bindings::nexau::session::storage::StorageError;
use crate::prelude::*;

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
pub fn too_many_conflicts(what: &str) -> SessionError {
    SessionError::Conflict(cat(&[what, ": concurrent writers kept colliding; retry the call"]))
}

/// Maps a storage error that the caller did not expect.
pub fn from_storage(e: StorageError) -> SessionError {
    match e {
        StorageError::TableNotFound(t) => SessionError::TableNotFound(t),
        StorageError::DuplicateKey(m) => SessionError::Conflict(m),
        StorageError::Conflict(i) => {
            SessionError::Conflict(cat(&["storage batch op ", &num(u64::from(i)), " did not affect the expected rows"]))
        }
        StorageError::Invalid(m) => SessionError::Invalid(m),
        StorageError::Backend(m) => SessionError::Backend(m),
    }
}
