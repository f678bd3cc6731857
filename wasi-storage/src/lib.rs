//! The storage of nexau-session as a WebAssembly component.
//!
//! Exports `nexau:session/storage` (what the session-logic component
//! imports) over the host's JSONL backend, compiled for `wasm32-wasip2`: the
//! same files, the same format, the same checks as the native `jsonl:`
//! backend, through WASI's filesystem, so a directory moves freely between
//! the native CLI and the command component. Requests pass through the
//! storage crate's `CheckedStore` (validated against the declared schemas,
//! bound to the scope `default`, as the native CLI binds them).
//!
//! The command component says which directory through the second export,
//! `nexau:session-wasi/store.open`, before the first call of the session
//! logic. How two processes share a directory without OS file locks is
//! told in the storage crate (`backends/jsonl/dir_lock.rs`).
//!
//! | file | job |
//! |---|---|
//! | `lib.rs` | the exports: `store.open` and the storage functions |
//! | `convert.rs` | WIT types to and from the storage crate's model |
//! | `ready.rs` | runs the storage crate's async calls, which finish without waiting under WASI |

mod convert;
mod ready;

use std::sync::OnceLock;

use nexau_session_storage::{
    CheckedStore, DbUrl, Order, PackedRows, SchemaRegistry, StorageError, backends, filter_dsl,
};

/// Bindings generated from `wit/` and `../wit/` for the `wasi-storage` world.
#[allow(missing_docs)]
pub(crate) mod bindings {
    wit_bindgen::generate!({
        path: ["../wit", "wit"],
        world: "nexau:session-wasi/wasi-storage",
    });
}

use bindings::exports::nexau::session::storage as wit;
use bindings::exports::nexau::session_wasi::store::{SessionListing, StoreError};
use convert::*;
use ready::ready;

/// The sessions table, which `parse-session-listing` parses against.
const SESSIONS: &str = "sessions";

/// The scope every call is bound to: the native CLI's.
const SCOPE: &str = "default";

/// The store `open` opened; one per process.
static STORE: OnceLock<CheckedStore> = OnceLock::new();

fn store() -> Result<&'static CheckedStore, wit::StorageError> {
    STORE.get().ok_or_else(|| wit::StorageError::Backend("no store is open: call store.open(url) first".into()))
}

/// The component: both exports are implemented on this type.
pub struct Component;

impl bindings::exports::nexau::session_wasi::store::Guest for Component {
    fn open(url: String) -> Result<(), StoreError> {
        if STORE.get().is_some() {
            return Err(StoreError::Invalid("a store is open already".into()));
        }
        // Warnings only, on stderr, like the native CLI's default; a second
        // subscriber (there is none) would be refused, which is harmless.
        let _ = tracing::subscriber::set_global_default(
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::WARN)
                .with_ansi(false)
                .with_writer(std::io::stderr)
                .finish(),
        );
        let parsed = DbUrl::parse(&url).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let backend = ready(backends::open(&parsed)).map_err(|e| match e {
            StorageError::Url(m) | StorageError::Invalid(m) => StoreError::Invalid(m),
            other => StoreError::Backend(one_line(&other)),
        })?;
        let checked = CheckedStore::new(backend, SchemaRegistry::new(), SCOPE);
        STORE.set(checked).map_err(|_| StoreError::Invalid("a store is open already".into()))
    }

    fn parse_session_listing(filters: Vec<String>, order_by: Vec<String>) -> Result<SessionListing, StoreError> {
        let store =
            STORE.get().ok_or_else(|| StoreError::Backend("no store is open: call store.open(url) first".into()))?;
        let schema =
            store.schema(SESSIONS).ok_or_else(|| StoreError::Backend(format!("table `{SESSIONS}` is not set up")))?;
        let orders = order_by
            .iter()
            .map(|o| filter_dsl::parse_order(o, &schema))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Invalid(e.0))?;
        let filter = filter_dsl::parse_filters(&filters, &schema).map_err(|e| StoreError::Invalid(e.0))?;
        Ok(SessionListing {
            filter: filter_to_wit(&filter).map_err(StoreError::Invalid)?,
            order_by: total_order(orders)
                .into_iter()
                .map(|o| wit::Order { field: o.field, descending: o.descending })
                .collect(),
        })
    }
}

