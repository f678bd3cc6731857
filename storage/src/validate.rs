//! Checks requests against the declared schemas and normalizes their values.
//!
//! Everything here is pure: the [`CheckedStore`](crate::CheckedStore) calls it
//! before any backend sees a request. Errors are [`StorageError::Invalid`]
//! naming the table and column at fault.

use std::collections::HashSet;

use crate::{Column, ColumnType, Filter, Order, RowSet, SCHEMA_TABLE, StorageError, TableSchema, Timestamp, Value};

/// The column the checked store adds to every table to hold the scope (tenant).
/// Declared schemas may not use this name.
pub const SCOPE_COLUMN: &str = "scope";

/// The deepest filter nesting accepted (SQL engines limit expression depth).
pub const MAX_FILTER_DEPTH: usize = 64;

/// The most values (comparisons and list members) one filter may carry.
pub const MAX_FILTER_VALUES: usize = 10_000;

/// The longest identifier, and the longest `{table}__{index}` index name
/// (PostgreSQL's limit, so schemas stay portable across backends).
pub const MAX_IDENTIFIER_LEN: usize = 63;

fn invalid(msg: impl Into<String>) -> StorageError {
    StorageError::Invalid(msg.into())
}

/// Checks `name` against `^[a-z_][a-z0-9_]{0,62}$`; `what` names it in the error.
pub fn check_identifier(what: &str, name: &str) -> Result<(), StorageError> {
    let b = name.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= MAX_IDENTIFIER_LEN
        && (b[0].is_ascii_lowercase() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_');
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "bad {what} name {name:?}: expected 1-{MAX_IDENTIFIER_LEN} characters of [a-z0-9_], not starting with a digit"
        )))
    }
}

/// Checks a declared table schema: identifiers, no reserved or duplicate
/// names, a non-empty primary key of non-nullable declared columns, and
/// indexes over declared columns.
pub fn check_schema(schema: &TableSchema) -> Result<(), StorageError> {
    let t = &schema.name;
    check_identifier("table", t)?;
    if t == SCHEMA_TABLE {
        return Err(invalid(format!(
            "table name `{SCHEMA_TABLE}` is reserved (the storage records there which tables it created)"
        )));
    }
    if schema.columns.is_empty() {
        return Err(invalid(format!("table `{t}` declares no columns")));
    }
    let mut names = HashSet::new();
    for c in &schema.columns {
        check_identifier(&format!("column (table `{t}`)"), &c.name)?;
        if c.name == SCOPE_COLUMN {
            return Err(invalid(format!(
                "table `{t}`: column name `{SCOPE_COLUMN}` is reserved (the host adds it to bind rows to a tenant)"
            )));
        }
        if !names.insert(c.name.as_str()) {
            return Err(invalid(format!("table `{t}` declares column `{}` twice", c.name)));
        }
    }
    let key_columns = |what: &str, cols: &[String]| -> Result<(), StorageError> {
        if cols.is_empty() {
            return Err(invalid(format!("table `{t}`: {what} has no columns")));
        }
        let mut seen = HashSet::new();
        for c in cols {
            if !names.contains(c.as_str()) {
                return Err(invalid(format!("table `{t}`: {what} names unknown column `{c}`")));
            }
            if !seen.insert(c.as_str()) {
                return Err(invalid(format!("table `{t}`: {what} names column `{c}` twice")));
            }
        }
        Ok(())
    };
    key_columns("the primary key", &schema.primary_key)?;
    for c in &schema.primary_key {
        if schema.column(c).is_some_and(|c| c.nullable) {
            return Err(invalid(format!("table `{t}`: primary-key column `{c}` must not be nullable")));
        }
    }
    let mut index_names = HashSet::new();
    for ix in &schema.indexes {
        check_identifier(&format!("index (table `{t}`)"), &ix.name)?;
        if !index_names.insert(ix.name.as_str()) {
            return Err(invalid(format!("table `{t}` declares index `{}` twice", ix.name)));
        }
        if t.len() + 2 + ix.name.len() > MAX_IDENTIFIER_LEN {
            return Err(invalid(format!(
                "table `{t}`: index `{}` makes the index name `{t}__{}` longer than {MAX_IDENTIFIER_LEN} characters",
                ix.name, ix.name
            )));
        }
        key_columns(&format!("index `{}`", ix.name), &ix.columns)?;
    }
    Ok(())
}

