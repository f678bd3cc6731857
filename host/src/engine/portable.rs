//! Sessions as whole units, for moving them between stores (`export`,
//! `import`, `migrate`) and for deleting them in bulk (`cleanup`): keyset
//! pages of sessions, a session with every row that belongs to it, writing
//! such a session into a store all-or-nothing, and deleting idle sessions a
//! page per atomic batch.

use nexau_session_tables as tables;

use super::{Engine, SessionModel};
use crate::storage::{Filter, Order, Query, RowSet, StorageError, TableSchema, Value, WriteOp};
use crate::{Error, Result};

/// The tables below `sessions` and the columns each one is read in order of
/// (its key), so a session's rows always come out in the same order.
const CHILDREN: [(&str, &[&str]); 4] = [
    (tables::AGENTS, &["agent_id"]),
    (tables::AGENT_LOCKS, &["agent_id"]),
    (tables::ACTIONS, &["agent_id", "seq"]),
    (tables::MESSAGES, &["agent_id", "action_seq", "pos"]),
];

/// One session and every row that belongs to it: its `sessions` row, then
/// its rows of `agents`, `agent_locks`, `agent_run_actions` and
/// `agent_messages`, each table in key order.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRows {
    /// The user.
    pub user_id: String,
    /// The session.
    pub session_id: String,
    /// `(table, rows)` in [`tables::ALL`](nexau_session_tables::ALL) order,
    /// every declared column in declaration order; `sessions` first with its one row.
    pub tables: Vec<(String, RowSet)>,
}

impl SessionRows {
    /// All the rows, across tables.
    pub fn row_count(&self) -> u64 {
        self.tables.iter().map(|(_, r)| r.len() as u64).sum()
    }
}

/// What [`Engine::import_session`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportOutcome {
    /// The session was absent and now holds every row given.
    Inserted,
    /// The session was there already with exactly these rows: nothing written.
    Unchanged,
}

/// A session [`Engine::delete_idle_sessions`] is asked to delete: its key and
/// the `updated_at` it had when it was found to be old.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleSession {
    /// The user.
    pub user_id: String,
    /// The session.
    pub session_id: String,
    /// RFC 3339, as read.
    pub updated_at: String,
}

fn session_key(user_id: &str, session_id: &str) -> Filter {
    Filter::and([Filter::eq("user_id", user_id), Filter::eq("session_id", session_id)])
}

/// Rows of sessions after the key `(user_id, session_id)`.
fn after_key(user_id: &str, session_id: &str) -> Filter {
    Filter::or([
        Filter::gt("user_id", user_id),
        Filter::and([Filter::eq("user_id", user_id), Filter::gt("session_id", session_id)]),
    ])
}

