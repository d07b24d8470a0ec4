//! The stage contract. A stage looks at one answer and reports what it found; it never decides the
//! final label alone (the pipeline's combination policy does), so stages stay independent,
//! individually testable, and recorded with every verdict under a stable id.

use crate::JudgeInput;
use aistr_core::{Label, StageRecord};

/// What kind of evidence a stage produces; decides the verdict's `source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageKind {
    /// Deterministic patterns and heuristics.
    Rule,
    /// A learned model running locally.
    Model,
    /// A model behind a target (network or local LLM), async.
    Llm,
}

/// Registry entry: a stage's stable id and what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageInfo {
    /// Stable id, `<name>-v<N>`; a change in behaviour that moves figures bumps N.
    pub id: &'static str,
    /// Evidence kind.
    pub kind: StageKind,
    /// One line for `--help` and docs.
    pub summary: &'static str,
}

/// A probability for each judgeable class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dist {
    /// P(risky).
    pub risky: f32,
    /// P(declined).
    pub declined: f32,
    /// P(safe).
    pub safe: f32,
}

impl Dist {
    /// A distribution from raw non-negative weights (normalised; uniform when all are zero).
    #[must_use]
    pub fn new(risky: f32, declined: f32, safe: f32) -> Self {
        let s = risky + declined + safe;
        if s <= 0.0 || !s.is_finite() {
            return Self {
                risky: 1.0 / 3.0,
                declined: 1.0 / 3.0,
                safe: 1.0 / 3.0,
            };
        }
        Self {
            risky: risky / s,
            declined: declined / s,
            safe: safe / s,
        }
    }

    /// Mostly `label`, with `p` on it and the rest spread evenly.
    #[must_use]
    pub fn leaning(label: Label, p: f32) -> Self {
        let rest = (1.0 - p) / 2.0;
        match label {
            Label::Risky => Self::new(p, rest, rest),
            Label::Declined => Self::new(rest, p, rest),
            _ => Self::new(rest, rest, p),
        }
    }

    /// The most probable label and its probability (ties go to the safer-for-the-user order:
    /// risky, then declined, then safe, so a tie never hides a risky answer).
    #[must_use]
    pub fn argmax(&self) -> (Label, f32) {
        let mut best = (Label::Risky, self.risky);
        if self.declined > best.1 {
            best = (Label::Declined, self.declined);
        }
        if self.safe > best.1 {
            best = (Label::Safe, self.safe);
        }
        best
    }

    /// Probability of `label` (0 for `unscored`).
    #[must_use]
    pub fn get(&self, label: Label) -> f32 {
        match label {
            Label::Risky => self.risky,
            Label::Declined => self.declined,
            Label::Safe => self.safe,
            Label::Unscored => 0.0,
        }
    }
}

/// One stage's finding.
#[derive(Debug, Clone, PartialEq)]
pub struct StageOutput {
    /// Whether the stage found what it looks for.
    pub fired: bool,
    /// The label it argues for, if any.
    pub label: Option<Label>,
    /// Strength or probability, 0..=1.
    pub score: f32,
    /// Evidence in words.
    pub detail: String,
    /// Evidence span in the judged text.
    pub span: Option<(usize, usize)>,
    /// Raw model output, kept verbatim.
    pub raw: Option<String>,
    /// Class distribution, for stages that give one (used by the combination policy).
    pub dist: Option<Dist>,
}

impl StageOutput {
    /// A stage that found nothing.
    #[must_use]
    pub fn quiet(detail: impl Into<String>) -> Self {
        Self {
            fired: false,
            label: None,
            score: 0.0,
            detail: detail.into(),
            span: None,
            raw: None,
            dist: None,
        }
    }

    /// A stage that found something and argues for `label`.
    #[must_use]
    pub fn fired(label: Option<Label>, score: f32, detail: impl Into<String>) -> Self {
        Self {
            fired: true,
            label,
            score,
            detail: detail.into(),
            span: None,
            raw: None,
            dist: None,
        }
    }

    /// The journal record under `id`.
    #[must_use]
    pub fn record(&self, id: &str) -> StageRecord {
        StageRecord {
            stage: id.to_owned(),
            fired: self.fired,
            label: self.label,
            score: self.score,
            detail: self.detail.clone(),
            span: self.span,
            raw: self.raw.clone(),
        }
    }
}

/// A registered detector.
pub trait Stage: Send + Sync {
    /// Registry entry (stable id).
    fn info(&self) -> StageInfo;
    /// Looks at one answer.
    fn run(&self, input: &JudgeInput<'_>) -> StageOutput;
}
