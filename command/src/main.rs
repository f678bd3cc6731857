//! The nexau-session CLI's `sessions`, `history` and `locks show` commands
//! as a WebAssembly command component (`wasm32-wasip2`, exporting
//! `wasi:cli/run`).
//!
//! It imports the session logic's exports and the storage component's
//! `store`; `nexau-session-component` composes the three into one
//! `nexau-session.wasm` that the stock `wasmtime` CLI runs:
//!
//! ```text
//! wasmtime run --dir ./data::/data nexau-session.wasm --db jsonl:////data history show --user u --session s
//! ```
//!
//! Flags, output (text and `--json`) and exit codes are the native CLI's
//! (`cli/src/cli/`), for the commands it has.
//!
//! | file | job |
//! |---|---|
//! | `args.rs` | the commands and flags (clap) |
//! | `check.rs` | every input checked before the store is opened (exit 2) |
//! | `logic.rs` | the imported session logic and store, with their errors mapped |
//! | `sessions.rs`, `history.rs`, `locks.rs` | the commands |
//! | `output.rs` | stdout and stderr |
//! | `failure.rs` | why a command failed, its exit code and its one line |

mod args;
mod check;
mod failure;
mod history;
mod locks;
mod logic;
mod output;
mod sessions;

use args::{Cli, Command};
use failure::Failure;

fn main() {
    let code = match args::parse() {
        Ok(cli) => {
            let writes = cli.command.writes();
            match run(cli) {
                Ok(()) => failure::OK,
                Err(f) => {
                    let (code, line) = f.explain(writes);
                    output::report(&line);
                    code
                }
            }
        }
        Err(code) => code,
    };
    exit(code);
}

/// Checks the input, opens the store, sets up the tables and runs the command.
fn run(mut cli: Cli) -> Result<(), Failure> {
    check::command(&mut cli)?;
    logic::open(&cli.db)?;
    match cli.command {
        Command::Sessions(cmd) => sessions::run(cmd),
        Command::History(cmd) => history::run(cmd),
        Command::Locks(cmd) => locks::run(cmd),
    }
}

/// Ends the process with `code` (`wasi:cli/exit.exit-with-code` under WASI).
fn exit(code: u8) -> ! {
    #[cfg(target_arch = "wasm32")]
    wasip2::cli::exit::exit_with_code(code);
    std::process::exit(i32::from(code))
}
