//! `cleanup`: deletes sessions not updated for a while, with everything that
//! belongs to them, a page at a time.
//!
//! Sessions are read in keyset pages of [`PAGE`] in `(user_id,
//! session_id)` order, and each page is deleted in one atomic batch that
//! re-checks every session: still not updated since it was read, and no agent
//! lock of it held now. A session failing either check is kept (the page is
//! then retried a session per batch). An interrupted cleanup has deleted
//! whole pages or sessions only; running it again goes on with the rest.

use std::time::Duration;

use clap::Args;
use nexau_session::storage::{Filter, Value};
use nexau_session::{AgentLockModel, Engine, SessionModel, StaleSession};

use super::output::say;
use super::{exit, parse_duration, progress};

/// Sessions read, and deleted, per batch.
const PAGE: u64 = 500;

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
    let mut filter = Filter::lt("updated_at", Value::from(cutoff));
    if let Some(user) = &args.user {
        filter = Filter::and([filter, Filter::eq("user_id", user.as_str())]);
    }
    let age = humantime::format_duration(args.older_than);
    let total = engine.count::<SessionModel>(filter.clone()).await?;
    let bar = progress::bar(total, if args.dry_run { "sessions looked at" } else { "sessions done" });
    let (mut deleted, mut kept) = (0u64, 0u64);
    let mut after: Option<(String, String)> = None;
    loop {
        let key = after.as_ref().map(|(u, s)| (u.as_str(), s.as_str()));
        let page = engine.sessions_page(&filter, key, PAGE).await?;
        let now = engine.clock().now_ns();
        if args.dry_run {
            for s in &page {
                if lock_held(&engine, s, now).await? {
                    kept += 1;
                } else {
                    bar.suspend(|| say!("would delete {}\t{}\tupdated {}", s.user_id, s.session_id, s.updated_at))?;
                    deleted += 1;
                }
            }
        } else {
            let stale: Vec<StaleSession> = page
                .iter()
                .map(|s| StaleSession {
                    user_id: s.user_id.clone(),
                    session_id: s.session_id.clone(),
                    updated_at: s.updated_at.clone(),
                })
                .collect();
            for gone in engine.delete_idle_sessions(&stale, now).await? {
                if gone { deleted += 1 } else { kept += 1 }
            }
        }
        bar.inc(page.len() as u64);
        match page.last() {
            Some(last) if page.len() as u64 == PAGE => after = Some((last.user_id.clone(), last.session_id.clone())),
            _ => break,
        }
    }
    bar.finish_and_clear();
    if args.dry_run {
        say!(
            "{deleted} sessions older than {age} (dry run: nothing deleted); {kept} would be kept (an agent lock held)"
        )?;
    } else {
        say!(
            "deleted {deleted} sessions older than {age}; kept {kept} (an agent lock held, or written to since the scan)"
        )?;
    }
    Ok(exit::OK)
}

/// Whether an agent lock of `s` is held at `now` (ns).
async fn lock_held(engine: &Engine, s: &SessionModel, now: i64) -> anyhow::Result<bool> {
    let key = Filter::and([Filter::eq("user_id", s.user_id.as_str()), Filter::eq("session_id", s.session_id.as_str())]);
    let locks = engine.find_many::<AgentLockModel>(key).await?;
    Ok(locks.iter().any(|l| l.holder_id.is_some() && l.expires_at_ns > now))
}
