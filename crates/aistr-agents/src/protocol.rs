//! The text action protocol, for models that cannot make native tool calls (the embedded SmolLM2).
//! Every turn the model writes one JSON object:
//!
//! ```text
//! {"tool": "get_balance", "arguments": {}}          call a tool, then take another turn
//! {"answer": "Your balance is 1810.0."}              finish with this answer to the user
//! ```
//!
//! Tool results come back as a user message `Result of <tool>:\n<output>`. The parser is tolerant
//! (code fences and prose around the object, `name`/`function` for `tool`, `args`/`parameters`/
//! `input` for `arguments`, arguments as a JSON string, `final_answer`/`final`/`response` for
//! `answer`; a reply with no `{` at all is taken as the final answer) and bounded (the first
//! [`MAX_REPLY_BYTES`] of a reply, at most [`MAX_CANDIDATES`] objects tried, nesting up to
//! [`MAX_DEPTH`]): hostile output never panics and never allocates more than a few times its size.
//! A reply that looks like an action but is not a valid one is [`Parsed::Invalid`]; the adapter
//! [`TextProtocolAgent`] asks the model once to repair it, then takes the text as the answer.

use aistr_core::Message;
use serde_json::{Map, Value};

use crate::harness::{Agent, AgentStep, Conversation, TransportError, Turn};
use crate::tool::{ToolCall, ToolSpec};

/// Bytes of a reply that are read; the rest is ignored.
pub const MAX_REPLY_BYTES: usize = 64 * 1024;
/// JSON objects tried per reply.
pub const MAX_CANDIDATES: usize = 32;
/// Deepest `{`/`[` nesting accepted.
pub const MAX_DEPTH: usize = 32;
/// Longest tool name accepted.
pub const MAX_TOOL_NAME: usize = 64;

/// A parsed reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// A tool call.
    Call {
        /// Tool name.
        tool: String,
        /// Arguments (an object).
        arguments: Value,
    },
    /// The final answer.
    Answer(String),
    /// Looked like an action but was not one (why).
    Invalid(String),
}

/// Parses one model reply.
pub fn parse_action(reply: &str) -> Parsed {
    let text = truncate(reply, MAX_REPLY_BYTES);
    if !text.contains('{') {
        return Parsed::Answer(text.trim().to_owned());
    }
    let mut why = "no complete JSON object".to_owned();
    let mut start = 0;
    for _ in 0..MAX_CANDIDATES {
        let Some(offset) = text[start..].find('{') else {
            break;
        };
        let open = start + offset;
        match balanced_end(&text[open..]) {
            Some(len) => {
                let slice = &text[open..open + len];
                match serde_json::from_str::<Value>(slice) {
                    Ok(Value::Object(obj)) => match interpret(&obj) {
                        Ok(parsed) => return parsed,
                        Err(e) => why = e,
                    },
                    Ok(_) => why = "not a JSON object".into(),
                    Err(e) => why = format!("malformed JSON: {e}"),
                }
            }
            None => why = "unbalanced braces or nesting too deep".into(),
        }
        start = open + 1;
    }
    Parsed::Invalid(why)
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Length of the JSON object starting at `s[0] == '{'`, aware of strings and escapes.
fn balanced_end(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, b) in s.bytes().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return None;
                }
            }
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

fn first<'a>(obj: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().find_map(|k| obj.get(*k))
}

fn interpret(obj: &Map<String, Value>) -> Result<Parsed, String> {
    if let Some(answer) = first(obj, &["answer", "final_answer", "final", "response"]) {
        return Ok(Parsed::Answer(match answer {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }));
    }
    let Some(tool) = first(obj, &["tool", "name", "function", "action"]) else {
        return Err("no `tool` or `answer` key".into());
    };
    let tool = match tool {
        Value::String(s) => s.trim().to_owned(),
        // {"function": {"name": ..., "arguments": ...}} (OpenAI-shaped)
        Value::Object(inner) => return interpret(inner),
        _ => return Err("`tool` must be a string".into()),
    };
    if tool.is_empty()
        || tool.len() > MAX_TOOL_NAME
        || !tool
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(format!("`{}` is not a tool name", truncate(&tool, MAX_TOOL_NAME)));
    }
    let arguments = match first(obj, &["arguments", "args", "parameters", "input", "tool_input"]) {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(Value::Object(m)) => Value::Object(m.clone()),
        Some(Value::String(s)) if s.trim().is_empty() => Value::Object(Map::new()),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(v @ Value::Object(_)) => v,
            _ => return Err("`arguments` must be a JSON object".into()),
        },
        Some(_) => return Err("`arguments` must be a JSON object".into()),
    };
    Ok(Parsed::Call { tool, arguments })
}

