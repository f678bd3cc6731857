//! The floors: for each backend, the least work a hand-written Rust program
//! does for the same durable result on the same settings, without the
//! session logic's bookkeeping (action log, counters, idempotency, fencing).
//! A backend without a floor (JSONL: its format is the backend's own)
//! reports `floor: null`.
//!
//! The model floors do by hand the storage work of the component's own
//! design (its tables, action log and counters), so that the cost of the
//! design (model floor against floor) and the cost of the storage layer
//! (native against model floor) are measured apart. SQLite has one; other
//! backends report `model_floor: null`.

mod memory;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(feature = "sqlite")]
mod sqlite_model;

use nexau_session_storage::backends::TestStore;
use nexau_session_storage::{StorageError, TableSchema};

use super::side::Side;
use crate::{Error, Message, Result};

/// A floor and the store it works in.
pub struct Floor {
    /// The floor's side of the workloads.
    pub side: Box<dyn Side>,
    /// Where it keeps its data (for a server backend, the same kind of
    /// scratch schema or database the other sides get), kept until the run
    /// is done: it is removed when it drops.
    _store: TestStore,
}

/// The floor of `backend` on a fresh store of its own; `None` where none is
/// written (or a server backend has no scratch store on this machine).
pub async fn open(backend: &str) -> Result<Option<Floor>> {
    Ok(match backend {
        "memory" => Some(Floor { side: Box::new(memory::MemoryFloor::default()), _store: TestStore::new("") }),
        #[cfg(feature = "sqlite")]
        "sqlite" => {
            let mut file = std::path::PathBuf::new();
            let store = TestStore::in_temp_dir(|dir| {
                file = dir.join("floor.db");
                String::new()
            })?;
            Some(Floor { side: Box::new(sqlite::SqliteFloor::open(&file)?), _store: store })
        }
        #[cfg(feature = "postgres")]
        "postgres" => match super::test_store(backend).await? {
            Some(store) => {
                Some(Floor { side: Box::new(postgres::PostgresFloor::open(&store.url).await?), _store: store })
            }
            None => None,
        },
        #[cfg(feature = "mysql")]
        "mysql" => match super::test_store(backend).await? {
            Some(store) => Some(Floor { side: Box::new(mysql::MysqlFloor::open(&store.url).await?), _store: store }),
            None => None,
        },
        _ => None,
    })
}

/// The column types a floor's tables use on one database.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
struct Types {
    /// 64-bit integers.
    int: &'static str,
    /// Ids (keys).
    id: &'static str,
    /// A message's JSON text.
    text: &'static str,
    /// After each table's definition (a storage engine, say).
    table_options: &'static str,
}

/// The `CREATE TABLE` statements of every SQL floor, in `t`'s types: the
/// sessions (`updated_at`), their messages by position, and the locks.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
fn create_tables(t: &Types) -> String {
    let Types { int, id, text, table_options } = t;
    format!(
        "CREATE TABLE sessions (user_id {id} NOT NULL, session_id {id} NOT NULL, updated_at {int} NOT NULL,
  PRIMARY KEY (user_id, session_id)){table_options};
CREATE TABLE messages (user_id {id} NOT NULL, session_id {id} NOT NULL, agent_id {id} NOT NULL,
  pos {int} NOT NULL, message {text} NOT NULL, PRIMARY KEY (user_id, session_id, agent_id, pos)){table_options};
CREATE TABLE locks (user_id {id} NOT NULL, session_id {id} NOT NULL, agent_id {id} NOT NULL,
  holder_id {id}, token {int} NOT NULL, expires_at_ns {int} NOT NULL,
  PRIMARY KEY (user_id, session_id, agent_id)){table_options};
"
    )
}

/// The model floor of `backend` on a fresh store of its own, with the
/// component's tables (`schemas`) created; `None` where none is written.
pub async fn open_model(backend: &str, schemas: Vec<TableSchema>) -> Result<Option<Floor>> {
    Ok(match backend {
        #[cfg(feature = "sqlite")]
        "sqlite" => {
            let mut file = std::path::PathBuf::new();
            let store = TestStore::in_temp_dir(|dir| {
                file = dir.join("model.db");
                format!("sqlite:///{}", file.display())
            })?;
            let seeds = super::checked_store(store.url.clone(), schemas).await?;
            Some(Floor { side: Box::new(sqlite_model::SqliteModelFloor::open(&file, seeds)?), _store: store })
        }
        _ => {
            drop(schemas);
            None
        }
    })
}

/// Nanoseconds since the Unix epoch.
fn now_ns() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_nanos()).unwrap_or(i64::MAX)
}

/// A message as the JSON text a floor stores.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
fn encode(m: &Message) -> Result<String> {
    serde_json::to_string(m).map_err(|e| Error::Invalid(format!("message cannot be encoded: {e}")))
}

/// A stored message's JSON text, decoded.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
fn decode(json: &str) -> Result<Message> {
    serde_json::from_str(json)
        .map_err(|e| Error::Storage(StorageError::backend_caused("floor: a stored message cannot be decoded", e)))
}
