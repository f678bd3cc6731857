//! The tables of the session logic, as declared to the storage.

use crate::bindings::nexau::session::storage::{Column, ColumnType, Index, TableSchema};
use crate::prelude::*;

/// `sessions`: one row per (user, session).
pub const SESSIONS: &str = "sessions";
/// `agents`: one row per agent of a session, with its next sequence number.
pub const AGENTS: &str = "agents";
/// `agent_locks`: one lease row per (user, session, agent).
pub const AGENT_LOCKS: &str = "agent_locks";
/// `agent_run_actions`: the history log.
pub const ACTIONS: &str = "agent_run_actions";

/// Every table this component declares.
pub const TABLES: [&str; 4] = [SESSIONS, AGENTS, AGENT_LOCKS, ACTIONS];

fn col(name: &str, kind: ColumnType, nullable: bool) -> Column {
    Column { name: name.into(), kind, nullable }
}

fn names(cols: &[&str]) -> Vec<String> {
    cols.iter().map(|c| (*c).to_owned()).collect()
}

fn index(name: &str, cols: &[&str], unique: bool) -> Index {
    Index { name: name.into(), columns: names(cols), unique }
}

/// The schemas of [`TABLES`].
pub fn schemas() -> Vec<TableSchema> {
    use ColumnType::{Integer, Json, Text, Timestamp};
    vec![
        TableSchema {
            name: SESSIONS.into(),
            columns: vec![
                col("user_id", Text, false),
                col("session_id", Text, false),
                col("created_at", Timestamp, false),
                col("updated_at", Timestamp, false),
                col("context", Json, false),
                col("storage", Json, false),
                col("sandbox_state", Json, true),
                col("root_agent_id", Text, true),
                col("pending_tool_calls", Json, true),
                col("version", Integer, false),
            ],
            primary_key: names(&["user_id", "session_id"]),
            indexes: vec![
                index("sessions_user_updated", &["user_id", "updated_at"], false),
                index("sessions_updated", &["updated_at"], false),
            ],
        },
        TableSchema {
            name: AGENTS.into(),
            columns: vec![
                col("user_id", Text, false),
                col("session_id", Text, false),
                col("agent_id", Text, false),
                col("agent_name", Text, false),
                col("created_at", Timestamp, false),
                col("last_updated", Timestamp, false),
                col("next_seq", Integer, false),
            ],
            primary_key: names(&["user_id", "session_id", "agent_id"]),
            indexes: vec![],
        },
        TableSchema {
            name: AGENT_LOCKS.into(),
            columns: vec![
                col("user_id", Text, false),
                col("session_id", Text, false),
                col("agent_id", Text, false),
                col("holder_id", Text, true),
                col("run_id", Text, true),
                col("token", Integer, false),
                col("acquired_at_ns", Integer, false),
                col("expires_at_ns", Integer, false),
            ],
            primary_key: names(&["user_id", "session_id", "agent_id"]),
            indexes: vec![],
        },
        TableSchema {
            name: ACTIONS.into(),
            columns: vec![
                col("action_id", Text, false),
                col("user_id", Text, false),
                col("session_id", Text, false),
                col("agent_id", Text, false),
                col("seq", Integer, false),
                col("run_id", Text, true),
                col("root_run_id", Text, true),
                col("parent_run_id", Text, true),
                col("agent_name", Text, true),
                col("created_at", Timestamp, false),
                col("created_at_ns", Integer, false),
                col("action_type", Text, false),
                col("append_messages", Json, true),
                col("replace_messages", Json, true),
                col("undo_before_run_id", Text, true),
                col("idempotency_key", Text, true),
                col("extra", Json, true),
            ],
            primary_key: names(&["action_id"]),
            indexes: vec![
                index("actions_agent_seq", &["user_id", "session_id", "agent_id", "seq"], true),
                index("actions_idempotency", &["user_id", "session_id", "agent_id", "idempotency_key"], true),
                index("actions_agent_type_seq", &["user_id", "session_id", "agent_id", "action_type", "seq"], false),
            ],
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_is_declared_once_without_scope() {
        let s = schemas();
        let declared: Vec<&str> = s.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(declared, TABLES);
        for t in &s {
            assert!(t.columns.iter().all(|c| c.name != "scope"), "{} declares scope", t.name);
            for k in t.primary_key.iter().chain(t.indexes.iter().flat_map(|i| i.columns.iter())) {
                assert!(t.columns.iter().any(|c| &c.name == k), "{}: {k} is not a column", t.name);
            }
        }
    }
}
