//! Histories far larger than the guest's memory, through the real binary on
//! SQLite, with the default limits: the newest messages of a 200 MB history
//! are shown and a chat on it answers; a 60 MB message goes in and comes
//! back byte for byte.

#[path = "support/mod.rs"]
mod support;

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;
use std::process::Output;
use std::time::Instant;

use nexau_session::runtime::Limits;
use nexau_session::{Engine, Message, Role, WriteOptions};
use support::{cli, run};

/// Stdout of a run that must succeed (stderr, not stdout, on failure: stdout
/// may be hundreds of megabytes).
fn ok(what: &str, out: Output) -> Vec<u8> {
    assert!(out.status.success(), "{what}: exit {:?}: {}", out.status.code(), String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn hash(bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

/// Appends `batches` batches of `per_batch` user messages of about `size`
/// bytes each straight through the library (much faster than a process per
/// message); message `i`'s text starts with `i` in five digits.
async fn write_history(url: &str, batches: usize, per_batch: usize, size: usize) {
    let engine = Engine::from_url(url).await.unwrap();
    engine.setup_models().await.unwrap();
    engine.get_or_create_session("u1", Some("s1")).await.unwrap();
    let agent = engine.ensure_agent("u1", "s1", None, "main").await.unwrap().agent_ref();
    let filler = "z".repeat(size);
    for b in 0..batches {
        let batch: Vec<Message> = (0..per_batch)
            .map(|k| Message::from_text(Role::User, format!("{:05} {filler}", b * per_batch + k)))
            .collect();
        engine.append(&agent, &batch, &WriteOptions::default()).await.unwrap();
    }
}

#[test]
fn a_200_mb_history_shows_its_tail_and_chats() {
    const BATCHES: usize = 400;
    const PER_BATCH: usize = 5;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:///{}", dir.path().join("big.db").display());
    let started = Instant::now();
    tokio::runtime::Runtime::new().unwrap().block_on(write_history(&url, BATCHES, PER_BATCH, 100 * 1024));
    let written = started.elapsed();
    let stored: u64 = std::fs::read_dir(dir.path()).unwrap().map(|f| f.unwrap().metadata().unwrap().len()).sum();
    assert!(stored > 200_000_000, "only {stored} bytes stored");

    let args = ["history", "show", "--user", "u1", "--session", "s1", "--limit", "50", "--json"];
    let shown: Vec<serde_json::Value> =
        serde_json::from_slice(&ok("history show --limit 50", run(cli(dir.path(), &url), &args))).unwrap();
    let heads: Vec<String> = shown.iter().map(|m| m["content"][0]["text"].as_str().unwrap()[..5].to_owned()).collect();
    let newest: Vec<String> = (BATCHES * PER_BATCH - 50..BATCHES * PER_BATCH).map(|i| format!("{i:05}")).collect();
    assert_eq!(heads, newest);
    let shown_at = started.elapsed();

    let reply =
        ok("chat", run(cli(dir.path(), &url), &["chat", "--user", "u1", "--session", "s1", "Are you still there?"]));
    assert!(!reply.is_empty(), "chat printed no reply");
    eprintln!(
        "200 MB history: written in {written:.1?}, tail shown after {shown_at:.1?}, chat answered after {:.1?}",
        started.elapsed()
    );
}

/// 60 MB of text that JSON must escape (quotes, backslashes, control
/// characters) and multi-byte UTF-8.
fn text_of_60_mb() -> String {
    let unit = "plain words, \"quoted\", back\\slash, tab\t, newline\n, é, 漢字, 🦀; ";
    unit.repeat(60_000_000 / unit.len())
}

/// `history show --json` of the root agent of u1/s1 holds one message, `text`.
fn shows_exactly(dir: &Path, url: &str, text: &str) {
    let args = ["history", "show", "--user", "u1", "--session", "s1", "--json"];
    let out = ok("history show", run(cli(dir, url), &args));
    let shown: Vec<Message> = serde_json::from_slice(&out).unwrap();
    drop(out);
    assert_eq!(shown.len(), 1);
    let back = shown[0].text();
    assert_eq!(back.len(), text.len(), "length");
    assert!(hash(back.as_bytes()) == hash(text.as_bytes()), "the text came back changed");
}

#[test]
fn a_60_mb_message_comes_back_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:///{}", dir.path().join("one.db").display());
    let text = text_of_60_mb();
    let file = dir.path().join("message.txt");
    std::fs::write(&file, &text).unwrap();
    let append = ["history", "append", "--user", "u1", "--session", "s1", "--role", "assistant", "--text-file"];
    let file = file.to_str().unwrap();
    ok("history append --text-file", run(cli(dir.path(), &url), &[&append[..], &[file]].concat()));
    shows_exactly(dir.path(), &url, &text);
}

/// The read side alone: the message is written through the library with
/// room to spare, and shown by the binary with the default limits.
#[test]
fn a_60_mb_message_written_with_room_to_spare_is_shown_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:///{}", dir.path().join("one.db").display());
    let text = text_of_60_mb();
    let write = async {
        let roomy = Limits { memory_bytes: 2 << 30, host_call_bytes: 1 << 30, ..Limits::default() };
        let engine = Engine::builder(&url).limits(roomy).build().await.unwrap();
        engine.setup_models().await.unwrap();
        engine.get_or_create_session("u1", Some("s1")).await.unwrap();
        let agent = engine.ensure_agent("u1", "s1", None, "main").await.unwrap().agent_ref();
        let message = Message::from_text(Role::Assistant, text.clone());
        engine.append(&agent, &[message], &WriteOptions::default()).await.unwrap();
    };
    tokio::runtime::Runtime::new().unwrap().block_on(write);
    shows_exactly(dir.path(), &url, &text);
}
