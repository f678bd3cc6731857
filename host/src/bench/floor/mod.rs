//! The floors: for each backend, the least work a hand-written Rust program
//! does for the same durable result on the same settings, without the
//! session logic's bookkeeping (action log, counters, idempotency, fencing).
//! A backend without a floor reports `floor: null`.

mod memory;
#[cfg(feature = "sqlite")]
mod sqlite;

use super::side::Side;
use crate::Result;

/// The floor of `backend`, on a store of its own in `dir` where it needs
/// one; `None` where none is written (jsonl, postgres, mysql).
pub fn open(backend: &str, dir: &std::path::Path) -> Result<Option<Box<dyn Side>>> {
    let _ = dir;
    Ok(match backend {
        "memory" => Some(Box::new(memory::MemoryFloor::default())),
        #[cfg(feature = "sqlite")]
        "sqlite" => Some(Box::new(sqlite::SqliteFloor::open(&dir.join("floor.db"))?)),
        _ => None,
    })
}
