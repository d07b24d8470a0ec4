//! Log-probability access, the capability the memorisation tests need (canary exposure ranks a
//! secret's log-likelihood among random candidates; prefix → suffix extraction continues a text
//! greedily token by token). Most targets cannot give it: a chat API returns text. So it is an
//! optional side of a [`Target`](crate::Target) ([`Target::log_probs`](crate::Target::log_probs)),
//! and a test that needs it says "not run" with the reason when it is absent, never passes.

use crate::TargetError;
use aistr_core::Message;

/// Reading a model's probabilities.
#[async_trait::async_trait]
pub trait LogProbs: Send + Sync {
    /// `ln P(continuation | context)` (natural log, summed over the continuation's tokens) for each
    /// continuation, after `context` rendered as the target renders a conversation for generation
    /// (so the continuation is what the assistant would say next).
    async fn score_continuations(
        &self,
        context: &[Message],
        continuations: &[String],
    ) -> Result<Vec<f64>, TargetError>;

    /// The target's tokens of `text`, or None when the target does not expose its tokenizer
    /// (then token-level tests, such as prefix → suffix extraction, cannot run).
    async fn tokenize(&self, text: &str) -> Result<Option<Vec<u32>>, TargetError>;

    /// Up to `max_tokens` tokens continuing the raw token ids `prefix` greedily (no chat template).
    async fn greedy_continue(&self, prefix: &[u32], max_tokens: usize) -> Result<Vec<u32>, TargetError>;
}
