//! Loading an agent's conversation without reading the whole log: the newest
//! `replace`, then only the actions after it.

use super::replay::{Logged, Step, conversation};
use crate::agents::{agent_not_found, check_ref, find_row};
use crate::bindings::exports::nexau::session::history::LoadOptions;
use crate::bindings::exports::nexau::session::types::AgentRef;
use crate::error::{Res, SessionError};
use crate::json::{self, Json};
use crate::prelude::*;
use crate::schema::ACTIONS;
use crate::store::{self, CompareOp, Row, agent_key, asc, desc, first, int, rows};

fn messages(r: Row<'_>, column: &str) -> Res<Vec<Json>> {
    match r.str(column).map(json::parse) {
        Some(Ok(Json::Arr(m))) => Ok(m),
        _ => Err(SessionError::Backend(cat(&["action ", r.str("action_id").unwrap_or("?"), ": bad ", column]))),
    }
}

/// One stored action as a replay step.
fn logged(r: Row<'_>) -> Res<Logged> {
    let step = match r.str("action_type") {
        Some("append") => Step::Append(messages(r, "append_messages")?),
        Some("replace") => Step::Replace(messages(r, "replace_messages")?),
        Some("undo") => Step::Undo(r.string("undo_before_run_id")),
        _ => Step::Mark,
    };
    Ok(Logged { run_id: r.opt_string("run_id"), step })
}

/// The agent's conversation as one JSON array; see `history.load` in `wit/history.wit`.
pub fn load(agent: &AgentRef, options: LoadOptions) -> Res<String> {
    check_ref(agent)?;
    let (u, s, a) = (agent.user_id.as_str(), agent.session_id.as_str(), agent.agent_id.as_str());
    let newest_replace =
        store::query(agent_key(u, s, a).eq_text("action_type", "replace").build(), vec![desc("seq")], Some(1));
    let found = store::rows_of(ACTIONS, &newest_replace)?;
    let mut actions = Vec::new();
    let mut after = agent_key(u, s, a);
    if let Some(r) = first(&found) {
        actions.push(logged(r)?);
        after = after.cmp("seq", CompareOp::Gt, int(r.int("seq")));
    }
    let later = store::rows_of(ACTIONS, &store::query(after.build(), vec![asc("seq")], None))?;
    for r in rows(&later) {
        actions.push(logged(r)?);
    }
    if actions.is_empty() && first(&find_row(u, s, a)?).is_none() {
        return Err(agent_not_found(agent));
    }
    Ok(Json::Arr(conversation(actions, options.last)).dump())
}