/// Checks a batch of schemas: each one, and no table declared twice.
pub fn check_schemas(schemas: &[TableSchema]) -> Result<(), StorageError> {
    let mut seen = HashSet::new();
    for s in schemas {
        check_schema(s)?;
        if !seen.insert(s.name.as_str()) {
            return Err(invalid(format!("table `{}` is declared twice", s.name)));
        }
    }
    Ok(())
}

/// The schema the backends see: a non-nullable text `scope` column first, and
/// `scope` leading the primary key and every index.
pub fn scoped_schema(schema: &TableSchema) -> TableSchema {
    let scope = || SCOPE_COLUMN.to_owned();
    let mut columns = vec![Column { name: scope(), ty: ColumnType::Text, nullable: false }];
    columns.extend(schema.columns.iter().cloned());
    let mut primary_key = vec![scope()];
    primary_key.extend(schema.primary_key.iter().cloned());
    let indexes = schema
        .indexes
        .iter()
        .map(|ix| {
            let mut ix = ix.clone();
            ix.columns.insert(0, scope());
            ix
        })
        .collect();
    TableSchema { name: schema.name.clone(), columns, primary_key, indexes }
}

/// Canonical timestamp text: `YYYY-MM-DDTHH:MM:SS.ffffffZ` in UTC, so that
/// text order is time order. Accepts what [`Timestamp::parse_rfc3339`]
/// accepts (any offset, converted to UTC) within its range; `None` otherwise.
///
/// ```
/// use nexau_session_storage::canonical_timestamp;
/// assert_eq!(canonical_timestamp("2026-01-01T00:00:00Z").unwrap(), "2026-01-01T00:00:00.000000Z");
/// assert_eq!(canonical_timestamp("2026-01-01T02:00:00+02:00").unwrap(), "2026-01-01T00:00:00.000000Z");
/// assert!(canonical_timestamp("yesterday").is_none());
/// assert!(canonical_timestamp("2300-01-01T00:00:00Z").is_none());
/// ```
pub fn canonical_timestamp(text: &str) -> Option<String> {
    Timestamp::parse_rfc3339(text).ok().map(Timestamp::to_rfc3339_micros)
}

fn column<'a>(schema: &'a TableSchema, name: &str) -> Result<&'a Column, StorageError> {
    schema.column(name).ok_or_else(|| invalid(format!("table `{}` has no column `{name}`", schema.name)))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Int(_) => "integer",
        Value::Float(_) => "float",
        Value::Text(_) => "text",
        Value::Json(_) => "json",
        Value::Bytes(_) => "bytes",
        Value::Timestamp(_) => "timestamp",
    }
}

/// Where a value is used: stored (NULL allowed in nullable columns) or
/// compared (NULL never allowed: use is-null).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Use {
    Store,
    Compare,
}

/// Converts `v` to the representation of column `col`, or explains why it does not fit.
fn fit(table: &str, col: &Column, v: Value, usage: Use) -> Result<Value, StorageError> {
    let c = &col.name;
    let bad = |v: &Value| invalid(format!("table `{table}` column `{c}` is {}, got a {} value", col.ty, kind(v)));
    let out = match (col.ty, v) {
        (_, Value::Null) => {
            return match usage {
                Use::Compare => Err(invalid(format!(
                    "table `{table}` column `{c}`: comparison with null never matches; use is-null"
                ))),
                Use::Store if col.nullable => Ok(Value::Null),
                Use::Store => Err(invalid(format!("table `{table}` column `{c}` is not nullable"))),
            };
        }
        (ColumnType::Bool, v @ Value::Bool(_)) => v,
        (ColumnType::Int, v @ Value::Int(_)) => v,
        (ColumnType::Float, Value::Int(i)) => Value::Float(i as f64),
        (ColumnType::Float, Value::Float(f)) => {
            if !f.is_finite() {
                return Err(invalid(format!("table `{table}` column `{c}`: float {f} is not finite")));
            }
            Value::Float(f)
        }
        (ColumnType::Text, v @ Value::Text(_)) => v,
        (ColumnType::Bytes, v @ Value::Bytes(_)) => v,
        (ColumnType::Json, Value::Text(s) | Value::Json(s)) => {
            // Parsed to check, not built: a document is checked on every write.
            if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&s) {
                return Err(invalid(format!("table `{table}` column `{c}`: not a JSON document ({e})")));
            }
            Value::Json(s)
        }
        (ColumnType::Timestamp, Value::Text(s) | Value::Timestamp(s)) => match Timestamp::parse_rfc3339(&s) {
            Ok(t) => Value::from(t),
            Err(e) => return Err(invalid(format!("table `{table}` column `{c}`: {e}"))),
        },
        (_, v) => return Err(bad(&v)),
    };
    Ok(out)
}

