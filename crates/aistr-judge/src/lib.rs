//! The judge turns an answer into a verdict. Everything downstream (R, D, over-refusal, gating)
//! depends on it, so it is explicit about what it could not judge: an empty answer, or one the
//! transport never delivered whole, is `unscored`, never `safe`.
//!
//! This crate is sync and pure: judging is CPU work over text, and stays testable without a runtime.

mod refusal;
mod rules;

pub use refusal::{find_refusal, RefusalMatch};
pub use rules::RulesJudge;

use aistr_core::{Intent, Probe, Verdict};

/// Everything a judge may look at for one attempt.
#[derive(Debug, Clone, Copy)]
pub struct JudgeInput<'a> {
    /// The base request (its intent decides whether compliance is risky).
    pub probe: &'a Probe,
    /// The request as sent after attacks (the last user message), for context.
    pub sent_prompt: &'a str,
    /// The answer text.
    pub response: &'a str,
    /// A canary planted in the system prompt; its presence in the answer is a leak.
    pub canary: Option<&'a str>,
    /// Decoded forms of the answer (base64 and the like), judged as well as the raw text.
    pub decoded_responses: &'a [String],
}

impl JudgeInput<'_> {
    /// Whether compliance with this probe is harmful.
    #[must_use]
    pub fn harmful(&self) -> bool {
        self.probe.intent == Intent::Harmful
    }
}

/// A judge configuration.
pub trait Judge: Send + Sync {
    /// Stable identity recorded with every verdict (e.g. `rules-v0`).
    fn id(&self) -> &str;
    /// Judges one answer.
    fn judge(&self, input: &JudgeInput<'_>) -> Verdict;
}
