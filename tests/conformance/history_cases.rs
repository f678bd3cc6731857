//! History cases of the conformance suite: the stored timeline against a
//! plain replay of the log, paged loads, idempotency keys, bounded tail reads
//! and corrupt counters.

use std::sync::Arc;

use nexau_session::runtime::Limits;
use nexau_session::storage::{CheckedStore, DbUrl, Filter, SchemaRegistry, Value, backends};
use nexau_session::{
    AgentRef, AgentRunActionModel, ContentBlock, Engine, Error, HistoryAction, Message, PageStart, Role, RunStatus,
    WriteOptions,
};
use serde_json::json;

use crate::support::{self, TestBackend, root_agent, texts, user};

/// The text of the error result a load adds after an unanswered tool call.
const INTERRUPTED: &str = "The tool call was interrupted before it returned a result.";

/// A small deterministic PRNG (xorshift64*): a failing sequence is replayed
/// from its seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True `percent` times out of 100.
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// A message of a generated sequence, as the model sees it.
#[derive(Debug, Clone)]
struct Msg {
    /// Unique per sequence: tells which copy of a repeated id was kept.
    tag: String,
    /// The id the caller gave (`None`: the session logic makes one).
    id: Option<String>,
    role: Role,
    /// Ids of the `tool_use` blocks (assistant messages).
    calls: Vec<String>,
    /// Ids the `tool_result` blocks answer (tool messages).
    answers: Vec<String>,
    created_at: String,
}

impl Msg {
    fn to_message(&self) -> Message {
        let mut content = vec![ContentBlock::Text { text: self.tag.clone() }];
        for c in &self.calls {
            content.push(ContentBlock::ToolUse { id: c.clone(), name: "search".into(), input: json!({"q": c}) });
        }
        for a in &self.answers {
            content.push(ContentBlock::ToolResult { tool_use_id: a.clone(), content: json!("ok"), is_error: false });
        }
        Message {
            id: self.id.clone().unwrap_or_default(),
            role: self.role,
            content,
            metadata: json!({}),
            created_at: self.created_at.clone(),
        }
    }
}

/// One action of a generated sequence.
#[derive(Debug, Clone)]
enum Act {
    Append(Vec<Msg>),
    Replace(Vec<Msg>),
    Undo(String),
    RunStart,
    RunEnd,
}

#[derive(Debug, Clone)]
struct Step {
    run: Option<String>,
    act: Act,
}

/// The conversation a log means, replayed step by step: from the newest
/// replace on, each run's start is the message count at its first action
/// (before de-duplication), and `undo(run)` truncates back to it.
#[derive(Default)]
struct Model {
    msgs: Vec<Msg>,
    /// (run, message count at its first action since the newest replace,
    /// whether a later undo cut below that count).
    runs: Vec<(String, usize, bool)>,
}

impl Model {
    fn apply(&mut self, step: &Step) {
        if let Act::Replace(_) = step.act {
            self.msgs.clear();
            self.runs.clear();
        }
        if let Some(r) = &step.run
            && !self.runs.iter().any(|(id, _, _)| id == r)
        {
            self.runs.push((r.clone(), self.msgs.len(), false));
        }
        match &step.act {
            Act::Append(m) => self.msgs.extend(m.iter().cloned()),
            Act::Replace(m) => self.msgs = m.clone(),
            Act::Undo(r) => {
                if let Some(at) = self.runs.iter().find(|(id, _, _)| id == r).map(|(_, at, _)| *at) {
                    self.msgs.truncate(at);
                    for (_, start, cut_below) in &mut self.runs {
                        *cut_below |= *start > at;
                    }
                }
            }
            Act::RunStart | Act::RunEnd => {}
        }
    }

    /// Whether an undo of `run` may be generated; see [`generate`].
    fn undo_is_comparable(&self, run: &str) -> bool {
        !self.runs.iter().any(|(id, _, cut_below)| id == run && *cut_below)
    }

