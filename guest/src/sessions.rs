//! Sessions: get-or-create, read, list, versioned update and cascading delete.

pub use crate::bindings::exports::nexau::session::sessions::{Session, SessionQuery, SessionUpdate};
use crate::clock::{now_ns, rfc3339_micros};
use crate::error::{MAX_ATTEMPTS, Res, SessionError, from_storage, invalid, not_found, too_many_conflicts};
use crate::ids;
use crate::prelude::*;
use crate::schema::{ACTIONS, AGENT_LOCKS, AGENTS, MESSAGES, SESSIONS, schemas};
use crate::store::{
    self, CheckOp, DeleteOp, Query, Row, StorageError, Value, WriteOp, asc, first, json, new_row, opt_text, rows,
    session_key, set, text, timestamp, uint,
};

/// Declares every table to the storage.
pub fn setup_models() -> Res<()> {
    store::setup_models(&schemas()).map_err(from_storage)
}

/// The `not-found` error of a missing session.
pub fn session_not_found(user_id: &str, session_id: &str) -> SessionError {
    not_found(cat(&["session ", session_id, " of user ", user_id, " not found"]))
}

/// A session from its row.
pub fn session_from_row(r: Row<'_>) -> Session {
    Session {
        user_id: r.string("user_id"),
        session_id: r.string("session_id"),
        created_at: r.string("created_at"),
        updated_at: r.string("updated_at"),
        context: r.string("context"),
        storage: r.string("storage"),
        sandbox_state: r.opt_string("sandbox_state"),
        root_agent_id: r.opt_string("root_agent_id"),
        version: r.uint("version"),
    }
}

/// Reads one session (ids already checked).
pub fn find_session(user_id: &str, session_id: &str) -> Res<Option<Session>> {
    let q = session_key(user_id, session_id);
    let rs = store::select(SESSIONS, q, "", Some(1), &[])?;
    Ok(first(&rs).map(session_from_row))
}

/// Returns the session, creating it when absent (`None` generates `sess_{ULID}`).
pub fn get_or_create(user_id: &str, session_id: Option<&str>) -> Res<Session> {
    ids::check("user_id", user_id)?;
    ids::check_opt("session_id", session_id)?;
    // A generated id is never read: a session already under it is someone
    // else's, so a collision generates the next id instead.
    let generated = session_id.is_none();
    let mut session_id = session_id.map_or_else(|| ids::new_ulid_id("sess_"), str::to_owned);
    for _ in 0..MAX_ATTEMPTS {
        if !generated && let Some(s) = find_session(user_id, &session_id)? {
            return Ok(s);
        }
        let now = now_ns();
        let row = new_row(
            &[
                "user_id",
                "session_id",
                "created_at",
                "updated_at",
                "context",
                "storage",
                "sandbox_state",
                "root_agent_id",
                "pending_tool_calls",
                "version",
            ],
            vec![
                text(user_id),
                text(&session_id),
                timestamp(now),
                timestamp(now),
                json("{}"),
                json("{}"),
                opt_text(None),
                opt_text(None),
                opt_text(None),
                uint(1),
            ],
        );
        match store::insert(SESSIONS, row) {
            Ok(_) => {
                let ts = rfc3339_micros(now);
                return Ok(Session {
                    user_id: user_id.to_owned(),
                    session_id,
                    created_at: ts.clone(),
                    updated_at: ts,
                    context: "{}".into(),
                    storage: "{}".into(),
                    sandbox_state: None,
                    root_agent_id: None,
                    version: 1,
                });
            }
            Err(StorageError::DuplicateKey(_)) if generated => session_id = ids::new_ulid_id("sess_"),
            Err(StorageError::DuplicateKey(_)) => {}
            Err(e) => return Err(from_storage(e)),
        }
    }
    Err(too_many_conflicts("get-or-create"))
}

/// Reads one session.
pub fn get(user_id: &str, session_id: &str) -> Res<Option<Session>> {
    ids::check("user_id", user_id)?;
    ids::check("session_id", session_id)?;
    find_session(user_id, session_id)
}

