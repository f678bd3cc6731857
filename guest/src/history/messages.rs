//! Parsing and normalizing the messages of `append` and `replace` (pure).
//!
//! A message is `{id, role, content: [blocks], metadata, created_at}`. Roles
//! `user`, `assistant`, `tool` and `framework` are kept, `system` messages are
//! dropped (they are never stored). String content becomes one text block;
//! blocks are checked by `type`. Missing ids, times and metadata are filled in.
//! Other fields are kept as they are.

use crate::error::{Res, invalid};
use crate::json::{self, Json};
use crate::prelude::*;

/// Parses a JSON array of messages and normalizes each; `system` messages are dropped.
///
/// `now` fills a missing `created_at`; `new_id` makes a missing `id`;
/// `given` receives, for each message kept, whether the caller gave its id.
pub fn normalize(text: &str, now: &str, mut new_id: impl FnMut() -> String, given: &mut Vec<bool>) -> Res<Vec<Json>> {
    let parsed = json::parse(text)
        .map_err(|e| invalid(cat(&["messages are not valid JSON (at byte ", &num(e.at as u64), ")"])))?;
    let Json::Arr(items) = parsed else {
        return Err(invalid("messages must be a JSON array"));
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let at = cat(&["message ", &num(i as u64)]);
        let has_id = matches!(item.get("id"), Some(Json::Str(s)) if !s.is_empty());
        if let Some(m) = normalize_message(&at, item, now, &mut new_id)? {
            out.push(m);
            given.push(has_id);
        }
    }
    Ok(out)
}

fn normalize_message(at: &str, item: Json, now: &str, new_id: &mut impl FnMut() -> String) -> Res<Option<Json>> {
    let Json::Obj(mut m) = item else {
        return Err(invalid(cat(&[at, " must be a JSON object"])));
    };
    match item_str(&m, "role") {
        Some("user" | "assistant" | "tool" | "framework") => {}
        Some("system") => return Ok(None),
        _ => return Err(invalid(cat(&[at, ": role must be one of user, assistant, tool, framework, system"]))),
    }
    let content = m.iter_mut().find(|(k, _)| k == "content").map(|(_, v)| core::mem::replace(v, Json::Null));
    m.retain(|(k, _)| k != "content");
    let content = match content {
        Some(Json::Str(s)) => vec![text_block(s)],
        Some(Json::Arr(blocks)) => {
            let mut out = Vec::with_capacity(blocks.len());
            for (j, b) in blocks.into_iter().enumerate() {
                out.push(check_block(&cat(&[at, " block ", &num(j as u64)]), b)?);
            }
            out
        }
        _ => return Err(invalid(cat(&[at, ": content must be a string or an array of blocks"]))),
    };
    m.push(("content".into(), Json::Arr(content)));
    fill_string(&mut m, at, "id", new_id)?;
    fill_string(&mut m, at, "created_at", &mut || now.to_owned())?;
    match member(&m, "metadata") {
        None | Some(Json::Null) => json::set(&mut m, "metadata", Json::Obj(Vec::new())),
        Some(Json::Obj(_)) => {}
        Some(_) => return Err(invalid(cat(&[at, ": metadata must be a JSON object"]))),
    }
    Ok(Some(Json::Obj(m)))
}

fn member<'a>(m: &'a [(String, Json)], key: &str) -> Option<&'a Json> {
    m.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn item_str<'a>(m: &'a [(String, Json)], key: &str) -> Option<&'a str> {
    member(m, key).and_then(Json::as_str)
}

/// A missing, null or empty `field` gets `make()`; any other non-string is invalid.
fn fill_string(m: &mut Vec<(String, Json)>, at: &str, field: &str, make: &mut impl FnMut() -> String) -> Res<()> {
    match member(m, field) {
        Some(Json::Str(s)) if !s.is_empty() => Ok(()),
        None | Some(Json::Null) | Some(Json::Str(_)) => {
            json::set(m, field, Json::Str(make()));
            Ok(())
        }
        Some(_) => Err(invalid(cat(&[at, ": ", field, " must be a string"]))),
    }
}

/// `{"type": "text", "text": s}`.
pub fn text_block(s: String) -> Json {
    Json::Obj(vec![("type".to_owned(), Json::str("text")), ("text".to_owned(), Json::Str(s))])
}

