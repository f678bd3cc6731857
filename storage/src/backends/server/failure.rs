//! How a server driver's errors become [`StorageError`]s: each driver sorts
//! its errors into a [`Failure`]; the shared code adds the table and backend
//! names, keeping the server's message as the cause.

use std::time::Duration;

use crate::StorageError;

/// A driver error, sorted by what the caller can do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// A primary or unique key already holds the values.
    Duplicate(String),
    /// A serialization failure or deadlock: the transaction may succeed if run again.
    Retry(String),
    /// The table does not exist.
    NoTable,
    /// The server refused a value (too long for its column, not valid text).
    BadValue(String),
    /// Anything else (connection lost, server error), with its cause.
    Other(String),
}

impl Failure {
    /// The storage error for this failure met by backend `backend` on `table`
    /// (empty when no single table is concerned).
    pub(crate) fn into_storage(self, backend: &str, table: &str) -> StorageError {
        let on = if table.is_empty() { String::new() } else { format!("table `{table}`: ") };
        match self {
            Failure::Duplicate(m) => StorageError::DuplicateKey(format!("{on}{m}")),
            Failure::NoTable => StorageError::TableNotFound(table.to_owned()),
            Failure::BadValue(m) => StorageError::Invalid(format!("{on}{m}")),
            Failure::Retry(m) => {
                StorageError::backend(format!("{backend}: {on}concurrent transactions kept conflicting: {m}"))
            }
            Failure::Other(m) => StorageError::backend(format!("{backend}: {on}{m}")),
        }
    }
}

/// How many times `apply` runs a batch that keeps hitting serialization
/// failures or deadlocks before it reports a conflict.
pub(crate) const MAX_ATTEMPTS: u32 = 12;

/// The pause before attempt `attempt` (1-based) of a batch: exponential from
/// 2 ms, capped at 200 ms, with jitter so that the contenders spread out.
pub(crate) fn backoff(attempt: u32) -> Duration {
    let base_ms = 2u64.saturating_mul(1 << attempt.min(7)).min(200);
    let jitter = rand::random_range(0.5..1.5);
    Duration::from_secs_f64(base_ms as f64 * jitter / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_keep_table_and_cause() {
        let e = Failure::Duplicate("key (id)=(1) exists".into()).into_storage("postgres", "items");
        assert_eq!(e, StorageError::DuplicateKey("table `items`: key (id)=(1) exists".into()));
        assert_eq!(Failure::NoTable.into_storage("mysql", "t"), StorageError::TableNotFound("t".into()));
        let e = Failure::Other("connection reset".into()).into_storage("mysql", "");
        assert_eq!(e, StorageError::backend("mysql: connection reset"));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) <= Duration::from_millis(7));
        assert!(backoff(30) <= Duration::from_millis(300));
        assert!(backoff(30) >= Duration::from_millis(100));
    }
}
