//! Repairing interrupted tool calls (pure): an assistant `tool_use` without a
//! later `tool_result` gets a synthetic error result, so model APIs accept the
//! history.

#[cfg(test)]
use super::timeline::{block_field, blocks, role};
use crate::json::Json;
use crate::prelude::*;

/// The text of a synthetic tool result.
pub const INTERRUPTED: &str = "The tool call was interrupted before it returned a result.";

/// The synthetic tool message answering `tool_use_id`, as JSON text
/// (written directly: cheaper in component size than building the objects).
pub fn synthetic_text(tool_use_id: &str, created_at: &str) -> String {
    cat(&[
        r#"{"id":"#,
        &Json::Str(cat(&["msg_repair_", tool_use_id])).dump(),
        r#","role":"tool","content":[{"type":"tool_result","tool_use_id":"#,
        &Json::str(tool_use_id).dump(),
        r#","content":""#,
        INTERRUPTED,
        r#"","is_error":true}],"metadata":{"repaired":true},"created_at":"#,
        &Json::str(created_at).dump(),
        "}",
    ])
}

/// [`synthetic_text`] as a value.
#[cfg(test)]
pub fn synthetic_result(tool_use_id: &str, created_at: &Json) -> Json {
    crate::json::parse(&synthetic_text(tool_use_id, created_at.as_str().unwrap_or(""))).unwrap_or(Json::Null)
}

/// Adds an error `tool_result` for every assistant `tool_use` that has no later
/// result (the reference the stored open calls of `history::timeline` follow;
/// for tests).
/// Placed right after that assistant message and the tool messages following
/// it; the synthetic message takes the assistant message's `created_at`.
#[cfg(test)]
pub fn repair(msgs: Vec<Json>) -> Vec<Json> {
    // Whether a message after `i` answers `id` (a linear scan: no sorting or
    // maps, which cost component size).
    let answered_after = |id: &str, i: usize| {
        msgs.iter()
            .skip(i + 1)
            .any(|m| blocks(m).iter().any(|b| block_field(b, "tool_result", "tool_use_id") == Some(id)))
    };
    // Plain loops rather than iterator chains: they cost less component size.
    let mut dangling: Vec<Vec<Json>> = Vec::with_capacity(msgs.len());
    let mut any = false;
    for (i, m) in msgs.iter().enumerate() {
        let mut fixes = Vec::new();
        if role(m) == "assistant" {
            for b in blocks(m) {
                if let Some(id) = block_field(b, "tool_use", "id")
                    && !answered_after(id, i)
                {
                    fixes.push(synthetic_result(id, m.get("created_at").unwrap_or(&Json::Null)));
                }
            }
        }
        any |= !fixes.is_empty();
        dangling.push(fixes);
    }
    if !any {
        return msgs;
    }
    let mut out = Vec::with_capacity(msgs.len() + 1);
    let mut pending: Vec<Json> = Vec::new();
    for (m, mut fixes) in msgs.into_iter().zip(dangling) {
        if !pending.is_empty() && role(&m) != "tool" {
            out.append(&mut pending);
        }
        if !fixes.is_empty() {
            out.append(&mut pending);
            pending.append(&mut fixes);
        }
        out.push(m);
    }
    out.append(&mut pending);
    out
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn j(v: Value) -> Json {
        crate::json::parse(&v.to_string()).unwrap()
    }

    fn v(j: &Json) -> Value {
        serde_json::from_str(&j.dump()).unwrap()
    }

    fn assistant(id: &str, calls: &[&str]) -> Json {
        let content: Vec<Value> =
            calls.iter().map(|c| json!({"type": "tool_use", "id": c, "name": "f", "input": {}})).collect();
        j(json!({"id": id, "role": "assistant", "content": content, "metadata": {}, "created_at": "T"}))
    }

    fn tool(id: &str, answers: &str) -> Json {
        j(json!({"id": id, "role": "tool", "metadata": {}, "created_at": "T",
               "content": [{"type": "tool_result", "tool_use_id": answers, "content": "ok", "is_error": false}]}))
    }

    fn user(id: &str) -> Json {
        j(
            json!({"id": id, "role": "user", "content": [{"type": "text", "text": "x"}], "metadata": {}, "created_at": "T"}),
        )
    }

    fn ids(v: &[Json]) -> Vec<&str> {
        v.iter().map(|m| m.get("id").and_then(Json::as_str).unwrap()).collect()
    }

    #[test]
    fn answered_calls_are_left_alone() {
        let h = vec![user("u"), assistant("a", &["t1"]), tool("r", "t1")];
        assert_eq!(repair(h.clone()), h);
    }

    #[test]
    fn dangling_call_gets_an_error_result_after_the_tool_messages() {
        let h = vec![user("u"), assistant("a", &["t1", "t2", "t3"]), tool("r1", "t1"), user("u2")];
        let out = repair(h);
        assert_eq!(ids(&out), ["u", "a", "r1", "msg_repair_t2", "msg_repair_t3", "u2"]);
        assert_eq!(
            v(&out[3]),
            json!({"id": "msg_repair_t2", "role": "tool", "created_at": "T", "metadata": {"repaired": true},
                   "content": [{"type": "tool_result", "tool_use_id": "t2", "content": INTERRUPTED, "is_error": true}]})
        );
    }

    #[test]
    fn dangling_call_at_the_end_is_repaired() {
        let out = repair(vec![user("u"), assistant("a", &["t1"])]);
        assert_eq!(ids(&out), ["u", "a", "msg_repair_t1"]);
    }

    #[test]
    fn a_result_before_the_call_does_not_count() {
        let out = repair(vec![tool("r0", "t1"), assistant("a", &["t1"])]);
        assert_eq!(ids(&out), ["r0", "a", "msg_repair_t1"]);
    }

    #[test]
    fn tool_use_outside_assistant_messages_is_ignored() {
        let mut m = assistant("x", &["t9"]);
        if let Json::Obj(o) = &mut m {
            crate::json::set(o, "role", Json::str("user"));
        }
        assert_eq!(repair(vec![m.clone()]), vec![m]);
    }

    #[test]
    fn two_dangling_assistants_each_get_their_own() {
        let out = repair(vec![assistant("a1", &["t1"]), assistant("a2", &["t2"]), tool("r2", "t2")]);
        assert_eq!(ids(&out), ["a1", "msg_repair_t1", "a2", "r2"]);
    }
}
