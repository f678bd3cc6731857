//! The meaning of the log, as a plain replay (pure, for tests): the newest
//! `replace`, then the later `append`s, honouring `undo`, de-duplicated by
//! message id, repaired, cut to the newest N. The stored timeline
//! (`history::timeline`) reaches the same conversation without replaying.

use crate::json::Json;
use crate::prelude::*;

/// What one logged action does to the conversation.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Adds these messages.
    Append(Vec<Json>),
    /// These messages become the whole conversation.
    Replace(Vec<Json>),
    /// Rewinds to before the first action of this run.
    Undo(String),
    /// Changes nothing (`run_start`, `run_end`), but marks its run's start.
    Mark,
}

/// One logged action, in sequence order.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    /// The run it belongs to.
    pub run_id: Option<String>,
    /// What it does.
    pub step: Step,
}

/// Replays `actions` (oldest first): for each run, the message count when its
/// first action is seen is remembered, and `undo(run)` truncates back to it
/// (an unknown run is ignored).
pub fn replay(actions: Vec<Logged>) -> Vec<Json> {
    let mut msgs: Vec<Json> = Vec::new();
    let mut run_starts: Vec<(String, usize)> = Vec::new();
    for a in actions {
        if let Some(r) = a.run_id
            && !run_starts.iter().any(|(id, _)| *id == r)
        {
            run_starts.push((r, msgs.len()));
        }
        match a.step {
            Step::Append(m) => msgs.extend(m),
            Step::Replace(m) => msgs = m,
            Step::Undo(r) => {
                if let Some((_, at)) = run_starts.iter().find(|(id, _)| *id == r) {
                    msgs.truncate(*at);
                }
            }
            Step::Mark => {}
        }
    }
    msgs
}

/// Keeps the first message of each id (messages without a string id are kept).
///
/// O(n log n) whatever order the ids come in: the (id, position) pairs are
/// sorted once, and every pair whose id equals its predecessor's is a later
/// copy. (No hash or B-tree maps: they cost component size.)
pub fn dedupe(mut msgs: Vec<Json>) -> Vec<Json> {
    let mut ids: Vec<(&str, usize)> =
        msgs.iter().enumerate().filter_map(|(at, m)| Some((m.get("id")?.as_str()?, at))).collect();
    crate::sort::heap_sort(&mut ids);
    let mut keep = vec![true; msgs.len()];
    for pair in ids.windows(2) {
        if pair[0].0 == pair[1].0 {
            keep[pair[1].1] = false;
        }
    }
    let mut keep = keep.into_iter();
    msgs.retain(|_| keep.next().unwrap_or(true));
    msgs
}

/// The conversation of `actions`: replayed, de-duplicated, repaired, and cut
/// to the newest `last` messages.
pub fn conversation(actions: Vec<Logged>, last: Option<u32>) -> Vec<Json> {
    let mut msgs = super::repair::repair(dedupe(replay(actions)));
    if let Some(n) = last {
        let n = n as usize;
        if msgs.len() > n {
            let skip = msgs.len() - n;
            msgs = msgs.into_iter().skip(skip).collect();
        }
    }
    msgs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    fn m(id: &str) -> Json {
        let text =
            r#"{"id":"ID","role":"user","content":[{"type":"text","text":"ID"}],"metadata":{},"created_at":"t"}"#;
        parse(&text.replace("ID", id)).unwrap()
    }

    fn act(run: Option<&str>, step: Step) -> Logged {
        Logged { run_id: run.map(str::to_owned), step }
    }

    fn ids(v: &[Json]) -> Vec<&str> {
        v.iter().map(|m| m.get("id").and_then(Json::as_str).unwrap()).collect()
    }

    #[test]
    fn appends_in_order_and_replace_resets() {
        let out = conversation(
            vec![
                act(None, Step::Append(vec![m("a"), m("b")])),
                act(Some("r1"), Step::Mark),
                act(Some("r1"), Step::Append(vec![m("c")])),
                act(None, Step::Replace(vec![m("s")])),
                act(None, Step::Append(vec![m("d")])),
            ],
            None,
        );
        assert_eq!(ids(&out), ["s", "d"]);
    }

    #[test]
    fn undo_rewinds_to_before_the_run() {
        let log = vec![
            act(Some("r1"), Step::Append(vec![m("u1")])),
            act(Some("r1"), Step::Append(vec![m("a1")])),
            act(Some("r2"), Step::Mark),
            act(Some("r2"), Step::Append(vec![m("u2")])),
            act(Some("r2"), Step::Append(vec![m("a2")])),
            act(Some("r3"), Step::Undo("r2".into())),
            act(Some("r3"), Step::Append(vec![m("u3")])),
        ];
        assert_eq!(ids(&conversation(log.clone(), None)), ["u1", "a1", "u3"]);
        // Undo of the first run empties the history; an unknown run is ignored.
        let mut log2 = log[..4].to_vec();
        log2.push(act(None, Step::Undo("nope".into())));
        assert_eq!(ids(&conversation(log2.clone(), None)), ["u1", "a1", "u2"]);
        log2.push(act(None, Step::Undo("r1".into())));
        assert!(conversation(log2, None).is_empty());
    }

    #[test]
    fn undo_after_replace_only_sees_runs_after_it() {
        let log = vec![
            act(Some("r1"), Step::Replace(vec![m("s1"), m("s2")])),
            act(Some("r2"), Step::Append(vec![m("x")])),
            act(None, Step::Undo("r2".into())),
        ];
        assert_eq!(ids(&conversation(log, None)), ["s1", "s2"]);
    }

    #[test]
    fn dedupes_by_id_keeping_the_first() {
        let mut second = m("a");
        if let Json::Obj(o) = &mut second {
            crate::json::set(o, "role", Json::str("assistant"));
        }
        let out = conversation(vec![act(None, Step::Append(vec![m("a"), m("b"), second, m("c")]))], None);
        assert_eq!(ids(&out), ["a", "b", "c"]);
        assert_eq!(out[0].get("role"), Some(&Json::str("user")));
    }

    #[test]
    fn dedupe_keeps_the_first_of_each_id_in_any_order() {
        // Ids in a scrambled order with repeats, against the obvious quadratic rule.
        let mut x: u32 = 12345;
        let mut msgs = Vec::new();
        for _ in 0..500 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let mut msg = m(&format!("id{}", (x >> 8) % 300));
            if let Json::Obj(o) = &mut msg {
                crate::json::set(o, "metadata", Json::str(&format!("{}", msgs.len())));
            }
            msgs.push(msg);
        }
        msgs.push(parse(r#"{"role":"user","content":[]}"#).unwrap());
        let expected: Vec<Json> = msgs
            .iter()
            .enumerate()
            .filter(|(at, msg)| match msg.get("id") {
                Some(id) => !msgs[..*at].iter().any(|earlier| earlier.get("id") == Some(id)),
                None => true,
            })
            .map(|(_, msg)| msg.clone())
            .collect();
        assert!(expected.len() < msgs.len() && expected.len() > 200);
        assert_eq!(dedupe(msgs), expected);
    }

    #[test]
    fn last_keeps_the_newest() {
        let log = vec![act(None, Step::Append(vec![m("a"), m("b"), m("c")]))];
        assert_eq!(ids(&conversation(log.clone(), Some(2))), ["b", "c"]);
        assert_eq!(ids(&conversation(log.clone(), Some(5))), ["a", "b", "c"]);
        assert!(conversation(log, Some(0)).is_empty());
    }
}
