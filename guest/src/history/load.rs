//! Loading an agent's conversation, a page at a time: the live rows of
//! `agent_messages` in position order (only those returned are read), with
//! an error result added for every assistant `tool_use` that the tool
//! messages right after it leave unanswered. Stored messages are normalized
//! already, so they are copied out as they are, never parsed.

use super::repair::synthetic_text;
use super::timeline::Head;
use super::write::Key;
use crate::agents::check_ref;
use crate::bindings::exports::nexau::session::history::{LoadOptions, Page, PageCursor, PageStart};
use crate::bindings::exports::nexau::session::types::AgentRef;
use crate::error::{Res, SessionError};
use crate::json::{self, Json};
use crate::prelude::*;
use crate::schema::{MESSAGES, row_without};
use crate::store::{self, CompareOp, PackedRows, first, int, text};

/// Rows read by the first storage call of a bounded page (one: a message
/// may be large); later calls read as many rows as the page has room for at
/// the sizes seen so far, up to [`MAX_CHUNK`] and to the live rows left
/// (so a backend can size its answer by the limit). An unbounded read (`load`)
/// asks for every live row left at once, up to [`MAX_CHUNK`].
const FIRST_CHUNK: u32 = 1;
/// The most rows one storage call reads.
const MAX_CHUNK: usize = 1024;

/// The columns a load reads of each message row.
const READ: [&str; 4] = ["pos", "role", "tool_calls", "message"];

/// Messages as one JSON array being built, with where each one starts.
struct Collected {
    json: String,
    starts: Vec<usize>,
}

impl Collected {
    fn new() -> Self {
        Collected { json: String::from("["), starts: Vec::new() }
    }

    // A one-byte str is copied as it is; a char is UTF-8 encoded first, out
    // of line in this size-optimized build (per message of a load).
    #[allow(clippy::single_char_add_str)]
    fn push(&mut self, message: &str) {
        if !self.starts.is_empty() {
            self.json.push_str(",");
        }
        self.starts.push(self.json.len());
        self.json.push_str(message);
    }

    /// Adds an error result for each call in `asked` (an assistant
    /// message's `tool_calls`: its time, then the ids) that the tool messages
    /// after it left unanswered.
    fn repair(&mut self, asked: &mut Vec<Json>) {
        if let Some((at, calls)) = asked.split_first() {
            for c in calls {
                let m = synthetic_text(c.as_str().unwrap_or(""), at.as_str().unwrap_or(""));
                self.push(&m);
            }
        }
        asked.clear();
    }

    /// The array; with `last`, only its newest `last` messages.
    fn finish(mut self, last: Option<u32>) -> String {
        let n = self.starts.len();
        if let Some(keep) = last.map(|k| k as usize)
            && keep < n
        {
            let from = self.starts.get(n - keep).copied().unwrap_or(self.json.len());
            let mut out = String::with_capacity(self.json.len() - from + 2);
            out.push('[');
            out.push_str(self.json.get(from..).unwrap_or_default());
            self.json = out;
        }
        self.json.push(']');
        self.json
    }
}

/// The first position a window of the newest `n` messages needs: when the
/// window would start with tool messages, the message before them, whose
/// unanswered calls are repaired after them.
fn window_start(key: Key<'_>, head: &Head, n: u32) -> Res<i64> {
    let start = head.live_count - i64::from(n);
    if start <= 0 {
        return Ok(0);
    }
    let not_tool = key.live(head.epoch).cmp("pos", CompareOp::Le, int(start)).cmp("role", CompareOp::Ne, text("tool"));
    let found = store::select(MESSAGES, not_tool, "-pos", Some(1), &["pos"])?;
    Ok(first(&found).map_or(0, |r| r.int("pos")))
}

/// Column `name`'s index in a row set.
fn column(set: &PackedRows, name: &str) -> usize {
    set.columns.iter().position(|c| c == name).unwrap_or(usize::MAX)
}

/// The items of a `tool_calls` cell.
fn ids_of(cell: Option<&str>) -> Vec<Json> {
    match cell.map(json::parse) {
        Some(Ok(Json::Arr(ids))) => ids,
        _ => Vec::new(),
    }
}

