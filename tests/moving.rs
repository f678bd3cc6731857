//! Moving sessions and keeping stores clean, through the real binary:
//! `export`/`import`/`migrate` across backends byte for byte, `cleanup` in
//! pages, `sessions list --after` keyset pages, and the filter DSL's errors.

#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use nexau_session::{
    AcquireOutcome, Engine, HistoryAction, ManualClock, Message, Role, RunStatus, SessionUpdate, WriteOptions,
};
use support::{backend, cli, ok, run};

const OLD: &str = "2026-01-01T00:00:00Z";
const NEW: &str = "2026-03-01T00:00:00Z";
const NOW: &str = "2026-03-15T00:00:00Z";

fn sqlite_url(dir: &Path, file: &str) -> String {
    format!("sqlite:///{}", dir.join(file).display())
}

async fn engine_at(url: &str, clock: Arc<ManualClock>) -> Engine {
    let engine = Engine::builder(url).clock(clock).build().await.expect("engine");
    engine.setup_models().await.expect("setup_models");
    engine
}

fn run_with(c: Command, args: &[&str], now: &str) -> Output {
    let mut c = c;
    c.env("NEXAU_SESSION_NOW", now);
    run(c, args)
}

fn with_stdin(mut c: Command, args: &[&str], stdin: &[u8]) -> Output {
    let mut child =
        c.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn failed(out: &Output, code: i32) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "stdout {}, stderr {err}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    err
}

/// Sessions with everything a store can hold: a root agent and a
/// sub-agent, runs that end well, fail (then are undone) and are cancelled,
/// a replace, an idempotency key, unicode and escapes, a session context,
/// a released lock (its token stays) and a held one.
async fn rich_store(url: &str) {
    let clock = Arc::new(ManualClock::at_rfc3339(OLD).unwrap());
    let engine = engine_at(url, clock.clone()).await;
    let text = |t: &str| Message::from_text(Role::User, t);
    let answer = |t: &str| Message::from_text(Role::Assistant, t);
    for (user, session) in [("alice", "s1"), ("alice", "s2"), ("bob", "s1"), ("carol", "x:y@z.1")] {
        clock.advance(Duration::from_secs(1));
        engine.get_or_create_session(user, Some(session)).await.unwrap();
        let root = engine.ensure_agent(user, session, None, "main").await.unwrap().agent_ref();
        let sub = engine.ensure_agent(user, session, Some("sub_1"), "helper ☃").await.unwrap().agent_ref();
        let run = |id: &str| WriteOptions { run_id: Some(id.into()), ..WriteOptions::default() };
        let start = HistoryAction::RunStart { root_run_id: None, parent_run_id: None, agent_name: Some("main".into()) };
        engine.write(&root, &start, &run("run_1")).await.unwrap();
        let keyed = WriteOptions { idempotency_key: Some("k1".into()), ..run("run_1") };
        let first = vec![text("héllo \"quoted\" \\ tab\t 🙂 {\"json\": [1]}"), answer("line1\nline2\r\nend")];
        engine.write(&root, &HistoryAction::Append(first), &keyed).await.unwrap();
        engine.write(&root, &HistoryAction::RunEnd(RunStatus::Ok), &run("run_1")).await.unwrap();
        engine.write(&root, &start, &run("run_2")).await.unwrap();
        engine.write(&root, &HistoryAction::Append(vec![text("a mistake")]), &run("run_2")).await.unwrap();
        engine.write(&root, &HistoryAction::RunEnd(RunStatus::Error("boom".into())), &run("run_2")).await.unwrap();
        let undo = HistoryAction::Undo { before_run_id: "run_2".into() };
        engine.write(&root, &undo, &WriteOptions::default()).await.unwrap();
        let child = HistoryAction::RunStart {
            root_run_id: Some("run_3".into()),
            parent_run_id: Some("run_3".into()),
            agent_name: Some("helper ☃".into()),
        };
        engine.write(&sub, &child, &run("run_3a")).await.unwrap();
        engine.write(&sub, &HistoryAction::Append(vec![text("sub task")]), &run("run_3a")).await.unwrap();
        engine.write(&sub, &HistoryAction::RunEnd(RunStatus::Cancelled), &run("run_3a")).await.unwrap();
        engine.write(&sub, &HistoryAction::Replace(vec![answer("summary")]), &WriteOptions::default()).await.unwrap();
        let context = serde_json::json!({"k": "v ✓", "n": [1, 2.5, null], "nested": {"a": "\"q\""}});
        let update = SessionUpdate { context: Some(context), ..SessionUpdate::default() };
        engine.update_session(user, session, &update, None).await.unwrap();
        let AcquireOutcome::Acquired(lease) =
            engine.try_acquire_lock(&root, "holder-1", Some("run_9"), Duration::from_secs(30)).await.unwrap()
        else {
            panic!("lock free")
        };
        engine.release_lock(&root, "holder-1", lease.token).await.unwrap();
    }
    // One lock still held (it expires 2026-01-01T00:01:…): exported as it is.
    let bob = engine.ensure_agent("bob", "s1", None, "main").await.unwrap().agent_ref();
    let held = engine.try_acquire_lock(&bob, "holder-2", None, Duration::from_secs(60)).await.unwrap();
    assert!(matches!(held, AcquireOutcome::Acquired(_)));
}

