//! Checking and normalizing one action before it is stored (pure, apart
//! from the ids given to messages without one), and the fingerprint that
//! tells a retried request from a different one under the same
//! idempotency key.

use crate::bindings::exports::nexau::session::history::{Action, RunStatus};
use crate::error::{Res, invalid};
use crate::ids;
use crate::json::Json;
use crate::prelude::*;

use super::messages::normalize;

/// An action ready to be stored (validated, messages normalized).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Prepared {
    /// `append`, `replace`, `undo`, `run_start` or `run_end`.
    pub action_type: &'static str,
    /// The messages of an `append` or `replace`, normalized.
    pub messages: Option<Vec<Json>>,
    /// For each message, whether the caller gave its id (an id made here
    /// cannot repeat one stored before).
    pub given_ids: Vec<bool>,
    /// The run an `undo` rewinds to before.
    pub undo_before_run_id: Option<String>,
    /// `run_start`: the top-level run.
    pub root_run_id: Option<String>,
    /// `run_start`: the run that started this one.
    pub parent_run_id: Option<String>,
    /// `run_start`: the agent's display name.
    pub agent_name: Option<String>,
    /// `run_end`: `{"status": ...}`.
    pub extra: Option<String>,
}

/// An `append` or `replace` of the messages in `text`.
fn messages(action_type: &'static str, text: String, now: &str) -> Res<Prepared> {
    // The text is dropped once parsed: a large message is held once, not twice.
    let mut given = Vec::new();
    let msgs = normalize(&text, now, || ids::new_ulid_id("msg_"), &mut given)?;
    Ok(Prepared { action_type, messages: Some(msgs), given_ids: given, ..Default::default() })
}

