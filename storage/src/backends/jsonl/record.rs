//! One line of a JSONL table file: a record, encoded and decoded.
//!
//! ```text
//! {"op":12,"put":{"id":1,"name":"a","doc":{"k":[1]},"at":"2026-01-01T00:00:00.000000Z","data":"00ff"}}
//! {"op":13,"del":{"id":1},"files":2}
//! {"op":40,"compacted":true}
//! ```
//!
//! * `op`: the number of the write batch the record belongs to (batches are
//!   numbered across the directory, in the order they were written).
//! * `put`: a whole row, columns by name; it replaces the row with the same
//!   primary key, if any. `del`: the primary key of a row that is gone.
//! * `files`: on the last record a batch wrote to this file: how many files
//!   the batch wrote to. A batch is committed once every one of its files
//!   has that record; a crash leaves it incomplete and it is cut off.
//! * `compacted`: the first line of a compacted file: the rows after it are
//!   the table's live rows as of batch `op`.
//!
//! Values are typed by their column: integers and booleans as JSON numbers
//! and booleans, floats as numbers (`"NaN"`, `"Infinity"`, `"-Infinity"` as
//! strings), text and timestamps (RFC 3339) as strings, bytes as a
//! lowercase hex string, JSON columns embedded as JSON, NULL as `null`. A
//! JSON value whose text has a line break (or that could be mistaken for
//! this escape) is stored as `{"$json_text":"<the text>"}`.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::row_json::{decode_row, push_columns};
use crate::{TableSchema, Value};

/// What a record says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Body {
    /// A whole row, in table column order.
    Put(Vec<Value>),
    /// The key of a removed row: a row of the table's width with the
    /// primary-key columns set (the rest NULL).
    Del(Vec<Value>),
    /// A compacted file starts here.
    Compacted,
}

/// One decoded line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    pub(crate) op: u64,
    pub(crate) body: Body,
    /// `Some(n)` on a batch's last record in a file: the batch wrote `n` files.
    pub(crate) files: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line<'a> {
    op: u64,
    #[serde(borrow, default)]
    put: Option<HashMap<&'a str, &'a RawValue>>,
    #[serde(borrow, default)]
    del: Option<HashMap<&'a str, &'a RawValue>>,
    #[serde(default)]
    files: Option<u32>,
    #[serde(default)]
    compacted: Option<bool>,
}

/// The line (with its newline) of a put of `row` (table column order).
pub(crate) fn put_line(out: &mut Vec<u8>, op: u64, schema: &TableSchema, row: &[Value], files: Option<u32>) {
    out.extend_from_slice(format!("{{\"op\":{op},\"put\":").as_bytes());
    push_columns(out, schema, row, None);
    end_line(out, files);
}

/// The line of a delete of the row whose key columns (`key`) `row` holds.
pub(crate) fn del_line(
    out: &mut Vec<u8>,
    op: u64,
    schema: &TableSchema,
    key: &[usize],
    row: &[Value],
    files: Option<u32>,
) {
    out.extend_from_slice(format!("{{\"op\":{op},\"del\":").as_bytes());
    push_columns(out, schema, row, Some(key));
    end_line(out, files);
}

/// The first line of a file compacted as of batch `op`.
pub(crate) fn compacted_line(out: &mut Vec<u8>, op: u64) {
    out.extend_from_slice(format!("{{\"op\":{op},\"compacted\":true}}\n").as_bytes());
}

fn end_line(out: &mut Vec<u8>, files: Option<u32>) {
    if let Some(n) = files {
        out.extend_from_slice(format!(",\"files\":{n}").as_bytes());
    }
    out.extend_from_slice(b"}\n");
}

