//! Several real processes on one JSONL directory: four `nexau-session`
//! processes append to two shared sessions at once while some are SIGKILLed
//! at random points. Every append a process reported done (exit 0) must be
//! there exactly once afterwards; one killed may be there once or not at all,
//! never twice or in part; and the files must reopen cleanly, then compact
//! without losing anything.

#[path = "support/mod.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nexau_session::runtime::POOL_ENV;

const URL: &str = "jsonl:///shared.d";
const SESSIONS: [&str; 2] = ["s0", "s1"];

fn cli(dir: &Path) -> Command {
    let mut c = Command::new(support::binary());
    c.current_dir(dir).env_remove("NEXAU_SESSION_NOW").env_remove(POOL_ENV).env("NEXAU_SESSION_DB", URL);
    c
}

/// A small deterministic generator (xorshift), seeded per worker.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// What one worker did: the texts whose append exited 0, and those killed.
#[derive(Default)]
struct Outcome {
    done: Vec<(String, String)>,
    killed: Vec<(String, String)>,
    /// Unfinished writes of killed processes that a later process cut off.
    repairs: usize,
}

/// Appends `rounds` messages, one process each; kills some of them after a
/// random delay (`kill_one_in`: about one in that many; 0 = none).
fn worker(dir: &Path, w: u64, rounds: u64, kill_one_in: u64, seed: u64) -> Outcome {
    let mut rng = Rng(seed.wrapping_mul(2654435761).wrapping_add(w * 97 + 1) | 1);
    let mut out = Outcome::default();
    for i in 0..rounds {
        let session = SESSIONS[rng.below(2) as usize].to_owned();
        let text = format!("w{w}-m{i}");
        let mut child = cli(dir)
            .args(["history", "append", "--user", "u1", "--session", &session, "--role", "user", "--text", &text])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn history append");
        let kill_after = (kill_one_in > 0 && rng.below(kill_one_in) == 0).then(|| rng.below(80));
        if let Some(ms) = kill_after {
            let deadline = Instant::now() + Duration::from_millis(ms);
            while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
                std::thread::sleep(Duration::from_millis(1));
            }
            let _ = child.kill(); // SIGKILL: no cleanup of any kind
        }
        let result = child.wait_with_output().unwrap();
        out.repairs += String::from_utf8_lossy(&result.stderr).matches("cut off an unfinished write").count();
        match result.status.code() {
            Some(0) => out.done.push((session, text)),
            None if kill_after.is_some() => out.killed.push((session, text)),
            code => panic!("append {text} exited {code:?}: {}", String::from_utf8_lossy(&result.stderr)),
        }
    }
    out
}

fn texts_in(dir: &Path, session: &str) -> Vec<String> {
    let out = cli(dir)
        .args(["history", "show", "--user", "u1", "--session", session, "--json"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "the files reopen cleanly: {}", String::from_utf8_lossy(&out.stderr));
    let shown: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    shown
        .iter()
        .map(|m| m["content"].as_str().or_else(|| m["content"][0]["text"].as_str()).unwrap().to_owned())
        .collect()
}

fn check(dir: &Path, outcomes: &[Outcome]) -> usize {
    let mut stored = 0;
    for session in SESSIONS {
        let texts = texts_in(dir, session);
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for t in &texts {
            *counts.entry(t.as_str()).or_default() += 1;
        }
        let done: BTreeSet<&str> =
            outcomes.iter().flat_map(|o| &o.done).filter(|(s, _)| s == session).map(|(_, t)| t.as_str()).collect();
        let killed: BTreeSet<&str> =
            outcomes.iter().flat_map(|o| &o.killed).filter(|(s, _)| s == session).map(|(_, t)| t.as_str()).collect();
        for t in &done {
            assert_eq!(counts.get(t), Some(&1), "acknowledged append {t} in {session} is there exactly once");
        }
        for (t, n) in &counts {
            assert_eq!(*n, 1, "{t} stored {n} times in {session}");
            assert!(done.contains(t) || killed.contains(t), "{t} in {session} was never appended there");
        }
        stored += texts.len();
    }
    stored
}

fn run(kill_one_in: u64, rounds: u64) {
    let dir = tempfile::tempdir().unwrap();
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    println!("seed {seed}");
    for s in SESSIONS {
        let out = cli(dir.path()).args(["sessions", "create", "--user", "u1", "--session", s]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let dir = dir.path().to_owned();
            std::thread::spawn(move || worker(&dir, w, rounds, kill_one_in, seed))
        })
        .collect();
    let outcomes: Vec<Outcome> = workers.into_iter().map(|h| h.join().unwrap()).collect();
    let done: usize = outcomes.iter().map(|o| o.done.len()).sum();
    let killed: usize = outcomes.iter().map(|o| o.killed.len()).sum();
    let repairs: usize = outcomes.iter().map(|o| o.repairs).sum();
    println!("{done} appends acknowledged, {killed} killed, {repairs} unfinished writes cut off");
    assert!(done > 0);
    let stored = check(dir.path(), &outcomes);
    assert!(stored >= done && stored <= done + killed);
    // Compaction keeps all of it, and the store still takes appends.
    let out = cli(dir.path()).arg("compact").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(check(dir.path(), &outcomes), stored);
    let out = cli(dir.path())
        .args(["history", "append", "--user", "u1", "--session", "s0", "--role", "user", "--text", "after"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(texts_in(dir.path(), "s0").last().map(String::as_str), Some("after"));
}

#[test]
fn four_processes_append_to_shared_sessions_and_every_acknowledged_append_is_there_once() {
    run(0, 12);
}

#[test]
fn four_processes_some_killed_at_random_points_lose_no_acknowledged_append() {
    run(2, 25);
}
