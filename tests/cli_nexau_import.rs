//! `nexau-session import --from-nexau URL` as a process: the summary (text
//! and `--json`), `history show` after it, idempotence, `--on-error`, and
//! bad input refused with exit 2 before anything is opened.

#[path = "support/mod.rs"]
mod support;

#[path = "support/nexau_fixture.rs"]
mod nexau_fixture;

use nexau_fixture::{MAIN, MAIN_IDS, SUB, SUB_IDS, sample};
use serde_json::{Value as Json, json};
use support::{cli, ok, run};

fn history_ids(dir: &std::path::Path, agent: &str) -> Vec<String> {
    let out = ok(run(
        cli(dir, "sqlite:///ours.db"),
        &["history", "show", "--user", "u1", "--session", "sess_A", "--agent", agent, "--json"],
    ));
    let messages: Vec<Json> = serde_json::from_str(&out).unwrap();
    messages.iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn import_from_nexau_brings_the_history_and_says_what_it_did() {
    let dir = tempfile::tempdir().unwrap();
    let nexau = sample();
    nexau.write_jsonl(&dir.path().join("nexau_data"));
    nexau.write_sqlite(&dir.path().join("nexau.db"));

    let out = ok(run(cli(dir.path(), "sqlite:///ours.db"), &["import", "--from-nexau", "jsonl:///nexau_data"]));
    assert_eq!(
        out,
        "imported 18 actions (0 already here); sessions: 1 created, 0 updated; agents: 2 created; \
         1 lock rows skipped (locks are not carried over); 0 rows not imported\n"
    );
    assert_eq!(history_ids(dir.path(), MAIN), MAIN_IDS);
    assert_eq!(history_ids(dir.path(), SUB), SUB_IDS);

    // The same store again, through its SQLite tables: nothing new.
    let out = ok(run(
        cli(dir.path(), "sqlite:///ours.db"),
        &["import", "--from-nexau", "sqlite+aiosqlite:///nexau.db", "--json"],
    ));
    let summary: Json = serde_json::from_str(&out).unwrap();
    assert_eq!(
        summary,
        json!({"sessions_created": 0, "sessions_updated": 0, "agents_created": 0, "actions_imported": 0,
               "actions_already_present": 18, "locks_skipped": 1, "problems": []})
    );
    assert_eq!(history_ids(dir.path(), MAIN), MAIN_IDS);
}

#[test]
fn malformed_rows_stop_with_exit_2_or_are_skipped_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut nexau = sample();
    nexau.actions[3]["action_type"] = json!("explode");
    nexau.write_jsonl(&dir.path().join("nexau_data"));

    let out = run(cli(dir.path(), "sqlite:///ours.db"), &["import", "--from-nexau", "jsonl:///nexau_data"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("agent_run_actions action_id=act_04: action_type \"explode\""), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let shown = run(cli(dir.path(), "sqlite:///ours.db"), &["sessions", "list", "--json"]);
    assert_eq!(ok(shown).trim(), "[]", "a stopped import wrote sessions");

    let out = ok(run(
        cli(dir.path(), "sqlite:///ours.db"),
        &["import", "--from-nexau", "jsonl:///nexau_data", "--on-error", "skip"],
    ));
    assert!(out.starts_with("not imported: agent_run_actions action_id=act_04: action_type \"explode\""), "{out}");
    assert!(out.contains("imported 17 actions") && out.contains("1 rows not imported"), "{out}");
}

#[test]
fn bad_arguments_exit_2_before_the_database_is_opened() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["import"],
        vec!["import", "--from-nexau", "memory://"],
        vec!["import", "--from-nexau", "oracle://x"],
        vec!["import", "--from-nexau", "jsonl:///d", "--on-error", "maybe"],
    ] {
        let out = run(cli(dir.path(), "sqlite:///ours.db"), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1, "{args:?}");
    }
    assert!(!dir.path().join("ours.db").exists(), "the database was opened");
}
