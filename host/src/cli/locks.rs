//! `locks hold|show`.

use std::io::Write;
use std::time::Duration;

use clap::Subcommand;
use nexau_session::{BusyPolicy, Engine, Error, SessionManager};
use serde::Serialize;
use tokio::io::AsyncReadExt;

use super::output::{ns_to_rfc3339, print_json};
use super::target::AgentArgs;
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
        /// The user id.
        #[arg(long)]
        user: String,
        /// The session id.
        #[arg(long)]
        session: String,
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

pub async fn run(engine: Engine, cmd: LocksCommand) -> anyhow::Result<u8> {
    match cmd {
        LocksCommand::Hold { target, ttl, heartbeat, wait } => hold(engine, target, ttl, heartbeat, wait).await,
        LocksCommand::Show { user, session, json } => {
            let now = engine.clock().now_ns();
            let locks: Vec<LockView> = engine
                .list_locks(&user, &session)
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
                println!("no locks in session {session}");
            } else {
                for l in &locks {
                    match (&l.holder_id, l.held) {
                        (Some(h), true) => {
                            println!("{}\theld by {h}\ttoken={}\tuntil {}", l.agent_id, l.token, l.expires_at)
                        }
                        _ => println!("{}\tfree\ttoken={}", l.agent_id, l.token),
                    }
                }
            }
            Ok(exit::OK)
        }
    }
}

async fn hold(
    engine: Engine,
    target: AgentArgs,
    ttl: Duration,
    heartbeat: Option<Duration>,
    wait: Option<Duration>,
) -> anyhow::Result<u8> {
    let manager = SessionManager::builder(engine.clone())
        .lock_ttl(ttl)
        .heartbeat_interval(heartbeat.unwrap_or(ttl / 3))
        .on_busy(wait.map_or(BusyPolicy::Fail, BusyPolicy::Wait))
        .build()?;
    let agent = target.ensure(&engine).await?;
    let lock = manager.acquire(&agent, None).await?;
    println!("token={}", lock.token());
    std::io::stdout().flush()?;

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let stdin_closed = async {
        let mut stdin = tokio::io::stdin();
        let mut buf = [0u8; 256];
        while matches!(stdin.read(&mut buf).await, Ok(n) if n > 0) {}
    };
    tokio::select! {
        _ = stdin_closed => {}
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
        _ = lock.lost().cancelled() => {
            return Err(Error::LockExpired(format!("the lock on {agent} was lost (token {})", lock.token())).into());
        }
    }
    lock.release().await?;
    Ok(exit::OK)
}
