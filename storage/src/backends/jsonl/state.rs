//! What one process knows of a JSONL directory: the tables (in memory, with
//! their indexes), the recorded definitions, and how far it has read each
//! file. [`State::catch_up`] reads the other processes' appends; under the
//! exclusive lock it also cuts off a batch a crash left unfinished.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use super::definition;
use super::log_file::{LogFile, RawLine};
use super::record::{self, Body, Record};
use crate::memtable::{Table, Tables};
use crate::{SCHEMA_TABLE, StorageError, TableSchema};

/// A table `nexau_schema.jsonl` records.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub(crate) created_at: String,
}

/// The file name of a table's log.
pub(crate) fn file_name(table: &str) -> String {
    format!("{table}.jsonl")
}

/// One record read, with where it is.
struct Read {
    file: String,
    line: u64,
    start: u64,
    end: u64,
    record: Record,
}

/// What the catch-up found at the end of the files: a batch that is not
/// (yet) complete, and lines cut short.
#[derive(Debug, Default)]
struct Tail {
    /// Per file: where its unfinished part starts.
    cut: BTreeMap<String, u64>,
}

/// The state of one directory as this process knows it.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) dir: PathBuf,
    pub(crate) tables: Tables,
    pub(crate) recorded: BTreeMap<String, Recorded>,
    /// `nexau_schema` and every recorded table's file.
    pub(crate) files: BTreeMap<String, LogFile>,
    /// Records in each file (since it was last compacted), for the garbage ratio.
    pub(crate) records: BTreeMap<String, u64>,
    /// The highest batch number seen.
    pub(crate) last_op: u64,
    /// Every batch up to here is complete (a compacted file says so).
    pub(crate) watermark: u64,
}

fn corrupt(path: &Path, line: u64, why: &str) -> StorageError {
    StorageError::backend(format!("jsonl: {} line {line}: corrupt record: {why}", path.display()))
}

impl State {
    /// Nothing read yet.
    pub(crate) fn new(dir: &Path) -> State {
        let mut files = BTreeMap::new();
        files.insert(SCHEMA_TABLE.to_owned(), LogFile::new(dir.join(file_name(SCHEMA_TABLE))));
        State {
            dir: dir.to_path_buf(),
            tables: Tables::new(),
            recorded: BTreeMap::new(),
            files,
            records: BTreeMap::new(),
            last_op: 0,
            watermark: 0,
        }
    }

    /// The schema the records of `file` are decoded with.
    fn schema_of(&self, file: &str) -> Option<TableSchema> {
        if file == SCHEMA_TABLE {
            return Some(definition::schema_table());
        }
        self.tables.get(file).map(|t| (*t.schema).clone())
    }

    /// Reads every file's appends and applies the complete batches. With
    /// `repair` (under the exclusive lock: no writer is running) an
    /// unfinished batch at the end is cut off and reported; without it
    /// (shared lock) it is left for the next writer.
    pub(crate) fn catch_up(&mut self, repair: bool) -> Result<(), StorageError> {
        // The definitions first: the data files are read with them.
        self.catch_up_files(&[SCHEMA_TABLE.to_owned()], repair)?;
        let names: Vec<String> = self.recorded.keys().cloned().collect();
        self.catch_up_files(&names, repair)
    }

