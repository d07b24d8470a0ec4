//! Anthropic's Messages API (`POST {base}/messages`). The differences from chat completions that
//! matter here: the system prompt is a top-level field, not a message; tool calls are `tool_use`
//! content blocks and their results `tool_result` blocks inside a *user* message; a streamed answer
//! is a sequence of typed events that ends with `message_stop`; an overloaded server answers 529.
//! Retries, `Retry-After`, RPM and concurrency limits are the shared [`Transport`]'s, as for
//! `openai`. The API key is read from a named variable and sent only in `x-api-key`.

use crate::limits::RetryPolicy;
use crate::openai::parse_arguments;
use crate::transport::{Failure, Transport, check_base_url, read_capped, read_key};
use crate::{Target, TargetError, TargetErrorKind, TargetInfo};
use aistr_core::{ChatRequest, ChatResponse, Role, ToolCall, Usage};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::{Value, json};
use std::time::Duration;

/// The `anthropic-version` header we speak.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";
/// The public API, used when no base URL is configured.
pub const ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com/v1";

/// Settings for an Anthropic Messages API target.
#[derive(Debug, Clone)]
pub struct AnthropicConfig {
    /// Base URL up to and including `/v1` (we append `/messages`).
    pub base_url: String,
    /// Model name sent in every request.
    pub model: String,
    /// Name of the environment variable holding the API key (None: no `x-api-key` header).
    pub api_key_env: Option<String>,
    /// Use server-sent events.
    pub stream: bool,
    /// Timeout for one whole try.
    pub timeout: Duration,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Requests in flight at most.
    pub concurrency: usize,
    /// Requests per minute at most.
    pub rpm: Option<u32>,
    /// A request rate shared with other processes (the workers of one run), if any.
    pub pacer: crate::Pacer,
    /// Largest body we accept.
    pub max_response_bytes: usize,
}

impl AnthropicConfig {
    /// Defaults for a base URL and model.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            model: model.into(),
            api_key_env: None,
            stream: false,
            timeout: Duration::from_secs(120),
            retry: RetryPolicy::default(),
            concurrency: 8,
            rpm: None,
            pacer: crate::Pacer::default(),
            max_response_bytes: 8 << 20,
        }
    }
}

/// An Anthropic Messages API target.
pub struct AnthropicTarget {
    config: AnthropicConfig,
    endpoint: String,
    api_key: Option<String>,
    transport: Transport,
}

impl std::fmt::Debug for AnthropicTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnthropicTarget")
            .field("endpoint", &self.endpoint)
            .field("model", &self.config.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl AnthropicTarget {
    /// Builds the target; reads the API key variable now so a missing key fails before any request.
    pub fn new(config: AnthropicConfig) -> Result<Self, TargetError> {
        Self::with_env(config, &|name| std::env::var(name).ok())
    }

    /// Like [`AnthropicTarget::new`], reading variables through `env` (tests pass their own).
    pub fn with_env(
        config: AnthropicConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, TargetError> {
        let api_key = read_key(config.api_key_env.as_ref(), env)?;
        let endpoint = format!("{}/messages", check_base_url(&config.base_url)?);
        let transport = Transport::new(
            config.concurrency,
            config.rpm,
            config.timeout,
            config.retry,
            config.max_response_bytes,
        )?
        .paced(config.pacer.clone());
        Ok(Self {
            config,
            endpoint,
            api_key,
            transport,
        })
    }

    /// The JSON body we send (also what the journal records as the request).
    #[must_use]
    pub fn request_body(&self, request: &ChatRequest) -> Value {
        request_body(&self.config.model, self.config.stream, request)
    }

    async fn try_once(&self, body: &Value) -> Result<ChatResponse, Failure> {
        let mut builder = self
            .transport
            .client
            .post(&self.endpoint)
            .header("anthropic-version", ANTHROPIC_VERSION)
            .json(body);
        if let Some(key) = &self.api_key {
            builder = builder.header("x-api-key", key);
        }
        let response = self.transport.send(builder).await?;
        if self.config.stream {
            read_stream(response, self.config.max_response_bytes).await
        } else {
            let raw = read_capped(response, self.config.max_response_bytes).await?;
            parse_message(&raw).map_err(|e| Failure {
                error: e.with_raw(raw),
                retry_after: None,
            })
        }
    }
}

/// The Messages API body: system messages joined into `system`; the rest as alternating user and
/// assistant turns with content blocks, consecutive tool results merged into one user turn.
#[must_use]
pub fn request_body(model: &str, stream: bool, request: &ChatRequest) -> Value {
    let system: Vec<&str> = request
        .messages
        .iter()
        .filter(|m| m.role == Role::System)
        .map(|m| m.content.as_str())
        .collect();
    let mut turns: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for m in request.messages.iter().filter(|m| m.role != Role::System) {
        let (role, blocks) = match m.role {
            Role::Assistant => {
                let mut blocks = Vec::new();
                if !m.content.is_empty() {
                    blocks.push(json!({"type": "text", "text": m.content}));
                }
                for c in &m.tool_calls {
                    let input = if c.arguments.is_object() {
                        c.arguments.clone()
                    } else {
                        json!({})
                    };
                    blocks.push(json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input}));
                }
                ("assistant", blocks)
            }
            Role::Tool => (
                "user",
                vec![json!({
                    "type": "tool_result",
                    "tool_use_id": m.tool_call_id.clone().unwrap_or_default(),
                    "content": m.content,
                })],
            ),
            Role::User | Role::System => ("user", vec![json!({"type": "text", "text": m.content})]),
        };
        match turns.last_mut() {
            Some((last, existing)) if *last == role => existing.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    let messages: Vec<Value> = turns
        .into_iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect();
    let mut body = json!({
        "model": model,
        "messages": messages,
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "stream": stream,
    });
    if !system.is_empty() {
        body["system"] = json!(system.join("\n\n"));
    }
    if !request.tools.is_empty() {
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters}))
            .collect();
        body["tools"] = Value::Array(tools);
    }
    body
}

