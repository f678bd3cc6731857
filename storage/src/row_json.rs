//! Rows as JSON objects, one cell per column, typed by the column: the
//! encoding of the JSONL backend's records and of `export` lines.
//!
//! Integers and booleans are JSON numbers and booleans, floats numbers
//! (`"NaN"`, `"Infinity"`, `"-Infinity"` as strings), text and timestamps
//! (RFC 3339) strings, bytes a lowercase hex string, JSON columns embedded as
//! JSON, NULL `null`. A JSON value whose text has a line break, leading or
//! trailing blanks, over 100 levels of nesting (or that could be mistaken for
//! this escape) is written as `{"$json_text":"<its exact text>"}`, so every
//! document comes back byte for byte.
//!
//! ```
//! use nexau_session_storage::{Column, ColumnType, TableSchema, Value, row_json};
//! let schema = TableSchema { name: "t".into(), primary_key: vec!["id".into()], indexes: vec![], columns: vec![
//!     Column { name: "id".into(), ty: ColumnType::Int, nullable: false },
//!     Column { name: "doc".into(), ty: ColumnType::Json, nullable: true }] };
//! let row = vec![Value::Int(1), Value::Json("{\"a\": 1}".into())];
//! let mut out = Vec::new();
//! row_json::encode(&mut out, &schema, &row);
//! assert_eq!(out, br#"{"id":1,"doc":{"a": 1}}"#);
//! assert_eq!(row_json::decode(std::str::from_utf8(&out).unwrap(), &schema).unwrap(), row);
//! ```

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::{ColumnType, TableSchema, Value};

/// Appends `{"column":value,…}` for every column of `schema` (in order) of
/// `row` (in the same order).
pub fn encode(out: &mut Vec<u8>, schema: &TableSchema, row: &[Value]) {
    push_columns(out, schema, row, None);
}

/// Decodes a JSON object written by [`encode`] into a row in `schema`'s
/// column order; a column it leaves out is NULL, one `schema` lacks is an
/// error. The error says which column and why.
pub fn decode(object: &str, schema: &TableSchema) -> Result<Vec<Value>, String> {
    let cells: HashMap<&str, &RawValue> = serde_json::from_str(object).map_err(|e| e.to_string())?;
    decode_row(schema, cells)
}

/// The key that marks a JSON value stored as its text.
const JSON_TEXT: &str = "$json_text";

/// Deepest nesting embedded as JSON (serde_json parses up to 128 levels);
/// deeper values are stored as their text.
const MAX_EMBEDDED_DEPTH: usize = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonText {
    #[serde(rename = "$json_text")]
    text: String,
}

