//! `sessions create|list|show|delete`.

use clap::Subcommand;
use nexau_session::storage::{Filter, Order, TableSchema, Value};
use nexau_session::{Engine, Error, Record, SessionModel, SessionQuery, parse_filters, parse_order};
use serde::Serialize;

use super::exit;
use super::output::{ns_to_rfc3339, print_json, say};
use super::target::SessionArgs;

#[derive(Subcommand)]
pub enum SessionsCommand {
    /// Creates a session (or finds it) and prints its id.
    Create {
        /// The user id.
        #[arg(long)]
        user: String,
        /// The session id (generated as sess_{ULID} when not given).
        #[arg(long)]
        session: Option<String>,
    },
    /// Lists sessions.
    List {
        /// Only this user's sessions.
        #[arg(long)]
        user: Option<String>,
        /// PostgREST-style filter over the session columns (repeat to AND), e.g. updated_at.lt.2026-01-01T00:00:00Z
        #[arg(long)]
        filter: Vec<String>,
        /// Sort key: a column, `-column` for descending (repeatable; default created_at).
        #[arg(long, allow_hyphen_values = true)]
        order_by: Vec<String>,
        /// At most this many.
        #[arg(long)]
        limit: Option<u32>,
        /// Skip this many first.
        #[arg(long)]
        offset: Option<u32>,
        /// Keyset pagination: only the sessions after this one, USER/SESSION (the last row of the
        /// previous page), in the --order-by order (sort columns must never be null).
        #[arg(long, value_name = "USER/SESSION")]
        after: Option<String>,
        /// One JSON array on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Shows one session with its agents and locks.
    Show {
        #[command(flatten)]
        target: SessionArgs,
        /// One JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Deletes a session with its agents, history and locks.
    Delete {
        #[command(flatten)]
        target: SessionArgs,
    },
}

pub async fn run(engine: Engine, cmd: SessionsCommand) -> anyhow::Result<u8> {
    match cmd {
        SessionsCommand::Create { user, session } => {
            let s = engine.get_or_create_session(&user, session.as_deref()).await?;
            say!("{}", s.session_id)?;
        }
        SessionsCommand::List { user, filter, order_by, limit, offset, after, json } => {
            let table = engine.table_schema(SessionModel::TABLE)?;
            let orders = order_by.iter().map(|o| parse_order(o, &table)).collect::<Result<Vec<_>, _>>()?;
            let orders = total_order(orders);
            let mut filter = parse_filters(&filter, &table)?;
            if let Some((u, s)) = parse_cursor(after.as_deref())? {
                keyset_columns(&orders, &table)?;
                filter = Filter::and([filter, after_row(&engine, &orders, &u, &s).await?]);
            }
            let query = SessionQuery { user_id: user, filter, order_by: orders, limit, offset };
            let sessions = engine.list_sessions(&query).await?;
            if json {
                print_json(&sessions)?;
            } else {
                for s in &sessions {
                    say!("{}\t{}\tcreated {}\tupdated {}", s.user_id, s.session_id, s.created_at, s.updated_at)?;
                }
            }
        }
        SessionsCommand::Show { target, json } => {
            let SessionArgs { user, session } = &target;
            let Some(s) = engine.get_session(user, session).await? else {
                return Err(target.not_found().into());
            };
            let agents = engine.list_agents(user, session).await?;
            let locks = engine.list_locks(user, session).await?;
            if json {
                #[derive(Serialize)]
                struct Lock<'a> {
                    agent_id: &'a str,
                    #[serde(flatten)]
                    lease: &'a nexau_session::Lease,
                }
                #[derive(Serialize)]
                struct Shown<'a> {
                    #[serde(flatten)]
                    session: &'a nexau_session::Session,
                    agents: &'a [nexau_session::AgentInfo],
                    locks: Vec<Lock<'a>>,
                }
                let locks = locks.iter().map(|(a, l)| Lock { agent_id: a, lease: l }).collect();
                print_json(&Shown { session: &s, agents: &agents, locks })?;
            } else {
                say!("user:       {}", s.user_id)?;
                say!("session:    {}", s.session_id)?;
                say!("created:    {}", s.created_at)?;
                say!("updated:    {}", s.updated_at)?;
                say!("version:    {}", s.version)?;
                say!("context:    {}", s.context)?;
                say!("storage:    {}", s.storage)?;
                for a in &agents {
                    let root = if a.is_root { " (root)" } else { "" };
                    say!("agent:      {} {}{root}, last updated {}", a.agent_id, a.agent_name, a.last_updated)?;
                }
                let now = engine.clock().now_ns();
                for (agent, l) in &locks {
                    match &l.holder_id {
                        Some(h) if l.is_held_at(now) => say!(
                            "lock:       {agent} held by {h} (token {}) until {}",
                            l.token,
                            ns_to_rfc3339(l.expires_at_ns)
                        )?,
                        _ => say!("lock:       {agent} free (last token {})", l.token)?,
                    }
                }
            }
        }
        SessionsCommand::Delete { target } => {
            if !engine.delete_session(&target.user, &target.session).await? {
                return Err(target.not_found().into());
            }
            say!("deleted {}", target.session)?;
        }
    }
    Ok(exit::OK)
}

