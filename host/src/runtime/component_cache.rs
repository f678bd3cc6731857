//! Compiles the embedded component once per machine: the native code is kept
//! in a per-user cache directory keyed by the component's bytes and the
//! engine's compatibility hash, so a CLI process starts without running
//! Cranelift.
//!
//! Loading native code runs it, so an artifact is loaded only when it can be
//! proven to be one this user wrote:
//!
//! * the directory is owned by the current user and not writable by group or
//!   others, and so is the artifact (checked on the opened descriptors; see
//!   [`PrivateDir`]);
//! * the artifact carries an HMAC-SHA256 tag over its contents, keyed with a
//!   secret (`key`, 32 random bytes, mode 0600) kept in that directory, and
//!   the tag is verified before the bytes reach `deserialize`.
//!
//! Anything that fails a check is ignored (logged at debug level) and the
//! component is compiled in memory; the result is stored only in a directory
//! that passes the checks.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::component::Component;

use super::cache_seal::{self, KEY_LEN};
use super::private_dir::PrivateDir;

/// `NEXAU_SESSION_CACHE_DIR` overrides the directory; `off` disables the cache.
pub const CACHE_ENV: &str = "NEXAU_SESSION_CACHE_DIR";

/// The name of the per-user secret in the cache directory.
const KEY_FILE: &str = "key";

fn cache_dir() -> Option<PathBuf> {
    match std::env::var_os(CACHE_ENV) {
        Some(v) if v == "off" => None,
        Some(v) => Some(PathBuf::from(v)),
        None => std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .map(|d| d.join("nexau-session")),
    }
}

fn cache_key(engine: &wasmtime::Engine, wasm: &[u8]) -> String {
    let mut h = DefaultHasher::new();
    wasm.hash(&mut h);
    engine.precompile_compatibility_hash().hash(&mut h);
    env!("CARGO_PKG_VERSION").hash(&mut h);
    format!("session-logic-{:016x}.cwasm", h.finish())
}

/// Where a loaded component came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// A verified artifact from the cache.
    Cache,
    /// Compiled by this process.
    Compiled,
}

/// The component, from the cache when a verified artifact is there.
pub fn load(engine: &wasmtime::Engine, wasm: &[u8]) -> wasmtime::Result<Component> {
    match cache_dir() {
        Some(dir) => load_in(engine, wasm, &dir).map(|(c, _)| c),
        None => Component::new(engine, wasm),
    }
}

/// [`load`] with the cache in `dir`.
pub(crate) fn load_in(engine: &wasmtime::Engine, wasm: &[u8], dir: &Path) -> wasmtime::Result<(Component, Source)> {
    let name = cache_key(engine, wasm);
    match read_verified(dir, &name) {
        // SAFETY: the bytes carry a valid tag under this user's secret key,
        // read from a file and directory only this user can write: they are
        // the output of `precompile_component` that `store` sealed, for this
        // very component and engine configuration (the name covers both, and
        // the tag covers the name).
        Ok(bytes) => match unsafe { Component::deserialize(engine, &bytes) } {
            Ok(c) => return Ok((c, Source::Cache)),
            Err(e) => tracing::debug!("ignoring cached component {name} in {}: {e}", dir.display()),
        },
        Err(e) => tracing::debug!("not loading a cached component from {}: {e}", dir.display()),
    }
    let bytes = engine.precompile_component(wasm)?;
    if let Err(e) = store(dir, &name, &bytes) {
        tracing::debug!("not caching the compiled component in {}: {e}", dir.display());
    }
    // SAFETY: `bytes` came from `precompile_component` on this engine just now.
    let component = unsafe { Component::deserialize(engine, &bytes) }?;
    Ok((component, Source::Compiled))
}

/// The payload of artifact `name` in `dir`, if every check passes.
fn read_verified(dir: &Path, name: &str) -> std::io::Result<Vec<u8>> {
    let dir = PrivateDir::open(dir)?;
    let key = read_key(&dir)?;
    let sealed = dir.read(name, 0)?;
    let payload = cache_seal::open(&key, name, &sealed).map_err(|e| std::io::Error::other(format!("{name}: {e}")))?;
    Ok(payload.to_vec())
}

/// The secret key: owned by this user, readable by no one else.
fn read_key(dir: &PrivateDir) -> std::io::Result<[u8; KEY_LEN]> {
    let bytes = dir.read(KEY_FILE, 0o077)?;
    bytes.try_into().map_err(|_| std::io::Error::other(format!("{KEY_FILE} is not {KEY_LEN} bytes long")))
}

