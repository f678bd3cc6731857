//! Sessions, agents, history and maintenance cases of the conformance suite.

use std::time::Duration;

use nexau_session::Clock;
use nexau_session::storage::{Filter, Value};
use nexau_session::{
    AcquireOutcome, Agent, AgentLockModel, AgentModel, AgentRunActionModel, ContentBlock, Engine, Error, HistoryAction,
    Message, OfflineModel, Role, SessionManager, SessionModel, SessionQuery, SessionUpdate, WriteOptions, parse_filter,
};

use crate::support::{self, TestBackend, assistant, root_agent, texts, user};

pub async fn get_or_create_is_idempotent_and_generates_ids(b: &TestBackend) {
    let e = support::engine(b).await;
    let first = e.get_or_create_session("alice", Some("s1")).await.unwrap();
    let again = e.get_or_create_session("alice", Some("s1")).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(first.context, serde_json::json!({}));
    let generated = e.get_or_create_session("alice", None).await.unwrap();
    assert!(generated.session_id.starts_with("sess_") && generated.session_id.len() == 31, "{}", generated.session_id);
    assert_ne!(generated.session_id, first.session_id);
    assert_eq!(e.get_session("alice", "nope").await.unwrap(), None);
}

pub async fn list_filters_orders_and_pages(b: &TestBackend) {
    let clock = support::test_clock();
    let e = support::engine_with_clock(b, clock.clone()).await;
    for s in ["a1", "a2", "a3"] {
        e.get_or_create_session("alice", Some(s)).await.unwrap();
        clock.advance(Duration::from_secs(60));
    }
    e.get_or_create_session("bob", Some("b1")).await.unwrap();
    let ids = |v: Vec<nexau_session::Session>| v.into_iter().map(|s| s.session_id).collect::<Vec<_>>();

    let alice = SessionQuery { user_id: Some("alice".into()), ..Default::default() };
    assert_eq!(ids(e.list_sessions(&alice).await.unwrap()), ["a1", "a2", "a3"]);
    let newest_first = SessionQuery {
        order_by: vec![nexau_session::storage::Order::parse("-created_at")],
        limit: Some(2),
        offset: Some(1),
        ..alice.clone()
    };
    assert_eq!(ids(e.list_sessions(&newest_first).await.unwrap()), ["a2", "a1"]);
    assert_eq!(e.list_sessions(&SessionQuery::default()).await.unwrap().len(), 4);

    let table = e.table_schema("sessions").unwrap();
    let old = parse_filter("updated_at.lt.2026-06-01T12:01:30Z", &table).unwrap();
    assert_eq!(ids(e.list_sessions(&SessionQuery { filter: old, ..Default::default() }).await.unwrap()), ["a1", "a2"]);
    let either = parse_filter("or=(session_id.eq.a3,user_id.eq.bob)", &table).unwrap();
    let mut got = ids(e.list_sessions(&SessionQuery { filter: either, ..Default::default() }).await.unwrap());
    got.sort();
    assert_eq!(got, ["a3", "b1"]);
}

pub async fn update_checks_the_version(b: &TestBackend) {
    let e = support::engine(b).await;
    let s = e.get_or_create_session("alice", Some("s1")).await.unwrap();
    assert_eq!(s.version, 1);
    let change = SessionUpdate { context: Some(serde_json::json!({"lang": "en"})), ..Default::default() };
    let s2 = e.update_session("alice", "s1", &change, Some(1)).await.unwrap();
    assert_eq!((s2.version, s2.context.clone()), (2, serde_json::json!({"lang": "en"})));
    let stale = e.update_session("alice", "s1", &change, Some(1)).await.unwrap_err();
    assert!(matches!(stale, Error::VersionConflict { current: 2 }), "{stale:?}");
    let not_object = SessionUpdate { context: Some(serde_json::json!([1])), ..Default::default() };
    assert!(matches!(e.update_session("alice", "s1", &not_object, None).await, Err(Error::Invalid(_))));
    assert_eq!(e.get_session("alice", "s1").await.unwrap().unwrap().version, 2);
    assert!(matches!(e.update_session("alice", "nope", &change, None).await, Err(Error::NotFound(_))));
}

