//! NexAU-shaped stores for the import tests: the rows NexAU (the Python
//! implementation) keeps, written the way its engines write them - a JSONL
//! directory (one JSON object per line, datetimes as ISO text, JSON columns
//! as JSON values), a SQLite file with its SQLAlchemy tables (datetimes as
//! `YYYY-MM-DD HH:MM:SS.ffffff`, JSON columns as text), and the same tables
//! on a PostgreSQL or MySQL server.
#![allow(dead_code)]

use std::path::Path;

use nexau_session::storage::backends;
use nexau_session::storage::{Column, ColumnType, DbUrl, RowSet, TableSchema, Value, WriteOp};
use serde_json::{Value as Json, json};

/// Columns NexAU keeps as JSON.
const JSON_COLUMNS: [&str; 7] =
    ["context", "storage", "sandbox_state", "pending_tool_calls", "append_messages", "replace_messages", "extra"];
/// Columns NexAU keeps as datetimes.
const TIME_COLUMNS: [&str; 3] = ["created_at", "updated_at", "last_updated"];
/// Columns NexAU keeps as integers.
const INT_COLUMNS: [&str; 3] = ["created_at_ns", "acquired_at_ns", "expires_at_ns"];

/// The rows of a NexAU store, as its JSONL engine writes them.
#[derive(Debug, Clone, Default)]
pub struct NexauStore {
    pub sessions: Vec<Json>,
    pub agents: Vec<Json>,
    pub actions: Vec<Json>,
    pub locks: Vec<Json>,
}

/// A message as NexAU stores it.
pub fn msg(id: &str, role: &str, blocks: Json) -> Json {
    json!({"id": id, "role": role, "content": blocks, "metadata": {}, "created_at": "2026-03-01T10:00:00.000000"})
}

/// A text block.
pub fn text(t: &str) -> Json {
    json!({"type": "text", "text": t})
}

/// Base time of the fixture's actions: 2026-03-01T10:00:00Z in ns.
pub const T0: i64 = 1_772_359_200_000_000_000;

/// ISO text of `T0 + secs`, naive (as `datetime.isoformat()` of a naive UTC time).
pub fn iso(secs: i64) -> String {
    nexau_session::Timestamp::from_ns(T0 + secs * 1_000_000_000)
        .unwrap()
        .to_rfc3339_micros()
        .trim_end_matches('Z')
        .to_owned()
}

/// One action row.
#[allow(clippy::too_many_arguments)]
pub fn action(
    id: &str,
    agent: &str,
    run: &str,
    root: &str,
    parent: Option<&str>,
    secs: i64,
    kind: &str,
    payload: Json,
    key: Option<&str>,
    extra: Json,
) -> Json {
    let (append, replace, undo) = match kind {
        "append" => (payload, Json::Null, Json::Null),
        "replace" => (Json::Null, payload, Json::Null),
        "undo" => (Json::Null, Json::Null, payload),
        _ => (Json::Null, Json::Null, Json::Null),
    };
    json!({
        "action_id": id, "user_id": "u1", "session_id": "sess_A", "agent_id": agent, "run_id": run,
        "root_run_id": root, "parent_run_id": parent, "agent_name": if agent == MAIN { "main" } else { "researcher" },
        "created_at": iso(secs), "created_at_ns": T0 + secs * 1_000_000_000, "action_type": kind,
        "append_messages": append, "replace_messages": replace, "undo_before_run_id": undo,
        "idempotency_key": key, "extra": extra,
    })
}

/// The main agent's id.
pub const MAIN: &str = "agent_main0001";
/// The sub-agent's id.
pub const SUB: &str = "agent_sub00001";