fn malformed(message: impl Into<String>) -> TargetError {
    TargetError::new(TargetErrorKind::Malformed, message)
}

fn usage_of(v: Option<&Value>) -> (Option<u32>, Option<u32>) {
    let get = |k: &str| {
        v.and_then(|u| u.get(k))
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
    };
    (get("input_tokens"), get("output_tokens"))
}

fn parse_message(raw: &str) -> Result<ChatResponse, TargetError> {
    let v: Value = serde_json::from_str(raw).map_err(|e| malformed(format!("response is not JSON: {e}")))?;
    let blocks = v
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("response has no content array"))?;
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for (i, b) in blocks.iter().enumerate() {
        match b.get("type").and_then(Value::as_str) {
            Some("text") => text.push_str(b.get("text").and_then(Value::as_str).unwrap_or_default()),
            Some("tool_use") => tool_calls.push(ToolCall {
                id: b.get("id").and_then(Value::as_str).unwrap_or_default().to_owned(),
                name: b
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| malformed(format!("content[{i}] (tool_use) has no name")))?
                    .to_owned(),
                arguments: b.get("input").cloned().unwrap_or_else(|| json!({})),
            }),
            // Thinking and other block kinds carry nothing we judge.
            _ => {}
        }
    }
    let (input, output) = usage_of(v.get("usage"));
    Ok(ChatResponse {
        text,
        finish_reason: v.get("stop_reason").and_then(Value::as_str).map(str::to_owned),
        usage: Usage {
            prompt_tokens: input.unwrap_or(0),
            completion_tokens: output.unwrap_or(0),
        },
        raw: raw.to_owned(),
        tries: 1,
        tool_calls,
    })
}

/// One content block being streamed.
enum Block {
    Text,
    ToolUse { id: String, name: String, json: String },
    Other,
}