/// Checks a filter against `schema` (known columns, fitting non-null values,
/// bounded size) and returns it with values converted to the column types.
pub fn check_filter(schema: &TableSchema, filter: Filter) -> Result<Filter, StorageError> {
    let mut budget = MAX_FILTER_VALUES;
    check_filter_at(schema, filter, 1, &mut budget)
}

fn spend(budget: &mut usize, n: usize) -> Result<(), StorageError> {
    *budget =
        budget.checked_sub(n).ok_or_else(|| invalid(format!("filter carries more than {MAX_FILTER_VALUES} values")))?;
    Ok(())
}

fn check_filter_at(
    schema: &TableSchema,
    filter: Filter,
    depth: usize,
    budget: &mut usize,
) -> Result<Filter, StorageError> {
    if depth > MAX_FILTER_DEPTH {
        return Err(invalid(format!("filter nests deeper than {MAX_FILTER_DEPTH} levels")));
    }
    let t = &schema.name;
    Ok(match filter {
        Filter::All => Filter::All,
        Filter::Cmp { field, op, value } => {
            spend(budget, 1)?;
            let col = column(schema, &field)?;
            let value = fit(t, col, value, Use::Compare)?;
            Filter::Cmp { field, op, value }
        }
        Filter::In { field, values } => {
            spend(budget, values.len().max(1))?;
            let col = column(schema, &field)?;
            let values = values.into_iter().map(|v| fit(t, col, v, Use::Compare)).collect::<Result<_, _>>()?;
            Filter::In { field, values }
        }
        Filter::IsNull(field) => {
            spend(budget, 1)?;
            column(schema, &field)?;
            Filter::IsNull(field)
        }
        Filter::Like { field, pattern, case_insensitive } => {
            spend(budget, 1)?;
            let col = column(schema, &field)?;
            if col.ty != ColumnType::Text {
                return Err(invalid(format!(
                    "like on `{t}`.`{field}`: it holds {}, and like takes a text column",
                    col.ty
                )));
            }
            crate::LikePattern::parse(&pattern).map_err(|why| invalid(format!("like on `{t}`.`{field}`: {why}")))?;
            Filter::Like { field, pattern, case_insensitive }
        }
        Filter::And(v) => {
            Filter::And(v.into_iter().map(|f| check_filter_at(schema, f, depth + 1, budget)).collect::<Result<_, _>>()?)
        }
        Filter::Or(v) => {
            Filter::Or(v.into_iter().map(|f| check_filter_at(schema, f, depth + 1, budget)).collect::<Result<_, _>>()?)
        }
        Filter::Not(f) => Filter::Not(Box::new(check_filter_at(schema, *f, depth + 1, budget)?)),
    })
}

/// Checks sort keys name declared columns.
pub fn check_order(schema: &TableSchema, order: &[Order]) -> Result<(), StorageError> {
    for o in order {
        column(schema, &o.field)?;
    }
    Ok(())
}

/// Checks the columns a query returns: each declared, none twice.
pub fn check_columns(schema: &TableSchema, columns: &[String]) -> Result<(), StorageError> {
    for (i, c) in columns.iter().enumerate() {
        column(schema, c)?;
        // A linear look back: a query names a few columns, and hashing
        // them cost more than comparing.
        if columns[..i].contains(c) {
            return Err(invalid(format!("query on table `{}` returns column `{c}` twice", schema.name)));
        }
    }
    Ok(())
}

