//! Upgrading agents written by nexau-session 0.1, whose conversation existed
//! only as the action log (replayed on every load): their agent row has no
//! `live_count`. [`Engine::setup_models`] gives each such agent the
//! per-message rows of `agent_messages` and its counters, as if every action
//! since its newest `replace` had been written by this version: the same
//! de-duplication of given message ids, the same `undo` rule (back to the
//! message count at the run's first action), and each of those action rows
//! gets the `epoch` and `live_before` an `undo` reads. Done once per agent, in
//! one atomic batch that holds only while the agent's row is unchanged.

use std::collections::{HashMap, HashSet};

use nexau_session_storage::{Filter, Order, Query, RowSet, StorageError, Value, WriteOp};
use nexau_session_tables as tables;
use serde_json::Value as Json;

use super::Engine;
use super::message_rows::live_message_rows;
use crate::Result;

/// One agent's key.
struct AgentKey {
    user_id: String,
    session_id: String,
    agent_id: String,
}

impl AgentKey {
    fn filter(&self, more: impl IntoIterator<Item = Filter>) -> Filter {
        let mut all = vec![
            Filter::eq("user_id", self.user_id.as_str()),
            Filter::eq("session_id", self.session_id.as_str()),
            Filter::eq("agent_id", self.agent_id.as_str()),
        ];
        all.extend(more);
        Filter::And(all)
    }
}

fn text(rows: &RowSet, i: usize, column: &str) -> String {
    rows.get(i, column).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// The conversation of one legacy agent, and the `live_before` of each
/// action since its newest `replace` (by action id).
type Replayed = (Vec<Json>, Vec<(String, i64)>);

/// Replays the log of one legacy agent (its action rows, by `seq`).
fn replay(actions: &RowSet) -> std::result::Result<Replayed, StorageError> {
    let newest_replace =
        (0..actions.len()).rev().find(|&i| actions.get(i, "action_type").and_then(Value::as_str) == Some("replace"));
    let mut live: Vec<Json> = Vec::new();
    let mut ids: HashSet<String> = HashSet::new();
    let mut run_starts: HashMap<String, usize> = HashMap::new();
    let mut marks = Vec::new();
    for i in newest_replace.unwrap_or(0)..actions.len() {
        let messages = |column: &str| -> std::result::Result<Vec<Json>, StorageError> {
            match actions.get(i, column).and_then(Value::as_str) {
                None => Ok(Vec::new()),
                Some(t) => serde_json::from_str(t).map_err(|e| {
                    StorageError::backend_caused(
                        format!("action {}: {column} is not a JSON array", text(actions, i, "action_id")),
                        e,
                    )
                }),
            }
        };
        let kind = text(actions, i, "action_type");
        if kind == "replace" {
            live.clear();
            ids.clear();
        }
        if let Some(run) = actions.get(i, "run_id").and_then(Value::as_str) {
            run_starts.entry(run.to_owned()).or_insert(live.len());
        }
        marks.push((text(actions, i, "action_id"), live.len() as i64));
        match kind.as_str() {
            "append" | "replace" => {
                let column = if kind == "append" { "append_messages" } else { "replace_messages" };
                for m in messages(column)? {
                    let id = m["id"].as_str().unwrap_or_default();
                    if id.is_empty() || ids.insert(id.to_owned()) {
                        live.push(m);
                    }
                }
            }
            "undo" => {
                let run = text(actions, i, "undo_before_run_id");
                if let Some(&cut) = run_starts.get(&run)
                    && cut < live.len()
                {
                    live.truncate(cut);
                    ids = live.iter().filter_map(|m| m["id"].as_str().map(str::to_owned)).collect();
                }
            }
            _ => {}
        }
    }
    Ok((live, marks))
}

impl Engine {
    /// Gives every agent of this scope written by nexau-session 0.1 its
    /// per-message rows (see the module documentation); the number upgraded.
    pub(crate) async fn upgrade_legacy_agents(&self) -> Result<u64> {
        let legacy = self.store.find(tables::AGENTS, &Query::filter(Filter::is_null("live_count"))).await?;
        let mut upgraded = 0;
        for i in 0..legacy.len() {
            let key = AgentKey {
                user_id: text(&legacy, i, "user_id"),
                session_id: text(&legacy, i, "session_id"),
                agent_id: text(&legacy, i, "agent_id"),
            };
            let next_seq = legacy.get(i, "next_seq").and_then(Value::as_i64).unwrap_or(1);
            let log = Query { filter: key.filter([]), order_by: vec![Order::parse("seq")], ..Query::default() };
            let actions = self.store.find(tables::ACTIONS, &log).await?;
            let (live, marks) = replay(&actions)?;
            let agent = [key.user_id.as_str(), key.session_id.as_str(), key.agent_id.as_str()];
            let rows = live_message_rows(agent, 0, 0, 0, &live);
            let live_count = rows.len() as i64;
            let mut batch = vec![WriteOp::Update {
                table: tables::AGENTS.into(),
                filter: key.filter([Filter::eq("next_seq", next_seq), Filter::is_null("live_count")]),
                set: vec![
                    ("live_count".into(), Value::Int(live_count)),
                    ("epoch".into(), Value::Int(0)),
                    ("generation".into(), Value::Int(0)),
                ],
                expect: Some(1),
            }];
            for (action_id, live_before) in marks {
                batch.push(WriteOp::Update {
                    table: tables::ACTIONS.into(),
                    filter: Filter::eq("action_id", action_id),
                    set: vec![("epoch".into(), Value::Int(0)), ("live_before".into(), Value::Int(live_before))],
                    expect: Some(1),
                });
            }
            if live_count > 0 {
                batch.push(WriteOp::Insert { table: tables::MESSAGES.into(), rows });
            }
            match self.store.apply(batch).await {
                Ok(_) => upgraded += 1,
                // Another process upgraded it (or wrote to it) first: its turn.
                Err(StorageError::Conflict(_) | StorageError::DuplicateKey(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(upgraded)
    }
}
