//! NexAU's rows read into typed records, each checked as far as can be
//! checked before anything is written: ids by this store's id rule, times,
//! JSON columns, the fields each action type needs.

use super::RowProblem;
use super::source::{ACTIONS, AGENTS, SESSIONS};
use super::source_row::{JsonCell, SourceRow};
use crate::{Timestamp, ids};

/// The key columns of each table, for reports.
pub(crate) const SESSION_KEY: [&str; 2] = ["user_id", "session_id"];
pub(crate) const AGENT_KEY: [&str; 3] = ["user_id", "session_id", "agent_id"];
pub(crate) const ACTION_KEY: [&str; 1] = ["action_id"];

/// A session row.
#[derive(Debug, Clone)]
pub(crate) struct NexauSession {
    pub user_id: String,
    pub session_id: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// A JSON object (`{}` when NULL).
    pub context: String,
    /// A JSON object (`{}` when NULL).
    pub storage: String,
    pub sandbox_state: Option<String>,
    pub root_agent_id: Option<String>,
    pub pending_tool_calls: Option<String>,
}

/// An agent row.
#[derive(Debug, Clone)]
pub(crate) struct NexauAgent {
    pub user_id: String,
    pub session_id: String,
    pub agent_id: String,
    pub agent_name: String,
    pub created_at: Option<Timestamp>,
    pub last_updated: Option<Timestamp>,
}

/// What an action does.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ActionKind {
    /// `append`: the messages, as JSON text.
    Append(String),
    /// `replace`: the messages, as JSON text.
    Replace(String),
    /// `undo`: the run to rewind to before.
    Undo(String),
    /// `run_start`.
    RunStart,
    /// `run_end`.
    RunEnd,
}

impl ActionKind {
    /// The type as both logs name it.
    pub fn name(&self) -> &'static str {
        match self {
            ActionKind::Append(_) => "append",
            ActionKind::Replace(_) => "replace",
            ActionKind::Undo(_) => "undo",
            ActionKind::RunStart => "run_start",
            ActionKind::RunEnd => "run_end",
        }
    }
}

/// An action row.
#[derive(Debug, Clone)]
pub(crate) struct NexauAction {
    pub action_id: String,
    pub user_id: String,
    pub session_id: String,
    pub agent_id: String,
    pub run_id: Option<String>,
    pub root_run_id: Option<String>,
    pub parent_run_id: Option<String>,
    pub agent_name: Option<String>,
    /// `created_at_ns`, else `created_at`.
    pub created_at: Timestamp,
    pub kind: ActionKind,
    pub idempotency_key: Option<String>,
    /// `extra` as JSON text.
    pub extra: Option<String>,
}

fn problem(row: &SourceRow, key: &[&str], reason: String) -> RowProblem {
    RowProblem::new(row.table, &row.key(key), &reason)
}

fn id(row: &SourceRow, column: &str) -> Result<String, String> {
    let v = row.text(column)?;
    ids::check(column, &v).map_err(|e| e.to_string())?;
    Ok(v)
}

fn opt_id(row: &SourceRow, column: &str) -> Result<Option<String>, String> {
    let v = row.opt_text(column)?;
    ids::check_opt(column, v.as_deref()).map_err(|e| e.to_string())?;
    Ok(v)
}

fn object_or_empty(row: &SourceRow, column: &str) -> Result<String, String> {
    match row.opt_json(column)? {
        None => Ok("{}".to_owned()),
        Some(JsonCell { value, text }) if value.is_object() => Ok(text),
        Some(c) => Err(format!("{column} must be a JSON object, not {}", c.text)),
    }
}