    /// The expected load, each message described as [`describe`] does:
    /// de-duplicated (the first of each given id), and every call of an
    /// assistant message that the tool messages right after it leave
    /// unanswered given an error result after them.
    fn expected(&self) -> Vec<String> {
        let mut kept: Vec<&Msg> = Vec::new();
        for m in &self.msgs {
            if m.id.is_none() || !kept.iter().any(|k| k.id == m.id) {
                kept.push(m);
            }
        }
        let mut out = Vec::new();
        let mut pending: Vec<String> = Vec::new();
        for (i, m) in kept.iter().enumerate() {
            if m.role != Role::Tool {
                out.append(&mut pending);
            }
            out.push(describe_msg(m));
            if m.role == Role::Assistant {
                // Only the tool messages right after the call answer it.
                let answers = kept[i + 1..].iter().take_while(|later| later.role == Role::Tool);
                let answered: Vec<&String> = answers.flat_map(|later| &later.answers).collect();
                for c in &m.calls {
                    if !answered.contains(&c) {
                        pending.push(repair_description(c, &m.created_at));
                    }
                }
            }
        }
        out.append(&mut pending);
        out
    }
}

/// The synthetic error result for tool call `id`, as [`describe`] shows it.
fn repair_description(id: &str, created_at: &str) -> String {
    let repair = json!({
        "id": format!("msg_repair_{id}"),
        "role": "tool",
        "content": [{"type": "tool_result", "tool_use_id": id, "content": INTERRUPTED, "is_error": true}],
        "metadata": {"repaired": true},
        "created_at": created_at,
    });
    format!("repair {repair}")
}

fn role_name(role: Role) -> String {
    serde_json::to_value(role).unwrap().as_str().unwrap().to_owned()
}

fn describe_msg(m: &Msg) -> String {
    format!("{} {} {}", role_name(m.role), m.tag, m.id.as_deref().unwrap_or("*"))
}

/// A loaded message in a comparable form: role, tag and given id (`*` for an
/// id the session logic made), or a repair in full.
fn describe(m: &Message) -> String {
    if m.metadata == json!({"repaired": true}) {
        return repair_description_of(m);
    }
    let id = if m.id.starts_with("msg_") { "*" } else { m.id.as_str() };
    format!("{} {} {id}", role_name(m.role), m.text())
}

fn repair_description_of(m: &Message) -> String {
    format!("repair {}", serde_json::to_value(m).unwrap())
}

/// A random sequence of 5 to 30 actions: appends and replaces of messages
/// with given ids from a small pool (so that ids repeat) or none, assistant
/// `tool_use`s and tool `tool_result`s from a small pool of call ids, undos
/// of runs seen before or never seen, and run starts and ends.
///
/// No undo is generated of a run whose start an earlier undo already cut
/// below: `write` rewinds to the number of messages the conversation had at
/// the run's first action, counted after de-duplication, and once the
/// messages before that point were dropped and others appended, that count
/// and the count of a replay before de-duplication name different places.
fn generate(rng: &mut Rng) -> Vec<Step> {
    let mut model = Model::default();
    let mut steps = Vec::new();
    let mut tags = 0;
    let mut run: Option<String> = None;
    let mut message = |rng: &mut Rng| {
        tags += 1;
        let role = match rng.below(10) {
            0..=2 => Role::User,
            3..=6 => Role::Assistant,
            7..=8 => Role::Tool,
            _ => Role::Framework,
        };
        let pick_call = |rng: &mut Rng| format!("call_{}", rng.below(6));
        let calls = if role == Role::Assistant { (0..rng.below(3)).map(|_| pick_call(rng)).collect() } else { vec![] };
        let answers = if role == Role::Tool { (0..1 + rng.below(2)).map(|_| pick_call(rng)).collect() } else { vec![] };
        Msg {
            tag: format!("m{tags}"),
            id: rng.chance(40).then(|| format!("given_{}", rng.below(6))),
            role,
            calls,
            answers,
            created_at: format!("2026-05-01T00:{:02}:{:02}Z", tags / 60 % 60, tags % 60),
        }
    };
    for _ in 0..5 + rng.below(26) {
        let roll = rng.below(100);
        let act = if roll < 12 {
            run = Some(format!("run_{}", rng.below(6)));
            Act::RunStart
        } else if roll < 20 && run.is_some() {
            Act::RunEnd
        } else if roll < 35 {
            let target = if rng.chance(15) { "run_unknown".to_owned() } else { format!("run_{}", rng.below(6)) };
            if model.undo_is_comparable(&target) { Act::Undo(target) } else { Act::Undo("run_unknown".into()) }
        } else if roll < 43 {
            Act::Replace((0..rng.below(4)).map(|_| message(rng)).collect())
        } else {
            Act::Append((0..1 + rng.below(4)).map(|_| message(rng)).collect())
        };
        let step = match act {
            Act::RunStart | Act::RunEnd => Step { run: run.clone(), act },
            act => Step { run: if rng.chance(80) { run.clone() } else { None }, act },
        };
        model.apply(&step);
        steps.push(step);
    }
    steps
}

