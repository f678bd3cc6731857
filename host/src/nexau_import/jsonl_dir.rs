//! Reading a NexAU JSONL directory: one file per table (`sessions.jsonl`,
//! `agents.jsonl`, `agent_run_actions.jsonl`, `agent_locks.jsonl`), one JSON
//! object per line whose keys are the row's columns. A missing file is an
//! empty table. NexAU itself skips a line that is not a JSON object without
//! a word; here it is reported with its file and line number.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::RowProblem;
use super::source::{SourceTables, TABLES};
use super::source_row::SourceRow;
use crate::storage::StorageError;
use crate::{Error, Result};

/// Reads the directory's four files (on a blocking thread).
pub(crate) async fn read(dir: PathBuf) -> Result<SourceTables> {
    tokio::task::spawn_blocking(move || read_dir(&dir))
        .await
        .map_err(|e| Error::Storage(StorageError::backend_caused("reading the NexAU JSONL directory failed", e)))?
}

fn read_dir(dir: &Path) -> Result<SourceTables> {
    if !dir.is_dir() {
        return Err(Error::Invalid(format!("{}: not a directory (a NexAU JSONL store is one)", dir.display())));
    }
    let mut out = SourceTables::default();
    let mut found = 0;
    for table in TABLES {
        let path = dir.join(format!("{table}.jsonl"));
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_error(&path, e)),
        };
        found += 1;
        for (n, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| io_error(&path, e))?;
            if line.trim().is_empty() {
                continue;
            }
            let at = format!("line {}", n + 1);
            match serde_json::from_str::<Json>(&line) {
                Ok(Json::Object(m)) => {
                    out.push(table, SourceRow::new(table, at, m.into_iter().collect::<BTreeMap<_, _>>()))
                }
                Ok(_) => out.unreadable.push(RowProblem::new(table, &at, "not a JSON object")),
                Err(e) => out.unreadable.push(RowProblem::new(table, &at, &format!("not valid JSON ({e})"))),
            }
        }
    }
    if found == 0 {
        return Err(Error::Invalid(format!(
            "{}: no NexAU table files there ({}.jsonl)",
            dir.display(),
            TABLES.join(".jsonl, ")
        )));
    }
    Ok(out)
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Storage(StorageError::backend_caused(format!("cannot read {}", path.display()), e))
}
