//! Typed rows of the session logic's tables: the [`Record`] trait, how a
//! record's rows may be deleted, and [`RowReader`], which reads typed cells
//! out of one row of a `find`.

use crate::storage::{StorageError, Value};
use crate::{Error, Result};

/// What `Engine::delete::<R>` does with the rows of `R`'s table that match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteRule {
    /// Each matching session goes with its agents, history and locks, in one
    /// atomic batch, and only if unchanged since it matched.
    SessionWithEverything,
    /// Each matching agent goes with its history and lock, in one atomic batch.
    AgentWithHistory,
    /// The matching rows alone (rows nothing else refers to, as lock leases).
    RowsAlone,
    /// Refused: the rows belong to a history whose counters they keep; the
    /// text says what to do instead.
    Refused(&'static str),
}

/// A row type of one of the session logic's tables.
pub trait Record: Sized {
    /// The table name.
    const TABLE: &'static str;

    /// What deleting its rows does.
    const DELETE: DeleteRule;

    /// Builds the record from one row of `find`.
    fn from_row(row: &RowReader<'_>) -> Result<Self>;
}

/// Reads typed cells from one row.
pub struct RowReader<'a> {
    pub(super) columns: &'a [String],
    pub(super) values: &'a [Value],
    pub(super) table: &'static str,
}

impl RowReader<'_> {
    fn get(&self, column: &str) -> Result<&Value> {
        self.columns
            .iter()
            .position(|c| c == column)
            .and_then(|i| self.values.get(i))
            .ok_or_else(|| Error::Storage(StorageError::backend(format!("{}: column {column} is missing", self.table))))
    }

    fn wrong(&self, column: &str, v: &Value) -> Error {
        Error::Storage(StorageError::backend(format!("{}: column {column} holds an unexpected {v:?}", self.table)))
    }

    /// A non-null text, JSON or timestamp cell.
    pub fn text(&self, column: &str) -> Result<String> {
        let v = self.get(column)?;
        v.as_str().map(str::to_owned).ok_or_else(|| self.wrong(column, v))
    }

    /// A nullable text cell.
    pub fn opt_text(&self, column: &str) -> Result<Option<String>> {
        match self.get(column)? {
            Value::Null => Ok(None),
            _ => self.text(column).map(Some),
        }
    }

    /// A non-null integer cell.
    pub fn int(&self, column: &str) -> Result<i64> {
        let v = self.get(column)?;
        v.as_i64().ok_or_else(|| self.wrong(column, v))
    }

    /// A nullable JSON cell.
    pub fn json(&self, column: &str) -> Result<Option<serde_json::Value>> {
        match self.opt_text(column)? {
            None => Ok(None),
            Some(t) => serde_json::from_str(&t).map(Some).map_err(|e| {
                Error::Storage(StorageError::backend_caused(format!("{}: column {column} is not JSON", self.table), e))
            }),
        }
    }
}
