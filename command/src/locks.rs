//! `locks show`.

use serde::Serialize;

use crate::args::{LocksCommand, SessionArgs};
use crate::failure::Failure;
use crate::logic::{self, failure, sessions};
use crate::output::{now_ns, ns_to_rfc3339, print_json, say};
use crate::sessions::not_found;

/// One lock as `locks show` prints it.
#[derive(Serialize)]
struct LockView {
    user_id: String,
    session_id: String,
    agent_id: String,
    held: bool,
    holder_id: Option<String>,
    run_id: Option<String>,
    token: u64,
    acquired_at: String,
    expires_at: String,
}

pub fn run(cmd: LocksCommand) -> Result<(), Failure> {
    let LocksCommand::Show { target, json } = cmd;
    let SessionArgs { user, session } = &target;
    if sessions::get(user, session).map_err(failure)?.is_none() {
        return Err(not_found(&target));
    }
    let now = now_ns();
    let locks: Vec<LockView> = logic::session_locks(user, session)?
        .into_iter()
        .map(|(agent_id, l)| LockView {
            user_id: user.clone(),
            session_id: session.clone(),
            agent_id,
            held: l.is_held_at(now),
            holder_id: l.holder_id.clone(),
            run_id: l.run_id.clone(),
            token: l.token,
            acquired_at: ns_to_rfc3339(l.acquired_at_ns),
            expires_at: ns_to_rfc3339(l.expires_at_ns),
        })
        .collect();
    if json {
        print_json(&locks)?;
    } else if locks.is_empty() {
        say!("no locks in session {session}")?;
    } else {
        for l in &locks {
            match (&l.holder_id, l.held) {
                (Some(h), true) => say!("{}\theld by {h}\ttoken={}\tuntil {}", l.agent_id, l.token, l.expires_at)?,
                _ => say!("{}\tfree\ttoken={}", l.agent_id, l.token)?,
            }
        }
    }
    Ok(())
}
