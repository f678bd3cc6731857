//! Rows of `agent_messages` as the host writes them itself (the upgrade of
//! 0.1 stores, the benchmark's native baseline): live messages of one agent,
//! one epoch and one action, at consecutive positions. The session logic
//! writes the same rows in the component.

use nexau_session_storage::{RowSet, Value};
use nexau_session_tables::MESSAGE_COLUMNS;
use serde_json::Value as Json;

/// The `tool_calls` cell of a message: an assistant message's `created_at`
/// and `tool_use` ids, any other message's answered ids (`Null`: none).
fn tool_calls(m: &Json) -> Value {
    let asks = m["role"] == "assistant";
    let (ty, field) = if asks { ("tool_use", "id") } else { ("tool_result", "tool_use_id") };
    let ids: Vec<Json> = m["content"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["type"] == ty)
        .filter_map(|b| b[field].as_str().map(Json::from))
        .collect();
    if ids.is_empty() {
        return Value::Null;
    }
    let mut cell = Vec::with_capacity(ids.len() + 1);
    if asks {
        cell.push(Json::from(m["created_at"].as_str().unwrap_or_default()));
    }
    cell.extend(ids);
    Value::Json(Json::Array(cell).to_string())
}

/// The live rows of `messages`, written by action `action_seq` of agent
/// `(user, session, agent)` in `epoch`, the first at position `first_pos`.
pub(crate) fn live_message_rows(
    agent: [&str; 3],
    action_seq: i64,
    epoch: i64,
    first_pos: i64,
    messages: &[Json],
) -> RowSet {
    let rows = messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            vec![
                Value::from(agent[0]),
                Value::from(agent[1]),
                Value::from(agent[2]),
                Value::Int(action_seq),
                Value::Int(epoch),
                Value::Int(first_pos + i as i64),
                Value::Bool(true),
                Value::from(m["id"].as_str().unwrap_or_default()),
                Value::from(m["role"].as_str().unwrap_or_default()),
                tool_calls(m),
                Value::Json(m.to_string()),
            ]
        })
        .collect();
    RowSet { columns: MESSAGE_COLUMNS.map(String::from).to_vec(), rows }
}
