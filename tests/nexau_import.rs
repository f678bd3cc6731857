//! Importing stores written by NexAU (the Python implementation): a SQLite
//! file with its tables and a JSONL directory, built from its data model,
//! and (when their URLs are set) its tables on PostgreSQL and MySQL. Each
//! imported history is checked message by message: tool calls, an errored
//! run undone, a cancelled run, a sub-agent compacted by a replace, unicode
//! and escapes, a duplicate message id, a dangling tool_use. Then: every
//! action kept with its fields, idempotent re-import, a grown store, and
//! malformed rows reported with their table and key.

#[path = "support/nexau_fixture.rs"]
mod nexau_fixture;

use std::path::Path;

use nexau_fixture::{MAIN, MAIN_IDS, NexauStore, SUB, SUB_IDS, T0, action, iso, msg, sample, text};
use nexau_session::storage::backends;
use nexau_session::{AgentRef, Engine, Error, ImportSummary, OnError};
use serde_json::{Value as Json, json};

fn file_url(scheme: &str, path: &Path) -> String {
    format!("{scheme}:////{}", path.display().to_string().trim_start_matches('/'))
}

/// A fresh store of ours (SQLite, so the test can read its rows).
async fn ours(dir: &Path) -> (Engine, std::path::PathBuf) {
    let db = dir.join("ours.db");
    let engine = Engine::from_url(&file_url("sqlite", &db)).await.unwrap();
    engine.setup_models().await.unwrap();
    (engine, db)
}

async fn history(engine: &Engine, agent: &str) -> Vec<Json> {
    let text = engine.load_json(&AgentRef::new("u1", "sess_A", agent), None).await.unwrap();
    serde_json::from_str(&text).unwrap()
}

fn ids(h: &[Json]) -> Vec<&str> {
    h.iter().map(|m| m["id"].as_str().unwrap()).collect()
}

