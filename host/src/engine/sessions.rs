//! Sessions and agents.

use super::{Engine, SessionModel, wit_map};
use crate::runtime::bindings::exports::nexau::session::sessions as wit;
use crate::storage::{Filter, Order, Query};
use crate::{AgentInfo, Result, Session, SessionQuery, SessionUpdate};

impl Engine {
    /// The session, created when absent; `None` generates a `sess_{ULID}` id.
    #[tracing::instrument(level = "debug", skip_all, fields(user = user_id, session = ?session_id))]
    pub async fn get_or_create_session(&self, user_id: &str, session_id: Option<&str>) -> Result<Session> {
        let mut i = self.instance().await?;
        let s = i.logic.nexau_session_sessions().call_get_or_create(&mut i.store, user_id, session_id).await;
        wit_map::session(i.settle(s)?)
    }

    /// The session, if it exists.
    #[tracing::instrument(level = "debug", skip_all, fields(user = user_id, session = session_id))]
    pub async fn get_session(&self, user_id: &str, session_id: &str) -> Result<Option<Session>> {
        let mut i = self.instance().await?;
        let s = i.logic.nexau_session_sessions().call_get(&mut i.store, user_id, session_id).await;
        i.settle(s)?.map(wit_map::session).transpose()
    }

    /// Sessions matching `query` (default order: `created_at`, `session_id`).
    /// Served by the host's checked store rather than the component, so the
    /// filter may use everything [`Filter`] offers (`like`/`ilike` too).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list_sessions(&self, query: &SessionQuery) -> Result<Vec<Session>> {
        crate::ids::check_opt("user_id", query.user_id.as_deref())?;
        let filter = match &query.user_id {
            Some(u) => Filter::and([query.filter.clone(), Filter::eq("user_id", u.as_str())]),
            None => query.filter.clone(),
        };
        let order_by = if query.order_by.is_empty() {
            vec![Order::parse("created_at"), Order::parse("session_id")]
        } else {
            query.order_by.clone()
        };
        let q = Query {
            filter,
            order_by,
            limit: query.limit.map(u64::from),
            offset: query.offset.map(u64::from),
            columns: Vec::new(),
        };
        self.find::<SessionModel>(&q).await?.into_iter().map(Session::try_from).collect()
    }

    /// Applies `changes`; with `expected_version`, fails with
    /// [`Error::VersionConflict`](crate::Error::VersionConflict) unless it matches.
    #[tracing::instrument(level = "debug", skip_all, fields(user = user_id, session = session_id))]
    pub async fn update_session(
        &self,
        user_id: &str,
        session_id: &str,
        changes: &SessionUpdate,
        expected_version: Option<u64>,
    ) -> Result<Session> {
        let changes = wit::SessionUpdate {
            context: changes.context.as_ref().map(|v| v.to_string()),
            storage: changes.storage.as_ref().map(|v| v.to_string()),
            sandbox_state: changes.sandbox_state.as_ref().map(|v| v.to_string()),
        };
        let mut i = self.instance().await?;
        let s = i
            .logic
            .nexau_session_sessions()
            .call_update(&mut i.store, user_id, session_id, &changes, expected_version)
            .await;
        wit_map::session(i.settle(s)?)
    }

    /// Deletes the session with its agents, history and locks; false when it did not exist.
    #[tracing::instrument(level = "debug", skip_all, fields(user = user_id, session = session_id))]
    pub async fn delete_session(&self, user_id: &str, session_id: &str) -> Result<bool> {
        let mut i = self.instance().await?;
        let r = i.logic.nexau_session_sessions().call_delete(&mut i.store, user_id, session_id).await;
        i.settle(r)
    }

    /// Deletes the session like [`Engine::delete_session`], but only while its
    /// `updated_at` is still `updated_at` (as read, from a [`Session`] say),
    /// checked in the same atomic batch: a session written to since it was
    /// read, by an append for one, is left alone. False when it did not exist
    /// or has changed.
    ///
    /// ```no_run
    /// # async fn demo(engine: nexau_session::Engine) -> nexau_session::Result<()> {
    /// if let Some(s) = engine.get_session("alice", "s1").await? {
    ///     let deleted = engine.delete_session_if_unchanged("alice", "s1", &s.updated_at).await?;
    /// }
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(level = "debug", skip_all, fields(user = user_id, session = session_id))]
    pub async fn delete_session_if_unchanged(&self, user_id: &str, session_id: &str, updated_at: &str) -> Result<bool> {
        let mut i = self.instance().await?;
        let r = i
            .logic
            .nexau_session_sessions()
            .call_delete_if_unchanged(&mut i.store, user_id, session_id, updated_at)
            .await;
        i.settle(r)
    }

    /// The agent, created when absent; `agent_id: None` is the session's root agent.
    /// The session must exist.
    #[tracing::instrument(level = "debug", skip_all, fields(user = user_id, session = session_id, agent = ?agent_id))]
    pub async fn ensure_agent(
        &self,
        user_id: &str,
        session_id: &str,
        agent_id: Option<&str>,
        agent_name: &str,
    ) -> Result<AgentInfo> {
        let mut i = self.instance().await?;
        let a = i
            .logic
            .nexau_session_sessions()
            .call_ensure_agent(&mut i.store, user_id, session_id, agent_id, agent_name)
            .await;
        Ok(wit_map::agent(i.settle(a)?))
    }

    /// The agents of a session.
    #[tracing::instrument(level = "debug", skip_all, fields(user = user_id, session = session_id))]
    pub async fn list_agents(&self, user_id: &str, session_id: &str) -> Result<Vec<AgentInfo>> {
        let mut i = self.instance().await?;
        let list = i.logic.nexau_session_sessions().call_list_agents(&mut i.store, user_id, session_id).await;
        Ok(i.settle(list)?.into_iter().map(wit_map::agent).collect())
    }
}
