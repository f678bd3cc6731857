//! Throw-away databases on a real server for tests: a unique name per test
//! store, and its removal when the store is dropped, so tests run in
//! parallel and leave the server as they found it.

use std::future::Future;

use crate::StorageError;
use crate::backends::{TestStore, unique_suffix};

/// A name no other test store uses: `nexau_test_<pid>_<n>_<nanos>`.
pub(crate) fn unique_name() -> String {
    format!("nexau_test_{}", unique_suffix())
}

/// A test store at `url`, removed by running `remove` when it drops.
pub(crate) fn store_removed_by<F, Fut>(url: String, remove: F) -> TestStore
where
    F: FnOnce() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), StorageError>> + Send + 'static,
{
    let shown = crate::redact(&url);
    TestStore::with_cleanup(url, move || {
        if let Err(e) = run_detached(remove()) {
            eprintln!("warning: could not remove test store {shown}: {e}");
        }
    })
}

/// The server URL tests use, from environment variable `var`; `None` when
/// it is unset or empty (the server tests are then skipped).
pub(crate) fn env_url(var: &str) -> Option<String> {
    std::env::var(var).ok().map(|u| u.trim().to_owned()).filter(|u| !u.is_empty())
}

/// `url` with `name=value` added to its query.
#[cfg(any(feature = "postgres", test))]
pub(crate) fn with_option(url: &str, name: &str, value: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{name}={value}")
}

/// `url` naming database `database` instead of its own.
#[cfg(any(feature = "mysql", test))]
pub(crate) fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{database}", &base[..authority_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Runs `work` to completion from synchronous code (a `Drop`), on a thread of
/// its own with its own runtime, so it works inside or outside a runtime.
pub(crate) fn run_detached<F>(work: F) -> Result<(), StorageError>
where
    F: Future<Output = Result<(), StorageError>> + Send + 'static,
{
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StorageError::backend_caused("cannot start a runtime for test cleanup", e))?;
        runtime.block_on(work)
    });
    thread.join().map_err(|_| StorageError::backend("test cleanup panicked"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_rewritten() {
        assert_eq!(with_database("mysql://root@h:3306/test", "x"), "mysql://root@h:3306/x");
        assert_eq!(with_database("mysql://root@h/test?pool_size=2", "x"), "mysql://root@h/x?pool_size=2");
        assert_eq!(with_database("mysql://h", "x"), "mysql://h/x");
        assert_eq!(with_option("postgres://h/db", "schema", "s"), "postgres://h/db?schema=s");
        assert_eq!(with_option("postgres://h/db?pool_size=1", "schema", "s"), "postgres://h/db?pool_size=1&schema=s");
        assert_ne!(unique_name(), unique_name());
    }
}
