//! `import --from-nexau URL`: brings a store written by NexAU (the Python
//! implementation) into this one.

use clap::{Args, ValueEnum};
use nexau_session::{Engine, ImportSummary, OnError};

use super::exit;
use super::output::{print_json, say};

/// What to do with a row that cannot be imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnErrorArg {
    /// Stop at the first one (a row found malformed while reading stops the import before anything is written).
    Stop,
    /// Report it, skip it and import the rest.
    Skip,
}

#[derive(Args)]
pub struct ImportArgs {
    /// The NexAU store: sqlite+aiosqlite:///FILE, postgresql+asyncpg://…, mysql+aiomysql://… or jsonl:///DIR.
    #[arg(long, value_name = "URL", required = true)]
    pub(super) from_nexau: String,
    /// What to do with a row that cannot be imported.
    #[arg(long, value_enum, default_value = "stop")]
    on_error: OnErrorArg,
    /// Print the summary as one JSON document.
    #[arg(long)]
    json: bool,
}

pub async fn run(engine: Engine, args: ImportArgs) -> anyhow::Result<u8> {
    let on_error = match args.on_error {
        OnErrorArg::Stop => OnError::Stop,
        OnErrorArg::Skip => OnError::Skip,
    };
    let summary = engine.import_nexau(&args.from_nexau, on_error).await?;
    if args.json {
        print_json(&summary)?;
    } else {
        print_summary(&summary)?;
    }
    Ok(exit::OK)
}

fn print_summary(s: &ImportSummary) -> anyhow::Result<()> {
    for p in &s.problems {
        say!("not imported: {p}")?;
    }
    say!(
        "imported {} actions ({} already here); sessions: {} created, {} updated; agents: {} created; \
         {} lock rows skipped (locks are not carried over); {} rows not imported",
        s.actions_imported,
        s.actions_already_present,
        s.sessions_created,
        s.sessions_updated,
        s.agents_created,
        s.locks_skipped,
        s.problems.len()
    )?;
    Ok(())
}
