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
    /// A tool's result, answering one [`ToolCall`] of the assistant message before it
    /// ([`Message::tool_call_id`] names which).
    Tool,
}

impl Role {
    /// The wire name used by OpenAI-style APIs and chat templates.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Speaker.
    pub role: Role,
    /// Text content (a tool message: the tool's output).
    pub content: String,
    /// The tools an assistant message asked to call (empty for plain text turns).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// A [`Role::Tool`] message: the [`ToolCall::id`] it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

/// A tool offered to a tool-using target: name, what it does, and the JSON Schema of its arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// Name the model calls it by.
    pub name: String,
    /// What the tool does, as shown to the model (tool-description poisoning lives here).
    pub description: String,
    /// JSON Schema of the arguments object.
    pub parameters: serde_json::Value,
}

/// One tool call a model asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's call id; the tool result message quotes it back.
    pub id: String,
    /// Which tool.
    pub name: String,
    /// The arguments as parsed JSON. Arguments that were not valid JSON are kept as a JSON string
    /// holding the raw text, so the harness can count a malformed call instead of losing it.
    pub arguments: serde_json::Value,
}

impl ToolCall {
    /// A call with an empty id (a harness assigns ids when it records calls without one).
    pub fn new(name: &str, arguments: serde_json::Value) -> Self {
        Self {
            id: String::new(),
            name: name.to_owned(),
            arguments,
        }
    }
}

impl Message {
    /// A plain text message.
    pub fn text(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::text(Role::System, content)
    }
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::text(Role::User, content)
    }
    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::text(Role::Assistant, content)
    }
    /// An assistant message that asks for tool calls (with whatever text came with them).
    pub fn assistant_tool_calls(content: impl Into<String>, calls: Vec<ToolCall>) -> Self {
        Self {
            tool_calls: calls,
            ..Self::assistant(content)
        }
    }
    /// A tool's result, answering the call with this id.
    pub fn tool_result(call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            tool_call_id: Some(call_id.into()),
            ..Self::text(Role::Tool, content)
        }
    }
}

/// Everything a target needs to produce one answer. Sampling settings are recorded with every
/// attempt so a run can be reproduced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The conversation so far, oldest first.
    pub messages: Vec<Message>,
    /// Upper bound on generated tokens.
    pub max_tokens: u32,
    /// Sampling temperature; 0 means greedy.
    pub temperature: f32,
    /// Sampling seed, where the target supports one.
    pub seed: Option<u64>,
    /// Tools offered to a tool-using target (empty: a plain chat request, serialized as before).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolSpec>,
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
    /// Tool calls the model asked for instead of (or with) a final text; empty for plain answers.
    /// One call per step is the harness's business: a target returns them all, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_messages_and_requests_serialize_as_before() {
        let m = Message::user("hi");
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"role":"user","content":"hi"}"#
        );
        let r: ChatRequest = serde_json::from_str(
            r#"{"messages":[{"role":"user","content":"hi"}],"max_tokens":8,"temperature":0.0,"seed":null}"#,
        )
        .unwrap();
        assert!(r.tools.is_empty() && r.messages[0] == m);
        assert!(!serde_json::to_string(&r).unwrap().contains("tools"));
    }

    #[test]
    fn tool_turns_roundtrip() {
        let call = ToolCall {
            id: "c1".into(),
            name: "send_money".into(),
            arguments: serde_json::json!({"amount": 5}),
        };
        for m in [
            Message::assistant_tool_calls("", vec![call]),
            Message::tool_result("c1", "ok"),
        ] {
            let back: Message = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
            assert_eq!(back, m);
        }
        assert_eq!(Message::tool_result("c1", "ok").role.as_str(), "tool");
    }
}
