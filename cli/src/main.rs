//! The `nexau-session` command line.

// Stdout and stderr are written only through `cli::output`, which turns a
// failed write into an exit code instead of a panic.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod cli;

use std::process::ExitCode;

/// mimalloc rather than the system's malloc: every call through the
/// component allocates hundreds of short-lived blocks in the host (lifted
/// strings, checked filters, index keys), and mimalloc's thread-local free
/// lists serve them in a fraction of glibc's instructions (`BENCHMARKS.md`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cli::main()
}
