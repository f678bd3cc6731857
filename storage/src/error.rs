//! Errors of the storage layer.

/// Why a storage call failed. Mirrors `storage-error` in `wit/storage.wit`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
    /// The backend failed (I/O, connection, corrupt data).
    #[error("storage backend error: {0}")]
    Backend(String),
}