fn check_block(at: &str, b: Json) -> Res<Json> {
    let Json::Obj(mut b) = b else {
        return Err(invalid(cat(&[at, " must be a JSON object"])));
    };
    let is_str = |b: &[(String, Json)], f: &str| item_str(b, f).is_some();
    let non_empty = |b: &[(String, Json)], f: &str| item_str(b, f).is_some_and(|s| !s.is_empty());
    let opt_str = |b: &[(String, Json)], f: &str| matches!(member(b, f), None | Some(Json::Null | Json::Str(_)));
    let problem = match item_str(&b, "type") {
        Some("text") => (!is_str(&b, "text")).then_some("text block: `text` must be a string"),
        Some("image") => (!(is_str(&b, "url") || is_str(&b, "base64"))
            || !opt_str(&b, "url")
            || !opt_str(&b, "base64")
            || !opt_str(&b, "mime_type"))
        .then_some("image block: string `url` or `base64`, optional string `mime_type`"),
        Some("reasoning") => (!is_str(&b, "text") || !opt_str(&b, "signature"))
            .then_some("reasoning block: string `text`, optional string `signature`"),
        Some("tool_use") => (!non_empty(&b, "id") || !is_str(&b, "name") || member(&b, "input").is_none())
            .then_some("tool_use block: non-empty string `id`, string `name`, `input`"),
        Some("tool_result") => {
            if !non_empty(&b, "tool_use_id") || member(&b, "content").is_none() {
                Some("tool_result block: non-empty string `tool_use_id`, `content`")
            } else {
                match member(&b, "is_error") {
                    None | Some(Json::Null) => {
                        json::set(&mut b, "is_error", Json::Bool(false));
                        None
                    }
                    Some(Json::Bool(_)) => None,
                    Some(_) => Some("tool_result block: `is_error` must be a boolean"),
                }
            }
        }
        _ => Some("`type` must be text, image, reasoning, tool_use or tool_result"),
    };
    match problem {
        Some(p) => Err(invalid(cat(&[at, ": ", p]))),
        None => Ok(Json::Obj(b)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::error::SessionError;

    fn norm(v: Value) -> Res<Vec<Value>> {
        let mut n = 0;
        let out = normalize(
            &v.to_string(),
            "2026-01-01T00:00:00.000000Z",
            || {
                n += 1;
                format!("msg_{n}")
            },
            &mut Vec::new(),
        )?;
        Ok(out.iter().map(|m| serde_json::from_str(&m.dump()).unwrap()).collect())
    }

    fn err(v: Value) -> String {
        match norm(v) {
            Err(SessionError::Invalid(m)) => m,
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    #[test]
    fn fills_in_and_normalizes() {
        let out = norm(json!([
            {"role": "system", "content": "be nice"},
            {"role": "user", "content": "hi"},
            {"id": "m2", "role": "assistant", "content": [{"type": "text", "text": "hello"}],
             "metadata": {"k": 1}, "created_at": "2025-05-05T00:00:00Z", "extra": true},
        ]))
        .unwrap();
        assert_eq!(
            out,
            vec![
                json!({"id": "msg_1", "role": "user", "content": [{"type": "text", "text": "hi"}],
                       "metadata": {}, "created_at": "2026-01-01T00:00:00.000000Z"}),
                json!({"id": "m2", "role": "assistant", "content": [{"type": "text", "text": "hello"}],
                       "metadata": {"k": 1}, "created_at": "2025-05-05T00:00:00Z", "extra": true}),
            ]
        );
    }

    #[test]
    fn accepts_every_block_type() {
        let out = norm(json!([
            {"role": "assistant", "content": [
                {"type": "reasoning", "text": "hmm", "signature": "sig"},
                {"type": "image", "url": "https://x/y.png", "mime_type": "image/png"},
                {"type": "image", "base64": "AAAA", "mime_type": "image/png"},
                {"type": "tool_use", "id": "t1", "name": "search", "input": {"q": "x"}},
            ]},
            {"role": "tool", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "found"}]},
            {"role": "framework", "content": []},
        ]))
        .unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(out[1]["content"][0]["is_error"], json!(false));
        assert_eq!(out[0]["content"].as_array().unwrap().len(), 4);
    }

    #[test]
    fn rejects_bad_input_with_clear_messages() {
        assert_eq!(err(json!({"role": "user"})), "messages must be a JSON array");
        assert_eq!(
            normalize("[1,", "t", String::new, &mut Vec::new()).unwrap_err(),
            invalid("messages are not valid JSON (at byte 3)")
        );
        assert_eq!(err(json!([1])), "message 0 must be a JSON object");
        assert_eq!(
            err(json!([{"role": "robot", "content": "x"}])),
            "message 0: role must be one of user, assistant, tool, framework, system"
        );
        assert_eq!(err(json!([{"role": "user"}])), "message 0: content must be a string or an array of blocks");
        assert_eq!(
            err(json!([{"role": "user", "content": "x", "metadata": []}])),
            "message 0: metadata must be a JSON object"
        );
        assert_eq!(err(json!([{"role": "user", "content": "x", "id": 5}])), "message 0: id must be a string");
        assert!(
            err(json!([{"role": "user", "content": [{"type": "video"}]}])).starts_with("message 0 block 0: `type`")
        );
        assert!(err(json!([{"role": "user", "content": [{"type": "text"}]}])).contains("text block"));
        assert!(
            err(json!([{"role": "user", "content": [{"type": "image", "mime_type": "image/png"}]}])).contains("image")
        );
        assert!(
            err(json!([{"role": "assistant", "content": [{"type": "tool_use", "name": "x", "input": {}}]}]))
                .contains("tool_use")
        );
        assert!(err(json!([{"role": "tool", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "x", "is_error": "no"}]}])).contains("is_error"));
        assert!(
            err(json!([{"role": "tool", "content": [{"type": "tool_result", "content": "x"}]}]))
                .contains("tool_use_id")
        );
        assert!(
            err(json!([{"role": "user", "content": "ok"}, {"role": "user", "content": [7]}]))
                .starts_with("message 1 block 0")
        );
    }

    #[test]
    fn empty_array_is_fine() {
        assert_eq!(norm(json!([])).unwrap(), Vec::<Value>::new());
    }
}
