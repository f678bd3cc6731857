//! `cleanup`: deletes sessions not updated for a while, with everything that
//! belongs to them.

use std::io::IsTerminal;
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use nexau_session::storage::{Filter, Value};
use nexau_session::{Engine, SessionModel};

use super::output::say;
use super::{exit, parse_duration};

#[derive(Args)]
pub struct CleanupArgs {
    /// Sessions whose last update is older than this (e.g. 30d, 12h).
    #[arg(long, value_parser = parse_duration)]
    older_than: Duration,
    /// Only this user's sessions.
    #[arg(long)]
    pub(super) user: Option<String>,
    /// Print what would be deleted; delete nothing.
    #[arg(long)]
    pub(super) dry_run: bool,
}

pub async fn run(engine: Engine, args: CleanupArgs) -> anyhow::Result<u8> {
    // A cutoff before 1970 is held at 1970-01-01T00:00:00Z: no stored time is
    // older than that, so nothing is deleted.
    let cutoff = engine.clock().timestamp().saturating_sub(args.older_than);
    let mut filter = vec![Filter::lt("updated_at", Value::from(cutoff))];
    if let Some(user) = &args.user {
        filter.push(Filter::eq("user_id", user.as_str()));
    }
    let stale = engine.find_many::<SessionModel>(Filter::And(filter)).await?;
    if args.dry_run {
        for s in &stale {
            say!("would delete {}\t{}\tupdated {}", s.user_id, s.session_id, s.updated_at)?;
        }
        say!(
            "{} sessions older than {} (dry run: nothing deleted)",
            stale.len(),
            humantime::format_duration(args.older_than)
        )?;
        return Ok(exit::OK);
    }
    let bar =
        if std::io::stderr().is_terminal() { ProgressBar::new(stale.len() as u64) } else { ProgressBar::hidden() };
    bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} sessions deleted").expect("valid template"));
    let mut deleted = 0u64;
    for s in &stale {
        // Deleted only while unchanged since the scan: a session that became
        // active meanwhile (an append moves `updated_at`) keeps its history.
        if engine.delete_session_if_unchanged(&s.user_id, &s.session_id, &s.updated_at).await? {
            deleted += 1;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    say!("deleted {deleted} sessions older than {}", humantime::format_duration(args.older_than))?;
    Ok(exit::OK)
}
