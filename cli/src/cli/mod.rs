//! The command line: commands, flags, exit codes, JSON shapes.

mod bench;
mod chat;
mod check;
mod cleanup;
mod compact;
mod demo;
mod exit;
mod export;
mod history;
mod import;
mod locks;
mod migrate;
mod output;
mod parse_error;
mod progress;
mod sessions;
mod signals;
mod stdin;
mod target;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use nexau_session::Engine;

use output::report;
use signals::Shutdown;

/// Agent session management: sessions, history and run locks, with the
/// session logic running as a WebAssembly component.
#[derive(Parser)]
#[command(name = "nexau-session", version, about)]
pub struct Cli {
    /// Database URL: sqlite:///FILE (relative), sqlite:////ABS/FILE, sqlite+aiosqlite:///…, jsonl:///DIR, memory://
    #[arg(long, global = true, env = "NEXAU_SESSION_DB", default_value = "sqlite:///sessions.db")]
    db: String,

    /// Run this build of the session-logic component (a .wasm file) instead of the embedded one
    #[arg(long, global = true, value_name = "PATH")]
    component: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The main job: a scripted multi-run conversation showing history surviving across runs.
    Demo(demo::DemoArgs),
    /// One agent run with the offline model, under the agent lock; prints the reply.
    Chat(chat::ChatArgs),
    /// Create, list, show and delete sessions.
    #[command(subcommand)]
    Sessions(sessions::SessionsCommand),
    /// Append to and show an agent's history.
    #[command(subcommand)]
    History(history::HistoryCommand),
    /// Hold and show agent locks.
    #[command(subcommand)]
    Locks(locks::LocksCommand),
    /// Delete sessions (with their agents, history and locks) not updated for a while.
    Cleanup(cleanup::CleanupArgs),
    /// Write sessions, with everything that belongs to them, to stdout in the portable export format.
    Export(export::ExportArgs),
    /// Read sessions from an export file (or - for stdin), or a store NexAU (the Python implementation)
    /// wrote (--from-nexau URL), into this store; idempotent.
    Import(import::ImportArgs),
    /// Copy every session into the store at --to URL (any backend), then check the row counts of every table.
    Migrate(migrate::MigrateArgs),
    /// Rewrite a JSONL store's files without their dead records (elsewhere: says there is nothing to do).
    Compact,
    /// The performance harness: each operation through the component and through a native baseline.
    Bench(bench::BenchArgs),
}

impl Command {
    /// Whether the command stores anything (then a lost output is exit 5).
    fn writes(&self) -> bool {
        match self {
            Command::Sessions(c) => {
                matches!(c, sessions::SessionsCommand::Create { .. } | sessions::SessionsCommand::Delete { .. })
            }
            Command::History(c) => matches!(c, history::HistoryCommand::Append { .. }),
            Command::Locks(c) => matches!(c, locks::LocksCommand::Hold { .. }),
            Command::Cleanup(a) => !a.dry_run,
            Command::Export(_) => false,
            Command::Import(_) | Command::Migrate(_) => true,
            Command::Compact => true,
            Command::Bench(_) => false,
            Command::Demo(_) | Command::Chat(_) => true,
        }
    }

    /// Whether the command handles SIGTERM/SIGINT itself (`locks hold` releases and exits 0).
    fn handles_signals(&self) -> bool {
        matches!(self, Command::Locks(locks::LocksCommand::Hold { .. }))
    }
}

/// Parses a human duration (`30s`, `1h 30m`, `500ms`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("{e} (write e.g. 30s, 5m, 1h, 500ms)"))
}

/// The process: signals first, then the arguments, then the command.
pub fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            report(&format!("error: cannot start the async runtime: {e}"));
            return ExitCode::from(exit::INTERNAL);
        }
    };
    let shutdown = match runtime.block_on(async { Shutdown::install() }) {
        Ok(s) => s,
        Err(e) => {
            report(&format!("error: cannot install the signal handlers: {e}"));
            return ExitCode::from(exit::INTERNAL);
        }
    };
    let colour = std::io::stderr().is_terminal();
    let cli = match parse_args(colour) {
        Ok(cli) => cli,
        Err(code) => return ExitCode::from(code),
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("NEXAU_SESSION_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .init();
    let writes = cli.command.writes();
    let outcome = runtime.block_on(run(cli, shutdown));
    // Nothing left running may keep the process alive past its answer.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let (code, line) = exit::explain(&e, writes);
            report(&line);
            ExitCode::from(code)
        }
    }
}

/// The arguments, or the exit code after clap's answer: `--help` and
/// `--version` print as usual (exit 0); a usage error is one line on stderr (exit 2).
fn parse_args(colour: bool) -> Result<Cli, u8> {
    let choice = if colour { clap::ColorChoice::Auto } else { clap::ColorChoice::Never };
    let parsed = Cli::command().color(choice).try_get_matches().and_then(|m| Cli::from_arg_matches(&m));
    parsed.map_err(|e| {
        if e.use_stderr() {
            report(&parse_error::one_line(&e));
            exit::BAD_INPUT
        } else {
            let _ = e.print();
            exit::OK
        }
    })
}

/// Opens the engine for `--db`, running `--component` when given, and sets up the models.
async fn open(db: &str, component: Option<&Path>) -> anyhow::Result<Engine> {
    let mut builder = Engine::builder(db);
    if let Some(path) = component {
        builder = builder.component_file(path);
    }
    let engine = builder.build().await?;
    engine.setup_models().await?;
    Ok(engine)
}

async fn run(mut cli: Cli, shutdown: Shutdown) -> anyhow::Result<u8> {
    let handles_signals = cli.command.handles_signals();
    let interrupted = {
        let work = async {
            check::command(&cli.db, &mut cli.command).await?;
            check::component(cli.component.as_deref())?;
            dispatch(cli, &shutdown).await
        };
        if handles_signals {
            return work.await;
        }
        tokio::select! {
            biased;
            r = work => return r,
            _ = shutdown.requested().cancelled() => shutdown.interrupted(),
        }
    };
    // The dropped command may have left a lock to release in the background: a moment for that.
    tokio::time::sleep(Duration::from_millis(200)).await;
    Err(interrupted.into())
}

async fn dispatch(cli: Cli, shutdown: &Shutdown) -> anyhow::Result<u8> {
    let (db, component) = (cli.db.as_str(), cli.component.as_deref());
    match cli.command {
        Command::Demo(args) => demo::run(db, component, args).await,
        Command::Chat(args) => chat::run(open(db, component).await?, args).await,
        Command::Sessions(cmd) => sessions::run(open(db, component).await?, cmd).await,
        Command::History(cmd) => history::run(open(db, component).await?, cmd).await,
        Command::Locks(cmd) => locks::run(open(db, component).await?, cmd, shutdown).await,
        Command::Cleanup(args) => cleanup::run(open(db, component).await?, args).await,
        Command::Export(args) => export::run(open(db, component).await?, args).await,
        Command::Import(args) => import::run(open(db, component).await?, args).await,
        Command::Migrate(args) => migrate::run(open(db, component).await?, args, component).await,
        Command::Compact => compact::run(open(db, component).await?, db).await,
        Command::Bench(args) => bench::run(args, component).await,
    }
}
