//! Compiles the embedded component once per machine: the native code is kept
//! in a per-user cache directory (mode 0700) keyed by the component's bytes
//! and the engine's compatibility hash, so a CLI process starts without
//! running Cranelift. Any cache problem falls back to compiling in memory.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::PathBuf;

use wasmtime::component::Component;

/// `NEXAU_SESSION_CACHE_DIR` overrides the directory; `off` disables the cache.
pub const CACHE_ENV: &str = "NEXAU_SESSION_CACHE_DIR";

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

/// The component, from the cache when a matching artifact is there.
pub fn load(engine: &wasmtime::Engine, wasm: &[u8]) -> wasmtime::Result<Component> {
    let Some(dir) = cache_dir() else {
        return Component::new(engine, wasm);
    };
    let path = dir.join(cache_key(engine, wasm));
    if path.is_file() {
        // SAFETY: the file was written by `store` below from
        // `precompile_component` of this very component and engine
        // configuration (the key covers both), in a directory only this user
        // can write (created 0700).
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(c) => return Ok(c),
            Err(e) => tracing::debug!("ignoring cached component {}: {e}", path.display()),
        }
    }
    let bytes = engine.precompile_component(wasm)?;
    if let Err(e) = store(&dir, &path, &bytes) {
        tracing::debug!("not caching the compiled component in {}: {e}", dir.display());
    }
    // SAFETY: `bytes` came from `precompile_component` on this engine just now.
    unsafe { Component::deserialize(engine, &bytes) }
}

/// Writes atomically (temp file + rename) so a concurrent reader never sees half a file.
fn store(dir: &std::path::Path, path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let meta = std::fs::metadata(dir)?;
    if meta.permissions().mode() & 0o022 != 0 {
        return Err(std::io::Error::other("cache directory is writable by others"));
    }
    let tmp = dir.join(format!(".{}.{}", std::process::id(), rand::random::<u32>()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
