//! Hostile input through the real binary: for every row, the exit code, one
//! clean line on stderr (no colour codes, no password), and a store that is
//! exactly as it was before (its files' bytes and its own listings).

#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use nexau_session::runtime::POOL_ENV;

const URL: &str = "sqlite:///store.db";
const SECRET: &str = "s3cret";

/// One hostile invocation.
struct Row {
    args: Vec<String>,
    code: i32,
    db: Option<&'static str>,
    stdin: Vec<u8>,
}

fn row(code: i32, args: &[&str]) -> Row {
    Row { args: args.iter().map(|a| a.to_string()).collect(), code, db: None, stdin: Vec::new() }
}

fn with_db(db: &'static str, code: i32, args: &[&str]) -> Row {
    Row { db: Some(db), ..row(code, args) }
}

fn with_stdin(stdin: &[u8], code: i32, args: &[&str]) -> Row {
    Row { stdin: stdin.to_vec(), ..row(code, args) }
}

fn cli(dir: &Path, db: &str) -> Command {
    let mut c = Command::new(support::binary());
    c.current_dir(dir)
        .env_remove("NEXAU_SESSION_NOW")
        .env_remove("NEXAU_SESSION_LOG")
        .env_remove(POOL_ENV)
        .env("NEXAU_SESSION_DB", db);
    c
}

fn run(dir: &Path, db: &str, args: &[String], stdin: &[u8]) -> Output {
    let mut child = cli(dir, db)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the binary");
    let mut input = child.stdin.take().unwrap();
    let _ = input.write_all(stdin); // a command that never reads stdin may close it first
    drop(input);
    child.wait_with_output().unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let out = run(dir, URL, &args, b"");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// SQLite's write-ahead log header: a log no longer than this holds no write.
const WAL_HEADER: usize = 32;

/// Every file of the store's directory with its bytes, but SQLite's
/// shared-memory index and a write-ahead log without frames: a process that
/// only reads may leave an empty log behind (it exits before closing), and
/// that changes nothing stored; any write lands in the log's frames or in the
/// database file.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut all = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !entry.file_type().unwrap().is_file() || name.ends_with("-shm") || name.starts_with("input") {
            continue;
        }
        let bytes = std::fs::read(entry.path()).unwrap();
        if name.ends_with("-wal") && bytes.len() <= WAL_HEADER {
            continue;
        }
        all.insert(name, bytes);
    }
    all
}

/// Moves every committed write into the database file and empties the
/// write-ahead log. Whether a process checkpoints the log when it exits
/// depends on timing; from this state on, the files change only if
/// something writes.
fn settle(dir: &Path) {
    let conn = rusqlite::Connection::open(dir.join("store.db")).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
}

/// What the store holds, as the CLI itself lists it.
fn listing(dir: &Path) -> (String, String, String) {
    (
        ok(dir, &["sessions", "list", "--json"]),
        ok(dir, &["history", "show", "--user", "u1", "--session", "s1", "--json"]),
        ok(dir, &["locks", "show", "--user", "u1", "--session", "s1", "--json"]),
    )
}

