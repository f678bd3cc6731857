//! Writing one action: idempotency, the per-agent sequence number, the
//! optional lock fence, the action's row in the log and its effect on the
//! live conversation (`history::timeline`), all in one atomic batch.

use crate::agents::check_ref;
use crate::bindings::exports::nexau::session::history::{Action, Fence, Receipt, WriteOptions};
use crate::bindings::exports::nexau::session::types::AgentRef;
use crate::clock::{now_ns, rfc3339_micros};
use crate::error::{MAX_ATTEMPTS, Res, SessionError, from_storage, invalid, too_many_conflicts};
use crate::ids;
use crate::json::Json;
use crate::prelude::*;
use crate::schema::{ACTIONS, AGENT_LOCKS, AGENTS, MESSAGE_COLUMNS, MESSAGES, SESSIONS};
use crate::sessions::session_not_found;
use crate::store::{
    self, CheckOp, CompareOp, InsertOp, Row, RowSet, StorageError, UpdateOp, Value as Cell, WriteOp, agent_key, first,
    int, json, new_row, opt_text, session_key, set, text, uint,
};

use super::prepare::{Prepared, fingerprint, prepare};
use super::timeline::{Head, message_id, role, tool_calls};

/// One agent's key, borrowed.
#[derive(Clone, Copy)]
pub struct Key<'a> {
    /// The user.
    pub u: &'a str,
    /// The session.
    pub s: &'a str,
    /// The agent.
    pub a: &'a str,
}

impl Key<'_> {
    /// The agent's live messages of `epoch`.
    pub fn live(&self, epoch: i64) -> store::Where {
        agent_key(self.u, self.s, self.a).eq("epoch", int(epoch)).eq("live", Cell::Boolean(true))
    }
}

/// Which of `msgs` to keep live: the first of each id, and (for an
/// `append`) none whose id is live already. Only ids the caller gave are
/// looked up (and none while nothing is live): those the component made are new.
fn firsts(key: Key<'_>, head: &Head, msgs: &[Json], given: &[bool], append: bool) -> Res<Vec<bool>> {
    let mut keep = Vec::with_capacity(msgs.len());
    for (i, m) in msgs.iter().enumerate() {
        let id = message_id(m);
        let mut dup = false;
        if given.get(i) == Some(&true) {
            dup = msgs.iter().zip(given).take(i).any(|(e, &g)| g && message_id(e) == id);
            if append && !dup && head.live_count > 0 {
                let same = key.live(head.epoch).eq_text("message_id", id);
                dup = !store::select(MESSAGES, same, "", Some(1), &["message_id"])?.kinds.is_empty();
            }
        }
        keep.push(!dup);
    }
    Ok(keep)
}

/// The rows of `msgs`, written by action `seq`: the kept ones take the next
/// positions of `head` (which they update), the others are stored dead.
pub fn message_rows(key: Key<'_>, head: &mut Head, seq: i64, msgs: &[Json], keep: &[bool]) -> RowSet {
    let mut out = Vec::with_capacity(msgs.len());
    for (i, m) in msgs.iter().enumerate() {
        let live = keep.get(i).copied().unwrap_or(false);
        // A dead row's `pos` is minus one minus its index in the action.
        let pos = if live { head.live_count } else { -1 - i as i64 };
        head.live_count += i64::from(live);
        out.push(vec![
            text(key.u),
            text(key.s),
            text(key.a),
            int(seq),
            int(head.epoch),
            int(pos),
            Cell::Boolean(live),
            text(message_id(m)),
            text(role(m)),
            tool_calls(m).map_or(Cell::Null, Cell::Json),
            Cell::Json(m.dump()),
        ]);
    }
    RowSet { columns: strings(&MESSAGE_COLUMNS), rows: out }
}

/// What an `undo` of `run` changes: the op that turns the dropped messages
/// off (none when the run is unknown since the newest replace, or dropped
/// nothing), with `head` updated.
fn undo(key: Key<'_>, head: &mut Head, run: &str) -> Res<Option<WriteOp>> {
    let first_of_run = agent_key(key.u, key.s, key.a).eq_text("run_id", run).eq("epoch", int(head.epoch));
    let found = store::select(ACTIONS, first_of_run, "seq", Some(1), &[])?;
    let Some(cut) = first(&found).and_then(|r| r.opt_int("live_before")) else { return Ok(None) };
    if cut >= head.live_count {
        return Ok(None);
    }
    let op = WriteOp::Update(UpdateOp {
        table: MESSAGES.into(),
        filter: key.live(head.epoch).cmp("pos", CompareOp::Ge, int(cut)).build(),
        set: set(vec![("live", Cell::Boolean(false))]),
        expect: None,
    });
    head.live_count = cut;
    head.generation += 1;
    Ok(Some(op))
}