/// The rows of `table` that `query` asks for (`find` and `find-packed`),
/// packed as the backend reads them.
fn read(table: &str, query: wit::Query) -> Result<PackedRows, wit::StorageError> {
    let query = query_from_wit(query).map_err(|e| error_to_wit(&e))?;
    ready(store()?.find_packed(table, query)).map_err(|e| error_to_wit(&e))
}

impl wit::Guest for Component {
    fn setup_models(schemas: Vec<wit::TableSchema>) -> Result<(), wit::StorageError> {
        let schemas = schemas.into_iter().map(schema_from_wit).collect();
        ready(store()?.setup_models(schemas)).map_err(|e| error_to_wit(&e))
    }

    fn insert(table: String, rows: wit::RowSet) -> Result<u64, wit::StorageError> {
        ready(store()?.insert(&table, rows_from_wit(rows))).map_err(|e| error_to_wit(&e))
    }

    fn find(table: String, query: wit::Query) -> Result<wit::RowSet, wit::StorageError> {
        read(&table, query)?.unpack().map(rows_to_wit).map_err(|e| error_to_wit(&e))
    }

    fn find_packed(table: String, query: wit::Query) -> Result<wit::PackedRows, wit::StorageError> {
        read(&table, query).map(packed_to_wit)
    }

    fn count(table: String, filter: wit::Filter) -> Result<u64, wit::StorageError> {
        let filter = filter_from_wit(filter).map_err(|e| error_to_wit(&e))?;
        ready(store()?.count(&table, &filter)).map_err(|e| error_to_wit(&e))
    }

    fn update(table: String, filter: wit::Filter, set: Vec<wit::Assignment>) -> Result<u64, wit::StorageError> {
        let filter = filter_from_wit(filter).map_err(|e| error_to_wit(&e))?;
        ready(store()?.update(&table, filter, assignments_from_wit(set))).map_err(|e| error_to_wit(&e))
    }

    fn delete(table: String, filter: wit::Filter) -> Result<u64, wit::StorageError> {
        let filter = filter_from_wit(filter).map_err(|e| error_to_wit(&e))?;
        ready(store()?.delete(&table, filter)).map_err(|e| error_to_wit(&e))
    }

    fn apply(batch: Vec<wit::WriteOp>) -> Result<Vec<u64>, wit::StorageError> {
        let ops =
            batch.into_iter().map(write_op_from_wit).collect::<Result<Vec<_>, _>>().map_err(|e| error_to_wit(&e))?;
        ready(store()?.apply(ops)).map_err(|e| error_to_wit(&e))
    }
}

// Native builds (clippy, tests) skip the exports: their symbol names are
// only valid in a wasm module.
#[cfg(target_arch = "wasm32")]
bindings::export!(Component with_types_in bindings);

/// The sort keys made total, as the native CLI makes them: the given ones
/// (default `created_at`, `session_id`), then `user_id` and `session_id`
/// where missing, so that every row has one place.
fn total_order(mut orders: Vec<Order>) -> Vec<Order> {
    if orders.is_empty() {
        orders = vec![Order::parse("created_at"), Order::parse("session_id")];
    }
    for key in ["user_id", "session_id"] {
        if !orders.iter().any(|o| o.field == key) {
            orders.push(Order::parse(key));
        }
    }
    orders
}

/// `e`'s text and its causes', on one line (what the host sends the session
/// logic too).
pub(crate) fn one_line(e: &dyn std::error::Error) -> String {
    nexau_session_storage::error_chain(e).split_whitespace().collect::<Vec<_>>().join(" ")
}
