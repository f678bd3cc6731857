//! [`Engine`]: one storage backend, the session-logic runtime, and a scope.

mod history;
mod locks;
mod maintenance;
pub(crate) mod message_rows;
mod models;
mod portable;
mod records;
mod sessions;
mod upgrade;
#[cfg(test)]
mod warm_tests;
pub(crate) mod wit_map;

use std::path::PathBuf;
use std::sync::Arc;

use nexau_session_storage::{Backend, CheckedStore, Compacted, SchemaRegistry, TableSchema};

use crate::runtime::StorageFailure;
use crate::runtime::bindings::exports::nexau::session::types::{
    ErrorKind as WitErrorKind, SessionError as WitSessionError,
};
use crate::runtime::{Instance, Limits, RandomSource, Runtime};
use crate::{Clock, DbUrl, Error, Result, RuntimeError, clock_from_env};

pub use history::{Fence, HistoryAction, HistoryPage, PAGE_BYTES, PageCursor, PageStart, RunStatus, WriteOptions};
pub use locks::AcquireOutcome;
pub use models::{AgentLockModel, AgentModel, AgentRunActionModel, SessionModel};
pub use portable::{ImportOutcome, SessionRows, StaleSession};
pub use records::{DeleteRule, Record, RowReader};

/// The scope a store uses unless told otherwise.
pub const DEFAULT_SCOPE: &str = "default";

/// The entry point: a storage backend plus the session logic that runs on it.
///
/// ```no_run
/// # async fn demo() -> nexau_session::Result<()> {
/// use nexau_session::Engine;
/// let engine = Engine::from_url("sqlite+aiosqlite:///sessions.db").await?;
/// engine.setup_models().await?;
/// let session = engine.get_or_create_session("user_123", None).await?;
/// println!("{}", session.session_id);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Engine {
    runtime: Runtime,
    backend: Arc<dyn Backend>,
    registry: SchemaRegistry,
    store: Arc<CheckedStore>,
    scope: String,
}

/// Configures an [`Engine`].
pub struct EngineBuilder {
    storage: StorageSource,
    clock: Option<Arc<dyn Clock>>,
    scope: String,
    limits: Limits,
    component: Option<ComponentSource>,
    random: Option<Arc<dyn RandomSource>>,
}

/// Where an engine's rows live.
enum StorageSource {
    Url(String),
    /// A URL checked by [`DbUrl::parse`], not opened yet.
    Parsed(DbUrl),
    Backend(Arc<dyn Backend>),
}

/// Which build of the session logic an engine runs, when not the embedded one.
enum ComponentSource {
    Bytes(Vec<u8>),
    File(PathBuf),
}

impl EngineBuilder {
    fn on(storage: StorageSource) -> EngineBuilder {
        EngineBuilder {
            storage,
            clock: None,
            scope: DEFAULT_SCOPE.to_owned(),
            limits: Limits::default(),
            component: None,
            random: None,
        }
    }

    /// The clock (default: `NEXAU_SESSION_NOW` when set, else the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The tenant scope every storage call is bound to (default `"default"`).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }

    /// Per-call limits on the session logic.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Runs another build of the session-logic component, given as its
    /// bytes, instead of the one embedded in this library (see
    /// [`Runtime::with_component`] for what it must export and import).
    pub fn component(mut self, wasm: Vec<u8>) -> Self {
        self.component = Some(ComponentSource::Bytes(wasm));
        self
    }

    /// Runs the session-logic component in the file at `path` instead of
    /// the embedded one; as [`EngineBuilder::component`].
    pub fn component_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.component = Some(ComponentSource::File(path.into()));
        self
    }

    /// Takes the component's random numbers from `source` instead of the
    /// operating system (tests, simulations).
    pub fn random_source(mut self, source: Arc<dyn RandomSource>) -> Self {
        self.random = Some(source);
        self
    }

    /// Prepares the runtime, then opens the storage. A component that cannot
    /// run here is refused ([`Error::Invalid`]) before the storage is opened.
    pub async fn build(self) -> Result<Engine> {
        let storage = match self.storage {
            StorageSource::Url(url) => StorageSource::Parsed(DbUrl::parse(&url)?),
            other => other,
        };
        let clock = match self.clock {
            Some(c) => c,
            None => clock_from_env()?,
        };
        let mut runtime = match self.component {
            None => Runtime::new(clock, self.limits)?,
            Some(ComponentSource::Bytes(wasm)) => Runtime::with_component(clock, self.limits, &wasm)?,
            Some(ComponentSource::File(path)) => {
                let wasm = std::fs::read(&path)
                    .map_err(|e| Error::Invalid(format!("component file {}: {e}", path.display())))?;
                Runtime::with_component(clock, self.limits, &wasm)
                    .map_err(|e| prefix_invalid(e, &format!("component file {}", path.display())))?
            }
        };
        if let Some(source) = self.random {
            runtime = runtime.with_random_source(source);
        }
        let backend = match storage {
            StorageSource::Url(url) => nexau_session_storage::backends::open(&DbUrl::parse(&url)?).await?,
            StorageSource::Parsed(url) => nexau_session_storage::backends::open(&url).await?,
            StorageSource::Backend(backend) => backend,
        };
        Ok(Engine::assemble(runtime, backend, SchemaRegistry::default(), self.scope))
    }
}

/// `e` with `what` in front of its message, when it is [`Error::Invalid`].
fn prefix_invalid(e: Error, what: &str) -> Error {
    match e {
        Error::Invalid(m) => Error::Invalid(format!("{what}: {m}")),
        other => other,
    }
}

