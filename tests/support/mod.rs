//! Shared helpers of the integration tests: backends under test, engines,
//! temp directories and the CLI binary.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use nexau_session::{AgentRef, Clock, Engine, ManualClock, Message, Role};

/// A backend under test: a name and a way to make a fresh, empty URL for it.
pub struct TestBackend {
    pub name: &'static str,
    /// Keeps the backend's files alive while the test runs.
    pub dir: Option<tempfile::TempDir>,
    pub url: String,
}

/// A fresh, empty backend called `name`.
pub fn backend(name: &'static str) -> TestBackend {
    match name {
        "memory" => TestBackend { name, dir: None, url: "memory://".into() },
        "sqlite" => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite:///{}", dir.path().join("sessions.db").display());
            TestBackend { name, dir: Some(dir), url }
        }
        "jsonl" => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("jsonl:///{}", dir.path().join("sessions.d").display());
            TestBackend { name, dir: Some(dir), url }
        }
        other => panic!("unknown backend {other}"),
    }
}

/// The default clock of tests: pinned, moved only by the test.
pub fn test_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::at_rfc3339("2026-06-01T12:00:00Z").unwrap())
}

/// An engine on a fresh backend, set up, on `clock`.
pub async fn engine_with_clock(b: &TestBackend, clock: Arc<dyn Clock>) -> Engine {
    let engine = Engine::builder(&b.url).clock(clock).build().await.expect("engine");
    engine.setup_models().await.expect("setup_models");
    engine
}

/// An engine on a fresh backend, set up, with a pinned test clock.
pub async fn engine(b: &TestBackend) -> Engine {
    engine_with_clock(b, test_clock()).await
}

/// Creates the session and its root agent.
pub async fn root_agent(engine: &Engine, user: &str, session: &str) -> AgentRef {
    engine.get_or_create_session(user, Some(session)).await.unwrap();
    engine.ensure_agent(user, session, None, "main").await.unwrap().agent_ref()
}

pub fn user(text: &str) -> Message {
    Message::from_text(Role::User, text)
}

pub fn assistant(text: &str) -> Message {
    Message::from_text(Role::Assistant, text)
}

/// The texts of messages.
pub fn texts(messages: &[Message]) -> Vec<String> {
    messages.iter().map(Message::text).collect()
}

/// The CLI binary built with these tests.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_nexau-session"))
}