/// The sort keys made total: the given ones (default `created_at`,
/// `session_id`), then `user_id` and `session_id` where missing, so that
/// every row has one place and a keyset cursor one meaning.
fn total_order(mut orders: Vec<Order>) -> Vec<Order> {
    if orders.is_empty() {
        orders = vec![Order::parse("created_at"), Order::parse("session_id")];
    }
    for key in ["user_id", "session_id"] {
        if !orders.iter().any(|o| o.field == key) {
            orders.push(Order::parse(key));
        }
    }
    orders
}

/// `--after USER/SESSION`, checked.
pub fn parse_cursor(after: Option<&str>) -> nexau_session::Result<Option<(String, String)>> {
    let Some(text) = after else { return Ok(None) };
    let (u, s) = text.split_once('/').ok_or_else(|| {
        Error::Invalid(format!("--after {text:?}: write the last row's USER/SESSION, e.g. alice/sess_1"))
    })?;
    nexau_session::ids::check("--after user_id", u)?;
    nexau_session::ids::check("--after session_id", s)?;
    Ok(Some((u.to_owned(), s.to_owned())))
}

/// Keyset pages need sort columns that are never null (NULL compares as unknown).
pub fn keyset_columns(orders: &[Order], table: &TableSchema) -> nexau_session::Result<()> {
    match orders.iter().find(|o| table.column(&o.field).is_none_or(|c| c.nullable)) {
        Some(o) => Err(Error::Invalid(format!(
            "--after cannot page by {}: it may be null; sort by columns that are never null \
             (user_id, session_id, created_at, updated_at, version)",
            o.field
        ))),
        None => Ok(()),
    }
}

/// The rows after the session `user`/`session` in the order `orders`:
/// `(k1 > v1) or (k1 = v1 and k2 > v2) or …` (`<` for a descending key).
async fn after_row(engine: &Engine, orders: &[Order], user: &str, session: &str) -> anyhow::Result<Filter> {
    let Some(rows) = engine.session_rows(user, session).await? else {
        return Err(Error::Invalid(format!(
            "--after {user}/{session}: no such session (deleted since the previous page?); \
             page on from another row"
        ))
        .into());
    };
    let sessions = &rows.tables[0].1;
    let value = |field: &str| -> anyhow::Result<Value> {
        sessions.get(0, field).cloned().ok_or_else(|| anyhow::anyhow!("sessions row lacks {field}"))
    };
    let mut branches = Vec::new();
    for (i, o) in orders.iter().enumerate() {
        let mut all = Vec::new();
        for earlier in &orders[..i] {
            all.push(Filter::eq(earlier.field.as_str(), value(&earlier.field)?));
        }
        let v = value(&o.field)?;
        all.push(if o.descending { Filter::lt(o.field.as_str(), v) } else { Filter::gt(o.field.as_str(), v) });
        branches.push(Filter::And(all));
    }
    Ok(Filter::Or(branches))
}