pub async fn delete_removes_everything_of_the_session(b: &TestBackend) {
    let e = support::engine(b).await;
    let a = root_agent(&e, "alice", "s1").await;
    let keep = root_agent(&e, "alice", "s2").await;
    e.append(&a, &[user("hi")], &WriteOptions::default()).await.unwrap();
    e.append(&keep, &[user("stay")], &WriteOptions::default()).await.unwrap();
    e.try_acquire_lock(&a, "h:1", None, Duration::from_secs(30)).await.unwrap();

    assert!(e.delete_session("alice", "s1").await.unwrap());
    assert!(!e.delete_session("alice", "s1").await.unwrap());
    assert_eq!(e.get_session("alice", "s1").await.unwrap(), None);
    let of_s1 = || Filter::and([Filter::eq("user_id", "alice"), Filter::eq("session_id", "s1")]);
    assert_eq!(e.count::<AgentRunActionModel>(of_s1()).await.unwrap(), 0);
    assert_eq!(e.count::<nexau_session::AgentModel>(of_s1()).await.unwrap(), 0);
    assert_eq!(e.count::<nexau_session::AgentLockModel>(of_s1()).await.unwrap(), 0);
    assert_eq!(texts(&e.load(&keep, None).await.unwrap()), ["stay"]);
}

