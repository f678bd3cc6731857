//! Where a NexAU store is, and what reading it gives: the rows of its four
//! tables, and the rows that could not be read at all.

use std::path::PathBuf;

use super::RowProblem;
use super::source_row::SourceRow;
use crate::{DbUrl, Error, Result};

/// NexAU's table of sessions.
pub(crate) const SESSIONS: &str = "sessions";
/// NexAU's table of agents.
pub(crate) const AGENTS: &str = "agents";
/// NexAU's history log.
pub(crate) const ACTIONS: &str = "agent_run_actions";
/// NexAU's lock leases (counted, never carried over).
pub(crate) const LOCKS: &str = "agent_locks";
/// The four tables, in the order they are read.
pub(crate) const TABLES: [&str; 4] = [SESSIONS, AGENTS, ACTIONS, LOCKS];

/// A NexAU store.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// SQL tables (SQLite file, PostgreSQL, MySQL/MariaDB).
    Sql(DbUrl),
    /// A JSONL directory (`sessions.jsonl`, ...).
    Jsonl(PathBuf),
}

impl Source {
    /// The store a NexAU URL names: `sqlite+aiosqlite:///…`, `sqlite:///…`,
    /// `postgresql+asyncpg://…`, `mysql+aiomysql://…` (and the other
    /// spellings of those) or `jsonl:///dir` (SQLAlchemy's slash rule).
    pub fn parse(url: &str) -> Result<Source> {
        let parsed = DbUrl::parse(url)?;
        match parsed.backend_name() {
            "sqlite" | "postgres" | "mysql" => Ok(Source::Sql(parsed)),
            "jsonl" => match parsed.path() {
                Some(dir) if parsed.options().is_empty() => Ok(Source::Jsonl(dir.to_owned())),
                _ => Err(Error::Invalid(format!("{parsed}: a NexAU JSONL URL names a directory and takes no options"))),
            },
            other => Err(Error::Invalid(format!(
                "{parsed}: a {other} URL is not a NexAU store (use sqlite+aiosqlite:///FILE, postgresql+asyncpg://…, \
                 mysql+aiomysql://… or jsonl:///DIR)"
            ))),
        }
    }

    /// Reads the four tables.
    pub async fn read(&self) -> Result<SourceTables> {
        match self {
            Source::Sql(url) => super::sql_tables::read(url).await,
            Source::Jsonl(dir) => super::jsonl_dir::read(dir.clone()).await,
        }
    }
}

/// The rows of a NexAU store.
#[derive(Debug, Default)]
pub(crate) struct SourceTables {
    /// `sessions`.
    pub sessions: Vec<SourceRow>,
    /// `agents`.
    pub agents: Vec<SourceRow>,
    /// `agent_run_actions`.
    pub actions: Vec<SourceRow>,
    /// How many rows `agent_locks` holds.
    pub locks: u64,
    /// Rows that could not be read (a JSONL line that is not a JSON object).
    pub unreadable: Vec<RowProblem>,
}

impl SourceTables {
    /// Files a row read from `table`.
    pub fn push(&mut self, table: &'static str, row: SourceRow) {
        match table {
            SESSIONS => self.sessions.push(row),
            AGENTS => self.agents.push(row),
            ACTIONS => self.actions.push(row),
            _ => self.locks += 1,
        }
    }
}