async fn read_stream(response: reqwest::Response, cap: usize) -> Result<ChatResponse, Failure> {
    let mut raw = String::new();
    let mut text = String::new();
    let mut blocks: Vec<Block> = Vec::new();
    let mut calls: Vec<ToolCall> = Vec::new();
    let mut stop_reason = None;
    let mut usage = Usage::default();
    let mut done = false;
    let mut events = response.bytes_stream().eventsource();
    while let Some(event) = events.next().await {
        let event = event.map_err(|e| {
            TargetError::new(TargetErrorKind::CutStream, format!("stream broke: {e}")).with_raw(raw.clone())
        })?;
        raw.push_str("event: ");
        raw.push_str(&event.event);
        raw.push_str("\ndata: ");
        raw.push_str(&event.data);
        raw.push_str("\n\n");
        if raw.len() > cap {
            return Err(
                TargetError::new(TargetErrorKind::TooLarge, format!("stream exceeds {cap} bytes")).into(),
            );
        }
        let data: Value = serde_json::from_str(&event.data)
            .map_err(|e| malformed(format!("stream event is not JSON: {e}")).with_raw(raw.clone()))?;
        // The event name is repeated in the data's `type`; trust the data (proxies drop event names).
        let kind = data
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or(event.event.as_str());
        let index = data
            .get("index")
            .and_then(Value::as_u64)
            .and_then(|i| usize::try_from(i).ok());
        match kind {
            "message_start" => {
                let (input, output) = usage_of(data.pointer("/message/usage"));
                usage.prompt_tokens = input.unwrap_or(0);
                usage.completion_tokens = output.unwrap_or(0);
            }
            "content_block_start" => {
                let b = data.get("content_block").unwrap_or(&Value::Null);
                let block = match b.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        text.push_str(b.get("text").and_then(Value::as_str).unwrap_or_default());
                        Block::Text
                    }
                    Some("tool_use") => Block::ToolUse {
                        id: b.get("id").and_then(Value::as_str).unwrap_or_default().to_owned(),
                        name: b
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        json: String::new(),
                    },
                    _ => Block::Other,
                };
                // Blocks arrive in index order; one out of order is a protocol error, not a reason
                // to allocate up to whatever index a hostile server names.
                if index.is_some_and(|i| i != blocks.len()) {
                    return Err(malformed("content_block_start out of order").with_raw(raw).into());
                }
                blocks.push(block);
            }
            "content_block_delta" => {
                let delta = data.get("delta").unwrap_or(&Value::Null);
                match (
                    index.and_then(|i| blocks.get_mut(i)),
                    delta.get("type").and_then(Value::as_str),
                ) {
                    (Some(Block::Text), Some("text_delta")) => {
                        text.push_str(delta.get("text").and_then(Value::as_str).unwrap_or_default());
                    }
                    (Some(Block::ToolUse { json, .. }), Some("input_json_delta")) => {
                        json.push_str(
                            delta
                                .get("partial_json")
                                .and_then(Value::as_str)
                                .unwrap_or_default(),
                        );
                    }
                    (None, _) => {
                        return Err(malformed("content_block_delta for an unknown block")
                            .with_raw(raw)
                            .into());
                    }
                    _ => {}
                }
            }
            "content_block_stop" => {
                if let Some(Block::ToolUse { id, name, json }) = index.and_then(|i| blocks.get_mut(i)) {
                    calls.push(ToolCall {
                        id: std::mem::take(id),
                        name: std::mem::take(name),
                        arguments: parse_arguments(json),
                    });
                }
            }
            "message_delta" => {
                if let Some(r) = data.pointer("/delta/stop_reason").and_then(Value::as_str) {
                    stop_reason = Some(r.to_owned());
                }
                if let (_, Some(output)) = usage_of(data.get("usage")) {
                    usage.completion_tokens = output;
                }
            }
            "message_stop" => {
                done = true;
                break;
            }
            "error" => {
                // An error mid-stream (typically `overloaded_error`): the server gave up, a retry may not.
                let message = data
                    .pointer("/error/message")
                    .or_else(|| data.pointer("/error/type"))
                    .and_then(Value::as_str)
                    .unwrap_or("error event");
                return Err(
                    TargetError::new(TargetErrorKind::Server, format!("stream error: {message}"))
                        .with_raw(raw)
                        .into(),
                );
            }
            _ => {} // ping and future event kinds
        }
    }
    if !done {
        return Err(
            TargetError::new(TargetErrorKind::CutStream, "stream ended before message_stop")
                .with_raw(raw)
                .into(),
        );
    }
    Ok(ChatResponse {
        text,
        finish_reason: stop_reason,
        usage,
        raw,
        tries: 1,
        tool_calls: calls,
    })
}

#[async_trait::async_trait]
impl Target for AnthropicTarget {
    fn info(&self) -> TargetInfo {
        TargetInfo {
            kind: "anthropic".into(),
            model: self.config.model.clone(),
            base_url: Some(self.config.base_url.clone()),
        }
    }

    fn concurrency(&self) -> usize {
        self.transport.limits.concurrency()
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, TargetError> {
        let body = self.request_body(request);
        let (mut response, tries) = self.transport.run(|| self.try_once(&body)).await?;
        response.tries = tries;
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aistr_core::{Message, ToolSpec};

    #[test]
    fn system_is_a_field_and_tool_results_are_user_blocks() {
        let call = ToolCall {
            id: "toolu_1".into(),
            name: "get_balance".into(),
            arguments: json!({}),
        };
        let request = ChatRequest {
            messages: vec![
                Message::system("be helpful"),
                Message::user("balance?"),
                Message::assistant_tool_calls("checking", vec![call]),
                Message::tool_result("toolu_1", "42"),
            ],
            max_tokens: 64,
            temperature: 0.0,
            seed: None,
            tools: vec![ToolSpec {
                name: "get_balance".into(),
                description: "the balance".into(),
                parameters: json!({"type": "object", "properties": {}}),
            }],
        };
        let body = request_body("claude-x", false, &request);
        assert_eq!(body["system"], "be helpful");
        let msgs = body["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 3, "{body}");
        assert_eq!(msgs[1]["content"][1]["type"], "tool_use");
        assert_eq!(msgs[2]["role"], "user");
        assert_eq!(msgs[2]["content"][0]["tool_use_id"], "toolu_1");
        assert_eq!(body["tools"][0]["input_schema"]["type"], "object");
    }

    #[test]
    fn tool_use_blocks_become_calls() {
        let raw = r#"{"content":[{"type":"text","text":"let me"},{"type":"tool_use","id":"t1","name":"send_money","input":{"amount":5}}],"stop_reason":"tool_use","usage":{"input_tokens":9,"output_tokens":3}}"#;
        let r = parse_message(raw).unwrap();
        assert_eq!(r.text, "let me");
        assert_eq!(r.tool_calls[0].arguments, json!({"amount": 5}));
        assert_eq!((r.usage.prompt_tokens, r.usage.completion_tokens), (9, 3));
        assert_eq!(
            parse_message(r#"{"type":"error"}"#).unwrap_err().kind,
            TargetErrorKind::Malformed
        );
    }
}
