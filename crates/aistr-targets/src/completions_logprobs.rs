//! Log-probabilities from an OpenAI-compatible server, for the memorisation tests. A chat API
//! returns text, but the legacy `/v1/completions` endpoint that vLLM, llama.cpp's server, LiteLLM
//! and others still serve can score a given text: with `echo: true` and `logprobs` set it returns
//! each prompt token's log-probability and its character offset (`tokens`, `token_logprobs`,
//! `text_offset`). We send the context and the continuation as one prompt and sum the
//! log-probabilities of the tokens that cover the continuation.
//!
//! The context is rendered as a plain transcript ([`render_transcript`]), not the server model's
//! chat template, which the API does not expose. Exposure compares continuations after the same
//! context, so a consistent rendering is what it needs; the report says which rendering was used.
//!
//! Such a server exposes no tokenizer through the OpenAI API, so [`LogProbs::tokenize`] is None
//! and the token-level extraction test reports itself as not run.

use crate::transport::{Failure, Transport, read_capped};
use crate::{LogProbs, TargetError, TargetErrorKind};
use aistr_core::Message;
use serde_json::{Value, json};
use std::sync::Arc;

/// Continuations scored per request (`prompt` is an array in the completions API).
const BATCH: usize = 16;

/// How a conversation is written before a continuation is scored.
#[must_use]
pub fn render_transcript(context: &[Message]) -> String {
    let mut out = String::new();
    for m in context {
        let who = match m.role.as_str() {
            "system" => "System",
            "user" => "User",
            "assistant" => "Assistant",
            other => other,
        };
        out.push_str(who);
        out.push_str(": ");
        out.push_str(&m.content);
        out.push_str("\n\n");
    }
    out.push_str("Assistant: ");
    out
}

/// The scoring client of one OpenAI-compatible target: the target's own transport (client, limits,
/// timeout, retries, body cap), another endpoint.
#[derive(Clone)]
pub(crate) struct CompletionsLogProbs {
    pub(crate) transport: Arc<Transport>,
    /// `{base}/completions`.
    pub(crate) endpoint: String,
    pub(crate) model: String,
    pub(crate) api_key: Option<String>,
}

impl CompletionsLogProbs {
    async fn try_once(&self, body: &Value) -> Result<Value, Failure> {
        let mut builder = self.transport.client.post(&self.endpoint).json(body);
        if let Some(key) = &self.api_key {
            builder = builder.bearer_auth(key);
        }
        let response = self.transport.send(builder).await?;
        let raw = read_capped(response, self.transport.max_response_bytes).await?;
        serde_json::from_str(&raw).map_err(|e| {
            TargetError::new(
                TargetErrorKind::Malformed,
                format!("completions response is not JSON: {e}"),
            )
            .with_raw(raw)
            .into()
        })
    }

    async fn post(&self, body: &Value) -> Result<Value, TargetError> {
        match self.transport.run(|| self.try_once(body)).await {
            Ok((value, _tries)) => Ok(value),
            // A refusal of the endpoint (a chat-only server's 404) is the reason the test is not run.
            Err(mut e) if matches!(e.kind, TargetErrorKind::Client | TargetErrorKind::Server) => {
                e.message = format!(
                    "the server gave no log-probabilities: POST {} (echo + logprobs) returned {}",
                    self.endpoint, e.message
                );
                Err(e)
            }
            Err(e) => Err(e),
        }
    }
}

