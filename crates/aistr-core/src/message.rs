//! Chat messages in, a response out: the one shape every target (HTTP API, REST app, local model)
//! is reduced to, so the engine never needs to know which kind of target it is talking to.

use serde::{Deserialize, Serialize};

/// Who speaks a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions set by the application owner.
    System,
    /// The end user (or the attacker posing as one).
    User,
    /// The model under test.
    Assistant,
}

impl Role {
    /// The wire name used by OpenAI-style APIs and chat templates.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Speaker.
    pub role: Role,
    /// Text content.
    pub content: String,
}

impl Message {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: Role::System,
            content: content.into(),
        }
    }
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }
    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// Everything a target needs to produce one answer. Sampling settings are recorded with every
/// attempt so a run can be reproduced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The conversation so far, oldest first.
    pub messages: Vec<Message>,
    /// Upper bound on generated tokens.
    pub max_tokens: u32,
    /// Sampling temperature; 0 means greedy.
    pub temperature: f32,
    /// Sampling seed, where the target supports one.
    pub seed: Option<u64>,
}

/// Token accounting, as reported by the target (zero where it reports nothing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens in the prompt.
    pub prompt_tokens: u32,
    /// Tokens generated.
    pub completion_tokens: u32,
}

/// A target's answer: the text we judge plus the exact bytes we received, for the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// The assistant text (concatenated deltas for a streamed answer).
    pub text: String,
    /// Why generation stopped (`stop`, `length`, ...), if the target said.
    pub finish_reason: Option<String>,
    /// Token accounting.
    pub usage: Usage,
    /// The raw response body as received (SSE stream included), lossily decoded as UTF-8.
    pub raw: String,
    /// How many HTTP attempts it took (1 = no retry).
    pub tries: u32,
}
