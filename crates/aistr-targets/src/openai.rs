//! Any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama, llama.cpp server, LiteLLM).
//! The API key is read from an environment variable named in the config, held only in memory, sent
//! only in the `Authorization` header, and never part of anything we record or print.

use crate::completions_logprobs::CompletionsLogProbs;
use crate::limits::RetryPolicy;
use crate::transport::{Failure, Transport, check_base_url, read_capped, read_key};
use crate::{Target, TargetError, TargetErrorKind, TargetInfo};
use aistr_core::{ChatRequest, ChatResponse, Message, ToolCall, Usage};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// Settings for an OpenAI-compatible target.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// Base URL up to and including `/v1` (we append `/chat/completions`).
    pub base_url: String,
    /// Model name sent in every request.
    pub model: String,
    /// Name of the environment variable holding the API key (None: no auth header).
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
    /// Largest body we accept; more is an error, so a hostile server cannot exhaust memory.
    pub max_response_bytes: usize,
}

impl OpenAiConfig {
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

/// An OpenAI-compatible target.
pub struct OpenAiTarget {
    config: OpenAiConfig,
    endpoint: String,
    api_key: Option<String>,
    transport: Arc<Transport>,
    /// Scoring through `{base}/completions` (echo + logprobs), for the memorisation tests.
    scoring: CompletionsLogProbs,
}

impl std::fmt::Debug for OpenAiTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiTarget")
            .field("endpoint", &self.endpoint)
            .field("model", &self.config.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl OpenAiTarget {
    /// Builds the target; reads the API key variable now so a missing key fails before any request.
    pub fn new(config: OpenAiConfig) -> Result<Self, TargetError> {
        Self::with_env(config, &|name| std::env::var(name).ok())
    }

    /// Like [`OpenAiTarget::new`], reading variables through `env` (tests pass their own).
    pub fn with_env(config: OpenAiConfig, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, TargetError> {
        let api_key = read_key(config.api_key_env.as_ref(), env)?;
        let endpoint = format!("{}/chat/completions", check_base_url(&config.base_url)?);
        let transport = Arc::new(
            Transport::new(
                config.concurrency,
                config.rpm,
                config.timeout,
                config.retry,
                config.max_response_bytes,
            )?
            .paced(config.pacer.clone()),
        );
        let scoring = CompletionsLogProbs {
            transport: Arc::clone(&transport),
            endpoint: format!("{}/completions", check_base_url(&config.base_url)?),
            model: config.model.clone(),
            api_key: api_key.clone(),
        };
        Ok(Self {
            config,
            endpoint,
            api_key,
            transport,
            scoring,
        })
    }

    /// The JSON body we send (also what the journal records as the request).
    #[must_use]
    pub fn request_body(&self, request: &ChatRequest) -> Value {
        request_body(&self.config.model, self.config.stream, request)
    }

    async fn try_once(&self, body: &Value) -> Result<ChatResponse, Failure> {
        let mut builder = self.transport.client.post(&self.endpoint).json(body);
        if let Some(key) = &self.api_key {
            builder = builder.bearer_auth(key);
        }
        let response = self.transport.send(builder).await?;
        if self.config.stream {
            read_stream(response, self.config.max_response_bytes).await
        } else {
            let raw = read_capped(response, self.config.max_response_bytes).await?;
            parse_completion(&raw).map_err(|e| Failure {
                error: e.with_raw(raw),
                retry_after: None,
            })
        }
    }
}

/// The request body for a chat completion.
#[must_use]
pub fn request_body(model: &str, stream: bool, request: &ChatRequest) -> Value {
    let messages: Vec<Value> = request.messages.iter().map(wire_message).collect();
    let mut body = json!({
        "model": model,
        "messages": messages,
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "stream": stream,
    });
    if let Some(seed) = request.seed {
        body["seed"] = json!(seed);
    }
    if stream {
        body["stream_options"] = json!({"include_usage": true});
    }
    if !request.tools.is_empty() {
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|t| {
                json!({"type": "function", "function": {
                    "name": t.name, "description": t.description, "parameters": t.parameters
                }})
            })
            .collect();
        body["tools"] = Value::Array(tools);
    }
    body
}

/// One message in the chat-completions shape: assistant tool calls carry `tool_calls` (arguments as
/// a JSON *string*, as the API wants), tool results are `role: tool` with their `tool_call_id`.
fn wire_message(m: &Message) -> Value {
    let mut v = json!({"role": m.role.as_str(), "content": m.content});
    if !m.tool_calls.is_empty() {
        let calls: Vec<Value> = m
            .tool_calls
            .iter()
            .map(|c| {
                json!({"id": c.id, "type": "function", "function": {
                    "name": c.name, "arguments": arguments_text(&c.arguments)
                }})
            })
            .collect();
        v["tool_calls"] = Value::Array(calls);
        if m.content.is_empty() {
            v["content"] = Value::Null;
        }
    }
    if let Some(id) = &m.tool_call_id {
        v["tool_call_id"] = json!(id);
    }
    v
}

/// Arguments as the wire text: a string we kept because it was not JSON goes back verbatim.
pub(crate) fn arguments_text(arguments: &Value) -> String {
    match arguments {
        Value::String(raw) => raw.clone(),
        other => other.to_string(),
    }
}

/// Parses a call's argument text; text that is not JSON is kept as a JSON string of itself.
pub(crate) fn parse_arguments(text: &str) -> Value {
    if text.trim().is_empty() {
        return json!({});
    }
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

fn parse_tool_calls(calls: Option<&Value>) -> Result<Vec<ToolCall>, TargetError> {
    let Some(calls) = calls.filter(|c| !c.is_null()) else {
        return Ok(Vec::new());
    };
    let calls = calls
        .as_array()
        .ok_or_else(|| TargetError::new(TargetErrorKind::Malformed, "tool_calls is not an array"))?;
    calls
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let name = c
                .pointer("/function/name")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    TargetError::new(
                        TargetErrorKind::Malformed,
                        format!("tool_calls[{i}] has no function.name"),
                    )
                })?;
            let arguments = match c.pointer("/function/arguments") {
                Some(Value::String(text)) => parse_arguments(text),
                Some(Value::Null) | None => json!({}),
                Some(other) => other.clone(),
            };
            Ok(ToolCall {
                id: c
                    .get("id")
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("call_{i}"), str::to_owned),
                name: name.to_owned(),
                arguments,
            })
        })
        .collect()
}

