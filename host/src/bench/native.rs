//! The native side: the same storage work the session logic does for each
//! benchmarked operation, issued directly by Rust code on a [`CheckedStore`]
//! (no WebAssembly). Guest against native is the cost of running the logic
//! as a sandboxed component; native against the floor is the cost of the
//! storage design.

use async_trait::async_trait;
use nexau_session_storage::{CheckedStore, Filter, Order, Query, RowSet, StorageError, Value, WriteOp};
use nexau_session_tables as tables;

use super::side::{AGENT, HOLDER, Side, USER, stamped};
use crate::{Error, Message, Result};

/// The component's storage calls, made natively on one store.
pub struct NativeSide {
    pub(super) store: CheckedStore,
}

#[async_trait]
impl Side for NativeSide {
    async fn create(&self, session: &str) -> Result<()> {
        Ok(seed(&self.store, USER, session, AGENT).await?)
    }

    async fn append(&self, session: &str, messages: &[Message]) -> Result<()> {
        let json = serde_json::to_string(&stamped(messages))
            .map_err(|e| Error::Invalid(format!("messages cannot be encoded: {e}")))?;
        Ok(append(&self.store, USER, session, AGENT, &json).await?)
    }

    async fn load(&self, session: &str, last: Option<u32>) -> Result<Vec<Message>> {
        let json = load(&self.store, USER, session, AGENT, last).await?;
        serde_json::from_str(&json)
            .map_err(|e| Error::Storage(StorageError::backend_caused("stored history cannot be decoded", e)))
    }

    async fn lock_cycle(&self, session: &str) -> Result<()> {
        Ok(lock_cycle(&self.store, USER, session, AGENT, HOLDER).await?)
    }
}

fn agent_key(u: &str, s: &str, a: &str) -> Vec<Filter> {
    vec![Filter::eq("user_id", u), Filter::eq("session_id", s), Filter::eq("agent_id", a)]
}

fn with(mut key: Vec<Filter>, more: impl IntoIterator<Item = Filter>) -> Filter {
    key.extend(more);
    Filter::And(key)
}

fn now() -> (i64, Value) {
    let t = std::time::SystemTime::now();
    let ns = t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0);
    (ns, Value::from(t))
}

/// Creates the session and agent rows the operations need.
pub(super) async fn seed(store: &CheckedStore, u: &str, s: &str, a: &str) -> Result<(), StorageError> {
    let (_, ts) = now();
    let session = RowSet {
        columns: ["user_id", "session_id", "created_at", "updated_at", "context", "storage", "version"]
            .map(String::from)
            .to_vec(),
        rows: vec![vec![
            u.into(),
            s.into(),
            ts.clone(),
            ts.clone(),
            Value::Json("{}".into()),
            Value::Json("{}".into()),
            Value::Int(1),
        ]],
    };
    store.insert(tables::SESSIONS, session).await?;
    let agent = RowSet {
        columns: tables::AGENT_COLUMNS.map(String::from).to_vec(),
        rows: vec![vec![
            u.into(),
            s.into(),
            a.into(),
            "main".into(),
            ts.clone(),
            ts,
            Value::Int(1),
            Value::Int(0),
            Value::Int(0),
            Value::Int(0),
        ]],
    };
    store.insert(tables::AGENTS, agent).await?;
    Ok(())
}

/// One history append, as the component does it for messages that come
/// without ids (the benchmark's): read the agent's counters, then one batch
/// (advance the counters, touch the session, insert the message rows and the
/// action). The ids are made here, fresh, so none can repeat a stored one
/// and nothing is looked up, as in the component.
pub(super) async fn append(
    store: &CheckedStore,
    u: &str,
    s: &str,
    a: &str,
    messages_json: &str,
) -> Result<(), StorageError> {
    let found = store.find_owned(tables::AGENTS, Query::filter(Filter::And(agent_key(u, s, a)))).await?;
    let seq = found.get(0, "next_seq").and_then(Value::as_i64).unwrap_or(1);
    let live = found.get(0, "live_count").and_then(Value::as_i64).unwrap_or(0);
    let epoch = found.get(0, "epoch").and_then(Value::as_i64).unwrap_or(0);
    let messages: Vec<serde_json::Value> =
        serde_json::from_str(messages_json).map_err(|e| StorageError::Invalid(format!("bad messages JSON: {e}")))?;
    let (ns, ts) = now();
    let message_rows = crate::engine::message_rows::live_message_rows([u, s, a], seq, epoch, live, &messages);
    let action_columns = [
        "action_id",
        "user_id",
        "session_id",
        "agent_id",
        "seq",
        "created_at",
        "created_at_ns",
        "action_type",
        "epoch",
        "live_before",
    ];
    let action = vec![
        Value::Text(format!("act_{}", ulid::Ulid::new())),
        u.into(),
        s.into(),
        a.into(),
        Value::Int(seq),
        ts.clone(),
        Value::Int(ns),
        "append".into(),
        Value::Int(epoch),
        Value::Int(live),
    ];
    store
        .apply(vec![
            WriteOp::Update {
                table: tables::AGENTS.into(),
                filter: with(agent_key(u, s, a), [Filter::eq("next_seq", seq)]),
                set: vec![
                    ("next_seq".into(), Value::Int(seq + 1)),
                    ("last_updated".into(), ts.clone()),
                    ("live_count".into(), Value::Int(live + messages.len() as i64)),
                ],
                expect: Some(1),
            },
            WriteOp::Update {
                table: tables::SESSIONS.into(),
                filter: Filter::and([Filter::eq("user_id", u), Filter::eq("session_id", s)]),
                set: vec![("updated_at".into(), ts)],
                expect: Some(1),
            },
            WriteOp::Insert { table: tables::MESSAGES.into(), rows: message_rows },
            WriteOp::Insert {
                table: tables::ACTIONS.into(),
                rows: RowSet { columns: action_columns.map(String::from).to_vec(), rows: vec![action] },
            },
        ])
        .await?;
    Ok(())
}