/// A session with a main agent and a sub-agent, and a history with what a
/// NexAU history holds: tool calls, an errored run undone afterwards, a
/// cancelled run, a duplicate message id, a dangling `tool_use`, unicode and
/// escapes, and (in the sub-agent) a `replace`. Plus one lock row.
pub fn sample() -> NexauStore {
    let tricky = "Bonjour 👋 — \"quoted\", back\\slash, tab\t, newline\n, nul-free \u{00e9}";
    let a = |id, agent, run, secs, kind, payload: Json, key: Option<&str>| {
        action(id, agent, run, "run_01", None, secs, kind, payload, key, Json::Null)
    };
    let end = |id, run, secs, status: Json| action(id, MAIN, run, run, None, secs, "run_end", Json::Null, None, status);
    let start = |id, run, secs| action(id, MAIN, run, run, None, secs, "run_start", Json::Null, None, Json::Null);
    let actions = vec![
        // Run 1: a tool call answered.
        a("act_01", MAIN, "run_01", 1, "append", json!([msg("m1", "user", json!([text(tricky)]))]), Some("run_01:0")),
        start("act_02", "run_01", 2),
        a(
            "act_03",
            MAIN,
            "run_01",
            3,
            "append",
            json!([
                msg(
                    "m2",
                    "assistant",
                    json!([{"type": "reasoning", "text": "think", "signature": "sig"},
                                          {"type": "tool_use", "id": "t1", "name": "search", "input": {"q": "météo"}}])
                ),
                msg(
                    "m3",
                    "tool",
                    json!([{"type": "tool_result", "tool_use_id": "t1", "content": "sunny", "is_error": false}])
                ),
            ]),
            Some("run_01:1"),
        ),
        a(
            "act_04",
            MAIN,
            "run_01",
            4,
            "append",
            json!([msg("m4", "assistant", json!([text("It is sunny.")]))]),
            Some("run_01:2"),
        ),
        end("act_05", "run_01", 5, json!({"status": "ok"})),
        // Run 2: fails, then is undone.
        action(
            "act_06",
            MAIN,
            "run_02",
            "run_02",
            None,
            6,
            "append",
            json!([msg("m5", "user", json!([text("and tomorrow?")]))]),
            Some("run_02:0"),
            Json::Null,
        ),
        start("act_07", "run_02", 7),
        action(
            "act_08",
            MAIN,
            "run_02",
            "run_02",
            None,
            8,
            "append",
            json!([msg("m6", "assistant", json!([{"type": "tool_use", "id": "t2", "name": "search", "input": {}}]))]),
            Some("run_02:1"),
            Json::Null,
        ),
        end("act_09", "run_02", 9, json!({"status": "error", "error": "model timeout"})),
        action("act_10", MAIN, "run_03", "run_03", None, 10, "undo", json!("run_02"), None, Json::Null),
        // Run 4: cancelled, with a duplicate message id and a dangling tool_use.
        action(
            "act_11",
            MAIN,
            "run_04",
            "run_04",
            None,
            11,
            "append",
            json!([msg("m7", "user", json!([text("再见 ✓")]))]),
            Some("run_04:0"),
            Json::Null,
        ),
        start("act_12", "run_04", 12),
        action(
            "act_13",
            MAIN,
            "run_04",
            "run_04",
            None,
            13,
            "append",
            json!([
                msg("m7", "user", json!([text("再见 ✓")])),
                msg(
                    "m8",
                    "assistant",
                    json!([text("Let me check"), {"type": "tool_use", "id": "t3", "name": "lookup", "input": {"k": [1, 2]}}])
                ),
            ]),
            Some("run_04:1"),
            Json::Null,
        ),
        end("act_14", "run_04", 14, json!({"status": "cancelled"})),
        // The sub-agent, started by run 1: compacted by a replace.
        action(
            "act_20",
            SUB,
            "run_s1",
            "run_01",
            Some("run_01"),
            3,
            "append",
            json!([msg("s1", "user", json!([text("find the weather")]))]),
            Some("run_s1:0"),
            Json::Null,
        ),
        action(
            "act_21",
            SUB,
            "run_s1",
            "run_01",
            Some("run_01"),
            4,
            "append",
            json!([msg("s2", "assistant", json!([text("found: sunny")]))]),
            Some("run_s1:1"),
            Json::Null,
        ),
        action(
            "act_22",
            SUB,
            "run_s2",
            "run_01",
            Some("run_01"),
            5,
            "replace",
            json!([msg("s3", "framework", json!([text("summary: sunny")]))]),
            None,
            json!({"reason": "compaction"}),
        ),
        action(
            "act_23",
            SUB,
            "run_s2",
            "run_01",
            Some("run_01"),
            6,
            "append",
            json!([msg("s4", "assistant", json!("plain string content"))]),
            None,
            Json::Null,
        ),
    ];
    NexauStore {
        sessions: vec![json!({
            "user_id": "u1", "session_id": "sess_A", "created_at": iso(0), "updated_at": iso(20),
            "context": {"lang": "fr", "note": "naïve \"q\"\n"}, "storage": {"k": [1, 2]},
            "sandbox_state": {"cwd": "/tmp"}, "root_agent_id": MAIN, "pending_tool_calls": null,
        })],
        agents: vec![
            json!({"user_id": "u1", "session_id": "sess_A", "agent_id": MAIN, "agent_name": "main",
                   "created_at": iso(0), "last_updated": iso(14)}),
            json!({"user_id": "u1", "session_id": "sess_A", "agent_id": SUB, "agent_name": "researcher",
                   "created_at": iso(3), "last_updated": iso(6)}),
        ],
        actions,
        locks: vec![json!({"session_id": "sess_A", "agent_id": MAIN, "user_id": "u1", "run_id": "run_04",
                           "holder_id": "4242:deadbeef", "acquired_at_ns": T0, "expires_at_ns": T0 + 30_000_000_000})],
    }
}

