//! `sessions create|list|show|delete`.

use clap::Subcommand;
use nexau_session::storage::Order;
use nexau_session::{Engine, Record, SessionModel, SessionQuery, parse_filters};
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
        SessionsCommand::List { user, filter, order_by, limit, offset, json } => {
            let table = engine.table_schema(SessionModel::TABLE)?;
            let query = SessionQuery {
                user_id: user,
                filter: parse_filters(&filter, &table)?,
                order_by: order_by.iter().map(|o| Order::parse(o)).collect(),
                limit,
                offset,
            };
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
