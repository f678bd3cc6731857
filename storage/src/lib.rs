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
//! | `backends/mod.rs` | the backend registry: [`backends::BACKENDS`], one entry per backend |
//! | `backends/memory.rs` | [`MemoryBackend`] (`memory://`) |
//! | `backends/jsonl/` | [`JsonlBackend`] (`jsonl://`): one append-only JSONL file per table |
//! | `memtable/` | in-memory tables with ordered indexes that follow the storage contract exactly, shared by memory and JSONL |
//! | `sql.rs` | [`sql::Dialect`]: filters and writes compiled to SQL + parameters |
//! | `backends/sqlite.rs` | `SqliteBackend` (`sqlite://`) |
//! | `backends/postgres.rs` | PostgreSQL (`postgresql://`, `postgres://`, `postgresql+asyncpg://`) |
//! | `backends/mysql.rs` | MySQL/MariaDB (`mysql://`, `mysql+aiomysql://`, `mariadb://`) |
//! | `backends/server/` | what the two server backends share: the `Backend` methods over a small driver interface |
//! | `filter_dsl.rs` | the PostgREST-style `--filter` syntax, parsed into a [`Filter`] over a table's columns |
//! | `url.rs` | [`DbUrl`]: database URLs, resolved through the registry |
//! | `schema_sync.rs` | what `setup_models` does to tables a backend already holds |
//! | `timestamp.rs` | [`Timestamp`]: instants, range-checked |
//! | `foreign.rs` | [`foreign::read_table`]: reading a table another program keeps in a SQL database (imports) |

#![warn(missing_docs)]

mod backend;
pub mod backends;
mod checked;
pub(crate) mod error;
pub mod filter_dsl;
pub mod foreign;
mod like;
mod memtable;
mod model;
mod packed;
mod registry;
pub mod row_json;
mod schema_sync;
pub mod sql;
mod timestamp;
mod url;
pub mod validate;

pub use backend::{Backend, Compacted};
#[cfg(feature = "jsonl")]
pub use backends::jsonl::{JsonlBackend, SyncMode};
pub use backends::memory::MemoryBackend;
#[cfg(feature = "sqlite")]
pub use backends::sqlite::SqliteBackend;
pub use checked::CheckedStore;
pub use error::{Cause, StorageError, chain as error_chain};
pub use like::{LikePattern, MAX_LIKE_PATTERN_BYTES};
pub use model::*;
pub use packed::{PackedRows, kind as packed_kind};
pub use registry::SchemaRegistry;
pub use schema_sync::SCHEMA_TABLE;
pub use timestamp::{TIMESTAMP_RANGE, Timestamp, TimestampError};
pub use url::{DbUrl, redact};
pub use validate::{SCOPE_COLUMN, canonical_timestamp};
