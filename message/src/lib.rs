//! Conversation messages, in the shape NexAU (the Python implementation) uses:
//! `{id, role, content: [blocks], metadata, created_at}`. Shared by the host
//! library (`nexau-session`, which re-exports them) and the command
//! component, so both print a history the same way.

#![warn(missing_docs)]

use serde::{Deserialize, Serialize};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// System prompt (never stored).
    System,
    /// The user.
    User,
    /// The agent framework (notes injected by the host).
    Framework,
    /// The model.
    Assistant,
    /// A tool's result.
    Tool,
}

impl Role {
    /// The role's name, as messages spell it in JSON (the inverse of its
    /// `FromStr`).
    ///
    /// ```
    /// use nexau_session_message::Role;
    /// assert_eq!(Role::Assistant.as_str(), "assistant");
    /// assert_eq!(Role::Tool.as_str().parse::<Role>(), Ok(Role::Tool));
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Framework => "framework",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

/// A role name that is none of `user`, `assistant`, `tool`, `framework`, `system`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnknownRole(pub String);

impl std::str::FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "system" => Ok(Role::System),
            "user" => Ok(Role::User),
            "framework" => Ok(Role::Framework),
            "assistant" => Ok(Role::Assistant),
            "tool" => Ok(Role::Tool),
            other => {
                Err(UnknownRole(format!("unknown role {other:?} (use user, assistant, tool, framework or system)")))
            }
        }
    }
}

/// One block of a message's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    /// Plain text.
    Text {
        /// The text.
        text: String,
    },
    /// An image, by URL or inline base64.
    Image {
        /// Where the image is.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
        /// The image bytes, base64.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        base64: Option<String>,
        /// The image's MIME type.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mime_type: Option<String>,
    },
    /// The model's reasoning.
    Reasoning {
        /// The reasoning text.
        text: String,
        /// The provider's signature over it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<String>,
    },
    /// A tool call.
    ToolUse {
        /// Call id, matched by the result.
        id: String,
        /// Tool name.
        name: String,
        /// Arguments.
        input: serde_json::Value,
    },
    /// A tool's result.
    ToolResult {
        /// The call it answers.
        tool_use_id: String,
        /// The result (text or blocks).
        content: serde_json::Value,
        /// Whether the tool failed.
        #[serde(default)]
        is_error: bool,
    },
}

/// A conversation message.
///
/// ```
/// use nexau_session_message::{Message, Role};
/// let m = Message::from_text(Role::User, "Hello");
/// assert_eq!(m.text(), "Hello");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// `msg_{ULID}`; given by the session logic when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Who wrote it.
    pub role: Role,
    /// The content blocks.
    pub content: Vec<ContentBlock>,
    /// Free-form metadata (a JSON object).
    #[serde(default = "empty_object")]
    pub metadata: serde_json::Value,
    /// RFC 3339; given by the session logic when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub created_at: String,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

impl Message {
    /// A message with one text block; id and time are filled in when stored.
    pub fn from_text(role: Role, text: impl Into<String>) -> Message {
        Message {
            id: String::new(),
            role,
            content: vec![ContentBlock::Text { text: text.into() }],
            metadata: empty_object(),
            created_at: String::new(),
        }
    }

    /// The text blocks, joined by newlines.
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(|b| match b {
                ContentBlock::Text { text } => Some(text.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}
