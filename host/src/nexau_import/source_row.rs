//! One row of a NexAU table as read from its store: column name to value.
//! The SQL stores hand over JSON columns as JSON text and every cell of a
//! server as text; the JSONL engine writes JSON columns as JSON values. The
//! accessors read both.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::timestamps::{from_ns, parse_time};
use crate::Timestamp;

/// A JSON cell: its value, and its text as the store holds it (kept as
/// written when the store holds text, so messages pass on byte for byte).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JsonCell {
    /// The parsed value.
    pub value: Json,
    /// Its text.
    pub text: String,
}

/// One row of one of NexAU's tables.
#[derive(Debug, Clone)]
pub(crate) struct SourceRow {
    /// The table.
    pub table: &'static str,
    /// Where the row is, for a row whose key cannot be read (`line 7`, `row 7`).
    pub at: String,
    cells: BTreeMap<String, Json>,
}

impl SourceRow {
    /// A row of `table` found `at`.
    pub fn new(table: &'static str, at: String, cells: BTreeMap<String, Json>) -> SourceRow {
        SourceRow { table, at, cells }
    }

    /// The non-null cell `column`.
    fn cell(&self, column: &str) -> Option<&Json> {
        self.cells.get(column).filter(|v| !v.is_null())
    }

    /// How the row is named in a report: its key columns, or where it is.
    pub fn key(&self, columns: &[&str]) -> String {
        let parts: Vec<String> =
            columns.iter().filter_map(|c| self.cell(c).map(|v| format!("{c}={}", scalar_text(v)))).collect();
        if parts.len() == columns.len() { parts.join(" ") } else { self.at.clone() }
    }

    /// A text cell, required.
    pub fn text(&self, column: &str) -> Result<String, String> {
        self.opt_text(column)?.ok_or_else(|| format!("{column} is missing"))
    }

    /// A text cell, or `None` when absent or null.
    pub fn opt_text(&self, column: &str) -> Result<Option<String>, String> {
        match self.cell(column) {
            None => Ok(None),
            Some(Json::String(s)) => Ok(Some(s.clone())),
            Some(v @ Json::Number(_)) => Ok(Some(v.to_string())),
            Some(v) => Err(format!("{column} must be text, not {v}")),
        }
    }

    /// An integer cell (a number or the text of one), or `None`.
    pub fn opt_int(&self, column: &str) -> Result<Option<i64>, String> {
        match self.cell(column) {
            None => Ok(None),
            Some(Json::Number(n)) => {
                n.as_i64().map(Some).ok_or_else(|| format!("{column} must be an integer, not {n}"))
            }
            Some(Json::String(s)) => {
                s.trim().parse().map(Some).map_err(|_| format!("{column} must be an integer, not {s:?}"))
            }
            Some(v) => Err(format!("{column} must be an integer, not {v}")),
        }
    }

    /// A time cell, or `None`.
    pub fn opt_time(&self, column: &str) -> Result<Option<Timestamp>, String> {
        match self.cell(column) {
            None => Ok(None),
            Some(Json::String(s)) => parse_time(s).map(Some).map_err(|e| format!("{column}: {e}")),
            Some(Json::Number(n)) => {
                let ns = n.as_i64().ok_or_else(|| format!("{column}: {n} is not a time"))?;
                from_ns(ns).map(Some).map_err(|e| format!("{column}: {e}"))
            }
            Some(v) => Err(format!("{column}: {v} is not a time")),
        }
    }

    /// A JSON cell, or `None` when absent or null. Text is read as JSON
    /// text (how the SQL stores hold it); in a JSONL row, text that is not
    /// JSON is the JSON string it is.
    pub fn opt_json(&self, column: &str) -> Result<Option<JsonCell>, String> {
        match self.cell(column) {
            None => Ok(None),
            Some(Json::String(s)) => match serde_json::from_str::<Json>(s) {
                Ok(Json::Null) => Ok(None),
                Ok(value) => Ok(Some(JsonCell { value, text: s.clone() })),
                Err(e) if s.trim_start().starts_with(['{', '[']) => Err(format!("{column} is not valid JSON: {e}")),
                Err(_) => {
                    Ok(Some(JsonCell { value: Json::String(s.clone()), text: Json::String(s.clone()).to_string() }))
                }
            },
            Some(v) => Ok(Some(JsonCell { value: v.clone(), text: v.to_string() })),
        }
    }
}

/// A scalar as plain text (strings without quotes).
fn scalar_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn row(v: Json) -> SourceRow {
        let Json::Object(m) = v else { panic!() };
        SourceRow::new("sessions", "line 1".into(), m.into_iter().collect())
    }

    #[test]
    fn reads_sql_text_and_jsonl_values_alike() {
        let sql =
            row(json!({"n": "42", "ctx": "{\"b\": 1, \"a\": \"\\u00e9\"}", "t": "2026-01-01 00:00:00", "z": null}));
        let jsonl = row(json!({"n": 42, "ctx": {"b": 1, "a": "é"}, "t": "2026-01-01T00:00:00"}));
        for r in [&sql, &jsonl] {
            assert_eq!(r.opt_int("n"), Ok(Some(42)));
            assert_eq!(r.opt_json("ctx").unwrap().unwrap().value, json!({"b": 1, "a": "é"}));
            assert_eq!(r.opt_time("t").unwrap().unwrap().to_rfc3339_micros(), "2026-01-01T00:00:00.000000Z");
            assert_eq!(r.opt_text("z"), Ok(None));
            assert_eq!(r.opt_json("missing"), Ok(None));
        }
        // SQL text is passed on as written.
        assert_eq!(sql.opt_json("ctx").unwrap().unwrap().text, "{\"b\": 1, \"a\": \"\\u00e9\"}");
        assert_eq!(sql.key(&["n"]), "n=42");
        assert_eq!(sql.key(&["n", "absent"]), "line 1");
    }

    #[test]
    fn says_what_is_wrong() {
        let r = row(json!({"n": "x", "ctx": "{broken", "t": "soon", "o": {"a": 1}}));
        assert_eq!(r.opt_int("n").unwrap_err(), "n must be an integer, not \"x\"");
        assert!(r.opt_json("ctx").unwrap_err().starts_with("ctx is not valid JSON"));
        assert!(r.opt_time("t").unwrap_err().contains("is not a time"));
        assert!(r.opt_text("o").unwrap_err().starts_with("o must be text"));
        assert_eq!(r.text("absent").unwrap_err(), "absent is missing");
    }
}