/// Appends `s` as a JSON string.
pub(crate) fn push_str(out: &mut Vec<u8>, s: &str) {
    // Writing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Whether a JSON text must be stored as a string rather than embedded.
fn needs_text_form(s: &str) -> bool {
    if s.contains(JSON_TEXT) || s.trim().len() != s.len() {
        return true;
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for b in s.bytes() {
        match b {
            b'\n' | b'\r' => return true,
            _ if in_string => match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            },
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_EMBEDDED_DEPTH {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

fn push_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Float(f) if f.is_nan() => out.extend_from_slice(b"\"NaN\""),
        Value::Float(f) if f.is_infinite() => {
            out.extend_from_slice(if *f > 0.0 { b"\"Infinity\"" } else { b"\"-Infinity\"" })
        }
        Value::Float(f) => {
            let _ = serde_json::to_writer(&mut *out, f);
        }
        Value::Text(s) | Value::Timestamp(s) => push_str(out, s),
        Value::Json(s) if needs_text_form(s) || serde_json::from_str::<&RawValue>(s).is_err() => {
            out.extend_from_slice(b"{\"$json_text\":");
            push_str(out, s);
            out.push(b'}');
        }
        Value::Json(s) => out.extend_from_slice(s.as_bytes()),
        Value::Bytes(b) => {
            out.push(b'"');
            for byte in b {
                out.extend_from_slice(format!("{byte:02x}").as_bytes());
            }
            out.push(b'"');
        }
    }
}

pub(crate) fn push_columns(out: &mut Vec<u8>, schema: &TableSchema, row: &[Value], only: Option<&[usize]>) {
    out.push(b'{');
    let all: Vec<usize>;
    let at = match only {
        Some(at) => at,
        None => {
            all = (0..schema.columns.len()).collect();
            &all
        }
    };
    for (n, &i) in at.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        push_str(out, &schema.columns[i].name);
        out.push(b':');
        push_value(out, &row[i]);
    }
    out.push(b'}');
}

fn decode_value(raw: &RawValue, ty: ColumnType) -> Result<Value, String> {
    let text = raw.get();
    if text == "null" {
        return Ok(Value::Null);
    }
    let bad = |e: serde_json::Error| format!("not a {ty} value ({e})");
    Ok(match ty {
        ColumnType::Bool => Value::Bool(serde_json::from_str(text).map_err(bad)?),
        ColumnType::Int => Value::Int(serde_json::from_str(text).map_err(bad)?),
        ColumnType::Float => match serde_json::from_str::<f64>(text) {
            Ok(f) => Value::Float(f),
            Err(e) => match serde_json::from_str::<&str>(text) {
                Ok("NaN") => Value::Float(f64::NAN),
                Ok("Infinity") => Value::Float(f64::INFINITY),
                Ok("-Infinity") => Value::Float(f64::NEG_INFINITY),
                _ => return Err(bad(e)),
            },
        },
        ColumnType::Text => Value::Text(serde_json::from_str(text).map_err(bad)?),
        ColumnType::Timestamp => Value::Timestamp(serde_json::from_str(text).map_err(bad)?),
        ColumnType::Json if text.starts_with("{\"$json_text\"") => {
            Value::Json(serde_json::from_str::<JsonText>(text).map_err(bad)?.text)
        }
        ColumnType::Json => Value::Json(text.to_owned()),
        ColumnType::Bytes => {
            let hex: &str = serde_json::from_str(text).map_err(bad)?;
            if !hex.len().is_multiple_of(2) {
                return Err("not a bytes value (odd hex length)".into());
            }
            let digits = hex
                .as_bytes()
                .chunks(2)
                .map(|pair| std::str::from_utf8(pair).ok().and_then(|p| u8::from_str_radix(p, 16).ok()));
            Value::Bytes(digits.collect::<Option<Vec<u8>>>().ok_or("not a bytes value (bad hex digit)")?)
        }
    })
}

pub(crate) fn decode_row(schema: &TableSchema, cells: HashMap<&str, &RawValue>) -> Result<Vec<Value>, String> {
    let mut row = vec![Value::Null; schema.columns.len()];
    for (name, raw) in cells {
        let i = schema
            .columns
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| format!("table `{}` has no column `{name}`", schema.name))?;
        row[i] = decode_value(raw, schema.columns[i].ty).map_err(|e| format!("column `{name}`: {e}"))?;
    }
    Ok(row)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Tagged<'a> {
    #[serde(borrow)]
    table: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    row: &'a RawValue,
}

/// Splits a line `{"table":"<name>","row":{…}}` into the table name and the
/// row's object text (for [`decode`]); the error says what is wrong with it.
///
/// ```
/// use nexau_session_storage::row_json::split_tagged;
/// assert_eq!(split_tagged(r#"{"table":"t","row":{"id":1}}"#).unwrap(), ("t".to_owned(), r#"{"id":1}"#));
/// assert!(split_tagged(r#"{"table":"t"}"#).is_err());
/// ```
pub fn split_tagged(line: &str) -> Result<(String, &str), String> {
    let t: Tagged<'_> = serde_json::from_str(line).map_err(|e| e.to_string())?;
    Ok((t.table.into_owned(), t.row.get()))
}

/// Appends the line `{"table":"<name>","row":{…}}` and a newline for `row`
/// (in `schema`'s column order).
pub fn push_tagged(out: &mut Vec<u8>, schema: &TableSchema, row: &[Value]) {
    out.extend_from_slice(b"{\"table\":");
    push_str(out, &schema.name);
    out.extend_from_slice(b",\"row\":");
    push_columns(out, schema, row, None);
    out.extend_from_slice(b"}\n");
}