/// Every row of a table of our store, as JSON objects (scope left out), in key order.
fn dump(db: &Path, table: &str) -> Vec<Json> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut st = conn.prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2, 3, 4")).unwrap();
    let names: Vec<String> = st.column_names().map(str::to_owned).collect();
    st.query_map([], |r| {
        let mut o = serde_json::Map::new();
        for (i, n) in names.iter().enumerate().filter(|(_, n)| *n != "scope") {
            let v = match r.get_ref(i)? {
                rusqlite::types::ValueRef::Null => Json::Null,
                rusqlite::types::ValueRef::Integer(x) => json!(x),
                rusqlite::types::ValueRef::Real(x) => json!(x),
                rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                    json!(String::from_utf8(t.to_vec()).unwrap())
                }
            };
            o.insert(n.clone(), v);
        }
        Ok(Json::Object(o))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn dump_all(db: &Path) -> Vec<Vec<Json>> {
    ["sessions", "agents", "agent_run_actions", "agent_messages", "agent_locks"].iter().map(|t| dump(db, t)).collect()
}

fn z(secs: i64) -> String {
    format!("{}Z", iso(secs))
}

/// What an import of the sample must leave, checked message by message.
async fn check_sample(engine: &Engine, db: &Path, nexau: &NexauStore) {
    let main = history(engine, MAIN).await;
    assert_eq!(ids(&main), MAIN_IDS, "{main:#?}");
    assert_eq!(main[0]["content"], json!([text("Bonjour 👋 — \"quoted\", back\\slash, tab\t, newline\n, nul-free é")]));
    assert_eq!(main[0]["role"], "user");
    assert_eq!(main[0]["created_at"], "2026-03-01T10:00:00.000000");
    assert_eq!(main[1]["content"][0], json!({"type": "reasoning", "text": "think", "signature": "sig"}));
    assert_eq!(
        main[1]["content"][1],
        json!({"type": "tool_use", "id": "t1", "name": "search", "input": {"q": "météo"}})
    );
    assert_eq!(main[2]["content"][0]["tool_use_id"], "t1");
    assert_eq!(main[3]["content"], json!([text("It is sunny.")]));
    // Run 2 (m5, m6 and its dangling t2) is undone; m7 appears once.
    assert_eq!(main[4]["content"], json!([text("再见 ✓")]));
    assert_eq!(main[5]["content"][1]["id"], "t3");
    // The cancelled run's unanswered tool call gets an error result.
    assert_eq!(main[6]["role"], "tool");
    assert_eq!(main[6]["content"][0]["tool_use_id"], "t3");
    assert_eq!(main[6]["content"][0]["is_error"], true);

    let sub = history(engine, SUB).await;
    assert_eq!(ids(&sub), SUB_IDS, "{sub:#?}");
    assert_eq!(sub[0]["role"], "framework");
    assert_eq!(sub[1]["content"], json!([text("plain string content")]));

    let s = engine.get_session("u1", "sess_A").await.unwrap().unwrap();
    assert_eq!(s.context, json!({"lang": "fr", "note": "naïve \"q\"\n"}));
    assert_eq!(s.storage, json!({"k": [1, 2]}));
    assert_eq!(s.sandbox_state, Some(json!({"cwd": "/tmp"})));
    assert_eq!(s.root_agent_id.as_deref(), Some(MAIN));
    assert_eq!((s.created_at.as_str(), s.updated_at.as_str()), (z(0).as_str(), z(20).as_str()));

    let agents = engine.list_agents("u1", "sess_A").await.unwrap();
    let got: Vec<(&str, &str, &str, &str, bool)> = agents
        .iter()
        .map(|a| {
            (a.agent_id.as_str(), a.agent_name.as_str(), a.created_at.as_str(), a.last_updated.as_str(), a.is_root)
        })
        .collect();
    assert_eq!(
        got,
        [(MAIN, "main", z(0).as_str(), z(14).as_str(), true), (SUB, "researcher", z(3).as_str(), z(6).as_str(), false)]
    );

    // Every action, with every field NexAU keeps.
    let stored = dump(db, "agent_run_actions");
    assert_eq!(stored.len(), nexau.actions.len());
    for want in &nexau.actions {
        let got = stored.iter().find(|r| r["action_id"] == want["action_id"]).expect("action imported");
        for f in [
            "agent_id",
            "run_id",
            "root_run_id",
            "parent_run_id",
            "agent_name",
            "action_type",
            "undo_before_run_id",
            "idempotency_key",
            "created_at_ns",
        ] {
            assert_eq!(got[f], want[f], "{} {f}", want["action_id"]);
        }
        let extra = got["extra"].as_str().map(|e| serde_json::from_str::<Json>(e).unwrap()).unwrap_or(Json::Null);
        let want_extra = match (&want["extra"], want["action_type"].as_str()) {
            (Json::Null, Some("run_end")) => panic!("the sample's run_ends carry extra"),
            (e, _) => e.clone(),
        };
        assert_eq!(extra, want_extra, "{} extra", want["action_id"]);
        assert_eq!(got["created_at"], json!(z((want["created_at_ns"].as_i64().unwrap() - T0) / 1_000_000_000)));
    }
}

fn expected_first_summary(nexau: &NexauStore) -> ImportSummary {
    ImportSummary {
        sessions_created: 1,
        agents_created: 2,
        actions_imported: nexau.actions.len() as u64,
        locks_skipped: 1,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nexau_sqlite_file_imports_message_by_message() {
    let dir = tempfile::tempdir().unwrap();
    let nexau = sample();
    let src = dir.path().join("nexau.db");
    nexau.write_sqlite(&src);
    let (engine, db) = ours(dir.path()).await;
    let url = format!("sqlite+aiosqlite:////{}", src.display().to_string().trim_start_matches('/'));
    let summary = engine.import_nexau(&url, OnError::Stop).await.unwrap();
    assert_eq!(summary, expected_first_summary(&nexau));
    check_sample(&engine, &db, &nexau).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nexau_jsonl_directory_imports_in_the_right_order_whatever_the_file_order() {
    // NexAU's JSONL engine ignores descending order, so it replays this file
    // as written; the import orders by created_at_ns like its SQL loading.
    let dir = tempfile::tempdir().unwrap();
    let mut nexau = sample();
    nexau.actions.reverse();
    let src = dir.path().join("nexau_data");
    nexau.write_jsonl(&src);
    let (engine, db) = ours(dir.path()).await;
    let summary = engine.import_nexau(&file_url("jsonl", &src), OnError::Stop).await.unwrap();
    assert_eq!(summary, expected_first_summary(&nexau));
    check_sample(&engine, &db, &nexau).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_import_changes_nothing_and_a_grown_store_adds_only_what_is_new() {
    let dir = tempfile::tempdir().unwrap();
    let mut nexau = sample();
    let src = dir.path().join("nexau_data");
    nexau.write_jsonl(&src);
    let url = file_url("jsonl", &src);
    let (engine, db) = ours(dir.path()).await;
    engine.import_nexau(&url, OnError::Stop).await.unwrap();
    let before = dump_all(&db);

    let again = engine.import_nexau(&url, OnError::Stop).await.unwrap();
    let n = nexau.actions.len() as u64;
    assert_eq!(again, ImportSummary { actions_already_present: n, locks_skipped: 1, ..Default::default() });
    assert_eq!(dump_all(&db), before, "a second import changed the store");

    // NexAU went on: a new run on the main agent, a new session, newer context.
    nexau.actions.push(action(
        "act_30",
        MAIN,
        "run_05",
        "run_05",
        None,
        30,
        "append",
        json!([msg("m9", "user", json!([text("encore")]))]),
        Some("run_05:0"),
        Json::Null,
    ));
    nexau.actions.push(action(
        "act_31",
        MAIN,
        "run_05",
        "run_05",
        None,
        31,
        "append",
        json!([msg("m10", "tool", json!([{"type": "tool_result", "tool_use_id": "t3", "content": "late"}]))]),
        Some("run_05:1"),
        Json::Null,
    ));
    nexau.sessions[0]["updated_at"] = json!(iso(31));
    nexau.sessions[0]["context"] = json!({"lang": "de"});
    nexau.agents[0]["last_updated"] = json!(iso(31));
    nexau.sessions.push(json!({"user_id": "u2", "session_id": "sess_B", "created_at": iso(40), "updated_at": iso(40),
                               "context": null, "storage": null, "sandbox_state": null, "root_agent_id": null,
                               "pending_tool_calls": [{"id": "t9"}]}));
    nexau.write_jsonl(&src);
    let grown = engine.import_nexau(&url, OnError::Stop).await.unwrap();
    assert_eq!(
        grown,
        ImportSummary {
            sessions_created: 1,
            sessions_updated: 1,
            actions_imported: 2,
            actions_already_present: n,
            locks_skipped: 1,
            ..Default::default()
        }
    );
    let main = history(&engine, MAIN).await;
    assert_eq!(ids(&main), ["m1", "m2", "m3", "m4", "m7", "m8", "msg_repair_t3", "m9", "m10"]);
    let s = engine.get_session("u1", "sess_A").await.unwrap().unwrap();
    assert_eq!((s.context, s.updated_at), (json!({"lang": "de"}), z(31)));
    let b = engine.get_session("u2", "sess_B").await.unwrap().unwrap();
    assert_eq!((b.context, b.storage, b.created_at), (json!({}), json!({}), z(40)));
    let pending = dump(&db, "sessions").into_iter().find(|r| r["session_id"] == "sess_B").unwrap();
    assert_eq!(
        serde_json::from_str::<Json>(pending["pending_tool_calls"].as_str().unwrap()).unwrap(),
        json!([{"id": "t9"}])
    );
    // And once more: nothing.
    let after = dump_all(&db);
    engine.import_nexau(&url, OnError::Stop).await.unwrap();
    assert_eq!(dump_all(&db), after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_rows_are_reported_with_table_and_key_and_stop_or_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let mut nexau = sample();
    let mut bad_type = nexau.actions[0].clone();
    bad_type["action_id"] = json!("act_bad1");
    bad_type["idempotency_key"] = Json::Null;
    bad_type["action_type"] = json!("explode");
    let mut bad_json = nexau.actions[0].clone();
    bad_json["action_id"] = json!("act_bad2");
    bad_json["idempotency_key"] = Json::Null;
    bad_json["append_messages"] = json!("[{\"role\": \"user\", ");
    let mut orphan = nexau.agents[1].clone();
    orphan["session_id"] = json!("sess_gone");
    nexau.actions.extend([bad_type, bad_json]);
    nexau.agents.push(orphan);
    let src = dir.path().join("nexau_data");
    nexau.write_jsonl(&src);
    // A line NexAU's engine would skip without a word.
    let path = src.join("agent_run_actions.jsonl");
    let mut lines = std::fs::read_to_string(&path).unwrap();
    lines.push_str("{\"action_id\": \"act_cut\", \"user_id\n");
    std::fs::write(&path, lines).unwrap();
    let url = file_url("jsonl", &src);

    let (engine, db) = ours(dir.path()).await;
    let err = engine.import_nexau(&url, OnError::Stop).await.unwrap_err();
    let Error::Invalid(m) = &err else { panic!("{err:?}") };
    assert!(m.contains("agent_run_actions line 21: not valid JSON"), "{m}");
    assert!(m.contains("and 3 more rows") && m.contains("nothing imported"), "{m}");
    assert!(dump(&db, "sessions").is_empty() && dump(&db, "agent_run_actions").is_empty(), "stop wrote something");

    let summary = engine.import_nexau(&url, OnError::Skip).await.unwrap();
    let problems: Vec<String> = summary.problems.iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(
        problems.contains(
            &"agent_run_actions line 21: not valid JSON (EOF while parsing a string at line 1 column 33)".to_owned()
        ),
        "{problems:#?}"
    );
    assert!(
        problems.iter().any(|p| p.starts_with("agent_run_actions action_id=act_bad1: action_type \"explode\"")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("agent_run_actions action_id=act_bad2: append_messages is not valid JSON")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with(&format!("agents user_id=u1 session_id=sess_gone agent_id={SUB}: its session"))),
        "{problems:#?}"
    );
    assert_eq!(summary.actions_imported, 18);
    check_sample(&engine, &db, &sample()).await;

    // A row only this store refuses (a role it does not know) is found while
    // writing: reported, or the import stops there naming it.
    let mut refused = sample();
    refused.actions.push(action(
        "act_bad3",
        MAIN,
        "run_09",
        "run_09",
        None,
        50,
        "append",
        json!([{"id": "x", "role": "robot", "content": "beep"}]),
        None,
        Json::Null,
    ));
    refused.write_jsonl(&src);
    let err = engine.import_nexau(&url, OnError::Stop).await.unwrap_err();
    assert!(err.to_string().contains("agent_run_actions action_id=act_bad3: message 0: role must be one of"), "{err}");
    let summary = engine.import_nexau(&url, OnError::Skip).await.unwrap();
    assert_eq!(summary.problems.len(), 1);
    assert_eq!(
        (summary.problems[0].table.as_str(), summary.problems[0].key.as_str()),
        ("agent_run_actions", "action_id=act_bad3")
    );
    assert_eq!(ids(&history(&engine, MAIN).await), MAIN_IDS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_that_name_no_nexau_store_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, _) = ours(dir.path()).await;
    let other = dir.path().join("other.db");
    rusqlite::Connection::open(&other).unwrap().execute_batch("CREATE TABLE other (x INTEGER)").unwrap();
    for (url, says) in [
        ("memory://".to_owned(), "is not a NexAU store"),
        (file_url("jsonl", &dir.path().join("absent")), "not a directory"),
        (file_url("jsonl", dir.path()), "no NexAU table files there"),
        (file_url("sqlite", &other), "no NexAU tables there"),
        (file_url("sqlite", &dir.path().join("absent.db")), "no such file"),
    ] {
        match engine.import_nexau(&url, OnError::Stop).await {
            Err(Error::Invalid(m)) => assert!(m.contains(says), "{url}: {m}"),
            other => panic!("{url}: {other:?}"),
        }
    }
}

/// NexAU's tables on a real server (own schema / database, dropped after).
async fn server_case(backend: &str) {
    let Some(kind) = backends::by_name(backend) else { return };
    let Some(store) = (kind.test_store)().await.unwrap() else {
        eprintln!("skipped: no {backend} test server (its NEXAU_TEST_*_URL is not set)");
        return;
    };
    let nexau = sample();
    nexau.write_server(&store.url).await;
    let dir = tempfile::tempdir().unwrap();
    let (engine, db) = ours(dir.path()).await;
    let summary = engine.import_nexau(&store.url, OnError::Stop).await.unwrap();
    assert_eq!(summary, expected_first_summary(&nexau));
    check_sample(&engine, &db, &nexau).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nexau_tables_on_postgres_import() {
    server_case("postgres").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nexau_tables_on_mysql_import() {
    server_case("mysql").await;
}
