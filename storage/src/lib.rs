//! The storage contract of nexau-session and its backends.
//!
//! The session logic (a WebAssembly component) imports a small transactional
//! record store; the host implements it on top of a [`Backend`]. Requests pass
//! through a [`CheckedStore`], which validates them against the declared
//! schemas and binds them to one scope (tenant), before any backend sees them.
//!
//! | file | job |
//! |---|---|
//! | `model.rs` | values, schemas, filters, queries, write batches |
//! | `error.rs` | [`StorageError`] |
//! | `backend.rs` | the [`Backend`] trait |
//! | `validate.rs` | schema and request checks, value normalization |
//! | `registry.rs` | [`SchemaRegistry`]: the tables set up on one backend |
//! | `checked.rs` | [`CheckedStore`]: validated, scoped access for one tenant |
//! | `memory.rs` | [`MemoryBackend`] (`memory://`) |
//! | `sql.rs` | [`sql::Dialect`]: filters and writes compiled to SQL + parameters |
//! | `sqlite.rs` | [`SqliteBackend`] (`sqlite://`) |
//! | `schema_sync.rs` | what `setup_models` does to tables a backend already holds |
//! | `timestamp.rs` | [`Timestamp`]: instants, range-checked |

#![warn(missing_docs)]

mod backend;
mod checked;
mod error;
mod memory;
mod model;
#[cfg(feature = "mysql")]
#[path = "backends/mysql.rs"]
pub mod mysql;
#[cfg(feature = "postgres")]
#[path = "backends/postgres.rs"]
pub mod postgres;
mod registry;
mod schema_sync;
/// The server backends (PostgreSQL, MySQL/MariaDB) and what they share.
#[cfg(any(feature = "postgres", feature = "mysql"))]
#[path = "backends/server/mod.rs"]
mod server;
pub mod sql;
mod sqlite;
mod timestamp;
pub mod validate;

pub use backend::Backend;
pub use checked::CheckedStore;
pub use error::StorageError;
pub use memory::MemoryBackend;
pub use model::*;
pub use registry::SchemaRegistry;
pub use schema_sync::SCHEMA_TABLE;
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub use server::ScratchStore;
pub use sqlite::SqliteBackend;
pub use timestamp::{TIMESTAMP_RANGE, Timestamp, TimestampError};
pub use validate::{SCOPE_COLUMN, canonical_timestamp};
