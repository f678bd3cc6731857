//! The `nexau-session` command line.

// Stdout and stderr are written only through `cli::output`, which turns a
// failed write into an exit code instead of a panic.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
