//! Lock cases of the conformance suite: one step at a time, on a clock the
//! test moves.

use std::time::Duration;

use nexau_session::{AcquireOutcome, AgentRef, Clock, Error, WriteOptions};

use crate::support::{self, TestBackend, root_agent, texts, user};

const TTL: Duration = Duration::from_secs(30);

fn acquired(o: AcquireOutcome) -> nexau_session::Lease {
    match o {
        AcquireOutcome::Acquired(l) => l,
        AcquireOutcome::Held(h) => panic!("expected to acquire, held by {h:?}"),
    }
}

pub async fn acquire_release_and_growing_tokens(b: &TestBackend) {
    let e = support::engine(b).await;
    let a = root_agent(&e, "alice", "s1").await;
    let mut last = 0;
    for i in 0..5 {
        let holder = format!("1:{i:08x}");
        let lease = acquired(e.try_acquire_lock(&a, &holder, Some("run_x"), TTL).await.unwrap());
        assert!(lease.token > last, "token {} after {last}", lease.token);
        assert_eq!(lease.holder_id.as_deref(), Some(holder.as_str()));
        last = lease.token;
        e.release_lock(&a, &holder, lease.token).await.unwrap();
        let shown = e.show_lock(&a).await.unwrap().unwrap();
        assert_eq!((shown.holder_id, shown.token), (None, last));
    }
}

pub async fn held_lock_reports_holder_and_expiry(b: &TestBackend) {
    let e = support::engine(b).await;
    let a = root_agent(&e, "alice", "s1").await;
    let lease = acquired(e.try_acquire_lock(&a, "1:aaaaaaaa", None, TTL).await.unwrap());
    match e.try_acquire_lock(&a, "2:bbbbbbbb", None, TTL).await.unwrap() {
        AcquireOutcome::Held(h) => {
            assert_eq!(h.holder_id, "1:aaaaaaaa");
            assert_eq!(h.token, lease.token);
            assert_eq!(h.expires_at_ns, e.clock().now_ns() + TTL.as_nanos() as i64);
        }
        other => panic!("second holder got {other:?}"),
    }
    // Not re-entrant: the same holder id does not take it twice.
    assert!(matches!(e.try_acquire_lock(&a, "1:aaaaaaaa", None, TTL).await.unwrap(), AcquireOutcome::Held(_)));
}

pub async fn expired_lock_is_taken_over_and_stale_writes_refused(b: &TestBackend) {
    let clock = support::test_clock();
    let e = support::engine_with_clock(b, clock.clone()).await;
    let a = root_agent(&e, "alice", "s1").await;
    let old = acquired(e.try_acquire_lock(&a, "1:00000001", None, TTL).await.unwrap());
    let old_fence = nexau_session::Fence { holder_id: "1:00000001".into(), token: old.token };
    let fenced = |f: &nexau_session::Fence| WriteOptions { fence: Some(f.clone()), ..Default::default() };
    e.append(&a, &[user("while held")], &fenced(&old_fence)).await.unwrap();

    // Not before the TTL...
    clock.advance(TTL - Duration::from_millis(1));
    assert!(matches!(e.try_acquire_lock(&a, "2:00000002", None, TTL).await.unwrap(), AcquireOutcome::Held(_)));
    // ...but after it, with a larger token.
    clock.advance(Duration::from_millis(2));
    let new = acquired(e.try_acquire_lock(&a, "2:00000002", None, TTL).await.unwrap());
    assert!(new.token > old.token);
    let new_fence = nexau_session::Fence { holder_id: "2:00000002".into(), token: new.token };

    let stale = e.append(&a, &[user("late write")], &fenced(&old_fence)).await.unwrap_err();
    assert!(matches!(stale, Error::LockExpired(_)), "{stale:?}");
    assert!(matches!(e.renew_lock(&a, "1:00000001", old.token, TTL).await, Err(Error::LockExpired(_))));
    e.append(&a, &[user("new holder")], &fenced(&new_fence)).await.unwrap();
    assert_eq!(texts(&e.load(&a, None).await.unwrap()), ["while held", "new holder"]);
}

pub async fn release_and_renew_only_your_own(b: &TestBackend) {
    let clock = support::test_clock();
    let e = support::engine_with_clock(b, clock.clone()).await;
    let a = root_agent(&e, "alice", "s1").await;
    let lease = acquired(e.try_acquire_lock(&a, "1:00000001", None, TTL).await.unwrap());
    assert!(matches!(e.release_lock(&a, "9:99999999", lease.token).await, Err(Error::LockExpired(_))));
    assert!(matches!(e.release_lock(&a, "1:00000001", lease.token + 1).await, Err(Error::LockExpired(_))));
    assert_eq!(e.show_lock(&a).await.unwrap().unwrap().holder_id.as_deref(), Some("1:00000001"));
    clock.advance(Duration::from_secs(10));
    let renewed = e.renew_lock(&a, "1:00000001", lease.token, TTL).await.unwrap();
    assert_eq!(renewed.expires_at_ns, clock.now_ns() + TTL.as_nanos() as i64);
    assert_eq!(renewed.token, lease.token);
    e.release_lock(&a, "1:00000001", lease.token).await.unwrap();
    assert!(matches!(e.release_lock(&a, "1:00000001", lease.token).await, Err(Error::LockExpired(_))));
    assert!(matches!(e.renew_lock(&a, "1:00000001", lease.token, TTL).await, Err(Error::LockExpired(_))));
}

pub async fn locks_are_per_user_session_and_agent(b: &TestBackend) {
    let e = support::engine(b).await;
    let keys = [
        AgentRef::new("alice", "s1", "main"),
        AgentRef::new("bob", "s1", "main"),
        AgentRef::new("alice", "s2", "main"),
        AgentRef::new("alice", "s1", "helper"),
    ];
    for k in &keys {
        acquired(e.try_acquire_lock(k, "1:00000001", None, TTL).await.unwrap());
    }
    let listed = e.list_locks("alice", "s1").await.unwrap();
    let mut agents: Vec<_> = listed.iter().map(|(a, _)| a.as_str()).collect();
    agents.sort();
    assert_eq!(agents, ["helper", "main"]);
}
