//! Builds the session-logic component (`guest/`) for `wasm32-wasip2` and
//! places it in `OUT_DIR` for `include_bytes!`, so a fresh clone needs no
//! manual step. Installs the target through rustup when it is missing.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("host/ lives in the workspace").to_path_buf();
    for watched in ["guest/src", "guest/Cargo.toml", "guest/build.rs", "wit", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }

    ensure_target_installed();

    // A separate target dir: the outer cargo holds the lock on its own.
    let target_dir = root.join("target").join("guest-build");
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args(["build", "--locked", "-p", "nexau-session-guest", "--target", TARGET, "--profile", "guest"])
        .env("CARGO_TARGET_DIR", &target_dir);
    // Flags and wrappers meant for the host build (clippy, coverage, sanitizers)
    // must not leak into the guest build.
    for var in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "RUSTC_WORKSPACE_WRAPPER", "CARGO_BUILD_RUSTFLAGS"] {
        cmd.env_remove(var);
    }
    let status = cmd.status().expect("failed to run cargo for the guest component");
    assert!(status.success(), "building the guest component failed ({status})");

    let built = target_dir.join(TARGET).join("guest").join("nexau_session_guest.wasm");
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR")).join("session_logic.wasm");
    let wasm = std::fs::read(&built).unwrap_or_else(|e| panic!("reading {}: {e}", built.display()));
    std::fs::write(&out, without_unread_sections(&wasm)).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
}

/// The component without the custom sections nothing reads at run time:
/// the top-level `component-name` (the debug names wit-component gives the
/// component's inner items, about 3.5 KB) and, inside each core module, the
/// `producers` and `target_features` notes the toolchain leaves (about 0.4
/// KB). `strip = true` already drops the core module's names. The budget is
/// 100 KB, so every byte counts.
fn without_unread_sections(wasm: &[u8]) -> Vec<u8> {
    strip_sections(wasm, &[b"component-name", b"producers"])
}

/// `wasm` (a component or a core module) without the custom sections named
/// in `drop`; core modules nested in a component are rewritten the same way.
fn strip_sections(wasm: &[u8], drop: &[&[u8]]) -> Vec<u8> {
    fn leb128(bytes: &[u8], mut at: usize) -> (usize, usize) {
        let (mut value, mut shift) = (0usize, 0);
        loop {
            let byte = bytes[at];
            at += 1;
            value |= usize::from(byte & 0x7f) << shift;
            shift += 7;
            if byte < 0x80 {
                return (value, at);
            }
        }
    }
    fn push_leb128(out: &mut Vec<u8>, mut value: usize) {
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    const CUSTOM: u8 = 0;
    const CORE_MODULE: u8 = 1;
    // A component's layer field (bytes 6-7) is 1; a core module's is 0.
    let is_component = wasm.get(6) == Some(&1);
    let mut out = wasm[..8].to_vec(); // magic, version and layer
    let mut at = 8;
    while at < wasm.len() {
        let id = wasm[at];
        let (size, payload) = leb128(wasm, at + 1);
        let end = payload + size;
        let dropped = id == CUSTOM && {
            let (len, name) = leb128(wasm, payload);
            drop.contains(&&wasm[name..name + len]) || (!is_component && &wasm[name..name + len] == b"target_features")
        };
        if is_component && id == CORE_MODULE {
            let inner = strip_sections(&wasm[payload..end], drop);
            out.push(id);
            push_leb128(&mut out, inner.len());
            out.extend_from_slice(&inner);
        } else if !dropped {
            out.extend_from_slice(&wasm[at..end]);
        }
        at = end;
    }
    out
}

/// Runs `rustup target add wasm32-wasip2` when the sysroot has no such target.
fn ensure_target_installed() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let sysroot = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    let installed = sysroot.map(|s| Path::new(&s).join("lib/rustlib").join(TARGET).exists()).unwrap_or(false);
    if !installed {
        let status = Command::new("rustup").args(["target", "add", TARGET]).status();
        match status {
            Ok(s) if s.success() => {}
            other => panic!("the {TARGET} target is missing and `rustup target add {TARGET}` failed: {other:?}"),
        }
    }
}
