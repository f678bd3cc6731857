//! Through the real binary: the supported time range (`NEXAU_SESSION_NOW`,
//! `cleanup` cutoffs) and the refusal to recreate a dropped table.

#[path = "support/mod.rs"]
mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use nexau_session::runtime::POOL_ENV;

/// The binary in `dir` on `sqlite:///s.db`, its clock pinned at `now`.
fn cli(dir: &Path, now: &str, args: &[&str]) -> Output {
    Command::new(support::binary())
        .current_dir(dir)
        .env_remove(POOL_ENV)
        .env("NEXAU_SESSION_DB", "sqlite:///s.db")
        .env("NEXAU_SESSION_NOW", now)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run the binary")
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "exit {:?}: {}", out.status.code(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The exit code and the one line on stderr.
fn failed(out: Output) -> (i32, String) {
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line on stderr: {stderr}");
    (out.status.code().unwrap(), stderr)
}

fn sessions(dir: &Path, now: &str) -> Vec<serde_json::Value> {
    let out = ok(cli(dir, now, &["sessions", "list", "--json"]));
    serde_json::from_str::<Vec<serde_json::Value>>(&out).unwrap()
}

#[test]
fn a_clock_outside_the_range_or_malformed_exits_2_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    for now in ["2300-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "next tuesday"] {
        let (code, stderr) = failed(cli(dir.path(), now, &["sessions", "create", "--user", "u", "--session", "s"]));
        assert_eq!(code, 2, "{now}: {stderr}");
        assert!(stderr.contains("NEXAU_SESSION_NOW"), "{stderr}");
        if now != "next tuesday" {
            assert!(stderr.contains("1970-01-01T00:00:00Z ..= 2262-04-11T23:47:16"), "names the range: {stderr}");
        }
        assert!(!dir.path().join("s.db").exists(), "{now}: nothing written");
    }
}

#[test]
fn a_clock_with_an_offset_is_read_as_utc() {
    let dir = tempfile::tempdir().unwrap();
    ok(cli(dir.path(), "2026-01-01T05:30:00+05:30", &["sessions", "create", "--user", "u", "--session", "s"]));
    let listed = sessions(dir.path(), "2026-01-01T00:00:00Z");
    assert_eq!(listed[0]["created_at"], "2026-01-01T00:00:00.000000Z");
}

#[test]
fn cleanup_cutoffs_before_1970_delete_nothing_and_later_ones_work() {
    let dir = tempfile::tempdir().unwrap();
    let now = "2026-06-01T00:00:00Z";
    ok(cli(dir.path(), now, &["sessions", "create", "--user", "u", "--session", "s"]));
    let out = ok(cli(dir.path(), now, &["cleanup", "--older-than", "57y"]));
    assert!(out.contains("deleted 0 sessions"), "{out}");
    assert_eq!(sessions(dir.path(), now).len(), 1);
    let out = ok(cli(dir.path(), now, &["cleanup", "--older-than", "30d"]));
    assert!(out.contains("deleted 0 sessions"), "a fresh session is kept: {out}");
    let later = "2026-08-01T00:00:00Z";
    let out = ok(cli(dir.path(), later, &["cleanup", "--older-than", "30d"]));
    assert!(out.contains("deleted 1 sessions"), "{out}");
    assert!(sessions(dir.path(), later).is_empty());
}

#[test]
fn a_dropped_table_is_refused_not_recreated_empty() {
    let dir = tempfile::tempdir().unwrap();
    let now = "2026-06-01T00:00:00Z";
    let append = ["history", "append", "--user", "u", "--session", "s", "--role", "user", "--text", "hello"];
    ok(cli(dir.path(), now, &append));
    let db = dir.path().join("s.db");
    rusqlite::Connection::open(&db).unwrap().execute_batch("DROP TABLE sessions").unwrap();
    let (code, stderr) = failed(cli(dir.path(), now, &["sessions", "list"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("table `sessions` was created in this store before but is missing now (dropped?)"),
        "{stderr}"
    );
    let tables: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sessions'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 0, "not recreated");
    let actions: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM agent_run_actions", [], |r| r.get(0))
        .unwrap();
    assert!(actions > 0, "the history is still there to restore against");
}
