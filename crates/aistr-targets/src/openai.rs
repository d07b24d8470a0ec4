//! Any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama, llama.cpp server, LiteLLM).
//! The API key is read from an environment variable named in the config, held only in memory, sent
//! only in the `Authorization` header, and never part of anything we record or print.

use crate::completions_logprobs::CompletionsLogProbs;
use crate::limits::{Limits, RetryPolicy};
use crate::{Target, TargetError, TargetErrorKind, TargetInfo};
use aistr_core::{ChatRequest, ChatResponse, Usage};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::{Value, json};
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
            max_response_bytes: 8 << 20,
        }
    }
}

/// An OpenAI-compatible target.
pub struct OpenAiTarget {
    config: OpenAiConfig,
    endpoint: String,
    api_key: Option<String>,
    client: reqwest::Client,
    limits: Limits,
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
        let api_key = match &config.api_key_env {
            Some(var) => Some(env(var).ok_or_else(|| {
                TargetError::new(
                    TargetErrorKind::Config,
                    format!("environment variable `{var}` (the API key) is not set"),
                )
            })?),
            None => None,
        };
        let base = config.base_url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(TargetError::new(
                TargetErrorKind::Config,
                format!("base URL `{base}` must start with http:// or https://"),
            ));
        }
        let endpoint = format!("{base}/chat/completions");
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(config.concurrency.max(1))
            .build()
            .map_err(|e| TargetError::new(TargetErrorKind::Config, format!("HTTP client: {e}")))?;
        let limits = Limits::new(config.concurrency, config.rpm);
        let scoring = CompletionsLogProbs {
            client: client.clone(),
            endpoint: format!("{base}/completions"),
            model: config.model.clone(),
            api_key: api_key.clone(),
            limits: limits.clone(),
            timeout: config.timeout,
            max_response_bytes: config.max_response_bytes,
        };
        Ok(Self {
            config,
            endpoint,
            api_key,
            client,
            limits,
            scoring,
        })
    }

    /// The JSON body we send (also what the journal records as the request).
    #[must_use]
    pub fn request_body(&self, request: &ChatRequest) -> Value {
        request_body(&self.config.model, self.config.stream, request)
    }

    async fn try_once(&self, body: &Value) -> Result<ChatResponse, Failure> {
        let mut builder = self.client.post(&self.endpoint).json(body);
        if let Some(key) = &self.api_key {
            builder = builder.bearer_auth(key);
        }
        let response = builder.send().await.map_err(|e| Failure::from_reqwest(&e))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64);
        if !status.is_success() {
            let raw = read_capped(response, self.config.max_response_bytes)
                .await
                .map(|(b, _)| b)
                .unwrap_or_default();
            let kind = if status.as_u16() == 429 {
                TargetErrorKind::RateLimited
            } else if status.is_server_error() {
                TargetErrorKind::Server
            } else {
                TargetErrorKind::Client
            };
            return Err(Failure {
                error: TargetError::new(kind, format!("HTTP {status}")).with_raw(raw),
                retry_after,
            });
        }
        if self.config.stream {
            read_stream(response, self.config.max_response_bytes).await
        } else {
            let (raw, _) = read_capped(response, self.config.max_response_bytes).await?;
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
    let messages: Vec<Value> = request
        .messages
        .iter()
        .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
        .collect();
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
    body
}

struct Failure {
    error: TargetError,
    retry_after: Option<Duration>,
}

impl From<TargetError> for Failure {
    fn from(error: TargetError) -> Self {
        Self {
            error,
            retry_after: None,
        }
    }
}

impl Failure {
    fn from_reqwest(e: &reqwest::Error) -> Self {
        let kind = if e.is_timeout() {
            TargetErrorKind::Timeout
        } else {
            TargetErrorKind::Transport
        };
        // reqwest errors carry the URL, never headers, so no secret can leak here.
        Self {
            error: TargetError::new(kind, e.to_string()),
            retry_after: None,
        }
    }
}

async fn read_capped(response: reqwest::Response, cap: usize) -> Result<(String, bool), Failure> {
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            let mut f = Failure::from_reqwest(&e);
            if f.error.kind == TargetErrorKind::Transport {
                f.error.kind = TargetErrorKind::CutStream;
            }
            f.error.raw = Some(String::from_utf8_lossy(&body).into_owned());
            f
        })?;
        if body.len() + chunk.len() > cap {
            return Err(TargetError::new(
                TargetErrorKind::TooLarge,
                format!("response body exceeds {cap} bytes"),
            )
            .into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok((String::from_utf8_lossy(&body).into_owned(), true))
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
    let content = choice.get("message").and_then(|m| m.get("content"));
    let text = match content {
        Some(Value::String(s)) => s.clone(),
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
    })
}

async fn read_stream(response: reqwest::Response, cap: usize) -> Result<ChatResponse, Failure> {
    let mut raw = String::new();
    let mut text = String::new();
    let mut finish_reason = None;
    let mut usage = Usage::default();
    let mut done = false;
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
        self.limits.concurrency()
    }

    /// Offered always: whether the server returns log-probabilities is known only by asking, and a
    /// server that does not makes the memorisation tests report "not run" with its answer.
    fn log_probs(&self) -> Option<&dyn crate::LogProbs> {
        Some(&self.scoring)
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, TargetError> {
        let body = self.request_body(request);
        let mut tries = 0u32;
        loop {
            tries += 1;
            let outcome = {
                let _permit = self.limits.acquire().await;
                match tokio::time::timeout(self.config.timeout, self.try_once(&body)).await {
                    Ok(r) => r,
                    Err(_) => Err(TargetError::new(
                        TargetErrorKind::Timeout,
                        format!("no complete answer within {:?}", self.config.timeout),
                    )
                    .into()),
                }
            };
            match outcome {
                Ok(mut response) => {
                    response.tries = tries;
                    return Ok(response);
                }
                Err(Failure {
                    mut error,
                    retry_after,
                }) => {
                    error.tries = tries;
                    if !error.kind.retryable() || tries > self.config.retry.max_retries {
                        return Err(error);
                    }
                    let delay = self.config.retry.delay(tries, retry_after);
                    tracing::debug!(kind = error.kind.as_str(), ?delay, tries, "retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }
}
