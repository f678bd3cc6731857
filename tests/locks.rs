//! Run locks under contention, lost heartbeats and waiting, through the real
//! guest and the SessionManager (in-process tasks; tests/cli.rs has the
//! cross-process cases).

#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use nexau_session::{
    AcquireOutcome, Agent, BusyPolicy, ChatModel, Engine, Error, Message, SessionManager, SystemClock, WriteOptions,
};
use support::{TestBackend, root_agent, texts, user};
use tokio::sync::Notify;

/// One critical section as the test saw it.
#[derive(Debug, Clone, Copy)]
struct Interval {
    token: u64,
    enter: u64,
    leave: u64,
}

/// Checks that no two intervals overlap and that tokens grow in entry order.
fn assert_exclusive(mut intervals: Vec<Interval>, expected: usize) {
    assert_eq!(intervals.len(), expected);
    intervals.sort_by_key(|i| i.enter);
    for w in intervals.windows(2) {
        assert!(w[0].leave < w[1].enter, "overlapping critical sections: {:?} and {:?}", w[0], w[1]);
        assert!(w[0].token < w[1].token, "token did not grow: {:?} then {:?}", w[0], w[1]);
    }
}

async fn contention(b: TestBackend) {
    let engine = support::engine_with_clock(&b, Arc::new(SystemClock)).await;
    let agent = root_agent(&engine, "alice", "s1").await;
    let manager = SessionManager::builder(engine)
        .lock_ttl(Duration::from_secs(30))
        .heartbeat_interval(Duration::from_secs(10))
        .on_busy(BusyPolicy::Wait(Duration::from_secs(120)))
        .build()
        .unwrap();
    let clock = Arc::new(AtomicU64::new(0));
    let occupied = Arc::new(AtomicBool::new(false));
    let (tasks, rounds) = (8, 200);
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let (manager, agent, clock, occupied) = (manager.clone(), agent.clone(), clock.clone(), occupied.clone());
        handles.push(tokio::spawn(async move {
            let mut seen = Vec::with_capacity(rounds);
            for _ in 0..rounds {
                let lock = manager.acquire(&agent, None).await.expect("acquire under Wait");
                let enter = clock.fetch_add(1, Ordering::SeqCst);
                assert!(!occupied.swap(true, Ordering::SeqCst), "two holders at once");
                tokio::task::yield_now().await;
                occupied.store(false, Ordering::SeqCst);
                let leave = clock.fetch_add(1, Ordering::SeqCst);
                seen.push(Interval { token: lock.token(), enter, leave });
                lock.release().await.expect("release own lock");
            }
            seen
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    assert_exclusive(all, tasks * rounds);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_tasks_never_share_the_lock() {
    support::on_every_backend("eight_tasks_never_share_the_lock", contention).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_heartbeat_is_reported_and_stale_writes_are_refused() {
    support::on_every_backend("a_lost_heartbeat_is_reported_and_stale_writes_are_refused", |b| async move {
        let backend = b.name;
        let clock = support::test_clock();
        let engine = support::engine_with_clock(&b, clock.clone()).await;
        let agent = root_agent(&engine, "alice", "s1").await;
        let manager = SessionManager::builder(engine.clone())
            .lock_ttl(Duration::from_secs(30))
            .heartbeat_interval(Duration::from_millis(20))
            .build()
            .unwrap();
        let lock = manager.acquire(&agent, None).await.unwrap();
        let fenced = |f| WriteOptions { fence: Some(f), ..Default::default() };
        engine.append(&agent, &[user("before")], &fenced(lock.fence())).await.unwrap();

        // The heartbeat stalls past the TTL (the clock jumps), and another holder takes over.
        clock.advance(Duration::from_secs(31));
        let AcquireOutcome::Acquired(new) =
            engine.try_acquire_lock(&agent, "2:00000002", None, Duration::from_secs(30)).await.unwrap()
        else {
            panic!("{backend}: the expired lock was not taken over");
        };
        tokio::time::timeout(Duration::from_secs(10), lock.lost().cancelled())
            .await
            .unwrap_or_else(|_| panic!("{backend}: the holder was never told it lost the lock"));
        let err = engine.append(&agent, &[user("stale")], &fenced(lock.fence())).await.unwrap_err();
        assert!(matches!(err, Error::LockExpired(_)), "{backend}: {err:?}");
        let new_fence = nexau_session::Fence { holder_id: "2:00000002".into(), token: new.token };
        engine.append(&agent, &[user("new holder")], &fenced(new_fence)).await.unwrap();
        assert_eq!(texts(&engine.load(&agent, None).await.unwrap()), ["before", "new holder"], "{backend}");
        assert!(matches!(lock.release().await, Err(Error::LockExpired(_))), "{backend}: release was forced");
    })
    .await;
}

/// A model that answers only when told to.
struct GatedModel(Arc<Notify>, Arc<Notify>);

#[async_trait]
impl ChatModel for GatedModel {
    fn name(&self) -> &str {
        "gated test model"
    }

    async fn respond(&self, _history: &[Message]) -> nexau_session::Result<Vec<Message>> {
        self.0.notify_one();
        self.1.notified().await;
        Ok(vec![Message::from_text(nexau_session::Role::Assistant, "too late")])
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_run_is_cancelled_when_its_lock_is_lost() {
    let b = support::backend("sqlite").await.unwrap();
    let clock = support::test_clock();
    let engine = support::engine_with_clock(&b, clock.clone()).await;
    let manager = SessionManager::builder(engine.clone())
        .lock_ttl(Duration::from_secs(30))
        .heartbeat_interval(Duration::from_millis(20))
        .build()
        .unwrap();
    let (started, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let model = Arc::new(GatedModel(started.clone(), release.clone()));
    let mut agent = Agent::open(model, &manager, "alice", Some("s1"), None, "main").await.unwrap();
    let agent_ref = agent.agent_ref().clone();
    let run = tokio::spawn(async move { agent.run("hello").await });
    started.notified().await;
    clock.advance(Duration::from_secs(31));
    let taken = engine.try_acquire_lock(&agent_ref, "2:00000002", None, Duration::from_secs(30)).await.unwrap();
    assert!(matches!(taken, AcquireOutcome::Acquired(_)));
    let result = tokio::time::timeout(Duration::from_secs(10), run).await.expect("the run was never told").unwrap();
    assert!(matches!(result, Err(Error::LockExpired(_))), "{result:?}");
    release.notify_one();
    // Only the user message landed; the model's late answer did not.
    assert_eq!(texts(&engine.load(&agent_ref, None).await.unwrap()), ["hello"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_policy_fails_at_once_or_waits_for_the_release() {
    let b = support::backend("sqlite").await.unwrap();
    let engine: Engine = support::engine_with_clock(&b, Arc::new(SystemClock)).await;
    let agent = root_agent(&engine, "alice", "s1").await;
    let manager = SessionManager::builder(engine).build().unwrap();
    let held = manager.acquire(&agent, None).await.unwrap();
    match manager.acquire_with(&agent, None, BusyPolicy::Fail).await {
        Err(Error::LockHeld(h)) => {
            assert_eq!(h.holder_id, held.holder_id());
            assert_eq!(h.token, held.token());
        }
        other => panic!("expected LockHeld, got {:?}", other.map(|l| l.token())),
    }
    let short = manager.acquire_with(&agent, None, BusyPolicy::Wait(Duration::from_millis(200))).await;
    assert!(matches!(short, Err(Error::LockHeld(_))));
    let waiter = {
        let (manager, agent) = (manager.clone(), agent.clone());
        tokio::spawn(async move { manager.acquire_with(&agent, None, BusyPolicy::Wait(Duration::from_secs(60))).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let first_token = held.token();
    held.release().await.unwrap();
    let next = waiter.await.unwrap().expect("the waiter gets the released lock");
    assert!(next.token() > first_token);
    next.release().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_must_be_under_half_the_ttl() {
    let b = support::backend("memory").await.unwrap();
    let engine = support::engine(&b).await;
    let bad = SessionManager::builder(engine.clone())
        .lock_ttl(Duration::from_secs(30))
        .heartbeat_interval(Duration::from_secs(15))
        .build();
    assert!(matches!(bad, Err(Error::Invalid(m)) if m.contains("under half")));
    assert!(
        SessionManager::builder(engine)
            .lock_ttl(Duration::from_secs(30))
            .heartbeat_interval(Duration::from_secs(14))
            .build()
            .is_ok()
    );
}
