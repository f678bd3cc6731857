//! One table's log file: where this process has read it up to, reading what
//! was appended since, appending a batch, and cutting off an unfinished tail.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::StorageError;

/// A complete line read from a file (without its newline).
#[derive(Debug)]
pub(crate) struct RawLine {
    /// 1-based line number in the file.
    pub(crate) number: u64,
    /// Byte offset of its first byte.
    pub(crate) start: u64,
    /// Byte offset just after its newline.
    pub(crate) end: u64,
    pub(crate) bytes: Vec<u8>,
}

/// What was appended to a file since it was last read.
#[derive(Debug, Default)]
pub(crate) struct Appended {
    /// The file was replaced (compacted) or is read for the first time:
    /// the lines start at its beginning.
    pub(crate) from_start: bool,
    pub(crate) lines: Vec<RawLine>,
    /// Where a last line without its newline starts (a write cut short).
    pub(crate) torn_at: Option<u64>,
}

/// One log file as this process knows it.
#[derive(Debug)]
pub(crate) struct LogFile {
    pub(crate) path: PathBuf,
    /// The end of the last record applied (every byte before is committed).
    pub(crate) offset: u64,
    /// Lines before `offset`.
    pub(crate) lines: u64,
    /// The file's identity (inode) when opened; a new one means it was replaced.
    identity: Option<u64>,
    handle: Option<File>,
}

fn io_err(path: &Path, what: &str, e: std::io::Error) -> StorageError {
    StorageError::backend_caused(format!("jsonl: cannot {what} {}", path.display()), e)
}

/// The identity of the file at `path` (whose metadata is `meta`): a new
/// one means a compaction replaced it. On Unix its inode.
#[cfg(unix)]
fn identity(_path: &Path, meta: &std::fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    meta.ino()
}

