//! Writing one action to an agent's log: idempotency, the per-agent sequence
//! number, and the optional lock fence, in one atomic batch.

use crate::agents::{agent_not_found, check_ref, find_row};
use crate::bindings::exports::nexau::session::history::{Action, Receipt, RunStatus, WriteOptions};
use crate::bindings::exports::nexau::session::types::AgentRef;
use crate::clock::{now_ns, rfc3339_micros};
use crate::error::{MAX_ATTEMPTS, Res, SessionError, from_storage, invalid, too_many_conflicts};
use crate::ids;
use crate::json::Json;
use crate::prelude::*;
use crate::schema::{ACTIONS, AGENT_LOCKS, AGENTS, SESSIONS};
use crate::sessions::session_not_found;
use crate::store::{
    self, CheckOp, CompareOp, InsertOp, StorageError, UpdateOp, Value as Cell, WriteOp, agent_key, first, int, json,
    new_row, opt_text, session_key, set, text, timestamp, uint,
};

use super::messages::normalize;

/// An action ready to be stored (validated, messages normalized).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Prepared {
    /// `append`, `replace`, `undo`, `run_start` or `run_end`.
    pub action_type: &'static str,
    /// The JSON array of an `append`.
    pub append_messages: Option<String>,
    /// The JSON array of a `replace`.
    pub replace_messages: Option<String>,
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

fn messages_json(text: &str, now: &str) -> Res<String> {
    Ok(Json::Arr(normalize(text, now, || ids::new_ulid_id("msg_"))?).dump())
}

/// Validates and normalizes `action` (pure apart from generated message ids).
/// `now` is the RFC 3339 time given to messages without one.
pub fn prepare(action: Action, run_id: Option<&str>, now: &str) -> Res<Prepared> {
    let needs_run = |what: &str| match run_id {
        Some(_) => Ok(()),
        None => Err(invalid(cat(&[what, " needs options.run_id"]))),
    };
    Ok(match action {
        Action::Append(m) => {
            Prepared { action_type: "append", append_messages: Some(messages_json(&m, now)?), ..Default::default() }
        }
        Action::Replace(m) => {
            Prepared { action_type: "replace", replace_messages: Some(messages_json(&m, now)?), ..Default::default() }
        }
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

fn opt_json(s: Option<&str>) -> Cell {
    s.map_or(Cell::Null, json)
}

/// Records one action; see the `history.write` contract in `wit/history.wit`.
pub fn write(agent: &AgentRef, action: Action, options: WriteOptions) -> Res<Receipt> {
    check_ref(agent)?;
    ids::check_opt("run_id", options.run_id.as_deref())?;
    ids::check_opt("idempotency_key", options.idempotency_key.as_deref())?;
    if let Some(f) = &options.fence {
        ids::check("holder_id", &f.holder_id)?;
    }
    let p = prepare(action, options.run_id.as_deref(), &rfc3339_micros(now_ns()))?;
    let (u, s, a) = (agent.user_id.as_str(), agent.session_id.as_str(), agent.agent_id.as_str());
    for _ in 0..MAX_ATTEMPTS {
        if let Some(k) = &options.idempotency_key {
            let q = store::query(agent_key(u, s, a).eq_text("idempotency_key", k).build(), Vec::new(), Some(1));
            let found = store::rows_of(ACTIONS, &q)?;
            if let Some(r) = first(&found) {
                let seq = u64::try_from(r.int("seq")).unwrap_or(0);
                return Ok(Receipt { action_id: r.string("action_id"), seq, stored: false });
            }
        }
        let agent_row = find_row(u, s, a)?;
        let Some(row) = first(&agent_row) else { return Err(agent_not_found(agent)) };
        let seq = row.int("next_seq");
        let now = now_ns();
        let action_id = ids::new_ulid_id("act_");
        let mut batch = Vec::with_capacity(4);
        if let Some(f) = &options.fence {
            batch.push(WriteOp::Check(CheckOp {
                table: AGENT_LOCKS.into(),
                filter: agent_key(u, s, a)
                    .eq_text("holder_id", &f.holder_id)
                    .eq("token", uint(f.token))
                    .cmp("expires_at_ns", CompareOp::Gt, int(now))
                    .build(),
                expect: 1,
            }));
        }
        let agents_at = batch.len() as u32;
        batch.push(WriteOp::Update(UpdateOp {
            table: AGENTS.into(),
            filter: agent_key(u, s, a).eq("next_seq", int(seq)).build(),
            set: set(vec![("next_seq", int(seq + 1)), ("last_updated", timestamp(now))]),
            expect: Some(1),
        }));
        batch.push(WriteOp::Update(UpdateOp {
            table: SESSIONS.into(),
            filter: session_key(u, s).build(),
            set: set(vec![("updated_at", timestamp(now))]),
            expect: Some(1),
        }));
        let run = options.run_id.as_deref();
        let rows = new_row(
            &[
                "action_id",
                "user_id",
                "session_id",
                "agent_id",
                "seq",
                "run_id",
                "root_run_id",
                "parent_run_id",
                "agent_name",
                "created_at",
                "created_at_ns",
                "action_type",
                "append_messages",
                "replace_messages",
                "undo_before_run_id",
                "idempotency_key",
                "extra",
            ],
            vec![
                text(&action_id),
                text(u),
                text(s),
                text(a),
                int(seq),
                opt_text(run),
                opt_text(p.root_run_id.as_deref()),
                opt_text(p.parent_run_id.as_deref()),
                opt_text(p.agent_name.as_deref()),
                timestamp(now),
                int(now),
                text(p.action_type),
                opt_json(p.append_messages.as_deref()),
                opt_json(p.replace_messages.as_deref()),
                opt_text(p.undo_before_run_id.as_deref()),
                opt_text(options.idempotency_key.as_deref()),
                opt_json(p.extra.as_deref()),
            ],
        );
        batch.push(WriteOp::Insert(InsertOp { table: ACTIONS.into(), rows }));
        match store::apply(&batch) {
            Ok(_) => return Ok(Receipt { action_id, seq: u64::try_from(seq).unwrap_or(0), stored: true }),
            Err(StorageError::Conflict(i)) if i < agents_at => {
                let token = num(options.fence.as_ref().map_or(0, |f| f.token));
                return Err(SessionError::LockExpired(cat(&["lock on agent ", a, ": token ", &token, " is stale"])));
            }
            // Another writer took this sequence number (or an idempotent twin landed): again.
            Err(StorageError::Conflict(i)) if i == agents_at => continue,
            Err(StorageError::Conflict(_)) => return Err(session_not_found(u, s)),
            Err(StorageError::DuplicateKey(_)) => continue,
            Err(e) => return Err(from_storage(e)),
        }
    }
    Err(too_many_conflicts("history write"))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::bindings::exports::nexau::session::history::RunStart;

    #[test]
    fn prepares_each_action_type() {
        let p = prepare(Action::Append(r#"[{"role":"user","content":"hi","id":"m1"}]"#.into()), None, "T").unwrap();
        assert_eq!(p.action_type, "append");
        let v: Value = serde_json::from_str(p.append_messages.as_deref().unwrap()).unwrap();
        assert_eq!(v[0]["content"][0]["text"], "hi");
        assert_eq!(v[0]["created_at"], "T");

        let p = prepare(Action::Replace("[]".into()), None, "T").unwrap();
        assert_eq!((p.action_type, p.replace_messages.as_deref()), ("replace", Some("[]")));

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
    fn bad_messages_are_invalid() {
        assert!(matches!(prepare(Action::Append("{}".into()), None, "T"), Err(SessionError::Invalid(_))));
    }
}
