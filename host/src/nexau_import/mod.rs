//! Importing a store written by NexAU (the Python implementation): its SQL
//! tables (`sqlite+aiosqlite:///…`, `postgresql+asyncpg://…`,
//! `mysql+aiomysql://…`) or its JSONL directory (`jsonl:///dir`), into this
//! engine's store. See [`Engine::import_nexau`].
//!
//! | file | job |
//! |---|---|
//! | `source.rs` | the NexAU URL, and what reading a store gives |
//! | `sql_tables.rs` | reading its SQL tables |
//! | `jsonl_dir.rs` | reading its JSONL directory |
//! | `source_row.rs` | one row as read, with accessors for both kinds of store |
//! | `timestamps.rs` | the time formats accepted |
//! | `records.rs` | rows read into checked records |
//! | `plan.rs` | records sorted into sessions, agents and ordered actions |
//! | `actions.rs` | the action mapping onto the session logic's write |
//! | `writer.rs` | writing a plan into this store, idempotently |

mod actions;
mod jsonl_dir;
mod plan;
mod records;
mod source;
mod source_row;
mod sql_tables;
mod timestamps;
mod writer;

use serde::Serialize;

use crate::{Engine, Error, Result};

/// What an import does with a row it cannot import (malformed, or refused
/// by this store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnError {
    /// Stop: a row found malformed while reading stops the import before
    /// anything is written; a row this store refuses while writing stops it
    /// there (what was written stays; a rerun continues).
    #[default]
    Stop,
    /// Skip the row, report it in [`ImportSummary::problems`] and go on.
    Skip,
}

/// A row that was not imported: its table, its key (or its place, when the
/// key cannot be read) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    /// The NexAU table (`sessions`, `agents`, `agent_run_actions`).
    pub table: String,
    /// The row's key (`action_id=act_…`), or where it is (`line 7`, `row 7`).
    pub key: String,
    /// What is wrong with it.
    pub reason: String,
}

impl RowProblem {
    fn new(table: &str, key: &str, reason: &str) -> RowProblem {
        RowProblem { table: table.to_owned(), key: key.to_owned(), reason: reason.to_owned() }
    }
}

impl std::fmt::Display for RowProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.table, self.key, self.reason)
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Sessions created in this store.
    pub sessions_created: u64,
    /// Sessions that existed and took NexAU's newer context, storage and state.
    pub sessions_updated: u64,
    /// Agents created.
    pub agents_created: u64,
    /// Actions written.
    pub actions_imported: u64,
    /// Actions found already imported (by their NexAU action id).
    pub actions_already_present: u64,
    /// Lock rows of NexAU's `agent_locks`, never carried over (a lease of a
    /// process of the other implementation means nothing here).
    pub locks_skipped: u64,
    /// Rows not imported (with `OnError::Skip`).
    pub problems: Vec<RowProblem>,
}

/// Checks that `url` names a NexAU store [`Engine::import_nexau`] can read
/// (a sqlite, postgresql, mysql or jsonl URL), without opening it.
///
/// ```
/// assert!(nexau_session::check_nexau_url("sqlite+aiosqlite:///nexau.db").is_ok());
/// assert!(nexau_session::check_nexau_url("jsonl:///nexau_data").is_ok());
/// assert!(nexau_session::check_nexau_url("memory://").is_err());
/// ```
pub fn check_nexau_url(url: &str) -> Result<()> {
    source::Source::parse(url).map(drop)
}

impl Engine {
    /// Imports the NexAU store `url` names into this engine's store (call
    /// [`Engine::setup_models`] first): its sessions (with context, storage,
    /// sandbox state, root agent, pending tool calls and times), its agents
    /// and sub-agents, and every action of their history logs (`append`,
    /// `replace`, `undo`, `run_start`, `run_end`, with run ids, root and
    /// parent run ids, agent names, idempotency keys, `extra` and times), in
    /// the order NexAU's SQL loading reads them (`created_at_ns`, then
    /// `action_id`). Lock rows are counted, not carried over.
    ///
    /// Idempotent: an action already imported (by its action id) is
    /// skipped, so a second import of the same store writes nothing and an
    /// import of a store that has grown adds what is new. A session or
    /// agent that exists here takes NexAU's fields only when NexAU's
    /// `updated_at` / `last_updated` is newer.
    ///
    /// Errors: a URL that names no NexAU store, or a row that cannot be
    /// imported with [`OnError::Stop`], is [`Error::Invalid`] naming the
    /// table and key of the first such row.
    ///
    /// ```no_run
    /// # async fn demo() -> nexau_session::Result<()> {
    /// use nexau_session::{Engine, OnError};
    /// let engine = Engine::from_url("sqlite:///sessions.db").await?;
    /// engine.setup_models().await?;
    /// let summary = engine.import_nexau("sqlite+aiosqlite:///nexau.db", OnError::Skip).await?;
    /// println!("{} actions imported, {} rows not imported", summary.actions_imported, summary.problems.len());
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn import_nexau(&self, url: &str, on_error: OnError) -> Result<ImportSummary> {
        let source = source::Source::parse(url)?;
        let plan = plan::plan(source.read().await?);
        if on_error == OnError::Stop
            && let Some(first) = plan.problems.first()
        {
            let more = match plan.problems.len() {
                1 => String::new(),
                n => format!(" (and {} more rows)", n - 1),
            };
            return Err(Error::Invalid(format!(
                "NexAU store: {first}{more}; nothing imported (--on-error skip imports the other rows)"
            )));
        }
        tracing::debug!(sessions = plan.sessions.len(), actions = plan.actions(), "importing a NexAU store");
        let mut writer = writer::Writer::new(self, on_error);
        writer.summary.locks_skipped = plan.locks;
        writer.summary.problems = plan.problems;
        for session in &plan.sessions {
            writer.session(session).await?;
        }
        Ok(writer.summary)
    }
}
