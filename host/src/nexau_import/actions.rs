//! The action mapping: a NexAU action as the session logic's write takes it,
//! and the fields NexAU keeps that the write does not set (its action id,
//! idempotency key, run ids, agent name and `extra`), set on the stored row
//! afterwards.

use serde_json::Value as Json;

use super::records::{ActionKind, NexauAction};
use crate::runtime::bindings::exports::nexau::session::history::{Action, RunStart, RunStatus};
use crate::storage::{RowSet, Value};

/// The write of `a` (messages passed on as NexAU stored their text).
pub(crate) fn to_write(a: &NexauAction) -> Action {
    match &a.kind {
        ActionKind::Append(m) => Action::Append(m.clone()),
        ActionKind::Replace(m) => Action::Replace(m.clone()),
        ActionKind::Undo(run) => Action::Undo(run.clone()),
        ActionKind::RunStart => Action::RunStart(RunStart {
            root_run_id: a.root_run_id.clone(),
            parent_run_id: a.parent_run_id.clone(),
            agent_name: a.agent_name.clone(),
        }),
        ActionKind::RunEnd => Action::RunEnd(run_status(a.extra.as_deref())),
    }
}

/// How a run ended, from `extra` (`{"status": "ok" | "error" | "cancelled",
/// "error": ...}`); the row keeps `extra` exactly as NexAU wrote it anyway.
fn run_status(extra: Option<&str>) -> RunStatus {
    let extra: Json = extra.and_then(|e| serde_json::from_str(e).ok()).unwrap_or(Json::Null);
    match extra["status"].as_str() {
        Some("error") => RunStatus::Error(match &extra["error"] {
            Json::String(s) => s.clone(),
            Json::Null => String::new(),
            other => other.to_string(),
        }),
        Some("cancelled") => RunStatus::Cancelled,
        _ => RunStatus::Ok,
    }
}

/// The idempotency key the write is made under: NexAU's own, else its
/// action id (so a write interrupted before its row got NexAU's fields is
/// found again, not made twice).
pub(crate) fn write_key(a: &NexauAction) -> String {
    a.idempotency_key.clone().unwrap_or_else(|| a.action_id.clone())
}

/// The stored row `row` (one row, every column) with NexAU's fields.
pub(crate) fn with_nexau_fields(row: &RowSet, a: &NexauAction) -> RowSet {
    let mut out = row.clone();
    let text = |v: &Option<String>| v.clone().map_or(Value::Null, Value::Text);
    let fields = [
        ("action_id", Value::Text(a.action_id.clone())),
        ("idempotency_key", text(&a.idempotency_key)),
        ("root_run_id", text(&a.root_run_id)),
        ("parent_run_id", text(&a.parent_run_id)),
        ("agent_name", text(&a.agent_name)),
        ("extra", a.extra.clone().map_or(Value::Null, Value::Json)),
    ];
    for (column, value) in fields {
        if let (Some(i), Some(cells)) = (out.position(column), out.rows.first_mut()) {
            cells[i] = value;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(extra: Option<&str>) -> String {
        match run_status(extra) {
            RunStatus::Ok => "ok".into(),
            RunStatus::Cancelled => "cancelled".into(),
            RunStatus::Error(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn run_end_status_follows_extra() {
        assert_eq!(status(None), "ok");
        assert_eq!(status(Some(r#"{"status":"ok"}"#)), "ok");
        assert_eq!(status(Some(r#"{"status":"cancelled"}"#)), "cancelled");
        assert_eq!(status(Some(r#"{"status":"error","error":"boom"}"#)), "error: boom");
        assert_eq!(status(Some(r#"{"status":"error","error":{"code":7}}"#)), r#"error: {"code":7}"#);
    }
}
