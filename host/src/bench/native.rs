//! The native baseline: the same storage work the session logic does for each
//! benchmarked operation, issued directly by Rust code on a [`CheckedStore`]
//! (no WebAssembly). The ratio guest/native is the cost of running the logic
//! as a sandboxed component.

use nexau_session_storage::{CheckedStore, Filter, Order, Query, RowSet, StorageError, Value, WriteOp};

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
pub async fn seed(store: &CheckedStore, u: &str, s: &str, a: &str) -> Result<(), StorageError> {
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
    store.insert("sessions", session).await?;
    let agent = RowSet {
        columns: ["user_id", "session_id", "agent_id", "agent_name", "created_at", "last_updated", "next_seq"]
            .map(String::from)
            .to_vec(),
        rows: vec![vec![u.into(), s.into(), a.into(), "main".into(), ts.clone(), ts, Value::Int(1)]],
    };
    store.insert("agents", agent).await?;
    Ok(())
}

/// One history append: read the agent's next sequence number, then one batch
/// (advance it, touch the session, insert the action).
pub async fn append(store: &CheckedStore, u: &str, s: &str, a: &str, messages_json: &str) -> Result<(), StorageError> {
    let found = store.find("agents", &Query::filter(Filter::And(agent_key(u, s, a)))).await?;
    let seq = found.get(0, "next_seq").and_then(Value::as_i64).unwrap_or(1);
    let (ns, ts) = now();
    let action_id = format!("act_{}", ulid::Ulid::new());
    let columns = [
        "action_id",
        "user_id",
        "session_id",
        "agent_id",
        "seq",
        "created_at",
        "created_at_ns",
        "action_type",
        "append_messages",
    ];
    let row = vec![
        Value::Text(action_id),
        u.into(),
        s.into(),
        a.into(),
        Value::Int(seq),
        ts.clone(),
        Value::Int(ns),
        "append".into(),
        Value::Json(messages_json.to_owned()),
    ];
    store
        .apply(vec![
            WriteOp::Update {
                table: "agents".into(),
                filter: with(agent_key(u, s, a), [Filter::eq("next_seq", seq)]),
                set: vec![("next_seq".into(), Value::Int(seq + 1)), ("last_updated".into(), ts.clone())],
                expect: Some(1),
            },
            WriteOp::Update {
                table: "sessions".into(),
                filter: Filter::and([Filter::eq("user_id", u), Filter::eq("session_id", s)]),
                set: vec![("updated_at".into(), ts)],
                expect: Some(1),
            },
            WriteOp::Insert {
                table: "agent_run_actions".into(),
                rows: RowSet { columns: columns.map(String::from).to_vec(), rows: vec![row] },
            },
        ])
        .await?;
    Ok(())
}

/// Loads the conversation: the newest replace, the actions after it, and
/// their messages joined into one JSON array.
pub async fn load(store: &CheckedStore, u: &str, s: &str, a: &str) -> Result<String, StorageError> {
    let newest = Query {
        filter: with(agent_key(u, s, a), [Filter::eq("action_type", "replace")]),
        order_by: vec![Order::parse("-seq")],
        limit: Some(1),
        offset: None,
    };
    let replace = store.find("agent_run_actions", &newest).await?;
    let mut after = agent_key(u, s, a);
    if let Some(seq) = replace.get(0, "seq").and_then(Value::as_i64) {
        after.push(Filter::gt("seq", seq));
    }
    let later = Query { filter: Filter::And(after), order_by: vec![Order::parse("seq")], limit: None, offset: None };
    let rows = store.find("agent_run_actions", &later).await?;
    let mut messages = Vec::new();
    for set in [&replace, &rows] {
        for i in 0..set.len() {
            for column in ["replace_messages", "append_messages"] {
                if let Some(text) = set.get(i, column).and_then(Value::as_str) {
                    let parsed: Vec<serde_json::Value> = serde_json::from_str(text)
                        .map_err(|e| StorageError::Backend(format!("bad messages JSON: {e}")))?;
                    messages.extend(parsed);
                }
            }
        }
    }
    Ok(serde_json::Value::Array(messages).to_string())
}

/// One lock acquisition (read the row, compare-and-set it) and its release.
pub async fn lock_cycle(store: &CheckedStore, u: &str, s: &str, a: &str, holder: &str) -> Result<(), StorageError> {
    let key = || Filter::And(agent_key(u, s, a));
    let row = store.find("agent_locks", &Query::filter(key())).await?;
    let (ns, _) = now();
    let expires = ns + 30_000_000_000;
    let token = match row.get(0, "token").and_then(Value::as_i64) {
        None => {
            let columns =
                ["user_id", "session_id", "agent_id", "holder_id", "token", "acquired_at_ns", "expires_at_ns"];
            let values =
                vec![u.into(), s.into(), a.into(), holder.into(), Value::Int(1), Value::Int(ns), Value::Int(expires)];
            store
                .insert("agent_locks", RowSet { columns: columns.map(String::from).to_vec(), rows: vec![values] })
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
            if store.update("agent_locks", cas, set).await? != 1 {
                return Err(StorageError::Conflict(0));
            }
            old + 1
        }
    };
    let mine = with(agent_key(u, s, a), [Filter::eq("holder_id", holder), Filter::eq("token", token)]);
    let release = vec![("holder_id".into(), Value::Null), ("expires_at_ns".into(), Value::Int(0))];
    if store.update("agent_locks", mine, release).await? != 1 {
        return Err(StorageError::Conflict(0));
    }
    Ok(())
}
