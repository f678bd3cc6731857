//! Every input of a command, checked before the store is opened: ids, the
//! role, the message text and its source. A command that fails here has
//! written nothing (exit 2). The database URL is checked by the storage
//! component when it opens the store, before anything is created.

use std::io::Read;
use std::path::Path;

use nexau_session_ids::{ID_RULE, is_valid_id};
use nexau_session_message::Role;

use crate::args::{AgentArgs, Cli, Command, HistoryCommand, LocksCommand, SessionArgs, SessionsCommand};
use crate::failure::Failure;

/// The variable that pins the native CLI's clock; the component's clock is
/// WASI's wall clock, read by the session logic itself.
const NOW_ENV: &str = "NEXAU_SESSION_NOW";

/// Checks `cli` and loads a message given as `--text -` (stdin) or
/// `--text-file PATH` into its `text`, so the command runs on checked input.
pub fn command(cli: &mut Cli) -> Result<(), Failure> {
    if std::env::var_os(NOW_ENV).is_some() {
        return Err(Failure::Invalid(format!(
            "{NOW_ENV} cannot pin the component's clock (it reads the runtime's wall clock); unset it"
        )));
    }
    match &mut cli.command {
        Command::Sessions(SessionsCommand::Create { user, session }) => {
            id("user_id", user)?;
            id_opt("session_id", session.as_deref())
        }
        Command::Sessions(SessionsCommand::List { user, .. }) => id_opt("user_id", user.as_deref()),
        Command::Sessions(SessionsCommand::Show { target, .. } | SessionsCommand::Delete { target })
        | Command::Locks(LocksCommand::Show { target, .. }) => session(target),
        Command::History(HistoryCommand::Append { target, role, text, text_file, idempotency_key }) => {
            agent(target)?;
            id_opt("idempotency_key", idempotency_key.as_deref())?;
            if *role == Role::System {
                return Err(Failure::Invalid(
                    "system messages are not stored in the history; use user, assistant, tool or framework".into(),
                ));
            }
            *text = Some(message_text(text.take(), text_file.take())?);
            Ok(())
        }
        Command::History(HistoryCommand::Show { target, .. }) => agent(target),
    }
}

/// Checks the id named `field`; the error names the field and the rule.
fn id(field: &str, value: &str) -> Result<(), Failure> {
    if is_valid_id(value) {
        return Ok(());
    }
    let shown: String = value.chars().take(40).collect();
    let more = if shown.len() < value.len() { "…" } else { "" };
    Err(Failure::Invalid(format!("{field}: {ID_RULE}, got {shown:?}{more}")))
}

fn id_opt(field: &str, value: Option<&str>) -> Result<(), Failure> {
    value.map_or(Ok(()), |v| id(field, v))
}

fn session(t: &SessionArgs) -> Result<(), Failure> {
    id("user_id", &t.user)?;
    id("session_id", &t.session)
}

fn agent(t: &AgentArgs) -> Result<(), Failure> {
    id("user_id", &t.user)?;
    id("session_id", &t.session)?;
    id_opt("agent_id", t.agent.as_deref())
}

/// The message text: `--text T`, `--text -` (all of stdin) or `--text-file PATH`.
fn message_text(text: Option<String>, file: Option<std::path::PathBuf>) -> Result<String, Failure> {
    let utf8 = |bytes: Vec<u8>, from: &str| {
        String::from_utf8(bytes).map_err(|e| {
            Failure::Invalid(format!(
                "{from} is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ))
        })
    };
    match (text, file) {
        (Some(t), None) if t == "-" => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .lock()
                .read_to_end(&mut bytes)
                .map_err(|e| Failure::Invalid(format!("--text -: cannot read stdin: {e}")))?;
            utf8(bytes, "--text - (stdin)")
        }
        (Some(t), None) => Ok(t),
        (None, Some(path)) => utf8(read_file(&path)?, &format!("--text-file {}", path.display())),
        _ => Err(Failure::Invalid("give the message as exactly one of --text T, --text - or --text-file PATH".into())),
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, Failure> {
    let cannot = |why: String| Failure::Invalid(format!("--text-file {}: cannot read: {why}", path.display()));
    if path.is_dir() {
        return Err(cannot("it is a directory".into()));
    }
    std::fs::read(path).map_err(|e| cannot(e.to_string()))
}
