//! Everything aistr can attack, behind one async [`Target`] trait: chat messages (and offered
//! tools) in, an answer (or tool calls) with usage and the raw bytes out: OpenAI-compatible APIs,
//! Anthropic's Messages API, a generic HTTP application and the embedded local model. Transport concerns (retries, `Retry-After`, rate and concurrency
//! limits, streaming) live here so the engine only ever sees an answer or a typed failure; so does
//! [`EndpointSpec`], the one description of a model endpoint (target, attacker or judge) and the
//! one builder of a [`Target`] from it.

mod anthropic;
mod completions_logprobs;
mod endpoint;
mod error;
mod http;
mod limits;
#[cfg(feature = "local")]
mod local;
mod logprobs;
mod openai;
mod transport;

pub use anthropic::{ANTHROPIC_BASE_URL, ANTHROPIC_VERSION, AnthropicConfig, AnthropicTarget};
pub use completions_logprobs::{continuation_log_prob, render_transcript};
pub use endpoint::{
    DEFAULT_CONCURRENCY, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_SECS, EndpointError, EndpointKind, EndpointSpec,
};
pub use error::{TargetError, TargetErrorKind};
pub use http::{
    BodyFormat, HttpAppConfig, HttpAppSpec, HttpAppTarget, HttpSpecError, ResponseSpec, SessionSpec,
};
pub use limits::{Limits, Pacer, RetryPolicy, SharedPacer};
#[cfg(feature = "local")]
pub use local::{DEFAULT_MAX_BATCH, LocalConfig, LocalTarget};
pub use logprobs::LogProbs;
pub use openai::{OpenAiConfig, OpenAiTarget};

use aistr_core::{ChatRequest, ChatResponse};
use serde::Serialize;

/// Identity of a target as recorded in journals and reports. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetInfo {
    /// `openai`, `anthropic`, `http`, `local`.
    pub kind: String,
    /// Model name.
    pub model: String,
    /// Endpoint, for HTTP targets.
    pub base_url: Option<String>,
}

/// A model or application under test.
#[async_trait::async_trait]
pub trait Target: Send + Sync {
    /// Who this target is.
    fn info(&self) -> TargetInfo;
    /// Sends one conversation and returns the answer, after retries where they apply.
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, TargetError>;
    /// How many requests the engine should keep in flight against this target.
    fn concurrency(&self) -> usize;
    /// The target's log-probabilities, when it exposes them (the embedded model does; a chat API
    /// does not). None: tests that need them are reported as not run.
    fn log_probs(&self) -> Option<&dyn LogProbs> {
        None
    }
}
