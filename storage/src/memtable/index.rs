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

/// A value as an index orders it: NULL first, then by value (text, JSON and
/// timestamps byte-wise), like [`sort_cmp`](super::filter::sort_cmp) within
/// one column type. `Top` is never stored: it bounds ranges from above.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum IxKey {
    Null,
    Bool(bool),
    Int(i64),
    Float(OrdF64),
    Str(String),
    Bytes(Vec<u8>),
    Top,
}

/// A float with a total order in which `-0.0 == 0.0`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OrdF64(f64);

impl OrdF64 {
    fn normalized(self) -> f64 {
        if self.0 == 0.0 { 0.0 } else { self.0 }
    }
}
impl PartialEq for OrdF64 {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for OrdF64 {}
impl PartialOrd for OrdF64 {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for OrdF64 {
    fn cmp(&self, other: &Self) -> Ordering {
        self.normalized().total_cmp(&other.normalized())
    }
}

impl IxKey {
    pub(crate) fn of(v: &Value) -> IxKey {
        match v {
            Value::Null => IxKey::Null,
            Value::Bool(b) => IxKey::Bool(*b),
            Value::Int(i) => IxKey::Int(*i),
            Value::Float(f) => IxKey::Float(OrdF64(*f)),
            Value::Text(s) | Value::Json(s) | Value::Timestamp(s) => IxKey::Str(s.clone()),
            Value::Bytes(b) => IxKey::Bytes(b.clone()),
        }
    }
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
    entries: BTreeSet<(Vec<IxKey>, u64)>,
}

impl OrderedIndex {
    pub(crate) fn new(name: &str, columns: Vec<usize>, unique: bool) -> OrderedIndex {
        OrderedIndex { name: name.to_owned(), columns, unique, entries: BTreeSet::new() }
    }

    pub(crate) fn key(&self, row: &[Value]) -> Vec<IxKey> {
        self.columns.iter().map(|&i| IxKey::of(&row[i])).collect()
    }

    pub(crate) fn insert(&mut self, id: u64, row: &[Value]) {
        self.entries.insert((self.key(row), id));
    }

    pub(crate) fn remove(&mut self, id: u64, row: &[Value]) {
        self.entries.remove(&(self.key(row), id));
    }

    /// The rows whose key is exactly `key`.
    pub(crate) fn holders(&self, key: Vec<IxKey>) -> impl Iterator<Item = u64> + '_ {
        let top = (key.clone(), u64::MAX);
        self.entries.range((key, 0)..=top).map(|(_, id)| *id)
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
    prefix: Vec<IxKey>,
    lower: Bound<IxKey>,
    upper: Bound<IxKey>,
}

type Entry = (Vec<IxKey>, u64);

impl Range {
    fn with(&self, more: &[IxKey]) -> Vec<IxKey> {
        let mut k = self.prefix.clone();
        k.extend_from_slice(more);
        k
    }

    /// The `BTreeSet` bounds, or `None` for an empty range.
    fn bounds(&self) -> Option<(Bound<Entry>, Bound<Entry>)> {
        let lo = match &self.lower {
            Bound::Unbounded => Bound::Included((self.prefix.clone(), 0)),
            Bound::Included(v) => Bound::Included((self.with(std::slice::from_ref(v)), 0)),
            Bound::Excluded(v) => Bound::Excluded((self.with(&[v.clone(), IxKey::Top]), u64::MAX)),
        };
        let hi = match &self.upper {
            Bound::Unbounded => Bound::Included((self.with(&[IxKey::Top]), u64::MAX)),
            Bound::Included(v) => Bound::Included((self.with(&[v.clone(), IxKey::Top]), u64::MAX)),
            Bound::Excluded(v) => Bound::Excluded((self.with(std::slice::from_ref(v)), 0)),
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
    pub(crate) range: Range,
    /// `Some(descending)` when reading the range in index order (or its
    /// reverse) yields the rows in the requested order.
    pub(crate) ordered: Option<bool>,
}

/// The best index for `conjuncts` (and `order`, `(column, descending)`), or
/// `None` when no index narrows the search.
pub(crate) fn choose(
    schema: &TableSchema,
    indexes: &[OrderedIndex],
    conjuncts: &[(usize, CmpOp, &Value)],
    order: &[(usize, bool)],
) -> Option<Plan> {
    let usable = |col: usize, op: CmpOp| {
        conjuncts
            .iter()
            .find(|(c, o, v)| *c == col && *o == op && probes(schema.columns[col].ty, v))
            .map(|(_, _, v)| *v)
    };
    let mut best: Option<((usize, bool, bool, bool), Plan)> = None;
    for (n, ix) in indexes.iter().enumerate() {
        let mut prefix = Vec::new();
        for &col in &ix.columns {
            match usable(col, CmpOp::Eq) {
                Some(v) => prefix.push(IxKey::of(v)),
                None => break,
            }
        }
        let (mut lower, mut upper) = (Bound::Unbounded, Bound::Unbounded);
        if let Some(&next) = ix.columns.get(prefix.len()) {
            if let Some(v) = usable(next, CmpOp::Ge) {
                lower = Bound::Included(IxKey::of(v));
            } else if let Some(v) = usable(next, CmpOp::Gt) {
                lower = Bound::Excluded(IxKey::of(v));
            }
            if let Some(v) = usable(next, CmpOp::Le) {
                upper = Bound::Included(IxKey::of(v));
            } else if let Some(v) = usable(next, CmpOp::Lt) {
                upper = Bound::Excluded(IxKey::of(v));
            }
        }
        let bounded = !matches!((&lower, &upper), (Bound::Unbounded, Bound::Unbounded));
        let rest = &ix.columns[prefix.len()..];
        let ordered = match order.first() {
            Some(&(_, descending))
                if order.len() == rest.len()
                    && order.iter().zip(rest).all(|(&(c, d), &r)| c == r && d == descending) =>
            {
                Some(descending)
            }
            _ => None,
        };
        if prefix.is_empty() && !bounded {
            continue;
        }
        let score = (prefix.len(), bounded, ordered.is_some(), ix.unique);
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((score, Plan { index: n, range: Range { prefix, lower, upper }, ordered }));
        }
    }
    best.map(|(_, plan)| plan)
}
