//! The portable export format: what `export` writes and `import FILE` reads.
//!
//! One JSON object per line. The first line is the header,
//! `{"format":"nexau-session-export","version":1}`; every other line is one
//! row, `{"table":"<table>","row":{<every column by name>}}`, with the cells
//! typed by their column exactly as a JSONL store writes them
//! ([`storage::row_json`](crate::storage::row_json)). Sessions follow one
//! another in `(user_id, session_id)` order; each starts with its `sessions`
//! row, followed by its `agents`, `agent_locks`, `agent_run_actions` and
//! `agent_messages` rows, each table in key order. Nothing in the file
//! depends on when or from which backend it was written, so two exports of
//! the same sessions are the same bytes.
//!
//! ```
//! use nexau_session::export_format::{header_line, ExportReader};
//! let text = header_line();
//! let mut reader = ExportReader::new(std::io::Cursor::new(text), vec![]).unwrap();
//! assert!(reader.next().is_none());
//! ```

use std::io::BufRead;

use nexau_session_tables as tables;

use crate::engine::SessionRows;
use crate::storage::{RowSet, TableSchema, Value, row_json};
use crate::{Error, Result};

/// The `format` of the header line.
pub const EXPORT_FORMAT: &str = "nexau-session-export";
/// The `version` this build writes and reads.
pub const EXPORT_VERSION: u64 = 1;

/// The header line, with its newline.
pub fn header_line() -> String {
    format!("{{\"format\":\"{EXPORT_FORMAT}\",\"version\":{EXPORT_VERSION}}}\n")
}

/// Appends the lines of one session (`schemas`: the declared tables).
pub fn push_session(out: &mut Vec<u8>, schemas: &[TableSchema], session: &SessionRows) -> Result<()> {
    for (table, rows) in &session.tables {
        let schema = schemas
            .iter()
            .find(|s| &s.name == table)
            .ok_or_else(|| Error::Invalid(format!("{table} is not a declared table")))?;
        let positions: Vec<Option<usize>> = schema.columns.iter().map(|c| rows.position(&c.name)).collect();
        for row in &rows.rows {
            let ordered: Vec<Value> =
                positions.iter().map(|p| p.and_then(|i| row.get(i).cloned()).unwrap_or(Value::Null)).collect();
            row_json::push_tagged(out, schema, &ordered);
        }
    }
    Ok(())
}

/// A session of an export file that could not be read: where it starts, its
/// key when known, and the first thing wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadSession {
    /// The line of its `sessions` row (or of the first bad line).
    pub line: u64,
    /// `user_id/session_id`, when its `sessions` row could be read.
    pub key: Option<String>,
    /// What is wrong, naming the line and the table.
    pub why: String,
}

/// A session being gathered.
struct Pending {
    rows: SessionRows,
    line: u64,
    error: Option<String>,
}

/// Reads an export file session by session: each item is one whole session
/// or the reason it cannot be imported. A bad line spoils only the session
/// it belongs to; the reader goes on with the next `sessions` row.
pub struct ExportReader<R: BufRead> {
    input: R,
    schemas: Vec<TableSchema>,
    line: u64,
    pending: Option<Pending>,
    done: bool,
}

impl<R: BufRead> ExportReader<R> {
    /// Reads and checks the header; `schemas` are the declared tables
    /// (`Engine::table_schemas`).
    pub fn new(mut input: R, schemas: Vec<TableSchema>) -> Result<Self> {
        let mut first = String::new();
        input.read_line(&mut first).map_err(|e| Error::Invalid(format!("cannot read the export: {e}")))?;
        #[derive(serde::Deserialize)]
        struct Header {
            format: String,
            version: u64,
        }
        let header: Header = serde_json::from_str(first.trim_end()).map_err(|_| {
            Error::Invalid(format!(
                "line 1: not an export of nexau-session (expected the header {})",
                header_line().trim_end()
            ))
        })?;
        if header.format != EXPORT_FORMAT {
            return Err(Error::Invalid(format!("line 1: format {:?} is not {EXPORT_FORMAT:?}", header.format)));
        }
        if header.version != EXPORT_VERSION {
            return Err(Error::Invalid(format!(
                "line 1: export version {} (this build reads version {EXPORT_VERSION})",
                header.version
            )));
        }
        Ok(ExportReader { input, schemas, line: 1, pending: None, done: false })
    }

    fn schema(&self, table: &str) -> Option<&TableSchema> {
        self.schemas.iter().find(|s| s.name == table)
    }