/// Tool calls assembled from streamed deltas: each delta names its call by `index`; the id and name
/// come once, the argument text in fragments.
#[derive(Default)]
struct StreamedCalls {
    calls: Vec<(String, String, String)>,
}

impl StreamedCalls {
    fn push(&mut self, deltas: &Value) {
        let Some(deltas) = deltas.as_array() else { return };
        for d in deltas {
            let index = d
                .get("index")
                .and_then(Value::as_u64)
                .and_then(|i| usize::try_from(i).ok())
                .unwrap_or(self.calls.len().saturating_sub(1));
            // A hostile stream cannot make us allocate a huge vector by naming a huge index.
            if index > self.calls.len() || index > 1024 {
                continue;
            }
            if index == self.calls.len() {
                self.calls.push(Default::default());
            }
            let call = &mut self.calls[index];
            if let Some(id) = d.get("id").and_then(Value::as_str) {
                call.0 = id.to_owned();
            }
            if let Some(name) = d.pointer("/function/name").and_then(Value::as_str) {
                call.1.push_str(name);
            }
            if let Some(args) = d.pointer("/function/arguments").and_then(Value::as_str) {
                call.2.push_str(args);
            }
        }
    }

    fn finish(self) -> Vec<ToolCall> {
        self.calls
            .into_iter()
            .enumerate()
            .map(|(i, (id, name, args))| ToolCall {
                id: if id.is_empty() { format!("call_{i}") } else { id },
                name,
                arguments: parse_arguments(&args),
            })
            .collect()
    }
}

fn parse_usage(v: &Value) -> Usage {
    let get = |k: &str| {
        v.get(k)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0)
    };
    Usage {
        prompt_tokens: get("prompt_tokens"),
        completion_tokens: get("completion_tokens"),
    }
}