/// A write found under its idempotency key: the earlier receipt, unless the
/// key was used for a different request.
fn replayed(r: Row<'_>, key: &str, print: &str) -> Res<Receipt> {
    if r.str("request_hash").is_some_and(|h| h != print) {
        return Err(invalid(cat(&["idempotency_key ", key, ": used for another request"])));
    }
    Ok(Receipt { action_id: r.string("action_id"), seq: r.uint("seq"), stored: false })
}

fn opt_json(s: Option<&str>) -> Cell {
    s.map_or(Cell::Null, json)
}

/// Where and when an action is stored.
struct Stored<'a> {
    action_id: &'a str,
    seq: i64,
    now: i64,
    /// `now` as RFC 3339, formatted once for every row the action writes.
    stamp: &'a str,
    /// The epoch the action belongs to (a `replace` starts a new one).
    epoch: i64,
    /// The live message count before it (an `undo` of its run goes back here).
    live_before: i64,
    run_id: Option<&'a str>,
    idempotency_key: Option<&'a str>,
    fingerprint: &'a str,
}

/// The action's row in the log.
fn action_row(key: Key<'_>, p: &Prepared, at: &Stored<'_>) -> RowSet {
    new_row(
        &[
            "action_id",
            "user_id",
            "session_id",
            "agent_id",
            "seq",
            "run_id",
            "root_run_id",
            "parent_run_id",
            "agent_name",
            "created_at",
            "created_at_ns",
            "action_type",
            "undo_before_run_id",
            "idempotency_key",
            "extra",
            "epoch",
            "live_before",
            "request_hash",
        ],
        vec![
            text(at.action_id),
            text(key.u),
            text(key.s),
            text(key.a),
            int(at.seq),
            opt_text(at.run_id),
            opt_text(p.root_run_id.as_deref()),
            opt_text(p.parent_run_id.as_deref()),
            opt_text(p.agent_name.as_deref()),
            Cell::Timestamp(at.stamp.to_owned()),
            int(at.now),
            text(p.action_type),
            opt_text(p.undo_before_run_id.as_deref()),
            opt_text(at.idempotency_key),
            opt_json(p.extra.as_deref()),
            int(at.epoch),
            int(at.live_before),
            text(at.fingerprint),
        ],
    )
}

/// What one attempt came to.
enum Attempt {
    /// Stored (or found under its idempotency key).
    Done(Receipt),
    /// Another writer got there first: read again and retry.
    Again,
}

/// The ops that change the live conversation, with `head` updated: the new
/// message rows, or the rows an `undo` turns off.
fn effects(key: Key<'_>, head: &mut Head, seq: i64, p: &Prepared, messages: Option<&[Json]>) -> Res<Vec<WriteOp>> {
    let mut ops = Vec::new();
    if let Some(msgs) = messages {
        let keep = firsts(key, head, msgs, &p.given_ids, p.action_type == "append")?;
        ops.push(WriteOp::Insert(InsertOp { table: MESSAGES.into(), rows: message_rows(key, head, seq, msgs, &keep) }));
    }
    if let Some(r) = &p.undo_before_run_id {
        ops.extend(undo(key, head, r)?);
    }
    Ok(ops)
}

/// The compare-and-set on the agent row: the next sequence number and the
/// new counters, only while `seq` is still the next one.
fn advance(key: Key<'_>, seq: i64, head: &Head, stamp: &str) -> WriteOp {
    WriteOp::Update(UpdateOp {
        table: AGENTS.into(),
        filter: agent_key(key.u, key.s, key.a).eq("next_seq", int(seq)).build(),
        set: set(vec![
            ("next_seq", int(seq + 1)),
            ("last_updated", Cell::Timestamp(stamp.to_owned())),
            ("live_count", int(head.live_count)),
            ("epoch", int(head.epoch)),
            ("generation", int(head.generation)),
        ]),
        expect: Some(1),
    })
}

