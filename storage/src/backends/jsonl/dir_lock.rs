//! The directory lock, in two parts, because WebAssembly processes (WASI)
//! have no OS file locks:
//!
//! * `nexau.lock`: an empty file whose OS lock (`flock`, through
//!   `std::fs::File::lock`) native processes take: exclusively to write,
//!   shared to read, so a native reader never sees a native write in
//!   progress. The OS lock goes with the process: a crashed writer never
//!   leaves it held.
//! * `nexau.lock.held`: a file every writer creates with `create_new`
//!   (`O_EXCL`) for the length of one write and removes after it: native
//!   writers once they hold the OS lock, WASI writers (the command component)
//!   instead of it. It says who made it (`native` or `wasi`). So a native and
//!   a WASI writer, or two WASI writers, never write at once.
//!
//! A crashed writer leaves `nexau.lock.held` behind. A native writer that
//! finds one saying `native` removes it at once (holding the OS lock proves
//! its maker is gone); any writer removes one whose modification time is
//! more than [`STALE_AFTER`] old (a write takes milliseconds; a compaction of
//! a large table seconds). Removing a stale file happens under a second
//! `create_new` file, `nexau.lock.break`, with the staleness checked again
//! there, so two processes breaking the same stale lock cannot remove a
//! fresh one. Readers under WASI take no lock: a write in progress is an
//! unfinished batch to them, which they skip until it is complete.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::StorageError;

/// The name of the OS lock file inside the directory.
#[cfg_attr(target_os = "wasi", allow(dead_code))]
pub(crate) const LOCK_FILE: &str = "nexau.lock";
/// The name of the file a writer holds while it writes.
pub(crate) const HELD_FILE: &str = "nexau.lock.held";
/// The name of the file held while a stale [`HELD_FILE`] is removed.
pub(crate) const BREAK_FILE: &str = "nexau.lock.break";
/// A [`HELD_FILE`] (or [`BREAK_FILE`]) not modified for this long is taken
/// to be left by a crashed process.
pub(crate) const STALE_AFTER: Duration = Duration::from_secs(60);

#[cfg(not(target_os = "wasi"))]
const MARK: &[u8] = b"native\n";
#[cfg(target_os = "wasi")]
const MARK: &[u8] = b"wasi\n";
const NATIVE_MARK: &[u8] = b"native\n";

/// The lock of one backend's directory.
#[derive(Debug)]
pub(crate) struct DirLock {
    dir: PathBuf,
    #[cfg(not(target_os = "wasi"))]
    file: File,
}

/// Holds the lock until dropped.
pub(crate) struct Held<'a> {
    held_file: Option<HeldFile>,
    os_lock: Option<&'a File>,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        // The held file goes first: it was taken last.
        drop(self.held_file.take());
        if let Some(file) = self.os_lock {
            // Unlocking only fails on a bad descriptor; closing it would unlock too.
            let _ = file.unlock();
        }
    }
}

/// A created [`HELD_FILE`], removed on drop.
struct HeldFile {
    path: PathBuf,
}

impl Drop for HeldFile {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.path) {
            tracing::warn!(file = %self.path.display(), error = %e, "jsonl: cannot remove the write lock file; other writers wait until it is stale");
        }
    }
}

fn io_err(path: &Path, what: &str, e: std::io::Error) -> StorageError {
    StorageError::backend_caused(format!("jsonl: cannot {what} {}", path.display()), e)
}

