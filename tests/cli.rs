//! The CLI contract across real processes: history across processes, exit
//! codes, lock exclusion between processes, a SIGKILLed holder, concurrent
//! chats.

#[path = "support/mod.rs"]
mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use nexau_session::runtime::POOL_ENV;
use nexau_session::{Engine, Error, Fence, WriteOptions};
use support::{cli, hold, ok, run};

fn history_json(dir: &Path, url: &str, user: &str, session: &str) -> Vec<serde_json::Value> {
    let out = ok(run(cli(dir, url), &["history", "show", "--user", user, "--session", session, "--json"]));
    serde_json::from_str(&out).expect("history show --json prints one JSON array")
}

#[test]
fn history_appended_by_two_processes_is_shown_in_order() {
    let dir = tempfile::tempdir().unwrap();
    for url in ["sqlite:///sessions.db", "sqlite+aiosqlite:///nested/seed.db"] {
        for (role, text) in [("user", "first"), ("assistant", "second")] {
            ok(run(
                cli(dir.path(), url),
                &["history", "append", "--user", "u1", "--session", "s1", "--role", role, "--text", text],
            ));
        }
        let messages = history_json(dir.path(), url, "u1", "s1");
        let got: Vec<(&str, &str)> =
            messages.iter().map(|m| (m["role"].as_str().unwrap(), m["content"][0]["text"].as_str().unwrap())).collect();
        assert_eq!(got, [("user", "first"), ("assistant", "second")], "{url}");
    }
    // The relative path is relative to the working directory.
    assert!(dir.path().join("sessions.db").is_file());
    assert!(dir.path().join("nested/seed.db").is_file());
}

#[test]
fn another_build_given_with_component_reads_and_writes_the_same_store() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("session-logic.wasm");
    std::fs::write(&wasm, nexau_session::runtime::COMPONENT_WASM).unwrap();
    let wasm = wasm.display().to_string();
    let url = "sqlite:///sessions.db";
    let append = |component: Option<&str>, text: &str| {
        let mut args = component.map_or_else(Vec::new, |c| vec!["--component", c]);
        args.extend(["history", "append", "--user", "u1", "--session", "s1", "--role", "user", "--text", text]);
        ok(run(cli(dir.path(), url), &args));
    };
    append(Some(&wasm), "from the file");
    append(None, "from the embedded one");
    let shown =
        ok(run(cli(dir.path(), url), &["--component", &wasm, "history", "show", "--user", "u1", "--session", "s1"]));
    assert!(shown.contains("from the file") && shown.contains("from the embedded one"), "{shown}");
    assert_eq!(history_json(dir.path(), url, "u1", "s1").len(), 2);
}

#[test]
fn a_second_chat_process_remembers_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let url = "sqlite:///chat.db";
    ok(run(cli(dir.path(), url), &["chat", "--user", "u1", "--session", "s1", "Hi, my name is Ada."]));
    let reply = ok(run(cli(dir.path(), url), &["chat", "--user", "u1", "--session", "s1", "What is my name?"]));
    assert!(reply.starts_with("Your name is Ada."), "{reply}");
    let listed: serde_json::Value =
        serde_json::from_str(&ok(run(cli(dir.path(), url), &["sessions", "list", "--user", "u1", "--json"]))).unwrap();
    let s = &listed[0];
    for field in ["user_id", "session_id", "created_at", "updated_at"] {
        assert!(s[field].is_string(), "sessions list --json lacks {field}: {listed}");
    }
}