/// Loads the conversation: the agent's counters, then its live message rows
/// in position order (with `last`, the newest N, read newest first), joined
/// into one JSON array as stored.
pub(super) async fn load(
    store: &CheckedStore,
    u: &str,
    s: &str,
    a: &str,
    last: Option<u32>,
) -> Result<String, StorageError> {
    let found = store.find_owned(tables::AGENTS, Query::filter(Filter::And(agent_key(u, s, a)))).await?;
    let epoch = found.get(0, "epoch").and_then(Value::as_i64).unwrap_or(0);
    let live = Query {
        filter: with(agent_key(u, s, a), [Filter::eq("epoch", epoch), Filter::eq("live", true)]),
        order_by: vec![Order::parse(if last.is_some() { "-pos" } else { "pos" })],
        limit: last.map(u64::from),
        offset: None,
        // What the component reads of each row.
        columns: ["pos", "role", "tool_calls", "message"].map(String::from).to_vec(),
    };
    let rows = store.find_owned(tables::MESSAGES, live).await?;
    let mut order: Vec<usize> = (0..rows.len()).collect();
    if last.is_some() {
        order.reverse();
    }
    let mut json = String::from("[");
    for (k, i) in order.into_iter().enumerate() {
        if k > 0 {
            json.push(',');
        }
        json.push_str(rows.get(i, "message").and_then(Value::as_str).unwrap_or("null"));
    }
    json.push(']');
    Ok(json)
}

/// One lock acquisition (read the row, compare-and-set it) and its release.
pub(super) async fn lock_cycle(
    store: &CheckedStore,
    u: &str,
    s: &str,
    a: &str,
    holder: &str,
) -> Result<(), StorageError> {
    let key = || Filter::And(agent_key(u, s, a));
    let row = store.find_owned(tables::AGENT_LOCKS, Query::filter(key())).await?;
    let (ns, _) = now();
    let expires = ns + 30_000_000_000;
    let token = match row.get(0, "token").and_then(Value::as_i64) {
        None => {
            let columns =
                ["user_id", "session_id", "agent_id", "holder_id", "token", "acquired_at_ns", "expires_at_ns"];
            let values =
                vec![u.into(), s.into(), a.into(), holder.into(), Value::Int(1), Value::Int(ns), Value::Int(expires)];
            store
                .insert(tables::AGENT_LOCKS, RowSet { columns: columns.map(String::from).to_vec(), rows: vec![values] })
                .await?;
            1
        }
        Some(old) => {
            let set = vec![
                ("holder_id".into(), Value::from(holder)),
                ("token".into(), Value::Int(old + 1)),
                ("acquired_at_ns".into(), Value::Int(ns)),
                ("expires_at_ns".into(), Value::Int(expires)),
            ];
            let cas = with(agent_key(u, s, a), [Filter::eq("token", old), Filter::is_null("holder_id")]);
            if store.update(tables::AGENT_LOCKS, cas, set).await? != 1 {
                return Err(StorageError::Conflict(0));
            }
            old + 1
        }
    };
    let mine = with(agent_key(u, s, a), [Filter::eq("holder_id", holder), Filter::eq("token", token)]);
    let release = vec![("holder_id".into(), Value::Null), ("expires_at_ns".into(), Value::Int(0))];
    if store.update(tables::AGENT_LOCKS, mine, release).await? != 1 {
        return Err(StorageError::Conflict(0));
    }
    Ok(())
}
