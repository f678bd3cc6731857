//! The store the host hands to the session logic: validated and scoped.

use std::sync::Arc;

use crate::registry::Entry;
use crate::validate::{self, SCOPE_COLUMN};
use crate::{Backend, Filter, PackedRows, Query, RowSet, SchemaRegistry, StorageError, TableSchema, Value, WriteOp};

/// A [`Backend`] bound to one scope (tenant), checking every request against
/// the declared schemas first.
///
/// * `setup_models` validates the schemas, adds a `scope` text column (leading
///   the primary key and every index) and creates them on the backend.
/// * Every other call fails with [`StorageError::TableNotFound`] for a table
///   not set up, and with [`StorageError::Invalid`] for unknown columns or
///   values that do not fit their column. Values are normalized: integers into
///   float columns become floats, text into timestamp columns becomes canonical
///   RFC 3339 (`2026-01-01T00:00:00.000000Z`), text into JSON columns must parse.
/// * Every filter gets `scope = <this scope>` and every inserted row gets the
///   scope, so a store can neither read nor write another scope's rows; rows
///   returned by `find` do not show the scope column.
///
/// Cloning is cheap; clones share the backend and the registry.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use nexau_session_storage::*;
/// let backend = Arc::new(MemoryBackend::new());
/// let store = CheckedStore::new(backend, SchemaRegistry::new(), "tenant_a");
/// store.setup_models(vec![TableSchema {
///     name: "notes".into(),
///     columns: vec![Column { name: "id".into(), ty: ColumnType::Int, nullable: false },
///                   Column { name: "body".into(), ty: ColumnType::Text, nullable: true }],
///     primary_key: vec!["id".into()],
///     indexes: vec![],
/// }]).await?;
/// let rows = RowSet { columns: vec!["id".into(), "body".into()], rows: vec![vec![1i64.into(), "hi".into()]] };
/// assert_eq!(store.insert("notes", rows).await?, 1);
/// let found = store.find("notes", &Query::filter(Filter::eq("id", 1i64))).await?;
/// assert_eq!(found.get(0, "body"), Some(&Value::from("hi")));
/// # Ok::<(), StorageError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct CheckedStore {
    backend: Arc<dyn Backend>,
    registry: SchemaRegistry,
    scope: Arc<str>,
}

impl std::fmt::Debug for CheckedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckedStore").field("backend", &self.backend.name()).field("scope", &self.scope).finish()
    }
}

impl CheckedStore {
    /// A store over `backend` bound to `scope`. `registry` must be the one
    /// shared by every store of this backend.
    pub fn new(backend: Arc<dyn Backend>, registry: SchemaRegistry, scope: impl Into<String>) -> Self {
        let scope: String = scope.into();
        CheckedStore { backend, registry, scope: scope.into() }
    }

    /// The scope every call is bound to.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// The backend underneath.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// The shared schema registry.
    pub fn registry(&self) -> &SchemaRegistry {
        &self.registry
    }

    /// The names of the tables set up so far, sorted.
    pub fn tables(&self) -> Vec<String> {
        self.registry.tables()
    }

    /// The declared schema of `name` (without the scope column).
    pub fn schema(&self, name: &str) -> Option<Arc<TableSchema>> {
        self.registry.get(name)
    }

    /// Validates `schemas`, creates what is missing on the backend and
    /// registers them. Idempotent; declaring a registered table differently is
    /// `Invalid`.
    pub async fn setup_models(&self, schemas: Vec<TableSchema>) -> Result<(), StorageError> {
        validate::check_schemas(&schemas)?;
        self.registry.check_compatible(&schemas)?;
        let scoped: Vec<TableSchema> = schemas.iter().map(validate::scoped_schema).collect();
        self.backend.setup_models(&scoped).await?;
        self.registry.register(&schemas);
        Ok(())
    }

    fn scope_filter(&self, filter: Filter) -> Filter {
        let mine = Filter::eq(SCOPE_COLUMN, Value::Text(self.scope.to_string()));
        match filter {
            Filter::All => mine,
            other => Filter::And(vec![mine, other]),
        }
    }