#[test]
fn bad_input_exits_2_with_one_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let url = "sqlite:///bad.db";
    for args in [
        &["history", "append", "--user", "../etc", "--session", "s1", "--role", "user", "--text", "x"][..],
        &["history", "append", "--user", "u1", "--session", "s1", "--role", "boss", "--text", "x"][..],
        &["sessions", "list", "--filter", "nope.eq.1"][..],
        &["sessions", "create", "--user", "u 1"][..],
        &["locks", "hold", "--user", "u1", "--session", "s1", "--ttl", "3s", "--heartbeat", "2s"][..],
    ] {
        let out = run(cli(dir.path(), url), args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.trim().is_empty(), "{args:?}: no message");
    }
    let listed = ok(run(cli(dir.path(), url), &["sessions", "list", "--json"]));
    assert_eq!(serde_json::from_str::<serde_json::Value>(&listed).unwrap(), serde_json::json!([]));
    let bad_url = run(cli(dir.path(), "nonsense"), &["sessions", "list"]);
    assert_eq!(bad_url.status.code(), Some(2));
    let append = ["history", "append", "--user", "u1", "--session", "s1", "--role", "user", "--text", "x"];
    let mut bad_pool = cli(dir.path(), url);
    bad_pool.env(POOL_ENV, "many");
    let out = run(bad_pool, &append);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(POOL_ENV) && stderr.trim().lines().count() == 1, "{stderr}");
    let listed = ok(run(cli(dir.path(), url), &["sessions", "list", "--json"]));
    assert_eq!(serde_json::from_str::<serde_json::Value>(&listed).unwrap(), serde_json::json!([]));
}

#[test]
fn instances_mapped_on_demand_or_pooled_keep_the_same_history() {
    let dir = tempfile::tempdir().unwrap();
    let url = "sqlite:///pool.db";
    for (pool, text) in [("off", "on demand"), ("1", "one slot"), ("64", "pooled")] {
        let mut c = cli(dir.path(), url);
        c.env(POOL_ENV, pool);
        ok(run(c, &["history", "append", "--user", "u1", "--session", "s1", "--role", "user", "--text", text]));
    }
    let texts: Vec<_> =
        history_json(dir.path(), url, "u1", "s1").iter().map(|m| m["content"][0]["text"].clone()).collect();
    assert_eq!(texts, ["on demand", "one slot", "pooled"]);
}

/// `url` (relative to `dir`, as the binary sees it) made absolute, for an engine in this process.
fn absolute(url: &str, dir: &Path) -> String {
    url.replacen(":///", &format!(":///{}/", dir.display()), 1)
}

#[test]
fn a_held_lock_makes_others_exit_3() {
    held_lock_makes_others_exit_3("sqlite:///held.db");
}

#[test]
fn a_held_lock_makes_others_exit_3_on_jsonl() {
    held_lock_makes_others_exit_3("jsonl:///held.d");
}

fn held_lock_makes_others_exit_3(url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let target = ["--user", "u1", "--session", "s1"];
    let (mut holder, token) = hold(cli(dir.path(), url), &target);
    assert_eq!(token, 1);
    let again = run(cli(dir.path(), url), &[&["locks", "hold"][..], &target].concat());
    assert_eq!(again.status.code(), Some(3), "{}", String::from_utf8_lossy(&again.stderr));
    assert!(String::from_utf8_lossy(&again.stderr).contains("held by"));
    let chat = run(cli(dir.path(), url), &[&["chat"][..], &target, &["hello"]].concat());
    assert_eq!(chat.status.code(), Some(3));
    let shown: serde_json::Value =
        serde_json::from_str(&ok(run(cli(dir.path(), url), &[&["locks", "show", "--json"][..], &target].concat())))
            .unwrap();
    assert_eq!(shown[0]["held"], serde_json::json!(true));
    drop(holder.stdin.take()); // closing stdin releases
    assert!(holder.wait().unwrap().success());
    let (mut next, token) = hold(cli(dir.path(), url), &target);
    assert_eq!(token, 2);
    drop(next.stdin.take());
    assert!(next.wait().unwrap().success());
}

#[test]
fn a_killed_holder_loses_the_lock_after_the_ttl_and_its_late_write_is_refused() {
    killed_holder_loses_the_lock_after_the_ttl("sqlite:///killed.db");
}

#[test]
fn a_killed_holder_loses_the_lock_after_the_ttl_and_its_late_write_is_refused_on_jsonl() {
    killed_holder_loses_the_lock_after_the_ttl("jsonl:///killed.d");
}

