//! `jsonl://`: one append-only, human-readable log file per table in a
//! directory, shared safely by several processes.
//!
//! | file | job |
//! |---|---|
//! | `record.rs` | one line: a put, a delete or a compaction header, values typed by column |
//! | `definition.rs` | table definitions in `nexau_schema.jsonl` |
//! | `log_file.rs` | one file: read appends from an offset, append, flush, cut |
//! | `dir_lock.rs` | the directory lock (`nexau.lock` for native processes, `nexau.lock.held` for every writer, WASI included) |
//! | `state.rs` | what this process knows: tables in memory, read offsets; catching up and recovery |
//! | `writer.rs` | appending a batch, sync modes |
//! | `compaction.rs` | rewriting a file with its live rows |
//!
//! The on-disk format is described in the README ("The JSONL format").

mod compaction;
mod definition;
mod dir_lock;
mod log_file;
mod record;
mod state;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use dir_lock::DirLock;
use state::State;
use writer::Durability;
pub use writer::SyncMode;

use super::{BackendKind, TargetKind, TestStore};
use crate::memtable::{Table, apply_batch, net_changes};
use crate::schema_sync::{self, Plan};
use crate::{
    Backend, Compacted, DbUrl, Filter, PackedRows, Query, RowSet, StorageError, TableSchema, Timestamp, WriteOp,
};

/// A backend on a directory of JSONL files (`jsonl:///dir`).
///
/// Each table is one append-only file, `<table>.jsonl`, one JSON record per
/// line; a write appends the rows it put or deleted, never rewriting a file
/// (compaction aside). Every process keeps the tables in memory, with their
/// keys and indexes, and serves reads from there after reading what the
/// others appended since its last look. Writes are serialised across
/// processes by an OS lock on `nexau.lock`; a write decides under that lock
/// (so compare-and-set is exact across processes), appends, and flushes
/// before returning (see [`SyncMode`]). A batch is all-or-nothing even
/// across files after a crash: an unfinished one is cut off, and reported,
/// by the next writer or open. A corrupt record in the middle of a file is
/// an error naming the file and line; it is never skipped.
///
/// ```no_run
/// use nexau_session_storage::{JsonlBackend, SyncMode};
/// let backend = JsonlBackend::open("sessions.d", SyncMode::Always)?;
/// # Ok::<(), nexau_session_storage::StorageError>(())
/// ```
pub struct JsonlBackend {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    lock: DirLock,
    core: Mutex<Core>,
}

struct Core {
    state: State,
    durability: Durability,
}

impl Drop for Core {
    fn drop(&mut self) {
        if let Err(e) = self.durability.flush(&self.state) {
            tracing::warn!(error = %e, "jsonl: flushing the last writes failed");
        }
    }
}

impl std::fmt::Debug for JsonlBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonlBackend").field("dir", &self.inner.dir).finish_non_exhaustive()
    }
}

/// Table names become file names: only identifiers are accepted.
fn check_table_name(name: &str) -> Result<(), StorageError> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok { Ok(()) } else { Err(StorageError::Invalid(format!("jsonl: table name {name:?} is not an identifier"))) }
}

impl Inner {
    fn core(&self) -> MutexGuard<'_, Core> {
        // Every change to the state is complete or rolled back before an
        // error returns, so a panicked holder left nothing half-done.
        self.core.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the state after catching up under the shared lock.
    fn read<T>(&self, f: impl FnOnce(&State) -> Result<T, StorageError>) -> Result<T, StorageError> {
        let mut core = self.core();
        {
            let _held = self.lock.shared()?;
            core.state.catch_up(false)?;
        }
        f(&core.state)
    }

    /// Runs `f` under the exclusive lock after catching up (and repairing).
    fn write<T>(&self, f: impl FnOnce(&mut Core) -> Result<T, StorageError>) -> Result<T, StorageError> {
        let mut core = self.core();
        let _held = self.lock.exclusive()?;
        core.state.catch_up(true)?;
        f(&mut core)
    }
}

