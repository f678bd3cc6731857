//! `history append|show`.

use std::path::PathBuf;

use clap::Subcommand;
use nexau_session::{Engine, Message, Role, WriteOptions};

use super::exit;
use super::output::{print_json, say};
use super::target::AgentArgs;

#[derive(Subcommand)]
pub enum HistoryCommand {
    /// Appends one message, creating the session and agent when missing (as a run does).
    #[command(group(clap::ArgGroup::new("source").required(true).args(["text", "text_file"])))]
    Append {
        #[command(flatten)]
        target: AgentArgs,
        /// user, assistant, tool or framework.
        #[arg(long)]
        role: Role,
        /// The message text; `-` reads it from stdin (for messages over the argument size limit).
        #[arg(long)]
        text: Option<String>,
        /// Reads the message text from this file (UTF-8).
        #[arg(long, value_name = "PATH")]
        text_file: Option<PathBuf>,
        /// A retried append with the same key is stored once.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Prints the agent's history, oldest first.
    Show {
        #[command(flatten)]
        target: AgentArgs,
        /// Only the newest N messages.
        #[arg(long)]
        limit: Option<u32>,
        /// One JSON array of messages on stdout.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(engine: Engine, cmd: HistoryCommand) -> anyhow::Result<u8> {
    match cmd {
        HistoryCommand::Append { target, role, text, idempotency_key, .. } => {
            let text = text.ok_or_else(|| anyhow::anyhow!("the message text was not loaded before the append"))?;
            let agent = target.ensure(&engine).await?;
            let options = WriteOptions { idempotency_key, ..WriteOptions::default() };
            let receipt = engine.append(&agent, &[Message::from_text(role, text)], &options).await?;
            let how = if receipt.stored { "stored" } else { "already stored" };
            say!("{} seq={} {how}", receipt.action_id, receipt.seq)?;
        }
        HistoryCommand::Show { target, limit, json } => {
            let messages: Vec<Message> = match target.existing(&engine).await? {
                Some(agent) => engine.load(&agent, limit).await?,
                None => Vec::new(),
            };
            if json {
                print_json(&messages)?;
            } else {
                for m in &messages {
                    let role = serde_json::to_value(m.role)?;
                    say!("{}: {}", role.as_str().unwrap_or("?"), m.text())?;
                }
            }
        }
    }
    Ok(exit::OK)
}
