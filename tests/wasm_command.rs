//! The command component (`nexau-session.wasm`, built by
//! `nexau-session-component`) run by the stock `wasmtime` CLI, against the
//! native binary on one JSONL directory: history written by either is read
//! by the other, message by message; the listings agree; two component
//! processes and a native one appending at once lose nothing; bad input
//! exits 2 with one line and writes nothing.
//!
//! Needs `wasmtime` (48.x) on `PATH`; without it each test prints why it is
//! skipped and passes (`.ci/run` installs it, so CI runs them).

#[path = "support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use support::{cli, hold, ok, run};

/// Where the component sees the store.
const GUEST_DIR: &str = "/data";
const WASM_URL: &str = "jsonl:////data";

/// The `wasmtime` on `PATH`, or `None` with the reason printed.
fn wasmtime() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let found = std::env::split_paths(&path).map(|d| d.join("wasmtime")).find(|p| p.is_file());
    if found.is_none() {
        eprintln!("skipped: no `wasmtime` on PATH (install it: cargo install wasmtime-cli --version 48.0.8 --locked)");
    }
    found
}

/// The component compiled once per test process (`wasmtime compile`), so
/// each run only loads it.
fn precompiled(wasmtime: &Path) -> PathBuf {
    static CWASM: OnceLock<PathBuf> = OnceLock::new();
    CWASM
        .get_or_init(|| {
            // Next to the component, renamed into place: test processes running
            // at once each compile and never see another's half-written file.
            let out = PathBuf::from(format!("{}.cwasm", nexau_session_component::PATH));
            let partial = PathBuf::from(format!("{}.{}.partial", nexau_session_component::PATH, std::process::id()));
            let status = Command::new(wasmtime)
                .arg("compile")
                .arg(nexau_session_component::PATH)
                .arg("-o")
                .arg(&partial)
                .status()
                .expect("run wasmtime compile");
            assert!(status.success(), "wasmtime compile {} failed", nexau_session_component::PATH);
            std::fs::rename(&partial, &out).unwrap();
            out
        })
        .clone()
}

/// `wasmtime run` of the component with `data` as `/data`, `--db jsonl:////data`.
fn wasm(wasmtime: &Path, data: &Path) -> Command {
    let mut c = Command::new(wasmtime);
    c.arg("run")
        .arg("--allow-precompiled")
        .arg("--dir")
        .arg(format!("{}::{GUEST_DIR}", data.display()))
        .arg(precompiled(wasmtime))
        .args(["--db", WASM_URL]);
    c
}

/// The native binary on the same directory.
fn native(data: &Path) -> Command {
    cli(data.parent().unwrap(), &format!("jsonl:///{}", data.display()))
}

/// A fresh directory holding `data/` (the store) and room for input files.
fn scratch() -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    std::fs::create_dir(&data).unwrap();
    (root, data)
}

fn json(out: Output) -> serde_json::Value {
    serde_json::from_str(&ok(out)).unwrap()
}

fn append(c: Command, session: &str, role: &str, text: &str) -> String {
    ok(run(c, &["history", "append", "--user", "u1", "--session", session, "--role", role, "--text", text]))
}

fn show_json(c: Command, session: &str) -> serde_json::Value {
    json(run(c, &["history", "show", "--user", "u1", "--session", session, "--json"]))
}

fn show_text(c: Command, session: &str) -> String {
    ok(run(c, &["history", "show", "--user", "u1", "--session", session]))
}