    fn catch_up_files(&mut self, names: &[String], repair: bool) -> Result<(), StorageError> {
        let mut reads: Vec<Read> = Vec::new();
        let mut tail = Tail::default();
        let mut missing: HashSet<String> = HashSet::new();
        for name in names {
            let Some(file) = self.files.get_mut(name) else { continue };
            let Some(appended) = file.read_appended()? else {
                if name != SCHEMA_TABLE {
                    missing.insert(name.clone());
                }
                continue;
            };
            let path = file.path.clone();
            if appended.from_start {
                // Replaced by a compaction: the table is read anew.
                self.records.insert(name.clone(), 0);
                if let Some(t) = self.tables.get(name) {
                    let fresh = Table::new(&t.schema)?;
                    self.tables.insert(name.clone(), fresh);
                }
            }
            if let Some(at) = appended.torn_at {
                tail.cut.insert(name.clone(), at);
            }
            let schema = self.schema_of(name);
            for RawLine { number, start, end, bytes } in appended.lines {
                let record = match &schema {
                    Some(s) => record::decode(&bytes, s),
                    None => Err(format!("no definition for table `{name}`")),
                }
                .map_err(|why| corrupt(&path, number, &why))?;
                if record.body == Body::Compacted {
                    if number != 1 {
                        return Err(corrupt(&path, number, "a compaction header after the first line"));
                    }
                    self.watermark = self.watermark.max(record.op);
                }
                reads.push(Read { file: name.clone(), line: number, start, end, record });
            }
        }
        for name in missing {
            // A recorded table whose file is gone (deleted by hand): it is
            // not served, and setup_models refuses to recreate it empty.
            self.tables.remove(&name);
        }
        reads.sort_by_key(|r| r.record.op); // stable: file and line order stay within a batch
        // Which batches are complete: every file they wrote has their last record.
        let mut batches: BTreeMap<u64, (Option<u32>, u32)> = BTreeMap::new();
        for r in &reads {
            let entry = batches.entry(r.record.op).or_insert((None, 0));
            if let Some(n) = r.record.files {
                entry.0 = Some(n);
                entry.1 += 1;
            }
        }
        let complete = |op: u64, b: &(Option<u32>, u32)| op <= self.watermark || b.0.is_some_and(|n| n == b.1);
        let first_incomplete = batches.iter().find(|(op, b)| !complete(**op, b)).map(|(op, _)| *op);
        if let Some(x) = first_incomplete
            && let Some((later, _)) = batches.iter().find(|(op, b)| **op > x && complete(**op, b))
        {
            let r = reads.iter().find(|r| r.record.op == x).expect("batch x has records");
            let path = self.files[&r.file].path.clone();
            return Err(corrupt(
                &path,
                r.line,
                &format!("batch {x} is incomplete but a later batch ({later}) is complete"),
            ));
        }
        // Apply the complete batches, in order.
        let mut progress: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for r in reads {
            if first_incomplete.is_some_and(|x| r.record.op >= x) {
                let cut = tail.cut.entry(r.file.clone()).or_insert(r.start);
                *cut = (*cut).min(r.start);
                continue;
            }
            self.apply_record(&r.file, r.record)?;
            progress.insert(r.file.clone(), (r.end, r.line));
            *self.records.entry(r.file).or_insert(0) += 1;
        }
        for (name, (end, lines)) in progress {
            if let Some(f) = self.files.get_mut(&name) {
                f.advance(end, lines);
            }
        }
        if repair {
            for (name, at) in tail.cut {
                let Some(f) = self.files.get_mut(&name) else { continue };
                tracing::warn!(
                    file = %f.path.display(),
                    line = f.lines + 1,
                    offset = at,
                    "jsonl: cut off an unfinished write at the end of the file (a crash mid-write); every earlier record is kept"
                );
                f.truncate(at)?;
            }
        }
        Ok(())
    }

    /// Applies one record of a complete batch.
    fn apply_record(&mut self, file: &str, record: Record) -> Result<(), StorageError> {
        self.last_op = self.last_op.max(record.op);
        if file == SCHEMA_TABLE {
            if let Body::Put(row) = record.body {
                let (schema, created_at) = definition::decode(&row)?;
                self.install(schema, created_at)?;
            }
            return Ok(());
        }
        let Some(t) = self.tables.get_mut(file) else { return Ok(()) };
        match record.body {
            Body::Put(row) => t.put_by_key(row),
            Body::Del(key) => {
                t.take_by_key(&key);
            }
            Body::Compacted => {}
        }
        Ok(())
    }

    /// Makes `schema` the stored definition of its table (creating or re-laying it).
    pub(crate) fn install(&mut self, schema: TableSchema, created_at: String) -> Result<(), StorageError> {
        let name = schema.name.clone();
        let table = match self.tables.get(&name) {
            Some(t) if *t.schema == schema => None,
            Some(t) => Some(t.extended(&schema)?),
            None => Some(Table::new(&schema)?),
        };
        if let Some(t) = table {
            self.tables.insert(name.clone(), t);
        }
        self.files.entry(name.clone()).or_insert_with(|| LogFile::new(self.dir.join(file_name(&name))));
        self.recorded.insert(name, Recorded { created_at });
        Ok(())
    }
}
