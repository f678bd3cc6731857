//! `migrate --to URL`: copies every session of `--db`, with everything that
//! belongs to it, into the store at URL (any backend to any backend), each
//! session all or nothing, then checks that every table holds as many rows
//! there as here.
//!
//! A session already in the target with the same rows is left alone, so an
//! interrupted migration is finished by running it again; one there with
//! other rows stops the migration (exit 1). The count check fails (exit 1,
//! naming each table that differs) when the target held other sessions
//! before, or when either store was written to during the migration.

use clap::Args;
use nexau_session::db_url::redact;
use nexau_session::storage::Filter;
use nexau_session::{Engine, ImportOutcome, SessionModel};

use super::exit;
use super::output::say;
use super::progress;

/// Sessions read per storage query.
const PAGE: u64 = 200;

#[derive(Args)]
pub struct MigrateArgs {
    /// The target store's URL (any backend; its tables are created when missing).
    #[arg(long)]
    pub(super) to: String,
}

/// Copies `source` into `--to`, whose engine runs `component` too when given.
pub async fn run(source: Engine, args: MigrateArgs, component: Option<&std::path::Path>) -> anyhow::Result<u8> {
    let target = super::open(&args.to, component).await?;
    let total = source.count::<SessionModel>(Filter::All).await?;
    let bar = progress::bar(total, "sessions migrated");
    let (mut inserted, mut unchanged) = (0u64, 0u64);
    let mut after: Option<(String, String)> = None;
    loop {
        let key = after.as_ref().map(|(u, s)| (u.as_str(), s.as_str()));
        let page = source.sessions_page(&Filter::All, key, PAGE).await?;
        for s in &page {
            let Some(rows) = source.session_rows(&s.user_id, &s.session_id).await? else { continue };
            match target.import_session(&rows).await? {
                ImportOutcome::Inserted => inserted += 1,
                ImportOutcome::Unchanged => unchanged += 1,
            }
            bar.inc(1);
        }
        match page.last() {
            Some(last) if page.len() as u64 == PAGE => after = Some((last.user_id.clone(), last.session_id.clone())),
            _ => break,
        }
    }
    bar.finish_and_clear();
    let mut counts = Vec::new();
    let mut differ = Vec::new();
    for schema in source.table_schemas()? {
        let (here, there) = (source.count_rows(&schema.name).await?, target.count_rows(&schema.name).await?);
        counts.push(format!("{} {here}", schema.name));
        if here != there {
            differ.push(format!("{}: {here} here, {there} in the target", schema.name));
        }
    }
    say!(
        "migrated {} sessions to {} ({inserted} copied, {unchanged} already there)",
        inserted + unchanged,
        redact(&args.to)
    )?;
    if !differ.is_empty() {
        anyhow::bail!(
            "count check failed: {} (was the target empty, and were both stores left alone meanwhile?)",
            differ.join("; ")
        );
    }
    say!("count check passed: {}", counts.join(", "))?;
    Ok(exit::OK)
}