/// The messages' (role, text of the first block) pairs.
fn roles_and_texts(messages: &serde_json::Value) -> Vec<(String, String)> {
    messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["role"].as_str().unwrap().to_owned(), m["content"][0]["text"].as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn history_moves_both_ways_between_the_component_and_the_native_cli() {
    let Some(wt) = wasmtime() else { return };
    let (_root, data) = scratch();

    // Written by the component, read by the native CLI.
    let first = append(wasm(&wt, &data), "s1", "user", "hello from wasm");
    assert!(first.contains("seq=1 stored"), "{first}");
    append(wasm(&wt, &data), "s1", "assistant", "multi\nline, ünïcode ✓, \"quoted\"");
    let by_native = show_json(native(&data), "s1");
    let by_wasm = show_json(wasm(&wt, &data), "s1");
    assert_eq!(
        roles_and_texts(&by_native),
        [
            ("user".to_owned(), "hello from wasm".to_owned()),
            ("assistant".to_owned(), "multi\nline, ünïcode ✓, \"quoted\"".to_owned())
        ]
    );
    assert_eq!(by_native, by_wasm, "the same messages, ids and times, whoever reads them");

    // Written by the native CLI, read by the component, in order after the others.
    append(native(&data), "s1", "user", "hello from native");
    let by_wasm = show_json(wasm(&wt, &data), "s1");
    let by_native = show_json(native(&data), "s1");
    assert_eq!(by_wasm, by_native);
    assert_eq!(by_wasm.as_array().unwrap().len(), 3);
    assert_eq!(roles_and_texts(&by_wasm)[2], ("user".to_owned(), "hello from native".to_owned()));
    // The text output is the native CLI's too, and so is --limit.
    assert_eq!(show_text(wasm(&wt, &data), "s1"), show_text(native(&data), "s1"));
    let last =
        json(run(wasm(&wt, &data), &["history", "show", "--user", "u1", "--session", "s1", "--limit", "1", "--json"]));
    assert_eq!(roles_and_texts(&last), [("user".to_owned(), "hello from native".to_owned())]);

    // Idempotency keys are honoured across the two.
    let args = ["history", "append", "--user", "u1", "--session", "s2", "--role", "user", "--text", "once"];
    let stored = ok(run(wasm(&wt, &data), &[&args[..], &["--idempotency-key", "k1"]].concat()));
    let again = ok(run(native(&data), &[&args[..], &["--idempotency-key", "k1"]].concat()));
    assert!(stored.contains(" stored") && again.contains("already stored"), "{stored} / {again}");
    assert_eq!(stored.split_whitespace().next(), again.split_whitespace().next(), "the same action");

    // A message from a file (in a second preopened directory) and from stdin.
    std::fs::write(data.parent().unwrap().join("msg.txt"), "from a file").unwrap();
    // `--dir` options belong to wasmtime, before the component.
    let mut from_file = Command::new(&wt);
    from_file
        .arg("run")
        .arg("--allow-precompiled")
        .arg("--dir")
        .arg(format!("{}::{GUEST_DIR}", data.display()))
        .arg("--dir")
        .arg(format!("{}::/in", data.parent().unwrap().display()))
        .arg(precompiled(&wt))
        .args(["--db", WASM_URL]);
    ok(run(
        from_file,
        &["history", "append", "--user", "u1", "--session", "s3", "--role", "user", "--text-file", "/in/msg.txt"],
    ));
    let mut from_stdin = wasm(&wt, &data)
        .args(["history", "append", "--user", "u1", "--session", "s3", "--role", "tool", "--text", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        from_stdin.stdin.take().unwrap().write_all(b"from stdin").unwrap();
    }
    let out = from_stdin.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        roles_and_texts(&show_json(native(&data), "s3")),
        [("user".to_owned(), "from a file".to_owned()), ("tool".to_owned(), "from stdin".to_owned())]
    );
}

#[test]
fn sessions_and_locks_read_the_same_from_both() {
    let Some(wt) = wasmtime() else { return };
    let (_root, data) = scratch();
    assert_eq!(ok(run(wasm(&wt, &data), &["sessions", "create", "--user", "alice", "--session", "a1"])).trim(), "a1");
    let generated = ok(run(wasm(&wt, &data), &["sessions", "create", "--user", "alice"]));
    assert!(generated.trim().starts_with("sess_"), "{generated}");
    ok(run(native(&data), &["sessions", "create", "--user", "bob", "--session", "b1"]));
    append(native(&data), "b1", "user", "hi");

    for args in [
        &["sessions", "list", "--json"][..],
        &["sessions", "list"],
        &["sessions", "list", "--user", "alice", "--json"],
        &["sessions", "list", "--filter", "user_id.eq.bob", "--json"],
        &["sessions", "list", "--order-by", "-session_id", "--limit", "2", "--offset", "1", "--json"],
        &["sessions", "show", "--user", "bob", "--session", "b1", "--json"],
        &["sessions", "show", "--user", "bob", "--session", "b1"],
    ] {
        let (w, n) = (run(wasm(&wt, &data), args), run(native(&data), args));
        assert_eq!(ok(w), ok(n), "{args:?}");
    }
    let bobs = json(run(wasm(&wt, &data), &["sessions", "list", "--filter", "user_id.eq.bob", "--json"]));
    assert_eq!(bobs.as_array().unwrap().len(), 1);

    // A lock held by a native process shows as held through the component.
    let (mut holder, token) = hold(native(&data), &["--user", "u1", "--session", "locked", "--ttl", "60s"]);
    let args = ["locks", "show", "--user", "u1", "--session", "locked", "--json"];
    let by_wasm = json(run(wasm(&wt, &data), &args));
    let by_native = json(run(native(&data), &args));
    drop(holder.stdin.take());
    assert!(holder.wait().unwrap().success());
    assert_eq!(by_wasm, by_native);
    assert_eq!(by_wasm[0]["held"], true);
    assert_eq!(by_wasm[0]["token"], token);
    let text = ok(run(wasm(&wt, &data), &["locks", "show", "--user", "u1", "--session", "locked"]));
    assert!(text.contains("free") && text.contains(&format!("token={token}")), "{text}");

    let missing = run(wasm(&wt, &data), &["locks", "show", "--user", "u1", "--session", "nope"]);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn component_and_native_writers_at_once_lose_nothing() {
    let Some(wt) = wasmtime() else { return };
    let (_root, data) = scratch();
    precompiled(&wt);
    const ROUNDS: usize = 8;
    let workers: Vec<_> = ["wasm-a", "wasm-b", "native"]
        .into_iter()
        .map(|name| {
            let (wt, data) = (wt.clone(), data.clone());
            std::thread::spawn(move || {
                for i in 0..ROUNDS {
                    let c = if name == "native" { native(&data) } else { wasm(&wt, &data) };
                    append(c, "shared", "user", &format!("{name}-{i}"));
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let texts: Vec<String> = roles_and_texts(&show_json(native(&data), "shared")).into_iter().map(|(_, t)| t).collect();
    assert_eq!(texts.len(), 3 * ROUNDS, "{texts:?}");
    for name in ["wasm-a", "wasm-b", "native"] {
        let mine: Vec<&String> = texts.iter().filter(|t| t.starts_with(&format!("{name}-"))).collect();
        let expected: Vec<String> = (0..ROUNDS).map(|i| format!("{name}-{i}")).collect();
        assert_eq!(mine, expected.iter().collect::<Vec<_>>(), "{name}'s appends, each once, in order");
    }
    // The store reads the same from the component, and no write lock is left behind.
    assert_eq!(show_json(wasm(&wt, &data), "shared"), show_json(native(&data), "shared"));
    assert!(!data.join("nexau.lock.held").exists());
}

#[test]
fn bad_input_exits_2_with_one_line_and_writes_nothing() {
    let Some(wt) = wasmtime() else { return };
    let (_root, data) = scratch();
    let cases: [&[&str]; 8] = [
        &["history", "append", "--user", "bad id", "--session", "s", "--role", "user", "--text", "x"],
        &["history", "append", "--user", "u", "--session", "s", "--role", "system", "--text", "x"],
        &["history", "append", "--user", "u", "--session", "s", "--role", "boss", "--text", "x"],
        &["history", "show", "--user", "u", "--session", "s", "--agent", "../x"],
        &["sessions", "list", "--filter", "nope.eq.1"],
        &["sessions", "list", "--order-by", "nope"],
        // The session logic's filters have no form for like: refused, not ignored.
        &["sessions", "list", "--filter", "user_id.like.a*"],
        &["no-such-command"],
    ];
    for args in cases {
        let out = run(wasm(&wt, &data), args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: one line, got {stderr:?}");
        assert!(stderr.starts_with("error:"), "{args:?}: {stderr}");
    }
    // Only the listing cases reached the store (to read the declared columns): nothing was written.
    let listed: Vec<String> =
        std::fs::read_dir(&data).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(
        !listed.iter().any(|f| f == "sessions.jsonl" && std::fs::metadata(data.join(f)).unwrap().len() > 0),
        "{listed:?}"
    );

    // A URL the component cannot serve is bad input too, and creates nothing.
    let mut c = Command::new(&wt);
    c.arg("run").arg("--allow-precompiled").arg(precompiled(&wt));
    let out = run(c, &["--db", "sqlite:///x.db", "sessions", "list"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim_end().lines().count(), 1);

    // A session that does not exist: exit 2, as natively.
    let out = run(wasm(&wt, &data), &["sessions", "show", "--user", "u", "--session", "none"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}
