//! The live conversation of an agent, kept up to date by every write so that
//! a load reads only the messages it returns.
//!
//! Every message an `append` or `replace` writes gets a row in
//! `agent_messages`: its action's sequence number, the `epoch` (a `replace`
//! starts a new one), its position `pos` in the live conversation and a
//! `live` flag. A message whose id is already live is stored with
//! `live = false` and `pos` = -1 - its index in the action (de-duplication
//! keeps the first); an `undo` of run R turns
//! off the rows from the position the conversation had at R's first action
//! since the newest `replace` on. The agent row holds the counters: the live
//! message count, the epoch, and a `generation` that grows with every
//! `replace` and `undo` (a paging cursor from an older generation is stale).
//!
//! Each row also keeps `tool_calls`: for an assistant message that calls
//! tools, its `created_at` and then the ids of its `tool_use` blocks; for
//! another message, the ids its `tool_result` blocks answer. A load gives
//! every call that the tool messages right after its assistant message leave
//! unanswered an error result there (with the assistant message's time), as
//! model APIs require.

use super::write::Key;
use crate::agents::agent_not_found;
use crate::error::{Res, SessionError};
use crate::json::Json;
use crate::prelude::*;
use crate::schema::AGENTS;
use crate::store::{self, agent_key, first};

/// The agent row's view of its live conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    /// The sequence number the next action takes.
    pub next_seq: i64,
    /// How many messages are live.
    pub live_count: i64,
    /// The epoch of the live messages.
    pub epoch: i64,
    /// Grows with every `replace` and `undo`.
    pub generation: i64,
}

/// The agent row's columns [`Head::read`] reads.
const COUNTERS: [&str; 4] = ["next_seq", "live_count", "epoch", "generation"];

impl Head {
    /// Reads the agent's counters (only those columns of its row); `not
    /// found` without the row. Counters that no write could have produced
    /// are refused rather than trusted (null ones come from nexau-session
    /// 0.1, whose history layout this version does not read).
    pub fn read(key: Key<'_>) -> Res<Head> {
        let found = store::select(AGENTS, agent_key(key.u, key.s, key.a), "", Some(1), &COUNTERS)?;
        let Some(row) = first(&found) else { return Err(agent_not_found(key.s, key.a)) };
        if let (next_seq @ 1.., Some(live_count @ 0..), Some(epoch @ 0..), Some(generation @ 0..)) =
            (row.int("next_seq"), row.opt_int("live_count"), row.opt_int("epoch"), row.opt_int("generation"))
        {
            return Ok(Head { next_seq, live_count, epoch, generation });
        }
        Err(SessionError::Backend(cat(&["agent ", key.a, ": corrupt history counters"])))
    }
}

/// A message's content blocks.
pub fn blocks(m: &Json) -> &[Json] {
    m.get("content").and_then(Json::as_arr).unwrap_or(&[])
}

/// Block `b`'s string `field`, when `b` is of type `ty`.
pub fn block_field<'a>(b: &'a Json, ty: &str, field: &str) -> Option<&'a str> {
    if b.get("type").and_then(Json::as_str) == Some(ty) { b.get(field).and_then(Json::as_str) } else { None }
}

/// A message's role.
pub fn role(m: &Json) -> &str {
    m.get("role").and_then(Json::as_str).unwrap_or("")
}

/// A message's id.
pub fn message_id(m: &Json) -> &str {
    m.get("id").and_then(Json::as_str).unwrap_or("")
}

/// The `tool_calls` of message `m`, as a JSON array (`None` when it has
/// none): an assistant message's `created_at` and `tool_use` ids, any other
/// message's answered ids.
pub fn tool_calls(m: &Json) -> Option<String> {
    let asks = role(m) == "assistant";
    let (ty, field) = if asks { ("tool_use", "id") } else { ("tool_result", "tool_use_id") };
    let mut ids = Vec::new();
    if asks {
        ids.push(Json::str(m.get("created_at").and_then(Json::as_str).unwrap_or("")));
    }
    let head = ids.len();
    for b in blocks(m) {
        if let Some(id) = block_field(b, ty, field) {
            ids.push(Json::str(id));
        }
    }
    (ids.len() > head).then(|| Json::Arr(ids).dump())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    #[test]
    fn tool_calls_of_asks_and_answers() {
        let a = parse(
            r#"{"role":"assistant","content":[{"type":"text","text":"x"},{"type":"tool_use","id":"t1","name":"f","input":{}},{"type":"tool_use","id":"t\"2","name":"f","input":{}}]}"#,
        )
        .unwrap();
        assert_eq!(tool_calls(&a).as_deref(), Some(r#"["","t1","t\"2"]"#));
        let r =
            parse(r#"{"role":"tool","content":[{"type":"tool_result","tool_use_id":"t1","content":"ok"}]}"#).unwrap();
        assert_eq!(tool_calls(&r).as_deref(), Some(r#"["t1"]"#));
        let u = parse(r#"{"role":"user","content":[{"type":"tool_use","id":"t9","name":"f","input":{}}]}"#).unwrap();
        assert_eq!(tool_calls(&u), None);
    }
}
