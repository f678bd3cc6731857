//! Opens the storage backend a [`DbUrl`] names.

use std::sync::Arc;

use nexau_session_storage::{Backend, JsonlBackend, MemoryBackend, SqliteBackend, SyncMode};

use crate::{DbUrl, Error, Result};

/// The backend for `url`. Creates a SQLite file's missing parent directories.
pub async fn open_backend(url: &DbUrl) -> Result<Arc<dyn Backend>> {
    match url {
        DbUrl::Memory => Ok(Arc::new(MemoryBackend::new())),
        DbUrl::Sqlite(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .map_err(|e| Error::Storage(format!("cannot create {}: {e}", parent.display())))?;
            }
            Ok(Arc::new(SqliteBackend::open(path)?))
        }
        DbUrl::Jsonl(dir) => {
            let dir = dir.clone();
            let backend = tokio::task::spawn_blocking(move || JsonlBackend::open(dir, SyncMode::Always))
                .await
                .map_err(|e| Error::Storage(format!("cannot open the JSONL directory: {e}")))??;
            Ok(Arc::new(backend))
        }
        DbUrl::Postgres(_) | DbUrl::Mysql(_) => Err(Error::Invalid(format!(
            "{url}: this build stores sessions in SQLite (sqlite:///FILE), JSONL (jsonl:///DIR) or memory (memory://) only"
        ))),
    }
}
