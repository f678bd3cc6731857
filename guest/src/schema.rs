//! The tables of the session logic, as declared to the storage.

use crate::bindings::nexau::session::storage::{Column, ColumnType, Index, PackedRows, TableSchema};
use crate::error::{Res, SessionError};
use crate::prelude::*;
use crate::store::{self, rows};

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

/// Refuses a row of `table` that lacks a declared column: absent from the
/// row set or the row (a last row cut short), NULL though declared NOT
/// NULL, of another kind (read on, it would pass for 0 or "") or with its
/// text outside the set's text.
#[inline(never)]
pub fn check_rows(table: &str, set: &PackedRows) -> Res<()> {
    let Some((_, cols, _, _)) = SPECS.iter().find(|spec| spec.0 == table) else { return Ok(()) };
    for &(c, kind, nullable) in *cols {
        let i = set.columns.iter().position(|x| x == c).unwrap_or(usize::MAX);
        let text_like = matches!(kind, ColumnType::Text | ColumnType::Json | ColumnType::Timestamp);
        for row in rows(set) {
            let ok = match row.kind(i) {
                None => false,
                Some(store::kind::NULL) => nullable,
                Some(k) => k == kind as u8 + 1 && (!text_like || row.text_at(i).is_some()),
            };
            if !ok {
                return Err(row_without(table, c));
            }
        }
    }
    let mut all = rows(set);
    all.by_ref().for_each(drop);
    let cut = set.kinds.len().saturating_sub(all.cells_seen());
    if cut > 0 || set.values.len() != set.kinds.len() {
        // The last row stops before this column.
        let missing = set.columns.get(cut).map(String::as_str).or(cols.first().map(|c| c.0));
        return Err(row_without(table, missing.unwrap_or_default()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_without_a_declared_column_is_refused() {
        use store::kind::{INTEGER, NULL, TEXT};
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
        // One character of "usa" each, then nulls and integers.
        let span = |start: u64| start << 32 | 1;
        let row = vec![
            (TEXT, span(0)),
            (TEXT, span(1)),
            (TEXT, span(2)),
            (NULL, 0),
            (NULL, 0),
            (INTEGER, 1),
            (INTEGER, 2),
            (INTEGER, 3),
        ];
        let set = |columns: Vec<String>, cells: Vec<(u8, u64)>| PackedRows {
            columns,
            kinds: cells.iter().map(|c| c.0).collect(),
            values: cells.iter().map(|c| c.1).collect(),
            text: "usa".into(),
            bytes: Vec::new(),
        };
        assert_eq!(check_rows(AGENT_LOCKS, &set(columns.clone(), row.clone())), Ok(()));
        let two_rows = [row.clone(), row.clone()].concat();
        assert_eq!(check_rows(AGENT_LOCKS, &set(columns.clone(), two_rows.clone())), Ok(()), "two rows");
        assert_eq!(check_rows(AGENT_LOCKS, &set(Vec::new(), Vec::new())), Ok(()), "no rows");
        let refused = Err(row_without(AGENT_LOCKS, "token"));
        let mut without = (columns.clone(), row.clone());
        without.0.remove(5);
        without.1.remove(5);
        assert_eq!(check_rows(AGENT_LOCKS, &set(without.0, without.1)), refused, "no such column");
        assert_eq!(check_rows(AGENT_LOCKS, &set(columns.clone(), row[..5].to_vec())), refused, "a short row");
        assert_eq!(
            check_rows(AGENT_LOCKS, &set(columns.clone(), two_rows[..13].to_vec())),
            refused,
            "a short last row"
        );
        for cell in [(NULL, 0), (TEXT, span(0)), (3, 0), (9, 1)] {
            let mut bad = row.clone();
            bad[5] = cell;
            assert_eq!(check_rows(AGENT_LOCKS, &set(columns.clone(), bad)), refused, "{cell:?}");
        }
        let mut outside = row.clone();
        outside[1] = (TEXT, 2 << 32 | 2);
        let refused_session = Err(row_without(AGENT_LOCKS, "session_id"));
        assert_eq!(check_rows(AGENT_LOCKS, &set(columns.clone(), outside)), refused_session, "a span past the text");
        let mut fewer_values = set(columns.clone(), row.clone());
        fewer_values.values.pop();
        assert!(check_rows(AGENT_LOCKS, &fewer_values).is_err(), "a value short");
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