fn killed_holder_loses_the_lock_after_the_ttl(url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let t0 = "2026-06-01T12:00:00Z";
    let target = ["--user", "u1", "--session", "s1", "--ttl", "30s"];
    let mut c = cli(dir.path(), url);
    c.env("NEXAU_SESSION_NOW", t0);
    let (mut holder, token) = hold(c, &target);
    let shown: serde_json::Value = serde_json::from_str(&ok(run(
        cli(dir.path(), url),
        &["locks", "show", "--user", "u1", "--session", "s1", "--json"],
    )))
    .unwrap();
    let dead_holder = shown[0]["holder_id"].as_str().unwrap().to_owned();
    holder.kill().unwrap(); // SIGKILL: no release, no cleanup
    holder.wait().unwrap();

    let at = |now: &str| {
        let mut c = cli(dir.path(), url);
        c.env("NEXAU_SESSION_NOW", now);
        c
    };
    let early = run(at("2026-06-01T12:00:29Z"), &[&["locks", "hold"][..], &target].concat());
    assert_eq!(early.status.code(), Some(3), "taken before the TTL ran out");
    let (mut next, next_token) = hold(at("2026-06-01T12:00:31Z"), &target);
    assert!(next_token > token);

    // The dead holder's late write, fenced with its old token, is refused.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db = absolute(url, dir.path());
        let engine = Engine::builder(&db)
            .clock(Arc::new(nexau_session::ManualClock::at_rfc3339("2026-06-01T12:00:32Z").unwrap()))
            .build()
            .await
            .unwrap();
        engine.setup_models().await.unwrap();
        let root = engine.get_session("u1", "s1").await.unwrap().unwrap().root_agent_id.unwrap();
        let agent = nexau_session::AgentRef::new("u1", "s1", root);
        let late = WriteOptions { fence: Some(Fence { holder_id: dead_holder, token }), ..Default::default() };
        let err = engine.append(&agent, &[support::user("late")], &late).await.unwrap_err();
        assert!(matches!(err, Error::LockExpired(_)), "{err:?}");
        assert!(engine.load(&agent, None).await.unwrap().is_empty());
    });
    drop(next.stdin.take());
    assert!(next.wait().unwrap().success());
}

#[test]
fn four_processes_never_share_the_lock() {
    four_processes_take_turns("sqlite:///procs.db");
}

#[test]
fn four_processes_never_share_the_lock_on_jsonl() {
    four_processes_take_turns("jsonl:///procs.d");
}

