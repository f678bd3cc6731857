//! The host-side data model of the storage contract: values, schemas, filters,
//! queries and write batches. These mirror `wit/storage.wit`; the runtime
//! converts between the two at the component boundary.

use std::fmt;

use crate::StorageError;

/// One cell value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// A 64-bit integer.
    Int(i64),
    /// A 64-bit float.
    Float(f64),
    /// Text.
    Text(String),
    /// A JSON document, as text.
    Json(String),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// An instant as RFC 3339 text in UTC, in the canonical form
    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ` once it has passed the checked store.
    Timestamp(String),
}

impl Value {
    /// True for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The text of a `Text`, `Json` or `Timestamp` value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) | Value::Json(s) | Value::Timestamp(s) => Some(s),
            _ => None,
        }
    }

    /// The integer of an `Int` value.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}
impl From<crate::Timestamp> for Value {
    fn from(t: crate::Timestamp) -> Self {
        Value::Timestamp(t.to_rfc3339_micros())
    }
}
/// A time within [`TIMESTAMP_RANGE`](crate::TIMESTAMP_RANGE) becomes a
/// timestamp value; one outside it becomes text that the checked store
/// refuses for a timestamp column with an error naming the range.
impl From<std::time::SystemTime> for Value {
    fn from(t: std::time::SystemTime) -> Self {
        match crate::Timestamp::from_system_time(t) {
            Ok(t) => Value::from(t),
            Err(crate::TimestampError::OutOfRange { what }) => Value::Text(what),
            Err(e) => Value::Text(e.to_string()),
        }
    }
}

/// The declared type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// Boolean.
    Bool,
    /// 64-bit integer.
    Int,
    /// 64-bit float.
    Float,
    /// Text.
    Text,
    /// JSON document.
    Json,
    /// Raw bytes.
    Bytes,
    /// RFC 3339 instant (UTC).
    Timestamp,
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            ColumnType::Bool => "boolean",
            ColumnType::Int => "integer",
            ColumnType::Float => "float",
            ColumnType::Text => "text",
            ColumnType::Json => "json",
            ColumnType::Bytes => "bytes",
            ColumnType::Timestamp => "timestamp",
        };
        f.write_str(name)
    }
}

/// A declared column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Column name (`[a-z_][a-z0-9_]*`).
    pub name: String,
    /// Declared type.
    pub ty: ColumnType,
    /// Whether NULL is allowed.
    pub nullable: bool,
}

/// A secondary index; `unique` makes it a unique key (NULLs never collide).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// Index name, unique within the table.
    pub name: String,
    /// Indexed columns, in order.
    pub columns: Vec<String>,
    /// Whether the index is a unique key.
    pub unique: bool,
}

/// A table as declared through `setup-models`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSchema {
    /// Table name (`[a-z_][a-z0-9_]*`).
    pub name: String,
    /// Columns, in declaration order.
    pub columns: Vec<Column>,
    /// Primary-key columns.
    pub primary_key: Vec<String>,
    /// Secondary indexes.
    pub indexes: Vec<Index>,
}

impl TableSchema {
    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The columns a query for `columns` returns, in that order: every
    /// column when `columns` is empty. An undeclared column is `Invalid`.
    ///
    /// ```
    /// use nexau_session_storage::{Column, ColumnType, TableSchema};
    /// let t = TableSchema {
    ///     name: "notes".into(),
    ///     columns: vec![Column { name: "id".into(), ty: ColumnType::Int, nullable: false },
    ///                   Column { name: "body".into(), ty: ColumnType::Text, nullable: true }],
    ///     primary_key: vec!["id".into()],
    ///     indexes: vec![],
    /// };
    /// let names = |cols: Vec<&Column>| cols.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    /// assert_eq!(names(t.projection(&[]).unwrap()), ["id", "body"]);
    /// assert_eq!(names(t.projection(&["body".into()]).unwrap()), ["body"]);
    /// assert!(t.projection(&["nope".into()]).is_err());
    /// ```
    pub fn projection(&self, columns: &[String]) -> Result<Vec<&Column>, StorageError> {
        if columns.is_empty() {
            return Ok(self.columns.iter().collect());
        }
        columns
            .iter()
            .map(|name| {
                self.column(name).ok_or_else(|| {
                    StorageError::Invalid(format!("table `{}` has no column `{name}` to return", self.name))
                })
            })
            .collect()
    }

    /// Every unique key: the primary key first, then the unique indexes.
    pub fn unique_keys(&self) -> impl Iterator<Item = &[String]> {
        std::iter::once(self.primary_key.as_slice())
            .chain(self.indexes.iter().filter(|i| i.unique).map(|i| i.columns.as_slice()))
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A row filter (a tree). Comparisons against NULL never match; use
/// [`Filter::IsNull`].
///
/// ```
/// use nexau_session_storage::Filter;
/// let f = Filter::and([Filter::eq("user_id", "alice"), Filter::lt("seq", 10i64)]);
/// assert!(matches!(f, Filter::And(ref v) if v.len() == 2));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Every row.
    All,
    /// `field op value`.
    Cmp {
        /// Column name.
        field: String,
        /// Operator.
        op: CmpOp,
        /// Right-hand side (never NULL).
        value: Value,
    },
    /// `field IN (values)`; an empty list matches nothing.
    In {
        /// Column name.
        field: String,
        /// Candidate values.
        values: Vec<Value>,
    },
    /// `field IS NULL`.
    IsNull(String),
    /// `field LIKE pattern` on a text column: `%` any run, `_` one
    /// character, `\` escapes (see [`LikePattern`](crate::LikePattern));
    /// `case_insensitive` folds ASCII letters only. NULL never matches.
    Like {
        /// Column name (a text column).
        field: String,
        /// The pattern.
        pattern: String,
        /// Compare ASCII letters without case (`ilike`).
        case_insensitive: bool,
    },
    /// Every sub-filter matches (an empty list matches every row).
    And(Vec<Filter>),
    /// Some sub-filter matches (an empty list matches nothing).
    Or(Vec<Filter>),
    /// The sub-filter does not match.
    Not(Box<Filter>),
}

