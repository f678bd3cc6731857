//! The one trait every storage backend implements.

use async_trait::async_trait;

use crate::{Filter, PackedRows, Query, RowSet, StorageError, TableSchema, WriteOp};

/// A storage backend: a small transactional record store.
///
/// Backends receive requests that the [`CheckedStore`](crate::CheckedStore)
/// has already validated against the declared schemas (tables, columns and
/// value types exist and match; timestamps are canonical), with the scope
/// column already added to schemas, rows and filters; reads alone get the
/// table as declared (below). Inserted rows carry
/// every column of the table, in declaration order; values have the variant of
/// their column's type (or `Null`). A backend must still quote identifiers and
/// bind values rather than splice them into SQL.
///
/// Every method is atomic. `apply` is all-or-nothing: on any failure nothing
/// of the batch remains.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// A short name for logs and errors (`sqlite`, `memory`, ...).
    fn name(&self) -> &'static str;

    /// Creates the tables and indexes that are missing. Idempotent; safe to call
    /// from several processes at once.
    async fn setup_models(&self, schemas: &[TableSchema]) -> Result<(), StorageError>;

    /// The rows matching `query`, with `query.columns` in that order, or
    /// every column of `table` in declaration order when it names none.
    /// `table` is the table as declared, without the scope column, so the
    /// scope is never returned; the filter names the scope column.
    async fn find(&self, table: &TableSchema, query: &Query) -> Result<RowSet, StorageError>;

    /// [`Backend::find`]'s rows packed for the component. The default packs
    /// `find`'s rows; a backend that reads cell by cell packs as it reads,
    /// sparing an allocation per text cell.
    async fn find_packed(&self, table: &TableSchema, query: &Query) -> Result<PackedRows, StorageError> {
        PackedRows::pack(self.find(table, query).await?)
    }

    /// How many rows match `filter`.
    async fn count(&self, table: &TableSchema, filter: &Filter) -> Result<u64, StorageError>;

    /// Runs the writes in one transaction and returns each op's affected-row
    /// count (rows matched, for `Check`). Every op's table was set up through
    /// `setup_models`.
    async fn apply(&self, ops: &[WriteOp]) -> Result<Vec<u64>, StorageError>;

    /// Rewrites the stored files without their dead records (rows replaced
    /// or deleted since), for backends that keep them (JSONL); `Ok(None)`
    /// for a backend that has nothing to compact (SQL databases reuse the
    /// space of deleted rows themselves).
    async fn compact(&self) -> Result<Option<Vec<Compacted>>, StorageError> {
        Ok(None)
    }
}

/// What compacting one table did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compacted {
    /// The table.
    pub table: String,
    /// Records in its file before.
    pub records_before: u64,
    /// Records after (its live rows, plus a header line).
    pub records_after: u64,
    /// Bytes before.
    pub bytes_before: u64,
    /// Bytes after.
    pub bytes_after: u64,
}