pub async fn history_keeps_order_and_sequence(b: &TestBackend) {
    let e = support::engine(b).await;
    let a = root_agent(&e, "alice", "s1").await;
    let mut seqs = Vec::new();
    for batch in [vec![user("one")], vec![assistant("two"), user("three")], vec![assistant("four")]] {
        seqs.push(e.append(&a, &batch, &WriteOptions::default()).await.unwrap().seq);
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let loaded = e.load(&a, None).await.unwrap();
    assert_eq!(texts(&loaded), ["one", "two", "three", "four"]);
    assert!(loaded.iter().all(|m| m.id.starts_with("msg_") && !m.created_at.is_empty()));
    assert_eq!(loaded[1].role, Role::Assistant);
}

pub async fn idempotent_retry_is_stored_once(b: &TestBackend) {
    let e = support::engine(b).await;
    let a = root_agent(&e, "alice", "s1").await;
    let opts = WriteOptions { idempotency_key: Some("run_1:1".into()), ..Default::default() };
    let first = e.append(&a, &[assistant("answer")], &opts).await.unwrap();
    let retry = e.append(&a, &[assistant("answer")], &opts).await.unwrap();
    assert!(first.stored && !retry.stored);
    assert_eq!(first.action_id, retry.action_id);
    assert_eq!(texts(&e.load(&a, None).await.unwrap()), ["answer"]);
    // The key is per agent: another agent may use the same key.
    let other = e.ensure_agent("alice", "s1", Some("helper"), "helper").await.unwrap().agent_ref();
    assert!(e.append(&other, &[assistant("x")], &opts).await.unwrap().stored);
}

pub async fn replace_and_undo_shape_the_loaded_history(b: &TestBackend) {
    let e = support::engine(b).await;
    let a = root_agent(&e, "alice", "s1").await;
    let run = |id: &str| WriteOptions { run_id: Some(id.into()), ..Default::default() };
    e.append(&a, &[user("a"), assistant("b")], &run("run_1")).await.unwrap();
    e.write(&a, &HistoryAction::Replace(vec![assistant("summary of a and b")]), &run("run_1")).await.unwrap();
    e.append(&a, &[user("c")], &run("run_2")).await.unwrap();
    e.append(&a, &[assistant("d")], &run("run_2")).await.unwrap();
    e.append(&a, &[user("e")], &run("run_3")).await.unwrap();
    e.append(&a, &[assistant("f")], &run("run_3")).await.unwrap();
    assert_eq!(texts(&e.load(&a, None).await.unwrap()), ["summary of a and b", "c", "d", "e", "f"]);
    e.write(&a, &HistoryAction::Undo { before_run_id: "run_3".into() }, &WriteOptions::default()).await.unwrap();
    assert_eq!(texts(&e.load(&a, None).await.unwrap()), ["summary of a and b", "c", "d"]);
    e.append(&a, &[user("g")], &run("run_4")).await.unwrap();
    assert_eq!(texts(&e.load(&a, None).await.unwrap()), ["summary of a and b", "c", "d", "g"]);
    // A clear is a replace with nothing.
    e.write(&a, &HistoryAction::Replace(vec![]), &WriteOptions::default()).await.unwrap();
    assert!(e.load(&a, None).await.unwrap().is_empty());
}

pub async fn dangling_tool_use_is_repaired(b: &TestBackend) {
    let e = support::engine(b).await;
    let a = root_agent(&e, "alice", "s1").await;
    let call = Message {
        id: String::new(),
        role: Role::Assistant,
        content: vec![
            ContentBlock::ToolUse { id: "call_1".into(), name: "search".into(), input: serde_json::json!({"q": "x"}) },
            ContentBlock::ToolUse { id: "call_2".into(), name: "search".into(), input: serde_json::json!({"q": "y"}) },
        ],
        metadata: serde_json::json!({}),
        created_at: String::new(),
    };
    let answered = Message {
        content: vec![ContentBlock::ToolResult {
            tool_use_id: "call_1".into(),
            content: serde_json::json!("found"),
            is_error: false,
        }],
        ..Message::from_text(Role::Tool, "")
    };
    e.append(&a, &[user("look it up"), call, answered], &WriteOptions::default()).await.unwrap();
    let loaded = e.load(&a, None).await.unwrap();
    let results: Vec<(&str, bool)> = loaded
        .iter()
        .flat_map(|m| &m.content)
        .filter_map(|b| match b {
            ContentBlock::ToolResult { tool_use_id, is_error, .. } => Some((tool_use_id.as_str(), *is_error)),
            _ => None,
        })
        .collect();
    assert_eq!(results.len(), 2, "{loaded:#?}");
    assert!(results.contains(&("call_1", false)) && results.contains(&("call_2", true)), "{results:?}");
    // The repair is made on load; the stored log is unchanged.
    let again = e.load(&a, None).await.unwrap();
    assert_eq!(again, loaded);
}

pub async fn duplicate_message_ids_load_once(b: &TestBackend) {
    let e = support::engine(b).await;
    let a = root_agent(&e, "alice", "s1").await;
    let m = Message { id: "msg_fixed".into(), ..user("once") };
    e.append(&a, std::slice::from_ref(&m), &WriteOptions::default()).await.unwrap();
    e.append(&a, &[m, user("after")], &WriteOptions::default()).await.unwrap();
    assert_eq!(texts(&e.load(&a, None).await.unwrap()), ["once", "after"]);
}

pub async fn last_n_messages(b: &TestBackend) {
    let e = support::engine(b).await;
    let a = root_agent(&e, "alice", "s1").await;
    for i in 0..5 {
        e.append(&a, &[user(&format!("m{i}"))], &WriteOptions::default()).await.unwrap();
    }
    assert_eq!(texts(&e.load(&a, Some(2)).await.unwrap()), ["m3", "m4"]);
    assert_eq!(e.load(&a, Some(50)).await.unwrap().len(), 5);
}

pub async fn system_messages_are_not_stored(b: &TestBackend) {
    let e = support::engine(b).await;
    let a = root_agent(&e, "alice", "s1").await;
    let sys = Message::from_text(Role::System, "you are helpful");
    e.append(&a, &[sys, user("hi")], &WriteOptions::default()).await.unwrap();
    assert_eq!(texts(&e.load(&a, None).await.unwrap()), ["hi"]);
}

pub async fn users_and_sessions_are_isolated(b: &TestBackend) {
    let e = support::engine(b).await;
    let alice = root_agent(&e, "alice", "shared").await;
    let bob = root_agent(&e, "bob", "shared").await;
    let other = root_agent(&e, "alice", "other").await;
    e.append(&alice, &[user("alice's")], &WriteOptions::default()).await.unwrap();
    e.append(&bob, &[user("bob's")], &WriteOptions::default()).await.unwrap();
    assert_eq!(texts(&e.load(&alice, None).await.unwrap()), ["alice's"]);
    assert_eq!(texts(&e.load(&bob, None).await.unwrap()), ["bob's"]);
    assert!(e.load(&other, None).await.unwrap().is_empty());
    let bob_only = SessionQuery { user_id: Some("bob".into()), ..Default::default() };
    assert_eq!(e.list_sessions(&bob_only).await.unwrap().len(), 1);
    // Bob's session with the same id as Alice's is untouched by deleting hers.
    assert!(e.delete_session("alice", "shared").await.unwrap());
    assert_eq!(texts(&e.load(&bob, None).await.unwrap()), ["bob's"]);
}

pub async fn scopes_are_isolated(b: &TestBackend) {
    let e = support::engine(b).await;
    let tenant_b = e.with_scope("tenant-b");
    let a = root_agent(&e, "alice", "s1").await;
    e.append(&a, &[user("default scope")], &WriteOptions::default()).await.unwrap();
    assert_eq!(tenant_b.get_session("alice", "s1").await.unwrap(), None);
    assert!(tenant_b.list_sessions(&SessionQuery::default()).await.unwrap().is_empty());
    assert_eq!(tenant_b.count::<AgentRunActionModel>(Filter::All).await.unwrap(), 0);
    // Same ids in the other scope are a different session.
    let ab = root_agent(&tenant_b, "alice", "s1").await;
    tenant_b.append(&ab, &[user("tenant b")], &WriteOptions::default()).await.unwrap();
    assert_eq!(tenant_b.delete::<SessionModel>(Filter::All).await.unwrap(), 1);
    assert_eq!(texts(&e.load(&a, None).await.unwrap()), ["default scope"]);
}

pub async fn sub_agents_have_their_own_history(b: &TestBackend) {
    let e = support::engine(b).await;
    let root = root_agent(&e, "alice", "s1").await;
    let sub = e.ensure_agent("alice", "s1", Some("researcher"), "researcher").await.unwrap();
    assert!(!sub.is_root);
    e.append(&root, &[user("to root")], &WriteOptions::default()).await.unwrap();
    e.append(&sub.agent_ref(), &[user("to researcher")], &WriteOptions::default()).await.unwrap();
    assert_eq!(texts(&e.load(&root, None).await.unwrap()), ["to root"]);
    assert_eq!(texts(&e.load(&sub.agent_ref(), None).await.unwrap()), ["to researcher"]);
    let agents = e.list_agents("alice", "s1").await.unwrap();
    assert_eq!(agents.len(), 2);
    assert_eq!(agents.iter().filter(|a| a.is_root).count(), 1);
    let session = e.get_session("alice", "s1").await.unwrap().unwrap();
    assert_eq!(session.root_agent_id.as_deref(), Some(root.agent_id.as_str()));
    assert!(root.agent_id.starts_with("agent_") && root.agent_id.len() == 14, "{}", root.agent_id);
    // The root agent is stable.
    let again = e.ensure_agent("alice", "s1", None, "main").await.unwrap();
    assert_eq!(again.agent_id, root.agent_id);
}

pub async fn table_not_found_before_setup(b: &TestBackend) {
    let e = Engine::builder(&b.url).build().await.unwrap();
    let err = e.get_session("alice", "s1").await.unwrap_err();
    assert!(matches!(&err, Error::TableNotFound(t) if t == "sessions"), "{err:?}");
    assert!(err.to_string().contains("setup_models"), "{err}");
}

pub async fn bad_ids_are_refused_and_nothing_is_written(b: &TestBackend) {
    let e = support::engine(b).await;
    for (user_id, session) in [("../etc", "s1"), ("", "s1"), ("alice", "a b"), ("alice", &"x".repeat(129))] {
        let err = e.get_or_create_session(user_id, Some(session)).await.unwrap_err();
        assert!(matches!(&err, Error::Invalid(m) if !m.contains('\n')), "{user_id:?}/{session:?}: {err:?}");
    }
    assert_eq!(e.count::<SessionModel>(Filter::All).await.unwrap(), 0);
    let a = root_agent(&e, "alice", "s1").await;
    let bad_key = WriteOptions { idempotency_key: Some("no spaces allowed".into()), ..Default::default() };
    assert!(matches!(e.append(&a, &[user("x")], &bad_key).await, Err(Error::Invalid(_))));
    assert!(e.load(&a, None).await.unwrap().is_empty());
    // A column that does not exist is refused by name.
    let err = e.find_many::<SessionModel>(Filter::eq("no_such_column", "x")).await.unwrap_err();
    assert!(matches!(&err, Error::Invalid(m) if m.contains("no_such_column")), "{err:?}");
}

pub async fn maintenance_find_count_delete(b: &TestBackend) {
    let clock = support::test_clock();
    let e = support::engine_with_clock(b, clock.clone()).await;
    let old = root_agent(&e, "alice", "old").await;
    e.append(&old, &[user("old news")], &WriteOptions::default()).await.unwrap();
    clock.advance(Duration::from_secs(3600));
    let cutoff = Value::from(clock.now());
    clock.advance(Duration::from_secs(1));
    root_agent(&e, "alice", "new").await;
    let stale = e.find_many::<SessionModel>(Filter::lt("updated_at", cutoff.clone())).await.unwrap();
    assert_eq!(stale.iter().map(|s| s.session_id.as_str()).collect::<Vec<_>>(), ["old"]);
    assert_eq!(e.count::<SessionModel>(Filter::All).await.unwrap(), 2);
    let by_user = Filter::and([Filter::eq("user_id", "alice"), Filter::eq("session_id", "old")]);
    assert_eq!(e.delete::<SessionModel>(by_user).await.unwrap(), 1);
    assert_eq!(e.count::<AgentRunActionModel>(Filter::eq("session_id", "old")).await.unwrap(), 0);
    assert_eq!(e.count::<SessionModel>(Filter::All).await.unwrap(), 1);
}

/// What a delete takes with it depends on the table: an agent goes with its
/// history and lock (nothing of it is left behind), lock rows go alone, and
/// history rows cannot be deleted on their own.
pub async fn deletes_leave_no_orphans(b: &TestBackend) {
    let e = support::engine(b).await;
    let main = root_agent(&e, "alice", "s1").await;
    let helper = e.ensure_agent("alice", "s1", Some("helper"), "helper").await.unwrap().agent_ref();
    for a in [&main, &helper] {
        e.append(a, &[user("hello")], &WriteOptions::default()).await.unwrap();
        let lease = e.try_acquire_lock(a, "1:00000001", None, Duration::from_secs(30)).await.unwrap();
        assert!(matches!(lease, AcquireOutcome::Acquired(_)));
    }
    let of_helper = || Filter::eq("agent_id", helper.agent_id.as_str());

    let refused = e.delete::<AgentRunActionModel>(of_helper()).await.unwrap_err();
    assert!(matches!(&refused, Error::Invalid(m) if m.contains("replace")), "{refused:?}");
    assert_eq!(e.count::<AgentRunActionModel>(of_helper()).await.unwrap(), 1, "nothing was deleted");

    assert_eq!(e.delete::<AgentModel>(of_helper()).await.unwrap(), 1);
    assert_eq!(e.count::<AgentModel>(of_helper()).await.unwrap(), 0);
    assert_eq!(e.count::<AgentRunActionModel>(of_helper()).await.unwrap(), 0);
    assert_eq!(e.count::<AgentLockModel>(of_helper()).await.unwrap(), 0);
    assert!(e.load(&helper, None).await.is_err(), "the agent's history is gone with it");
    assert_eq!(texts(&e.load(&main, None).await.unwrap()), ["hello"], "the other agent is untouched");

    assert_eq!(e.delete::<AgentLockModel>(Filter::All).await.unwrap(), 1);
    let again = e.try_acquire_lock(&main, "1:00000002", None, Duration::from_secs(30)).await.unwrap();
    assert!(matches!(again, AcquireOutcome::Acquired(_)), "a deleted lease frees the lock");
}

pub async fn history_survives_across_agent_instances(b: &TestBackend) {
    let e = support::engine(b).await;
    let manager = SessionManager::builder(e.clone()).build().unwrap();
    let mut first = Agent::new(OfflineModel, &manager, "alice", Some("s1")).await.unwrap();
    first.run("Hi, my name is Ada.").await.unwrap();
    drop(first);
    let mut second = Agent::new(OfflineModel, &manager, "alice", Some("s1")).await.unwrap();
    let reply = second.run("What is my name?").await.unwrap();
    assert!(reply.starts_with("Your name is Ada."), "{reply}");
    assert_eq!(second.history().await.unwrap().len(), 4);
    // Each run recorded its start and its end.
    let ends = e.count::<AgentRunActionModel>(Filter::eq("action_type", "run_end")).await.unwrap();
    assert_eq!(ends, 2);
}

pub async fn delete_if_unchanged_spares_a_session_written_since(b: &TestBackend) {
    let clock = support::test_clock();
    let e = support::engine_with_clock(b, clock.clone()).await;
    let a = root_agent(&e, "alice", "s1").await;
    let seen = e.get_session("alice", "s1").await.unwrap().unwrap().updated_at;
    clock.advance(Duration::from_secs(5));
    e.append(&a, &[user("written after the read")], &WriteOptions::default()).await.unwrap();

    assert!(!e.delete_session_if_unchanged("alice", "s1", &seen).await.unwrap());
    assert_eq!(texts(&e.load(&a, None).await.unwrap()), ["written after the read"]);
    let err = e.delete_session_if_unchanged("alice", "s1", "yesterday").await.unwrap_err();
    assert!(matches!(err, Error::Invalid(_)), "{err:?}");
    assert!(e.get_session("alice", "s1").await.unwrap().is_some());
    assert!(!e.delete_session_if_unchanged("alice", "nope", &seen).await.unwrap());

    let now = e.get_session("alice", "s1").await.unwrap().unwrap().updated_at;
    assert!(e.delete_session_if_unchanged("alice", "s1", &now).await.unwrap());
    assert_eq!(e.get_session("alice", "s1").await.unwrap(), None);
    let of_s1 = Filter::and([Filter::eq("user_id", "alice"), Filter::eq("session_id", "s1")]);
    assert_eq!(e.count::<AgentRunActionModel>(of_s1).await.unwrap(), 0);
}

/// Deleting stale sessions while another task writes to them: every append
/// that was acknowledged is still there afterwards (its session was spared),
/// whichever way each race went.
pub async fn deleting_stale_sessions_never_loses_an_acknowledged_append(b: &TestBackend) {
    const SESSIONS: usize = 60;
    let clock = support::test_clock();
    let e = support::engine_with_clock(b, clock.clone()).await;
    let mut agents = Vec::new();
    for i in 0..SESSIONS {
        agents.push(root_agent(&e, "alice", &format!("s{i:02}")).await);
    }
    clock.advance(Duration::from_secs(7200));
    let cutoff = Value::from(clock.now() - Duration::from_secs(3600));

    let deleter = {
        let e = e.clone();
        tokio::spawn(async move { e.delete::<SessionModel>(Filter::lt("updated_at", cutoff)).await.unwrap() })
    };
    // Start writing once the deleter has found its sessions and begun, from
    // the other end of the list, so that most appends land between its scan
    // and its delete of that session.
    while e.count::<SessionModel>(Filter::All).await.unwrap() == SESSIONS as u64 && !deleter.is_finished() {
        tokio::task::yield_now().await;
    }
    let mut acknowledged = Vec::new();
    for a in agents.iter().rev() {
        if e.append(a, &[user("still here")], &WriteOptions::default()).await.is_ok() {
            acknowledged.push(a.clone());
        }
    }
    let deleted = deleter.await.unwrap();
    for a in &acknowledged {
        assert_eq!(
            texts(&e.load(a, None).await.unwrap()),
            ["still here"],
            "{} lost an acknowledged append",
            a.session_id
        );
    }
    let left = e.count::<SessionModel>(Filter::All).await.unwrap();
    assert_eq!(left + deleted, SESSIONS as u64);
    assert_eq!(left, acknowledged.len() as u64);
}
