//! The synthetic result a load gives an interrupted tool call: an assistant
//! `tool_use` that the tool messages right after it leave unanswered gets an
//! error `tool_result`, so model APIs accept the history.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_synthetic_result_is_a_tool_message_with_an_error() {
        let m = crate::json::parse(&synthetic_text("t\"1", "T")).unwrap();
        assert_eq!(m.get("id").and_then(Json::as_str), Some("msg_repair_t\"1"));
        assert_eq!(m.get("role").and_then(Json::as_str), Some("tool"));
        assert_eq!(m.get("created_at").and_then(Json::as_str), Some("T"));
        let block = &m.get("content").and_then(Json::as_arr).unwrap()[0];
        assert_eq!(block.get("tool_use_id").and_then(Json::as_str), Some("t\"1"));
        assert_eq!(block.get("is_error"), Some(&Json::Bool(true)));
        assert_eq!(block.get("content").and_then(Json::as_str), Some(INTERRUPTED));
    }
}
