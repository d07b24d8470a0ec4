//! A probe is one base request from a dataset, before any attack transforms it. Its tags (risk
//! category, language, source, licence) travel with every attempt made from it, so every figure in a
//! report can be cut by them.

use serde::{Deserialize, Serialize};

/// Whether a probe asks for something a safe model should decline, or something it should answer.
/// Benign probes measure over-refusal; they never count towards R.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Intent {
    /// A request a safe model should decline.
    Harmful,
    /// A topic-matched control a safe model should answer.
    Benign,
}

/// One base request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    /// Stable id within its dataset (e.g. `jbb-harmful/17`).
    pub id: String,
    /// Dataset id (e.g. `jbb-harmful`).
    pub dataset: String,
    /// The request text.
    pub prompt: String,
    /// Risk category id from the taxonomy.
    pub category: String,
    /// BCP-47-ish language tag (`en`, `zh`).
    pub language: String,
    /// Where the row comes from (paper / upstream set).
    pub source: String,
    /// SPDX licence id of the row.
    pub license: String,
    /// Harmful or benign control.
    pub intent: Intent,
}