fn export(dir: &Path, url: &str) -> String {
    ok(run(cli(dir, url), &["export"]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_sqlite_jsonl_sqlite_and_the_servers_keeps_the_export_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = sqlite_url(d, "a.db");
    rich_store(&a).await;
    let exported = export(d, &a);
    assert!(exported.starts_with("{\"format\":\"nexau-session-export\",\"version\":1}\n"), "{exported}");
    for table in ["sessions", "agents", "agent_locks", "agent_run_actions", "agent_messages"] {
        let n = exported.matches(&format!("{{\"table\":\"{table}\",")).count();
        assert!(n >= 4, "{table}: {n} rows in\n{exported}");
    }
    assert!(exported.contains("\"action_type\":\"undo\"") && exported.contains("\"idempotency_key\":\"k1\""));

    let out = ok(run(cli(d, &a), &["migrate", "--to", "jsonl:///j.d"]));
    assert!(out.contains("4 copied") && out.contains("count check passed"), "{out}");
    assert_eq!(export(d, "jsonl:///j.d"), exported, "sqlite -> jsonl");
    ok(run(cli(d, "jsonl:///j.d"), &["migrate", "--to", "sqlite:///b.db"]));
    assert_eq!(export(d, "sqlite:///b.db"), exported, "sqlite -> jsonl -> sqlite");

    let again = ok(run(cli(d, &a), &["migrate", "--to", "sqlite:///b.db"]));
    assert!(again.contains("0 copied, 4 already there") && again.contains("count check passed"), "{again}");

    for name in ["postgres", "mysql"] {
        let Some(server) = backend(name).await else { continue };
        ok(run(cli(d, &a), &["migrate", "--to", &server.url]));
        assert_eq!(export(d, &server.url), exported, "sqlite -> {name}");
        let back = format!("sqlite:///from_{name}.db");
        ok(run(cli(d, &server.url), &["migrate", "--to", &back]));
        assert_eq!(export(d, &back), exported, "sqlite -> {name} -> sqlite");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_fails_its_count_check_on_a_target_holding_other_rows() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = sqlite_url(d, "a.db");
    rich_store(&a).await;
    ok(run(cli(d, "sqlite:///t.db"), &["sessions", "create", "--user", "zed", "--session", "z"]));
    let out = run(cli(d, &a), &["migrate", "--to", "sqlite:///t.db"]);
    let err = failed(&out, 1);
    assert!(err.contains("count check failed") && err.contains("sessions: 4 here, 5 in the target"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_twice_changes_nothing_and_a_bad_line_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = sqlite_url(d, "a.db");
    rich_store(&a).await;
    let exported = export(d, &a);
    std::fs::write(d.join("e.jsonl"), &exported).unwrap();

    let first = ok(run(cli(d, "sqlite:///t.db"), &["import", "e.jsonl"]));
    assert!(first.starts_with("imported 4 sessions (") && first.contains("0 already present; 0 skipped"), "{first}");
    assert_eq!(export(d, "sqlite:///t.db"), exported);
    let second = ok(run(cli(d, "sqlite:///t.db"), &["import", "e.jsonl"]));
    assert_eq!(second.trim(), "imported 0 sessions (0 rows); 4 already present; 0 skipped");
    assert_eq!(export(d, "sqlite:///t.db"), exported, "importing twice changes nothing");

    let piped = with_stdin(cli(d, "jsonl:///p.d"), &["import", "-"], exported.as_bytes());
    ok(piped);
    assert_eq!(export(d, "jsonl:///p.d"), exported, "from stdin");

    // A session changed in the target since: a conflict, left as it is.
    let append = ["history", "append", "--user", "bob", "--session", "s1", "--role", "user", "--text", "later"];
    ok(run(cli(d, "sqlite:///t.db"), &append));
    let changed = export(d, "sqlite:///t.db");
    let err = failed(&run(cli(d, "sqlite:///t.db"), &["import", "e.jsonl"]), 1);
    assert!(err.contains("bob/s1") && err.contains("other content"), "{err}");
    let out = run(cli(d, "sqlite:///t.db"), &["import", "e.jsonl", "--on-error", "skip"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 already present; 1 skipped"), "{out:?}");
    assert_eq!(export(d, "sqlite:///t.db"), changed, "the changed session is kept as it is");

    // A malformed row in bob's session: nothing written, the line and table named.
    let mut lines: Vec<String> = exported.lines().map(str::to_owned).collect();
    let at = lines.iter().position(|l| l.contains("\"table\":\"agents\"") && l.contains("\"bob\"")).unwrap();
    lines[at] = lines[at].replace("\"next_seq\":", "\"next_seq\":\"x\",\"was\":");
    std::fs::write(d.join("bad.jsonl"), lines.join("\n") + "\n").unwrap();
    let err = failed(&run(cli(d, "sqlite:///never.db"), &["import", "bad.jsonl"]), 2);
    assert!(err.contains(&format!("line {}", at + 1)) && err.contains("agents"), "{err}");
    assert!(!d.join("never.db").exists(), "checked before the database is opened");
    let out = run(cli(d, "sqlite:///some.db"), &["import", "bad.jsonl", "--on-error", "skip"]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && stdout.contains("imported 3 sessions") && stdout.contains("1 skipped"), "{out:?}");
    assert!(stderr.contains("skipped: line") && stderr.contains("bob/s1"), "{stderr}");
    let listed = ok(run(cli(d, "sqlite:///some.db"), &["sessions", "list"]));
    assert!(!listed.contains("bob"), "{listed}");

    // A row of another session smuggled into alice's: refused, naming it.
    let mut lines: Vec<String> = exported.lines().map(str::to_owned).collect();
    let at = lines.iter().position(|l| l.contains("\"table\":\"agents\"") && l.contains("\"alice\"")).unwrap();
    lines[at] = lines[at].replace("\"alice\"", "\"mallory\"");
    std::fs::write(d.join("foreign.jsonl"), lines.join("\n") + "\n").unwrap();
    let err = failed(&run(cli(d, "sqlite:///never.db"), &["import", "foreign.jsonl"]), 2);
    assert!(err.contains("another session"), "{err}");
    assert!(!d.join("never.db").exists());
}

/// `n` sessions per (user, age): `old_*` updated at [`OLD`], `new_*` at
/// [`NEW`]; every tenth has an agent with a message (rows in every table).
async fn aged_sessions(url: &str, users: usize, per_user: usize) {
    let clock = Arc::new(ManualClock::at_rfc3339(OLD).unwrap());
    let engine = engine_at(url, clock.clone()).await;
    for (age, at) in [("old", OLD), ("new", NEW)] {
        clock.set_ns(nexau_session::Timestamp::parse_rfc3339(at).unwrap().as_ns());
        for u in 0..users {
            for i in 0..per_user {
                let (user, session) = (format!("u{u:02}"), format!("{age}_{i:04}"));
                if i % 10 == 0 {
                    let agent = engine.get_or_create_session(&user, Some(&session)).await.map(drop);
                    agent.unwrap();
                    let a = engine.ensure_agent(&user, &session, None, "main").await.unwrap().agent_ref();
                    let hi = vec![Message::from_text(Role::User, "hi")];
                    engine.append(&a, &hi, &WriteOptions::default()).await.unwrap();
                } else {
                    engine.get_or_create_session(&user, Some(&session)).await.unwrap();
                }
            }
        }
    }
}

fn count(db: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_removes_exactly_the_old_half_in_pages_and_keeps_a_held_lock() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = sqlite_url(d, "c.db");
    // 2 × 12 × 55 sessions: 660 old ones, more than one page of 500.
    aged_sessions(&url, 12, 55).await;
    // An old session whose agent lock is held now (taking a lock does not
    // touch the session's updated_at).
    let clock = Arc::new(ManualClock::at_rfc3339(NOW).unwrap());
    let engine = engine_at(&url, clock).await;
    let agent = engine.ensure_agent("u03", "old_0000", None, "main").await.unwrap().agent_ref();
    let lease = engine.try_acquire_lock(&agent, "busy", None, Duration::from_secs(3600)).await.unwrap();
    assert!(matches!(lease, AcquireOutcome::Acquired(_)));
    let db = d.join("c.db");
    let tables = ["sessions", "agents", "agent_locks", "agent_run_actions", "agent_messages"];
    let old_rows = |t: &str| count(&db, &format!("select count(*) from {t} where session_id like 'old%'"));
    let new_before: Vec<i64> =
        tables.iter().map(|t| count(&db, &format!("select count(*) from {t} where session_id like 'new%'"))).collect();
    assert!(tables.iter().all(|t| old_rows(t) > 0), "old rows in every table");

    let dry = ok(run_with(cli(d, &url), &["cleanup", "--older-than", "30d", "--dry-run"], NOW));
    assert_eq!(dry.lines().filter(|l| l.starts_with("would delete")).count(), 659, "{dry}");
    assert!(dry.contains("1 would be kept"), "{dry}");
    assert_eq!(old_rows("sessions"), 660, "a dry run deletes nothing");

    let only = ok(run_with(cli(d, &url), &["cleanup", "--older-than", "30d", "--user", "u00"], NOW));
    assert!(only.starts_with("deleted 55 sessions"), "{only}");

    let out = ok(run_with(cli(d, &url), &["cleanup", "--older-than", "30d"], NOW));
    assert!(out.starts_with("deleted 604 sessions older than 30days; kept 1"), "{out}");
    for t in tables {
        let left = count(&db, &format!("select count(*) from {t} where session_id like 'old%' and user_id <> 'u03'"));
        assert_eq!(left, 0, "{t}: every row of the deleted sessions goes");
    }
    assert_eq!(count(&db, "select count(*) from sessions where session_id like 'old%'"), 1, "the locked one stays");
    let new_after: Vec<i64> =
        tables.iter().map(|t| count(&db, &format!("select count(*) from {t} where session_id like 'new%'"))).collect();
    assert_eq!(new_after, new_before, "the new half is untouched");

    let rerun = ok(run_with(cli(d, &url), &["cleanup", "--older-than", "30d"], NOW));
    assert!(rerun.starts_with("deleted 0 sessions"), "{rerun}");
    // Once the lock has expired, the last old session goes too.
    let later = ok(run_with(cli(d, &url), &["cleanup", "--older-than", "30d"], "2026-03-15T02:00:00Z"));
    assert!(later.starts_with("deleted 1 sessions"), "{later}");
}

fn keys(json: &str) -> Vec<(String, String)> {
    let rows: Vec<serde_json::Value> = serde_json::from_str(json).unwrap();
    rows.iter()
        .map(|r| (r["user_id"].as_str().unwrap().to_owned(), r["session_id"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_list_after_pages_cover_every_row_once_in_every_order() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = sqlite_url(d, "l.db");
    let clock = Arc::new(ManualClock::at_rfc3339(OLD).unwrap());
    let engine = engine_at(&url, clock.clone()).await;
    for i in 0..23 {
        // Every third session shares its creation time with the one before.
        if i % 3 != 2 {
            clock.advance(Duration::from_secs(1));
        }
        engine.get_or_create_session(&format!("user{}", i % 4), Some(&format!("s{:02}", i % 7))).await.unwrap();
    }
    for order in [None, Some("-updated_at"), Some("user_id"), Some("-session_id"), Some("-version")] {
        let mut base = vec!["sessions", "list", "--json"];
        if let Some(o) = order {
            base.extend(["--order-by", o]);
        }
        let full = keys(&ok(run(cli(d, &url), &base)));
        assert_eq!(full.iter().collect::<BTreeSet<_>>().len(), full.len());
        let mut paged = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut args = base.clone();
            args.extend(["--limit", "4"]);
            if let Some(a) = &after {
                args.extend(["--after", a.as_str()]);
            }
            let page = keys(&ok(run(cli(d, &url), &args)));
            let Some((u, s)) = page.last().cloned() else { break };
            paged.extend(page);
            after = Some(format!("{u}/{s}"));
        }
        assert_eq!(paged, full, "order {order:?}");
    }
    let err = failed(&run(cli(d, &url), &["sessions", "list", "--after", "user9/s9"]), 2);
    assert!(err.contains("no such session"), "{err}");
}

#[test]
fn filter_errors_name_the_field_or_column_and_touch_no_storage() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let never = "sqlite:///never.db";
    for (command, filter, needle) in [
        ("sessions", "and=(user_id.eq.a,nope.like.x*)", "at column 19: unknown field \"nope\""),
        ("sessions", "or=(user_id.eq.a", "at column 17"),
        ("sessions", "user_id.like.ab\\", "at column 16"),
        ("sessions", "updated_at.ilike.2026*", "ilike takes a text column"),
        ("sessions", "user_id.between.a", "unknown operator \"between\""),
        ("export", "version.gt.many", "at column 12"),
    ] {
        let args: Vec<&str> = match command {
            "sessions" => vec!["sessions", "list", "--filter", filter],
            _ => vec!["export", "--filter", filter],
        };
        let err = failed(&run(cli(d, never), &args), 2);
        assert!(err.contains(needle), "{filter}: {err}");
    }
    let err = failed(&run(cli(d, never), &["sessions", "list", "--order-by", "-nope"]), 2);
    assert!(err.contains("\"nope\""), "{err}");
    assert!(!d.join("never.db").exists(), "no storage call");

    let url = "sqlite:///f.db";
    for (user, session) in [("alice", "s1"), ("Alice", "s2"), ("al_ce", "s3"), ("bob", "s4")] {
        ok(run(cli(d, url), &["sessions", "create", "--user", user, "--session", session]));
    }
    let listed = |filter: &str| -> Vec<String> {
        let json = ok(run(cli(d, url), &["sessions", "list", "--json", "--order-by", "user_id", "--filter", filter]));
        keys(&json).into_iter().map(|(u, _)| u).collect()
    };
    assert_eq!(listed("user_id.like.al*"), ["al_ce", "alice"]);
    assert_eq!(listed("user_id.ilike.AL*"), ["Alice", "al_ce", "alice"]);
    assert_eq!(listed("user_id.like.al\\_ce"), ["al_ce"]);
    assert_eq!(listed("not.or=(user_id.ilike.a*,session_id.in.(s9))"), ["bob"]);
    assert_eq!(listed("and=(user_id.not.like.*e,session_id.is_null)"), Vec::<String>::new());
}
