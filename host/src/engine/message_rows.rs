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
    let ids =
        m["content"].as_array().into_iter().flatten().filter(|b| b["type"] == ty).filter_map(|b| b[field].as_str());
    tool_calls_cell(asks, m["created_at"].as_str().unwrap_or_default(), ids).map_or(Value::Null, Value::Json)
}

/// The text of a `tool_calls` cell: for a message that asks (an assistant's),
/// its `created_at` then the ids of its calls; for any other, the ids it
/// answers. `None` without ids.
pub(crate) fn tool_calls_cell<'a>(
    asks: bool,
    created_at: &'a str,
    ids: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let mut cell: Vec<&str> = ids.into_iter().collect();
    if cell.is_empty() {
        return None;
    }
    if asks {
        cell.insert(0, created_at);
    }
    serde_json::to_string(&cell).ok()
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The cell as the component writes it: an assistant message's time, then
    /// its call ids; a tool message's answered ids; nothing without ids.
    #[test]
    fn tool_calls_cells_name_the_calls_asked_and_answered() {
        let asked = json!({"role": "assistant", "created_at": "2026-12-02T00:00:00.000000Z", "content": [
            {"type": "text", "text": "let me look"},
            {"type": "tool_use", "id": "t1", "name": "ls", "input": {}},
            {"type": "tool_use", "id": "t\"2", "name": "cat", "input": {}}]});
        let answered = json!({"role": "tool", "content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": "a"},
            {"type": "tool_use", "id": "not an answer"}]});
        let plain = json!({"role": "assistant", "created_at": "x", "content": [{"type": "text", "text": "hi"}]});
        assert_eq!(tool_calls(&asked), Value::Json(r#"["2026-12-02T00:00:00.000000Z","t1","t\"2"]"#.into()));
        assert_eq!(tool_calls(&answered), Value::Json(r#"["t1"]"#.into()));
        assert_eq!(tool_calls(&plain), Value::Null);
    }
}
