//! Agent locks: a lease row per (user, session, agent) with a TTL and a
//! fencing token that grows with every acquisition. The logic never waits.

use crate::agents::check_ref;
pub use crate::bindings::exports::nexau::session::locks::AcquireOutcome;
use crate::bindings::exports::nexau::session::types::{AgentRef, Lease};
use crate::clock::now_ns;
use crate::error::{MAX_ATTEMPTS, Res, SessionError, from_storage, invalid, too_many_conflicts};
use crate::ids;
use crate::prelude::*;
use crate::schema::AGENT_LOCKS;
use crate::store::{
    self, CompareOp, Row, StorageError, Value, agent_key, first, int, new_row, opt_text, rows, session_key, set, text,
    uint,
};

fn lease_from_row(r: Row<'_>) -> Lease {
    Lease {
        holder_id: r.opt_string("holder_id"),
        run_id: r.opt_string("run_id"),
        token: r.uint("token"),
        acquired_at_ns: r.int("acquired_at_ns"),
        expires_at_ns: r.int("expires_at_ns"),
    }
}

fn expiry(now: i64, ttl_ms: u64) -> Res<i64> {
    if ttl_ms == 0 {
        return Err(invalid("ttl_ms must be at least 1"));
    }
    // Compared, not `saturating_mul`: on wasm that compiles in 128-bit arithmetic.
    let ttl_ns = if ttl_ms > (i64::MAX / 1_000_000) as u64 { i64::MAX } else { ttl_ms as i64 * 1_000_000 };
    Ok(now.saturating_add(ttl_ns))
}

/// Reads the lock row (ids already checked).
fn find_lease(agent: &AgentRef) -> Res<Option<Lease>> {
    let q = agent_key(&agent.user_id, &agent.session_id, &agent.agent_id);
    let rs = store::select(AGENT_LOCKS, q, "", Some(1), &[])?;
    Ok(first(&rs).map(lease_from_row))
}

/// Takes the lock when it is free, released or expired; else answers who holds it.
pub fn acquire(agent: &AgentRef, holder_id: &str, run_id: Option<&str>, ttl_ms: u64) -> Res<AcquireOutcome> {
    check_ref(agent)?;
    ids::check("holder_id", holder_id)?;
    ids::check_opt("run_id", run_id)?;
    expiry(0, ttl_ms)?;
    let (u, s, a) = (agent.user_id.as_str(), agent.session_id.as_str(), agent.agent_id.as_str());
    for _ in 0..MAX_ATTEMPTS {
        let now = now_ns();
        let expires = expiry(now, ttl_ms)?;
        let lease = |token: u64| Lease {
            holder_id: Some(holder_id.to_owned()),
            run_id: run_id.map(str::to_owned),
            token,
            acquired_at_ns: now,
            expires_at_ns: expires,
        };
        match find_lease(agent)? {
            None => {
                let row = new_row(
                    &[
                        "user_id",
                        "session_id",
                        "agent_id",
                        "holder_id",
                        "run_id",
                        "token",
                        "acquired_at_ns",
                        "expires_at_ns",
                    ],
                    vec![text(u), text(s), text(a), text(holder_id), opt_text(run_id), uint(1), int(now), int(expires)],
                );
                match store::insert(AGENT_LOCKS, row) {
                    Ok(_) => return Ok(AcquireOutcome::Acquired(lease(1))),
                    Err(StorageError::DuplicateKey(_)) => continue,
                    Err(e) => return Err(from_storage(e)),
                }
            }
            Some(cur) if cur.holder_id.is_none() || cur.expires_at_ns <= now => {
                let token = cur.token + 1;
                let filter = agent_key(u, s, a)
                    .eq("token", uint(cur.token))
                    .null_or_cmp("holder_id", "expires_at_ns", CompareOp::Le, int(now))
                    .build();
                let cells = set(vec![
                    ("holder_id", text(holder_id)),
                    ("run_id", opt_text(run_id)),
                    ("token", uint(token)),
                    ("acquired_at_ns", int(now)),
                    ("expires_at_ns", int(expires)),
                ]);
                if store::update(AGENT_LOCKS, filter, cells)? == 1 {
                    return Ok(AcquireOutcome::Acquired(lease(token)));
                }
            }
            // Held and unexpired, by someone else or by this very holder (no re-entrancy).
            Some(cur) => return Ok(AcquireOutcome::Held(cur)),
        }
    }
    Err(too_many_conflicts("acquire"))
}

/// The `lock-expired` error of a lease that is no longer the caller's.
#[inline(never)]
fn not_held(agent: &AgentRef, holder_id: &str, token: u64) -> SessionError {
    // The lease's present state is one `locks.show` away; the message names
    // whose lease is gone.
    SessionError::LockExpired(cat(&[
        "lock on agent ",
        &agent.agent_id,
        " is no longer held by ",
        holder_id,
        " with token ",
        &num(token),
    ]))
}

/// Extends the caller's unexpired lease.
pub fn renew(agent: &AgentRef, holder_id: &str, token: u64, ttl_ms: u64) -> Res<Lease> {
    check_ref(agent)?;
    ids::check("holder_id", holder_id)?;
    let now = now_ns();
    let expires = expiry(now, ttl_ms)?;
    let filter = agent_key(&agent.user_id, &agent.session_id, &agent.agent_id)
        .eq_text("holder_id", holder_id)
        .eq("token", uint(token))
        .cmp("expires_at_ns", CompareOp::Gt, int(now))
        .build();
    let n = store::update(AGENT_LOCKS, filter, set(vec![("expires_at_ns", int(expires))]))?;
    if n == 1
        && let Some(l) = find_lease(agent)?
    {
        return Ok(l);
    }
    Err(not_held(agent, holder_id, token))
}

/// Releases the caller's own lease (expired or not).
pub fn release(agent: &AgentRef, holder_id: &str, token: u64) -> Res<()> {
    check_ref(agent)?;
    ids::check("holder_id", holder_id)?;
    let filter = agent_key(&agent.user_id, &agent.session_id, &agent.agent_id)
        .eq_text("holder_id", holder_id)
        .eq("token", uint(token))
        .build();
    let cells = set(vec![("holder_id", Value::Null), ("run_id", Value::Null), ("expires_at_ns", int(0))]);
    if store::update(AGENT_LOCKS, filter, cells)? == 1 {
        return Ok(());
    }
    Err(not_held(agent, holder_id, token))
}

/// The lock row, if the key was ever locked.
pub fn show(agent: &AgentRef) -> Res<Option<Lease>> {
    check_ref(agent)?;
    find_lease(agent)
}

/// Every lock row of a session, by agent id.
pub fn list(user_id: &str, session_id: &str) -> Res<Vec<(String, Lease)>> {
    ids::check("user_id", user_id)?;
    ids::check("session_id", session_id)?;
    let rs = store::select(AGENT_LOCKS, session_key(user_id, session_id), "agent_id", None, &[])?;
    Ok(rows(&rs).map(|r| (r.string("agent_id"), lease_from_row(r))).collect())
}
