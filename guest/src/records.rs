//! Maintenance over the component's tables: find, count and delete with the
//! table name checked; deleting sessions deletes what belongs to them.

use crate::error::{Res, from_storage, invalid};
use crate::prelude::*;
use crate::schema::{SESSIONS, TABLES};
use crate::sessions::delete_sessions;
use crate::store::{self, Filter, Query, RowSet, asc, rows};

/// Sessions deleted per batch by a cascading delete.
const PAGE: u32 = 256;

/// The tables this component declares.
pub fn tables() -> Vec<String> {
    strings(&TABLES)
}

fn check_table(table: &str) -> Res<()> {
    if TABLES.contains(&table) {
        Ok(())
    } else {
        Err(invalid(cat(&["unknown table \"", table, "\" (use sessions, agents, agent_locks or agent_run_actions)"])))
    }
}

/// The rows of `table` matching `query`.
pub fn find(table: &str, query: Query) -> Res<RowSet> {
    check_table(table)?;
    store::rows_of(table, &query)
}

/// How many rows of `table` match `filter`.
pub fn count(table: &str, filter: Filter) -> Res<u64> {
    check_table(table)?;
    store::count(table, &filter).map_err(from_storage)
}

/// Deletes the rows of `table` matching `filter`; for `sessions`, with their
/// agents, history and locks. Returns the number of rows of `table` deleted.
pub fn delete(table: &str, filter: Filter) -> Res<u64> {
    check_table(table)?;
    if table != SESSIONS {
        return store::delete(table, filter);
    }
    let mut total = 0;
    let page = Query { filter, order_by: vec![asc("user_id"), asc("session_id")], limit: Some(PAGE), offset: None };
    loop {
        let found = store::rows_of(SESSIONS, &page)?;
        let keys: Vec<(String, String)> = rows(&found).map(|r| (r.string("user_id"), r.string("session_id"))).collect();
        total += delete_sessions(&keys)?;
        if keys.len() < PAGE as usize {
            return Ok(total);
        }
    }
}