/// The fence: the lock row still has the writer's holder and token, unexpired.
fn fence_check(key: Key<'_>, f: &Fence, now: i64) -> WriteOp {
    WriteOp::Check(CheckOp {
        table: AGENT_LOCKS.into(),
        filter: agent_key(key.u, key.s, key.a)
            .eq_text("holder_id", &f.holder_id)
            .eq("token", uint(f.token))
            .cmp("expires_at_ns", CompareOp::Gt, int(now))
            .build(),
        expect: 1,
    })
}

/// One try at storing the action.
#[inline(never)]
fn attempt(key: Key<'_>, p: &Prepared, messages: Option<&[Json]>, options: &WriteOptions, print: &str) -> Res<Attempt> {
    if let Some(k) = &options.idempotency_key {
        let found =
            store::select(ACTIONS, agent_key(key.u, key.s, key.a).eq_text("idempotency_key", k), "", Some(1), &[])?;
        if let Some(r) = first(&found) {
            return replayed(r, k, print).map(Attempt::Done);
        }
    }
    let mut head = Head::read(key)?;
    let seq = head.next_seq;
    if p.action_type == "replace" {
        head.epoch += 1;
        head.generation += 1;
        head.live_count = 0;
    }
    // The action's epoch and the count an `undo` of its run goes back to.
    let (epoch, live_before) = (head.epoch, head.live_count);
    let changes = effects(key, &mut head, seq, p, messages)?;
    let now = now_ns();
    let action_id = ids::new_ulid_id("act_");
    let mut batch = Vec::with_capacity(6);
    batch.extend(options.fence.as_ref().map(|f| fence_check(key, f, now)));
    let agents_at = batch.len() as u32;
    let stamp = rfc3339_micros(now);
    batch.push(advance(key, seq, &head, &stamp));
    batch.push(WriteOp::Update(UpdateOp {
        table: SESSIONS.into(),
        filter: session_key(key.u, key.s).build(),
        set: set(vec![("updated_at", Cell::Timestamp(stamp.clone()))]),
        expect: Some(1),
    }));
    batch.extend(changes);
    let stored = Stored {
        action_id: &action_id,
        seq,
        now,
        stamp: &stamp,
        epoch,
        live_before,
        run_id: options.run_id.as_deref(),
        idempotency_key: options.idempotency_key.as_deref(),
        fingerprint: print,
    };
    batch.push(WriteOp::Insert(InsertOp { table: ACTIONS.into(), rows: action_row(key, p, &stored) }));
    match store::apply(&batch) {
        Ok(_) => Ok(Attempt::Done(Receipt { action_id, seq: u64::try_from(seq).unwrap_or(0), stored: true })),
        Err(StorageError::Conflict(i)) if i < agents_at => {
            let token = num(options.fence.as_ref().map_or(0, |f| f.token));
            Err(SessionError::LockExpired(cat(&["lock on agent ", key.a, ": token ", &token, " is stale"])))
        }
        Err(StorageError::Conflict(i)) if i == agents_at + 1 => Err(session_not_found(key.u, key.s)),
        // Another writer took this sequence number, or an idempotent twin
        // landed: again.
        Err(StorageError::Conflict(_) | StorageError::DuplicateKey(_)) => Ok(Attempt::Again),
        Err(e) => Err(from_storage(e)),
    }
}

/// Records one action; see the `history.write` contract in `wit/history.wit`.
pub fn write(agent: &AgentRef, action: Action, options: WriteOptions) -> Res<Receipt> {
    check_ref(agent)?;
    ids::check_opt("run_id", options.run_id.as_deref())?;
    ids::check_opt("idempotency_key", options.idempotency_key.as_deref())?;
    if let Some(f) = &options.fence {
        ids::check("holder_id", &f.holder_id)?;
    }
    let print = fingerprint(&action, options.run_id.as_deref());
    let mut p = prepare(action, options.run_id.as_deref(), &rfc3339_micros(now_ns()))?;
    let messages = p.messages.take();
    let key = Key { u: &agent.user_id, s: &agent.session_id, a: &agent.agent_id };
    for _ in 0..MAX_ATTEMPTS {
        if let Attempt::Done(receipt) = attempt(key, &p, messages.as_deref(), &options, &print)? {
            return Ok(receipt);
        }
    }
    Err(too_many_conflicts("history write"))
}
