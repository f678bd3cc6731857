//! Maintenance over the session logic's tables, as in NexAU (the Python implementation):
//! `engine.find_many::<SessionModel>(filter)`, `engine.delete::<SessionModel>(filter)`.
//! Served by the host's checked store: table and column names are checked
//! against the schemas the session logic declared, and every call is bound to
//! the engine's scope. What a delete takes with it is the record's
//! [`DeleteRule`]: sessions go through the session logic with their agents,
//! history and locks, one session per atomic batch.

use nexau_session_tables as tables;

use super::Engine;
use super::records::{DeleteRule, Record, RowReader};
use crate::storage::{Filter, Query, StorageError, WriteOp};
use crate::{Error, Result};

impl Engine {
    /// Rows of `R`'s table matching `query`.
    #[tracing::instrument(level = "debug", skip_all, fields(table = R::TABLE))]
    pub async fn find<R: Record>(&self, query: &Query) -> Result<Vec<R>> {
        let rows = self.store.find(R::TABLE, query).await?;
        rows.rows
            .iter()
            .map(|values| R::from_row(&RowReader { columns: &rows.columns, values, table: R::TABLE }))
            .collect()
    }

    /// Rows of `R`'s table matching `filter`.
    ///
    /// ```no_run
    /// # async fn demo(engine: nexau_session::Engine) -> nexau_session::Result<()> {
    /// use nexau_session::{SessionModel, storage::Filter};
    /// let old = engine.find_many::<SessionModel>(Filter::lt("updated_at", "2026-01-01T00:00:00Z")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn find_many<R: Record>(&self, filter: Filter) -> Result<Vec<R>> {
        self.find(&Query::filter(filter)).await
    }

    /// How many rows of `R`'s table match `filter`.
    #[tracing::instrument(level = "debug", skip_all, fields(table = R::TABLE))]
    pub async fn count<R: Record>(&self, filter: Filter) -> Result<u64> {
        Ok(self.store.count(R::TABLE, &filter).await?)
    }

    /// Deletes the rows of `R`'s table matching `filter` and returns how many,
    /// as `R`'s [`DeleteRule`] says. Sessions are deleted with everything
    /// that belongs to them, each only if it is unchanged since it was found
    /// to match: a session written to meanwhile (an append, say) is kept with
    /// what was written. Agents go with their history and lock; lock rows go
    /// alone; history rows cannot be deleted on their own (`Invalid`).
    #[tracing::instrument(level = "debug", skip_all, fields(table = R::TABLE))]
    pub async fn delete<R: Record>(&self, filter: Filter) -> Result<u64> {
        match R::DELETE {
            DeleteRule::SessionWithEverything => self.delete_sessions(filter).await,
            DeleteRule::AgentWithHistory => self.delete_agents(filter).await,
            DeleteRule::RowsAlone => Ok(self.store.delete(R::TABLE, filter).await?),
            DeleteRule::Refused(why) => Err(Error::Invalid(format!("cannot delete from {}: {why}", R::TABLE))),
        }
    }

    /// Each session matching `filter`, with everything of it, if unchanged
    /// since it matched.
    async fn delete_sessions(&self, filter: Filter) -> Result<u64> {
        let mut deleted = 0;
        for [u, s, at] in self.matching_keys(tables::SESSIONS, filter, ["user_id", "session_id", "updated_at"]).await? {
            if self.delete_session_if_unchanged(&u, &s, &at).await? {
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    /// Each agent matching `filter`, with its history and lock: one atomic
    /// batch per agent.
    async fn delete_agents(&self, filter: Filter) -> Result<u64> {
        let mut deleted = 0;
        for [u, s, a] in self.matching_keys(tables::AGENTS, filter, ["user_id", "session_id", "agent_id"]).await? {
            let key = || {
                Filter::and([
                    Filter::eq("user_id", u.as_str()),
                    Filter::eq("session_id", s.as_str()),
                    Filter::eq("agent_id", a.as_str()),
                ])
            };
            let batch = [tables::MESSAGES, tables::ACTIONS, tables::AGENT_LOCKS, tables::AGENTS]
                .map(|table| WriteOp::Delete { table: table.into(), filter: key(), expect: None });
            let counts = self.store.apply(batch.to_vec()).await?;
            deleted += counts.last().copied().unwrap_or(0);
        }
        Ok(deleted)
    }

    /// The text cells `columns` of each row of `table` matching `filter`
    /// (rows where one of them is not text are left out).
    async fn matching_keys<const N: usize>(
        &self,
        table: &str,
        filter: Filter,
        columns: [&str; N],
    ) -> Result<Vec<[String; N]>> {
        let matching = self.store.find(table, &Query::filter(filter)).await?;
        let positions = columns
            .map(|c| matching.position(c))
            .into_iter()
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| Error::Storage(StorageError::backend(format!("{table} rows lack their key columns"))))?;
        Ok(matching
            .rows
            .iter()
            .filter_map(|row| {
                let cells: Option<Vec<String>> =
                    positions.iter().map(|&i| row[i].as_str().map(str::to_owned)).collect();
                cells.and_then(|c| <[String; N]>::try_from(c).ok())
            })
            .collect())
    }
}
