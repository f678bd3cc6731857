//! Ordered indexes of an in-memory table, and the choice of one to answer a
//! filter without scanning every row.
//!
//! Every declared key and index (the primary key, unique and plain indexes)
//! is a `BTreeSet` of `(key, row id)`. A filter whose top-level conjunction
//! fixes the leading columns of an index by equality (and maybe bounds the
//! next one) reads only that range; the filter itself is still evaluated on
//! every candidate, so the index only narrows and never decides.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::ops::Bound;

use crate::{CmpOp, ColumnType, TableSchema, Value};

/// Index keys are byte strings that compare (byte-wise) in the order of
/// their values: one contiguous buffer per key, so a lookup compares plain
/// bytes rather than chasing a pointer per key part. Each part is a tag and
/// its value: NULL first, then by value (text, JSON and timestamps
/// byte-wise), like [`sort_cmp`](super::filter::sort_cmp) within one column
/// type. Text and bytes are escaped (`00` → `00 FF`) and end with `00 01`,
/// so no part is a prefix of a different one. [`TOP`] is never stored: it
/// bounds ranges from above.
pub(crate) type Key = Vec<u8>;

const NULL: u8 = 0x01;
const BOOL: u8 = 0x02;
const INT: u8 = 0x03;
const FLOAT: u8 = 0x04;
const STR: u8 = 0x05;
const BYTES: u8 = 0x06;
/// Greater than every stored part.
const TOP: u8 = 0xFF;

fn push_escaped(out: &mut Key, bytes: &[u8]) {
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0x00, 0x01]);
}

/// Appends the encoding of `v` to `out`.
pub(crate) fn push_part(out: &mut Key, v: &Value) {
    match v {
        Value::Null => out.push(NULL),
        Value::Bool(b) => out.extend_from_slice(&[BOOL, u8::from(*b)]),
        Value::Int(i) => {
            out.push(INT);
            out.extend_from_slice(&((*i as u64) ^ (1 << 63)).to_be_bytes());
        }
        Value::Float(f) => {
            let f = if *f == 0.0 { 0.0 } else { *f };
            let bits = f.to_bits();
            let ordered = if bits >> 63 == 1 { !bits } else { bits | (1 << 63) };
            out.push(FLOAT);
            out.extend_from_slice(&ordered.to_be_bytes());
        }
        Value::Text(s) | Value::Json(s) | Value::Timestamp(s) => {
            out.push(STR);
            push_escaped(out, s.as_bytes());
        }
        Value::Bytes(b) => {
            out.push(BYTES);
            push_escaped(out, b);
        }
    }
}

fn part(v: &Value) -> Key {
    let mut k = Key::new();
    push_part(&mut k, v);
    k
}

/// Whether `v` is of the kind a column of type `ty` stores, so that index
/// order and SQL comparison agree on it.
fn probes(ty: ColumnType, v: &Value) -> bool {
    matches!(
        (ty, v),
        (ColumnType::Bool, Value::Bool(_))
            | (ColumnType::Int, Value::Int(_))
            | (ColumnType::Float, Value::Float(_))
            | (ColumnType::Bytes, Value::Bytes(_))
            | (
                ColumnType::Text | ColumnType::Json | ColumnType::Timestamp,
                Value::Text(_) | Value::Json(_) | Value::Timestamp(_)
            )
    )
}

/// One key or index: the row ids by their key.
#[derive(Debug, Clone)]
pub(crate) struct OrderedIndex {
    /// `primary key` or the declared index name (for messages).
    pub(crate) name: String,
    /// Column positions, in key order.
    pub(crate) columns: Vec<usize>,
    /// Whether two rows may not share a key without NULL parts.
    pub(crate) unique: bool,
    entries: BTreeSet<(Key, u64)>,
}

impl OrderedIndex {
    pub(crate) fn new(name: &str, columns: Vec<usize>, unique: bool) -> OrderedIndex {
        OrderedIndex { name: name.to_owned(), columns, unique, entries: BTreeSet::new() }
    }

    pub(crate) fn key(&self, row: &[Value]) -> Key {
        let mut k = Key::with_capacity(16 * self.columns.len());
        for &i in &self.columns {
            push_part(&mut k, &row[i]);
        }
        k
    }

    pub(crate) fn insert(&mut self, id: u64, row: &[Value]) {
        self.insert_key(self.key(row), id);
    }

    /// Files row `id` under `key` (its [`OrderedIndex::key`], encoded already).
    pub(crate) fn insert_key(&mut self, key: Key, id: u64) {
        self.entries.insert((key, id));
    }

    pub(crate) fn remove(&mut self, id: u64, row: &[Value]) {
        self.entries.remove(&(self.key(row), id));
    }

    /// The rows whose key is exactly `key`.
    pub(crate) fn holders<'s>(&'s self, key: &'s [u8]) -> impl Iterator<Item = u64> + 's {
        self.entries.range((key.to_vec(), 0)..).take_while(move |(k, _)| k.as_slice() == key).map(|(_, id)| *id)
    }

    /// The row ids in `range`, in key order (reversed when `descending`).
    pub(crate) fn scan(&self, range: &Range, descending: bool) -> Box<dyn Iterator<Item = u64> + '_> {
        let Some((lo, hi)) = range.bounds() else { return Box::new(std::iter::empty()) };
        let it = self.entries.range((lo, hi)).map(|(_, id)| *id);
        if descending { Box::new(it.rev()) } else { Box::new(it) }
    }
}

/// A range of one index: the leading columns fixed, the next one maybe bounded.
#[derive(Debug, Clone)]
pub(crate) struct Range {
    /// The encoded leading parts.
    prefix: Key,
    /// Bounds on the next part, each encoded alone.
    lower: Bound<Key>,
    upper: Bound<Key>,
}