/// The ids of each agent's history as NexAU gets it right: newest replace,
/// undo of run 2, de-duplicated m7, and (after m8) the repair of `t3`.
pub const MAIN_IDS: [&str; 7] = ["m1", "m2", "m3", "m4", "m7", "m8", "msg_repair_t3"];
/// The sub-agent's history after its replace.
pub const SUB_IDS: [&str; 2] = ["s3", "s4"];

impl NexauStore {
    /// The tables as (name, rows).
    pub fn tables(&self) -> [(&'static str, &Vec<Json>); 4] {
        [
            ("sessions", &self.sessions),
            ("agents", &self.agents),
            ("agent_run_actions", &self.actions),
            ("agent_locks", &self.locks),
        ]
    }

    /// Writes the store as NexAU's JSONL engine does, into `dir`.
    pub fn write_jsonl(&self, dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        for (table, rows) in self.tables() {
            let lines: String = rows.iter().map(|r| format!("{r}\n")).collect();
            std::fs::write(dir.join(format!("{table}.jsonl")), lines).unwrap();
        }
    }

    /// Writes the store as NexAU's SQLAlchemy models do on SQLite.
    pub fn write_sqlite(&self, path: &Path) {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch(SQLITE_DDL).unwrap();
        for (table, rows) in self.tables() {
            for row in rows {
                let obj = row.as_object().unwrap();
                let cols: Vec<&String> = obj.keys().collect();
                let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
                let sql = format!(
                    "INSERT INTO {table} ({}) VALUES ({})",
                    cols.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", "),
                    marks.join(", ")
                );
                let values: Vec<rusqlite::types::Value> = obj.iter().map(|(c, v)| sqlite_cell(c, v)).collect();
                conn.execute(&sql, rusqlite::params_from_iter(values)).unwrap();
            }
        }
    }

    /// Creates NexAU's tables on the server `url` names and writes the rows.
    pub async fn write_server(&self, url: &str) {
        let backend = backends::open(&DbUrl::parse(url).unwrap()).await.unwrap();
        let schemas = server_schemas();
        backend.setup_models(&schemas).await.unwrap();
        for ((table, rows), schema) in self.tables().into_iter().zip(&schemas) {
            if rows.is_empty() {
                continue;
            }
            let columns: Vec<String> = schema.columns.iter().map(|c| c.name.clone()).collect();
            let cells =
                rows.iter().map(|r| schema.columns.iter().map(|c| server_cell(c.ty, &r[&c.name])).collect()).collect();
            let op = WriteOp::Insert { table: table.into(), rows: RowSet { columns, rows: cells } };
            backend.apply(&[op]).await.unwrap();
        }
    }
}

fn sqlite_cell(column: &str, v: &Json) -> rusqlite::types::Value {
    use rusqlite::types::Value as S;
    match v {
        Json::Null => S::Null,
        _ if JSON_COLUMNS.contains(&column) => S::Text(v.to_string()),
        Json::Number(n) => S::Integer(n.as_i64().unwrap()),
        Json::String(s) if TIME_COLUMNS.contains(&column) => S::Text(s.replace('T', " ")),
        Json::String(s) => S::Text(s.clone()),
        other => panic!("no SQLite form for {other}"),
    }
}

fn server_cell(kind: ColumnType, v: &Json) -> Value {
    match (kind, v) {
        (_, Json::Null) => Value::Null,
        (ColumnType::Json, v) => Value::Json(v.to_string()),
        (ColumnType::Int, v) => Value::Int(v.as_i64().unwrap()),
        (ColumnType::Timestamp, Json::String(s)) => {
            Value::Timestamp(nexau_session::Timestamp::parse_rfc3339(s).unwrap().to_rfc3339_micros())
        }
        (_, Json::String(s)) => Value::Text(s.clone()),
        (k, other) => panic!("no {k} form for {other}"),
    }
}

