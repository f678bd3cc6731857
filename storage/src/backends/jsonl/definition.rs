//! The table definitions a JSONL directory keeps in `nexau_schema.jsonl`,
//! so that `setup_models` on an existing directory compares the declared
//! tables with the stored ones as on a SQL backend.
//!
//! ```text
//! {"op":1,"put":{"table_name":"items","created_at":"2026-01-01T00:00:00.000000Z","definition":{"columns":[{"name":"id","type":"integer","nullable":false}],"primary_key":["id"],"indexes":[]}},"files":1}
//! ```

use serde::{Deserialize, Serialize};

use crate::{Column, ColumnType, Index, SCHEMA_TABLE, StorageError, TableSchema, Value};

/// The schema of `nexau_schema` in a JSONL directory: the SQL backends'
/// two columns plus the table's definition.
pub(crate) fn schema_table() -> TableSchema {
    let mut t = crate::schema_sync::schema_table();
    t.columns.push(Column { name: "definition".into(), ty: ColumnType::Json, nullable: false });
    t
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnDef {
    name: String,
    #[serde(rename = "type")]
    ty: String,
    nullable: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexDef {
    name: String,
    columns: Vec<String>,
    unique: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Definition {
    columns: Vec<ColumnDef>,
    primary_key: Vec<String>,
    indexes: Vec<IndexDef>,
}

fn type_of(name: &str) -> Option<ColumnType> {
    use ColumnType::*;
    [Bool, Int, Float, Text, Json, Bytes, Timestamp].into_iter().find(|t| t.to_string() == name)
}

/// The definition of `schema`, as JSON text.
pub(crate) fn encode(schema: &TableSchema) -> String {
    let def = Definition {
        columns: schema
            .columns
            .iter()
            .map(|c| ColumnDef { name: c.name.clone(), ty: c.ty.to_string(), nullable: c.nullable })
            .collect(),
        primary_key: schema.primary_key.clone(),
        indexes: schema
            .indexes
            .iter()
            .map(|i| IndexDef { name: i.name.clone(), columns: i.columns.clone(), unique: i.unique })
            .collect(),
    };
    serde_json::to_string(&def).unwrap_or_default()
}

/// The row of `nexau_schema` recording `schema`, created at `created_at`.
pub(crate) fn row(schema: &TableSchema, created_at: &str) -> Vec<Value> {
    vec![Value::Text(schema.name.clone()), Value::Timestamp(created_at.to_owned()), Value::Json(encode(schema))]
}

/// The table a `nexau_schema` row records, and when it was created.
pub(crate) fn decode(row: &[Value]) -> Result<(TableSchema, String), StorageError> {
    let bad = |why: String| StorageError::backend(format!("jsonl: {SCHEMA_TABLE}.jsonl: {why}"));
    let (Some(Value::Text(name)), Some(Value::Timestamp(created)), Some(Value::Json(def))) =
        (row.first(), row.get(1), row.get(2))
    else {
        return Err(bad("a row lacks table_name, created_at or definition".into()));
    };
    let def: Definition = serde_json::from_str(def).map_err(|e| bad(format!("table `{name}`: bad definition: {e}")))?;
    let columns = def
        .columns
        .into_iter()
        .map(|c| {
            let ty = type_of(&c.ty).ok_or_else(|| bad(format!("table `{name}`: unknown column type {:?}", c.ty)))?;
            Ok(Column { name: c.name, ty, nullable: c.nullable })
        })
        .collect::<Result<Vec<_>, StorageError>>()?;
    let indexes =
        def.indexes.into_iter().map(|i| Index { name: i.name, columns: i.columns, unique: i.unique }).collect();
    Ok((TableSchema { name: name.clone(), columns, primary_key: def.primary_key, indexes }, created.clone()))
}
