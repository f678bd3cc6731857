//! Reading NexAU's SQL tables (SQLite, PostgreSQL, MySQL/MariaDB) as NexAU's
//! SQLAlchemy models wrote them. Nothing is written to that database.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::source::{SourceTables, TABLES};
use super::source_row::SourceRow;
use crate::storage::{Value, foreign};
use crate::{DbUrl, Error, Result};

/// A cell as a JSON scalar (the accessors of [`SourceRow`] read it).
fn cell(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Text(s) | Value::Json(s) | Value::Timestamp(s) => Json::String(s.clone()),
        Value::Bytes(b) => Json::String(String::from_utf8_lossy(b).into_owned()),
    }
}

/// Reads the four tables of the database `url` names; a table that is
/// missing is empty, but a database with none of them is an error.
pub(crate) async fn read(url: &DbUrl) -> Result<SourceTables> {
    if let Some(path) = url.path()
        && !path.is_file()
    {
        return Err(Error::Invalid(format!("{}: no such file (a NexAU SQLite store is one)", path.display())));
    }
    let mut out = SourceTables::default();
    let mut found = 0;
    for table in TABLES {
        let Some(rows) = foreign::read_table(url, table).await? else { continue };
        found += 1;
        for (n, values) in rows.rows.iter().enumerate() {
            let cells: BTreeMap<String, Json> = rows.columns.iter().cloned().zip(values.iter().map(cell)).collect();
            out.push(table, SourceRow::new(table, format!("row {}", n + 1), cells));
        }
    }
    if found == 0 {
        return Err(Error::Invalid(format!("{url}: no NexAU tables there ({})", TABLES.join(", "))));
    }
    Ok(out)
}
