//! The PostgREST-style filter syntax of `--filter` and the sort keys of
//! `--order-by` (parsed by the storage crate's `filter_dsl`, which the WASI
//! storage component shares), with their refusals as [`Error::Invalid`].

use crate::Error;
use crate::storage::{Filter, Order, TableSchema, filter_dsl};

pub use filter_dsl::MAX_FILTER_TERMS;

/// Parses `expr` into a filter over `table`'s columns; values are typed by
/// the column they are compared with: `updated_at.lt.2026-01-01T00:00:00Z`,
/// `and=(user_id.eq.alice,updated_at.lt.…)`, `or=(…)`, `not.and=(…)`,
/// `session_id.not.eq.x`, `user_id.in.(a,b)`, `root_agent_id.is.null`,
/// `user_id.like.al*`, `user_id.ilike."A\_b%"`.
///
/// ```
/// # use nexau_session::storage::{Column, ColumnType, Filter, TableSchema};
/// # let table = TableSchema { name: "t".into(), primary_key: vec!["user_id".into()], indexes: vec![],
/// #   columns: vec![Column { name: "user_id".into(), ty: ColumnType::Text, nullable: false },
/// #                 Column { name: "version".into(), ty: ColumnType::Int, nullable: false }] };
/// use nexau_session::parse_filter;
/// let f = parse_filter("and=(user_id.eq.alice,version.gt.2)", &table).unwrap();
/// assert_eq!(f, Filter::and([Filter::eq("user_id", "alice"), Filter::gt("version", 2i64)]));
/// ```
pub fn parse_filter(expr: &str, table: &TableSchema) -> Result<Filter, Error> {
    filter_dsl::parse_filter(expr, table).map_err(|e| Error::Invalid(e.0))
}

/// Parses every expression and ANDs them (`Filter::All` for none), refusing
/// more than [`MAX_FILTER_TERMS`] conditions in all.
pub fn parse_filters<S: AsRef<str>>(exprs: &[S], table: &TableSchema) -> Result<Filter, Error> {
    filter_dsl::parse_filters(exprs, table).map_err(|e| Error::Invalid(e.0))
}

/// Parses a sort key, `column` or `-column` (descending), refusing a column
/// `table` does not have.
pub fn parse_order(spec: &str, table: &TableSchema) -> Result<Order, Error> {
    filter_dsl::parse_order(spec, table).map_err(|e| Error::Invalid(e.0))
}
