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
