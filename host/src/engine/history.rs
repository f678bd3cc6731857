//! History: writing run actions and loading the conversation.

use super::{Engine, wit_map};
use crate::runtime::bindings::exports::nexau::session::history as wit;
use crate::{AgentRef, Error, Message, Receipt, Result};

/// Proof that the writer holds the agent's lock: its holder id and fencing token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// The lock holder.
    pub holder_id: String,
    /// The token of the holder's acquisition.
    pub token: u64,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunStatus {
    /// It finished.
    Ok,
    /// It failed, with this message.
    Error(String),
    /// It was cancelled (for instance because its lock was lost).
    Cancelled,
}

/// One action of the history log.
#[derive(Debug, Clone, PartialEq)]
pub enum HistoryAction {
    /// Adds messages after the current history.
    Append(Vec<Message>),
    /// Makes these messages the whole history (compaction, clear).
    Replace(Vec<Message>),
    /// Rewinds the history to before this run.
    Undo {
        /// The first run to forget.
        before_run_id: String,
    },
    /// A run started.
    RunStart {
        /// The top-level run this one belongs to.
        root_run_id: Option<String>,
        /// The run that started this one.
        parent_run_id: Option<String>,
        /// The agent's display name.
        agent_name: Option<String>,
    },
    /// A run ended.
    RunEnd(RunStatus),
}

/// Options of a history write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// The run the action belongs to.
    pub run_id: Option<String>,
    /// A retried write with the same key is stored once.
    pub idempotency_key: Option<String>,
    /// When set, the write lands only while this lock is still the writer's.
    pub fence: Option<Fence>,
}

fn messages_json(messages: &[Message]) -> Result<String> {
    serde_json::to_string(messages).map_err(|e| Error::Invalid(format!("messages cannot be encoded: {e}")))
}

impl Engine {
    /// Records one action in the agent's history. The session and agent must exist.
    pub async fn write(&self, agent: &AgentRef, action: &HistoryAction, options: &WriteOptions) -> Result<Receipt> {
        let action = match action {
            HistoryAction::Append(m) => wit::Action::Append(messages_json(m)?),
            HistoryAction::Replace(m) => wit::Action::Replace(messages_json(m)?),
            HistoryAction::Undo { before_run_id } => wit::Action::Undo(before_run_id.clone()),
            HistoryAction::RunStart { root_run_id, parent_run_id, agent_name } => {
                wit::Action::RunStart(wit::RunStart {
                    root_run_id: root_run_id.clone(),
                    parent_run_id: parent_run_id.clone(),
                    agent_name: agent_name.clone(),
                })
            }
            HistoryAction::RunEnd(status) => wit::Action::RunEnd(match status {
                RunStatus::Ok => wit::RunStatus::Ok,
                RunStatus::Error(m) => wit::RunStatus::Error(m.clone()),
                RunStatus::Cancelled => wit::RunStatus::Cancelled,
            }),
        };
        let options = wit::WriteOptions {
            run_id: options.run_id.clone(),
            idempotency_key: options.idempotency_key.clone(),
            fence: options.fence.as_ref().map(|f| wit::Fence { holder_id: f.holder_id.clone(), token: f.token }),
        };
        let mut i = self.instance().await?;
        let r = i
            .logic
            .nexau_session_history()
            .call_write(&mut i.store, &wit_map::agent_ref(agent), &action, &options)
            .await;
        Ok(wit_map::receipt(i.settle(r)?))
    }

    /// Appends messages to the agent's history.
    pub async fn append(&self, agent: &AgentRef, messages: &[Message], options: &WriteOptions) -> Result<Receipt> {
        self.write(agent, &HistoryAction::Append(messages.to_vec()), options).await
    }

    /// The agent's history as one JSON array, oldest first (`last`: only the newest N).
    pub async fn load_json(&self, agent: &AgentRef, last: Option<u32>) -> Result<String> {
        let mut i = self.instance().await?;
        let r = i
            .logic
            .nexau_session_history()
            .call_load(&mut i.store, &wit_map::agent_ref(agent), wit::LoadOptions { last })
            .await;
        i.settle(r)
    }

    /// The agent's history, oldest first: the newest replace plus later appends,
    /// honouring undo, de-duplicated, with interrupted tool calls repaired.
    pub async fn load(&self, agent: &AgentRef, last: Option<u32>) -> Result<Vec<Message>> {
        let json = self.load_json(agent, last).await?;
        serde_json::from_str(&json).map_err(|e| Error::Storage(format!("stored history cannot be decoded: {e}")))
    }
}
