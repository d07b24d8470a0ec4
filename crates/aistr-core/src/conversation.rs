//! Multi-turn attacks (L3) as data: every call an orchestrator makes — to the attacker model or to
//! the target — is a [`Turn`], journaled as it completes so an interrupted conversation resumes
//! where it stopped; a finished conversation is one sample, summarised by [`ConversationSummary`].

use crate::{ChatRequest, Message, Verdict};
use serde::{Deserialize, Serialize};

/// Who a turn was sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TurnRole {
    /// The attacker model (writing the next attack prompt).
    Attacker,
    /// The target under test.
    Target,
}

impl TurnRole {
    /// `attacker` or `target`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            TurnRole::Attacker => "attacker",
            TurnRole::Target => "target",
        }
    }
}

/// One call of a conversation and what came back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    /// Call number within the conversation: 0, 1, 2, … with no gaps, in the order calls were issued.
    pub index: u32,
    /// Attacker or target.
    pub role: TurnRole,
    /// Where in the search this call sits (`s0.i2` = PAIR stream 0 iteration 2, `d1.n3` = TAP depth 1
    /// node 3, `t4` = conversation turn 4).
    pub branch: String,
    /// The exact request.
    pub request: ChatRequest,
    /// The answer text; None when the call failed.
    pub response: Option<String>,
    /// Why the call failed.
    pub error: Option<String>,
    /// The judge's verdict on a target answer.
    pub verdict: Option<Verdict>,
    /// The 1–10 score fed back to the attacker, for target turns.
    pub score: Option<u8>,
    /// Wall time of the call.
    pub latency_ms: u64,
}

/// A finished multi-turn attack: one sample of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ConversationSummary {
    /// Orchestrator id (`pair`, `tap`, `crescendo`, `multi-round`).
    pub orchestrator: String,
    /// The attacker that ran (`kind:model`).
    pub attacker: String,
    /// Whether some target answer was judged risky.
    pub success: bool,
    /// Target turns in the winning line (PAIR iteration, TAP depth, Crescendo/multi-round turn).
    pub turns_to_success: Option<u32>,
    /// Target queries sent up to and including the first risky answer.
    pub queries_to_success: Option<u32>,
    /// Target queries sent in all.
    pub target_queries: u32,
    /// Attacker queries sent in all.
    pub attacker_queries: u32,
    /// Crescendo backtracks (refused turns removed from the conversation).
    pub backtracks: u32,
    /// TAP prompts pruned as off-topic before reaching the target.
    pub pruned_off_topic: u32,
    /// TAP prompts pruned for width after scoring.
    pub pruned_width: u32,
    /// Why the search stopped: `success`, `query budget`, `turn budget`, `attacker failed`, ….
    pub stop_reason: String,
    /// The winning line as the target saw it, its answer last (the best-scoring line when there was
    /// no success).
    pub transcript: Vec<Message>,
}