impl JsonlBackend {
    /// Opens the directory `dir` (creating it if missing): takes the lock,
    /// removes an interrupted compaction's temp file, cuts off an unfinished
    /// write (reporting it) and reads every table into memory.
    ///
    /// Does blocking file I/O: call it at startup or from `spawn_blocking`.
    pub fn open(dir: impl AsRef<Path>, sync: SyncMode) -> Result<JsonlBackend, StorageError> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir)
            .map_err(|e| StorageError::backend_caused(format!("jsonl: cannot create {}", dir.display()), e))?;
        let lock = DirLock::open(&dir)?;
        let mut state = State::new(&dir);
        {
            let _held = lock.exclusive()?;
            compaction::remove_leftovers(&state)?;
            let schema_file = dir.join(state::file_name(crate::SCHEMA_TABLE));
            if log_file::LogFile::new(schema_file).create()? {
                log_file::sync_dir(&dir)?;
            }
            state.catch_up(true)?;
        }
        let core = Mutex::new(Core { state, durability: Durability::new(sync) });
        Ok(JsonlBackend { inner: Arc::new(Inner { dir, lock, core }) })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Rewrites every table file that holds dead records (replaced or
    /// deleted rows) with only its live rows; returns what it did per table.
    pub async fn compact_files(&self) -> Result<Vec<Compacted>, StorageError> {
        self.blocking(|inner| {
            inner.write(|core| {
                let names: Vec<String> = core.state.tables.keys().cloned().collect();
                let mut done = Vec::new();
                for name in names {
                    let records = core.state.records.get(&name).copied().unwrap_or(0);
                    let live = core.state.tables.get(&name).map_or(0, |t| t.len() as u64);
                    // A compacted file holds its header plus the live rows.
                    if records > live + 1 {
                        done.push(compaction::compact_table(&mut core.state, &name)?);
                    }
                }
                core.durability.flush(&core.state)?;
                Ok(done)
            })
        })
        .await
    }

    /// `read` on `table`'s rows in memory (`find` or `find_packed`).
    async fn read_table<T: Send + 'static>(
        &self,
        table: &TableSchema,
        query: &Query,
        read: fn(&Table, &TableSchema, &Query) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let (schema, query) = (table.clone(), query.clone());
        self.blocking(move |inner| {
            inner.read(|state| {
                let t =
                    state.tables.get(&schema.name).ok_or_else(|| StorageError::TableNotFound(schema.name.clone()))?;
                read(t, &schema, &query)
            })
        })
        .await
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        let inner = self.inner.clone();
        #[cfg(not(target_os = "wasi"))]
        {
            tokio::task::spawn_blocking(move || f(&inner))
                .await
                .map_err(|e| StorageError::backend_caused("jsonl: a storage task failed", e))?
        }
        // WASI has no threads: the file I/O runs in place (a component is
        // one call at a time anyway).
        #[cfg(target_os = "wasi")]
        {
            f(&inner)
        }
    }
}

/// `setup_models` under the exclusive lock: decide everything first (so a
/// refusal changes nothing), create the new tables' files, then record the
/// definitions in one batch.
fn setup(core: &mut Core, schemas: &[TableSchema]) -> Result<(), StorageError> {
    let state = &mut core.state;
    let now = Timestamp::now().to_rfc3339_micros();
    let mut new_definitions: Vec<(TableSchema, String)> = Vec::new();
    for s in schemas {
        check_table_name(&s.name)?;
        let stored = state.tables.get(&s.name).map(Table::stored_columns);
        let recorded = state.recorded.get(&s.name).map(|r| r.created_at.clone());
        match schema_sync::plan(s, recorded.is_some(), stored.as_deref(), |ty| ty.to_string())? {
            Plan::Create => {
                let path = state.dir.join(state::file_name(&s.name));
                if std::fs::metadata(&path).is_ok_and(|m| m.len() > 0) {
                    return Err(StorageError::SchemaMismatch(format!(
                        "jsonl: {} exists but {} does not record table `{}`: refusing to use a file this store did not write",
                        path.display(),
                        state::file_name(crate::SCHEMA_TABLE),
                        s.name
                    )));
                }
                Table::new(s)?;
                new_definitions.push((s.clone(), now.clone()));
            }
            Plan::AddColumns(columns) => {
                let Some(old) = state.tables.get(&s.name) else { continue };
                if columns.is_empty() && old.schema.indexes == s.indexes {
                    continue;
                }
                let t = old.extended(s)?;
                new_definitions.push(((*t.schema).clone(), recorded.unwrap_or_else(|| now.clone())));
            }
        }
    }
    if new_definitions.is_empty() {
        return Ok(());
    }
    let mut created_files = false;
    for (s, _) in &new_definitions {
        created_files |= log_file::LogFile::new(state.dir.join(state::file_name(&s.name))).create()?;
    }
    if created_files {
        log_file::sync_dir(&state.dir)?;
    }
    let changes: Vec<crate::memtable::Change> = new_definitions
        .iter()
        .map(|(s, created)| crate::memtable::Change::Put {
            table: crate::SCHEMA_TABLE.to_owned(),
            row: definition::row(s, created),
        })
        .collect();
    // Definitions are always flushed at once: they are rare and everything depends on them.
    writer::commit(state, &changes, &mut Durability::new(SyncMode::Always))?;
    for (s, created) in new_definitions {
        state.install(s, created)?;
    }
    Ok(())
}