    /// A new session for the `sessions` row `row` read at line `line`.
    fn start(&self, row: Vec<Value>, line: u64) -> Pending {
        let text = |col: &str, rows: &[Value]| {
            self.schema(tables::SESSIONS)
                .and_then(|s| s.columns.iter().position(|c| c.name == col))
                .and_then(|i| rows.get(i))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let (user, session) = (text("user_id", &row), text("session_id", &row));
        let tables = self
            .schemas
            .iter()
            .map(|s| {
                let columns = s.columns.iter().map(|c| c.name.clone()).collect();
                (s.name.clone(), RowSet { columns, rows: Vec::new() })
            })
            .collect::<Vec<_>>();
        let mut pending = Pending {
            rows: SessionRows {
                user_id: user.clone().unwrap_or_default(),
                session_id: session.clone().unwrap_or_default(),
                tables,
            },
            line,
            error: None,
        };
        if user.is_none() || session.is_none() {
            pending.error = Some(format!("line {line}: the sessions row lacks user_id or session_id"));
        } else {
            pending.rows.tables[0].1.rows.push(row);
        }
        pending
    }

    fn finish(p: Pending) -> std::result::Result<SessionRows, BadSession> {
        let key = (!p.rows.user_id.is_empty()).then(|| format!("{}/{}", p.rows.user_id, p.rows.session_id));
        match p.error {
            None => Ok(p.rows),
            Some(why) => Err(BadSession { line: p.line, key, why }),
        }
    }
}

impl<R: BufRead> Iterator for ExportReader<R> {
    type Item = std::result::Result<SessionRows, BadSession>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut text = String::new();
        while !self.done {
            text.clear();
            let n = match self.input.read_line(&mut text) {
                Ok(n) => n,
                Err(e) => {
                    self.done = true;
                    let why = format!("line {}: cannot read: {e}", self.line + 1);
                    return Some(Err(BadSession { line: self.line + 1, key: None, why }));
                }
            };
            if n == 0 {
                self.done = true;
                break;
            }
            self.line += 1;
            let line = self.line;
            let body = text.trim_end_matches(['\n', '\r']);
            if body.is_empty() {
                continue;
            }
            let parsed = row_json::split_tagged(body).map_err(|e| format!("line {line}: not a row line ({e})"));
            let (table, decoded) = match parsed {
                Ok((table, object)) => {
                    let decoded = match self.schema(&table) {
                        Some(schema) => {
                            row_json::decode(object, schema).map_err(|e| format!("line {line}: {table} row: {e}"))
                        }
                        None => Err(format!("line {line}: unknown table {table:?}")),
                    };
                    (table, decoded)
                }
                // Unreadable: treated as a sessions row gone bad, so it spoils
                // no session read before it.
                Err(e) => (tables::SESSIONS.to_owned(), Err(e)),
            };
            match (table.as_str(), decoded) {
                (tables::SESSIONS, Ok(row)) => {
                    let next = self.start(row, line);
                    if let Some(done) = self.pending.replace(next) {
                        return Some(Self::finish(done));
                    }
                }
                (tables::SESSIONS, Err(why)) => {
                    // A session whose own row is unreadable: it is bad from here
                    // to the next sessions row.
                    let next = Pending { rows: SessionRows::empty(), line, error: Some(why) };
                    if let Some(done) = self.pending.replace(next) {
                        return Some(Self::finish(done));
                    }
                }
                (table, outcome) => {
                    let Some(p) = self.pending.as_mut() else {
                        self.pending = Some(Pending {
                            rows: SessionRows::empty(),
                            line,
                            error: Some(format!("line {line}: a {table} row before any sessions row")),
                        });
                        continue;
                    };
                    if p.error.is_some() {
                        continue;
                    }
                    let key = format!("{}/{}", p.rows.user_id, p.rows.session_id);
                    match outcome {
                        Err(why) => p.error = Some(format!("{why} (session {key})")),
                        Ok(row) => {
                            let set = &mut p.rows.tables.iter_mut().find(|(t, _)| t == table).expect("declared").1;
                            let cell = |col: &str| set.position(col).and_then(|i| row.get(i)).and_then(Value::as_str);
                            if cell("user_id") != Some(p.rows.user_id.as_str())
                                || cell("session_id") != Some(p.rows.session_id.as_str())
                            {
                                p.error = Some(format!(
                                    "line {line}: a {table} row of another session inside session {key} \
                                     (each session's rows follow its sessions row)"
                                ));
                            } else {
                                set.rows.push(row);
                            }
                        }
                    }
                }
            }
        }
        self.pending.take().map(Self::finish)
    }
}

impl SessionRows {
    fn empty() -> SessionRows {
        SessionRows { user_id: String::new(), session_id: String::new(), tables: Vec::new() }
    }
}
