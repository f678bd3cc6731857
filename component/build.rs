//! Builds `nexau-session.wasm`: the session logic (`guest/`), the WASI
//! storage (`wasi-storage/`) and the command (`command/`), each for
//! `wasm32-wasip2`, composed with `wac-graph` into one command component.
//!
//! The wasm crates are built by a nested cargo with target directories of
//! their own (the outer cargo holds the lock on `target/`): the guest in
//! `target/guest-build` with the `guest` profile, exactly as `host/build.rs`
//! builds it (so one build serves both), the other two in
//! `target/component-build`. The composer (`composer/`, a native tool over
//! `wac-graph`) is a workspace of its own, built in `target/composer-build`.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("component/ lives in the workspace").to_path_buf();
    for watched in [
        "guest/src",
        "guest/Cargo.toml",
        "guest/build.rs",
        "wit",
        "wasi-storage",
        "command",
        "storage/src",
        "storage/Cargo.toml",
        "message",
        "ids",
        "tables",
        "Cargo.lock",
        "component/composer/src",
        "component/composer/Cargo.toml",
        "component/composer/Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }

    let guest_dir = root.join("target").join("guest-build");
    cargo_build(&root, &guest_dir, &["-p", "nexau-session-guest", "--profile", "guest"]);
    let parts_dir = root.join("target").join("component-build");
    cargo_build(&root, &parts_dir, &["-p", "nexau-session-wasi-storage", "-p", "nexau-session-command", "--release"]);

    let logic = guest_dir.join(TARGET).join("guest").join("nexau_session_guest.wasm");
    let storage = parts_dir.join(TARGET).join("release").join("nexau_session_wasi_storage.wasm");
    let command = parts_dir.join(TARGET).join("release").join("nexau-session-command.wasm");

    // The composer is native and a workspace of its own (see its Cargo.toml).
    let composer_dir = root.join("target").join("composer-build");
    let composer_manifest = manifest_dir.join("composer").join("Cargo.toml");
    let mut build = cargo(&root, &composer_dir);
    build.args(["build", "--locked", "--release", "--manifest-path"]).arg(&composer_manifest);
    run(build, "the composer");
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let composed_path = out_dir.join("nexau-session.wasm");
    let mut compose = Command::new(composer_dir.join("release").join("nexau-session-composer"));
    compose.arg(&storage).arg(&logic).arg(&command).arg(&composed_path);
    run(compose, "composing nexau-session.wasm");
    let composed = std::fs::read(&composed_path).unwrap_or_else(|e| panic!("reading {}: {e}", composed_path.display()));
    // OUT_DIR is <target>/<profile>/build/<crate>-<hash>/out: the copy goes
    // next to the binaries, where the README says it is.
    if let Some(profile_dir) = out_dir.ancestors().nth(3) {
        write(&profile_dir.join("nexau-session.wasm"), &composed);
    }
}

/// Runs `cargo build --locked --target wasm32-wasip2 ARGS` with `target_dir`.
fn cargo_build(root: &Path, target_dir: &Path, args: &[&str]) {
    let mut cmd = cargo(root, target_dir);
    cmd.args(["build", "--locked", "--target", TARGET]).args(args);
    run(cmd, &format!("building {args:?} for {TARGET}"));
}

/// A nested cargo in `root` with `target_dir`. Flags and wrappers meant for
/// the outer build (clippy, coverage, sanitizers) must not leak into it.
fn cargo(root: &Path, target_dir: &Path) -> Command {
    let mut cmd = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    cmd.current_dir(root).env("CARGO_TARGET_DIR", target_dir);
    for var in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "RUSTC_WORKSPACE_WRAPPER", "CARGO_BUILD_RUSTFLAGS"] {
        cmd.env_remove(var);
    }
    cmd
}

fn run(mut cmd: Command, what: &str) {
    let status = cmd.status().unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    assert!(status.success(), "{what} failed ({status})");
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}
