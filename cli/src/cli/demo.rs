//! `demo`: the main job. A scripted conversation over several runs, each run
//! on a freshly opened engine and agent (nothing shared in memory between
//! runs but the database), so the second run's answer can only come from the
//! stored history. Then it prints where the data is.

use std::path::Path;

use clap::Args;
use nexau_session::db_url::redact;
use nexau_session::{Agent, DbUrl, Engine, OfflineModel, SessionManager};

use super::exit;
use super::output::say;

#[derive(Args)]
pub struct DemoArgs {
    /// The user id to talk as.
    #[arg(long, default_value = "demo_user")]
    pub(super) user: String,
}

const SCRIPT: [&str; 3] = ["Hi, my name is Ada.", "What is my name?", "What did I say first?"];

pub async fn run(db: &str, component: Option<&Path>, args: DemoArgs) -> anyhow::Result<u8> {
    let url = DbUrl::parse(db)?;
    say!("nexau-session demo: {} turns, each on a freshly opened engine (like a new process)", SCRIPT.len())?;
    say!("model: {}", OfflineModel::LABEL)?;
    say!("database: {}\n", redact(db))?;

    // memory:// lives as long as its engine, so there the runs share one.
    let shared = match url.backend_name() {
        "memory" => Some(super::open(db, component).await?),
        _ => None,
    };
    let mut session_id: Option<String> = None;
    for (turn, text) in SCRIPT.iter().enumerate() {
        let engine = match &shared {
            Some(e) => e.clone(),
            None => super::open(db, component).await?,
        };
        let manager = SessionManager::builder(engine).build()?;
        let mut agent = Agent::new(OfflineModel, &manager, &args.user, session_id.as_deref()).await?;
        let remembered = agent.history().await?.len();
        let reply = agent.run(text).await?;
        if turn == 0 {
            say!("session: {}\n", agent.session_id())?;
        }
        say!("run {} (history loaded: {remembered} messages)", turn + 1)?;
        say!("  user:      {text}")?;
        say!("  assistant: {reply}\n")?;
        session_id = Some(agent.session_id().to_owned());
    }

    let session = session_id.expect("the script has turns");
    let engine: Engine = match &shared {
        Some(e) => e.clone(),
        None => super::open(db, component).await?,
    };
    let agents = engine.list_agents(&args.user, &session).await?;
    let stored: usize = match agents.iter().find(|a| a.is_root) {
        Some(a) => engine.load(&a.agent_ref(), None).await?.len(),
        None => 0,
    };
    say!("stored: {stored} messages in session {session} of user {}", args.user)?;
    match (url.backend_name(), url.path()) {
        ("sqlite", Some(path)) => say!("data:   SQLite file {}", absolute(path))?,
        ("memory", _) => say!("data:   process memory (gone when the demo exits)")?,
        (_, Some(path)) => say!("data:   {} directory {}", url.backend_name(), absolute(path))?,
        _ => say!("data:   {url}")?,
    }
    let db_flag = if db == "sqlite:///sessions.db" { String::new() } else { format!(" --db '{}'", redact(db)) };
    say!(
        "see it: nexau-session{db_flag} history show --user {} --session {session}\n        nexau-session{db_flag} sessions list --user {} --json",
        args.user,
        args.user
    )?;
    Ok(exit::OK)
}

fn absolute(path: &Path) -> String {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()).display().to_string()
}
