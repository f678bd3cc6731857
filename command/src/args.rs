//! The commands and flags: the native CLI's, for the commands the component has.

use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use nexau_session_message::Role;

/// nexau-session as a WebAssembly component: sessions, history and locks on
/// a JSONL directory, with the session logic composed in.
#[derive(Parser)]
#[command(name = "nexau-session", version, about)]
pub struct Cli {
    /// Database URL: jsonl:///DIR (relative), jsonl:////ABS/DIR (a directory the runtime lets the component see, e.g. `wasmtime run --dir ./data::/data`), memory://
    #[arg(long, global = true, env = "NEXAU_SESSION_DB", default_value = "jsonl:///sessions.d")]
    pub db: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Create, list, show and delete sessions.
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// Append to and show an agent's history.
    #[command(subcommand)]
    History(HistoryCommand),
    /// Show agent locks.
    #[command(subcommand)]
    Locks(LocksCommand),
}

impl Command {
    /// Whether the command stores anything (then a lost output is exit 5).
    pub fn writes(&self) -> bool {
        match self {
            Command::Sessions(c) => matches!(c, SessionsCommand::Create { .. } | SessionsCommand::Delete { .. }),
            Command::History(c) => matches!(c, HistoryCommand::Append { .. }),
            Command::Locks(_) => false,
        }
    }
}

#[derive(Subcommand)]
pub enum SessionsCommand {
    /// Creates a session (or finds it) and prints its id.
    Create {
        /// The user id.
        #[arg(long)]
        user: String,
        /// The session id (generated as sess_{ULID} when not given).
        #[arg(long)]
        session: Option<String>,
    },
    /// Lists sessions.
    List {
        /// Only this user's sessions.
        #[arg(long)]
        user: Option<String>,
        /// PostgREST-style filter over the session columns (repeat to AND), e.g. updated_at.lt.2026-01-01T00:00:00Z
        #[arg(long)]
        filter: Vec<String>,
        /// Sort key: a column, `-column` for descending (repeatable; default created_at).
        #[arg(long, allow_hyphen_values = true)]
        order_by: Vec<String>,
        /// At most this many.
        #[arg(long)]
        limit: Option<u32>,
        /// Skip this many first.
        #[arg(long)]
        offset: Option<u32>,
        /// One JSON array on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Shows one session with its agents and locks.
    Show {
        #[command(flatten)]
        target: SessionArgs,
        /// One JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Deletes a session with its agents, history and locks.
    Delete {
        #[command(flatten)]
        target: SessionArgs,
    },
}

#[derive(Subcommand)]
pub enum HistoryCommand {
    /// Appends one message, creating the session and agent when missing (as a run does).
    #[command(group(clap::ArgGroup::new("source").required(true).args(["text", "text_file"])))]
    Append {
        #[command(flatten)]
        target: AgentArgs,
        /// user, assistant, tool or framework.
        #[arg(long)]
        role: Role,
        /// The message text; `-` reads it from stdin (for messages over the argument size limit).
        #[arg(long)]
        text: Option<String>,
        /// Reads the message text from this file (UTF-8).
        #[arg(long, value_name = "PATH")]
        text_file: Option<PathBuf>,
        /// A retried append with the same key is stored once.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Prints the agent's history, oldest first.
    Show {
        #[command(flatten)]
        target: AgentArgs,
        /// Only the newest N messages.
        #[arg(long)]
        limit: Option<u32>,
        /// One JSON array of messages on stdout.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum LocksCommand {
    /// Shows the locks of a session.
    Show {
        #[command(flatten)]
        target: SessionArgs,
        /// One JSON array on stdout.
        #[arg(long)]
        json: bool,
    },
}

/// The session a command works on.
#[derive(Args, Debug, Clone)]
pub struct SessionArgs {
    /// The user id.
    #[arg(long)]
    pub user: String,
    /// The session id.
    #[arg(long)]
    pub session: String,
}

/// The agent a command works on.
#[derive(Args, Debug, Clone)]
pub struct AgentArgs {
    /// The user id.
    #[arg(long)]
    pub user: String,
    /// The session id.
    #[arg(long)]
    pub session: String,
    /// The agent id (default: the session's root agent).
    #[arg(long)]
    pub agent: Option<String>,
}

/// The arguments, or the exit code after clap's answer: `--help` and
/// `--version` print as usual (exit 0); a usage error is one line on stderr (exit 2).
pub fn parse() -> Result<Cli, u8> {
    let parsed =
        Cli::command().color(clap::ColorChoice::Never).try_get_matches().and_then(|m| Cli::from_arg_matches(&m));
    parsed.map_err(|e| {
        if e.use_stderr() {
            crate::output::report(&one_line(&e));
            crate::failure::BAD_INPUT
        } else {
            let _ = e.print();
            crate::failure::OK
        }
    })
}

/// clap's usage error as one line: its message without the usage block and
/// the "for more information" hint, followed by a pointer to `--help`.
fn one_line(e: &clap::Error) -> String {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand) {
        return "error: a command is required (see --help)".into();
    }
    let rendered = e.render().to_string();
    let message: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty())
        .collect();
    let text = crate::failure::one_line(&message.join(" "));
    let text = if text.starts_with("error:") { text } else { format!("error: {text}") };
    format!("{text} (see --help)")
}
