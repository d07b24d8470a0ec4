//! Attack metadata. Every attack in the registry declares its level (WDTA AI-STR-02 L1..L4), its
//! family and what it needs from the target, so that a scan can say which levels it ran and why
//! others were skipped.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The attacker-knowledge levels of AI-STR-02.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Level {
    /// Random: plain risky requests, no attack skill.
    L1,
    /// Blind-box: crafted attacks without feedback from the target.
    L2,
    /// Black-box: attacks that adapt to the target's answers.
    L3,
    /// White-box: gradient attacks that need the weights.
    L4,
}

impl Level {
    /// All levels in order.
    pub const ALL: [Level; 4] = [Level::L1, Level::L2, Level::L3, Level::L4];

    /// `L1`..`L4`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Level::L1 => "L1",
            Level::L2 => "L2",
            Level::L3 => "L3",
            Level::L4 => "L4",
        }
    }

    /// Parses `L1`..`L4` (case-insensitive).
    #[must_use]
    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an attack needs from the target or the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Only sends prompts (every target).
    Query,
    /// Reads the target's answers and adapts (L3).
    Feedback,
    /// Needs an attacker model.
    AttackerModel,
    /// Needs weights and gradients (L4).
    Gradients,
    /// Needs a system prompt it can plant a canary in.
    SystemPrompt,
}

/// Registry entry describing one attack method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttackSpec {
    /// Stable id, never reused (e.g. `plain`, `masking.base64`).
    pub id: &'static str,
    /// Attack level.
    pub level: Level,
    /// Family within the level (e.g. `prompt_masking`).
    pub family: &'static str,
    /// One sentence for `aistr list attacks`.
    pub description: &'static str,
    /// What the attack needs.
    pub requires: &'static [Capability],
    /// Taxonomy tags such as `owasp:llm01` or `atlas:AML.T0054`.
    pub tags: &'static [&'static str],
    /// Languages the attack supports (`en`, `zh`).
    pub languages: &'static [&'static str],
}