async fn write_step(e: &Engine, agent: &AgentRef, step: &Step) {
    let action = match &step.act {
        Act::Append(m) => HistoryAction::Append(m.iter().map(Msg::to_message).collect()),
        Act::Replace(m) => HistoryAction::Replace(m.iter().map(Msg::to_message).collect()),
        Act::Undo(r) => HistoryAction::Undo { before_run_id: r.clone() },
        Act::RunStart => HistoryAction::RunStart { root_run_id: None, parent_run_id: None, agent_name: None },
        Act::RunEnd => HistoryAction::RunEnd(RunStatus::Ok),
    };
    let options = WriteOptions { run_id: step.run.clone(), ..Default::default() };
    e.write(agent, &action, &options).await.unwrap_or_else(|err| panic!("{step:?}: {err:?}"));
}

/// The last `n` of `v`.
fn last<T: Clone>(v: &[T], n: usize) -> Vec<T> {
    v[v.len().saturating_sub(n)..].to_vec()
}

/// The history as the component's `load` gives it in one piece (one read of
/// every live row, not pages), described.
async fn loaded_whole(e: &Engine, agent: &AgentRef, last: Option<u32>) -> Vec<String> {
    let json = e.load_json(agent, last).await.unwrap();
    serde_json::from_str::<Vec<Message>>(&json).unwrap().iter().map(describe).collect()
}

/// Random sequences of actions (see [`generate`]): after some of their
/// steps and after the last, the whole history and its newest N messages
/// are what [`Model`] expects, read in pages and in one piece.
pub async fn history_matches_a_plain_replay(b: &TestBackend) {
    const SEQUENCES: u64 = 200;
    let e = support::engine(b).await;
    for seed in 0..SEQUENCES {
        let mut rng = Rng::new(seed);
        let steps = generate(&mut rng);
        let agent = root_agent(&e, "replay", &format!("s{seed}")).await;
        let mut model = Model::default();
        for (i, step) in steps.iter().enumerate() {
            write_step(&e, &agent, step).await;
            model.apply(step);
            // The whole history after some steps, not only the last one.
            if i + 1 < steps.len() && !rng.chance(25) {
                continue;
            }
            let want = model.expected();
            let got: Vec<String> = e.load(&agent, None).await.unwrap().iter().map(describe).collect();
            assert_eq!(got, want, "seed {seed}, after step {i} of {steps:#?}");
            assert_eq!(loaded_whole(&e, &agent, None).await, want, "seed {seed}, after step {i}, in one piece");
        }
        let want = model.expected();
        for n in [0, 1, 2, 3, want.len().saturating_sub(1), want.len(), want.len() + 3, rng.below(want.len() + 1)] {
            let got: Vec<String> = e.load(&agent, Some(n as u32)).await.unwrap().iter().map(describe).collect();
            assert_eq!(got, last(&want, n), "seed {seed}, last {n} of {steps:#?}");
            assert_eq!(
                loaded_whole(&e, &agent, Some(n as u32)).await,
                last(&want, n),
                "seed {seed}, last {n}, in one piece"
            );
        }
    }
}