/// Decodes one line (without its newline) of a file of `schema`'s table.
pub(crate) fn decode(line: &[u8], schema: &TableSchema) -> Result<Record, String> {
    let l: Line<'_> = serde_json::from_slice(line).map_err(|e| e.to_string())?;
    let body = match (l.put, l.del, l.compacted) {
        (Some(cells), None, None) => Body::Put(decode_row(schema, cells)?),
        (None, Some(cells), None) => Body::Del(decode_row(schema, cells)?),
        (None, None, Some(true)) => Body::Compacted,
        _ => return Err("a record has exactly one of `put`, `del` or `compacted`".into()),
    };
    Ok(Record { op: l.op, body, files: l.files })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Column, Value};

    fn schema() -> TableSchema {
        let col = |name: &str, ty| Column { name: name.into(), ty, nullable: true };
        TableSchema {
            name: "t".into(),
            columns: vec![
                col("id", ColumnType::Int),
                col("name", ColumnType::Text),
                col("x", ColumnType::Float),
                col("flag", ColumnType::Bool),
                col("at", ColumnType::Timestamp),
                col("doc", ColumnType::Json),
                col("data", ColumnType::Bytes),
            ],
            primary_key: vec!["id".into()],
            indexes: vec![],
        }
    }

    fn round_trip(row: Vec<Value>) -> String {
        let mut out = Vec::new();
        put_line(&mut out, 7, &schema(), &row, Some(2));
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches('\n').count(), 1, "one line: {text}");
        let got = decode(text.trim_end().as_bytes(), &schema()).unwrap();
        assert_eq!(got, Record { op: 7, body: Body::Put(row), files: Some(2) });
        text
    }

    #[test]
    fn values_are_typed_by_their_column_and_read_back_exactly() {
        let text = round_trip(vec![
            Value::Int(i64::MIN),
            Value::from("naïve ☃ \"quoted\"\nline"),
            Value::Float(-2.5),
            Value::Bool(true),
            Value::Timestamp("2026-03-04T05:06:07.123456Z".into()),
            Value::Json(r#"{"k":[1,2,{"z":null}]}"#.into()),
            Value::Bytes(vec![0, 255, 7]),
        ]);
        assert!(text.contains(r#""doc":{"k":[1,2,{"z":null}]}"#), "JSON embedded: {text}");
        assert!(text.contains(r#""data":"00ff07""#), "{text}");
        round_trip(vec![
            Value::Int(1),
            Value::Null,
            Value::Float(f64::INFINITY),
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
        ]);
    }

    #[test]
    fn json_that_cannot_be_embedded_keeps_its_exact_text() {
        let deep = format!("{}{}", "[".repeat(150), "]".repeat(150));
        for doc in ["{\n  \"a\": 1\n}", r#"{"$json_text":"x"}"#, " [1, 2] ", deep.as_str()] {
            let text = round_trip(vec![
                Value::Int(1),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Json(doc.into()),
                Value::Null,
            ]);
            assert!(!text.trim_end().contains('\n'));
        }
    }

    #[test]
    fn deletes_name_the_key_and_bad_lines_say_why() {
        let mut out = Vec::new();
        let row =
            vec![Value::Int(4), Value::from("x"), Value::Null, Value::Null, Value::Null, Value::Null, Value::Null];
        del_line(&mut out, 9, &schema(), &[0], &row, None);
        assert_eq!(String::from_utf8(out.clone()).unwrap(), "{\"op\":9,\"del\":{\"id\":4}}\n");
        let got = decode(&out[..out.len() - 1], &schema()).unwrap();
        let mut key = vec![Value::Null; 7];
        key[0] = Value::Int(4);
        assert_eq!(got.body, Body::Del(key));
        for (bad, why) in [
            (r#"{"op":1,"put":{"nope":1}}"#, "no column `nope`"),
            (r#"{"op":1,"put":{"id":"x"}}"#, "column `id`: not a integer"),
            (r#"{"op":1}"#, "exactly one of"),
            (r#"{"op":1,"put":{"id":1},"extra":2}"#, "unknown field"),
            (r#"{"op":1,"put":{"id":1"#, "EOF"),
        ] {
            let e = decode(bad.as_bytes(), &schema()).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