/// Validates and normalizes `action` (pure apart from generated message ids).
/// `now` is the RFC 3339 time given to messages without one.
pub fn prepare(action: Action, run_id: Option<&str>, now: &str) -> Res<Prepared> {
    let needs_run = |what: &str| match run_id {
        Some(_) => Ok(()),
        None => Err(invalid(cat(&[what, " needs options.run_id"]))),
    };
    Ok(match action {
        Action::Append(m) => messages("append", m, now)?,
        Action::Replace(m) => messages("replace", m, now)?,
        Action::Undo(r) => {
            ids::check("undo run_id", &r)?;
            Prepared { action_type: "undo", undo_before_run_id: Some(r), ..Default::default() }
        }
        Action::RunStart(s) => {
            needs_run("run_start")?;
            ids::check_opt("root_run_id", s.root_run_id.as_deref())?;
            ids::check_opt("parent_run_id", s.parent_run_id.as_deref())?;
            if s.agent_name.as_ref().is_some_and(|n| n.len() > 1024) {
                return Err(invalid("agent_name: at most 1024 bytes"));
            }
            Prepared {
                action_type: "run_start",
                root_run_id: s.root_run_id,
                parent_run_id: s.parent_run_id,
                agent_name: s.agent_name,
                ..Default::default()
            }
        }
        Action::RunEnd(status) => {
            needs_run("run_end")?;
            // JSON text written directly (no object building: it costs component size).
            let extra = match status {
                RunStatus::Ok => r#"{"status":"ok"}"#.to_owned(),
                RunStatus::Error(e) => cat(&[r#"{"status":"error","error":"#, &Json::Str(e).dump(), "}"]),
                RunStatus::Cancelled => r#"{"status":"cancelled"}"#.to_owned(),
            };
            Prepared { action_type: "run_end", extra: Some(extra), ..Default::default() }
        }
    })
}

/// FNV-1a, 64 bits.
struct Fnv(u64);

impl Fnv {
    /// Adds `bytes`, then a separator byte no UTF-8 text contains ("ab"+"c"
    /// differs from "a"+"bc").
    #[inline(never)]
    fn feed(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = (h ^ 0xff).wrapping_mul(0x0000_0100_0000_01b3);
    }
}

/// An absent optional field: NUL, which no id or name contains.
fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("\0")
}

/// A fingerprint of the request (FNV-1a, 64 bits, in decimal): the
/// action as the caller sent it (before ids and times are filled in) and its
/// run. A retry of the same request has the same fingerprint; another action
/// under a used idempotency key does not.
pub fn fingerprint(action: &Action, run_id: Option<&str>) -> String {
    let parts: [&str; 4] = match action {
        Action::Append(m) => ["append", m, "", ""],
        Action::Replace(m) => ["replace", m, "", ""],
        Action::Undo(r) => ["undo", r, "", ""],
        Action::RunStart(s) => ["run_start", opt(&s.root_run_id), opt(&s.parent_run_id), opt(&s.agent_name)],
        Action::RunEnd(RunStatus::Ok) => ["run_end", "ok", "", ""],
        Action::RunEnd(RunStatus::Cancelled) => ["run_end", "cancelled", "", ""],
        Action::RunEnd(RunStatus::Error(e)) => ["run_end", "error", e, ""],
    };
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    for p in parts {
        h.feed(p.as_bytes());
    }
    h.feed(run_id.unwrap_or("\0").as_bytes());
    num(h.0)
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::bindings::exports::nexau::session::history::RunStart;
    use crate::error::SessionError;

    #[test]
    fn prepares_each_action_type() {
        let p = prepare(Action::Append(r#"[{"role":"user","content":"hi","id":"m1"}]"#.into()), None, "T").unwrap();
        assert_eq!(p.action_type, "append");
        let v: Value = serde_json::from_str(&Json::Arr(p.messages.unwrap()).dump()).unwrap();
        assert_eq!(v[0]["content"][0]["text"], "hi");
        assert_eq!(v[0]["created_at"], "T");

        let p = prepare(Action::Replace("[]".into()), None, "T").unwrap();
        assert_eq!((p.action_type, p.messages), ("replace", Some(Vec::new())));

        let p = prepare(Action::Undo("run_1".into()), None, "T").unwrap();
        assert_eq!(p.undo_before_run_id.as_deref(), Some("run_1"));
        assert!(prepare(Action::Undo("bad id".into()), None, "T").is_err());

        let start =
            RunStart { root_run_id: Some("run_0".into()), parent_run_id: None, agent_name: Some("main".into()) };
        let p = prepare(Action::RunStart(start.clone()), Some("run_1"), "T").unwrap();
        assert_eq!(
            (p.action_type, p.root_run_id.as_deref(), p.agent_name.as_deref()),
            ("run_start", Some("run_0"), Some("main"))
        );
        assert_eq!(prepare(Action::RunStart(start), None, "T").unwrap_err(), invalid("run_start needs options.run_id"));

        let end = |s| prepare(Action::RunEnd(s), Some("run_1"), "T").unwrap().extra.unwrap();
        assert_eq!(end(RunStatus::Ok), r#"{"status":"ok"}"#);
        assert_eq!(end(RunStatus::Cancelled), r#"{"status":"cancelled"}"#);
        let e: Value = serde_json::from_str(&end(RunStatus::Error("boom \"x\"".into()))).unwrap();
        assert_eq!(e, serde_json::json!({"status": "error", "error": "boom \"x\""}));
    }

    #[test]
    fn fingerprints_tell_requests_apart() {
        let a = fingerprint(&Action::Append("[1]".into()), Some("r"));
        assert!(!a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(a, fingerprint(&Action::Append("[1]".into()), Some("r")));
        assert_ne!(a, fingerprint(&Action::Append("[2]".into()), Some("r")));
        assert_ne!(a, fingerprint(&Action::Replace("[1]".into()), Some("r")));
        assert_ne!(a, fingerprint(&Action::Append("[1]".into()), None));
        assert_ne!(
            fingerprint(&Action::Undo("ab".into()), Some("c")),
            fingerprint(&Action::Undo("a".into()), Some("bc"))
        );
    }

    #[test]
    fn bad_messages_are_invalid() {
        assert!(matches!(prepare(Action::Append("{}".into()), None, "T"), Err(SessionError::Invalid(_))));
    }
}