fn table(name: &str, columns: &[(&str, ColumnType, bool)], key: &[&str]) -> TableSchema {
    TableSchema {
        name: name.into(),
        columns: columns.iter().map(|(c, k, n)| Column { name: (*c).into(), ty: *k, nullable: *n }).collect(),
        primary_key: key.iter().map(|k| (*k).into()).collect(),
        indexes: Vec::new(),
    }
}

/// NexAU's four tables as declared to this project's server backends (in
/// the order of [`NexauStore::tables`]).
fn server_schemas() -> Vec<TableSchema> {
    use ColumnType::{Int as I, Json as J, Text as T, Timestamp as TS};
    vec![
        table(
            "sessions",
            &[
                ("user_id", T, false),
                ("session_id", T, false),
                ("created_at", TS, false),
                ("updated_at", TS, false),
                ("context", J, true),
                ("storage", J, true),
                ("sandbox_state", J, true),
                ("root_agent_id", T, true),
                ("pending_tool_calls", J, true),
            ],
            &["user_id", "session_id"],
        ),
        table(
            "agents",
            &[
                ("user_id", T, false),
                ("session_id", T, false),
                ("agent_id", T, false),
                ("agent_name", T, false),
                ("created_at", TS, false),
                ("last_updated", TS, false),
            ],
            &["user_id", "session_id", "agent_id"],
        ),
        table(
            "agent_run_actions",
            &[
                ("action_id", T, false),
                ("user_id", T, false),
                ("session_id", T, false),
                ("agent_id", T, false),
                ("run_id", T, false),
                ("root_run_id", T, false),
                ("parent_run_id", T, true),
                ("agent_name", T, false),
                ("created_at", TS, false),
                ("created_at_ns", I, false),
                ("action_type", T, false),
                ("append_messages", J, true),
                ("replace_messages", J, true),
                ("undo_before_run_id", T, true),
                ("idempotency_key", T, true),
                ("extra", J, true),
            ],
            &["action_id"],
        ),
        table(
            "agent_locks",
            &[
                ("session_id", T, false),
                ("agent_id", T, false),
                ("user_id", T, false),
                ("run_id", T, true),
                ("holder_id", T, false),
                ("acquired_at_ns", I, false),
                ("expires_at_ns", I, false),
            ],
            &["session_id", "agent_id"],
        ),
    ]
}

/// NexAU's tables as SQLAlchemy creates them on SQLite.
const SQLITE_DDL: &str = "
CREATE TABLE sessions (
    user_id VARCHAR NOT NULL, session_id VARCHAR NOT NULL, created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL, context JSON, storage JSON, sandbox_state JSON,
    root_agent_id VARCHAR, pending_tool_calls JSON, PRIMARY KEY (user_id, session_id));
CREATE TABLE agents (
    user_id VARCHAR NOT NULL, session_id VARCHAR NOT NULL, agent_id VARCHAR NOT NULL,
    agent_name VARCHAR NOT NULL, created_at DATETIME NOT NULL, last_updated DATETIME NOT NULL,
    PRIMARY KEY (user_id, session_id, agent_id));
CREATE TABLE agent_locks (
    session_id VARCHAR NOT NULL, agent_id VARCHAR NOT NULL, user_id VARCHAR NOT NULL, run_id VARCHAR,
    holder_id VARCHAR NOT NULL, acquired_at_ns BIGINT NOT NULL, expires_at_ns BIGINT NOT NULL,
    PRIMARY KEY (session_id, agent_id));
CREATE TABLE agent_run_actions (
    action_id VARCHAR NOT NULL, user_id VARCHAR NOT NULL, session_id VARCHAR NOT NULL,
    agent_id VARCHAR NOT NULL, run_id VARCHAR NOT NULL, root_run_id VARCHAR NOT NULL,
    parent_run_id VARCHAR, agent_name VARCHAR NOT NULL, created_at DATETIME NOT NULL,
    created_at_ns BIGINT NOT NULL, action_type VARCHAR NOT NULL, append_messages JSON,
    replace_messages JSON, undo_before_run_id VARCHAR, idempotency_key VARCHAR, extra JSON,
    PRIMARY KEY (action_id), UNIQUE (idempotency_key));
CREATE INDEX idx_agent_run_actions_created_at_ns ON agent_run_actions (user_id, session_id, agent_id, created_at_ns);
";
