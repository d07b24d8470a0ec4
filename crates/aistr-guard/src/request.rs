//! The request parser: untrusted bytes from a client into the few things the guard reads (the
//! messages' text, whether it streams) plus the JSON to forward. It never panics (a fuzz target,
//! `fuzz/fuzz_targets/guard_request.rs`, holds it to that), bounds what it accepts, and rejects
//! with a message naming the field.

use aistr_core::{ChatRequest, Message, Role};
use serde_json::Value;

/// Most messages a request may carry.
pub const MAX_MESSAGES: usize = 512;
/// Most content parts in one message.
pub const MAX_PARTS: usize = 64;

/// A parsed chat-completions request.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatBody {
    /// The JSON as received (forwarded after any redaction).
    pub json: Value,
    /// `stream: true`.
    pub stream: bool,
    /// Each message's role and text (parts of an array content joined by newlines).
    pub messages: Vec<(String, String)>,
}

/// Why a request was rejected (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RequestError(pub String);

fn err(m: impl Into<String>) -> RequestError {
    RequestError(m.into())
}

fn content_text(content: &Value, i: usize) -> Result<String, RequestError> {
    match content {
        Value::String(s) => Ok(s.clone()),
        Value::Null => Ok(String::new()),
        Value::Array(parts) => {
            if parts.len() > MAX_PARTS {
                return Err(err(format!(
                    "messages[{i}].content has more than {MAX_PARTS} parts"
                )));
            }
            let mut out = Vec::new();
            for (j, p) in parts.iter().enumerate() {
                match p.get("type").and_then(Value::as_str) {
                    Some("text") => match p.get("text").and_then(Value::as_str) {
                        Some(t) => out.push(t.to_owned()),
                        None => return Err(err(format!("messages[{i}].content[{j}].text must be a string"))),
                    },
                    // Images and audio are not screened by text detectors; they are refused so nothing
                    // passes unscreened.
                    Some(other) => {
                        return Err(err(format!(
                            "messages[{i}].content[{j}]: content type `{other}` is not screened by this guard"
                        )));
                    }
                    None => return Err(err(format!("messages[{i}].content[{j}].type is missing"))),
                }
            }
            Ok(out.join("\n"))
        }
        _ => Err(err(format!(
            "messages[{i}].content must be a string or an array of parts"
        ))),
    }
}

/// Parses a request body.
pub fn parse(bytes: &[u8]) -> Result<ChatBody, RequestError> {
    let json: Value = serde_json::from_slice(bytes).map_err(|e| err(format!("request is not JSON: {e}")))?;
    let Some(obj) = json.as_object() else {
        return Err(err("request must be a JSON object"));
    };
    let stream = match obj.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(err("`stream` must be true or false")),
    };
    let Some(list) = obj.get("messages").and_then(Value::as_array) else {
        return Err(err("`messages` must be an array"));
    };
    if list.is_empty() {
        return Err(err("`messages` is empty"));
    }
    if list.len() > MAX_MESSAGES {
        return Err(err(format!("more than {MAX_MESSAGES} messages")));
    }
    let mut messages = Vec::with_capacity(list.len());
    for (i, m) in list.iter().enumerate() {
        let Some(role) = m.get("role").and_then(Value::as_str) else {
            return Err(err(format!("messages[{i}].role must be a string")));
        };
        let text = content_text(m.get("content").unwrap_or(&Value::Null), i)?;
        messages.push((role.to_owned(), text));
    }
    Ok(ChatBody {
        json,
        stream,
        messages,
    })
}

impl ChatBody {
    /// Everything the input detectors read: every message's text, oldest first.
    #[must_use]
    pub fn screened_text(&self) -> String {
        let mut out = String::new();
        for (_, t) in &self.messages {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(t);
        }
        out
    }

    /// The last user message (the request output screening compares the answer with).
    #[must_use]
    pub fn last_user(&self) -> &str {
        self.messages
            .iter()
            .rev()
            .find(|(r, _)| r == "user")
            .map_or("", |(_, t)| t.as_str())
    }