fn rows(dir: &Path) -> Vec<Row> {
    let long = "x".repeat(129);
    let missing = dir.join("input-missing.txt");
    let not_utf8 = dir.join("input-latin1.txt");
    std::fs::write(&not_utf8, b"caf\xe9\n").unwrap();
    let subdir = dir.join("input-dir");
    std::fs::create_dir_all(&subdir).unwrap();
    let (missing, not_utf8, subdir) =
        (missing.display().to_string(), not_utf8.display().to_string(), subdir.display().to_string());
    let append = |user: &str, session: &str, rest: &[&str]| {
        let mut a = vec!["history", "append", "--user", user, "--session", session, "--role", "user"];
        a.extend_from_slice(rest);
        a.iter().map(|s| s.to_string()).collect::<Vec<String>>()
    };
    let r = |code, args: Vec<String>| Row { args, code, db: None, stdin: Vec::new() };
    let many_filters: Vec<String> = std::iter::once("sessions".to_owned())
        .chain(std::iter::once("list".to_owned()))
        .chain((0..2000).flat_map(|i| ["--filter".to_owned(), format!("session_id.neq.s{i}")]))
        .collect();
    let wide_filter = format!("and=({})", vec!["user_id.eq.u1"; 2000].join(","));
    // `--component`: a core module is WebAssembly but not a component.
    let core_module = dir.join("input-core.wasm");
    std::fs::write(&core_module, b"\0asm\x01\0\0\0").unwrap();
    let core_module = core_module.display().to_string();
    let with_component = |path: &str| {
        let mut a = vec!["--component".to_owned(), path.to_owned()];
        a.extend(append("u1", "fresh", &["--text", "x"]));
        a
    };
    vec![
        // another build of the component: missing, a directory, not wasm, not a component
        r(2, with_component(&missing)),
        r(2, with_component(&subdir)),
        r(2, with_component(&not_utf8)),
        r(2, with_component(&core_module)),
        // ids
        r(2, append("u 1", "s1", &["--text", "x"])),
        r(2, append("u1", "a/b", &["--text", "x"])),
        r(2, append("../etc", "s1", &["--text", "x"])),
        r(2, append("", "s1", &["--text", "x"])),
        r(2, append("u1", &long, &["--text", "x"])),
        r(2, append("ü", "s1", &["--text", "x"])),
        r(2, append("u1", "s'; DROP TABLE sessions; --", &["--text", "x"])),
        r(2, append("u1", "\"quoted\"", &["--text", "x"])),
        r(2, append("u1", "fresh", &["--agent", "a b", "--text", "x"])),
        r(2, append("u1", "fresh", &["--idempotency-key", "bad key", "--text", "x"])),
        row(2, &["chat", "--user", "u1", "--session", "fresh", "--agent", "x/y", "hello"]),
        row(2, &["locks", "hold", "--user", "u1", "--session", "fresh", "--agent", "x y"]),
        row(2, &["sessions", "create", "--user", "u1", "--session", "a b"]),
        row(2, &["sessions", "delete", "--user", "u1", "--session", "../s1"]),
        row(2, &["demo", "--user", "a b"]),
        row(2, &["cleanup", "--older-than", "1s", "--user", "u/1"]),
        // filters, sort keys, cursors, export/import/migrate inputs
        row(2, &["sessions", "list", "--filter", "nope.eq.1"]),
        row(2, &["sessions", "list", "--filter", "and=(user_id.eq.a"]),
        row(2, &["sessions", "list", "--filter", "user_id.like.a\\"]),
        row(2, &["sessions", "list", "--order-by", "-nope"]),
        row(2, &["sessions", "list", "--after", "u1"]),
        row(2, &["sessions", "list", "--after", "u1/a b"]),
        row(2, &["sessions", "list", "--after", "u1/s1", "--order-by", "root_agent_id"]),
        row(2, &["export", "--filter", "version.like.1"]),
        row(2, &["export", "--user", "a b"]),
        row(2, &["import", "no-such-file.jsonl"]),
        row(2, &["import", "."]),
        with_stdin(b"not an export\n", 2, &["import", "-"]),
        with_stdin(b"{\"format\":\"nexau-session-export\",\"version\":99}\n", 2, &["import", "-"]),
        row(2, &["migrate", "--to", "redis://x"]),
        row(2, &["migrate", "--to", URL]),
        // roles
        r(
            2,
            vec!["history", "append", "--user", "u1", "--session", "fresh", "--role", "boss", "--text", "x"]
                .into_iter()
                .map(String::from)
                .collect(),
        ),
        r(
            2,
            vec!["history", "append", "--user", "u1", "--session", "fresh", "--role", "system", "--text", "x"]
                .into_iter()
                .map(String::from)
                .collect(),
        ),
        r(
            2,
            vec!["history", "append", "--user", "u1", "--session", "fresh", "--role", "", "--text", "x"]
                .into_iter()
                .map(String::from)
                .collect(),
        ),
        // durations
        row(2, &["locks", "hold", "--user", "u1", "--session", "fresh", "--ttl", "0s"]),
        row(2, &["locks", "hold", "--user", "u1", "--session", "fresh", "--ttl", "abc"]),
        row(2, &["locks", "hold", "--user", "u1", "--session", "fresh", "--ttl", "100000d"]),
        row(2, &["locks", "hold", "--user", "u1", "--session", "fresh", "--ttl", "30s", "--heartbeat", "20s"]),
        row(2, &["locks", "hold", "--user", "u1", "--session", "fresh", "--wait", "999999999999999999999s"]),
        row(2, &["chat", "--user", "u1", "--session", "fresh", "--ttl", "0s", "hello"]),
        row(2, &["cleanup", "--older-than", "abc"]),
        row(2, &["cleanup", "--older-than", "99999999999999999999999y"]),
        // URLs
        with_db("redis://x", 2, &["sessions", "list"]),
        with_db(
            "nonsense",
            2,
            &["history", "append", "--user", "u1", "--session", "s1", "--role", "user", "--text", "x"],
        ),
        with_db(
            "sqlite:///store.db?mode=ro",
            2,
            &["history", "append", "--user", "u1", "--session", "fresh", "--role", "user", "--text", "x"],
        ),
        with_db("sqlite:///other.db?cache=shared", 2, &["sessions", "create", "--user", "u1"]),
        with_db("memory://?x=1", 2, &["sessions", "list"]),
        with_db("jsonl:///store.d?sync=sometimes", 2, &["sessions", "create", "--user", "u1"]),
        with_db("jsonl:///store.d?mode=ro", 2, &["sessions", "list"]),
        // A server that does not answer is a storage failure (exit 1), an
        // option the backend does not take is bad input (exit 2).
        with_db("postgresql+asyncpg://app:s3cret@127.0.0.1:1/x", 1, &["sessions", "list"]),
        with_db("postgresql+asyncpg://app:s3cret@127.0.0.1:1/x?sslmode=require", 2, &["sessions", "list"]),
        with_db(
            "mysql://root:s3cret@127.0.0.1:1/t",
            1,
            &["history", "append", "--user", "u1", "--session", "fresh", "--role", "user", "--text", "x"],
        ),
        with_db("mysql://root:s3cret@127.0.0.1:1/t?pool_size=0", 2, &["sessions", "list"]),
        with_db("redis://app:s3cret@h", 2, &["sessions", "list"]),
        // filters
        row(2, &["sessions", "list", "--filter", "nope.eq.1"]),
        row(2, &["sessions", "list", "--filter", "and=(user_id.eq.a"]),
        row(2, &["sessions", "list", "--filter", "updated_at.lt.yesterday"]),
        r(2, many_filters),
        row(2, &["sessions", "list", "--filter", &wide_filter]),
        // text sources
        r(2, append("u1", "fresh", &["--text-file", &missing])),
        r(2, append("u1", "fresh", &["--text-file", &subdir])),
        r(2, append("u1", "fresh", &["--text-file", &not_utf8])),
        r(2, append("u1", "fresh", &["--text", "x", "--text-file", &not_utf8])),
        r(2, append("u1", "fresh", &[])),
        Row { stdin: b"caf\xe9".to_vec(), ..r(2, append("u1", "fresh", &["--text", "-"])) },
        // limits
        row(2, &["history", "show", "--user", "u1", "--session", "s1", "--limit", "-1"]),
        row(2, &["history", "show", "--user", "u1", "--session", "s1", "--limit", "4294967296"]),
        row(2, &["sessions", "list", "--limit", "abc"]),
        row(2, &["sessions", "list", "--offset", "-5"]),
        row(2, &["bench", "--backend", "redis"]),
        // missing things
        row(2, &["locks", "show", "--user", "u1", "--session", "nope"]),
        row(2, &["sessions", "show", "--user", "u1", "--session", "nope"]),
        row(2, &["history", "show", "--user", "u1", "--session", "nope"]),
        row(2, &["sessions", "delete", "--user", "u1", "--session", "nope"]),
        // usage
        row(2, &["sessions", "list", "--frobnicate"]),
        row(2, &["history", "append", "--user", "u1"]),
        row(2, &[]),
        with_stdin(b"", 2, &["nonsense-command"]),
    ]
}