/// Fills `out` from position `from` on until `max_bytes`; where to go on.
fn fill(key: Key<'_>, head: &Head, mut from: i64, max_bytes: usize, out: &mut Collected) -> Res<Option<PageCursor>> {
    // The `tool_calls` of the newest assistant message, less those the tool
    // messages after it answered.
    let mut asked: Vec<Json> = Vec::new();
    // Live rows hold positions 0 to `live_count - 1`: none is left past them.
    let left = |from: i64| usize::try_from(head.live_count - from).unwrap_or(0);
    let mut chunk = if max_bytes == usize::MAX { left(from).clamp(1, MAX_CHUNK) as u32 } else { FIRST_CHUNK };
    loop {
        let live_from = key.live(head.epoch).cmp("pos", CompareOp::Ge, int(from));
        let found = store::select(MESSAGES, live_from, "pos", Some(chunk), &READ)?;
        let at = |name| column(&found, name);
        let (at_pos, at_role, at_ids, at_message) = (at("pos"), at("role"), at("tool_calls"), at("message"));
        // The chunk's messages fit in its text (which holds them, their roles
        // and calls) plus a comma a cell: one allocation, where growing as
        // they came copied the page again at every doubling.
        out.json.reserve(found.text.len() + found.kinds.len());
        out.starts.reserve(found.kinds.len() / found.columns.len().max(1));
        let mut got = 0;
        for row in store::rows(&found) {
            got += 1;
            // The cells this read asked for, checked as they are used (see `store::rows_of`).
            let (Some(pos), Some(role)) = (row.int_at(at_pos), row.text_at(at_role)) else {
                return Err(row_without(MESSAGES, "pos"));
            };
            // Matched as bytes: compared as `str`s, the two roles cost a
            // call chain into `memcmp` each (per message of a load).
            let (tool, assistant) = match role.as_bytes() {
                b"tool" => (true, false),
                b"assistant" => (false, true),
                _ => (false, false),
            };
            // Parsed only where a call is pending or made: most rows have none.
            let calls = row.text_at(at_ids);
            if tool {
                if !asked.is_empty() {
                    let ids = ids_of(calls);
                    let mut first = true;
                    asked.retain(|c| core::mem::take(&mut first) || !ids.iter().any(|i| i.as_str() == c.as_str()));
                }
            } else {
                if !asked.is_empty() {
                    out.repair(&mut asked);
                }
                if out.json.len() >= max_bytes && !out.starts.is_empty() {
                    return Ok(Some(PageCursor { generation: head.generation as u64, position: pos as u64 }));
                }
            }
            let Some(message) = row.text_at(at_message) else {
                return Err(row_without(MESSAGES, "message"));
            };
            // Nothing is pending here (the branch above repaired it).
            if assistant && calls.is_some() {
                asked = ids_of(calls);
            }
            out.push(message);
            from = pos + 1;
        }
        if got < chunk as usize || left(from) == 0 {
            break;
        }
        let average = out.json.len() / out.starts.len().max(1) + 1;
        chunk = (max_bytes.saturating_sub(out.json.len()) / average).clamp(1, MAX_CHUNK).min(left(from)) as u32;
    }
    out.repair(&mut asked);
    Ok(None)
}

/// Messages from `start` on, up to about `max_bytes`; `None` as the cursor
/// after the newest message.
fn collect(agent: &AgentRef, start: PageStart, max_bytes: usize) -> Res<(Collected, Option<PageCursor>)> {
    check_ref(agent)?;
    let key = Key { u: &agent.user_id, s: &agent.session_id, a: &agent.agent_id };
    let mut out = Collected::new();
    let head = Head::read(key)?;
    let from = match start {
        PageStart::Beginning => 0,
        PageStart::Last(0) => return Ok((out, None)),
        PageStart::Last(n) => window_start(key, &head, n)?,
        PageStart::After(c) => {
            if c.generation != head.generation as u64 {
                return Err(SessionError::Conflict(cat(&["agent ", key.a, ": stale page cursor"])));
            }
            i64::try_from(c.position).unwrap_or(i64::MAX)
        }
    };
    let next = fill(key, &head, from, max_bytes, &mut out)?;
    Ok((out, next))
}

/// The agent's conversation as one JSON array; see `history.load` in `wit/history.wit`.
pub fn load(agent: &AgentRef, options: LoadOptions) -> Res<String> {
    let start = options.last.map_or(PageStart::Beginning, PageStart::Last);
    let (out, _) = collect(agent, start, usize::MAX)?;
    Ok(out.finish(options.last))
}

/// One page of the conversation; see `history.load-page` in `wit/history.wit`.
pub fn load_page(agent: &AgentRef, start: PageStart, max_bytes: u32) -> Res<Page> {
    let (out, next) = collect(agent, start, max_bytes as usize)?;
    Ok(Page { messages: out.finish(None), next })
}
