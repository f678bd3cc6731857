//! Filters compiled against one table: SQL three-valued evaluation, and the
//! value order shared by comparisons, sorting and indexes.

use std::cmp::Ordering;

use crate::{CmpOp, Filter, LikePattern, StorageError, TableSchema, Value};

/// The position of `column` in `schema`, or `Invalid`.
pub(crate) fn position(schema: &TableSchema, column: &str) -> Result<usize, StorageError> {
    schema
        .columns
        .iter()
        .position(|c| c.name == column)
        .ok_or_else(|| StorageError::Invalid(format!("table `{}` has no column `{column}`", schema.name)))
}

/// SQL-like comparison of two non-null values of one column type; `None`
/// when either is NULL (unknown) or the types differ.
pub(crate) fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Null, _) | (_, Value::Null) => None,
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y),
        (Value::Int(x), Value::Float(y)) => (*x as f64).partial_cmp(y),
        (Value::Float(x), Value::Int(y)) => x.partial_cmp(&(*y as f64)),
        // Byte-wise, like SQLite's BINARY collation.
        (
            Value::Text(x) | Value::Json(x) | Value::Timestamp(x),
            Value::Text(y) | Value::Json(y) | Value::Timestamp(y),
        ) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::Bytes(x), Value::Bytes(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Sort order of one key: NULLs first, then by value.
pub(crate) fn sort_cmp(a: &Value, b: &Value) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => compare(a, b).unwrap_or(Ordering::Equal),
    }
}

/// A filter with column names resolved to positions; its values are
/// borrowed from the filter (compiling one copies no value).
pub(crate) enum Compiled<'f> {
    All,
    Cmp(usize, CmpOp, &'f Value),
    In(usize, &'f [Value]),
    IsNull(usize),
    Like(usize, LikePattern, bool),
    And(Vec<Compiled<'f>>),
    Or(Vec<Compiled<'f>>),
    Not(Box<Compiled<'f>>),
}

impl<'f> Compiled<'f> {
    /// Resolves the column names of `f` in `schema`.
    pub(crate) fn new(schema: &TableSchema, f: &'f Filter) -> Result<Compiled<'f>, StorageError> {
        Ok(match f {
            Filter::All => Compiled::All,
            Filter::Cmp { field, op, value } => Compiled::Cmp(position(schema, field)?, *op, value),
            Filter::In { field, values } => Compiled::In(position(schema, field)?, values),
            Filter::IsNull(field) => Compiled::IsNull(position(schema, field)?),
            Filter::Like { field, pattern, case_insensitive } => Compiled::Like(
                position(schema, field)?,
                LikePattern::parse(pattern).map_err(StorageError::Invalid)?,
                *case_insensitive,
            ),
            Filter::And(v) => Compiled::And(v.iter().map(|f| Compiled::new(schema, f)).collect::<Result<_, _>>()?),
            Filter::Or(v) => Compiled::Or(v.iter().map(|f| Compiled::new(schema, f)).collect::<Result<_, _>>()?),
            Filter::Not(f) => Compiled::Not(Box::new(Compiled::new(schema, f)?)),
        })
    }

    /// SQL three-valued evaluation: `None` is unknown.
    fn eval(&self, row: &[Value]) -> Option<bool> {
        match self {
            Compiled::All => Some(true),
            Compiled::Cmp(i, op, v) => {
                let o = compare(&row[*i], v)?;
                Some(match op {
                    CmpOp::Eq => o == Ordering::Equal,
                    CmpOp::Ne => o != Ordering::Equal,
                    CmpOp::Lt => o == Ordering::Less,
                    CmpOp::Le => o != Ordering::Greater,
                    CmpOp::Gt => o == Ordering::Greater,
                    CmpOp::Ge => o != Ordering::Less,
                })
            }
            Compiled::In(_, []) => Some(false),
            Compiled::In(i, values) => {
                let cell = &row[*i];
                if cell.is_null() {
                    return None;
                }
                let mut unknown = false;
                for v in values.iter() {
                    match compare(cell, v) {
                        Some(Ordering::Equal) => return Some(true),
                        Some(_) => {}
                        None => unknown = true,
                    }
                }
                if unknown { None } else { Some(false) }
            }
            Compiled::IsNull(i) => Some(row[*i].is_null()),
            Compiled::Like(i, pattern, fold) => match &row[*i] {
                Value::Null => None,
                Value::Text(t) => Some(pattern.matches(t, *fold)),
                _ => None,
            },
            Compiled::And(v) => {
                let mut result = Some(true);
                for f in v {
                    match f.eval(row) {
                        Some(false) => return Some(false),
                        None => result = None,
                        Some(true) => {}
                    }
                }
                result
            }
            Compiled::Or(v) => {
                let mut result = Some(false);
                for f in v {
                    match f.eval(row) {
                        Some(true) => return Some(true),
                        None => result = None,
                        Some(false) => {}
                    }
                }
                result
            }
            Compiled::Not(f) => f.eval(row).map(|b| !b),
        }
    }

    /// True when the filter holds for `row` (unknown does not match).
    pub(crate) fn matches(&self, row: &[Value]) -> bool {
        self.eval(row) == Some(true)
    }

    /// The comparisons every matching row must satisfy: the leaves of the
    /// top-level conjunction (nested `And`s flattened).
    pub(crate) fn conjuncts(&self) -> Vec<(usize, CmpOp, &'f Value)> {
        let mut out = Vec::new();
        self.collect_conjuncts(&mut out);
        out
    }

    /// The `IN` lists of the top-level conjunction: (column, values).
    pub(crate) fn in_lists(&self) -> Vec<(usize, &'f [Value])> {
        match self {
            Compiled::In(i, values) => vec![(*i, *values)],
            Compiled::And(v) => v.iter().flat_map(Compiled::in_lists).collect(),
            _ => Vec::new(),
        }
    }

    fn collect_conjuncts(&self, out: &mut Vec<(usize, CmpOp, &'f Value)>) {
        match self {
            Compiled::Cmp(i, op, v) => out.push((*i, *op, *v)),
            Compiled::And(v) => v.iter().for_each(|f| f.collect_conjuncts(out)),
            _ => {}
        }
    }
}
