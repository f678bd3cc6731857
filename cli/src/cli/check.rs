//! Every input of a command, checked before the database is opened: ids, the
//! database URL, roles, durations, the message text and its source, limits.
//! A command that fails here has written nothing (exit 2).

use std::path::Path;
use std::time::Duration;

use nexau_session::ids::{check as id, check_opt as id_opt};
use nexau_session::storage::TableSchema;
use nexau_session::storage::backends;
use nexau_session::{DbUrl, Engine, Error, Record, Result, Role, SessionModel, parse_filters, parse_order};

use super::Command;
use super::history::HistoryCommand;
use super::locks::LocksCommand;
use super::sessions::SessionsCommand;
use super::target::AgentArgs;

/// The longest accepted lock TTL, heartbeat interval or lock wait.
pub const MAX_LOCK_DURATION: Duration = Duration::from_secs(24 * 3600);

/// Backends `bench --backend` knows.
/// Checks `cmd` and `db`, and loads a message given as `--text -` (stdin) or
/// `--text-file PATH` into its `text`, so the command runs on checked input.
pub async fn command(db: &str, cmd: &mut Command) -> Result<()> {
    if !matches!(cmd, Command::Bench(_)) {
        DbUrl::parse(db)?;
    }
    match cmd {
        Command::Demo(a) => id("user_id", &a.user),
        Command::Chat(a) => {
            agent(&a.target)?;
            lock_timing(a.ttl, a.heartbeat, a.wait)
        }
        Command::Sessions(SessionsCommand::Create { user, session }) => {
            id("user_id", user)?;
            id_opt("session_id", session.as_deref())
        }
        Command::Sessions(SessionsCommand::List { user, filter, order_by, after, .. }) => {
            id_opt("user_id", user.as_deref())?;
            let table = sessions_table().await?;
            parse_filters(filter, &table)?;
            let orders = order_by.iter().map(|o| parse_order(o, &table)).collect::<Result<Vec<_>>>()?;
            if after.is_some() {
                super::sessions::parse_cursor(after.as_deref())?;
                super::sessions::keyset_columns(&orders, &table)?;
            }
            Ok(())
        }
        Command::Export(a) => {
            id_opt("user_id", a.user.as_deref())?;
            parse_filters(&a.filter, &sessions_table().await?).map(drop)
        }
        Command::Import(a) => super::import::check(a).await,
        Command::Migrate(a) => {
            DbUrl::parse(&a.to)?;
            if a.to == db {
                return Err(Error::Invalid("--to names the store being migrated (--db); give another".into()));
            }
            Ok(())
        }
        Command::Sessions(SessionsCommand::Show { target, .. } | SessionsCommand::Delete { target })
        | Command::Locks(LocksCommand::Show { target, .. }) => session_ids(&target.user, &target.session),
        Command::History(HistoryCommand::Append { target, role, text, text_file, idempotency_key }) => {
            agent(target)?;
            id_opt("idempotency_key", idempotency_key.as_deref())?;
            if *role == Role::System {
                return Err(Error::Invalid(
                    "system messages are not stored in the history; use user, assistant, tool or framework".into(),
                ));
            }
            *text = Some(message_text(text.take(), text_file.take()).await?);
            Ok(())
        }
        Command::History(HistoryCommand::Show { target, .. }) => agent(target),
        Command::Locks(LocksCommand::Hold { target, ttl, heartbeat, wait }) => {
            agent(target)?;
            lock_timing(*ttl, *heartbeat, *wait)
        }
        Command::Cleanup(a) => id_opt("user_id", a.user.as_deref()),
        Command::Compact => Ok(()),
        Command::Bench(a) => match a.backends.iter().find(|b| backends::by_name(b).is_none()) {
            Some(b) => {
                let known: Vec<&str> = backends::BACKENDS.iter().map(|k| k.name).collect();
                Err(Error::Invalid(format!("--backend: unknown backend {b:?} (this build has {})", known.join(", "))))
            }
            None => Ok(()),
        },
    }
}

/// The declared `sessions` table, learnt without opening the database.
async fn sessions_table() -> Result<TableSchema> {
    Engine::declared_schemas()
        .await?
        .into_iter()
        .find(|t| t.name == SessionModel::TABLE)
        .ok_or_else(|| Error::TableNotFound(SessionModel::TABLE.into()))
}

fn session_ids(user: &str, session: &str) -> Result<()> {
    id("user_id", user)?;
    id("session_id", session)
}

fn agent(t: &AgentArgs) -> Result<()> {
    session_ids(&t.user, &t.session)?;
    id_opt("agent_id", t.agent.as_deref())
}

/// The TTL, the heartbeat (default: a third of the TTL) and the wait of a lock.
fn lock_timing(ttl: Duration, heartbeat: Option<Duration>, wait: Option<Duration>) -> Result<()> {
    let show = |d: Duration| humantime::format_duration(d).to_string();
    let max = show(MAX_LOCK_DURATION);
    if ttl < Duration::from_millis(1) || ttl > MAX_LOCK_DURATION {
        return Err(Error::Invalid(format!("--ttl must be between 1ms and {max}, got {}", show(ttl))));
    }
    let beat = heartbeat.unwrap_or(ttl / 3);
    if beat.is_zero() || beat * 2 >= ttl {
        return Err(Error::Invalid(format!(
            "--heartbeat ({}) must be above zero and under half of --ttl ({})",
            show(beat),
            show(ttl)
        )));
    }
    match wait {
        Some(w) if w > MAX_LOCK_DURATION => {
            Err(Error::Invalid(format!("--wait must be at most {max}, got {}", show(w))))
        }
        _ => Ok(()),
    }
}

/// The message text: `--text T`, `--text -` (all of stdin) or `--text-file PATH`.
/// Checks `--component PATH`: a readable build of the session-logic
/// component that this host can run (the right exports and imports). A
/// refusal is bad input (exit 2): nothing is opened or written.
pub fn component(path: Option<&Path>) -> Result<()> {
    let Some(path) = path else { return Ok(()) };
    let wasm =
        std::fs::read(path).map_err(|e| Error::Invalid(format!("--component {}: cannot read: {e}", path.display())))?;
    nexau_session::runtime::check_component(&wasm).map_err(|e| match e {
        Error::Invalid(m) => Error::Invalid(format!("--component {}: {m}", path.display())),
        other => other,
    })
}

async fn message_text(text: Option<String>, file: Option<std::path::PathBuf>) -> Result<String> {
    let utf8 = |bytes: Vec<u8>, from: &str| {
        String::from_utf8(bytes).map_err(|e| {
            Error::Invalid(format!(
                "{from} is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ))
        })
    };
    match (text, file) {
        (Some(t), None) if t == "-" => {
            let bytes = super::stdin::read_all()
                .await
                .map_err(|e| Error::Invalid(format!("--text -: cannot read stdin: {e}")))?;
            utf8(bytes, "--text - (stdin)")
        }
        (Some(t), None) => Ok(t),
        (None, Some(path)) => utf8(read_file(&path)?, &format!("--text-file {}", path.display())),
        _ => Err(Error::Invalid("give the message as exactly one of --text T, --text - or --text-file PATH".into())),
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    let cannot = |why: String| Error::Invalid(format!("--text-file {}: cannot read: {why}", path.display()));
    if path.is_dir() {
        return Err(cannot("it is a directory".into()));
    }
    std::fs::read(path).map_err(|e| cannot(e.to_string()))
}