/// Checks assignments (at least one, declared columns, each once, fitting
/// values) and converts their values.
pub fn check_assignments(
    schema: &TableSchema,
    set: Vec<(String, Value)>,
) -> Result<Vec<(String, Value)>, StorageError> {
    if set.is_empty() {
        return Err(invalid(format!("update of table `{}` assigns no column", schema.name)));
    }
    let mut out: Vec<(String, Value)> = Vec::with_capacity(set.len());
    for (name, v) in set {
        let col = column(schema, &name)?;
        // A linear look back: an update sets a few columns, and hashing
        // them cost more than comparing.
        if out.iter().any(|(n, _)| *n == name) {
            return Err(invalid(format!("update of table `{}` assigns column `{name}` twice", schema.name)));
        }
        let v = fit(&schema.name, col, v, Use::Store)?;
        out.push((name, v));
    }
    Ok(out)
}

/// Checks rows for insertion and returns them with every declared column, in
/// declaration order (a missing nullable column becomes NULL; a missing
/// non-nullable column is an error).
pub fn check_rows(schema: &TableSchema, rows: RowSet) -> Result<RowSet, StorageError> {
    let t = &schema.name;
    let mut source = vec![None; schema.columns.len()];
    for (i, name) in rows.columns.iter().enumerate() {
        let pos = schema
            .columns
            .iter()
            .position(|c| &c.name == name)
            .ok_or_else(|| invalid(format!("table `{t}` has no column `{name}`")))?;
        if source[pos].replace(i).is_some() {
            return Err(invalid(format!("insert into table `{t}` names column `{name}` twice")));
        }
    }
    for (c, src) in schema.columns.iter().zip(&source) {
        if src.is_none() && !c.nullable && !rows.rows.is_empty() {
            return Err(invalid(format!("insert into table `{t}` lacks non-nullable column `{}`", c.name)));
        }
    }
    let width = rows.columns.len();
    let mut out = Vec::with_capacity(rows.rows.len());
    for (r, mut row) in rows.rows.into_iter().enumerate() {
        if row.len() != width {
            return Err(invalid(format!(
                "insert into table `{t}`: row {r} has {} values for {width} columns",
                row.len()
            )));
        }
        let mut full = Vec::with_capacity(schema.columns.len());
        for (c, src) in schema.columns.iter().zip(&source) {
            let v = match src {
                Some(i) => std::mem::replace(&mut row[*i], Value::Null),
                None => Value::Null,
            };
            full.push(fit(t, c, v, Use::Store)?);
        }
        out.push(full);
    }
    Ok(RowSet { columns: schema.columns.iter().map(|c| c.name.clone()).collect(), rows: out })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Index;

    fn schema() -> TableSchema {
        TableSchema {
            name: "t".into(),
            columns: vec![
                Column { name: "id".into(), ty: ColumnType::Int, nullable: false },
                Column { name: "at".into(), ty: ColumnType::Timestamp, nullable: true },
                Column { name: "x".into(), ty: ColumnType::Float, nullable: true },
                Column { name: "doc".into(), ty: ColumnType::Json, nullable: true },
            ],
            primary_key: vec!["id".into()],
            indexes: vec![Index { name: "by_at".into(), columns: vec!["at".into()], unique: false }],
        }
    }

    #[test]
    fn identifiers() {
        for ok in ["a", "_", "a_1", &"a".repeat(63)] {
            assert!(check_identifier("t", ok).is_ok(), "{ok}");
        }
        for bad in ["", "1a", "A", "a-b", "a b", "é", &"a".repeat(64), "a\"b"] {
            assert!(matches!(check_identifier("t", bad), Err(StorageError::Invalid(_))), "{bad}");
        }
    }

    #[test]
    fn schema_rules() {
        assert!(check_schema(&schema()).is_ok());
        let mut s = schema();
        s.columns.push(Column { name: "scope".into(), ty: ColumnType::Text, nullable: true });
        assert!(matches!(check_schema(&s), Err(StorageError::Invalid(m)) if m.contains("reserved")));
        let mut s = schema();
        s.name = SCHEMA_TABLE.into();
        assert!(matches!(check_schema(&s), Err(StorageError::Invalid(m)) if m.contains("reserved")));
        let mut s = schema();
        s.primary_key = vec!["nope".into()];
        assert!(matches!(check_schema(&s), Err(StorageError::Invalid(m)) if m.contains("nope")));
        let mut s = schema();
        s.primary_key = vec!["at".into()];
        assert!(matches!(check_schema(&s), Err(StorageError::Invalid(m)) if m.contains("nullable")));
        let mut s = schema();
        s.indexes[0].columns = vec!["ghost".into()];
        assert!(matches!(check_schema(&s), Err(StorageError::Invalid(m)) if m.contains("ghost")));
        let mut s = schema();
        s.columns.push(s.columns[0].clone());
        assert!(matches!(check_schema(&s), Err(StorageError::Invalid(m)) if m.contains("twice")));
        assert!(check_schemas(&[schema(), schema()]).is_err());
        let scoped = scoped_schema(&schema());
        assert_eq!(scoped.columns[0].name, "scope");
        assert_eq!(scoped.primary_key, vec!["scope".to_string(), "id".into()]);
        assert_eq!(scoped.indexes[0].columns, vec!["scope".to_string(), "at".into()]);
    }

    #[test]
    fn values_are_converted_or_refused() {
        let s = schema();
        let f =
            check_filter(&s, Filter::and([Filter::lt("at", "2026-01-01T00:00:00Z"), Filter::eq("x", 1i64)])).unwrap();
        assert_eq!(
            f,
            Filter::and([
                Filter::Cmp {
                    field: "at".into(),
                    op: crate::CmpOp::Lt,
                    value: Value::Timestamp("2026-01-01T00:00:00.000000Z".into())
                },
                Filter::Cmp { field: "x".into(), op: crate::CmpOp::Eq, value: Value::Float(1.0) },
            ])
        );
        assert!(check_filter(&s, Filter::eq("id", Value::Null)).is_err());
        assert!(check_filter(&s, Filter::eq("id", "1")).is_err());
        assert!(check_filter(&s, Filter::eq("doc", "{not json")).is_err());
        assert!(check_filter(&s, Filter::eq("x", f64::NAN)).is_err());
        let offset = check_filter(&s, Filter::eq("at", "2026-01-01T05:30:00+05:30")).unwrap();
        assert_eq!(offset, Filter::eq("at", Value::Timestamp("2026-01-01T00:00:00.000000Z".into())));
        for out_of_range in ["2300-01-01T00:00:00Z", "1969-12-31T00:00:00Z"] {
            let e = check_filter(&s, Filter::lt("at", out_of_range)).unwrap_err();
            assert!(matches!(&e, StorageError::Invalid(m) if m.contains("range") && m.contains("`at`")), "{e}");
        }
        let before_1970 = std::time::UNIX_EPOCH - std::time::Duration::from_secs(60);
        let e = check_filter(&s, Filter::lt("at", Value::from(before_1970))).unwrap_err();
        assert!(matches!(&e, StorageError::Invalid(m) if m.contains("1969-12-31T23:59:00Z")), "{e}");
        let mut deep = Filter::All;
        for _ in 0..MAX_FILTER_DEPTH {
            deep = Filter::not(deep);
        }
        assert!(check_filter(&s, deep).is_err());
        let rows = RowSet { columns: vec!["x".into(), "id".into()], rows: vec![vec![Value::Int(2), Value::Int(1)]] };
        let rows = check_rows(&s, rows).unwrap();
        assert_eq!(rows.rows[0], vec![Value::Int(1), Value::Null, Value::Float(2.0), Value::Null]);
        let missing = RowSet { columns: vec!["x".into()], rows: vec![vec![Value::Int(2)]] };
        assert!(matches!(check_rows(&s, missing), Err(StorageError::Invalid(m)) if m.contains("`id`")));
        assert!(check_assignments(&s, vec![]).is_err());
        assert!(check_assignments(&s, vec![("id".into(), Value::Null)]).is_err());
        assert!(check_assignments(&s, vec![("at".into(), Value::Null)]).is_ok());
    }
}