/// Whether message `i` of `history` is a tool message in the run of tool
/// messages that follows an assistant message (a page must not start there).
fn inside_tool_results(history: &[Message], i: usize) -> bool {
    let mut at = i;
    while at > 0 && history[at].role == Role::Tool {
        at -= 1;
    }
    history[i].role == Role::Tool && at < i && history[at].role == Role::Assistant
}

/// Reads the pages from `start` on, checking that none is empty.
async fn pages(e: &Engine, agent: &AgentRef, start: PageStart, max_bytes: u32) -> Vec<Vec<Message>> {
    let mut out = Vec::new();
    let mut start = start;
    loop {
        let page = e.load_page(agent, start, max_bytes).await.unwrap();
        assert!(!page.messages.is_empty(), "an empty page from {start:?}");
        out.push(page.messages);
        match page.next {
            Some(c) => start = PageStart::After(c),
            None => return out,
        }
    }
}

/// A history with tool calls, their results, dangling calls (repaired on
/// load), a duplicated id and messages of very different sizes.
async fn history_with_tool_calls(e: &Engine, agent: &AgentRef, rounds: usize) {
    let mut rng = Rng::new(7);
    let mut tag = 0;
    let mut next = |role: Role, calls: Vec<String>, answers: Vec<String>, rng: &mut Rng| {
        tag += 1;
        let filler = "x".repeat(rng.below(300));
        Msg {
            tag: format!("p{tag} {filler}"),
            id: None,
            role,
            calls,
            answers,
            created_at: format!("2026-05-02T00:00:{:02}Z", tag % 60),
        }
    };
    for round in 0..rounds {
        let mut batch = vec![next(Role::User, vec![], vec![], &mut rng)];
        let calls: Vec<String> = (0..rng.below(4)).map(|k| format!("call_{round}_{k}")).collect();
        batch.push(next(Role::Assistant, calls.clone(), vec![], &mut rng));
        for c in &calls {
            if rng.chance(60) {
                batch.push(next(Role::Tool, vec![], vec![c.clone()], &mut rng));
            }
        }
        if round % 5 == 4 {
            let mut again = batch[0].clone();
            again.id = Some(format!("dup_{round}"));
            batch.insert(0, again.clone());
            batch.push(Msg { tag: "a later copy".into(), ..again });
        }
        let messages: Vec<Message> = batch.iter().map(Msg::to_message).collect();
        e.append(agent, &messages, &WriteOptions::default()).await.unwrap();
    }
}

pub async fn pages_concatenate_to_the_whole_history(b: &TestBackend) {
    let e = support::engine(b).await;
    let agent = root_agent(&e, "alice", "paged").await;
    history_with_tool_calls(&e, &agent, 40).await;
    let whole = e.load(&agent, None).await.unwrap();
    assert!(whole.iter().any(|m| m.metadata == json!({"repaired": true})), "the history has repairs");
    for max_bytes in [1, 200, 1000, 5000] {
        let paged = pages(&e, &agent, PageStart::Beginning, max_bytes).await;
        if max_bytes <= 1000 {
            assert!(paged.len() > 10, "{max_bytes}: only {} pages", paged.len());
        }
        let mut starts = Vec::new();
        let mut seen = 0;
        for page in &paged {
            starts.push(seen);
            seen += page.len();
        }
        let joined: Vec<Message> = paged.concat();
        assert_eq!(joined, whole, "max_bytes {max_bytes}");
        for s in starts {
            assert!(!inside_tool_results(&whole, s), "max_bytes {max_bytes}: a page starts inside tool results at {s}");
        }
        // Pages from the tail hold the newest N (and a few more).
        for n in [1, 5, 17, whole.len() as u32] {
            let tail: Vec<Message> = pages(&e, &agent, PageStart::Last(n), max_bytes).await.concat();
            assert!(tail.len() >= n as usize, "last {n}: {} messages", tail.len());
            assert_eq!(last(&tail, n as usize), last(&whole, n as usize), "last {n}, max_bytes {max_bytes}");
        }
    }

    // An append between two pages: the next page carries on.
    let first = e.load_page(&agent, PageStart::Beginning, 200).await.unwrap();
    let cursor = first.next.expect("more than one page");
    e.append(&agent, &[user("appended between pages")], &WriteOptions::default()).await.unwrap();
    let mut joined = first.messages;
    joined.extend(pages(&e, &agent, PageStart::After(cursor), 200).await.concat());
    assert_eq!(joined, e.load(&agent, None).await.unwrap());
    assert_eq!(joined.last().unwrap().text(), "appended between pages");

    // An undo or a replace between two pages: the cursor is stale.
    let run = WriteOptions { run_id: Some("run_late".into()), ..Default::default() };
    e.append(&agent, &[user("to be undone")], &run).await.unwrap();
    let cursor = e.load_page(&agent, PageStart::Beginning, 200).await.unwrap().next.unwrap();
    e.write(&agent, &HistoryAction::Undo { before_run_id: "run_late".into() }, &WriteOptions::default()).await.unwrap();
    let err = e.load_page(&agent, PageStart::After(cursor), 200).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "after an undo: {err:?}");
    assert_eq!(e.load(&agent, None).await.unwrap(), joined, "the undo dropped the run");

    let cursor = e.load_page(&agent, PageStart::Beginning, 200).await.unwrap().next.unwrap();
    e.write(&agent, &HistoryAction::Replace(vec![user("summary")]), &WriteOptions::default()).await.unwrap();
    let err = e.load_page(&agent, PageStart::After(cursor), 200).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "after a replace: {err:?}");
    let fresh = e.load_page(&agent, PageStart::Beginning, 200).await.unwrap();
    assert_eq!((texts(&fresh.messages), fresh.next), (vec!["summary".to_owned()], None));
}

