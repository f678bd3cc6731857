//! Opens the storage backend a [`DbUrl`] names.

use std::sync::Arc;

use nexau_session_storage::{Backend, MemoryBackend, SqliteBackend, mysql, postgres};

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
        DbUrl::Postgres(server) => Ok(postgres::connect(server).await?),
        DbUrl::Mysql(server) => Ok(mysql::connect(server).await?),
        DbUrl::Jsonl(_) => Err(Error::Invalid(format!(
            "{url}: this build stores sessions in SQLite (sqlite:///FILE), PostgreSQL, MySQL/MariaDB or memory (memory://)"
        ))),
    }
}
