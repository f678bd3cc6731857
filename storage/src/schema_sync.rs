//! What `setup_models` does to the tables a backend already holds, decided
//! the same way for every backend.
//!
//! A backend remembers, in its table [`SCHEMA_TABLE`], every table it has
//! created, written in the same transaction as the `CREATE TABLE`. The record
//! is per backend, not per scope: tables are shared by every scope (the scope
//! is a column), so a dropped table is lost to all of them. Then, for each
//! declared table:
//!
//! * missing and never created here: create it (a new version may add tables);
//! * missing but recorded: refuse ([`StorageError::SchemaMismatch`]) rather
//!   than recreate it empty, which would orphan the rows that pointed at it;
//! * present: add the declared columns it lacks when they are nullable; a
//!   missing NOT NULL column, a column whose stored type or nullability
//!   differs, or a stored NOT NULL column no longer declared is refused;
//!   nothing is rewritten.
//!
//! A table present but not recorded (a store older than the record) is
//! adopted: recorded from then on.

use crate::{Column, ColumnType, StorageError, TableSchema};

/// The table in which a backend records the tables it created
/// (`table_name`, `created_at`). Declared schemas may not use this name.
pub const SCHEMA_TABLE: &str = "nexau_schema";

/// The schema of [`SCHEMA_TABLE`].
#[cfg_attr(not(any(feature = "sqlite", feature = "jsonl")), allow(dead_code))]
pub(crate) fn schema_table() -> TableSchema {
    TableSchema {
        name: SCHEMA_TABLE.to_owned(),
        columns: vec![
            Column { name: "table_name".into(), ty: ColumnType::Text, nullable: false },
            Column { name: "created_at".into(), ty: ColumnType::Timestamp, nullable: false },
        ],
        primary_key: vec!["table_name".into()],
        indexes: vec![],
    }
}

/// A column as the backend stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredColumn {
    /// Column name.
    pub name: String,
    /// The backend's type name, as the backend reports it.
    pub ty: String,
    /// Whether the backend refuses NULL in it.
    pub not_null: bool,
}

/// What to do with one declared table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Create it.
    Create,
    /// It exists; add these (nullable) columns, possibly none.
    AddColumns(Vec<Column>),
}

/// Decides what to do with `declared`, given whether the backend `recorded`
/// creating it and the columns it `stored` (`None`: the table is missing).
/// `type_name` is the backend's name for a column type; names compare
/// case-insensitively.
pub(crate) fn plan(
    declared: &TableSchema,
    recorded: bool,
    stored: Option<&[StoredColumn]>,
    type_name: impl Fn(ColumnType) -> String,
) -> Result<Plan, StorageError> {
    let t = &declared.name;
    let mismatch = |m: String| Err(StorageError::SchemaMismatch(m));
    let Some(stored) = stored else {
        if recorded {
            return mismatch(format!(
                "table `{t}` was created in this store before but is missing now (dropped?); \
                 restore it from a backup; refusing to recreate it empty"
            ));
        }
        return Ok(Plan::Create);
    };
    let mut add = Vec::new();
    for c in &declared.columns {
        let want = type_name(c.ty);
        match stored.iter().find(|s| s.name == c.name) {
            None if c.nullable => add.push(c.clone()),
            None => {
                return mismatch(format!(
                    "table `{t}` has no column `{}`, declared NOT NULL: existing rows have no value for it; \
                     add it by hand (or declare it nullable); refusing to change the table",
                    c.name
                ));
            }
            Some(s) if !s.ty.eq_ignore_ascii_case(&want) => {
                return mismatch(format!(
                    "table `{t}` column `{}` is stored as {} but declared {} ({want}); refusing to change it",
                    c.name, s.ty, c.ty
                ));
            }
            Some(s) if s.not_null == c.nullable => {
                let (stored, declared) = if s.not_null { ("NOT NULL", "nullable") } else { ("nullable", "NOT NULL") };
                return mismatch(format!(
                    "table `{t}` column `{}` is stored {stored} but declared {declared}; refusing to change it",
                    c.name
                ));
            }
            Some(_) => {}
        }
    }
    if let Some(s) = stored.iter().find(|s| s.not_null && declared.column(&s.name).is_none()) {
        return mismatch(format!(
            "table `{t}` has a NOT NULL column `{}` that is no longer declared: inserts would fail; \
             refusing to use the table",
            s.name
        ));
    }
    Ok(Plan::AddColumns(add))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared() -> TableSchema {
        TableSchema {
            name: "t".into(),
            columns: vec![
                Column { name: "id".into(), ty: ColumnType::Int, nullable: false },
                Column { name: "note".into(), ty: ColumnType::Text, nullable: true },
            ],
            primary_key: vec!["id".into()],
            indexes: vec![],
        }
    }

    fn stored(cols: &[(&str, &str, bool)]) -> Vec<StoredColumn> {
        cols.iter().map(|(n, t, nn)| StoredColumn { name: (*n).into(), ty: (*t).into(), not_null: *nn }).collect()
    }

    fn plan_of(recorded: bool, s: Option<&[StoredColumn]>) -> Result<Plan, StorageError> {
        plan(&declared(), recorded, s, |ty| ty.to_string())
    }

    fn refused(r: Result<Plan, StorageError>, needle: &str) {
        match r {
            Err(StorageError::SchemaMismatch(m)) => assert!(m.contains(needle), "{m}"),
            other => panic!("expected a refusal mentioning {needle:?}, got {other:?}"),
        }
    }

    #[test]
    fn missing_tables_are_created_unless_recorded() {
        assert_eq!(plan_of(false, None).unwrap(), Plan::Create);
        refused(plan_of(true, None), "missing now (dropped?)");
    }

    #[test]
    fn nullable_columns_are_added_and_the_rest_refused() {
        let same = stored(&[("id", "INTEGER", true), ("note", "TEXT", false)]);
        assert_eq!(plan_of(true, Some(&same)).unwrap(), Plan::AddColumns(vec![]));
        let old = stored(&[("id", "integer", true)]);
        assert_eq!(plan_of(false, Some(&old)).unwrap(), Plan::AddColumns(vec![declared().columns[1].clone()]));
        refused(plan_of(true, Some(&stored(&[("note", "text", false)]))), "`id`, declared NOT NULL");
        refused(plan_of(true, Some(&stored(&[("id", "text", true)]))), "stored as text but declared integer");
        refused(plan_of(true, Some(&stored(&[("id", "integer", false)]))), "stored nullable but declared NOT NULL");
        let extra = stored(&[("id", "integer", true), ("gone", "text", true)]);
        refused(plan_of(true, Some(&extra)), "`gone` that is no longer declared");
        let extra_nullable = stored(&[("id", "integer", true), ("gone", "text", false)]);
        assert_eq!(
            plan_of(true, Some(&extra_nullable)).unwrap(),
            Plan::AddColumns(vec![declared().columns[1].clone()])
        );
    }
}
