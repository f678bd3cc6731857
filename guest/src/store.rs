//! Thin helpers over the `storage` import: value, row and filter builders,
//! and row access by column name.

pub use crate::bindings::nexau::session::storage::{
    Assignment, CheckOp, CompareOp, Comparison, DeleteOp, Filter, FilterNode, InsertOp, Order, PackedRows, Query,
    RowSet, StorageError, UpdateOp, Value, WriteOp,
};
use alloc::boxed::Box;
use core::ops::Deref;

use crate::prelude::*;

pub use crate::bindings::nexau::session::storage::{apply, find_packed, setup_models};
use crate::error::{Res, from_storage};

/// One write op as a batch of one (a single import wrapper for every write);
/// its affected-row count.
#[inline(never)]
pub fn apply_one(op: WriteOp) -> Result<u64, StorageError> {
    apply(core::slice::from_ref(&op)).map(|c| c.first().copied().unwrap_or(0))
}

/// Inserts `rows` into `table`.
pub fn insert(table: &str, rows: RowSet) -> Result<u64, StorageError> {
    apply_one(WriteOp::Insert(InsertOp { table: table.into(), rows }))
}

/// Updates the rows of `table` matching `filter`; the number changed.
pub fn update(table: &str, filter: Filter, set: Vec<Assignment>) -> Res<u64> {
    apply_one(WriteOp::Update(UpdateOp { table: table.into(), filter, set, expect: None })).map_err(from_storage)
}

/// The rows of `table` matching `q`, with the columns it asks for, packed
/// (flat lists of kinds and words, every text-like value in one string: a
/// read of any size is lowered into the component as five copies, not an
/// allocation per value). Rows of every declared column are checked here
/// (`schema::check_rows`); a read of some columns checks each cell where
/// it uses it.
#[inline(never)]
pub fn rows_of(table: &str, q: &Query) -> Res<Found> {
    let set = Found(Box::new(find_packed(table, q).map_err(from_storage)?));
    if q.columns.is_empty() {
        crate::schema::check_rows(table, &set)?;
    }
    Ok(set)
}

/// Rows a read returned, boxed: moved by value (five lists), they cost
/// every function that reads a few dozen instructions per move, over a
/// kilobyte of component in all; a box moves as one pointer.
pub struct Found(Box<PackedRows>);

impl Deref for Found {
    type Target = PackedRows;

    fn deref(&self) -> &PackedRows {
        &self.0
    }
}

/// The rows of `table` matching `filter`, with `columns` (none: every
/// declared column): in the order of `order_by` (a column name, `-name` for
/// descending, `""` for any order), at most `limit`. One out-of-line place
/// that builds and drops the query: call sites stay small.
#[inline(never)]
pub fn select(table: &str, filter: Where, order_by: &str, limit: Option<u32>, columns: &[&str]) -> Res<Found> {
    let descending = order_by.as_bytes().first() == Some(&b'-');
    let field = order_by.get(usize::from(descending)..).unwrap_or("");
    let order = if field.is_empty() { Vec::new() } else { vec![Order { field: field.to_owned(), descending }] };
    let mut q = query(filter.build(), order, limit);
    q.columns = strings(columns);
    rows_of(table, &q)
}

/// A text value.
pub fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// A text value, or null.
pub fn opt_text(s: Option<&str>) -> Value {
    s.map_or(Value::Null, text)
}

/// An integer value.
pub fn int(i: i64) -> Value {
    Value::Integer(i)
}

/// An integer value from an unsigned one (saturating).
pub fn uint(u: u64) -> Value {
    Value::Integer(i64::try_from(u).unwrap_or(i64::MAX))
}

/// A JSON value.
pub fn json(s: &str) -> Value {
    Value::Json(s.to_owned())
}

/// A timestamp value for `ns` since the epoch.
pub fn timestamp(ns: i64) -> Value {
    Value::Timestamp(crate::clock::rfc3339_micros(ns))
}

