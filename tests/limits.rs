//! Per-call limits on the session logic: a call that breaks one traps or is
//! refused, and only that call fails; the next call on the same engine works.

#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;

use nexau_session::runtime::{InstancePoolConfig, Limits};
use nexau_session::{Engine, Error, WriteOptions};
use support::{root_agent, user};

async fn engine_with(limits: Limits, b: &support::TestBackend) -> Engine {
    let engine = Engine::builder(&b.url).clock(support::test_clock() as Arc<_>).limits(limits).build().await.unwrap();
    engine.setup_models().await.unwrap();
    engine
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_over_its_memory_limit_fails_alone() {
    let b = support::backend("sqlite").await.unwrap();
    let roomy = support::engine(&b).await;
    let agent = root_agent(&roomy, "alice", "s1").await;
    let big = "x".repeat(256 * 1024);
    for _ in 0..16 {
        roomy.append(&agent, &[user(&big)], &WriteOptions::default()).await.unwrap();
    }
    // 4 MiB of history cannot be loaded in 3 MiB of guest memory: the call traps.
    let tight = engine_with(Limits { memory_bytes: 3 << 20, ..Limits::default() }, &b).await;
    let err = tight.load(&agent, None).await.unwrap_err();
    assert!(matches!(err, Error::Runtime(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "runtime: the call needed more than the 3 MiB of guest memory it may use (Limits::memory_bytes)"
    );
    // The trap poisoned only that call's store: the same engine keeps working.
    assert!(tight.get_session("alice", "s1").await.unwrap().is_some());
    let small = root_agent(&tight, "bob", "s2").await;
    tight.append(&small, &[user("fits")], &WriteOptions::default()).await.unwrap();
    assert_eq!(tight.load(&small, None).await.unwrap().len(), 1);
    assert_eq!(roomy.load(&agent, None).await.unwrap().len(), 16);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_over_its_storage_byte_budget_is_refused() {
    let b = support::backend("memory").await.unwrap();
    let engine = engine_with(Limits { host_call_bytes: 64 * 1024, ..Limits::default() }, &b).await;
    let agent = root_agent(&engine, "alice", "s1").await;
    let err = engine.append(&agent, &[user(&"y".repeat(128 * 1024))], &WriteOptions::default()).await.unwrap_err();
    assert!(matches!(&err, Error::Runtime(r) if r.message().contains("Limits::host_call_bytes")), "{err:?}");
    assert!(engine.load(&agent, None).await.unwrap().is_empty(), "nothing of the refused write landed");
    engine.append(&agent, &[user("small")], &WriteOptions::default()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_calls_at_once_than_the_instance_pool_has_slots_all_land() {
    // SQLite has one writer, so concurrent appends pile up inside the guest,
    // each holding a pooled instance: the calls beyond the pool's slots must
    // wait for a slot, not fail.
    let b = support::backend("sqlite").await.unwrap();
    let engine = support::engine(&b).await;
    let calls = InstancePoolConfig::from_env().unwrap().slots as usize + 64;
    let tasks: Vec<_> = (0..calls)
        .map(|i| {
            let engine = engine.clone();
            tokio::spawn(async move {
                let agent = root_agent(&engine, "alice", &format!("s{i}")).await;
                engine.append(&agent, &[user(&format!("message {i}"))], &WriteOptions::default()).await.unwrap();
                agent
            })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        let agent = task.await.unwrap();
        let history = engine.load(&agent, None).await.unwrap();
        assert_eq!(history.len(), 1, "session s{i}");
        assert_eq!(history[0].text(), format!("message {i}"));
    }
}