impl Engine {
    /// Opens the backend `url` names with the default settings; see [`DbUrl::parse`]
    /// for the accepted URLs.
    pub async fn from_url(url: &str) -> Result<Engine> {
        Engine::builder(url).build().await
    }

    /// A builder for an engine on `url`.
    pub fn builder(url: &str) -> EngineBuilder {
        EngineBuilder::on(StorageSource::Url(url.to_owned()))
    }

    /// A builder for an engine on a storage backend of your own: any
    /// [`Backend`], held behind the same checks and scoping as the built-in ones.
    pub fn builder_on_backend(backend: Arc<dyn Backend>) -> EngineBuilder {
        EngineBuilder::on(StorageSource::Backend(backend))
    }

    fn assemble(runtime: Runtime, backend: Arc<dyn Backend>, registry: SchemaRegistry, scope: String) -> Engine {
        let store = Arc::new(CheckedStore::new(backend.clone(), registry.clone(), scope.clone()));
        Engine { runtime, backend, registry, store, scope }
    }

    /// The same backend and runtime, bound to another tenant scope: nothing of
    /// one scope is visible from another.
    pub fn with_scope(&self, scope: impl Into<String>) -> Engine {
        Engine::assemble(self.runtime.clone(), self.backend.clone(), self.registry.clone(), scope.into())
    }

    /// The same storage, scope and tables, running another build of the
    /// session-logic component (its bytes; see [`Runtime::with_component`]
    /// for what it must export and import) under the same clock and limits:
    /// to try a new build on the data of a running one.
    pub fn with_component(&self, wasm: &[u8]) -> Result<Engine> {
        let runtime = self.runtime.switched_to(wasm)?;
        Ok(Engine::assemble(runtime, self.backend.clone(), self.registry.clone(), self.scope.clone()))
    }

    /// The same backend and scope, with the session logic seeing `clock`
    /// (an import stamps each action with its original time this way).
    pub(crate) fn with_clock(&self, clock: Arc<dyn Clock>) -> Engine {
        Engine::assemble(
            self.runtime.with_clock(clock),
            self.backend.clone(),
            self.registry.clone(),
            self.scope.clone(),
        )
    }

    /// The checked store this engine's calls go through (scoped, validated).
    pub(crate) fn checked_store(&self) -> &Arc<CheckedStore> {
        &self.store
    }

    /// The tenant scope of this engine.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// The clock the session logic sees.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        self.runtime.clock()
    }

    /// Creates the tables and indexes that are missing (idempotent), and
    /// gives agents written by nexau-session 0.1 the per-message history rows
    /// this version reads (once per agent). Call it once per process before
    /// anything else.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn setup_models(&self) -> Result<()> {
        let mut i = self.instance().await?;
        let r = i.logic.nexau_session_sessions().call_setup_models(&mut i.store).await;
        i.settle(r)?;
        let upgraded = self.upgrade_legacy_agents().await?;
        if upgraded > 0 {
            tracing::info!(upgraded, "gave agents written by nexau-session 0.1 their per-message history rows");
        }
        Ok(())
    }

    /// Rewrites the backend's files without their dead records, when it keeps
    /// any (JSONL): what it did per table; `None` when the backend has
    /// nothing to compact (SQLite, memory).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn compact(&self) -> Result<Option<Vec<Compacted>>> {
        Ok(self.backend.compact().await?)
    }

    /// The declared schema of one of the session logic's tables (after
    /// [`Engine::setup_models`]), without the host's scope column.
    pub fn table_schema(&self, table: &str) -> Result<TableSchema> {
        self.store.schema(table).map(|s| (*s).clone()).ok_or_else(|| Error::TableNotFound(table.to_owned()))
    }

    /// The tables the session logic declares, in
    /// [`tables::ALL`](nexau_session_tables::ALL) order, learnt without
    /// touching any store (the component declares them to a scratch
    /// in-memory one): for checking a command's filters and sort keys before
    /// its database is opened.
    pub async fn declared_schemas() -> Result<Vec<TableSchema>> {
        let scratch = Engine::builder("memory://").clock(Arc::new(crate::SystemClock)).build().await?;
        scratch.setup_models().await?;
        scratch.table_schemas()
    }

    async fn instance(&self) -> Result<Instance> {
        self.runtime.instance(self.store.clone()).await
    }
}

impl Instance {
    /// The outcome of one exported call: a failure in the runtime explained
    /// (see [`Instance::explain`]), an error of the session logic mapped. A
    /// call that failed after storage did is reported with storage's error,
    /// cause and all (the session logic saw only its text), or with the byte
    /// limit it ran into. An instance whose call ended normally (with a
    /// result or an error of the session logic) is kept for the next call
    /// of its scope; one that failed in the runtime is dropped.
    fn settle<T>(mut self, outcome: wasmtime::Result<std::result::Result<T, WitSessionError>>) -> Result<T> {
        let failure = self.take_storage_failure();
        let limit = self.limits().host_call_bytes;
        let outcome = match outcome {
            Ok(returned) => {
                self.recycle();
                returned
            }
            Err(e) => return Err(self.explain(e)),
        };
        match outcome {
            Ok(v) => Ok(v),
            Err(e) => Err(match failure {
                Some(StorageFailure::BudgetSpent) => Error::Runtime(RuntimeError::new(format!(
                    "the call moved more than {limit} bytes through storage (Limits::host_call_bytes)"
                ))),
                Some(StorageFailure::Backend(cause)) if e.kind == WitErrorKind::Backend => Error::Storage(cause),
                _ => wit_map::error(e),
            }),
        }
    }
}
