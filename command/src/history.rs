//! `history append|show`.

use nexau_session_message::Message;

use crate::args::{AgentArgs, HistoryCommand, SessionArgs};
use crate::failure::Failure;
use crate::logic::{AgentRef, failure, history, sessions};
use crate::output::{print_json, say};
use crate::sessions::not_found;

/// The most JSON one page of a load carries (as the native engine asks).
const PAGE_BYTES: u32 = 4 << 20;

/// How often a load starts again when a `replace` lands between its pages.
const LOAD_ATTEMPTS: u32 = 8;

pub fn run(cmd: HistoryCommand) -> Result<(), Failure> {
    match cmd {
        HistoryCommand::Append { target, role, text, idempotency_key, .. } => {
            let text =
                text.ok_or_else(|| Failure::Invalid("the message text was not loaded before the append".into()))?;
            let agent = ensure(&target)?;
            let messages = serde_json::to_string(&[Message::from_text(role, text)])
                .map_err(|e| Failure::Invalid(format!("the message cannot be written as JSON: {e}")))?;
            let options = history::WriteOptions { run_id: None, idempotency_key, fence: None };
            let receipt = history::write(&agent, &history::Action::Append(messages), &options).map_err(failure)?;
            let how = if receipt.stored { "stored" } else { "already stored" };
            say!("{} seq={} {how}", receipt.action_id, receipt.seq)?;
        }
        HistoryCommand::Show { target, limit, json } => {
            let messages: Vec<Message> = match existing(&target)? {
                Some(agent) => load(&agent, limit)?,
                None => Vec::new(),
            };
            if json {
                print_json(&messages)?;
            } else {
                for m in &messages {
                    let role = serde_json::to_value(m.role).map_err(|e| Failure::Storage(e.to_string()))?;
                    say!("{}: {}", role.as_str().unwrap_or("?"), m.text())?;
                }
            }
        }
    }
    Ok(())
}

/// The agent, creating the session and the agent when missing (as a run does).
fn ensure(t: &AgentArgs) -> Result<AgentRef, Failure> {
    let session = sessions::get_or_create(&t.user, Some(&t.session)).map_err(failure)?;
    let agent = sessions::ensure_agent(&t.user, &session.session_id, t.agent.as_deref(), "main").map_err(failure)?;
    Ok(AgentRef { user_id: agent.user_id, session_id: agent.session_id, agent_id: agent.agent_id })
}

/// The agent if its session exists, without creating anything; `None` when
/// the session has no such agent yet.
fn existing(t: &AgentArgs) -> Result<Option<AgentRef>, Failure> {
    let Some(session) = sessions::get(&t.user, &t.session).map_err(failure)? else {
        return Err(not_found(&SessionArgs { user: t.user.clone(), session: t.session.clone() }));
    };
    let agent_id = t.agent.clone().or(session.root_agent_id);
    Ok(agent_id.map(|agent_id| AgentRef { user_id: t.user.clone(), session_id: t.session.clone(), agent_id }))
}

/// The conversation (the newest `last` messages), page by page, starting
/// again when a `replace` lands between two pages.
fn load(agent: &AgentRef, last: Option<u32>) -> Result<Vec<Message>, Failure> {
    let mut attempts = 0;
    'again: loop {
        let mut start = last.map_or(history::PageStart::Beginning, history::PageStart::Last);
        let mut messages: Vec<Message> = Vec::new();
        loop {
            let page = match history::load_page(agent, start, PAGE_BYTES) {
                Err(e) if e.kind == crate::logic::ErrorKind::Conflict && attempts < LOAD_ATTEMPTS => {
                    attempts += 1;
                    continue 'again;
                }
                other => other.map_err(failure)?,
            };
            let page_messages: Vec<Message> = serde_json::from_str(&page.messages)
                .map_err(|e| Failure::Storage(format!("the stored history is not a list of messages: {e}")))?;
            messages.extend(page_messages);
            match page.next {
                Some(c) => start = history::PageStart::After(c),
                None => break,
            }
        }
        if let Some(n) = last.map(|n| n as usize)
            && messages.len() > n
        {
            messages.drain(..messages.len() - n);
        }
        return Ok(messages);
    }
}
