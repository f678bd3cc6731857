//! A store written by nexau-session 0.1 (the conversation only in the action
//! log, agents without `live_count`) keeps its history: `setup_models` gives
//! each such agent its per-message rows, and writes and undos go on from
//! there.

use nexau_session::{AgentRef, Engine, HistoryAction, Message, Role, WriteOptions};
use rusqlite::params;

/// A message as 0.1 stored it.
fn stored(id: &str, role: &str, text: &str) -> serde_json::Value {
    serde_json::json!({"id": id, "role": role, "content": [{"type": "text", "text": text}],
                       "metadata": {}, "created_at": "2026-01-01T00:00:00.000000Z"})
}

/// Writes the rows 0.1 wrote for one agent: the session, the agent (no
/// counters) and its log. `log` is (run, type, messages or undone run).
fn write_legacy_agent(db: &std::path::Path, log: &[(&str, &str, serde_json::Value)]) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let t = "2026-01-01T00:00:00.000000Z";
    conn.execute(
        "INSERT INTO sessions (scope, user_id, session_id, created_at, updated_at, context, storage, version)
         VALUES ('default', 'u', 's', ?1, ?1, '{}', '{}', 1)",
        params![t],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO agents (scope, user_id, session_id, agent_id, agent_name, created_at, last_updated, next_seq)
         VALUES ('default', 'u', 's', 'a', 'main', ?1, ?1, ?2)",
        params![t, log.len() as i64 + 1],
    )
    .unwrap();
    for (i, (run, kind, body)) in log.iter().enumerate() {
        let (append, replace, undo) = match *kind {
            "append" => (Some(body.to_string()), None, None),
            "replace" => (None, Some(body.to_string()), None),
            _ => (None, None, body.as_str().map(str::to_owned)),
        };
        conn.execute(
            "INSERT INTO agent_run_actions (scope, action_id, user_id, session_id, agent_id, seq, run_id, created_at,
               created_at_ns, action_type, append_messages, replace_messages, undo_before_run_id)
             VALUES ('default', ?1, 'u', 's', 'a', ?2, ?3, ?4, 0, ?5, ?6, ?7, ?8)",
            params![format!("act_{i}"), i as i64 + 1, run, t, kind, append, replace, undo],
        )
        .unwrap();
    }
}

