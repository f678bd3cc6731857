//! `chat`: one agent run with the offline model.

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use nexau_session::{Agent, BusyPolicy, Engine, OfflineModel, SessionManager};

use super::output::say;
use super::target::AgentArgs;
use super::{exit, parse_duration};

#[derive(Args)]
pub struct ChatArgs {
    #[command(flatten)]
    pub(super) target: AgentArgs,
    /// Wait up to this long for the agent's lock (default: fail at once with exit 3).
    #[arg(long, value_parser = parse_duration)]
    pub(super) wait: Option<Duration>,
    /// The lock's TTL.
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    pub(super) ttl: Duration,
    /// The heartbeat interval (default: a third of the TTL).
    #[arg(long, value_parser = parse_duration)]
    pub(super) heartbeat: Option<Duration>,
    /// The user's message.
    message: String,
}

pub async fn run(engine: Engine, args: ChatArgs) -> anyhow::Result<u8> {
    let policy = match args.wait {
        Some(d) => BusyPolicy::Wait(d),
        None => BusyPolicy::Fail,
    };
    let manager = SessionManager::builder(engine)
        .lock_ttl(args.ttl)
        .heartbeat_interval(args.heartbeat.unwrap_or(args.ttl / 3))
        .on_busy(policy)
        .build()?;
    let t = &args.target;
    let mut agent =
        Agent::open(Arc::new(OfflineModel), &manager, &t.user, Some(&t.session), t.agent.as_deref(), "main").await?;
    let reply = agent.run(&args.message).await?;
    say!("{reply}")?;
    Ok(exit::OK)
}
