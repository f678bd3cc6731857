//! The names of the tables the session logic declares, and the columns of an
//! `agent_messages` row, shared by the component (which declares and writes
//! them) and the host (which reads them for maintenance, upgrades old stores
//! and benchmarks them). The columns' types, keys and indexes are declared
//! once, by the component (`guest/src/schema.rs`); after `setup_models` the
//! host reads them back with `Engine::table_schema`.
//!
//! ```
//! use nexau_session_tables as tables;
//! assert!(tables::ALL.contains(&tables::MESSAGES));
//! assert_eq!(tables::MESSAGE_COLUMNS[0], "user_id");
//! ```

#![no_std]

/// `sessions`: one row per (user, session).
pub const SESSIONS: &str = "sessions";
/// `agents`: one row per agent of a session, with its history counters.
pub const AGENTS: &str = "agents";
/// `agent_locks`: one lease row per (user, session, agent).
pub const AGENT_LOCKS: &str = "agent_locks";
/// `agent_run_actions`: the history log, one row per run action.
pub const ACTIONS: &str = "agent_run_actions";
/// `agent_messages`: every message an `append` or `replace` wrote, one row
/// each, with its place in the live conversation.
pub const MESSAGES: &str = "agent_messages";

/// Every table, parents before children.
pub const ALL: [&str; 5] = [SESSIONS, AGENTS, AGENT_LOCKS, ACTIONS, MESSAGES];

/// The columns of a new `agents` row, in the order its writers fill them.
pub const AGENT_COLUMNS: [&str; 10] = [
    "user_id",
    "session_id",
    "agent_id",
    "agent_name",
    "created_at",
    "last_updated",
    "next_seq",
    "live_count",
    "epoch",
    "generation",
];

/// The columns of an `agent_messages` row, in the order its writers fill them.
pub const MESSAGE_COLUMNS: [&str; 11] = [
    "user_id",
    "session_id",
    "agent_id",
    "action_seq",
    "epoch",
    "pos",
    "live",
    "message_id",
    "role",
    "tool_calls",
    "message",
];
