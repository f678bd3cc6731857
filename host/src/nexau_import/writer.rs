//! Writing a plan into this store. Sessions and agents are created through
//! the session logic, and every action goes through its `history.write`,
//! so the live conversation (`agent_messages`) is kept exactly as for any
//! other write: the same de-duplication by message id, `replace` epochs and
//! `undo` cut-offs. The session logic reads a clock pinned at each row's
//! original time, so sessions, agents, actions and messages without a time
//! keep NexAU's. The fields NexAU keeps that a write does not set are then
//! set on the action row (one atomic batch); an action whose row already
//! carries its NexAU id is skipped, which makes the import idempotent.

use std::sync::Arc;

use nexau_session_tables as tables;

use super::actions::{to_write, with_nexau_fields, write_key};
use super::plan::{AgentPlan, SessionPlan};
use super::records::{ACTION_KEY, NexauAction, NexauSession};
use super::source::ACTIONS;
use super::{ImportSummary, OnError, RowProblem};
use crate::storage::{CheckedStore, Filter, Query, StorageError, Value, WriteOp};
use crate::{AgentRef, Engine, Error, ManualClock, Result, Timestamp, WriteOptions};

/// Writes plans into one store.
pub(crate) struct Writer {
    engine: Engine,
    clock: Arc<ManualClock>,
    store: Arc<CheckedStore>,
    on_error: OnError,
    /// What has been done so far.
    pub summary: ImportSummary,
}

fn key_filter(pairs: &[(&str, &str)]) -> Filter {
    Filter::And(pairs.iter().map(|(c, v)| Filter::eq(*c, *v)).collect())
}

fn time_of(rows: &crate::storage::RowSet, column: &str) -> Option<Timestamp> {
    rows.get(0, column).and_then(Value::as_str).and_then(|t| Timestamp::parse_rfc3339(t).ok())
}

impl Writer {
    /// A writer into `engine`'s store.
    pub fn new(engine: &Engine, on_error: OnError) -> Writer {
        let clock = Arc::new(ManualClock::default());
        let engine = engine.with_clock(clock.clone());
        let store = engine.checked_store().clone();
        Writer { engine, clock, store, on_error, summary: ImportSummary::default() }
    }

    fn pin(&self, t: Timestamp) {
        self.clock.set_ns(t.as_ns());
    }

    async fn one_row(&self, table: &str, filter: Filter) -> Result<crate::storage::RowSet> {
        let q = Query { filter, order_by: Vec::new(), limit: Some(1), offset: None, columns: Vec::new() };
        Ok(self.store.find(table, &q).await?)
    }

    /// Imports one session with its agents and their actions.
    pub async fn session(&mut self, plan: &SessionPlan) -> Result<()> {
        let s = &plan.session;
        let key = [("user_id", s.user_id.as_str()), ("session_id", s.session_id.as_str())];
        let before = self.one_row(tables::SESSIONS, key_filter(&key)).await?;
        let before_updated = time_of(&before, "updated_at");
        if before.is_empty() {
            self.pin(s.created_at);
            self.engine.get_or_create_session(&s.user_id, Some(&s.session_id)).await?;
            self.summary.sessions_created += 1;
        }
        // NexAU's fields are taken when the session is new here, or newer in NexAU.
        let newer = before_updated.is_none_or(|b| s.updated_at > b);
        if newer {
            self.set_session_fields(s).await?;
            if !before.is_empty() {
                self.summary.sessions_updated += 1;
            }
        }
        let mut newest_action = None;
        for agent in &plan.agents {
            if let Some(t) = self.agent(agent, s.created_at).await? {
                newest_action = newest_action.max(Some(t));
            }
        }
        // `updated_at`: NexAU's when its fields were taken; else the later of
        // this store's and of the newest action imported now.
        let target = if newer { Some(s.updated_at) } else { before_updated.max(newest_action) };
        if let Some(target) = target {
            self.set_time(tables::SESSIONS, &key, "updated_at", target, &[]).await?;
        }
        Ok(())
    }