impl NexauSession {
    /// Reads a `sessions` row.
    pub fn read(row: &SourceRow) -> Result<NexauSession, RowProblem> {
        debug_assert_eq!(row.table, SESSIONS);
        let read = || -> Result<NexauSession, String> {
            let created_at = row.opt_time("created_at")?.ok_or("created_at is missing")?;
            Ok(NexauSession {
                user_id: id(row, "user_id")?,
                session_id: id(row, "session_id")?,
                created_at,
                updated_at: row.opt_time("updated_at")?.unwrap_or(created_at),
                context: object_or_empty(row, "context")?,
                storage: object_or_empty(row, "storage")?,
                sandbox_state: row.opt_json("sandbox_state")?.map(|c| c.text),
                root_agent_id: opt_id(row, "root_agent_id")?,
                pending_tool_calls: row.opt_json("pending_tool_calls")?.map(|c| c.text),
            })
        };
        read().map_err(|e| problem(row, &SESSION_KEY, e))
    }
}

impl NexauAgent {
    /// Reads an `agents` row.
    pub fn read(row: &SourceRow) -> Result<NexauAgent, RowProblem> {
        debug_assert_eq!(row.table, AGENTS);
        let read = || -> Result<NexauAgent, String> {
            let agent_name = row.opt_text("agent_name")?.unwrap_or_default();
            if agent_name.len() > 1024 {
                return Err("agent_name: at most 1024 bytes".into());
            }
            Ok(NexauAgent {
                user_id: id(row, "user_id")?,
                session_id: id(row, "session_id")?,
                agent_id: id(row, "agent_id")?,
                agent_name,
                created_at: row.opt_time("created_at")?,
                last_updated: row.opt_time("last_updated")?,
            })
        };
        read().map_err(|e| problem(row, &AGENT_KEY, e))
    }
}

/// The messages of an `append` or `replace`: a JSON array, as text.
fn messages(row: &SourceRow, column: &str) -> Result<String, String> {
    match row.opt_json(column)? {
        Some(JsonCell { value, text }) if value.is_array() => Ok(text),
        Some(c) => Err(format!("{column} must be a JSON array of messages, not {}", c.text)),
        None => Err(format!("{column} is missing")),
    }
}

impl NexauAction {
    /// Reads an `agent_run_actions` row.
    pub fn read(row: &SourceRow) -> Result<NexauAction, RowProblem> {
        debug_assert_eq!(row.table, ACTIONS);
        let read = || -> Result<NexauAction, String> {
            let run_id = opt_id(row, "run_id")?;
            let action_type = row.text("action_type")?;
            let kind = match action_type.as_str() {
                "append" => ActionKind::Append(messages(row, "append_messages")?),
                "replace" => ActionKind::Replace(messages(row, "replace_messages")?),
                "undo" => ActionKind::Undo(id(row, "undo_before_run_id")?),
                "run_start" | "run_end" if run_id.is_none() => return Err(format!("{action_type} without a run_id")),
                "run_start" => ActionKind::RunStart,
                "run_end" => ActionKind::RunEnd,
                other => {
                    return Err(format!("action_type {other:?} is not append, replace, undo, run_start or run_end"));
                }
            };
            let created_at = match row.opt_int("created_at_ns")? {
                Some(ns) => super::timestamps::from_ns(ns).map_err(|e| format!("created_at_ns: {e}"))?,
                None => row.opt_time("created_at")?.ok_or("created_at_ns and created_at are missing")?,
            };
            let agent_name = row.opt_text("agent_name")?;
            if agent_name.as_ref().is_some_and(|n| n.len() > 1024) {
                return Err("agent_name: at most 1024 bytes".into());
            }
            Ok(NexauAction {
                action_id: id(row, "action_id")?,
                user_id: id(row, "user_id")?,
                session_id: id(row, "session_id")?,
                agent_id: id(row, "agent_id")?,
                run_id,
                root_run_id: opt_id(row, "root_run_id")?,
                parent_run_id: opt_id(row, "parent_run_id")?,
                agent_name,
                created_at,
                kind,
                idempotency_key: opt_id(row, "idempotency_key")?,
                extra: row.opt_json("extra")?.map(|c| c.text),
            })
        };
        read().map_err(|e| problem(row, &ACTION_KEY, e))
    }
}