fn four_processes_take_turns(url: &'static str) {
    let dir = tempfile::tempdir().unwrap();
    ok(run(cli(dir.path(), url), &["sessions", "create", "--user", "u1", "--session", "s1"]));
    let clock = Arc::new(AtomicU64::new(0));
    let (procs, rounds) = (4, 50);
    let workers: Vec<_> = (0..procs)
        .map(|_| {
            let (dir, clock) = (dir.path().to_owned(), clock.clone());
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                for _ in 0..rounds {
                    let (mut child, token) =
                        hold(cli(&dir, url), &["--user", "u1", "--session", "s1", "--wait", "120s"]);
                    // Both marks fall inside the true holding interval: after
                    // the token is printed, before stdin closes (the release).
                    let enter = clock.fetch_add(1, Ordering::SeqCst);
                    std::thread::yield_now();
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
    }
    let mut tokens: Vec<u64> = all.iter().map(|i| i.0).collect();
    let sorted = {
        let mut t = tokens.clone();
        t.sort();
        t
    };
    assert_eq!(tokens, sorted, "tokens grow with every acquisition");
    tokens.dedup();
    assert_eq!(tokens.len(), procs * rounds, "no token was handed out twice");
}

#[test]
fn two_concurrent_chats_with_wait_both_land_intact() {
    let dir = tempfile::tempdir().unwrap();
    let url = "sqlite:///two.db";
    ok(run(cli(dir.path(), url), &["sessions", "create", "--user", "u1", "--session", "s1"]));
    let children: Vec<Child> = ["message from A", "message from B"]
        .iter()
        .map(|m| {
            cli(dir.path(), url)
                .args(["chat", "--user", "u1", "--session", "s1", "--wait", "60s", m])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        ok(c.wait_with_output().unwrap());
    }
    let messages = history_json(dir.path(), url, "u1", "s1");
    assert_eq!(messages.len(), 4, "{messages:#?}");
    for pair in messages.chunks(2) {
        let said = pair[0]["content"][0]["text"].as_str().unwrap();
        assert_eq!(pair[0]["role"], "user");
        assert_eq!(pair[1]["role"], "assistant");
        let answer = pair[1]["content"][0]["text"].as_str().unwrap();
        assert!(answer.contains(said), "reply {answer:?} does not follow {said:?}: interleaved");
    }
}

/// Waits up to 10 s for `child` to exit.
fn exit_within_10s(child: &mut Child) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the process did not exit within 10 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status().unwrap();
    assert!(status.success(), "kill -{name}");
}

fn lock_held(dir: &Path, url: &str) -> bool {
    let shown: serde_json::Value =
        serde_json::from_str(&ok(run(cli(dir, url), &["locks", "show", "--user", "u1", "--session", "s1", "--json"])))
            .unwrap();
    shown[0]["held"].as_bool().unwrap()
}

#[test]
fn a_signal_releases_the_lock_and_exits_0_while_stdin_stays_open() {
    let dir = tempfile::tempdir().unwrap();
    let url = "sqlite:///signals.db";
    let target = ["--user", "u1", "--session", "s1"];
    // At once after the token line, and later: SIGTERM and SIGINT alike.
    for (name, settle) in [("TERM", 0), ("TERM", 300), ("INT", 300)] {
        let (mut holder, _) = hold(cli(dir.path(), url), &target);
        std::thread::sleep(std::time::Duration::from_millis(settle));
        signal(&holder, name);
        let status = exit_within_10s(&mut holder); // stdin is still open
        assert_eq!(status.code(), Some(0), "SIGTERM after {settle} ms");
        assert!(!lock_held(dir.path(), url), "SIG{name} after {settle} ms left the lock held");
    }
}

#[test]
fn a_signal_stops_a_waiting_command_with_128_plus_the_signal() {
    let dir = tempfile::tempdir().unwrap();
    let url = "sqlite:///waiting.db";
    let target = ["--user", "u1", "--session", "s1"];
    let (mut holder, _) = hold(cli(dir.path(), url), &target);
    let mut waiter = cli(dir.path(), url)
        .args(["locks", "hold", "--wait", "60s"])
        .args(target)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    signal(&waiter, "TERM");
    assert_eq!(exit_within_10s(&mut waiter).code(), Some(143));
    drop(holder.stdin.take());
    assert!(holder.wait().unwrap().success());

    // An append still reading its message from an open stdin stops too, and stores nothing.
    let mut reader = cli(dir.path(), url)
        .args(["history", "append", "--role", "user", "--text", "-"])
        .args(target)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    signal(&reader, "INT");
    assert_eq!(exit_within_10s(&mut reader).code(), Some(130));
    assert!(history_json(dir.path(), url, "u1", "s1").is_empty());
}

#[test]
fn a_lost_lock_exits_4_at_once_while_stdin_stays_open() {
    lost_lock_exits_4_at_once("sqlite:///lost.db");
}

#[test]
fn a_lost_lock_exits_4_at_once_while_stdin_stays_open_on_jsonl() {
    lost_lock_exits_4_at_once("jsonl:///lost.d");
}

fn lost_lock_exits_4_at_once(url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let target = ["--user", "u1", "--session", "s1", "--ttl", "3s", "--heartbeat", "500ms"];
    let at = |now: &str| {
        let mut c = cli(dir.path(), url);
        c.env("NEXAU_SESSION_NOW", now);
        c
    };
    // The first holder's clock stands still; the second's is past the TTL and takes over.
    let (mut first, token) = hold(at("2026-06-01T12:00:00Z"), &target);
    let (mut second, next) = hold(at("2026-06-01T12:00:10Z"), &target);
    assert!(next > token);
    let status = exit_within_10s(&mut first);
    assert_eq!(status.code(), Some(4));
    let mut stderr = String::new();
    std::io::Read::read_to_string(first.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("lost"), "{stderr}");
    drop(first.stdin.take());
    drop(second.stdin.take());
    assert!(second.wait().unwrap().success());
}

#[test]
fn an_unwritable_stdout_after_an_append_exits_5_and_stores_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = "sqlite:///full.db";
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out = cli(dir.path(), url)
        .args(["history", "append", "--user", "u1", "--session", "s1", "--role", "user", "--text", "once"])
        .stdin(Stdio::null())
        .stdout(Stdio::from(full))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("the work was done and stored"), "{stderr}");
    let messages = history_json(dir.path(), url, "u1", "s1");
    assert_eq!(messages.len(), 1, "{messages:?}");
}