fn parse_completion(raw: &str) -> Result<ChatResponse, TargetError> {
    let v: Value = serde_json::from_str(raw)
        .map_err(|e| TargetError::new(TargetErrorKind::Malformed, format!("response is not JSON: {e}")))?;
    let choice = v
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or_else(|| TargetError::new(TargetErrorKind::Malformed, "response has no choices[0]"))?;
    let message = choice.get("message");
    let tool_calls = parse_tool_calls(message.and_then(|m| m.get("tool_calls")))?;
    let content = message.and_then(|m| m.get("content"));
    let text = match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None if !tool_calls.is_empty() => String::new(),
        Some(Value::Null) | None => {
            return Err(TargetError::new(
                TargetErrorKind::Malformed,
                "choices[0].message.content is missing",
            ));
        }
        Some(other) => {
            return Err(TargetError::new(
                TargetErrorKind::Malformed,
                format!("choices[0].message.content is not a string: {other}"),
            ));
        }
    };
    Ok(ChatResponse {
        text,
        finish_reason: choice
            .get("finish_reason")
            .and_then(Value::as_str)
            .map(str::to_owned),
        usage: v.get("usage").map(parse_usage).unwrap_or_default(),
        raw: raw.to_owned(),
        tries: 1,
        tool_calls,
    })
}

async fn read_stream(response: reqwest::Response, cap: usize) -> Result<ChatResponse, Failure> {
    let mut raw = String::new();
    let mut text = String::new();
    let mut finish_reason = None;
    let mut usage = Usage::default();
    let mut done = false;
    let mut calls = StreamedCalls::default();
    let mut events = response.bytes_stream().eventsource();
    while let Some(event) = events.next().await {
        let event = match event {
            Ok(ev) => ev,
            Err(e) => {
                return Err(
                    TargetError::new(TargetErrorKind::CutStream, format!("stream broke: {e}"))
                        .with_raw(raw)
                        .into(),
                );
            }
        };
        raw.push_str("data: ");
        raw.push_str(&event.data);
        raw.push_str("\n\n");
        if raw.len() > cap {
            return Err(
                TargetError::new(TargetErrorKind::TooLarge, format!("stream exceeds {cap} bytes")).into(),
            );
        }
        if event.data.trim() == "[DONE]" {
            done = true;
            break;
        }
        let chunk: Value = serde_json::from_str(&event.data).map_err(|e| {
            TargetError::new(
                TargetErrorKind::Malformed,
                format!("stream chunk is not JSON: {e}"),
            )
            .with_raw(raw.clone())
        })?;
        if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
            usage = parse_usage(u);
        }
        if let Some(choice) = chunk.get("choices").and_then(|c| c.get(0)) {
            if let Some(delta) = choice
                .get("delta")
                .and_then(|d| d.get("content"))
                .and_then(Value::as_str)
            {
                text.push_str(delta);
            }
            if let Some(deltas) = choice.get("delta").and_then(|d| d.get("tool_calls")) {
                calls.push(deltas);
            }
            if let Some(fr) = choice.get("finish_reason").and_then(Value::as_str) {
                finish_reason = Some(fr.to_owned());
            }
        }
    }
    if !done {
        return Err(
            TargetError::new(TargetErrorKind::CutStream, "stream ended before [DONE]")
                .with_raw(raw)
                .into(),
        );
    }
    Ok(ChatResponse {
        text,
        finish_reason,
        usage,
        raw,
        tries: 1,
        tool_calls: calls.finish(),
    })
}

#[async_trait::async_trait]
impl Target for OpenAiTarget {
    fn info(&self) -> TargetInfo {
        TargetInfo {
            kind: "openai".into(),
            model: self.config.model.clone(),
            base_url: Some(self.config.base_url.clone()),
        }
    }

    fn concurrency(&self) -> usize {
        self.transport.limits.concurrency()
    }

    /// Offered always: whether the server returns log-probabilities is known only by asking, and a
    /// server that does not makes the memorisation tests report "not run" with its answer.
    fn log_probs(&self) -> Option<&dyn crate::LogProbs> {
        Some(&self.scoring)
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, TargetError> {
        let body = self.request_body(request);
        let (mut response, tries) = self.transport.run(|| self.try_once(&body)).await?;
        response.tries = tries;
        Ok(response)
    }
}