    /// Sets NexAU's context, storage, sandbox state, root agent and pending
    /// tool calls on the session (its version moves on, as for any update).
    async fn set_session_fields(&self, s: &NexauSession) -> Result<()> {
        let key = [("user_id", s.user_id.as_str()), ("session_id", s.session_id.as_str())];
        let opt_json = |v: &Option<String>| v.clone().map_or(Value::Null, Value::Json);
        for _ in 0..8 {
            let row = self.one_row(tables::SESSIONS, key_filter(&key)).await?;
            let version = row.get(0, "version").and_then(Value::as_i64).unwrap_or(0);
            let filter = vec![key_filter(&key), Filter::eq("version", version)];
            let op = WriteOp::Update {
                table: tables::SESSIONS.into(),
                filter: Filter::And(filter),
                set: vec![
                    ("context".into(), Value::Json(s.context.clone())),
                    ("storage".into(), Value::Json(s.storage.clone())),
                    ("sandbox_state".into(), opt_json(&s.sandbox_state)),
                    ("pending_tool_calls".into(), opt_json(&s.pending_tool_calls)),
                    ("root_agent_id".into(), s.root_agent_id.clone().map_or(Value::Null, Value::Text)),
                    ("updated_at".into(), Value::from(s.updated_at)),
                    ("version".into(), Value::Int(version + 1)),
                ],
                expect: Some(1),
            };
            match self.store.apply(vec![op]).await {
                Ok(_) => return Ok(()),
                Err(StorageError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Conflict(format!("session {} of user {} kept changing during the import", s.session_id, s.user_id)))
    }

    /// Sets `column` of the row `key` names to `target` unless it is there
    /// already; only while the row is unchanged (else another writer's
    /// newer time stays). `more` are further assignments.
    async fn set_time(
        &self,
        table: &str,
        key: &[(&str, &str)],
        column: &str,
        target: Timestamp,
        more: &[(&str, Value)],
    ) -> Result<()> {
        let row = self.one_row(table, key_filter(key)).await?;
        let Some(current) = row.get(0, column).cloned() else { return Ok(()) };
        if time_of(&row, column) == Some(target) && more.is_empty() {
            return Ok(());
        }
        let mut set = vec![(column.to_owned(), Value::from(target))];
        set.extend(more.iter().map(|(c, v)| ((*c).to_owned(), v.clone())));
        let filter = Filter::And(vec![key_filter(key), Filter::eq(column, current)]);
        let op = WriteOp::Update { table: table.into(), filter, set, expect: Some(1) };
        match self.store.apply(vec![op]).await {
            Ok(_) | Err(StorageError::Conflict(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Imports one agent and its actions; the time of the newest action
    /// imported now, if any. An agent without a creation time of its own
    /// takes its first action's, else its session's.
    async fn agent(&mut self, plan: &AgentPlan, session_created: Timestamp) -> Result<Option<Timestamp>> {
        let a = &plan.agent;
        let key =
            [("user_id", a.user_id.as_str()), ("session_id", a.session_id.as_str()), ("agent_id", a.agent_id.as_str())];
        let before = self.one_row(tables::AGENTS, key_filter(&key)).await?;
        let before_updated = time_of(&before, "last_updated");
        let first_action = plan.actions.first().map(|x| x.created_at);
        if before.is_empty() {
            self.pin(a.created_at.or(first_action).unwrap_or(session_created));
            self.engine.ensure_agent(&a.user_id, &a.session_id, Some(&a.agent_id), &a.agent_name).await?;
            self.summary.agents_created += 1;
        }
        let agent = AgentRef::new(&a.user_id, &a.session_id, &a.agent_id);
        let mut newest = None;
        for action in &plan.actions {
            if self.action(&agent, action).await? {
                newest = Some(action.created_at);
            }
        }
        let newer = match (a.last_updated, before_updated) {
            (Some(n), Some(b)) => n > b,
            (Some(_), None) => true,
            (None, _) => false,
        };
        let target = if newer { a.last_updated } else { before_updated.max(newest) };
        if let Some(target) = target {
            let name = if newer { vec![("agent_name", Value::Text(a.agent_name.clone()))] } else { Vec::new() };
            self.set_time(tables::AGENTS, &key, "last_updated", target, &name).await?;
        }
        Ok(newest)
    }

    /// Imports one action; false when it was there already or was skipped.
    async fn action(&mut self, agent: &AgentRef, a: &NexauAction) -> Result<bool> {
        if self.store.count(tables::ACTIONS, &Filter::eq("action_id", a.action_id.as_str())).await? > 0 {
            self.summary.actions_already_present += 1;
            return Ok(false);
        }
        self.pin(a.created_at);
        let options = WriteOptions { run_id: a.run_id.clone(), idempotency_key: Some(write_key(a)), fence: None };
        let receipt = match self.engine.write_wit(agent, &to_write(a), &options).await {
            Ok(r) => r,
            Err(Error::Invalid(why) | Error::NotFound(why)) => return self.refused(a, why),
            Err(e) => return Err(e),
        };
        let ours = Filter::eq("action_id", receipt.action_id.as_str());
        let row = self.one_row(tables::ACTIONS, ours.clone()).await?;
        let same_write = row.get(0, "created_at_ns").and_then(Value::as_i64) == Some(a.created_at.as_ns())
            && row.get(0, "action_type").and_then(Value::as_str) == Some(a.kind.name());
        if !same_write {
            let why = format!("idempotency key {} is used in this store by action {}", write_key(a), receipt.action_id);
            return self.refused(a, why);
        }
        let batch = vec![
            WriteOp::Delete { table: tables::ACTIONS.into(), filter: ours, expect: Some(1) },
            WriteOp::Insert { table: tables::ACTIONS.into(), rows: with_nexau_fields(&row, a) },
        ];
        self.store.apply(batch).await?;
        self.summary.actions_imported += 1;
        Ok(true)
    }

    /// An action this store refuses: reported, and the import goes on or
    /// stops as `--on-error` says.
    fn refused(&mut self, a: &NexauAction, why: String) -> Result<bool> {
        let problem = RowProblem::new(ACTIONS, &format!("{}={}", ACTION_KEY[0], a.action_id), &why);
        match self.on_error {
            OnError::Skip => {
                self.summary.problems.push(problem);
                Ok(false)
            }
            OnError::Stop => Err(Error::Invalid(format!(
                "{problem} (stopped; {} actions imported before it stay, and a rerun continues from there)",
                self.summary.actions_imported
            ))),
        }
    }
}