/// Seals `bytes` and writes them as `name`, creating the directory (0700)
/// and the key when missing, in a directory that passes the checks only.
fn store(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let dir = PrivateDir::open(dir)?;
    // A concurrent process may create the key first; then its key is used.
    dir.create_new(KEY_FILE, &rand::random::<[u8; KEY_LEN]>())?;
    let key = read_key(&dir)?;
    dir.replace(name, &cache_seal::seal(&key, name, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// A cache directory as `store` leaves it, holding `payload` as `name`.
    fn cache_with(payload: &[u8], name: &str) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        chmod(tmp.path(), 0o700);
        store(tmp.path(), name, payload).unwrap();
        tmp
    }

    #[test]
    fn an_artifact_we_stored_is_loaded() {
        let tmp = cache_with(b"native code", "a.cwasm");
        let mode = |f: &str| std::fs::metadata(tmp.path().join(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode("a.cwasm"), mode(KEY_FILE)), (0o600, 0o600));
        assert_eq!(read_verified(tmp.path(), "a.cwasm").unwrap(), b"native code");
        // A second store keeps the key and replaces the artifact.
        store(tmp.path(), "a.cwasm", b"newer code").unwrap();
        assert_eq!(read_verified(tmp.path(), "a.cwasm").unwrap(), b"newer code");
    }

    #[test]
    fn a_planted_artifact_in_a_world_writable_directory_is_not_loaded() {
        // Even a correctly sealed file, key included, is refused there:
        // anyone could have written both.
        let tmp = cache_with(b"planted code", "a.cwasm");
        chmod(tmp.path(), 0o777);
        let e = read_verified(tmp.path(), "a.cwasm").unwrap_err().to_string();
        assert!(e.contains("open to group or others"), "{e}");
        assert!(store(tmp.path(), "a.cwasm", b"x").is_err(), "nothing is stored there either");
        chmod(tmp.path(), 0o1777);
        assert!(read_verified(tmp.path(), "a.cwasm").is_err(), "the sticky bit does not help");
    }

    #[test]
    fn an_artifact_with_a_wrong_checksum_is_not_loaded() {
        let tmp = cache_with(b"native code", "a.cwasm");
        let path = tmp.path().join("a.cwasm");
        let mut bytes = std::fs::read(&path).unwrap();
        *bytes.last_mut().unwrap() ^= 0x01;
        std::fs::write(&path, &bytes).unwrap();
        let e = read_verified(tmp.path(), "a.cwasm").unwrap_err().to_string();
        assert!(e.contains("does not match"), "{e}");
        // Raw (unsealed) native code planted under the right name is refused too.
        std::fs::write(&path, b"\x7fELF raw code").unwrap();
        assert!(read_verified(tmp.path(), "a.cwasm").is_err());
        // So is a file sealed under another key.
        let other = cache_with(b"native code", "a.cwasm");
        std::fs::copy(other.path().join("a.cwasm"), &path).unwrap();
        assert!(read_verified(tmp.path(), "a.cwasm").is_err());
    }

    #[test]
    fn loose_files_are_not_trusted() {
        let tmp = cache_with(b"native code", "a.cwasm");
        chmod(&tmp.path().join("a.cwasm"), 0o666);
        assert!(read_verified(tmp.path(), "a.cwasm").is_err(), "artifact writable by others");
        chmod(&tmp.path().join("a.cwasm"), 0o600);
        chmod(&tmp.path().join(KEY_FILE), 0o644);
        assert!(read_verified(tmp.path(), "a.cwasm").is_err(), "key readable by others");
        chmod(&tmp.path().join(KEY_FILE), 0o600);
        assert!(read_verified(tmp.path(), "a.cwasm").is_ok());
    }

    #[test]
    fn the_real_component_is_compiled_once_then_loaded_from_the_cache() {
        let engine = wasmtime::Engine::default();
        let wasm = crate::runtime::COMPONENT_WASM;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cache");
        assert_eq!(load_in(&engine, wasm, &dir).unwrap().1, Source::Compiled);
        assert_eq!(load_in(&engine, wasm, &dir).unwrap().1, Source::Cache);
        // Made world-writable, the same directory is no longer trusted.
        chmod(&dir, 0o777);
        assert_eq!(load_in(&engine, wasm, &dir).unwrap().1, Source::Compiled);
    }
}
