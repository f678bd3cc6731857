//! `nexau-session.wasm`: the session-logic component (`guest/`) composed
//! with the storage component (`wasi-storage/`: the JSONL backend over WASI
//! files) and the command component (`command/`: the CLI's `sessions`,
//! `history` and `locks show` commands, exporting `wasi:cli/run`), into one
//! self-contained command the stock `wasmtime` CLI runs:
//!
//! ```text
//! wasmtime run --dir ./data::/data target/release/nexau-session.wasm --db jsonl:////data history show --user u --session s
//! ```
//!
//! The build script builds the three for `wasm32-wasip2` and composes them
//! with `wac-graph`: storage → session logic → command, and storage's
//! `store` → command. It writes the result to [`PATH`] and copies it next
//! to the workspace's binaries (`target/release/nexau-session.wasm` after
//! `cargo build --release`).

#![warn(missing_docs)]

/// Where the build wrote the composed component.
pub const PATH: &str = concat!(env!("OUT_DIR"), "/nexau-session.wasm");

/// The composed component's bytes.
pub fn bytes() -> std::io::Result<Vec<u8>> {
    std::fs::read(PATH)
}
