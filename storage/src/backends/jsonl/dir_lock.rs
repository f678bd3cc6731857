//! The directory lock: an OS file lock (`flock` through `std::fs::File::lock`)
//! on `nexau.lock` in the directory. Writers hold it exclusively while they
//! catch up, decide, append and flush; readers hold it shared while they read
//! the others' appends, so they never see a write in progress. The lock goes
//! with the process: a crashed writer never leaves it held.

use std::fs::{File, OpenOptions};
use std::path::Path;

use crate::StorageError;

/// The name of the lock file inside the directory.
pub(crate) const LOCK_FILE: &str = "nexau.lock";

/// The open lock file of one backend.
#[derive(Debug)]
pub(crate) struct DirLock {
    file: File,
}

/// Holds the lock until dropped.
pub(crate) struct Held<'a>(&'a File);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        // Unlocking only fails on a bad descriptor; closing it would unlock too.
        let _ = self.0.unlock();
    }
}

impl DirLock {
    /// Opens (creating) the lock file of `dir`.
    pub(crate) fn open(dir: &Path) -> Result<DirLock, StorageError> {
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| StorageError::backend_caused(format!("jsonl: cannot open {}", path.display()), e))?;
        Ok(DirLock { file })
    }

    /// Waits for the lock alone (to write).
    pub(crate) fn exclusive(&self) -> Result<Held<'_>, StorageError> {
        self.file.lock().map_err(|e| StorageError::backend_caused("jsonl: cannot take the directory lock", e))?;
        Ok(Held(&self.file))
    }

    /// Waits for the lock shared with other readers (to read).
    pub(crate) fn shared(&self) -> Result<Held<'_>, StorageError> {
        self.file
            .lock_shared()
            .map_err(|e| StorageError::backend_caused("jsonl: cannot take the directory lock", e))?;
        Ok(Held(&self.file))
    }
}
