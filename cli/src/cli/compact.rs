//! `compact`: rewrites a JSONL store's table files with only their live rows.
//! On a backend without such files (SQLite, memory) it says there is nothing
//! to compact and exits 0.

use nexau_session::Engine;
use nexau_session::db_url::redact;

use super::exit;
use super::output::say;

pub async fn run(engine: Engine, db: &str) -> anyhow::Result<u8> {
    let Some(done) = engine.compact().await? else {
        say!("nothing to compact: {} keeps no append-only files (only jsonl:// stores are compacted)", redact(db))?;
        return Ok(exit::OK);
    };
    if done.is_empty() {
        say!("nothing to compact: every file holds only live rows")?;
    }
    for c in &done {
        say!(
            "{}\t{} -> {} records\t{} -> {} bytes",
            c.table,
            c.records_before,
            c.records_after,
            c.bytes_before,
            c.bytes_after
        )?;
    }
    Ok(exit::OK)
}