/// A message over the kernel's 128 KiB argument limit: through stdin and a file, stored byte-exact.
#[test]
fn a_1_mib_message_goes_in_through_stdin_and_a_file_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    let url = "sqlite:///big.db";
    let big: String = (0..1024 * 1024).map(|i| char::from(b'a' + (i % 26) as u8)).collect::<String>() + "\n€ end";
    let path = dir.path().join("big.txt");
    std::fs::write(&path, &big).unwrap();
    ok(run(
        cli(dir.path(), url),
        &[
            "history",
            "append",
            "--user",
            "u1",
            "--session",
            "s1",
            "--role",
            "user",
            "--text-file",
            path.to_str().unwrap(),
        ],
    ));
    let mut child = cli(dir.path(), url)
        .args(["history", "append", "--user", "u1", "--session", "s1", "--role", "assistant", "--text", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn({
        let big = big.clone();
        move || std::io::Write::write_all(&mut stdin, big.as_bytes()).unwrap()
    });
    ok(child.wait_with_output().unwrap());
    writer.join().unwrap();
    let messages = history_json(dir.path(), url, "u1", "s1");
    assert_eq!(messages.len(), 2);
    for m in &messages {
        assert!(m["content"][0]["text"].as_str().unwrap() == big, "not byte-exact");
    }
}

#[test]
fn a_reader_that_goes_away_makes_no_panic() {
    let dir = tempfile::tempdir().unwrap();
    let url = "sqlite:///pipe.db";
    let big = "x".repeat(1024 * 1024);
    let path = dir.path().join("big.txt");
    std::fs::write(&path, &big).unwrap();
    ok(run(
        cli(dir.path(), url),
        &[
            "history",
            "append",
            "--user",
            "u1",
            "--session",
            "s1",
            "--role",
            "user",
            "--text-file",
            path.to_str().unwrap(),
        ],
    ));
    let mut child = cli(dir.path(), url)
        .args(["history", "show", "--user", "u1", "--session", "s1", "--json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap(); // like `| head -c1`
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.lines().count() == 1 && !stderr.contains("panicked"), "{stderr}");
}

#[test]
fn an_idempotency_key_reused_for_another_message_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let url = "sqlite:///keys.db";
    let append = |text: &str| {
        let args = ["history", "append", "--user", "u1", "--session", "s1", "--role", "user", "--idempotency-key"];
        run(cli(dir.path(), url), &[&args[..], &["k1", "--text", text]].concat())
    };
    let first = ok(append("hello"));
    let retry = ok(append("hello"));
    assert!(first.trim_end().ends_with(" stored") && retry.trim_end().ends_with("already stored"), "{first}{retry}");
    assert_eq!(first.split(' ').next(), retry.split(' ').next(), "the retry names the first action");
    let other = append("goodbye");
    let stderr = String::from_utf8_lossy(&other.stderr);
    assert_eq!(other.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("k1") && stderr.trim().lines().count() == 1, "{stderr}");
    let texts: Vec<_> =
        history_json(dir.path(), url, "u1", "s1").iter().map(|m| m["content"][0]["text"].clone()).collect();
    assert_eq!(texts, ["hello"]);
}
