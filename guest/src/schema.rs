//! The tables of the session logic, as declared to the storage.

use crate::bindings::nexau::session::storage::{Column, ColumnType, Index, RowSet, TableSchema, Value};
use crate::error::{Res, SessionError};
use crate::prelude::*;

pub use nexau_session_tables::{ACTIONS, AGENT_COLUMNS, AGENT_LOCKS, AGENTS, MESSAGE_COLUMNS, MESSAGES, SESSIONS};

/// Every table this component declares.
#[cfg(test)]
pub const TABLES: [&str; 5] = nexau_session_tables::ALL;

use ColumnType::{Boolean as B, Integer as I, Json as J, Text as T, Timestamp as TS};

/// A table as static data: name, columns (name, type, nullable), primary key,
/// indexes (name, columns, unique). Expanded by [`schemas`] with one loop.
type Spec = (&'static str, &'static [(&'static str, ColumnType, bool)], &'static [&'static str], &'static [Ix]);
type Ix = (&'static str, &'static [&'static str], bool);

static SPECS: [Spec; 5] = [
    (
        SESSIONS,
        &[
            ("user_id", T, false),
            ("session_id", T, false),
            ("created_at", TS, false),
            ("updated_at", TS, false),
            ("context", J, false),
            ("storage", J, false),
            ("sandbox_state", J, true),
            ("root_agent_id", T, true),
            ("pending_tool_calls", J, true),
            ("version", I, false),
        ],
        &["user_id", "session_id"],
        &[("sessions_user_updated", &["user_id", "updated_at"], false)],
    ),
    (
        AGENTS,
        &[
            ("user_id", T, false),
            ("session_id", T, false),
            ("agent_id", T, false),
            ("agent_name", T, false),
            ("created_at", TS, false),
            ("last_updated", TS, false),
            ("next_seq", I, false),
            // The live conversation's shape (null: written before messages had
            // their own rows; the host upgrades them, `host/src/engine/upgrade.rs`).
            ("live_count", I, true),
            ("epoch", I, true),
            ("generation", I, true),
        ],
        &["user_id", "session_id", "agent_id"],
        &[],
    ),
    (
        AGENT_LOCKS,
        &[
            ("user_id", T, false),
            ("session_id", T, false),
            ("agent_id", T, false),
            ("holder_id", T, true),
            ("run_id", T, true),
            ("token", I, false),
            ("acquired_at_ns", I, false),
            ("expires_at_ns", I, false),
        ],
        &["user_id", "session_id", "agent_id"],
        &[],
    ),
    (
        ACTIONS,
        &[
            ("action_id", T, false),
            ("user_id", T, false),
            ("session_id", T, false),
            ("agent_id", T, false),
            ("seq", I, false),
            ("run_id", T, true),
            ("root_run_id", T, true),
            ("parent_run_id", T, true),
            ("agent_name", T, true),
            ("created_at", TS, false),
            ("created_at_ns", I, false),
            ("action_type", T, false),
            ("append_messages", J, true),
            ("replace_messages", J, true),
            ("undo_before_run_id", T, true),
            ("idempotency_key", T, true),
            ("extra", J, true),
            ("epoch", I, true),
            ("live_before", I, true),
            ("request_hash", T, true),
        ],
        &["action_id"],
        &[
            ("actions_agent_seq", &["user_id", "session_id", "agent_id", "seq"], true),
            ("actions_idempotency", &["user_id", "session_id", "agent_id", "idempotency_key"], true),
            ("actions_run", &["user_id", "session_id", "agent_id", "run_id", "seq"], false),
        ],
    ),
    (
        MESSAGES,
        &[
            ("user_id", T, false),
            ("session_id", T, false),
            ("agent_id", T, false),
            ("action_seq", I, false),
            ("epoch", I, false),
            ("pos", I, false),
            ("live", B, false),
            ("message_id", T, false),
            ("role", T, false),
            ("tool_calls", J, true),
            ("message", J, false),
        ],
        // Keyed in the order a load reads (live rows of an epoch by position;
        // `action_seq` makes the key unique, as dead rows and rows an undo
        // turned off share positions), so the key serves loads and no
        // separate position index is written with every message.
        &["user_id", "session_id", "agent_id", "epoch", "pos", "action_seq"],
        &[("messages_id", &["user_id", "session_id", "agent_id", "epoch", "live", "message_id"], false)],
    ),
];

/// The schemas of every table this component declares.
pub fn schemas() -> Vec<TableSchema> {
    let mut out = Vec::new();
    for (name, cols, pk, ixs) in SPECS {
        let mut columns = Vec::new();
        for &(c, kind, nullable) in cols {
            columns.push(Column { name: c.into(), kind, nullable });
        }
        let mut indexes = Vec::new();
        for &(n, c, unique) in ixs {
            indexes.push(Index { name: n.into(), columns: strings(c), unique });
        }
        out.push(TableSchema { name: name.into(), columns, primary_key: strings(pk), indexes });
    }
    out
}

/// The error of a row without `table`.`column`.
#[inline(never)]
pub fn row_without(table: &str, column: &str) -> SessionError {
    SessionError::Backend(cat(&["storage row without ", table, ".", column]))
}

/// A value's place in `value` (`storage.wit`): 0 for null, then one more
/// than its type's place in `column-type`.
fn tag(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Boolean(_) => 1,
        Value::Integer(_) => 2,
        Value::Float(_) => 3,
        Value::Text(_) => 4,
        Value::Json(_) => 5,
        Value::Bytes(_) => 6,
        Value::Timestamp(_) => 7,
    }
}

/// Refuses a row of `table` that lacks a declared column: absent from the
/// row set or the row, NULL though declared NOT NULL, or of another type
/// (read on, it would pass for 0 or "").
#[inline(never)]
pub fn check_rows(table: &str, set: &RowSet) -> Res<()> {
    let Some((_, cols, _, _)) = SPECS.iter().find(|spec| spec.0 == table) else { return Ok(()) };
    for &(c, kind, nullable) in *cols {
        let at = set.columns.iter().position(|x| x == c);
        for row in &set.rows {
            let ok = match at.and_then(|i| row.get(i)).map(tag) {
                None => false,
                Some(0) => nullable,
                Some(t) => t == kind as u8 + 1,
            };
            if !ok {
                return Err(row_without(table, c));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_without_a_declared_column_is_refused() {
        let columns = strings(&[
            "user_id",
            "session_id",
            "agent_id",
            "holder_id",
            "run_id",
            "token",
            "acquired_at_ns",
            "expires_at_ns",
        ]);
        let t = |s: &str| Value::Text(s.into());
        let row = vec![
            t("u"),
            t("s"),
            t("a"),
            Value::Null,
            Value::Null,
            Value::Integer(1),
            Value::Integer(2),
            Value::Integer(3),
        ];
        let set = |columns: Vec<String>, row: Vec<Value>| RowSet { columns, rows: vec![row] };
        assert_eq!(check_rows(AGENT_LOCKS, &set(columns.clone(), row.clone())), Ok(()));
        assert_eq!(check_rows(AGENT_LOCKS, &RowSet { columns: Vec::new(), rows: Vec::new() }), Ok(()), "no rows");
        let refused = Err(row_without(AGENT_LOCKS, "token"));
        let mut without = (columns.clone(), row.clone());
        without.0.remove(5);
        without.1.remove(5);
        assert_eq!(check_rows(AGENT_LOCKS, &set(without.0, without.1)), refused, "no such column");
        assert_eq!(check_rows(AGENT_LOCKS, &set(columns.clone(), row[..5].to_vec())), refused, "a short row");
        for cell in [Value::Null, t("1"), Value::Float(1.0)] {
            let mut bad = row.clone();
            bad[5] = cell.clone();
            assert_eq!(check_rows(AGENT_LOCKS, &set(columns.clone(), bad)), refused, "{cell:?}");
        }
        assert_eq!(refused, Err(SessionError::Backend("storage row without agent_locks.token".into())));
    }

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