/// A filter as a conjunction of terms, built term by term.
#[derive(Default)]
pub struct Where {
    nodes: Vec<FilterNode>,
    terms: Vec<u32>,
}

impl Where {
    /// No terms yet (matches every row).
    pub fn new() -> Self {
        Where::default()
    }

    /// Starts from an existing filter (kept as one term when it has nodes).
    pub fn from_filter(filter: Filter) -> Self {
        let nodes = filter.nodes;
        let terms = if nodes.is_empty() { Vec::new() } else { vec![(nodes.len() - 1) as u32] };
        Where { nodes, terms }
    }

    fn push(&mut self, node: FilterNode) -> u32 {
        self.nodes.push(node);
        (self.nodes.len() - 1) as u32
    }

    /// And `field op value`.
    pub fn cmp(mut self, field: &str, op: CompareOp, value: Value) -> Self {
        let i = self.push(FilterNode::Compare(Comparison { field: field.to_owned(), op, value }));
        self.terms.push(i);
        self
    }

    /// And `field = value`.
    pub fn eq(self, field: &str, value: Value) -> Self {
        self.cmp(field, CompareOp::Eq, value)
    }

    /// And `field = 'value'` (text).
    pub fn eq_text(self, field: &str, value: &str) -> Self {
        self.eq(field, text(value))
    }

    /// And `field IS NULL`.
    pub fn null(mut self, field: &str) -> Self {
        let i = self.push(FilterNode::IsNull(field.to_owned()));
        self.terms.push(i);
        self
    }

    /// And `(null_field IS NULL OR field op value)`.
    pub fn null_or_cmp(mut self, null_field: &str, field: &str, op: CompareOp, value: Value) -> Self {
        let a = self.push(FilterNode::IsNull(null_field.to_owned()));
        let b = self.push(FilterNode::Compare(Comparison { field: field.to_owned(), op, value }));
        let or = self.push(FilterNode::Or(vec![a, b]));
        self.terms.push(or);
        self
    }

    /// The filter: the conjunction of every term.
    #[inline(never)]
    pub fn build(mut self) -> Filter {
        if self.terms.len() > 1 {
            let terms = core::mem::take(&mut self.terms);
            self.push(FilterNode::And(terms));
        }
        Filter { nodes: self.nodes }
    }
}

/// `user_id = U AND session_id = S`.
#[inline(never)]
pub fn session_key(user_id: &str, session_id: &str) -> Where {
    Where::new().eq_text("user_id", user_id).eq_text("session_id", session_id)
}

/// `user_id = U AND session_id = S AND agent_id = A`.
#[inline(never)]
pub fn agent_key(user_id: &str, session_id: &str, agent_id: &str) -> Where {
    session_key(user_id, session_id).eq_text("agent_id", agent_id)
}

/// A query over `filter`, returning every declared column.
pub fn query(filter: Filter, order_by: Vec<Order>, limit: Option<u32>) -> Query {
    Query { filter, order_by, limit, offset: None, columns: Vec::new() }
}

/// Ascending order on `field`.
pub fn asc(field: &str) -> Order {
    Order { field: field.to_owned(), descending: false }
}

/// One row: the column names and their values, in the same order.
#[inline(never)]
pub fn new_row(columns: &[&str], values: Vec<Value>) -> RowSet {
    RowSet { columns: strings(columns), rows: vec![values] }
}

/// Assignments from (column, value) pairs.
#[inline(never)]
pub fn set(cells: Vec<(&str, Value)>) -> Vec<Assignment> {
    cells.into_iter().map(|(c, v)| Assignment { column: c.to_owned(), value: v }).collect()
}