    /// Checks and scopes one write op against its declared schema.
    fn check_op(&self, declared: &TableSchema, op: WriteOp) -> Result<WriteOp, StorageError> {
        Ok(match op {
            WriteOp::Insert { table, rows } => {
                let mut rows = validate::check_rows(declared, rows)?;
                rows.columns.insert(0, SCOPE_COLUMN.to_owned());
                for row in &mut rows.rows {
                    row.insert(0, Value::Text(self.scope.to_string()));
                }
                WriteOp::Insert { table, rows }
            }
            WriteOp::Update { table, filter, set, expect } => {
                let set = validate::check_assignments(declared, set)?;
                let filter = self.scope_filter(validate::check_filter(declared, filter)?);
                WriteOp::Update { table, filter, set, expect }
            }
            WriteOp::Delete { table, filter, expect } => {
                let filter = self.scope_filter(validate::check_filter(declared, filter)?);
                WriteOp::Delete { table, filter, expect }
            }
            WriteOp::Check { table, filter, expect } => {
                let filter = self.scope_filter(validate::check_filter(declared, filter)?);
                WriteOp::Check { table, filter, expect }
            }
        })
    }

    /// Inserts rows; fails with `DuplicateKey` (inserting none) on a key
    /// conflict. Returns the number of rows inserted.
    pub async fn insert(&self, table: &str, rows: RowSet) -> Result<u64, StorageError> {
        let n = self.apply(vec![WriteOp::Insert { table: table.to_owned(), rows }]).await?;
        Ok(n.first().copied().unwrap_or(0))
    }

    /// The rows matching `query`: its columns (each declared, each once),
    /// or every declared column in declaration order.
    pub async fn find(&self, table: &str, query: &Query) -> Result<RowSet, StorageError> {
        self.find_owned(table, query.clone()).await
    }

    /// [`CheckedStore::find`] for a caller that owns its query and has no
    /// further use for it: the query is checked and scoped in place, not
    /// copied.
    /// The backend is handed the declared schema, so a query that names no
    /// columns returns every declared column: the scope column is never read.
    pub async fn find_owned(&self, table: &str, query: Query) -> Result<RowSet, StorageError> {
        let Entry { declared, .. } = self.registry.entry(table)?;
        let query = self.check_query(&declared, query)?;
        self.backend.find(&declared, &query).await
    }

    /// [`CheckedStore::find_owned`]'s rows packed ([`PackedRows`]), as the
    /// backend reads them.
    pub async fn find_packed(&self, table: &str, query: Query) -> Result<PackedRows, StorageError> {
        let Entry { declared, .. } = self.registry.entry(table)?;
        let query = self.check_query(&declared, query)?;
        self.backend.find_packed(&declared, &query).await
    }

    /// `query` checked against `declared` and bound to this store's scope.
    fn check_query(&self, declared: &TableSchema, mut query: Query) -> Result<Query, StorageError> {
        validate::check_order(declared, &query.order_by)?;
        validate::check_columns(declared, &query.columns)?;
        let filter = std::mem::replace(&mut query.filter, Filter::All);
        query.filter = self.scope_filter(validate::check_filter(declared, filter)?);
        Ok(query)
    }

    /// How many rows match `filter`.
    pub async fn count(&self, table: &str, filter: &Filter) -> Result<u64, StorageError> {
        let Entry { declared, scoped } = self.registry.entry(table)?;
        let filter = self.scope_filter(validate::check_filter(&declared, filter.clone())?);
        self.backend.count(&scoped, &filter).await
    }

    /// Sets `set` on the rows matching `filter`; returns how many rows changed.
    /// With a filter that names the expected version/holder this is compare-and-set.
    pub async fn update(&self, table: &str, filter: Filter, set: Vec<(String, Value)>) -> Result<u64, StorageError> {
        let op = WriteOp::Update { table: table.to_owned(), filter, set, expect: None };
        Ok(self.apply(vec![op]).await?.first().copied().unwrap_or(0))
    }

    /// Deletes the rows matching `filter`; returns how many.
    pub async fn delete(&self, table: &str, filter: Filter) -> Result<u64, StorageError> {
        let op = WriteOp::Delete { table: table.to_owned(), filter, expect: None };
        Ok(self.apply(vec![op]).await?.first().copied().unwrap_or(0))
    }

    /// Runs several writes all-or-nothing; returns each op's affected-row
    /// count. Fails with `Conflict(i)` (writing nothing) when op `i` does not
    /// affect exactly its `expect`ed number of rows.
    pub async fn apply(&self, ops: Vec<WriteOp>) -> Result<Vec<u64>, StorageError> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        let schemas = self.registry.entries(ops.iter().map(WriteOp::table))?;
        let ops = ops
            .into_iter()
            .zip(&schemas)
            .map(|(op, entry)| self.check_op(&entry.declared, op))
            .collect::<Result<Vec<_>, _>>()?;
        self.backend.apply(&ops).await
    }
}
