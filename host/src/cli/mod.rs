//! The CLI contract of DESIGN.md: commands, flags, exit codes, JSON shapes.

mod bench;
mod chat;
mod cleanup;
mod demo;
mod history;
mod locks;
mod output;
mod sessions;
mod target;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use nexau_session::{Engine, Error};

/// Agent session management: sessions, history and run locks, with the
/// session logic running as a WebAssembly component.
#[derive(Parser)]
#[command(name = "nexau-session", version, about)]
pub struct Cli {
    /// Database URL: sqlite:///FILE (relative), sqlite:////ABS/FILE, sqlite+aiosqlite:///…, memory://
    #[arg(long, global = true, env = "NEXAU_SESSION_DB", default_value = "sqlite:///sessions.db")]
    db: String,

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
    /// The performance harness: each operation through the component and through a native baseline.
    Bench(bench::BenchArgs),
}

/// Exit codes of the CLI contract.
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// Internal or storage error.
    pub const INTERNAL: u8 = 1;
    /// Bad input: nothing was written.
    pub const BAD_INPUT: u8 = 2;
    /// The lock is held by someone else.
    pub const LOCK_HELD: u8 = 3;
    /// The lock was lost while running.
    pub const LOCK_LOST: u8 = 4;
}

/// The exit code for an error.
fn exit_code(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<Error>() {
        Some(Error::Invalid(_) | Error::NotFound(_) | Error::VersionConflict { .. }) => exit::BAD_INPUT,
        Some(Error::LockHeld(_)) => exit::LOCK_HELD,
        Some(Error::LockExpired(_)) => exit::LOCK_LOST,
        _ => exit::INTERNAL,
    }
}

/// Parses a human duration (`30s`, `1h 30m`, `500ms`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("{e} (write e.g. 30s, 5m, 1h, 500ms)"))
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { exit::BAD_INPUT } else { exit::OK };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("NEXAU_SESSION_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::INTERNAL);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let line = format!("{e:#}").replace('\n', " ");
            eprintln!("error: {line}");
            ExitCode::from(exit_code(&e))
        }
    }
}

/// Opens the engine for `--db` and sets up the models.
async fn open(db: &str) -> anyhow::Result<Engine> {
    let engine = Engine::from_url(db).await?;
    engine.setup_models().await?;
    Ok(engine)
}

async fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Demo(args) => demo::run(&cli.db, args).await,
        Command::Chat(args) => chat::run(open(&cli.db).await?, args).await,
        Command::Sessions(cmd) => sessions::run(open(&cli.db).await?, cmd).await,
        Command::History(cmd) => history::run(open(&cli.db).await?, cmd).await,
        Command::Locks(cmd) => locks::run(open(&cli.db).await?, cmd).await,
        Command::Cleanup(args) => cleanup::run(open(&cli.db).await?, args).await,
        Command::Bench(args) => bench::run(args).await,
    }
}