/// The kinds of cell of `packed-rows.kinds` (`storage.wit`): the case of
/// `value` a cell holds, numbered from 0 in declaration order.
pub mod kind {
    /// Null.
    pub const NULL: u8 = 0;
    /// An integer; its word is its two's complement.
    pub const INTEGER: u8 = 2;
    /// Text; its word is its span of the set's text.
    pub const TEXT: u8 = 4;
    /// A JSON document, as text.
    pub const JSON: u8 = 5;
    /// A timestamp, as text.
    pub const TIMESTAMP: u8 = 7;
}

/// One row of a [`PackedRows`], read by column name.
#[derive(Clone, Copy)]
pub struct Row<'a> {
    columns: &'a [String],
    kinds: &'a [u8],
    values: &'a [u64],
    text: &'a str,
}

impl<'a> Row<'a> {
    /// The kind of the `i`th column's cell.
    pub fn kind(&self, i: usize) -> Option<u8> {
        self.kinds.get(i).copied()
    }

    /// The text of the `i`th column's cell when it is text-like (text, JSON
    /// or timestamp); `None` for other cells, and for a span outside the
    /// set's text or cutting a character (a host's mistake).
    pub fn text_at(&self, i: usize) -> Option<&'a str> {
        match self.kind(i)? {
            kind::TEXT | kind::JSON | kind::TIMESTAMP => {
                let word = *self.values.get(i)?;
                let (start, len) = ((word >> 32) as usize, word as u32 as usize);
                self.text.get(start..start.checked_add(len)?)
            }
            _ => None,
        }
    }

    /// The integer of the `i`th column's cell, when it is one.
    pub fn int_at(&self, i: usize) -> Option<i64> {
        match self.kind(i)? {
            kind::INTEGER => self.values.get(i).map(|&w| w as i64),
            _ => None,
        }
    }

    fn index(&self, name: &str) -> usize {
        self.columns.iter().position(|c| c == name).unwrap_or(usize::MAX)
    }

    /// A text-like cell (text, JSON or timestamp); `None` when null.
    pub fn str(&self, name: &str) -> Option<&'a str> {
        self.text_at(self.index(name))
    }

    /// A text-like cell as an owned string (empty when null).
    pub fn string(&self, name: &str) -> String {
        self.str(name).unwrap_or_default().to_owned()
    }

    /// A text-like cell as an owned optional string.
    pub fn opt_string(&self, name: &str) -> Option<String> {
        self.str(name).map(str::to_owned)
    }

    /// An integer cell; `None` when null.
    pub fn opt_int(&self, name: &str) -> Option<i64> {
        self.int_at(self.index(name))
    }

    /// An integer cell (0 when null).
    pub fn int(&self, name: &str) -> i64 {
        self.opt_int(name).unwrap_or(0)
    }

    /// A non-negative integer cell (0 when null or negative).
    #[inline(never)]
    pub fn uint(&self, name: &str) -> u64 {
        u64::try_from(self.int(name)).unwrap_or(0)
    }
}

/// The rows of a [`PackedRows`], each `columns` cells wide (cells past the
/// last whole row are not a row; without columns there are no rows).
pub struct Rows<'a> {
    set: &'a PackedRows,
    at: usize,
}

impl Rows<'_> {
    /// How many cells the rows seen so far hold.
    pub fn cells_seen(&self) -> usize {
        self.at
    }
}

impl<'a> Iterator for Rows<'a> {
    type Item = Row<'a>;

    fn next(&mut self) -> Option<Row<'a>> {
        let (set, width) = (self.set, self.set.columns.len());
        let end = self.at.checked_add(width).filter(|_| width > 0)?;
        let row = Row {
            columns: &set.columns,
            kinds: set.kinds.get(self.at..end)?,
            values: set.values.get(self.at..end)?,
            text: &set.text,
        };
        self.at = end;
        Some(row)
    }
}

/// The rows of `set`.
pub fn rows(set: &PackedRows) -> Rows<'_> {
    Rows { set, at: 0 }
}

/// The first row of `set`, if any.
pub fn first(set: &PackedRows) -> Option<Row<'_>> {
    rows(set).next()
}
