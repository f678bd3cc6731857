//! The guest's `storage` import, served by the host's [`CheckedStore`]: every
//! request is validated against the declared schemas and bound to the store's
//! scope there, before any backend sees it. Each call is a `trace` span
//! named after it (`find`, `apply`, ...), inside the `debug` span of the
//! engine call that made it.

use nexau_session_storage as st;

use super::bindings::nexau::session::storage::{self as wit, Host};
use super::convert::*;
use super::host_state::{HostState, StorageFailure};

/// Approximate payload size of rows, for the per-call byte budget: their
/// text and bytes, and 8 bytes a cell (as [`st::PackedRows::payload_bytes`]).
fn rows_bytes(rows: &st::RowSet) -> usize {
    rows.rows
        .iter()
        .flatten()
        .map(|v| match v {
            st::Value::Text(s) | st::Value::Json(s) | st::Value::Timestamp(s) => s.len() + 8,
            st::Value::Bytes(b) => b.len() + 8,
            _ => 8,
        })
        .sum()
}

impl HostState {
    fn charge(&mut self, bytes: usize) -> Result<(), wit::StorageError> {
        if self.budget.take(bytes) {
            Ok(())
        } else {
            self.storage_failure = Some(StorageFailure::BudgetSpent);
            Err(wit::StorageError::Backend("the call moved more bytes through storage than its limit allows".into()))
        }
    }

    /// The rows of `table` that `query` asks for (`find` and `find-packed`),
    /// packed as the backend reads them, charged to the call's byte budget.
    async fn read(&mut self, table: &str, query: wit::Query) -> Result<st::PackedRows, wit::StorageError> {
        let query = query_from_wit(query).map_err(|e| self.refuse(e))?;
        let rows = self.store.find_packed(table, query).await.map_err(|e| self.refuse(e))?;
        self.charge(rows.payload_bytes())?;
        Ok(rows)
    }

    /// `e` for the guest; a backend failure is also kept, cause and all, for
    /// the host to report if the call fails with it.
    fn refuse(&mut self, e: st::StorageError) -> wit::StorageError {
        let wit = error_to_wit(&e);
        if matches!(e, st::StorageError::Backend { .. } | st::StorageError::SchemaMismatch(_)) {
            self.storage_failure = Some(StorageFailure::Backend(e));
        }
        wit
    }
}

impl Host for HostState {
    #[tracing::instrument(level = "trace", skip_all, fields(tables = schemas.len()))]
    async fn setup_models(&mut self, schemas: Vec<wit::TableSchema>) -> Result<(), wit::StorageError> {
        let schemas = schemas.into_iter().map(schema_from_wit).collect();
        self.store.setup_models(schemas).await.map_err(|e| self.refuse(e))
    }

    #[tracing::instrument(level = "trace", skip_all, fields(table = %table, rows = rows.rows.len()))]
    async fn insert(&mut self, table: String, rows: wit::RowSet) -> Result<u64, wit::StorageError> {
        let rows = rows_from_wit(rows);
        self.charge(rows_bytes(&rows))?;
        self.store.insert(&table, rows).await.map_err(|e| self.refuse(e))
    }

    #[tracing::instrument(level = "trace", skip_all, fields(table = %table))]
    async fn find(&mut self, table: String, query: wit::Query) -> Result<wit::RowSet, wit::StorageError> {
        let rows = self.read(&table, query).await?.unpack().map_err(|e| self.refuse(e))?;
        Ok(rows_to_wit(rows))
    }

    #[tracing::instrument(level = "trace", skip_all, fields(table = %table))]
    async fn find_packed(&mut self, table: String, query: wit::Query) -> Result<wit::PackedRows, wit::StorageError> {
        self.read(&table, query).await.map(packed_to_wit)
    }

    #[tracing::instrument(level = "trace", skip_all, fields(table = %table))]
    async fn count(&mut self, table: String, filter: wit::Filter) -> Result<u64, wit::StorageError> {
        let filter = filter_from_wit(filter).map_err(|e| self.refuse(e))?;
        self.store.count(&table, &filter).await.map_err(|e| self.refuse(e))
    }

    #[tracing::instrument(level = "trace", skip_all, fields(table = %table))]
    async fn update(
        &mut self,
        table: String,
        filter: wit::Filter,
        set: Vec<wit::Assignment>,
    ) -> Result<u64, wit::StorageError> {
        let filter = filter_from_wit(filter).map_err(|e| self.refuse(e))?;
        self.store.update(&table, filter, assignments_from_wit(set)).await.map_err(|e| self.refuse(e))
    }

    #[tracing::instrument(level = "trace", skip_all, fields(table = %table))]
    async fn delete(&mut self, table: String, filter: wit::Filter) -> Result<u64, wit::StorageError> {
        let filter = filter_from_wit(filter).map_err(|e| self.refuse(e))?;
        self.store.delete(&table, filter).await.map_err(|e| self.refuse(e))
    }

    #[tracing::instrument(level = "trace", skip_all, fields(ops = batch.len()))]
    async fn apply(&mut self, batch: Vec<wit::WriteOp>) -> Result<Vec<u64>, wit::StorageError> {
        let ops =
            batch.into_iter().map(write_op_from_wit).collect::<Result<Vec<_>, _>>().map_err(|e| self.refuse(e))?;
        for op in &ops {
            if let st::WriteOp::Insert { rows, .. } = op {
                self.charge(rows_bytes(rows))?;
            }
        }
        self.store.apply(ops).await.map_err(|e| self.refuse(e))
    }
}
