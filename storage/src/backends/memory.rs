//! `memory://`: a backend that keeps everything in process memory.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use super::{BackendKind, TargetKind, TestStore};
use crate::memtable::{Table, Tables, apply_batch};
use crate::schema_sync::{self, Plan};
use crate::{Backend, Filter, PackedRows, Query, RowSet, StorageError, TableSchema, Timestamp, WriteOp};

/// A backend that keeps every table in process memory (`memory://`); the data
/// is gone when the value is dropped.
///
/// Primary and unique keys are enforced through ordered indexes (a key with a
/// NULL part never collides). Every call is atomic: writes are recorded in an
/// undo log and rolled back on any error, so a failed `apply` leaves nothing
/// behind. Filters follow SQL semantics (a comparison with NULL is unknown,
/// and so is its negation), so results agree with the SQL backends.
/// `setup_models` follows the same rules as on SQL backends: it remembers the
/// tables it created and adds declared nullable columns to existing tables.
///
/// ```
/// use nexau_session_storage::{Backend, MemoryBackend};
/// let backend = MemoryBackend::new();
/// assert_eq!(backend.name(), "memory");
/// ```
#[derive(Debug, Default)]
pub struct MemoryBackend {
    state: Mutex<Tables>,
    /// The tables `setup_models` created, and when (the SQL backends keep this
    /// in `nexau_schema`). Locked only while `state` is.
    created: Mutex<BTreeMap<String, Timestamp>>,
}

impl MemoryBackend {
    /// An empty in-memory backend.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Tables> {
        // A panic while holding the lock cannot leave a half-applied batch
        // behind unless it happened mid-write; the undo log runs before any
        // error returns, so recovering the guard is sound for our own code.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn table<'a>(tables: &'a Tables, name: &str) -> Result<&'a Table, StorageError> {
    tables.get(name).ok_or_else(|| StorageError::TableNotFound(name.to_owned()))
}

#[async_trait]
impl Backend for MemoryBackend {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn setup_models(&self, schemas: &[TableSchema]) -> Result<(), StorageError> {
        let mut tables = self.lock();
        let mut created = self.created.lock().unwrap_or_else(|e| e.into_inner());
        // Everything is decided and built first, so a refusal changes nothing.
        let mut built = Vec::new();
        for s in schemas {
            let stored = tables.get(&s.name).map(Table::stored_columns);
            match schema_sync::plan(s, created.contains_key(&s.name), stored.as_deref(), |ty| ty.to_string())? {
                Plan::Create => built.push(Table::new(s)?),
                Plan::AddColumns(columns) if columns.is_empty() => {}
                Plan::AddColumns(_) => {
                    let old = table(&tables, &s.name)?;
                    built.push(old.extended(s)?);
                }
            }
        }
        for t in built {
            tables.insert(t.schema.name.clone(), t);
        }
        let now = Timestamp::now();
        for s in schemas {
            created.entry(s.name.clone()).or_insert(now);
        }
        Ok(())
    }

    async fn find(&self, schema: &TableSchema, query: &Query) -> Result<RowSet, StorageError> {
        let tables = self.lock();
        table(&tables, &schema.name)?.find(schema, query)
    }

    async fn find_packed(&self, schema: &TableSchema, query: &Query) -> Result<PackedRows, StorageError> {
        let tables = self.lock();
        table(&tables, &schema.name)?.find_packed(schema, query)
    }

    async fn count(&self, schema: &TableSchema, filter: &Filter) -> Result<u64, StorageError> {
        let tables = self.lock();
        table(&tables, &schema.name)?.count(filter)
    }

    async fn apply(&self, ops: &[WriteOp]) -> Result<Vec<u64>, StorageError> {
        let mut tables = self.lock();
        apply_batch(&mut tables, ops).map(|(counts, _undo)| counts)
    }
}

/// `memory://`: process memory, for tests; gone when the process exits.
pub(crate) static KIND: BackendKind = BackendKind {
    name: "memory",
    schemes: &["memory"],
    target: TargetKind::None,
    options: &[],
    open: |_url| Box::pin(async { Ok(Arc::new(MemoryBackend::new()) as Arc<dyn Backend>) }),
    test_store: || Box::pin(async { Ok(Some(TestStore::new("memory://"))) }),
};