fn ids(messages: &[Message]) -> Vec<&str> {
    messages.iter().map(|m| m.id.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_of_version_0_1_keeps_its_history_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    let url = format!("sqlite:////{}", db.display().to_string().trim_start_matches('/'));
    Engine::from_url(&url).await.unwrap().setup_models().await.unwrap();
    write_legacy_agent(
        &db,
        &[
            ("r0", "append", serde_json::json!([stored("m0", "user", "before the replace")])),
            ("r1", "replace", serde_json::json!([stored("m1", "user", "hello")])),
            ("r2", "append", serde_json::json!([stored("m2", "assistant", "undone")])),
            ("r3", "undo", serde_json::json!("r2")),
            ("r3", "append", serde_json::json!([stored("m3", "assistant", "kept"), stored("m1", "user", "again")])),
        ],
    );

    // A new process: setup upgrades the agent; the conversation is 0.1's.
    let engine = Engine::from_url(&url).await.unwrap();
    engine.setup_models().await.unwrap();
    let agent = AgentRef::new("u", "s", "a");
    assert_eq!(ids(&engine.load(&agent, None).await.unwrap()), ["m1", "m3"]);
    assert_eq!(ids(&engine.load(&agent, Some(1)).await.unwrap()), ["m3"]);

    // Setting up again changes nothing; new writes follow the old ones.
    engine.setup_models().await.unwrap();
    let receipt = engine.append(&agent, &[Message::from_text(Role::User, "new")], &WriteOptions::default()).await;
    assert_eq!(receipt.unwrap().seq, 6);
    assert_eq!(engine.load(&agent, None).await.unwrap().len(), 3);

    // Runs from before the upgrade can still be undone.
    let undo = HistoryAction::Undo { before_run_id: "r1".into() };
    engine.write(&agent, &undo, &WriteOptions { run_id: Some("r4".into()), ..Default::default() }).await.unwrap();
    assert!(engine.load(&agent, None).await.unwrap().is_empty());
}

/// A store made before `agent_messages` was keyed by `(epoch, pos,
/// action_seq)` keeps its key `(action_seq, pos)` and its `messages_pos`
/// index: setup leaves the table as it is, and appends, a replace, an undo,
/// a repeated message id and tail loads behave as on a new store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_with_messages_keyed_by_action_and_position_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keyed.db");
    let url = format!("sqlite:////{}", db.display().to_string().trim_start_matches('/'));
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        r#"CREATE TABLE "agent_messages" ("scope" TEXT NOT NULL, "user_id" TEXT NOT NULL, "session_id" TEXT NOT NULL,
             "agent_id" TEXT NOT NULL, "action_seq" INTEGER NOT NULL, "epoch" INTEGER NOT NULL, "pos" INTEGER NOT NULL,
             "live" INTEGER NOT NULL, "message_id" TEXT NOT NULL, "role" TEXT NOT NULL, "tool_calls" TEXT,
             "message" TEXT NOT NULL, PRIMARY KEY ("scope", "user_id", "session_id", "agent_id", "action_seq", "pos"));
           CREATE INDEX "agent_messages__messages_pos" ON "agent_messages"
             ("scope", "user_id", "session_id", "agent_id", "epoch", "live", "pos");
           CREATE INDEX "agent_messages__messages_id" ON "agent_messages"
             ("scope", "user_id", "session_id", "agent_id", "epoch", "live", "message_id");"#,
    )
    .unwrap();

    let engine = Engine::from_url(&url).await.unwrap();
    engine.setup_models().await.unwrap();
    engine.get_or_create_session("u", Some("s")).await.unwrap();
    let agent = engine.ensure_agent("u", "s", None, "main").await.unwrap().agent_ref();
    let text = |role, t: &str| Message::from_text(role, t);
    let run = |id: &str| WriteOptions { run_id: Some(id.into()), ..Default::default() };
    let mut first = text(Role::User, "first");
    first.id = "m_first".into();
    engine.append(&agent, &[first.clone(), text(Role::Assistant, "one")], &run("r1")).await.unwrap();
    engine.append(&agent, &[text(Role::User, "dropped")], &run("r2")).await.unwrap();
    engine.write(&agent, &HistoryAction::Undo { before_run_id: "r2".into() }, &run("r3")).await.unwrap();
    // Already live under its id: kept in the log, not added again.
    engine.append(&agent, &[first, text(Role::Assistant, "two")], &run("r4")).await.unwrap();
    let texts = |ms: Vec<Message>| ms.iter().map(Message::text).collect::<Vec<_>>();
    assert_eq!(texts(engine.load(&agent, None).await.unwrap()), ["first", "one", "two"]);
    assert_eq!(texts(engine.load(&agent, Some(2)).await.unwrap()), ["one", "two"]);

    engine.write(&agent, &HistoryAction::Replace(vec![text(Role::User, "summary")]), &run("r5")).await.unwrap();
    engine.append(&agent, &[text(Role::Assistant, "after")], &run("r6")).await.unwrap();
    assert_eq!(texts(engine.load(&agent, None).await.unwrap()), ["summary", "after"]);

    // The table kept its key and its position index.
    let key: String =
        conn.query_row("SELECT sql FROM sqlite_master WHERE name = 'agent_messages'", [], |r| r.get(0)).unwrap();
    assert!(
        key.contains(r#"PRIMARY KEY ("scope", "user_id", "session_id", "agent_id", "action_seq", "pos")"#),
        "{key}"
    );
    let position_index: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master WHERE name = 'agent_messages__messages_pos'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(position_index, 1);
}