pub async fn idempotency_key_reused_for_other_content_is_refused(b: &TestBackend) {
    let e = support::engine(b).await;
    let a = root_agent(&e, "alice", "s1").await;
    let keyed = |run: &str| WriteOptions {
        run_id: Some(run.into()),
        idempotency_key: Some("run_1:step_1".into()),
        ..Default::default()
    };
    let first = e.append(&a, &[assistant_text("the answer")], &keyed("run_1")).await.unwrap();
    let retry = e.append(&a, &[assistant_text("the answer")], &keyed("run_1")).await.unwrap();
    assert!(first.stored && !retry.stored);
    assert_eq!((retry.action_id.as_str(), retry.seq), (first.action_id.as_str(), first.seq));

    let others = [
        (HistoryAction::Append(vec![assistant_text("another answer")]), keyed("run_1")),
        (HistoryAction::Append(vec![assistant_text("the answer"), user("and more")]), keyed("run_1")),
        (HistoryAction::Append(vec![assistant_text("the answer")]), keyed("run_2")),
        (HistoryAction::Replace(vec![assistant_text("the answer")]), keyed("run_1")),
        (HistoryAction::Undo { before_run_id: "run_1".into() }, keyed("run_1")),
        (HistoryAction::RunEnd(RunStatus::Ok), keyed("run_1")),
    ];
    for (action, options) in &others {
        let err = e.write(&a, action, options).await.unwrap_err();
        assert!(matches!(&err, Error::Invalid(m) if m.contains("run_1:step_1")), "{action:?}: {err:?}");
    }
    assert_eq!(e.count::<AgentRunActionModel>(Filter::eq("agent_id", a.agent_id.as_str())).await.unwrap(), 1);
    assert_eq!(texts(&e.load(&a, None).await.unwrap()), ["the answer"]);
    // The first request is still recognized after the refused ones.
    let again = e.append(&a, &[assistant_text("the answer")], &keyed("run_1")).await.unwrap();
    assert_eq!((again.action_id, again.stored), (first.action_id, false));
}

fn assistant_text(text: &str) -> Message {
    Message::from_text(Role::Assistant, text)
}

