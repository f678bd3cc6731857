//! Warm instances: one instance serves many calls without its memory
//! growing (small loads and appends, and loads of large histories), calls
//! of one scope never get another scope's instance, and an instance whose
//! call trapped is not used again.

use std::sync::Arc;

use super::Engine;
use crate::runtime::bindings::exports::nexau::session::history as wit;
use crate::runtime::bindings::exports::nexau::session::types::AgentRef as WitAgentRef;
use crate::runtime::{Instance, Limits};
use crate::{AgentRef, Message, Role, SystemClock, WriteOptions};

/// The most linear memory one instance may hold after [`CALLS`] calls.
const ONE_INSTANCE_MEMORY_BOUND: usize = 4 << 20;
/// Calls made on one instance: appends and tail loads, alternately.
const CALLS: u32 = 100_000;

async fn engine_on(url: &str, limits: Limits) -> Engine {
    let engine = Engine::builder(url).clock(Arc::new(SystemClock)).limits(limits).build().await.unwrap();
    engine.setup_models().await.unwrap();
    engine
}

async fn agent(engine: &Engine, session: &str) -> AgentRef {
    engine.get_or_create_session("u", Some(session)).await.unwrap();
    engine.ensure_agent("u", session, Some("main"), "main").await.unwrap().agent_ref()
}

/// `agent` as the component's exports take it.
fn wit_ref(agent: AgentRef) -> WitAgentRef {
    WitAgentRef { user_id: agent.user_id, session_id: agent.session_id, agent_id: agent.agent_id }
}

/// Where an instance's state lives: the same address means the same instance.
fn identity(i: &Instance) -> usize {
    i.store.data() as *const _ as usize
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_instance_serves_100000_calls_within_a_fixed_memory_bound() {
    let engine = engine_on("memory://", Limits::default()).await;
    let agent = agent(&engine, "s").await;
    let wit_agent = wit_ref(agent);
    let message = r#"[{"role":"user","content":"a message of ordinary length, about what a user types in a turn"}]"#;
    let options = wit::WriteOptions { run_id: None, idempotency_key: None, fence: None };
    let mut i = engine.instance().await.unwrap();
    for n in 0..CALLS {
        i.ready_for_call();
        if n % 2 == 0 {
            let action = wit::Action::Append(message.to_owned());
            let r = i.logic.nexau_session_history().call_write(&mut i.store, &wit_agent, &action, &options).await;
            r.unwrap().unwrap();
        } else {
            let r = i
                .logic
                .nexau_session_history()
                .call_load(&mut i.store, &wit_agent, wit::LoadOptions { last: Some(20) })
                .await;
            let json = r.unwrap().unwrap();
            assert!(json.starts_with("[{"), "call {n}: {json}");
        }
    }
    let memory = i.memory_bytes();
    assert!(memory <= ONE_INSTANCE_MEMORY_BOUND, "{memory} bytes after {CALLS} calls");
    assert_eq!(engine.load(&AgentRef::new("u", "s", "main"), Some(5)).await.unwrap().len(), 5);
}

/// The most linear memory one instance may hold after [`LOADS`] loads of a
/// history of about 50 KiB of JSON.
const LOADING_INSTANCE_MEMORY_BOUND: usize = 4 << 20;
/// Full loads and pages of one history made on one instance.
const LOADS: u32 = 400;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loading_a_history_over_32_kib_again_and_again_keeps_memory_flat() {
    let engine = engine_on("memory://", Limits::default()).await;
    let agent = agent(&engine, "s").await;
    for turn in 0..100 {
        let turn = [
            Message::from_text(
                Role::User,
                format!("question {turn}: a user's message of ordinary length, a line or so"),
            ),
            Message::from_text(
                Role::Assistant,
                format!("answer {turn}: the assistant's reply, a sentence or two long"),
            ),
        ];
        engine.append(&agent, &turn, &WriteOptions::default()).await.unwrap();
    }
    let wit_agent = wit_ref(agent);
    let mut i = engine.instance().await.unwrap();
    for n in 0..LOADS {
        i.ready_for_call();
        let json = if n % 2 == 0 {
            let load = wit::LoadOptions { last: None };
            i.logic.nexau_session_history().call_load(&mut i.store, &wit_agent, load).await.unwrap().unwrap()
        } else {
            let start = wit::PageStart::Beginning;
            let page = i.logic.nexau_session_history().call_load_page(&mut i.store, &wit_agent, start, 4 << 20).await;
            page.unwrap().unwrap().messages
        };
        assert!(json.len() > 32 << 10, "call {n}: {} bytes of JSON", json.len());
    }
    let memory = i.memory_bytes();
    assert!(memory <= LOADING_INSTANCE_MEMORY_BOUND, "{memory} bytes after {LOADS} loads");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scope_gets_back_its_own_instance_and_never_another_scopes() {
    let engine = engine_on("memory://", Limits::default()).await;
    engine.get_session("u", "s").await.unwrap();
    let first = engine.instance().await.unwrap();
    assert!(first.calls() >= 1, "the instance of the call before is reused");
    let id = identity(&first);
    first.recycle();
    let again = engine.instance().await.unwrap();
    assert_eq!(identity(&again), id);
    // Another scope of the same backend gets an instance of its own.
    let other = engine.with_scope("tenant-b");
    let theirs = other.instance().await.unwrap();
    assert_ne!(identity(&theirs), id);
    assert!(theirs.serves(&other.store) && !theirs.serves(&engine.store));
    assert_eq!(theirs.calls(), 0);
    // Two calls of one scope at once get two instances.
    let second = engine.instance().await.unwrap();
    assert_ne!(identity(&second), identity(&again));
    drop((again, theirs, second));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_whose_call_trapped_is_not_used_again() {
    let roomy = engine_on("memory://", Limits::default()).await;
    let agent = agent(&roomy, "big").await;
    let big = Message::from_text(Role::User, "x".repeat(256 * 1024));
    for _ in 0..16 {
        roomy.append(&agent, std::slice::from_ref(&big), &WriteOptions::default()).await.unwrap();
    }
    // An engine with less guest memory on the same backend and scope.
    let tight = Engine::assemble(
        crate::runtime::Runtime::new(roomy.clock().clone(), Limits { memory_bytes: 3 << 20, ..Limits::default() })
            .unwrap(),
        roomy.backend.clone(),
        roomy.registry.clone(),
        roomy.scope.clone(),
    );
    tight.get_session("u", "big").await.unwrap();
    let warm = tight.instance().await.unwrap();
    assert!(warm.calls() >= 1);
    warm.recycle();
    assert!(matches!(tight.load(&agent, None).await, Err(crate::Error::Runtime(_))));
    let next = tight.instance().await.unwrap();
    assert_eq!(next.calls(), 0, "a fresh instance, not the trapped one");
    assert!(next.memory_bytes() < 3 << 20);
}