impl Filter {
    fn cmp(field: impl Into<String>, op: CmpOp, value: impl Into<Value>) -> Filter {
        Filter::Cmp { field: field.into(), op, value: value.into() }
    }
    /// `field = value`
    pub fn eq(field: impl Into<String>, value: impl Into<Value>) -> Filter {
        Filter::cmp(field, CmpOp::Eq, value)
    }
    /// `field <> value`
    pub fn ne(field: impl Into<String>, value: impl Into<Value>) -> Filter {
        Filter::cmp(field, CmpOp::Ne, value)
    }
    /// `field < value`
    pub fn lt(field: impl Into<String>, value: impl Into<Value>) -> Filter {
        Filter::cmp(field, CmpOp::Lt, value)
    }
    /// `field <= value`
    pub fn le(field: impl Into<String>, value: impl Into<Value>) -> Filter {
        Filter::cmp(field, CmpOp::Le, value)
    }
    /// `field > value`
    pub fn gt(field: impl Into<String>, value: impl Into<Value>) -> Filter {
        Filter::cmp(field, CmpOp::Gt, value)
    }
    /// `field >= value`
    pub fn ge(field: impl Into<String>, value: impl Into<Value>) -> Filter {
        Filter::cmp(field, CmpOp::Ge, value)
    }
    /// `field IN (values)`
    pub fn is_in<V: Into<Value>>(field: impl Into<String>, values: impl IntoIterator<Item = V>) -> Filter {
        Filter::In { field: field.into(), values: values.into_iter().map(Into::into).collect() }
    }
    /// `field IS NULL`
    pub fn is_null(field: impl Into<String>) -> Filter {
        Filter::IsNull(field.into())
    }
    /// `field LIKE pattern` (case-sensitive).
    pub fn like(field: impl Into<String>, pattern: impl Into<String>) -> Filter {
        Filter::Like { field: field.into(), pattern: pattern.into(), case_insensitive: false }
    }
    /// `field LIKE pattern`, ASCII letters compared without case.
    pub fn ilike(field: impl Into<String>, pattern: impl Into<String>) -> Filter {
        Filter::Like { field: field.into(), pattern: pattern.into(), case_insensitive: true }
    }
    /// All of `filters`.
    pub fn and(filters: impl IntoIterator<Item = Filter>) -> Filter {
        Filter::And(filters.into_iter().collect())
    }
    /// Any of `filters`.
    pub fn or(filters: impl IntoIterator<Item = Filter>) -> Filter {
        Filter::Or(filters.into_iter().collect())
    }
    /// The negation of `filter`.
    #[allow(clippy::should_implement_trait)]
    pub fn not(filter: Filter) -> Filter {
        Filter::Not(Box::new(filter))
    }

    /// Every column name the filter mentions.
    pub fn fields(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_fields(&mut out);
        out
    }