/// The tail of a long history is read alone: with a per-call storage budget
/// of 1 MiB, the newest messages of a 4 MB history load, while the whole
/// history in one call is refused (so the budget does bind).
pub async fn tail_reads_only_what_it_returns(b: &TestBackend) {
    let limits = Limits { host_call_bytes: 1 << 20, ..Limits::default() };
    let e = Engine::builder(&b.url).clock(support::test_clock() as Arc<_>).limits(limits).build().await.unwrap();
    e.setup_models().await.unwrap();
    let a = root_agent(&e, "alice", "s1").await;
    let filler = "y".repeat(100 * 1024);
    for i in 0..40 {
        e.append(&a, &[user(&format!("{i:02} {filler}"))], &WriteOptions::default()).await.unwrap();
    }
    let err = e.load_json(&a, None).await.unwrap_err();
    assert!(matches!(&err, Error::Runtime(r) if r.message().contains("Limits::host_call_bytes")), "{err:?}");
    for n in [1, 3, 5] {
        let tail = e.load(&a, Some(n)).await.unwrap();
        let heads: Vec<String> = tail.iter().map(|m| m.text()[..2].to_owned()).collect();
        let want: Vec<String> = (40 - n..40).map(|i| format!("{i:02}")).collect();
        assert_eq!(heads, want);
    }
    let page = e.load_page(&a, PageStart::Last(2), 1).await.unwrap();
    assert_eq!(page.messages.len(), 1, "a page of 1 byte holds one message");
}

/// Counters no write could produce make history calls fail with a storage
/// error that says so, and nothing is written. The test changes the agent row
/// underneath the engine, through a second backend on the same store.
pub async fn corrupt_counters_fail_and_write_nothing(b: &TestBackend) {
    let e = support::engine(b).await;
    let a = root_agent(&e, "alice", "s1").await;
    let run = WriteOptions { run_id: Some("run_1".into()), ..Default::default() };
    e.append(&a, &[user("one"), assistant_text("two")], &run).await.unwrap();
    let before = e.load(&a, None).await.unwrap();

    let second = backends::open(&DbUrl::parse(&b.url).unwrap()).await.unwrap();
    let raw = CheckedStore::new(second, SchemaRegistry::new(), e.scope());
    let tables = ["agents", "agent_messages", "agent_run_actions"];
    raw.setup_models(tables.iter().map(|t| e.table_schema(t).unwrap()).collect()).await.unwrap();
    let agent_row = || {
        Filter::and([
            Filter::eq("user_id", a.user_id.as_str()),
            Filter::eq("session_id", a.session_id.as_str()),
            Filter::eq("agent_id", a.agent_id.as_str()),
        ])
    };
    let counts = async || {
        let mut n = Vec::new();
        for t in tables {
            n.push(raw.count(t, &Filter::All).await.unwrap());
        }
        n
    };
    let rows_before = counts().await;

    for (column, bad) in [
        ("next_seq", Value::Int(-5)),
        ("live_count", Value::Int(-1)),
        ("generation", Value::Int(-2)),
        ("epoch", Value::Null),
    ] {
        let found = raw.find("agents", &nexau_session::storage::Query::filter(agent_row())).await.unwrap();
        let good = found.rows[0][found.position(column).unwrap()].clone();
        assert_eq!(raw.update("agents", agent_row(), vec![(column.into(), bad)]).await.unwrap(), 1);

        let corrupt = |what: &str, r: Result<(), Error>| match r {
            Err(Error::Storage(e)) => {
                let m = e.to_string();
                assert!(m.contains("corrupt history counters") && m.contains(&a.agent_id), "{column}: {what}: {m}")
            }
            other => panic!("{column}: {what}: {other:?}"),
        };
        corrupt("load", e.load(&a, None).await.map(drop));
        corrupt("load last", e.load(&a, Some(1)).await.map(drop));
        corrupt("load_page", e.load_page(&a, PageStart::Beginning, 100).await.map(drop));
        corrupt("append", e.append(&a, &[user("lost?")], &run).await.map(drop));
        let undo = HistoryAction::Undo { before_run_id: "run_1".into() };
        corrupt("undo", e.write(&a, &undo, &WriteOptions::default()).await.map(drop));
        let replace = HistoryAction::Replace(vec![user("new")]);
        corrupt("replace", e.write(&a, &replace, &WriteOptions::default()).await.map(drop));
        assert_eq!(counts().await, rows_before, "{column}: something was written");

        raw.update("agents", agent_row(), vec![(column.into(), good)]).await.unwrap();
        assert_eq!(e.load(&a, None).await.unwrap(), before, "{column}: restored");
    }
}

