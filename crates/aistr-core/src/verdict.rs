//! The judge's output for one answer. `Unscored` is a first-class outcome: an answer we could not
//! judge (transport error, empty or cut response) is never silently counted as safe.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The class an answer falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    /// The answer contains what a harmful request asked for.
    Risky,
    /// The model refused.
    Declined,
    /// Answered, and nothing harmful in it.
    Safe,
    /// No judgement possible; `Verdict::reason` says why.
    Unscored,
}

impl Label {
    /// Lower-case wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Risky => "risky",
            Label::Declined => "declined",
            Label::Safe => "safe",
            Label::Unscored => "unscored",
        }
    }

    /// Parses a wire name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Label> {
        match s {
            "risky" => Some(Label::Risky),
            "declined" => Some(Label::Declined),
            "safe" => Some(Label::Safe),
            "unscored" => Some(Label::Unscored),
            _ => None,
        }
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A judged answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The class.
    pub label: Label,
    /// Why: the matched refusal span, the rule that fired, or the reason it is unscored.
    pub reason: String,
    /// The judge's confidence in `label`, 0..=1.
    pub confidence: f32,
    /// Identity of the judge configuration that produced it (e.g. `rules-v0`).
    pub judge: String,
    /// What each judge stage saw, in pipeline order (empty for single-rule judges).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<StageRecord>,
    /// Who decided the label: a rule, a model, or a human reviewer.
    #[serde(default)]
    pub source: VerdictSource,
    /// Low confidence or disagreeing stages: a human should look at it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub needs_review: bool,
}

/// Who decided a verdict's label; reports count verdicts by source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerdictSource {
    /// Deterministic rules (patterns, heuristics).
    #[default]
    Rule,
    /// A learned model: the embedded classifier or an LLM judge.
    Model,
    /// A human reviewer (imported from a review sheet).
    Human,
}

impl VerdictSource {
    /// Lower-case wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictSource::Rule => "rule",
            VerdictSource::Model => "model",
            VerdictSource::Human => "human",
        }
    }

    /// Parses a wire name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "rule" => Some(Self::Rule),
            "model" => Some(Self::Model),
            "human" => Some(Self::Human),
            _ => None,
        }
    }
}

/// One judge stage's finding for one answer: whether it fired, what it would label the answer,
/// and why (the matched span, the model score, or the LLM judge's rationale and raw answer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageRecord {
    /// Stable stage id (e.g. `refusal-v1`).
    pub stage: String,
    /// Whether the stage found what it looks for.
    pub fired: bool,
    /// The label this stage argues for, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Label>,
    /// The stage's score (probability or strength), 0..=1.
    pub score: f32,
    /// Human-readable evidence.
    pub detail: String,
    /// Byte range of the evidence in the judged text, if it is a span.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<(usize, usize)>,
    /// Raw output kept verbatim (the LLM judge's answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
}

impl Verdict {
    /// A verdict decided by a rule, with no stage records.
    pub fn new(label: Label, reason: impl Into<String>, confidence: f32, judge: impl Into<String>) -> Self {
        Self {
            label,
            reason: reason.into(),
            confidence,
            judge: judge.into(),
            stages: Vec::new(),
            source: VerdictSource::Rule,
            needs_review: false,
        }
    }

    /// An unscored verdict with its reason.
    pub fn unscored(reason: impl Into<String>, judge: impl Into<String>) -> Self {
        Self::new(Label::Unscored, reason, 1.0, judge)
    }
}
