//! What every side of the benchmark does for a workload: the component
//! (guest), the same storage calls without it (native), and the least a
//! hand-written program does for the same durable result (floor).

use async_trait::async_trait;

use crate::{Message, Result};

/// The user every benchmark session belongs to.
pub const USER: &str = "bench";
/// The agent every benchmark session talks to.
pub const AGENT: &str = "main";
/// The holder id of the lock cycles.
pub const HOLDER: &str = "1:0000bench";

/// One way of storing conversations, driven by the workloads.
#[async_trait]
pub trait Side: Send + Sync {
    /// Creates the session (and its agent, and whatever a lock needs).
    async fn create(&self, session: &str) -> Result<()>;
    /// Stores `messages` after the session's history, durably when it returns.
    async fn append(&self, session: &str, messages: &[Message]) -> Result<()>;
    /// The session's messages, oldest first; with `last`, only the newest N.
    async fn load(&self, session: &str, last: Option<u32>) -> Result<Vec<Message>>;
    /// Takes the session's lock and releases it.
    async fn lock_cycle(&self, session: &str) -> Result<()>;
}

/// A fresh `msg_{ULID}` id and the current time, as the component gives a
/// message stored without them.
pub fn stamped(messages: &[Message]) -> Vec<Message> {
    let now = humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string();
    messages
        .iter()
        .map(|m| Message { id: format!("msg_{}", ulid::Ulid::new()), created_at: now.clone(), ..m.clone() })
        .collect()
}