/// `apply` under the exclusive lock: decide on the tables in memory, append
/// the net changes, and compact a table whose file became mostly garbage.
fn apply(core: &mut Core, ops: &[WriteOp]) -> Result<Vec<u64>, StorageError> {
    let Core { state, durability } = core;
    let (counts, undo) = apply_batch(&mut state.tables, ops)?;
    let changes = net_changes(&state.tables, &undo);
    if let Err(e) = writer::commit(state, &changes, durability) {
        crate::memtable::rollback(&mut state.tables, undo);
        return Err(e);
    }
    let touched: std::collections::BTreeSet<&str> = ops.iter().map(WriteOp::table).collect();
    for table in touched {
        if compaction::worth_it(state, table)
            && let Err(e) = durability.flush(state).and_then(|_| compaction::compact_table(state, table))
        {
            tracing::warn!(table, error = %e, "jsonl: automatic compaction failed; the file is unchanged");
        }
    }
    Ok(counts)
}

#[async_trait]
impl Backend for JsonlBackend {
    fn name(&self) -> &'static str {
        "jsonl"
    }

    async fn setup_models(&self, schemas: &[TableSchema]) -> Result<(), StorageError> {
        let schemas = schemas.to_vec();
        self.blocking(move |inner| inner.write(|core| setup(core, &schemas))).await
    }

    async fn find(&self, table: &TableSchema, query: &Query) -> Result<RowSet, StorageError> {
        self.read_table(table, query, Table::find).await
    }

    async fn find_packed(&self, table: &TableSchema, query: &Query) -> Result<PackedRows, StorageError> {
        self.read_table(table, query, Table::find_packed).await
    }

    async fn count(&self, table: &TableSchema, filter: &Filter) -> Result<u64, StorageError> {
        let (name, filter) = (table.name.clone(), filter.clone());
        self.blocking(move |inner| {
            inner.read(|state| {
                state.tables.get(&name).ok_or_else(|| StorageError::TableNotFound(name.clone()))?.count(&filter)
            })
        })
        .await
    }

    async fn apply(&self, ops: &[WriteOp]) -> Result<Vec<u64>, StorageError> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        let ops = ops.to_vec();
        self.blocking(move |inner| inner.write(|core| apply(core, &ops))).await
    }

    async fn compact(&self) -> Result<Option<Vec<Compacted>>, StorageError> {
        self.compact_files().await.map(Some)
    }
}

/// `jsonl:///dir` (relative) or `jsonl:////abs/dir`, with `?sync=always|batch|never`.
pub(crate) static KIND: BackendKind = BackendKind {
    name: "jsonl",
    schemes: &["jsonl"],
    target: TargetKind::Path,
    options: &["sync"],
    open: |url| Box::pin(open_url(url)),
    test_store: || {
        Box::pin(async {
            TestStore::in_temp_dir(|dir| format!("jsonl:///{}", dir.join("sessions.d").display())).map(Some)
        })
    },
};

async fn open_url(url: &DbUrl) -> Result<Arc<dyn Backend>, StorageError> {
    let dir = url.path().ok_or_else(|| StorageError::Url(format!("{url}: a jsonl URL names a directory")))?.to_owned();
    let sync = match url.option("sync") {
        Some(s) => SyncMode::parse(s).map_err(|e| StorageError::Url(format!("{url}: {e}")))?,
        None => SyncMode::Always,
    };
    #[cfg(not(target_os = "wasi"))]
    {
        tokio::task::spawn_blocking(move || Ok(Arc::new(JsonlBackend::open(&dir, sync)?) as Arc<dyn Backend>))
            .await
            .map_err(|e| StorageError::backend_caused("jsonl: opening the directory failed unexpectedly", e))?
    }
    #[cfg(target_os = "wasi")]
    {
        Ok(Arc::new(JsonlBackend::open(&dir, sync)?) as Arc<dyn Backend>)
    }
}