/// The instructions that explain the protocol and the tools, appended to the system prompt.
pub fn tools_prompt(tools: &[ToolSpec]) -> String {
    let mut out = String::from(
        "You can use tools. Reply with exactly one JSON object and nothing else.\n\
         To call a tool: {\"tool\": \"<tool name>\", \"arguments\": {<arguments>}}\n\
         To finish: {\"answer\": \"<your final answer to the user>\"}\n\
         After a tool call you get its result and reply again.\nTools:\n",
    );
    for t in tools {
        let props = t.parameters.get("properties").and_then(Value::as_object);
        let required: Vec<&str> = t
            .parameters
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let params: Vec<String> = props
            .map(|p| {
                p.iter()
                    .map(|(name, schema)| {
                        let ty = match schema.get("type").and_then(Value::as_str) {
                            Some("array") => "list",
                            Some(other) => other,
                            None => "any",
                        };
                        let opt = if required.contains(&name.as_str()) {
                            ""
                        } else {
                            "?"
                        };
                        format!("{name}{opt}: {ty}")
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "- {}({}): {}\n",
            t.name,
            params.join(", "),
            t.description.replace('\n', " ")
        ));
    }
    out
}

/// The chat messages a text-protocol model sees for a conversation.
pub fn render_messages(conversation: &Conversation) -> Vec<Message> {
    let mut messages = Vec::new();
    for turn in &conversation.turns {
        match turn {
            Turn::System { content } => {
                messages.push(Message::system(format!(
                    "{content}\n{}",
                    tools_prompt(&conversation.tools)
                )));
            }
            Turn::User { content } => messages.push(Message::user(content.clone())),
            Turn::Assistant { calls, .. } => {
                for c in calls {
                    let action = serde_json::json!({"tool": c.name, "arguments": c.arguments});
                    messages.push(Message::assistant(action.to_string()));
                }
            }
            Turn::Tool { name, content, .. } => {
                messages.push(Message::user(format!("Result of {name}:\n{content}")))
            }
        }
    }
    messages
}

/// Adapts a text-completion model (`complete(messages) -> reply`) to the [`Agent`] trait with the
/// text protocol. One action per step; an invalid action is sent back once for repair.
pub struct TextProtocolAgent<F> {
    complete: F,
    /// Repair requests per step (default 1).
    pub max_repairs: usize,
}

impl<F: FnMut(&[Message]) -> Result<String, TransportError>> TextProtocolAgent<F> {
    /// Wraps `complete`.
    pub fn new(complete: F) -> Self {
        Self {
            complete,
            max_repairs: 1,
        }
    }
}

impl<F: FnMut(&[Message]) -> Result<String, TransportError>> Agent for TextProtocolAgent<F> {
    fn step(&mut self, conversation: &Conversation) -> Result<AgentStep, TransportError> {
        let mut messages = render_messages(conversation);
        let mut repairs = 0;
        loop {
            let reply = (self.complete)(&messages)?;
            match read_reply(&reply, repairs < self.max_repairs) {
                Ok(step) => return Ok(step),
                Err(repair) => {
                    repairs += 1;
                    messages.extend(*repair);
                }
            }
        }
    }
}

/// One text-protocol reply read as a step. An invalid action, when a repair is still allowed, is
/// `Err` with the two messages to append (the reply, and the request to repair it) before asking
/// again; without a repair left it is taken as the final answer. [`TextProtocolAgent`] and async
/// drivers (the scan session) share this rule.
pub fn read_reply(reply: &str, may_repair: bool) -> Result<AgentStep, Box<[Message; 2]>> {
    match parse_action(reply) {
        Parsed::Call { tool, arguments } => Ok(AgentStep::ToolCalls {
            content: String::new(),
            calls: vec![ToolCall::new(&tool, arguments)],
        }),
        Parsed::Answer(a) => Ok(AgentStep::Answer(a)),
        Parsed::Invalid(why) if may_repair => Err(Box::new([
            Message::assistant(truncate(reply, 4096).to_owned()),
            Message::user(format!(
                "That was not a valid action ({why}). Reply with one JSON object only: \
                 {{\"tool\": ..., \"arguments\": {{...}}}} or {{\"answer\": ...}}."
            )),
        ])),
        Parsed::Invalid(_) => Ok(AgentStep::Answer(truncate(reply.trim(), 4096).to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(tool: &str, arguments: Value) -> Parsed {
        Parsed::Call {
            tool: tool.into(),
            arguments,
        }
    }

    #[test]
    fn canonical_and_tolerated_forms() {
        assert_eq!(
            parse_action(r#"{"tool": "get_balance", "arguments": {}}"#),
            call("get_balance", json!({}))
        );
        assert_eq!(
            parse_action(r#"{"answer": "done"}"#),
            Parsed::Answer("done".into())
        );
        assert_eq!(
            parse_action(
                "Sure!\n```json\n{\"name\": \"read_file\", \"args\": {\"file_path\": \"a}b.txt\"}}\n```"
            ),
            call("read_file", json!({"file_path": "a}b.txt"}))
        );
        assert_eq!(
            parse_action(r#"{"tool": "send_money", "arguments": "{\"amount\": 5}"}"#),
            call("send_money", json!({"amount": 5}))
        );
        assert_eq!(
            parse_action(r#"{"function": {"name": "get_iban", "arguments": {}}}"#),
            call("get_iban", json!({}))
        );
        assert_eq!(
            parse_action(r#"{"final_answer": 42}"#),
            Parsed::Answer("42".into())
        );
        assert_eq!(
            parse_action("  Your balance is 10.  "),
            Parsed::Answer("Your balance is 10.".into())
        );
        // The first recognisable object wins; a stray object before it is skipped.
        assert_eq!(
            parse_action(r#"{"x": 1} then {"tool": "get_iban"}"#),
            call("get_iban", json!({}))
        );
    }

    #[test]
    fn invalid_actions_say_why() {
        for bad in [
            r#"{"tool": "rm -rf /", "arguments": {}}"#,
            r#"{"tool": "x", "arguments": [1]}"#,
            r#"{"tool": 5}"#,
            r#"{"foo": "bar"}"#,
            r#"{"tool": "x", "arguments": {"#,
            "{not json}",
        ] {
            assert!(matches!(parse_action(bad), Parsed::Invalid(_)), "{bad}");
        }
        let deep = format!("{}{}", "{\"a\":".repeat(100), "}".repeat(100));
        assert!(matches!(parse_action(&deep), Parsed::Invalid(_)));
        let many = "{".repeat(MAX_REPLY_BYTES * 2);
        assert!(matches!(parse_action(&many), Parsed::Invalid(_)));
    }

    #[test]
    fn prompt_lists_every_tool_with_its_parameters() {
        let env = crate::banking::suite().clean_env();
        let p = tools_prompt(&crate::suite::Environment::tools(&env));
        assert!(
            p.contains("- send_money(amount: number, date: string, recipient: string, subject: string)"),
            "{p}"
        );
        assert!(p.contains("update_user_info(city?: string"));
        assert!(p.contains(r#"{"answer": "#));
    }

    #[test]
    fn adapter_repairs_once_then_takes_the_text() {
        let conv = Conversation {
            tools: vec![],
            turns: vec![
                Turn::System {
                    content: "sys".into(),
                },
                Turn::User { content: "hi".into() },
            ],
        };
        let mut replies = vec![r#"{"tool": "get_iban"}"#.to_owned(), "{bad".to_owned()]
            .into_iter()
            .rev()
            .collect::<Vec<_>>();
        let mut agent = TextProtocolAgent::new(move |_: &[Message]| Ok(replies.pop().unwrap_or_default()));
        let step = agent.step(&conv).unwrap();
        assert_eq!(
            step,
            AgentStep::ToolCalls {
                content: String::new(),
                calls: vec![ToolCall::new("get_iban", json!({}))]
            }
        );
        let mut agent = TextProtocolAgent::new(|_: &[Message]| Ok("{bad".to_owned()));
        assert_eq!(agent.step(&conv).unwrap(), AgentStep::Answer("{bad".into()));
        let mut agent = TextProtocolAgent::new(|_: &[Message]| Err(TransportError("down".into())));
        assert!(agent.step(&conv).is_err());
    }
}
