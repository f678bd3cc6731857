//! History: writing run actions and loading the conversation.

use nexau_session_storage::StorageError;

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

impl HistoryAction {
    /// The action's type as the log stores it: `append`, `replace`, `undo`,
    /// `run_start` or `run_end`.
    pub fn kind(&self) -> &'static str {
        match self {
            HistoryAction::Append(_) => "append",
            HistoryAction::Replace(_) => "replace",
            HistoryAction::Undo { .. } => "undo",
            HistoryAction::RunStart { .. } => "run_start",
            HistoryAction::RunEnd(_) => "run_end",
        }
    }
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

/// The component's form of [`WriteOptions`].
pub(crate) fn write_options_to_wit(options: &WriteOptions) -> wit::WriteOptions {
    wit::WriteOptions {
        run_id: options.run_id.clone(),
        idempotency_key: options.idempotency_key.clone(),
        fence: options.fence.as_ref().map(|f| wit::Fence { holder_id: f.holder_id.clone(), token: f.token }),
    }
}

fn messages_json(messages: &[Message]) -> Result<String> {
    serde_json::to_string(messages).map_err(|e| Error::Invalid(format!("messages cannot be encoded: {e}")))
}

/// The JSON size of one page of [`Engine::load`].
pub const PAGE_BYTES: u32 = 4 << 20;

/// Where a page of history starts ([`Engine::load_page`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageStart {
    /// At the oldest message.
    Beginning,
    /// Far enough back for the newest N messages (keep the last N of the pages).
    Last(u32),
    /// Where the previous page stopped.
    After(PageCursor),
}

/// Where the next page of history starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageCursor {
    /// The history's generation when the cursor was made (a `replace` or
    /// `undo` since makes it stale).
    pub generation: u64,
    /// The position of the next message.
    pub position: u64,
}

/// One page of history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPage {
    /// The messages, oldest first.
    pub messages: Vec<Message>,
    /// Where the next page starts; `None` after the newest message.
    pub next: Option<PageCursor>,
}

impl Engine {
    /// Records one action in the agent's history. The session and agent must exist.
    #[tracing::instrument(level = "debug", skip_all, fields(agent = %agent, action = action.kind()))]
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
        self.write_wit(agent, &action, options).await
    }

    /// Records one action given as the component takes it (messages as
    /// JSON text, passed on exactly as given).
    pub(crate) async fn write_wit(
        &self,
        agent: &AgentRef,
        action: &wit::Action,
        options: &WriteOptions,
    ) -> Result<Receipt> {
        let options = write_options_to_wit(options);
        let mut i = self.instance().await?;
        let r = i
            .logic
            .nexau_session_history()
            .call_write(&mut i.store, &wit_map::agent_ref(agent), action, &options)
            .await;
        Ok(wit_map::receipt(i.settle(r)?))
    }

    /// Appends messages to the agent's history.
    #[tracing::instrument(level = "debug", skip_all, fields(agent = %agent, messages = messages.len()))]
    pub async fn append(&self, agent: &AgentRef, messages: &[Message], options: &WriteOptions) -> Result<Receipt> {
        self.write(agent, &HistoryAction::Append(messages.to_vec()), options).await
    }

    /// The agent's history as one JSON array, oldest first (`last`: only the newest N).
    #[tracing::instrument(level = "debug", skip_all, fields(agent = %agent, last = ?last))]
    pub async fn load_json(&self, agent: &AgentRef, last: Option<u32>) -> Result<String> {
        let mut i = self.instance().await?;
        let r = i
            .logic
            .nexau_session_history()
            .call_load(&mut i.store, &wit_map::agent_ref(agent), wit::LoadOptions { last })
            .await;
        i.settle(r)
    }

    /// One page of the agent's history, oldest first, of about `max_bytes`
    /// of JSON (at least one message); see [`Engine::load`].
    #[tracing::instrument(level = "debug", skip_all, fields(agent = %agent, max_bytes))]
    pub async fn load_page(&self, agent: &AgentRef, start: PageStart, max_bytes: u32) -> Result<HistoryPage> {
        let start = match start {
            PageStart::Beginning => wit::PageStart::Beginning,
            PageStart::Last(n) => wit::PageStart::Last(n),
            PageStart::After(c) => {
                wit::PageStart::After(wit::PageCursor { generation: c.generation, position: c.position })
            }
        };
        let mut i = self.instance().await?;
        let r = i
            .logic
            .nexau_session_history()
            .call_load_page(&mut i.store, &wit_map::agent_ref(agent), start, max_bytes)
            .await;
        let page = i.settle(r)?;
        let messages = serde_json::from_str(&page.messages)
            .map_err(|e| Error::Storage(StorageError::backend_caused("stored history cannot be decoded", e)))?;
        let next = page.next.map(|c| PageCursor { generation: c.generation, position: c.position });
        Ok(HistoryPage { messages, next })
    }

    /// The agent's history, oldest first: the newest replace plus later appends,
    /// honouring undo, de-duplicated, with interrupted tool calls repaired;
    /// with `last`, only the newest N messages.
    ///
    /// Read a page at a time ([`PAGE_BYTES`] of JSON each), so a history of
    /// any size loads within the component's memory limit; only the messages
    /// returned are read. A `replace` or `undo` that lands while the pages are
    /// read starts the load over.
    pub async fn load(&self, agent: &AgentRef, last: Option<u32>) -> Result<Vec<Message>> {
        let mut attempts = 0;
        'again: loop {
            let mut start = last.map_or(PageStart::Beginning, PageStart::Last);
            let mut messages = Vec::new();
            loop {
                let page = match self.load_page(agent, start, PAGE_BYTES).await {
                    Err(Error::Conflict(_)) if attempts < 8 => {
                        attempts += 1;
                        continue 'again;
                    }
                    other => other?,
                };
                messages.extend(page.messages);
                match page.next {
                    Some(c) => start = PageStart::After(c),
                    None => break,
                }
            }
            if let Some(n) = last.map(|n| n as usize)
                && messages.len() > n
            {
                messages.drain(..messages.len() - n);
            }
            return Ok(messages);
        }
    }
}