    /// Rewrites every text in the forwarded JSON with `f` (redaction).
    pub fn map_texts(&mut self, f: &dyn Fn(&str) -> String) {
        if let Some(list) = self.json.get_mut("messages").and_then(Value::as_array_mut) {
            for m in list {
                match m.get_mut("content") {
                    Some(Value::String(s)) => *s = f(s),
                    Some(Value::Array(parts)) => {
                        for p in parts {
                            if let Some(Value::String(t)) = p.get_mut("text") {
                                *t = f(t);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        for (_, t) in &mut self.messages {
            *t = f(t);
        }
    }

    /// The request for a `Target` upstream (the embedded model).
    #[must_use]
    #[expect(
        clippy::cast_possible_truncation,
        reason = "clamped token counts and temperatures"
    )]
    pub fn chat_request(&self) -> ChatRequest {
        let messages = self
            .messages
            .iter()
            .map(|(role, text)| Message {
                role: match role.as_str() {
                    "system" | "developer" => Role::System,
                    "assistant" => Role::Assistant,
                    _ => Role::User,
                },
                content: text.clone(),
                tool_calls: Vec::new(),
                tool_call_id: None,
            })
            .collect();
        ChatRequest {
            messages,
            max_tokens: self
                .json
                .get("max_tokens")
                .or_else(|| self.json.get("max_completion_tokens"))
                .and_then(Value::as_u64)
                .map_or(256, |n| n.clamp(1, 4096) as u32),
            temperature: self
                .json
                .get("temperature")
                .and_then(Value::as_f64)
                .map_or(0.0, |t| t.clamp(0.0, 2.0) as f32),
            seed: self.json.get("seed").and_then(Value::as_u64),
            ..ChatRequest::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_strings_and_parts() {
        let b = parse(
            br#"{"model":"m","stream":true,"messages":[{"role":"system","content":"be nice"},
               {"role":"user","content":[{"type":"text","text":"hi"},{"type":"text","text":"there"}]}]}"#,
        )
        .expect("parses");
        assert!(b.stream);
        assert_eq!(b.last_user(), "hi\nthere");
        assert_eq!(b.screened_text(), "be nice\nhi\nthere");
    }

    #[test]
    fn rejections_name_the_field() {
        for (body, needle) in [
            (&b"nope"[..], "not JSON"),
            (b"[]", "object"),
            (br#"{"messages":[]}"#, "empty"),
            (br#"{"messages":[{"content":"x"}]}"#, "messages[0].role"),
            (
                br#"{"messages":[{"role":"user","content":5}]}"#,
                "messages[0].content",
            ),
            (
                br#"{"stream":"yes","messages":[{"role":"user","content":"x"}]}"#,
                "stream",
            ),
            (
                br#"{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]}"#,
                "image_url",
            ),
        ] {
            let e = parse(body).expect_err("rejected");
            assert!(e.0.contains(needle), "{e} lacks {needle}");
        }
    }

    #[test]
    fn truncated_and_mutated_requests_never_panic() {
        let good = br#"{"model":"m","stream":false,"messages":[{"role":"user","content":[{"type":"text","text":"h\u00e9llo"}]},{"role":"assistant","content":null}],"max_tokens":99999999999,"temperature":-3}"#;
        for cut in 0..good.len() {
            let _ = parse(&good[..cut]);
        }
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..5000 {
            let mut b = good.to_vec();
            for _ in 0..3 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let i = usize::try_from(x % b.len() as u64).unwrap_or(0);
                b[i] = (x >> 32) as u8;
            }
            if let Ok(mut body) = parse(&b) {
                body.map_texts(&|t| t.to_owned());
                let r = body.chat_request();
                assert!(r.max_tokens >= 1 && r.max_tokens <= 4096);
            }
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(100_000);
        assert!(parse(deep.as_bytes()).is_err());
    }
}
