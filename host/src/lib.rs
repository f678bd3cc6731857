//! nexau-session: agent session management. Agents are stateless; sessions
//! hold the state. The session logic is a WebAssembly component (`guest/`),
//! hosted here by wasmtime; the storage is supplied by this host (SQLite by
//! default, or memory).
//!
//! ```no_run
//! # async fn demo() -> nexau_session::Result<()> {
//! use nexau_session::{Agent, BusyPolicy, Engine, OfflineModel, SessionManager};
//! use std::time::Duration;
//!
//! let engine = Engine::from_url("sqlite+aiosqlite:///sessions.db").await?;
//! engine.setup_models().await?;
//! let manager = SessionManager::builder(engine)
//!     .lock_ttl(Duration::from_secs(30))
//!     .heartbeat_interval(Duration::from_secs(10))
//!     .on_busy(BusyPolicy::Wait(Duration::from_secs(5)))
//!     .build()?;
//! let mut agent = Agent::new(OfflineModel, &manager, "user_123", Some("sess_456")).await?;
//! let reply = agent.run("Hello").await?;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod agent;
pub mod bench;
mod chat_model;
mod clock;
pub mod db_url;
mod engine;
mod error;
pub mod export_format;
mod filter_dsl;
pub mod ids;
mod manager;
mod nexau_import;
mod run_lock;
pub mod runtime;
mod session;

pub use agent::Agent;
pub use chat_model::{ChatModel, OfflineModel};
pub use clock::{Clock, ManualClock, NOW_ENV, SystemClock, clock_from_env};
pub use db_url::DbUrl;
pub use engine::{
    AcquireOutcome, AgentLockModel, AgentModel, AgentRunActionModel, DEFAULT_SCOPE, DeleteRule, Engine, EngineBuilder,
    Fence, HistoryAction, HistoryPage, ImportOutcome, PAGE_BYTES, PageCursor, PageStart, Record, RowReader, RunStatus,
    SessionModel, SessionRows, StaleSession, WriteOptions,
};
pub use error::{Error, LockHolder, Result, RuntimeError};
pub use filter_dsl::{MAX_FILTER_TERMS, parse_filter, parse_filters, parse_order};
pub use manager::{BusyPolicy, SessionManager, SessionManagerBuilder};
pub use nexau_import::{ImportSummary, OnError, RowProblem, check_nexau_url};
pub use nexau_session_message::{ContentBlock, Message, Role, UnknownRole};
pub use nexau_session_storage as storage;
pub use nexau_session_storage::{TIMESTAMP_RANGE, Timestamp, TimestampError};
pub use run_lock::RunLock;
pub use session::{AgentInfo, AgentRef, Lease, Receipt, Session, SessionQuery, SessionUpdate};
