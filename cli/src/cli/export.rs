//! `export [--user U] [--filter EXPR]`: sessions with everything that
//! belongs to them, in the portable format (`nexau_session::export_format`),
//! on stdout.

use std::io::Write;

use clap::Args;
use nexau_session::export_format::{header_line, push_session};
use nexau_session::storage::Filter;
use nexau_session::{Engine, Record, SessionModel, parse_filters};

use super::exit;
use super::output::OutputError;

/// Sessions read per storage query.
const PAGE: u64 = 200;

#[derive(Args)]
pub struct ExportArgs {
    /// Only this user's sessions.
    #[arg(long)]
    pub(super) user: Option<String>,
    /// PostgREST-style filter over the session columns (repeat to AND), e.g. updated_at.lt.2026-01-01T00:00:00Z
    #[arg(long)]
    pub(super) filter: Vec<String>,
}

pub async fn run(engine: Engine, args: ExportArgs) -> anyhow::Result<u8> {
    let mut filter = parse_filters(&args.filter, &engine.table_schema(SessionModel::TABLE)?)?;
    if let Some(user) = &args.user {
        filter = Filter::and([filter, Filter::eq("user_id", user.as_str())]);
    }
    let schemas = engine.table_schemas()?;
    write(header_line().as_bytes())?;
    let mut after: Option<(String, String)> = None;
    loop {
        let page = engine.sessions_page(&filter, after.as_ref().map(|(u, s)| (u.as_str(), s.as_str())), PAGE).await?;
        let mut out = Vec::new();
        for s in &page {
            // A session deleted since the page was read is simply not exported.
            if let Some(rows) = engine.session_rows(&s.user_id, &s.session_id).await? {
                push_session(&mut out, &schemas, &rows)?;
            }
        }
        write(&out)?;
        match page.last() {
            Some(last) if page.len() as u64 == PAGE => after = Some((last.user_id.clone(), last.session_id.clone())),
            _ => break,
        }
    }
    Ok(exit::OK)
}

fn write(bytes: &[u8]) -> Result<(), OutputError> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()?;
    Ok(())
}
