//! A directory only the current user can write, held open by descriptor.
//!
//! Every check is made on an opened descriptor's metadata (`fstat`), never
//! by path twice: the directory is opened without following a symlink, and
//! files are opened and replaced relative to that descriptor (`openat`,
//! `renameat`, `linkat`), so swapping a path after the check changes nothing.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Group- and other-write bits.
const WRITABLE_BY_OTHERS: u32 = 0o022;

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

fn c_name(name: &str) -> io::Result<CString> {
    if name.is_empty() || name.contains('/') {
        return Err(io::Error::other(format!("{name:?} is not a plain file name")));
    }
    CString::new(name).map_err(|_| io::Error::other(format!("{name:?} holds a NUL byte")))
}

fn check(what: &str, meta: &std::fs::Metadata, forbidden: u32) -> io::Result<()> {
    if meta.uid() != euid() {
        return Err(io::Error::other(format!("{what} is owned by uid {}, not by uid {}", meta.uid(), euid())));
    }
    if meta.mode() & forbidden != 0 {
        return Err(io::Error::other(format!("{what} has mode {:o}: open to group or others", meta.mode() & 0o7777)));
    }
    Ok(())
}

/// A directory owned by the current user and not writable by group or
/// others, checked when opened.
#[derive(Debug)]
pub(crate) struct PrivateDir {
    fd: OwnedFd,
}

impl PrivateDir {
    /// Opens `path` (not following a symlink) and checks its owner and mode.
    pub(crate) fn open(path: &Path) -> io::Result<PrivateDir> {
        let c = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| io::Error::other("the cache path holds a NUL byte"))?;
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        // SAFETY: `c` is a valid NUL-terminated string; the result is checked.
        let raw = unsafe { libc::open(c.as_ptr(), flags) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a freshly opened descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let dir = File::from(fd);
        check("the directory", &dir.metadata()?, WRITABLE_BY_OTHERS)?;
        Ok(PrivateDir { fd: dir.into() })
    }

    fn open_at(&self, name: &str, flags: libc::c_int, mode: libc::c_uint) -> io::Result<File> {
        let c = c_name(name)?;
        // SAFETY: `self.fd` is an open directory and `c` a valid NUL-terminated
        // name; the result is checked.
        let raw =
            unsafe { libc::openat(self.fd.as_raw_fd(), c.as_ptr(), flags | libc::O_NOFOLLOW | libc::O_CLOEXEC, mode) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a freshly opened descriptor that nothing else owns.
        Ok(File::from(unsafe { OwnedFd::from_raw_fd(raw) }))
    }

    /// The contents of the regular file `name`, if the current user owns it
    /// and its mode has none of the `forbidden` bits (group/other write at least).
    pub(crate) fn read(&self, name: &str, forbidden: u32) -> io::Result<Vec<u8>> {
        let mut f = self.open_at(name, libc::O_RDONLY, 0)?;
        let meta = f.metadata()?;
        if !meta.is_file() {
            return Err(io::Error::other(format!("{name} is not a regular file")));
        }
        check(name, &meta, forbidden | WRITABLE_BY_OTHERS)?;
        let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
        f.read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    /// Writes `bytes` to a new temporary file (mode 0600, synced) and returns its name.
    fn write_temp(&self, bytes: &[u8]) -> io::Result<String> {
        let tmp = format!(".tmp.{}.{:08x}", std::process::id(), rand::random::<u32>());
        let mut f = self.open_at(&tmp, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL, 0o600)?;
        let written = f.write_all(bytes).and_then(|()| f.sync_all());
        if let Err(e) = written {
            self.remove(&tmp);
            return Err(e);
        }
        Ok(tmp)
    }

    fn remove(&self, name: &str) {
        if let Ok(c) = c_name(name) {
            // SAFETY: valid directory descriptor and name; failure is harmless here.
            unsafe { libc::unlinkat(self.fd.as_raw_fd(), c.as_ptr(), 0) };
        }
    }

    /// Replaces `name` with `bytes` atomically (temporary file + rename), mode 0600.
    pub(crate) fn replace(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let tmp = self.write_temp(bytes)?;
        let (from, to) = (c_name(&tmp)?, c_name(name)?);
        let fd = self.fd.as_raw_fd();
        // SAFETY: valid descriptor and names; the result is checked.
        if unsafe { libc::renameat(fd, from.as_ptr(), fd, to.as_ptr()) } != 0 {
            let e = io::Error::last_os_error();
            self.remove(&tmp);
            return Err(e);
        }
        Ok(())
    }

    /// Creates `name` holding `bytes` (mode 0600) unless it exists; returns
    /// whether this call created it. The file appears whole or not at all.
    pub(crate) fn create_new(&self, name: &str, bytes: &[u8]) -> io::Result<bool> {
        let tmp = self.write_temp(bytes)?;
        let (from, to) = (c_name(&tmp)?, c_name(name)?);
        let fd = self.fd.as_raw_fd();
        // SAFETY: valid descriptor and names; the result is checked.
        let linked = unsafe { libc::linkat(fd, from.as_ptr(), fd, to.as_ptr(), 0) };
        let e = io::Error::last_os_error();
        self.remove(&tmp);
        match linked {
            0 => Ok(true),
            _ if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            _ => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn directories_open_to_others_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        chmod(tmp.path(), 0o700);
        assert!(PrivateDir::open(tmp.path()).is_ok());
        for mode in [0o777, 0o770, 0o1777, 0o702] {
            chmod(tmp.path(), mode);
            let e = PrivateDir::open(tmp.path()).unwrap_err().to_string();
            assert!(e.contains("open to group or others"), "{mode:o}: {e}");
        }
        let link = tmp.path().join("link");
        let real = tmp.path().join("real");
        std::fs::create_dir(&real).unwrap();
        chmod(&real, 0o700);
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(PrivateDir::open(&link).is_err(), "a symlink is not followed");
    }

    #[test]
    fn files_are_checked_on_their_descriptor() {
        let tmp = tempfile::tempdir().unwrap();
        chmod(tmp.path(), 0o700);
        let dir = PrivateDir::open(tmp.path()).unwrap();
        dir.replace("a", b"hello").unwrap();
        assert_eq!(std::fs::metadata(tmp.path().join("a")).unwrap().mode() & 0o777, 0o600);
        assert_eq!(dir.read("a", 0).unwrap(), b"hello");
        chmod(&tmp.path().join("a"), 0o666);
        assert!(dir.read("a", 0).unwrap_err().to_string().contains("open to group or others"));
        chmod(&tmp.path().join("a"), 0o644);
        assert!(dir.read("a", 0).is_ok());
        assert!(dir.read("a", 0o077).is_err(), "readable by others where that is forbidden");
        std::os::unix::fs::symlink(tmp.path().join("a"), tmp.path().join("b")).unwrap();
        assert!(dir.read("b", 0).is_err(), "a symlink is not followed");
        assert!(dir.read("../a", 0).is_err());
        if euid() == 0 {
            // Root can hand a file to someone else: then it is not ours.
            std::os::unix::fs::chown(tmp.path().join("a"), Some(65534), None).unwrap();
            assert!(dir.read("a", 0).unwrap_err().to_string().contains("owned by uid 65534"));
            std::fs::remove_file(tmp.path().join("a")).unwrap();
            dir.replace("a", b"again").unwrap();
        }
        assert!(dir.create_new("k", b"1").unwrap());
        assert!(!dir.create_new("k", b"2").unwrap());
        assert_eq!(dir.read("k", 0o077).unwrap(), b"1");
        let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left.len(), 3, "no temporary files left behind: {left:?}");
    }
}