impl Engine {
    /// Up to `limit` sessions matching `filter`, in `(user_id, session_id)`
    /// order, starting after the session `after` (a keyset page: each page
    /// is one indexed query however deep it is, and rows added or removed
    /// meanwhile never shift the pages).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn sessions_page(
        &self,
        filter: &Filter,
        after: Option<(&str, &str)>,
        limit: u64,
    ) -> Result<Vec<SessionModel>> {
        let filter = match after {
            Some((u, s)) => Filter::and([filter.clone(), after_key(u, s)]),
            None => filter.clone(),
        };
        let query = Query {
            filter,
            order_by: vec![Order::parse("user_id"), Order::parse("session_id")],
            limit: Some(limit),
            offset: None,
            columns: Vec::new(),
        };
        self.find::<SessionModel>(&query).await
    }

    /// The session with every row that belongs to it, or `None` when it does
    /// not exist. (Read table by table: a session written to meanwhile may
    /// come out half old, half new; `migrate`'s count check notices.)
    #[tracing::instrument(level = "debug", skip_all, fields(user = user_id, session = session_id))]
    pub async fn session_rows(&self, user_id: &str, session_id: &str) -> Result<Option<SessionRows>> {
        let session = self.store.find(tables::SESSIONS, &Query::filter(session_key(user_id, session_id))).await?;
        if session.is_empty() {
            return Ok(None);
        }
        let mut out = vec![(tables::SESSIONS.to_owned(), session)];
        for (table, key) in CHILDREN {
            let query = Query {
                filter: session_key(user_id, session_id),
                order_by: key.iter().map(|c| Order::parse(c)).collect(),
                limit: None,
                offset: None,
                columns: Vec::new(),
            };
            out.push((table.to_owned(), self.store.find(table, &query).await?));
        }
        Ok(Some(SessionRows { user_id: user_id.to_owned(), session_id: session_id.to_owned(), tables: out }))
    }

    /// Writes `rows` as a session of this store, all or nothing: an absent
    /// session is inserted with every row in one atomic batch; one present
    /// with exactly these rows is left as it is ([`ImportOutcome::Unchanged`],
    /// so importing twice changes nothing); one present with other rows is
    /// refused with [`Error::Conflict`] and left as it is. Every row must
    /// belong to the session (`Invalid` otherwise) and fit its table.
    #[tracing::instrument(level = "debug", skip_all, fields(user = %rows.user_id, session = %rows.session_id))]
    pub async fn import_session(&self, rows: &SessionRows) -> Result<ImportOutcome> {
        self.check_belongs(rows)?;
        if let Some(present) = self.session_rows(&rows.user_id, &rows.session_id).await? {
            return if same_rows(&present, rows) {
                Ok(ImportOutcome::Unchanged)
            } else {
                Err(Error::Conflict(format!(
                    "session {}/{} is already in this store with other content; delete it first to replace it",
                    rows.user_id, rows.session_id
                )))
            };
        }
        let batch: Vec<WriteOp> = rows
            .tables
            .iter()
            .filter(|(_, r)| !r.is_empty())
            .map(|(table, r)| WriteOp::Insert { table: table.clone(), rows: r.clone() })
            .collect();
        match self.store.apply(batch).await {
            Ok(_) => Ok(ImportOutcome::Inserted),
            // Created by someone else between the look and the write.
            Err(StorageError::DuplicateKey(_)) => match self.session_rows(&rows.user_id, &rows.session_id).await? {
                Some(present) if same_rows(&present, rows) => Ok(ImportOutcome::Unchanged),
                _ => Err(Error::Conflict(format!(
                    "session {}/{} was written by someone else during the import",
                    rows.user_id, rows.session_id
                ))),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// Checks that every row of `rows` names its session and that every
    /// table is one of the session logic's, with the declared columns.
    fn check_belongs(&self, rows: &SessionRows) -> Result<()> {
        crate::ids::check("user_id", &rows.user_id)?;
        crate::ids::check("session_id", &rows.session_id)?;
        for (table, set) in &rows.tables {
            if !tables::ALL.contains(&table.as_str()) {
                return Err(Error::Invalid(format!("{table} is not a table of a session")));
            }
            let (Some(u), Some(s)) = (set.position("user_id"), set.position("session_id")) else {
                return Err(Error::Invalid(format!("{table} rows lack user_id or session_id")));
            };
            let foreign = set.rows.iter().find(|row| {
                row.get(u).and_then(Value::as_str) != Some(rows.user_id.as_str())
                    || row.get(s).and_then(Value::as_str) != Some(rows.session_id.as_str())
            });
            if foreign.is_some() {
                return Err(Error::Invalid(format!(
                    "a {table} row belongs to another session than {}/{}",
                    rows.user_id, rows.session_id
                )));
            }
        }
        match rows.tables.first() {
            Some((t, r)) if t == tables::SESSIONS && r.len() == 1 => Ok(()),
            _ => Err(Error::Invalid(format!(
                "session {}/{} needs exactly one sessions row, first",
                rows.user_id, rows.session_id
            ))),
        }
    }

    /// The number of rows of `table` in this scope.
    #[tracing::instrument(level = "debug", skip_all, fields(table = table))]
    pub async fn count_rows(&self, table: &str) -> Result<u64> {
        Ok(self.store.count(table, &Filter::All).await?)
    }

    /// The declared schemas of the session logic's tables, in
    /// [`tables::ALL`](nexau_session_tables::ALL) order (after `setup_models`).
    pub fn table_schemas(&self) -> Result<Vec<TableSchema>> {
        tables::ALL.iter().map(|t| self.table_schema(t)).collect()
    }

    /// Deletes each of `stale` with everything that belongs to it, provided
    /// that its `updated_at` is still the one given and that no agent lock
    /// of it is held at `now_ns` (a holder whose lease has not expired): the
    /// whole page is one atomic batch, and when some session fails those
    /// conditions the page is retried a session per batch, so only that one
    /// is kept. Returns, for each session, whether it was deleted.
    #[tracing::instrument(level = "debug", skip_all, fields(sessions = stale.len()))]
    pub async fn delete_idle_sessions(&self, stale: &[StaleSession], now_ns: i64) -> Result<Vec<bool>> {
        let all: Vec<WriteOp> = stale.iter().flat_map(|s| idle_delete_ops(s, now_ns)).collect();
        match self.store.apply(all).await {
            Ok(_) => return Ok(vec![true; stale.len()]),
            Err(StorageError::Conflict(_)) if stale.len() > 1 => {}
            Err(StorageError::Conflict(_)) => return Ok(vec![false]),
            Err(e) => return Err(e.into()),
        }
        let mut deleted = Vec::with_capacity(stale.len());
        for s in stale {
            deleted.push(match self.store.apply(idle_delete_ops(s, now_ns)).await {
                Ok(_) => true,
                Err(StorageError::Conflict(_)) => false,
                Err(e) => return Err(e.into()),
            });
        }
        Ok(deleted)
    }
}

/// The ops deleting one idle session: two checks (unchanged, no held lock),
/// then its rows, children first.
fn idle_delete_ops(s: &StaleSession, now_ns: i64) -> Vec<WriteOp> {
    let key = || session_key(&s.user_id, &s.session_id);
    let held = Filter::and([key(), Filter::not(Filter::is_null("holder_id")), Filter::gt("expires_at_ns", now_ns)]);
    let mut ops = vec![
        WriteOp::Check {
            table: tables::SESSIONS.into(),
            filter: Filter::and([key(), Filter::eq("updated_at", Value::Timestamp(s.updated_at.clone()))]),
            expect: 1,
        },
        WriteOp::Check { table: tables::AGENT_LOCKS.into(), filter: held, expect: 0 },
    ];
    for table in [tables::MESSAGES, tables::ACTIONS, tables::AGENT_LOCKS, tables::AGENTS] {
        ops.push(WriteOp::Delete { table: table.into(), filter: key(), expect: None });
    }
    ops.push(WriteOp::Delete { table: tables::SESSIONS.into(), filter: key(), expect: Some(1) });
    ops
}

/// Whether two sessions hold the same rows (columns matched by name).
fn same_rows(a: &SessionRows, b: &SessionRows) -> bool {
    let table = |s: &SessionRows, name: &str| s.tables.iter().find(|(t, _)| t == name).map(|(_, r)| r.clone());
    tables::ALL.iter().all(|name| match (table(a, name), table(b, name)) {
        (Some(x), Some(y)) => normalized(&x) == normalized(&y),
        (None, None) => true,
        (Some(x), None) | (None, Some(x)) => x.is_empty(),
    })
}

/// Rows as (column, value) lists sorted by column name, sorted, so column
/// and row order do not matter.
fn normalized(rows: &RowSet) -> Vec<Vec<(String, String)>> {
    let mut out: Vec<Vec<(String, String)>> = rows
        .rows
        .iter()
        .map(|row| {
            let mut cells: Vec<(String, String)> =
                rows.columns.iter().cloned().zip(row.iter().map(|v| format!("{v:?}"))).collect();
            cells.sort();
            cells
        })
        .collect();
    out.sort();
    out
}
