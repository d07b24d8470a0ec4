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
}

impl Verdict {
    /// An unscored verdict with its reason.
    pub fn unscored(reason: impl Into<String>, judge: impl Into<String>) -> Self {
        Self { label: Label::Unscored, reason: reason.into(), confidence: 1.0, judge: judge.into() }
    }
}