/// Where the file's inode is not available (WASI through `std`), its first
/// line stands in: a compaction writes a new first line (a `compacted`
/// header naming the newest batch), while appends never change it. The
/// same header twice means no write happened in between, so the files are
/// the same. Only the line's first 128 bytes are read.
#[cfg(not(unix))]
fn identity(path: &Path, _meta: &std::fs::Metadata) -> u64 {
    let mut head = [0u8; 128];
    let Ok(file) = File::open(path) else { return 0 };
    let mut filled = 0;
    let mut reader = &file;
    while filled < head.len() {
        match std::io::Read::read(&mut reader, &mut head[filled..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => filled += n,
        }
    }
    if filled == 0 {
        return 0; // empty: not known yet (see `read_appended`)
    }
    let first_line = head[..filled].iter().position(|&b| b == b'\n').map_or(filled, |n| n + 1);
    // FNV-1a over the line.
    head[..first_line].iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(buf, at)
}

#[cfg(not(unix))]
fn read_at(file: &File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = file;
    f.seek(SeekFrom::Start(at))?;
    f.read_exact(buf)
}

impl LogFile {
    /// A file not read yet.
    pub(crate) fn new(path: PathBuf) -> LogFile {
        LogFile { path, offset: 0, lines: 0, identity: None, handle: None }
    }

    /// Reads what was appended since `offset`; `None` when the file is missing.
    pub(crate) fn read_appended(&mut self) -> Result<Option<Appended>, StorageError> {
        let meta = match std::fs::metadata(&self.path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.handle = None;
                self.identity = None;
                return Ok(None);
            }
            Err(e) => return Err(io_err(&self.path, "read", e)),
        };
        let mut from_start = false;
        let current = identity(&self.path, &meta);
        // An identity of 0 is "not known yet" (an empty file, where the first
        // line stands in for the inode): its first append is no replacement.
        if self.identity == Some(0) && self.handle.is_some() && meta.len() >= self.offset {
            self.identity = Some(current);
        }
        if self.identity != Some(current) || meta.len() < self.offset || self.handle.is_none() {
            let (file, meta) = self.open_file()?;
            if self.identity.is_some() || self.offset > 0 {
                from_start = true;
            }
            self.identity = Some(identity(&self.path, &meta));
            self.handle = Some(file);
            self.offset = 0;
            self.lines = 0;
        }
        let Some(file) = &self.handle else { return Ok(None) };
        let len = file.metadata().map_err(|e| io_err(&self.path, "read", e))?.len();
        let mut out = Appended { from_start, ..Appended::default() };
        if len <= self.offset {
            return Ok(Some(out));
        }
        let size = usize::try_from(len - self.offset)
            .map_err(|_| StorageError::backend(format!("jsonl: {} is too large", self.path.display())))?;
        let mut buf = vec![0u8; size];
        read_at(file, &mut buf, self.offset).map_err(|e| io_err(&self.path, "read", e))?;
        let mut start = 0usize;
        let mut number = self.lines;
        while let Some(n) = buf[start..].iter().position(|&b| b == b'\n') {
            number += 1;
            let end = start + n + 1;
            out.lines.push(RawLine {
                number,
                start: self.offset + start as u64,
                end: self.offset + end as u64,
                bytes: buf[start..end - 1].to_vec(),
            });
            start = end;
        }
        if start < buf.len() {
            out.torn_at = Some(self.offset + start as u64);
        }
        Ok(Some(out))
    }

    /// Marks everything up to `end` (`lines` lines) as read and applied.
    pub(crate) fn advance(&mut self, end: u64, lines: u64) {
        self.offset = end;
        self.lines = lines;
    }

    /// Creates the file (empty) if it is missing; true when it was created.
    pub(crate) fn create(&self) -> Result<bool, StorageError> {
        match OpenOptions::new().write(true).create_new(true).open(&self.path) {
            Ok(f) => {
                f.sync_all().map_err(|e| io_err(&self.path, "sync", e))?;
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(io_err(&self.path, "create", e)),
        }
    }

    /// The file opened for reading and appending, with its metadata.
    fn open_file(&self) -> Result<(File, std::fs::Metadata), StorageError> {
        let file =
            OpenOptions::new().read(true).append(true).open(&self.path).map_err(|e| io_err(&self.path, "open", e))?;
        let meta = file.metadata().map_err(|e| io_err(&self.path, "read", e))?;
        Ok((file, meta))
    }

    /// Appends `bytes` at the end (the caller has read up to the end under
    /// the exclusive lock, so the end is `offset`). On failure the file is
    /// cut back to `offset`.
    pub(crate) fn append(&mut self, bytes: &[u8]) -> Result<(), StorageError> {
        if self.handle.is_none() {
            let (file, meta) = self.open_file()?;
            self.identity = Some(identity(&self.path, &meta));
            self.handle = Some(file);
        }
        let Some(file) = &mut self.handle else { return Ok(()) };
        if let Err(e) = file.write_all(bytes) {
            let _ = file.set_len(self.offset);
            return Err(io_err(&self.path, "append to", e));
        }
        Ok(())
    }

    /// `fdatasync`s the file.
    pub(crate) fn sync(&self) -> Result<(), StorageError> {
        match &self.handle {
            Some(f) => f.sync_data().map_err(|e| io_err(&self.path, "sync", e)),
            None => Ok(()),
        }
    }

    /// Cuts the file at `at` (dropping an unfinished write) and syncs it.
    pub(crate) fn truncate(&mut self, at: u64) -> Result<(), StorageError> {
        let file = OpenOptions::new().write(true).open(&self.path).map_err(|e| io_err(&self.path, "open", e))?;
        file.set_len(at).map_err(|e| io_err(&self.path, "cut", e))?;
        file.sync_all().map_err(|e| io_err(&self.path, "sync", e))
    }

    /// Forgets the open handle, so the next read starts from the file now at `path`.
    pub(crate) fn reopen_after_replace(&mut self, offset: u64, lines: u64) -> Result<(), StorageError> {
        let file =
            OpenOptions::new().read(true).append(true).open(&self.path).map_err(|e| io_err(&self.path, "open", e))?;
        let meta = file.metadata().map_err(|e| io_err(&self.path, "read", e))?;
        self.identity = Some(identity(&self.path, &meta));
        self.handle = Some(file);
        self.offset = offset;
        self.lines = lines;
        Ok(())
    }
}

/// `fsync`s a directory, so a created or renamed file's name is durable.
/// (Under WASI a directory is synced the same way, through its descriptor.)
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    #[cfg(any(unix, target_os = "wasi"))]
    {
        File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_err(dir, "sync", e))?;
    }
    let _ = dir;
    Ok(())
}
