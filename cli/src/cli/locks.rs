//! `locks hold|show`.

use std::time::Duration;

use clap::Subcommand;
use nexau_session::{BusyPolicy, Engine, Error, SessionManager};
use serde::Serialize;

use super::output::{ns_to_rfc3339, print_json, say};
use super::signals::Shutdown;
use super::stdin;
use super::target::{AgentArgs, SessionArgs};
use super::{exit, parse_duration};

#[derive(Subcommand)]
pub enum LocksCommand {
    /// Takes the agent's lock, prints `token=N`, keeps it alive by heartbeat
    /// until stdin closes or SIGTERM/SIGINT, then releases it.
    Hold {
        #[command(flatten)]
        target: AgentArgs,
        /// The lock's TTL.
        #[arg(long, value_parser = parse_duration, default_value = "30s")]
        ttl: Duration,
        /// The heartbeat interval (default: a third of the TTL).
        #[arg(long, value_parser = parse_duration)]
        heartbeat: Option<Duration>,
        /// Wait up to this long for the lock (default: fail at once with exit 3).
        #[arg(long, value_parser = parse_duration)]
        wait: Option<Duration>,
    },
    /// Shows the locks of a session.
    Show {
        #[command(flatten)]
        target: SessionArgs,
        /// One JSON array on stdout.
        #[arg(long)]
        json: bool,
    },
}

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

pub async fn run(engine: Engine, cmd: LocksCommand, shutdown: &Shutdown) -> anyhow::Result<u8> {
    match cmd {
        LocksCommand::Hold { target, ttl, heartbeat, wait } => {
            hold(engine, target, ttl, heartbeat, wait, shutdown).await
        }
        LocksCommand::Show { target, json } => {
            let SessionArgs { user, session } = &target;
            if engine.get_session(user, session).await?.is_none() {
                return Err(target.not_found().into());
            }
            let now = engine.clock().now_ns();
            let locks: Vec<LockView> = engine
                .list_locks(user, session)
                .await?
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
                        (Some(h), true) => {
                            say!("{}\theld by {h}\ttoken={}\tuntil {}", l.agent_id, l.token, l.expires_at)?
                        }
                        _ => say!("{}\tfree\ttoken={}", l.agent_id, l.token)?,
                    }
                }
            }
            Ok(exit::OK)
        }
    }
}

/// Takes the lock, prints `token=N`, and keeps it until stdin closes or a
/// signal asks to stop (release, exit 0), or until it is lost (exit 4 at once).
async fn hold(
    engine: Engine,
    target: AgentArgs,
    ttl: Duration,
    heartbeat: Option<Duration>,
    wait: Option<Duration>,
    shutdown: &Shutdown,
) -> anyhow::Result<u8> {
    let manager = SessionManager::builder(engine.clone())
        .lock_ttl(ttl)
        .heartbeat_interval(heartbeat.unwrap_or(ttl / 3))
        .on_busy(wait.map_or(BusyPolicy::Fail, BusyPolicy::Wait))
        .build()?;
    let taking = async {
        let agent = target.ensure(&engine).await?;
        anyhow::Ok(manager.acquire(&agent, None).await?)
    };
    let lock = tokio::select! {
        biased;
        lock = taking => lock?,
        _ = shutdown.requested().cancelled() => return Err(shutdown.interrupted().into()),
    };
    if let Err(e) = say!("token={}", lock.token()) {
        // Nobody can learn the token: give the lock back rather than hold it blind.
        let after = match lock.release().await {
            Ok(()) => "the lock was released",
            Err(_) => "the lock expires after its TTL",
        };
        return Err(anyhow::anyhow!("cannot write the token: {e}; {after}"));
    }
    let stdin_closed = stdin::closed();
    tokio::select! {
        _ = stdin_closed => {}
        _ = shutdown.requested().cancelled() => {}
        _ = lock.lost().cancelled() => {
            return Err(Error::LockExpired(format!("the lock on {} was lost (token {})", lock.agent(), lock.token())).into());
        }
    }
    lock.release().await?;
    Ok(exit::OK)
}
