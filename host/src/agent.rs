//! [`Agent`]: a stateless model plus a session that holds its state.

use std::sync::Arc;

use crate::{
    AgentRef, BusyPolicy, ChatModel, Engine, Error, HistoryAction, Message, Result, Role, RunLock, RunStatus,
    SessionManager, WriteOptions,
};

/// One agent of one session. Each [`Agent::run`] takes the agent's lock
/// (heartbeat included), loads the history, writes the user message, runs the
/// model, writes its answer and the run's end, and releases the lock.
///
/// ```no_run
/// # async fn demo() -> nexau_session::Result<()> {
/// use nexau_session::{Agent, Engine, OfflineModel, SessionManager};
/// let engine = Engine::from_url("sqlite:///sessions.db").await?;
/// engine.setup_models().await?;
/// let manager = SessionManager::builder(engine).build()?;
/// let mut agent = Agent::new(OfflineModel, &manager, "user_123", Some("sess_456")).await?;
/// let reply = agent.run("Hello").await?;
/// # Ok(()) }
/// ```
pub struct Agent {
    model: Arc<dyn ChatModel>,
    manager: SessionManager,
    agent: AgentRef,
    agent_name: String,
    parent_run_id: Option<String>,
}

impl Agent {
    /// The root agent of the user's session, creating the session (a new
    /// `sess_{ULID}` when `session_id` is `None`) and the agent when missing.
    pub async fn new(
        model: impl ChatModel + 'static,
        manager: &SessionManager,
        user_id: &str,
        session_id: Option<&str>,
    ) -> Result<Agent> {
        Agent::open(Arc::new(model), manager, user_id, session_id, None, "main").await
    }

    /// A named agent of the user's session (created when missing), with its own history.
    pub async fn open(
        model: Arc<dyn ChatModel>,
        manager: &SessionManager,
        user_id: &str,
        session_id: Option<&str>,
        agent_id: Option<&str>,
        agent_name: &str,
    ) -> Result<Agent> {
        let engine = manager.engine();
        let session = engine.get_or_create_session(user_id, session_id).await?;
        let info = engine.ensure_agent(user_id, &session.session_id, agent_id, agent_name).await?;
        Ok(Agent {
            model,
            manager: manager.clone(),
            agent: info.agent_ref(),
            agent_name: info.agent_name,
            parent_run_id: None,
        })
    }

    /// A sub-agent of this agent's session, with its own history; its runs
    /// record this agent's latest run as their parent.
    pub async fn sub_agent(&self, model: Arc<dyn ChatModel>, agent_id: &str, agent_name: &str) -> Result<Agent> {
        let mut sub = Agent::open(
            model,
            &self.manager,
            &self.agent.user_id,
            Some(&self.agent.session_id),
            Some(agent_id),
            agent_name,
        )
        .await?;
        sub.parent_run_id = self.parent_run_id.clone();
        Ok(sub)
    }

    /// The user, session and agent ids.
    pub fn agent_ref(&self) -> &AgentRef {
        &self.agent
    }

    /// The session id.
    pub fn session_id(&self) -> &str {
        &self.agent.session_id
    }

    /// The agent's history, oldest first.
    pub async fn history(&self) -> Result<Vec<Message>> {
        self.manager.engine().load(&self.agent, None).await
    }

    /// One run under the manager's busy policy; returns the model's reply text.
    pub async fn run(&mut self, text: &str) -> Result<String> {
        self.run_with(text, self.manager.on_busy()).await
    }

    /// One run under `policy`.
    pub async fn run_with(&mut self, text: &str, policy: BusyPolicy) -> Result<String> {
        let run_id = format!("run_{}", ulid::Ulid::new());
        let lock = self.manager.acquire_with(&self.agent, Some(&run_id), policy).await?;
        let result = self.run_locked(&lock, &run_id, text).await;
        let status = match &result {
            Ok(_) => RunStatus::Ok,
            Err(Error::LockExpired(_)) => RunStatus::Cancelled,
            Err(e) => RunStatus::Error(e.to_string()),
        };
        if !lock.is_lost() {
            let end = self.options(&lock, &run_id, "end");
            if let Err(e) = self.manager.engine().write(&self.agent, &HistoryAction::RunEnd(status), &end).await {
                tracing::warn!(agent = %self.agent, "could not record the end of {run_id}: {e}");
            }
        }
        let released = lock.release().await;
        let reply = result?;
        if let Err(e) = released {
            // Every write of the run was fenced and landed; only the release came late.
            tracing::warn!(agent = %self.agent, "releasing after {run_id}: {e}");
        }
        self.parent_run_id = Some(run_id);
        Ok(reply)
    }

    fn options(&self, lock: &RunLock, run_id: &str, step: &str) -> WriteOptions {
        WriteOptions {
            run_id: Some(run_id.to_owned()),
            idempotency_key: Some(format!("{run_id}:{step}")),
            fence: Some(lock.fence()),
        }
    }

    async fn run_locked(&self, lock: &RunLock, run_id: &str, text: &str) -> Result<String> {
        let engine: &Engine = self.manager.engine();
        let mut history = engine.load(&self.agent, None).await?;
        let user = Message::from_text(Role::User, text);
        engine.append(&self.agent, std::slice::from_ref(&user), &self.options(lock, run_id, "user")).await?;
        let start = HistoryAction::RunStart {
            root_run_id: None,
            parent_run_id: self.parent_run_id.clone(),
            agent_name: Some(self.agent_name.clone()),
        };
        engine.write(&self.agent, &start, &self.options(lock, run_id, "start")).await?;
        history.push(user);
        let reply = tokio::select! {
            reply = self.model.respond(&history) => reply?,
            _ = lock.lost().cancelled() => {
                return Err(Error::LockExpired(format!("the lock on {} was lost while the model ran", self.agent)));
            }
        };
        engine.append(&self.agent, &reply, &self.options(lock, run_id, "1")).await?;
        Ok(reply.iter().filter(|m| m.role == Role::Assistant).map(Message::text).collect::<Vec<_>>().join("\n"))
    }
}
