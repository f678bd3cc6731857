//! The server backends (PostgreSQL, MariaDB) across real processes: the CLI
//! binary, each process with its own connection pool, against the real
//! servers named by `NEXAU_TEST_POSTGRES_URL` / `NEXAU_TEST_MYSQL_URL` (each
//! test in a schema or database of its own; skipped when unset). Also: what
//! an unreachable server looks like.

#[path = "support/mod.rs"]
mod support;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use nexau_session::AgentRunActionModel;
use nexau_session::storage::Filter;
use nexau_session::{AgentRef, Engine, Error, Fence, ManualClock, WriteOptions};
use support::{cli, hold, ok, run};

/// A fresh store of server backend `name` (its own schema or database), or
/// `None` when its test URL is not set.
fn server(name: &str) -> Option<support::TestBackend> {
    tokio::runtime::Runtime::new().unwrap().block_on(support::backend(name))
}

fn four_processes_never_share_the_lock(backend: &'static str) {
    let Some(b) = server(backend) else { return };
    let dir = tempfile::tempdir().unwrap();
    let url = b.url.clone();
    ok(run(cli(dir.path(), &url), &["sessions", "create", "--user", "u1", "--session", "s1"]));
    let clock = Arc::new(AtomicU64::new(0));
    let (procs, rounds) = (4, 12);
    let workers: Vec<_> = (0..procs)
        .map(|_| {
            let (dir, clock, url) = (dir.path().to_owned(), clock.clone(), url.clone());
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                for _ in 0..rounds {
                    let (mut child, token) =
                        hold(cli(&dir, &url), &["--user", "u1", "--session", "s1", "--wait", "120s"]);
                    // Both marks fall inside the true holding interval: after
                    // the token is printed, before stdin closes (the release).
                    let enter = clock.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    let leave = clock.fetch_add(1, Ordering::SeqCst);
                    drop(child.stdin.take());
                    assert!(child.wait().unwrap().success());
                    seen.push((token, enter, leave));
                }
                seen
            })
        })
        .collect();
    let mut all: Vec<(u64, u64, u64)> = workers.into_iter().flat_map(|w| w.join().unwrap()).collect();
    assert_eq!(all.len(), procs * rounds);
    all.sort_by_key(|i| i.1);
    for w in all.windows(2) {
        assert!(w[0].2 < w[1].1, "two processes held the lock at once: {:?} {:?}", w[0], w[1]);
        assert!(w[0].0 < w[1].0, "the token did not grow: {:?} then {:?}", w[0], w[1]);
    }
}

fn a_killed_holder_is_taken_over_only_after_its_ttl(backend: &'static str) {
    let Some(b) = server(backend) else { return };
    let dir = tempfile::tempdir().unwrap();
    let url = b.url.as_str();
    let target = ["--user", "u1", "--session", "s1", "--ttl", "30s"];
    let at = |now: &str| {
        let mut c = cli(dir.path(), url);
        c.env("NEXAU_SESSION_NOW", now);
        c
    };
    let (mut holder, token) = hold(at("2026-06-01T12:00:00Z"), &target);
    let shown: serde_json::Value = serde_json::from_str(&ok(run(
        cli(dir.path(), url),
        &["locks", "show", "--user", "u1", "--session", "s1", "--json"],
    )))
    .unwrap();
    let dead_holder = shown[0]["holder_id"].as_str().unwrap().to_owned();
    holder.kill().unwrap(); // SIGKILL: no release, no cleanup
    holder.wait().unwrap();

    let early = run(at("2026-06-01T12:00:29Z"), &[&["locks", "hold"][..], &target].concat());
    assert_eq!(early.status.code(), Some(3), "taken before the TTL ran out");
    let (mut next, next_token) = hold(at("2026-06-01T12:00:31Z"), &target);
    assert!(next_token > token);

    // The dead holder's late write, fenced with its old token, is refused.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let clock = Arc::new(ManualClock::at_rfc3339("2026-06-01T12:00:32Z").unwrap());
        let engine = Engine::builder(url).clock(clock).build().await.unwrap();
        engine.setup_models().await.unwrap();
        let root = engine.get_session("u1", "s1").await.unwrap().unwrap().root_agent_id.unwrap();
        let agent = AgentRef::new("u1", "s1", root);
        let late = WriteOptions { fence: Some(Fence { holder_id: dead_holder, token }), ..Default::default() };
        let err = engine.append(&agent, &[support::user("late")], &late).await.unwrap_err();
        assert!(matches!(err, Error::LockExpired(_)), "{err:?}");
        assert!(engine.load(&agent, None).await.unwrap().is_empty());
    });
    drop(next.stdin.take());
    assert!(next.wait().unwrap().success());
}