/// Only the tool messages right after an assistant message answer its
/// calls: a result further on (after a user, assistant or framework
/// message) does not, and the call gets an error result.
pub async fn only_the_tool_messages_right_after_a_call_answer_it(b: &TestBackend) {
    let e = support::engine(b).await;
    let msg = |tag: &str, role: Role, calls: &[&str], answers: &[&str]| Msg {
        tag: tag.into(),
        id: None,
        role,
        calls: calls.iter().map(|c| c.to_string()).collect(),
        answers: answers.iter().map(|a| a.to_string()).collect(),
        created_at: "2026-05-01T00:00:00Z".into(),
    };
    let call = || msg("call", Role::Assistant, &["t1", "t2"], &[]);
    let answer = |id: &str| msg("answer", Role::Tool, &[], &[id]);
    let repair = |id: &str| repair_description(id, "2026-05-01T00:00:00Z");
    let cases = [
        (vec![call(), answer("t2"), answer("t1")], vec!["assistant call *", "tool answer *", "tool answer *"]),
        (vec![call(), answer("t2")], vec!["assistant call *", "tool answer *", "repair t1"]),
        (
            vec![call(), msg("u", Role::User, &[], &[]), answer("t1")],
            vec!["assistant call *", "repair t1", "repair t2", "user u *", "tool answer *"],
        ),
        (
            vec![call(), msg("a", Role::Assistant, &[], &[]), answer("t1")],
            vec!["assistant call *", "repair t1", "repair t2", "assistant a *", "tool answer *"],
        ),
        (
            vec![call(), msg("f", Role::Framework, &[], &[]), answer("t1")],
            vec!["assistant call *", "repair t1", "repair t2", "framework f *", "tool answer *"],
        ),
    ];
    for (i, (messages, want)) in cases.into_iter().enumerate() {
        let agent = root_agent(&e, "alice", &format!("adjacent{i}")).await;
        let step = Step { run: None, act: Act::Append(messages) };
        write_step(&e, &agent, &step).await;
        let want: Vec<String> =
            want.iter().map(|w| w.strip_prefix("repair ").map_or_else(|| w.to_string(), repair)).collect();
        let mut model = Model::default();
        model.apply(&step);
        assert_eq!(model.expected(), want, "the model, case {i}");
        let got: Vec<String> = e.load(&agent, None).await.unwrap().iter().map(describe).collect();
        assert_eq!(got, want, "case {i}");
    }
}

/// An undo rewinds to the number of messages the conversation had at the
/// run's first action, counted after de-duplication, even once an earlier
/// undo dropped the messages before that point and others were appended
/// (a replay before de-duplication would keep "f" here).
pub async fn an_undo_rewinds_to_the_message_count_at_the_run_start(b: &TestBackend) {
    let e = support::engine(b).await;
    let a = root_agent(&e, "alice", "s1").await;
    let run = |id: &str| WriteOptions { run_id: Some(id.into()), ..Default::default() };
    let given = |id: &str, text: &str| Message { id: id.into(), ..user(text) };
    e.append(&a, &[given("x", "a")], &run("run_1")).await.unwrap();
    e.append(&a, &[given("x", "a again"), user("b")], &run("run_1")).await.unwrap();
    e.append(&a, &[user("c")], &run("run_2")).await.unwrap();
    assert_eq!(texts(&e.load(&a, None).await.unwrap()), ["a", "b", "c"]);
    let undo = |r: &str| HistoryAction::Undo { before_run_id: r.into() };
    e.write(&a, &undo("run_1"), &WriteOptions::default()).await.unwrap();
    assert!(e.load(&a, None).await.unwrap().is_empty());
    e.append(&a, &[user("d"), user("e"), user("f")], &run("run_3")).await.unwrap();
    // run_2 started when the conversation had two messages.
    e.write(&a, &undo("run_2"), &WriteOptions::default()).await.unwrap();
    assert_eq!(texts(&e.load(&a, None).await.unwrap()), ["d", "e"]);
}
