//! The records of a run, as the planner makes them, the engine fills them and the journal keeps
//! them: a run, its planned attempts and their results. They live here, not in the journal crate,
//! so the pure planner and the report renderers can use them without a database or a runtime;
//! `aistr-store` maps them to SQL.

use crate::{ChatRequest, ConversationSummary, Level, Probe, Verdict};

/// A run to create.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// Run id.
    pub id: String,
    /// What the run is: its scan specification (never a secret, only the names of the variables
    /// holding them), as JSON.
    pub config_json: String,
    /// Target identity, as JSON.
    pub target_json: String,
    /// Dataset ids and hashes, as JSON.
    pub datasets_json: String,
    /// Judge identity.
    pub judge: String,
}

/// A run as stored.
#[derive(Debug, Clone)]
pub struct RunRecord {
    /// Run id.
    pub id: String,
    /// Creation time.
    pub created_at: String,
    /// aistr version that created it.
    pub aistr_version: String,
    /// The scan specification JSON (older runs: the configuration shape of their aistr).
    pub config_json: String,
    /// Target identity JSON.
    pub target_json: String,
    /// Datasets JSON.
    pub datasets_json: String,
    /// Judge identity.
    pub judge: String,
    /// `running`, `finished`, `interrupted`.
    pub status: String,
}

/// One attempt as planned: everything needed to send it and to report it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedAttempt {
    /// Position in the run, unique per run.
    pub seq: i64,
    /// The base probe.
    pub probe: Probe,
    /// Attack level.
    pub level: Level,
    /// Method id (the chain joined with `+`, or `plain`).
    pub method: String,
    /// The attack chain.
    pub chain: Vec<String>,
    /// The exact request.
    pub request: ChatRequest,
    /// Canary planted in the system prompt, if any.
    pub canary: Option<String>,
    /// Decoders the judge should apply to the answer.
    pub decoders: Vec<String>,
}

/// The outcome of one attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptResult {
    /// Which attempt.
    pub seq: i64,
    /// Answer text (None when the transport failed).
    pub response_text: Option<String>,
    /// Raw bytes received.
    pub response_raw: Option<String>,
    /// Finish reason.
    pub finish_reason: Option<String>,
    /// Failure kind, when the transport failed.
    pub error_kind: Option<String>,
    /// Failure message.
    pub error_message: Option<String>,
    /// HTTP tries made.
    pub tries: u32,
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Completion tokens.
    pub completion_tokens: u32,
    /// When the first try started.
    pub started_at: String,
    /// Wall time until the answer.
    pub latency_ms: u64,
    /// The verdict.
    pub verdict: Verdict,
    /// For a multi-turn (L3) attempt: how the conversation went.
    pub conversation: Option<ConversationSummary>,
}

/// A planned attempt with its result, if it has one.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    /// The plan.
    pub planned: PlannedAttempt,
    /// The result (None while planned).
    pub result: Option<AttemptResult>,
}
