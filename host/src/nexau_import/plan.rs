//! From NexAU's rows to what to import: each session with its agents and
//! each agent with its actions in the order NexAU's SQL loading reads them
//! (`created_at_ns`, then `action_id`), and every row that cannot be
//! imported with the reason. A row whose session is missing or unreadable
//! cannot be imported either, and is reported as such.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashSet};

use super::RowProblem;
use super::records::{ACTION_KEY, AGENT_KEY, NexauAction, NexauAgent, NexauSession};
use super::source::SourceTables;

/// One agent and its actions, oldest first.
#[derive(Debug)]
pub(crate) struct AgentPlan {
    /// The agent (from its `agents` row, or made up from its actions when it has none).
    pub agent: NexauAgent,
    /// Its actions, in NexAU's order.
    pub actions: Vec<NexauAction>,
}

/// One session and its agents.
#[derive(Debug)]
pub(crate) struct SessionPlan {
    /// The session.
    pub session: NexauSession,
    /// Its agents, by id.
    pub agents: Vec<AgentPlan>,
}

/// What to import.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// The sessions, by user and id.
    pub sessions: Vec<SessionPlan>,
    /// Rows that cannot be imported.
    pub problems: Vec<RowProblem>,
    /// Lock rows (never imported).
    pub locks: u64,
}

impl Plan {
    /// How many actions the plan imports.
    pub fn actions(&self) -> usize {
        self.sessions.iter().flat_map(|s| &s.agents).map(|a| a.actions.len()).sum()
    }
}

type SessionKey = (String, String);
type AgentKey = (String, String, String);

/// Sorts NexAU's rows into a plan.
pub(crate) fn plan(tables: SourceTables) -> Plan {
    let mut problems = tables.unreadable;
    let mut sessions: BTreeMap<SessionKey, NexauSession> = BTreeMap::new();
    for row in &tables.sessions {
        match NexauSession::read(row) {
            Ok(s) => {
                let key = (s.user_id.clone(), s.session_id.clone());
                match sessions.entry(key) {
                    Entry::Occupied(_) => {
                        problems.push(RowProblem::new(row.table, &row.key(&["user_id", "session_id"]), "appears twice"))
                    }
                    Entry::Vacant(slot) => {
                        slot.insert(s);
                    }
                }
            }
            Err(p) => problems.push(p),
        }
    }
    let no_session = |u: &str, s: &str| {
        format!("its session (user_id={u} session_id={s}) is not in the sessions table or could not be read")
    };
    let mut agents: BTreeMap<AgentKey, AgentPlan> = BTreeMap::new();
    for row in &tables.agents {
        match NexauAgent::read(row) {
            Ok(a) if !sessions.contains_key(&(a.user_id.clone(), a.session_id.clone())) => {
                problems.push(RowProblem::new(row.table, &row.key(&AGENT_KEY), &no_session(&a.user_id, &a.session_id)));
            }
            Ok(a) => {
                let key = (a.user_id.clone(), a.session_id.clone(), a.agent_id.clone());
                match agents.entry(key) {
                    Entry::Occupied(_) => {
                        problems.push(RowProblem::new(row.table, &row.key(&AGENT_KEY), "appears twice"))
                    }
                    Entry::Vacant(slot) => {
                        slot.insert(AgentPlan { agent: a, actions: Vec::new() });
                    }
                }
            }
            Err(p) => problems.push(p),
        }
    }
    let mut seen = HashSet::new();
    for row in &tables.actions {
        let a = match NexauAction::read(row) {
            Ok(a) => a,
            Err(p) => {
                problems.push(p);
                continue;
            }
        };
        if !sessions.contains_key(&(a.user_id.clone(), a.session_id.clone())) {
            problems.push(RowProblem::new(row.table, &row.key(&ACTION_KEY), &no_session(&a.user_id, &a.session_id)));
            continue;
        }
        if !seen.insert(a.action_id.clone()) {
            problems.push(RowProblem::new(row.table, &row.key(&ACTION_KEY), "appears twice"));
            continue;
        }
        let key = (a.user_id.clone(), a.session_id.clone(), a.agent_id.clone());
        // An agent known only from its actions: named as its actions name it.
        let entry = agents.entry(key).or_insert_with(|| AgentPlan {
            agent: NexauAgent {
                user_id: a.user_id.clone(),
                session_id: a.session_id.clone(),
                agent_id: a.agent_id.clone(),
                agent_name: a.agent_name.clone().unwrap_or_default(),
                created_at: None,
                last_updated: None,
            },
            actions: Vec::new(),
        });
        entry.actions.push(a);
    }
    let mut by_session: BTreeMap<SessionKey, SessionPlan> =
        sessions.into_iter().map(|(k, session)| (k, SessionPlan { session, agents: Vec::new() })).collect();
    for ((u, s, _), mut agent) in agents {
        agent.actions.sort_by(|x, y| (x.created_at, &x.action_id).cmp(&(y.created_at, &y.action_id)));
        if let Some(plan) = by_session.get_mut(&(u, s)) {
            plan.agents.push(agent);
        }
    }
    Plan { sessions: by_session.into_values().collect(), problems, locks: tables.locks }
}