#[test]
fn hostile_input_exits_with_one_clean_line_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    ok(dir, &["history", "append", "--user", "u1", "--session", "s1", "--role", "user", "--text", "hello"]);
    let before = listing(dir);
    let rows = rows(dir);
    settle(dir);
    let bytes = files(dir);
    assert!(bytes.contains_key("store.db"), "{:?}", bytes.keys());
    let mut failures = Vec::new();
    for row in &rows {
        let out = run(dir, row.db.unwrap_or(URL), &row.args, &row.stdin);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        let what = format!(
            "{:?} (db {:?})",
            row.args.iter().map(|a| a.chars().take(60).collect::<String>()).take(12).collect::<Vec<_>>(),
            row.db
        );
        if out.status.code() != Some(row.code) {
            failures.push(format!("{what}: exit {:?}, want {}: {stderr}", out.status.code(), row.code));
        } else if lines.len() != 1 || lines[0].trim().is_empty() {
            failures.push(format!("{what}: stderr is not one line: {stderr:?}"));
        } else if stderr.contains('\x1b') || stderr.contains(SECRET) || stderr.contains("panicked") {
            failures.push(format!("{what}: stderr shows colour codes, a password or a panic: {stderr:?}"));
        }
        let now = files(dir);
        if now != bytes {
            let changed: Vec<&String> =
                now.keys().chain(bytes.keys()).filter(|k| now.get(*k) != bytes.get(*k)).collect();
            failures.push(format!("{what}: the store's files changed: {changed:?}"));
            break;
        }
    }
    assert!(failures.is_empty(), "{} of {} rows failed:\n{}", failures.len(), rows.len(), failures.join("\n"));
    assert_eq!(listing(dir), before, "the store's listings changed");
}