/// Lists sessions (default order: `created_at`, then `session_id`).
pub fn list(q: SessionQuery) -> Res<Vec<Session>> {
    ids::check_opt("user_id", q.user_id.as_deref())?;
    let mut w = store::Where::from_filter(q.filter);
    if let Some(u) = &q.user_id {
        w = w.eq_text("user_id", u);
    }
    let order_by = if q.order_by.is_empty() { vec![asc("created_at"), asc("session_id")] } else { q.order_by };
    let query = Query { filter: w.build(), order_by, limit: q.limit, offset: q.offset, columns: Vec::new() };
    let rs = store::rows_of(SESSIONS, &query)?;
    Ok(rows(&rs).map(session_from_row).collect())
}

/// Checks that `value`, when given, is JSON (a JSON object when `object`).
pub fn check_json(field: &str, value: Option<&str>, object: bool) -> Res<()> {
    let Some(v) = value else { return Ok(()) };
    match crate::json::parse(v) {
        Ok(crate::json::Json::Obj(_)) => Ok(()),
        Ok(_) if !object => Ok(()),
        Ok(_) => Err(invalid(cat(&[field, " must be a JSON object"]))),
        Err(e) => Err(invalid(cat(&[field, " is not valid JSON (at byte ", &num(e.at as u64), ")"]))),
    }
}

/// Applies a partial update; with `expected_version`, only to that version.
pub fn update(user_id: &str, session_id: &str, changes: SessionUpdate, expected_version: Option<u64>) -> Res<Session> {
    ids::check("user_id", user_id)?;
    ids::check("session_id", session_id)?;
    check_json("context", changes.context.as_deref(), true)?;
    check_json("storage", changes.storage.as_deref(), true)?;
    check_json("sandbox_state", changes.sandbox_state.as_deref(), false)?;
    for _ in 0..MAX_ATTEMPTS {
        let Some(mut cur) = find_session(user_id, session_id)? else {
            return Err(session_not_found(user_id, session_id));
        };
        if expected_version.is_some_and(|v| v != cur.version) {
            return Err(SessionError::VersionConflict(cur.version));
        }
        let now = now_ns();
        let mut cells = vec![("updated_at", timestamp(now)), ("version", uint(cur.version + 1))];
        if let Some(c) = &changes.context {
            cells.push(("context", json(c)));
        }
        if let Some(s) = &changes.storage {
            cells.push(("storage", json(s)));
        }
        if let Some(s) = &changes.sandbox_state {
            cells.push(("sandbox_state", json(s)));
        }
        let filter = session_key(user_id, session_id).eq("version", uint(cur.version)).build();
        let n = store::update(SESSIONS, filter, set(cells))?;
        if n == 1 {
            cur.updated_at = rfc3339_micros(now);
            cur.version += 1;
            if let Some(c) = changes.context {
                cur.context = c;
            }
            if let Some(s) = changes.storage {
                cur.storage = s;
            }
            if changes.sandbox_state.is_some() {
                cur.sandbox_state = changes.sandbox_state;
            }
            return Ok(cur);
        }
        // Another writer got there first: read again (a versioned update then conflicts).
    }
    Err(too_many_conflicts("update"))
}

/// Deletes a session with its agents, history and locks in one atomic batch;
/// with `unchanged_since`, only while its `updated_at` is still that instant
/// (checked in that batch). False when it did not exist or has changed.
pub fn delete(user_id: &str, session_id: &str, unchanged_since: Option<String>) -> Res<bool> {
    ids::check("user_id", user_id)?;
    ids::check("session_id", session_id)?;
    let mut batch = Vec::with_capacity(6);
    let conditional = unchanged_since.is_some();
    if let Some(at) = unchanged_since {
        let filter = session_key(user_id, session_id).eq("updated_at", Value::Timestamp(at)).build();
        batch.push(WriteOp::Check(CheckOp { table: SESSIONS.to_owned(), filter, expect: 1 }));
    }
    for t in [MESSAGES, ACTIONS, AGENTS, AGENT_LOCKS, SESSIONS] {
        batch.push(WriteOp::Delete(DeleteOp {
            table: t.to_owned(),
            filter: session_key(user_id, session_id).build(),
            expect: None,
        }));
    }
    match store::apply(&batch) {
        Ok(counts) => Ok(counts.last().is_some_and(|&n| n > 0)),
        Err(StorageError::Conflict(0)) if conditional => Ok(false),
        Err(e) => Err(from_storage(e)),
    }
}