    fn collect_fields<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Filter::All => {}
            Filter::Cmp { field, .. }
            | Filter::In { field, .. }
            | Filter::IsNull(field)
            | Filter::Like { field, .. } => out.push(field),
            Filter::And(v) | Filter::Or(v) => v.iter().for_each(|f| f.collect_fields(out)),
            Filter::Not(f) => f.collect_fields(out),
        }
    }
}

/// A sort key: `descending` for `-field` in the DSL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// Column name.
    pub field: String,
    /// Sort descending.
    pub descending: bool,
}

impl Order {
    /// Parses `field` (ascending) or `-field` (descending).
    pub fn parse(spec: &str) -> Order {
        match spec.strip_prefix('-') {
            Some(field) => Order { field: field.to_owned(), descending: true },
            None => Order { field: spec.to_owned(), descending: false },
        }
    }
}

/// A `find` query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// Which rows.
    pub filter: Filter,
    /// Sort keys, most significant first.
    pub order_by: Vec<Order>,
    /// At most this many rows.
    pub limit: Option<u64>,
    /// Skip this many rows first.
    pub offset: Option<u64>,
    /// The columns to return, in this order; empty: every column of the
    /// table, in declaration order. Reading only what is needed spares the
    /// backend decoding (and the caller copying) the rest.
    pub columns: Vec<String>,
}

impl Default for Query {
    fn default() -> Self {
        Query { filter: Filter::All, order_by: Vec::new(), limit: None, offset: None, columns: Vec::new() }
    }
}

impl Query {
    /// A query for the rows matching `filter`, in no particular order.
    pub fn filter(filter: Filter) -> Query {
        Query { filter, ..Query::default() }
    }

    /// The same query, returning only `columns` (in this order).
    ///
    /// ```
    /// use nexau_session_storage::{Filter, Query};
    /// let q = Query::filter(Filter::eq("id", 1i64)).columns(["body"]);
    /// assert_eq!(q.columns, ["body"]);
    /// ```
    pub fn columns<S: Into<String>>(mut self, columns: impl IntoIterator<Item = S>) -> Query {
        self.columns = columns.into_iter().map(Into::into).collect();
        self
    }
}

/// Rows in one piece: the column names once, then the values row by row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowSet {
    /// Column names.
    pub columns: Vec<String>,
    /// Values, one `Vec` per row, in `columns` order.
    pub rows: Vec<Vec<Value>>,
}

impl RowSet {
    /// The index of `column`.
    pub fn position(&self, column: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == column)
    }

    /// The value of `column` in row `row`.
    pub fn get(&self, row: usize, column: &str) -> Option<&Value> {
        self.position(column).and_then(|i| self.rows.get(row).and_then(|r| r.get(i)))
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// One write of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    /// Insert rows; the batch fails with `DuplicateKey` on a key conflict.
    Insert {
        /// Table name.
        table: String,
        /// The rows.
        rows: RowSet,
    },
    /// Update matching rows.
    Update {
        /// Table name.
        table: String,
        /// Which rows.
        filter: Filter,
        /// `column = value` assignments.
        set: Vec<(String, Value)>,
        /// Required affected-row count, else `Conflict(index)`.
        expect: Option<u64>,
    },
    /// Delete matching rows.
    Delete {
        /// Table name.
        table: String,
        /// Which rows.
        filter: Filter,
        /// Required affected-row count, else `Conflict(index)`.
        expect: Option<u64>,
    },
    /// Require that exactly `expect` rows match, holding them until commit.
    Check {
        /// Table name.
        table: String,
        /// Which rows.
        filter: Filter,
        /// Required matching-row count, else `Conflict(index)`.
        expect: u64,
    },
}

impl WriteOp {
    /// The table the op writes or checks.
    pub fn table(&self) -> &str {
        match self {
            WriteOp::Insert { table, .. }
            | WriteOp::Update { table, .. }
            | WriteOp::Delete { table, .. }
            | WriteOp::Check { table, .. } => table,
        }
    }

    /// The number of rows the op must affect (match, for `Check`), if it
    /// says; a batch whose op affects another number fails with
    /// `Conflict(index)` and writes nothing.
    pub fn expected(&self) -> Option<u64> {
        match self {
            WriteOp::Insert { .. } => None,
            WriteOp::Update { expect, .. } | WriteOp::Delete { expect, .. } => *expect,
            WriteOp::Check { expect, .. } => Some(*expect),
        }
    }
}
