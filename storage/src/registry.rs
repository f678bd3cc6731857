//! The tables set up on one backend, shared by every checked store of it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::validate::scoped_schema;
use crate::{StorageError, TableSchema};

/// One registered table: as declared, and as the backend stores it.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) declared: Arc<TableSchema>,
    pub(crate) scoped: Arc<TableSchema>,
}

/// The schemas declared through `setup_models`, by table name. Cheap to clone:
/// clones share one map. Keep one per backend (engine) and hand a clone to
/// every [`CheckedStore`](crate::CheckedStore) of that backend, so a table set
/// up through one store is known to all.
///
/// ```
/// use nexau_session_storage::SchemaRegistry;
/// let registry = SchemaRegistry::new();
/// let shared = registry.clone();
/// assert!(shared.tables().is_empty());
/// ```
#[derive(Debug, Clone, Default)]
pub struct SchemaRegistry {
    inner: Arc<RwLock<HashMap<String, Entry>>>,
}

impl SchemaRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The declared schema of `table` (without the scope column).
    pub fn get(&self, table: &str) -> Option<Arc<TableSchema>> {
        self.read().get(table).map(|e| e.declared.clone())
    }

    /// The schema of `table` as the backend stores it (the scope column first,
    /// and leading the primary key and every index).
    pub fn scoped(&self, table: &str) -> Option<Arc<TableSchema>> {
        self.read().get(table).map(|e| e.scoped.clone())
    }

    /// The names of the registered tables, sorted.
    pub fn tables(&self) -> Vec<String> {
        let mut names: Vec<String> = self.read().keys().cloned().collect();
        names.sort();
        names
    }

    /// Fails with `Invalid` if one of `schemas` names a registered table but
    /// declares it differently.
    pub(crate) fn check_compatible(&self, schemas: &[TableSchema]) -> Result<(), StorageError> {
        let map = self.read();
        for s in schemas {
            if let Some(e) = map.get(&s.name)
                && *e.declared != *s
            {
                return Err(StorageError::Invalid(format!(
                    "table `{}` is already set up with a different schema",
                    s.name
                )));
            }
        }
        Ok(())
    }

    /// Registers `schemas` (already validated), returning nothing; existing
    /// identical entries are kept.
    pub(crate) fn register(&self, schemas: &[TableSchema]) {
        let mut map = self.inner.write().unwrap_or_else(|e| e.into_inner());
        for s in schemas {
            map.entry(s.name.clone())
                .or_insert_with(|| Entry { declared: Arc::new(s.clone()), scoped: Arc::new(scoped_schema(s)) });
        }
    }

    /// Both schemas of `table`, or `TableNotFound`.
    pub(crate) fn entry(&self, table: &str) -> Result<Entry, StorageError> {
        self.read().get(table).cloned().ok_or_else(|| StorageError::TableNotFound(table.to_owned()))
    }

    /// Both schemas of each of `names`, in their order (one read of the
    /// map, no copies of the names), or the first missing name.
    pub(crate) fn entries<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Result<Vec<Entry>, StorageError> {
        let map = self.read();
        names
            .into_iter()
            .map(|name| map.get(name).cloned().ok_or_else(|| StorageError::TableNotFound(name.to_owned())))
            .collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Entry>> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }
}
