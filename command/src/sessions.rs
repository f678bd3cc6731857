//! `sessions create|list|show|delete`.

use serde::Serialize;

use crate::args::{SessionArgs, SessionsCommand};
use crate::failure::Failure;
use crate::logic::{self, Agent, Lease, Session, failure, sessions};
use crate::output::{now_ns, ns_to_rfc3339, print_json, say};

/// The session does not exist: what `show`, `delete` and `locks show` report.
pub fn not_found(t: &SessionArgs) -> Failure {
    Failure::NotFound(format!("session {} of user {} does not exist", t.session, t.user))
}

pub fn run(cmd: SessionsCommand) -> Result<(), Failure> {
    match cmd {
        SessionsCommand::Create { user, session } => {
            let s = sessions::get_or_create(&user, session.as_deref()).map_err(failure)?;
            say!("{}", s.session_id)?;
        }
        SessionsCommand::List { user, filter, order_by, limit, offset, json } => {
            let listing = logic::session_listing(&filter, &order_by)?;
            let query = sessions::SessionQuery {
                user_id: user,
                filter: listing.filter,
                order_by: listing.order_by,
                limit,
                offset,
            };
            let sessions = sessions::list_sessions(&query)
                .map_err(failure)?
                .into_iter()
                .map(Session::from_wit)
                .collect::<Result<Vec<_>, _>>()?;
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
            let Some(s) = sessions::get(user, session).map_err(failure)? else {
                return Err(not_found(&target));
            };
            let s = Session::from_wit(s)?;
            let agents: Vec<Agent> =
                sessions::list_agents(user, session).map_err(failure)?.into_iter().map(Agent::from).collect();
            let locks = logic::session_locks(user, session)?;
            if json {
                #[derive(Serialize)]
                struct Lock<'a> {
                    agent_id: &'a str,
                    #[serde(flatten)]
                    lease: &'a Lease,
                }
                #[derive(Serialize)]
                struct Shown<'a> {
                    #[serde(flatten)]
                    session: &'a Session,
                    agents: &'a [Agent],
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
                let now = now_ns();
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
            if !sessions::delete(&target.user, &target.session).map_err(failure)? {
                return Err(not_found(&target));
            }
            say!("deleted {}", target.session)?;
        }
    }
    Ok(())
}
