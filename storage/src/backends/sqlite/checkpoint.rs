//! WAL checkpoints off the write path.
//!
//! In WAL mode every commit appends its pages to the `-wal` file; a
//! checkpoint copies them back into the database file and `fsync`s it.
//! SQLite's default runs that checkpoint inside the commit that crosses
//! 1,000 WAL pages, so one write in every few dozen pays for the copy and a
//! second `fsync`. Here the writer connection's WAL hook only wakes a
//! checkpointer thread, which runs a `PASSIVE` checkpoint (it never blocks
//! writers or readers) on a connection of its own. Durability is untouched:
//! a commit is durable once its WAL frames are synced, before any checkpoint.
//! A commit that finds [`INLINE_FRAMES`] pages in the WAL checkpoints inline,
//! as SQLite would: by then the thread has copied most of them, and this
//! lets the WAL start over (see there).

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::JoinHandle;

use rusqlite::Connection;

use crate::StorageError;

/// New WAL pages after which a commit wakes the checkpointer (SQLite's own
/// auto-checkpoint threshold).
pub(super) const WAKE_FRAMES: i32 = 1000;

/// WAL pages after which a commit checkpoints inline. SQLite starts the WAL
/// over only when a write finds it wholly checkpointed, which a checkpoint
/// running beside a stream of writes never leaves it: the inline checkpoint
/// copies what the thread has not yet and so lets the WAL restart. It also
/// bounds the WAL (about 16 MiB of 4 KiB pages) should the thread fall behind.
pub(super) const INLINE_FRAMES: i32 = 4 * WAKE_FRAMES;

/// The checkpointer thread of one database file. The writer's WAL hook holds
/// the only way to wake it: the thread ends once the writer connection is
/// closed, and dropping this joins it, so drop the writer first.
pub(super) struct Checkpointer {
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread, which checkpoints through `conn` (a connection of
    /// its own to the file at `path`), and hooks `writer` to wake it.
    pub(super) fn start(path: &Path, conn: Connection, writer: &mut Connection) -> Result<Checkpointer, StorageError> {
        let (wake, woken) = sync_channel::<()>(1);
        let path: PathBuf = path.to_owned();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(conn, &path, woken))
            .map_err(|e| StorageError::backend_caused("sqlite: cannot start the checkpoint thread", e))?;
        // Replaces SQLite's auto-checkpoint, which is itself a WAL hook.
        let mut woke_at = 0;
        writer
            .wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, frames: i32| {
                // The commit has happened: an error returned from here would
                // make it look failed, so nothing here fails.
                if frames < woke_at {
                    woke_at = 0; // the WAL was restarted
                }
                if frames >= INLINE_FRAMES {
                    if let Err(e) = wal.checkpoint() {
                        tracing::debug!(error = %e, "sqlite: inline checkpoint did not run");
                    }
                } else if frames - woke_at >= WAKE_FRAMES {
                    woke_at = frames;
                    // Full: a wake-up is pending already; disconnected: never, the thread outlives this hook.
                    let _ = wake.try_send(());
                }
                Ok(())
            }))
            .map_err(|e| StorageError::backend_caused("sqlite: cannot install the WAL hook", e))?;
        Ok(Checkpointer { thread: Some(thread) })
    }
}

/// The thread: one `PASSIVE` checkpoint per wake-up, until the writer is gone.
fn run(conn: Connection, path: &Path, woken: Receiver<()>) {
    while woken.recv().is_ok() {
        if let Err(e) = conn.wal_checkpoint_v2(None::<&str>, rusqlite::wal::CheckpointMode::PASSIVE) {
            // Busy or failing: the next wake-up (or an inline checkpoint) retries.
            tracing::debug!(path = %path.display(), error = %e, "sqlite: background checkpoint did not run");
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
