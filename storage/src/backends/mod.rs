//! The backend registry: every storage backend this build knows, in one list.
//!
//! To add a backend, write `backends/<name>.rs` (the [`Backend`] impl and a
//! `pub(crate) static KIND: BackendKind` declaring its URL schemes, how it
//! opens and its test fixture) and add one line to [`BACKENDS`], behind the
//! backend's Cargo feature if it brings dependencies. [`DbUrl::parse`],
//! `Engine::from_url`, the conformance suites, the lock tests and the
//! benchmark all iterate this list.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::{Backend, DbUrl, StorageError};

#[cfg(feature = "jsonl")]
pub mod jsonl;
pub mod memory;
#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod server;
#[cfg(feature = "sqlite")]
pub mod sqlite;

/// A boxed, sendable future: what the registry's function pointers return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How a backend opens: from a parsed URL of its kind to the backend.
pub type OpenFn = for<'a> fn(&'a DbUrl) -> BoxFuture<'a, Result<Arc<dyn Backend>, StorageError>>;

/// How a backend makes a fresh, empty store for a test.
pub type TestStoreFn = fn() -> BoxFuture<'static, Result<Option<TestStore>, StorageError>>;

/// Every backend of this build, the default (SQLite) first after memory.
pub static BACKENDS: &[&BackendKind] = &[
    &memory::KIND,
    #[cfg(feature = "sqlite")]
    &sqlite::KIND,
    #[cfg(feature = "jsonl")]
    &jsonl::KIND,
    #[cfg(feature = "postgres")]
    &postgres::KIND,
    #[cfg(feature = "mysql")]
    &mysql::KIND,
];

/// What a backend's URL names after `scheme://`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// Nothing (`memory://`).
    None,
    /// A file or directory, by SQLAlchemy's slash rule (`sqlite:///rel.db`, `sqlite:////abs.db`).
    Path,
    /// A server: `user:password@host:port/database`.
    Server,
}

/// One registered backend: its name, its URLs, how it opens, and how tests
/// get a fresh, empty instance of it.
pub struct BackendKind {
    /// The backend's name, as [`Backend::name`] reports it.
    pub name: &'static str,
    /// The URL scheme drivers that select it (before any `+`: `sqlite` for
    /// `sqlite+aiosqlite://`). The first is the canonical one.
    pub schemes: &'static [&'static str],
    /// What its URLs name after `scheme://`.
    pub target: TargetKind,
    /// The `?query` options its URLs accept; any other is refused.
    pub options: &'static [&'static str],
    /// Opens the backend a parsed URL of this kind names.
    pub open: OpenFn,
    /// A fresh, empty store for a test, or `Ok(None)` when this machine
    /// cannot provide one (a server backend whose test URL is not set).
    pub test_store: TestStoreFn,
}

impl std::fmt::Debug for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendKind").field("name", &self.name).field("schemes", &self.schemes).finish_non_exhaustive()
    }
}

/// Opens the backend `url` names.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use nexau_session_storage::{DbUrl, backends};
/// let backend = backends::open(&DbUrl::parse("memory://")?).await?;
/// assert_eq!(backend.name(), "memory");
/// # Ok::<(), nexau_session_storage::StorageError>(()) }).unwrap();
/// ```
pub async fn open(url: &DbUrl) -> Result<Arc<dyn Backend>, StorageError> {
    (url.kind().open)(url).await
}

/// The registered backend called `name`.
pub fn by_name(name: &str) -> Option<&'static BackendKind> {
    BACKENDS.iter().copied().find(|k| k.name == name)
}

/// A fresh, empty store for one test: its URL, and whatever must be removed
/// when the test ends (a temporary directory, a test schema), removed when
/// this value drops.
pub struct TestStore {
    /// The URL that opens the store.
    pub url: String,
    cleanup: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl TestStore {
    /// A store at `url` with nothing to clean up.
    pub fn new(url: impl Into<String>) -> Self {
        TestStore { url: url.into(), cleanup: None }
    }

    /// A store at `url`; `cleanup` runs when it drops.
    pub fn with_cleanup(url: impl Into<String>, cleanup: impl FnOnce() + Send + Sync + 'static) -> Self {
        TestStore { url: url.into(), cleanup: Some(Box::new(cleanup)) }
    }

    /// A store in a new, empty directory under the system temp directory,
    /// removed on drop; `url_for` makes the URL from the directory.
    pub fn in_temp_dir(url_for: impl FnOnce(&std::path::Path) -> String) -> Result<Self, StorageError> {
        let dir = std::env::temp_dir().join(format!("nexau-session-test-{}", unique_suffix()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| StorageError::backend_caused(format!("cannot create {}", dir.display()), e))?;
        let url = url_for(&dir);
        Ok(TestStore::with_cleanup(url, move || {
            let _ = std::fs::remove_dir_all(&dir);
        }))
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        if let Some(cleanup) = self.cleanup.take() {
            cleanup();
        }
    }
}

impl std::fmt::Debug for TestStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestStore").field("url", &crate::redact(&self.url)).finish_non_exhaustive()
    }
}

/// A name part no other test store of any process shares: the process id, a
/// per-process counter and the clock's nanoseconds.
pub fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{}_{n}_{nanos:08x}", std::process::id())
}
