//! `--user U --session S [--agent A]`: which session or agent a command works on.

use clap::Args;
use nexau_session::{AgentRef, Engine};

/// The session a command works on.
#[derive(Args, Debug, Clone)]
pub struct SessionArgs {
    /// The user id.
    #[arg(long)]
    pub user: String,
    /// The session id.
    #[arg(long)]
    pub session: String,
}

impl SessionArgs {
    /// The session does not exist: what `show` and `delete` report.
    pub fn not_found(&self) -> nexau_session::Error {
        nexau_session::Error::NotFound(format!("session {} of user {} does not exist", self.session, self.user))
    }
}

/// The agent a command works on.
#[derive(Args, Debug, Clone)]
pub struct AgentArgs {
    /// The user id.
    #[arg(long)]
    pub user: String,
    /// The session id.
    #[arg(long)]
    pub session: String,
    /// The agent id (default: the session's root agent).
    #[arg(long)]
    pub agent: Option<String>,
}

impl AgentArgs {
    /// The agent, creating the session and the agent when missing (as a run does).
    pub async fn ensure(&self, engine: &Engine) -> anyhow::Result<AgentRef> {
        let session = engine.get_or_create_session(&self.user, Some(&self.session)).await?;
        let agent = engine.ensure_agent(&self.user, &session.session_id, self.agent.as_deref(), "main").await?;
        Ok(agent.agent_ref())
    }

    /// The agent if its session exists, without creating anything; `None` when
    /// the session has no such agent yet.
    pub async fn existing(&self, engine: &Engine) -> anyhow::Result<Option<AgentRef>> {
        let Some(session) = engine.get_session(&self.user, &self.session).await? else {
            return Err(SessionArgs { user: self.user.clone(), session: self.session.clone() }.not_found().into());
        };
        let agent_id = match &self.agent {
            Some(a) => Some(a.clone()),
            None => session.root_agent_id,
        };
        Ok(agent_id.map(|a| AgentRef::new(&self.user, &self.session, a)))
    }
}
