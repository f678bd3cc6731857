//! Shared helpers of the integration tests: backends under test, engines,
//! temp directories and the CLI binary.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;

use nexau_session::runtime::POOL_ENV;
use nexau_session::storage::backends::{self, TargetKind, TestStore};
use nexau_session::{AgentRef, Clock, Engine, ManualClock, Message, Role};

/// A backend under test: its registry entry and a fresh, empty store of it.
pub struct TestBackend {
    pub name: &'static str,
    /// Whether a second engine on `url` sees the same data (false for `memory://`).
    pub shared: bool,
    pub url: String,
    /// Removes the store (files, schema) when the test ends.
    _store: TestStore,
}

/// A fresh, empty store of the registered backend `name`, or `None` (with a
/// note) where this machine has none (a server backend without its test URL).
pub async fn backend(name: &str) -> Option<TestBackend> {
    let kind = backends::by_name(name).unwrap_or_else(|| panic!("no backend {name} in the registry"));
    let store = (kind.test_store)().await.unwrap_or_else(|e| panic!("{name}: cannot make a test store: {e}"));
    match store {
        Some(store) => Some(TestBackend {
            name: kind.name,
            shared: kind.target != TargetKind::None,
            url: store.url.clone(),
            _store: store,
        }),
        None => {
            eprintln!("note: no {name} store on this machine; its cases are skipped");
            None
        }
    }
}

/// A fresh store of every registered backend this machine can provide.
pub async fn every_backend() -> Vec<TestBackend> {
    let mut out = Vec::new();
    for kind in backends::BACKENDS {
        out.extend(backend(kind.name).await);
    }
    out
}

/// Runs `case` on a fresh store of every registered backend, one after the
/// other; a failure names the backend.
pub async fn on_every_backend<F, Fut>(case_name: &str, case: F)
where
    F: Fn(TestBackend) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    for b in every_backend().await {
        let name = b.name;
        if let Err(e) = tokio::spawn(case(b)).await {
            let text = match e.try_into_panic() {
                Ok(p) => p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default(),
                Err(e) => e.to_string(),
            };
            panic!("{case_name} failed on the {name} backend: {text}");
        }
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
    // Set by cargo only for the tests of the package that builds the binary
    // (`cli/`); the library's tests never call this.
    match option_env!("CARGO_BIN_EXE_nexau-session") {
        Some(path) => PathBuf::from(path),
        None => panic!("only the tests of nexau-session-cli run the binary"),
    }
}

/// The binary, run in `dir` with `--db url`, with the default limits, clock
/// and instance pool.
pub fn cli(dir: &Path, url: &str) -> Command {
    let mut c = Command::new(binary());
    c.current_dir(dir).env_remove("NEXAU_SESSION_NOW").env_remove(POOL_ENV).env("NEXAU_SESSION_DB", url);
    c
}

/// Runs `c` with `args` and no stdin, to completion.
pub fn run(mut c: Command, args: &[&str]) -> Output {
    c.args(args).stdin(Stdio::null()).output().expect("run the binary")
}

/// The stdout of a run that must have succeeded.
pub fn ok(out: Output) -> String {
    assert!(out.status.success(), "exit {:?}: {}", out.status.code(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Starts `locks hold` and waits for its `token=N` line.
pub fn hold(mut c: Command, args: &[&str]) -> (Child, u64) {
    let mut child = c
        .args(["locks", "hold"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn locks hold");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    match line.trim().strip_prefix("token=").map(str::parse) {
        Some(Ok(token)) => (child, token),
        _ => {
            let out = child.wait_with_output().unwrap();
            panic!("no token line ({line:?}): {}", String::from_utf8_lossy(&out.stderr))
        }
    }
}