fn two_processes_append_to_two_agents_at_once(backend: &'static str) {
    let Some(b) = server(backend) else { return };
    let dir = tempfile::tempdir().unwrap();
    let url = b.url.clone();
    ok(run(cli(dir.path(), &url), &["sessions", "create", "--user", "u1", "--session", "s1"]));
    let per_agent = 15;
    let writers: Vec<_> = ["agent_a", "agent_b"]
        .into_iter()
        .map(|agent| {
            let (dir, url) = (dir.path().to_owned(), url.clone());
            std::thread::spawn(move || {
                for i in 0..per_agent {
                    let text = format!("{agent} {i}");
                    let args = ["history", "append", "--user", "u1", "--session", "s1", "--agent", agent];
                    ok(run(cli(&dir, &url), &[&args[..], &["--role", "user", "--text", &text]].concat()));
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let engine = Engine::from_url(&url).await.unwrap();
        engine.setup_models().await.unwrap();
        for agent in ["agent_a", "agent_b"] {
            let loaded = engine.load(&AgentRef::new("u1", "s1", agent), None).await.unwrap();
            let want: Vec<String> = (0..per_agent).map(|i| format!("{agent} {i}")).collect();
            assert_eq!(support::texts(&loaded), want, "{agent}: every message, in order");
            let actions = engine.find_many::<AgentRunActionModel>(Filter::eq("agent_id", agent)).await.unwrap();
            let mut seqs: Vec<i64> = actions.iter().map(|a| a.seq).collect();
            seqs.sort();
            assert_eq!(seqs.len(), per_agent, "{agent}: one action per append");
            assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{agent}: sequence numbers with a gap: {seqs:?}");
        }
    });
}

fn the_demo_runs(backend: &'static str) {
    let Some(b) = server(backend) else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = ok(Command::new(support::binary())
        .current_dir(dir.path())
        .env_remove("NEXAU_SESSION_DB")
        .args(["--db", &b.url, "demo"])
        .stdin(Stdio::null())
        .output()
        .unwrap());
    assert!(!out.trim().is_empty(), "the demo printed nothing");
    let listed: serde_json::Value =
        serde_json::from_str(&ok(run(cli(dir.path(), &b.url), &["sessions", "list", "--json"]))).unwrap();
    assert!(!listed.as_array().unwrap().is_empty(), "the demo stored no session: {listed}");
}

macro_rules! for_each_server {
    ($($case:ident),* $(,)?) => {
        mod postgres {
            $( #[test] fn $case() { super::$case("postgres") } )*
        }
        mod mysql {
            $( #[test] fn $case() { super::$case("mysql") } )*
        }
    };
}

for_each_server!(
    four_processes_never_share_the_lock,
    a_killed_holder_is_taken_over_only_after_its_ttl,
    two_processes_append_to_two_agents_at_once,
    the_demo_runs,
);

#[test]
fn an_unreachable_server_exits_1_naming_host_port_and_database() {
    let dir = tempfile::tempdir().unwrap();
    for url in
        ["postgresql+asyncpg://app:secret@127.0.0.1:1/sessions", "mysql+aiomysql://app:secret@127.0.0.1:1/sessions"]
    {
        let out = run(cli(dir.path(), url), &["sessions", "list"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{url}: {stderr}");
        for part in ["host 127.0.0.1", "port 1", "database sessions"] {
            assert!(stderr.contains(part), "{url}: {stderr:?} lacks {part:?}");
        }
        assert!(!stderr.contains("secret"), "the password leaked: {stderr}");
    }
    let out = run(cli(dir.path(), "postgres://127.0.0.1/db?pool_sise=3"), &["sessions", "list"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("pool_sise"), "{stderr}");
}