impl DirLock {
    /// Opens (creating) the lock file of `dir`.
    pub(crate) fn open(dir: &Path) -> Result<DirLock, StorageError> {
        #[cfg(not(target_os = "wasi"))]
        {
            let path = dir.join(LOCK_FILE);
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| io_err(&path, "open", e))?;
            Ok(DirLock { dir: dir.to_path_buf(), file })
        }
        #[cfg(target_os = "wasi")]
        {
            Ok(DirLock { dir: dir.to_path_buf() })
        }
    }

    /// Waits for the lock alone (to write).
    pub(crate) fn exclusive(&self) -> Result<Held<'_>, StorageError> {
        #[cfg(not(target_os = "wasi"))]
        {
            self.file.lock().map_err(|e| StorageError::backend_caused("jsonl: cannot take the directory lock", e))?;
            let mut held = Held { held_file: None, os_lock: Some(&self.file) };
            held.held_file = Some(take_held_file(&self.dir, true)?);
            Ok(held)
        }
        #[cfg(target_os = "wasi")]
        {
            Ok(Held { held_file: Some(take_held_file(&self.dir, false)?), os_lock: None })
        }
    }

    /// Waits for the lock shared with other readers (to read). Under WASI
    /// readers take nothing (see the module's documentation).
    pub(crate) fn shared(&self) -> Result<Held<'_>, StorageError> {
        #[cfg(not(target_os = "wasi"))]
        {
            self.file
                .lock_shared()
                .map_err(|e| StorageError::backend_caused("jsonl: cannot take the directory lock", e))?;
            Ok(Held { held_file: None, os_lock: Some(&self.file) })
        }
        #[cfg(target_os = "wasi")]
        {
            Ok(Held { held_file: None, os_lock: None })
        }
    }
}

/// Creates `nexau.lock.held` in `dir`, waiting while another writer holds
/// it. `native_holds_os_lock`: the caller holds `nexau.lock` exclusively, so
/// a held file marked `native` is a crashed native writer's.
fn take_held_file(dir: &Path, native_holds_os_lock: bool) -> Result<HeldFile, StorageError> {
    let path = dir.join(HELD_FILE);
    let mut pause = Duration::from_micros(100);
    loop {
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut f) => {
                f.write_all(MARK).map_err(|e| io_err(&path, "write", e))?;
                return Ok(HeldFile { path });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_err(&path, "create", e)),
        }
        let leftover = |path: &Path| native_holds_os_lock && is_native_leftover(path);
        if leftover(&path) || is_stale(&path) {
            remove_stale(dir, &path, leftover)?;
            continue;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}

/// A held file made by a native writer (or one still empty after a second,
/// which no live writer leaves so long).
fn is_native_leftover(path: &Path) -> bool {
    match std::fs::read(path) {
        Ok(mark) => mark == NATIVE_MARK || (mark.is_empty() && age(path).is_some_and(|a| a > Duration::from_secs(1))),
        Err(_) => false,
    }
}

/// How long ago the file at `path` was last modified.
fn age(path: &Path) -> Option<Duration> {
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok()?;
    SystemTime::now().duration_since(modified).ok()
}

fn is_stale(path: &Path) -> bool {
    age(path).is_some_and(|a| a > STALE_AFTER)
}

/// Removes the held file at `path` if, checked again under `nexau.lock.break`,
/// it is still stale or a leftover.
fn remove_stale(dir: &Path, path: &Path, leftover: impl Fn(&Path) -> bool) -> Result<(), StorageError> {
    let breaker = dir.join(BREAK_FILE);
    match OpenOptions::new().write(true).create_new(true).open(&breaker) {
        Ok(_) => {
            let outcome = if leftover(path) || is_stale(path) {
                tracing::warn!(file = %path.display(), "jsonl: removing the write lock file of a writer that is gone");
                match std::fs::remove_file(path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(path, "remove", e)),
                    _ => Ok(()),
                }
            } else {
                Ok(())
            };
            std::fs::remove_file(&breaker).map_err(|e| io_err(&breaker, "remove", e))?;
            outcome
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            // Another process is breaking it; a break file itself left by a
            // crash in that moment is removed once stale.
            if is_stale(&breaker) {
                let _ = std::fs::remove_file(&breaker);
            }
            std::thread::sleep(Duration::from_millis(1));
            Ok(())
        }
        Err(e) => Err(io_err(&breaker, "create", e)),
    }
}
