//! Errors of the storage layer.

use std::sync::Arc;

/// The cause of a [`StorageError::Backend`]: the driver's or the operating
/// system's error, kept for [`std::error::Error::source`].
pub type Cause = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// Why a storage call failed. Mirrors `storage-error` in `wit/storage.wit`.
///
/// ```
/// use nexau_session_storage::StorageError;
/// let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "read-only file system");
/// let e = StorageError::backend_caused("sqlite: cannot open /data/s.db", io);
/// assert_eq!(e.to_string(), "storage backend error: sqlite: cannot open /data/s.db");
/// assert_eq!(std::error::Error::source(&e).unwrap().to_string(), "read-only file system");
/// ```
#[derive(Debug, Clone, thiserror::Error)]
pub enum StorageError {
    /// The table was never set up.
    #[error("table `{0}` does not exist: call Engine::setup_models() first")]
    TableNotFound(String),
    /// A primary or unique key already holds these values; nothing was written.
    #[error("duplicate key: {0}")]
    DuplicateKey(String),
    /// Batch op `0` did not affect the expected number of rows; nothing was written.
    #[error("conflict: batch op {0} did not affect the expected number of rows")]
    Conflict(u32),
    /// The request is wrong (unknown column, wrong value type, bad identifier).
    #[error("invalid storage request: {0}")]
    Invalid(String),
    /// The tables the backend holds do not match the declared schemas in a
    /// way `setup_models` refuses to repair (a table it created is gone, a
    /// column's type changed, a NOT NULL column is missing). Nothing was changed.
    #[error("{0}")]
    SchemaMismatch(String),
    /// A database URL that is malformed, names an unknown backend or an
    /// option the backend does not take.
    #[error("{0}")]
    Url(String),
    /// The backend failed (I/O, connection, corrupt data): `message` says
    /// what it was doing, `source` (when there is one) why it failed.
    #[error("storage backend error: {message}")]
    Backend {
        /// What failed, with its context: the backend, the table, the file.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<Cause>,
    },
}

impl StorageError {
    /// A backend failure with no underlying error.
    pub fn backend(message: impl Into<String>) -> Self {
        StorageError::Backend { message: message.into(), source: None }
    }

    /// A backend failure caused by `source`.
    pub fn backend_caused(message: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        StorageError::Backend { message: message.into(), source: Some(Arc::new(source)) }
    }
}

/// `e`'s text followed by its causes', each text once (drivers often repeat
/// a cause in the message above it), joined by `: `.
///
/// ```
/// use nexau_session_storage::{StorageError, error_chain};
/// let io = std::io::Error::other("disk full");
/// assert_eq!(error_chain(&StorageError::backend_caused("jsonl: append", io)), "storage backend error: jsonl: append: disk full");
/// ```
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// Equal when of the same kind with the same text; a backend failure's
/// cause is not compared.
impl PartialEq for StorageError {
    fn eq(&self, other: &Self) -> bool {
        use StorageError::*;
        match (self, other) {
            (TableNotFound(a), TableNotFound(b))
            | (DuplicateKey(a), DuplicateKey(b))
            | (Invalid(a), Invalid(b))
            | (SchemaMismatch(a), SchemaMismatch(b))
            | (Url(a), Url(b)) => a == b,
            (Conflict(a), Conflict(b)) => a == b,
            (Backend { message: a, .. }, Backend { message: b, .. }) => a == b,
            _ => false,
        }
    }
}

impl Eq for StorageError {}
