//! `import FILE`: sessions from an export file (`export`'s output, or `-` for
//! stdin) into this store, each all or nothing; `import --from-nexau URL`: a
//! store written by NexAU (the Python implementation), its SQL tables or its
//! JSONL directory, through the library's NexAU import.
//!
//! The file is read twice: once before the database is opened, to check
//! every line (a bad one stops the import with exit 2 having written
//! nothing, or with `--on-error skip` leaves out just its session), and
//! once to write. A session already present with the same rows is left
//! alone, so importing twice changes nothing; one present with other rows is
//! a conflict (`--on-error` again says whether to stop there, exit 1, or go on).

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{ArgGroup, Args, ValueEnum};
use nexau_session::export_format::{BadSession, ExportReader};
use nexau_session::{Engine, Error, ImportOutcome, ImportSummary};

use super::exit;
use super::output::{print_json, report, say};
use super::progress;

#[derive(Args)]
#[command(group(ArgGroup::new("source").required(true).args(["file", "from_nexau"])))]
pub struct ImportArgs {
    /// An export file (what `export` writes), or `-` to read it from stdin (held in memory).
    pub(super) file: Option<PathBuf>,
    /// A NexAU store instead: sqlite+aiosqlite:///FILE, postgresql+asyncpg://…, mysql+aiomysql://…
    /// or jsonl:///DIR.
    #[arg(long, value_name = "URL")]
    pub(super) from_nexau: Option<String>,
    /// With --from-nexau: print the summary as one JSON document.
    #[arg(long, requires = "from_nexau")]
    json: bool,
    /// A session that cannot be imported (a malformed line, or already present with other rows):
    /// stop there, or skip it, report it on stderr and go on.
    #[arg(long, value_enum, default_value_t = OnError::Stop)]
    pub(super) on_error: OnError,
    /// Filled in by the check before the database is opened.
    #[arg(skip)]
    pub(super) checked: Option<Checked>,
}

impl From<OnError> for nexau_session::OnError {
    fn from(o: OnError) -> Self {
        match o {
            OnError::Stop => nexau_session::OnError::Stop,
            OnError::Skip => nexau_session::OnError::Skip,
        }
    }
}

/// What `--on-error` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnError {
    /// Stop at the first session that cannot be imported.
    Stop,
    /// Report it on stderr and go on with the others.
    Skip,
}

/// Where the export comes from.
#[derive(Clone)]
pub enum Input {
    /// A file, opened once per pass.
    File(PathBuf),
    /// Stdin, read whole.
    Bytes(Arc<Vec<u8>>),
}

impl Input {
    fn reader(&self) -> nexau_session::Result<Box<dyn BufRead + Send>> {
        match self {
            Input::File(path) => {
                let file = std::fs::File::open(path)
                    .map_err(|e| Error::Invalid(format!("{}: cannot open: {e}", path.display())))?;
                Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, file)))
            }
            Input::Bytes(bytes) => Ok(Box::new(std::io::Cursor::new(ArcBytes(bytes.clone())))),
        }
    }
}

struct ArcBytes(Arc<Vec<u8>>);

impl AsRef<[u8]> for ArcBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// The outcome of the first pass.
pub struct Checked {
    input: Input,
    bad: Vec<BadSession>,
    /// Sessions in the input, bad ones included.
    total: u64,
}

/// The first pass: reads the input and checks every line against the
/// declared tables, without opening the database.
pub async fn check(args: &mut ImportArgs) -> nexau_session::Result<()> {
    if let Some(url) = &args.from_nexau {
        return nexau_session::check_nexau_url(url);
    }
    let Some(path) = &args.file else {
        return Err(Error::Invalid("give the export file to import (or - for stdin)".into()));
    };
    let input = if path.as_os_str() == "-" {
        let bytes = super::stdin::read_all().await.map_err(|e| Error::Invalid(format!("cannot read stdin: {e}")))?;
        Input::Bytes(Arc::new(bytes))
    } else {
        if path.is_dir() {
            return Err(Error::Invalid(format!("{}: is a directory, not an export file", path.display())));
        }
        Input::File(path.clone())
    };
    let schemas = Engine::declared_schemas().await?;
    let (mut bad, mut total) = (Vec::new(), 0u64);
    for session in ExportReader::new(input.reader()?, schemas)? {
        total += 1;
        match session {
            // Bad ids are refused by the import itself; stopping for them
            // here keeps a stopped import from writing anything.
            Ok(rows) if args.on_error == OnError::Stop => {
                nexau_session::ids::check("user_id", &rows.user_id)?;
                nexau_session::ids::check("session_id", &rows.session_id)?;
            }
            Ok(_) => {}
            Err(b) => bad.push(b),
        }
    }
    if let (OnError::Stop, Some(first)) = (args.on_error, bad.first()) {
        let more = match bad.len() {
            1 => String::new(),
            n => format!(" (and {} more bad sessions)", n - 1),
        };
        return Err(Error::Invalid(format!(
            "{}{more}; nothing imported (--on-error skip imports the other sessions)",
            first.why
        )));
    }
    args.checked = Some(Checked { input, bad, total });
    Ok(())
}

pub async fn run(engine: Engine, args: ImportArgs) -> anyhow::Result<u8> {
    if let Some(url) = &args.from_nexau {
        let summary = engine.import_nexau(url, args.on_error.into()).await?;
        if args.json {
            print_json(&summary)?;
        } else {
            print_nexau_summary(&summary)?;
        }
        return Ok(exit::OK);
    }
    let Some(Checked { input, bad, total }) = args.checked else {
        anyhow::bail!("import: the input was not checked");
    };
    for b in &bad {
        report(&format!("skipped: {}", b.why));
    }
    let mut sessions = ExportReader::new(input.reader()?, engine.table_schemas()?)?;
    let bar = progress::bar(total, "sessions imported");
    let (mut inserted, mut rows, mut unchanged, mut skipped) = (0u64, 0u64, 0u64, bad.len() as u64);
    let outcome = loop {
        let Some(next) = sessions.next() else { break Ok(()) };
        bar.inc(1);
        let Ok(session) = next else { continue }; // reported above
        match engine.import_session(&session).await {
            Ok(ImportOutcome::Inserted) => {
                inserted += 1;
                rows += session.row_count();
            }
            Ok(ImportOutcome::Unchanged) => unchanged += 1,
            Err(e @ (Error::Conflict(_) | Error::Invalid(_))) if args.on_error == OnError::Skip => {
                report(&format!("skipped: {e}"));
                skipped += 1;
            }
            Err(e) => break Err(e),
        }
    };
    bar.finish_and_clear();
    say!("imported {inserted} sessions ({rows} rows); {unchanged} already present; {skipped} skipped")?;
    outcome?;
    Ok(exit::OK)
}

fn print_nexau_summary(s: &ImportSummary) -> anyhow::Result<()> {
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