type Entry = (Key, u64);

impl Range {
    fn with(&self, more: &[&[u8]]) -> Key {
        let mut k = self.prefix.clone();
        for m in more {
            k.extend_from_slice(m);
        }
        k
    }

    /// The `BTreeSet` bounds, or `None` for an empty range.
    fn bounds(&self) -> Option<(Bound<Entry>, Bound<Entry>)> {
        let lo = match &self.lower {
            Bound::Unbounded => Bound::Included((self.prefix.clone(), 0)),
            Bound::Included(v) => Bound::Included((self.with(&[v]), 0)),
            Bound::Excluded(v) => Bound::Excluded((self.with(&[v, &[TOP]]), u64::MAX)),
        };
        let hi = match &self.upper {
            Bound::Unbounded => Bound::Included((self.with(&[&[TOP]]), u64::MAX)),
            Bound::Included(v) => Bound::Included((self.with(&[v, &[TOP]]), u64::MAX)),
            Bound::Excluded(v) => Bound::Excluded((self.with(&[v]), 0)),
        };
        let (Bound::Included(a) | Bound::Excluded(a)) = &lo else { return None };
        let (Bound::Included(b) | Bound::Excluded(b)) = &hi else { return None };
        let both_included = matches!((&lo, &hi), (Bound::Included(_), Bound::Included(_)));
        match a.cmp(b) {
            Ordering::Greater => None,
            Ordering::Equal if !both_included => None,
            _ => Some((lo, hi)),
        }
    }
}

/// How to read the candidates of a filter through an index.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// Which of the table's indexes.
    pub(crate) index: usize,
    /// How many of its leading columns the range fixes.
    pub(crate) fixed: usize,
    pub(crate) range: Range,
    /// `Some(descending)` when reading the range in index order (or its
    /// reverse) yields the rows in the requested order.
    pub(crate) ordered: Option<bool>,
}

/// How well an index serves a filter: columns it narrows (see [`choose`]),
/// whether it reads in order, columns it fixes, whether it is unique.
type Score = (usize, bool, usize, bool);

/// The best index so far, before its range is encoded.
struct Winner {
    index: usize,
    fixed: usize,
    ordered: Option<bool>,
}

/// The best index for `conjuncts` (and `order`, `(column, descending)`;
/// `limited`: the query stops after some rows), or `None` when no index
/// narrows the search.
pub(crate) fn choose(
    schema: &TableSchema,
    indexes: &[OrderedIndex],
    conjuncts: &[(usize, CmpOp, &Value)],
    order: &[(usize, bool)],
    limited: bool,
) -> Option<Plan> {
    let usable = |col: usize, op: CmpOp| {
        conjuncts
            .iter()
            .find(|(c, o, v)| *c == col && *o == op && probes(schema.columns[col].ty, v))
            .map(|(_, _, v)| *v)
    };
    // One end of a range on `col`: the inclusive comparison if there is
    // one, else the exclusive one.
    let bound = |col: usize, inclusive: CmpOp, exclusive: CmpOp| match (usable(col, inclusive), usable(col, exclusive))
    {
        (Some(v), _) => Bound::Included(v),
        (None, Some(v)) => Bound::Excluded(v),
        (None, None) => Bound::Unbounded,
    };
    // The bounds on the column after the fixed ones: (lower, upper).
    let bounds_on = |col: Option<&usize>| match col {
        Some(&col) => (bound(col, CmpOp::Ge, CmpOp::Gt), bound(col, CmpOp::Le, CmpOp::Lt)),
        None => (Bound::Unbounded, Bound::Unbounded),
    };
    // Scored without building keys; only the winner's range is encoded.
    let mut best: Option<(Score, Winner)> = None;
    for (n, ix) in indexes.iter().enumerate() {
        let fixed = ix.columns.iter().take_while(|&&col| usable(col, CmpOp::Eq).is_some()).count();
        let (lower, upper) = bounds_on(ix.columns.get(fixed));
        let bounded = !matches!((&lower, &upper), (Bound::Unbounded, Bound::Unbounded));
        let rest = &ix.columns[fixed..];
        // In order when the requested order is the index's next columns
        // (rows tying on them come out in the order of the columns after,
        // and `Table::find` sorts ties back into insertion order).
        let ordered = match order.first() {
            Some(&(_, descending))
                if order.len() <= rest.len()
                    && order.iter().zip(rest).all(|(&(c, d), &r)| c == r && d == descending) =>
            {
                Some(descending)
            }
            _ => None,
        };
        if fixed == 0 && !bounded {
            continue;
        }
        // A range on the next column narrows about as much as one more fixed
        // column, and so does reading in order when a limit stops the read
        // early (an unordered plan reads every match and sorts them): for
        // the newest messages of an agent, the key `(agent, epoch, pos)` in
        // order beats `(agent, epoch, live)` fixed and every row sorted.
        let in_order = ordered.is_some();
        let narrowing = fixed + usize::from(bounded) + usize::from(in_order && limited);
        let score = (narrowing, in_order, fixed, ix.unique);
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((score, Winner { index: n, fixed, ordered }));
        }
    }
    let (_, Winner { index, fixed, ordered }) = best?;
    let columns = &indexes[index].columns;
    let mut prefix = Key::new();
    for &col in &columns[..fixed] {
        push_part(&mut prefix, usable(col, CmpOp::Eq)?);
    }
    let (lower, upper) = bounds_on(columns.get(fixed));
    let (lower, upper) = (lower.map(part), upper.map(part));
    Some(Plan { index, fixed, range: Range { prefix, lower, upper }, ordered })
}