/// Sums the log-probabilities of the tokens of one echoed choice that cover characters
/// `[start, end)` of its prompt (`start` and `end` in Unicode scalar values, as `text_offset` is).
/// A token straddling `start` counts: it encodes part of the continuation.
pub fn continuation_log_prob(choice: &Value, start: usize, end: usize) -> Result<f64, TargetError> {
    let malformed = |what: &str| TargetError::new(TargetErrorKind::Malformed, what.to_owned());
    let lp = choice.get("logprobs").filter(|v| v.is_object()).ok_or_else(|| {
        malformed("the completions choice has no `logprobs`: the server does not return them")
    })?;
    let tokens = lp.get("tokens").and_then(Value::as_array);
    let logprobs = lp.get("token_logprobs").and_then(Value::as_array);
    let offsets = lp.get("text_offset").and_then(Value::as_array);
    let (Some(tokens), Some(logprobs), Some(offsets)) = (tokens, logprobs, offsets) else {
        return Err(malformed(
            "`logprobs` lacks tokens, token_logprobs or text_offset (echo is not supported?)",
        ));
    };
    if tokens.len() != logprobs.len() || tokens.len() != offsets.len() {
        return Err(malformed("`logprobs` arrays differ in length"));
    }
    let mut sum = 0.0;
    let mut covered = 0usize;
    for ((token, logprob), offset) in tokens.iter().zip(logprobs).zip(offsets) {
        let offset = offset
            .as_u64()
            .and_then(|o| usize::try_from(o).ok())
            .ok_or_else(|| malformed("a text_offset is not a non-negative integer"))?;
        let len = token.as_str().map_or(0, |t| t.chars().count());
        if offset >= end || offset + len <= start {
            continue;
        }
        let value = logprob
            .as_f64()
            .filter(|v| v.is_finite() && *v <= 0.0)
            .ok_or_else(|| {
                malformed("a continuation token's log-probability is missing or not a log-probability")
            })?;
        sum += value;
        covered = covered.max(offset + len);
    }
    if covered < end {
        return Err(malformed(
            "the echoed tokens do not cover the continuation (the server did not echo the prompt)",
        ));
    }
    Ok(sum)
}

#[async_trait::async_trait]
impl LogProbs for CompletionsLogProbs {
    async fn score_continuations(
        &self,
        context: &[Message],
        continuations: &[String],
    ) -> Result<Vec<f64>, TargetError> {
        let prefix = render_transcript(context);
        let start = prefix.chars().count();
        let mut scores = Vec::with_capacity(continuations.len());
        for batch in continuations.chunks(BATCH) {
            let prompts: Vec<String> = batch.iter().map(|c| format!("{prefix}{c}")).collect();
            // max_tokens 1, not 0: some servers reject 0; the one generated token lies past the
            // prompt and is not counted.
            let body = json!({
                "model": self.model,
                "prompt": prompts,
                "echo": true,
                "logprobs": 0,
                "max_tokens": 1,
                "temperature": 0.0,
            });
            let v = self.post(&body).await?;
            let choices = v.get("choices").and_then(Value::as_array).ok_or_else(|| {
                TargetError::new(TargetErrorKind::Malformed, "completions response has no choices")
            })?;
            let mut by_index: Vec<Option<&Value>> = vec![None; batch.len()];
            for (i, choice) in choices.iter().enumerate() {
                let index = choice
                    .get("index")
                    .and_then(Value::as_u64)
                    .and_then(|n| usize::try_from(n).ok())
                    .unwrap_or(i);
                if let Some(slot) = by_index.get_mut(index) {
                    *slot = Some(choice);
                }
            }
            for (choice, continuation) in by_index.into_iter().zip(batch) {
                let choice = choice.ok_or_else(|| {
                    TargetError::new(
                        TargetErrorKind::Malformed,
                        format!("{} choices for {} prompts", choices.len(), batch.len()),
                    )
                })?;
                let end = start + continuation.chars().count();
                scores.push(continuation_log_prob(choice, start, end)?);
            }
        }
        Ok(scores)
    }

    async fn tokenize(&self, _text: &str) -> Result<Option<Vec<u32>>, TargetError> {
        Ok(None)
    }

    async fn greedy_continue(&self, _prefix: &[u32], _max_tokens: usize) -> Result<Vec<u32>, TargetError> {
        Err(TargetError::new(
            TargetErrorKind::Config,
            "an OpenAI-compatible server exposes no tokenizer: greedy continuation of token ids is not available",
        ))
    }
}
