//! The model an [`Agent`](crate::Agent) runs, behind a trait, and the offline
//! deterministic model the demo and tests use.

use async_trait::async_trait;

use crate::{Message, Result, Role};

/// A chat model: given the conversation so far, it answers with new messages.
#[async_trait]
pub trait ChatModel: Send + Sync {
    /// A name for logs.
    fn name(&self) -> &str;

    /// The messages that answer `history` (whose last message is the user's).
    async fn respond(&self, history: &[Message]) -> Result<Vec<Message>>;
}

/// An OFFLINE, DETERMINISTIC stand-in for a language model (no network, no
/// LLM): it answers from the loaded history only, so a reply shows what the
/// agent remembers. It recalls a name the user gave ("my name is …") and the
/// user's earlier messages, and counts the turns.
///
/// ```
/// # tokio_test_block(async {
/// use nexau_session::{ChatModel, Message, OfflineModel, Role};
/// let history = vec![
///     Message::from_text(Role::User, "Hi, my name is Ada."),
///     Message::from_text(Role::Assistant, "Hello Ada!"),
///     Message::from_text(Role::User, "What is my name?"),
/// ];
/// let reply = OfflineModel.respond(&history).await.unwrap();
/// assert!(reply[0].text().contains("Your name is Ada"));
/// # });
/// # fn tokio_test_block<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct OfflineModel;

impl OfflineModel {
    /// The label shown wherever this model's replies are printed.
    pub const LABEL: &'static str = "offline deterministic model (no LLM)";

    /// The reply to `history`.
    pub fn reply(history: &[Message]) -> String {
        let users: Vec<String> = history.iter().filter(|m| m.role == Role::User).map(Message::text).collect();
        let Some((latest, earlier)) = users.split_last() else {
            return "Hello! I have no messages yet.".to_owned();
        };
        let name = earlier.iter().chain(std::iter::once(latest)).rev().find_map(|t| name_in(t));
        let turn = users.len();
        let lower = latest.to_lowercase();
        let mut reply = if lower.contains("my name") && lower.contains('?') {
            match name {
                Some(n) => format!("Your name is {n}."),
                None => "You have not told me your name yet.".to_owned(),
            }
        } else if let Some(n) = name_in(latest) {
            format!("Nice to meet you, {n}!")
        } else if lower.contains("what did i") || lower.contains("remember") {
            match earlier.first() {
                Some(first) => format!("You first said: \"{first}\"."),
                None => "This is the first thing you told me.".to_owned(),
            }
        } else {
            format!("You said: \"{latest}\".")
        };
        reply.push_str(&format!(" (turn {turn}; {} earlier messages in this session)", history.len() - 1));
        reply
    }
}

/// The name in "my name is X" / "I am X" / "I'm X", if any.
fn name_in(text: &str) -> Option<String> {
    let lower = text.to_lowercase();
    for marker in ["my name is ", "i am ", "i'm "] {
        if let Some(at) = lower.find(marker) {
            let rest = &text[at + marker.len()..];
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '-').collect();
            if !name.is_empty() && name.chars().next().is_some_and(char::is_uppercase) {
                return Some(name);
            }
        }
    }
    None
}

#[async_trait]
impl ChatModel for OfflineModel {
    fn name(&self) -> &str {
        Self::LABEL
    }

    async fn respond(&self, history: &[Message]) -> Result<Vec<Message>> {
        Ok(vec![Message::from_text(Role::Assistant, OfflineModel::reply(history))])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recalls_a_name_from_an_earlier_turn() {
        let h = vec![
            Message::from_text(Role::User, "Hi, my name is Ada."),
            Message::from_text(Role::Assistant, "Nice to meet you, Ada!"),
            Message::from_text(Role::User, "What is my name?"),
        ];
        assert!(OfflineModel::reply(&h).starts_with("Your name is Ada."));
        assert!(OfflineModel::reply(&h[2..]).starts_with("You have not told me your name yet."));
    }

    #[test]
    fn is_deterministic() {
        let h = vec![Message::from_text(Role::User, "hello")];
        assert_eq!(OfflineModel::reply(&h), OfflineModel::reply(&h));
        assert_eq!(OfflineModel::reply(&h), "You said: \"hello\". (turn 1; 0 earlier messages in this session)");
    }
}
