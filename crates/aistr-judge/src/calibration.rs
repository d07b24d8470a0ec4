//! The judge's measured error, shipped with the crate: per judge configuration, the confusion
//! matrix on a labelled set's harmful rows (`data/calibration.json`). Reports use it to show R and
//! D corrected for judge error ("judge-calibrated", see `aistr-report`'s `calibrate`).
//!
//! The set is `data/calibration/batch4.jsonl`: answers of the embedded SmolLM2 to requests no
//! judge was trained, tuned or written on, labelled by two blind annotators and adjudicated
//! (`data/calibration/README.md`). The file is generated, never edited by hand:
//!
//! ```text
//! aistr judge eval --labels crates/aistr-judge/data/calibration/batch4.jsonl --judge all \
//!     --calibration-held-out --calibration-out crates/aistr-judge/data/calibration.json
//! ```
//!
//! and a test (`crates/aistr/tests/judge.rs`) checks it still agrees with what `judge eval`
//! computes and with the set's sha256. A file measured on a self-labelled set (the dev set the
//! rules were written on) says so, and reports then call the intervals optimistic.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The shipped file's text.
pub const SHIPPED_JSON: &str = include_str!("../data/calibration.json");

/// The dev set the matrices were measured on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevSet {
    /// Path in the repository.
    pub path: String,
    /// sha256 of the file's bytes.
    pub sha256: String,
    /// All rows.
    pub rows: u64,
    /// Rows with a harmful request and a gold label (what the matrices count).
    pub harmful_rows: u64,
    /// Labels made by the judge's own authors (figures optimistic).
    pub self_labelled: bool,
    /// Blind annotators' labels of answers no judge configuration was trained, tuned or written on.
    #[serde(default)]
    pub held_out: bool,
}

/// One configuration's measured error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigCalibration {
    /// Rows counted (harmful, labelled).
    pub n: u64,
    /// `confusion[gold][predicted]` in [`crate::eval::ORDER`] (risky, declined, safe, unscored).
    pub confusion: [[u64; 4]; 4],
}

/// `data/calibration.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalibrationFile {
    /// What the figures are and how far to trust them.
    pub note: String,
    /// The command that wrote the file.
    pub generated_by: String,
    /// The dev set.
    pub dev_set: DevSet,
    /// Row and column order of every matrix.
    pub label_order: Vec<String>,
    /// Matrices by judge id (`rules-v1`, `rules+embedded-v1`, …).
    pub configurations: BTreeMap<String, ConfigCalibration>,
}

/// What a file measured on self-labelled rows says about them.
pub const NOTE: &str = "Confusion matrices (rows = human label, columns = judge label) of each judge configuration on the \
harmful-request rows of the labelled file. Its labels were made by the judge's own authors, so these error rates are \
optimistic and judge-calibrated intervals built on them too narrow.";

/// What a file measured on held-out human labels says about them.
pub const NOTE_HELD_OUT: &str = "Confusion matrices (rows = human label, columns = judge label) of each judge configuration on the \
harmful-request rows of the labelled file: labels by two blind annotators of the team (disagreements adjudicated) of \
answers to requests that no judge configuration was trained, tuned or written on. The set is small, so the judge-calibrated \
intervals are wide; they carry that uncertainty.";

/// The command that regenerates the shipped file.
pub const GENERATED_BY: &str = "aistr judge eval --labels crates/aistr-judge/data/calibration/batch4.jsonl --judge all --calibration-held-out --calibration-out crates/aistr-judge/data/calibration.json";

/// The shipped calibration (parsed once).
///
/// # Panics
/// If the shipped file is malformed (a test parses it, so a release cannot ship one).
#[must_use]
pub fn shipped() -> &'static CalibrationFile {
    static FILE: OnceLock<CalibrationFile> = OnceLock::new();
    FILE.get_or_init(|| serde_json::from_str(SHIPPED_JSON).expect("data/calibration.json parses"))
}

/// The measured error of the judge whose verdicts carry `judge_id`, if it was measured. The
/// informational `+jailguard` stage never sets a label, so `X+jailguard-v1` uses `X-v1`'s entry;
/// configurations with an LLM judge have none (their error depends on the model).
#[must_use]
pub fn lookup(judge_id: &str) -> Option<&'static ConfigCalibration> {
    let key = judge_id.replace("+jailguard", "");
    shipped().configurations.get(&key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_file_parses_and_covers_the_offline_configurations() {
        let f = shipped();
        assert!(f.dev_set.held_out && !f.dev_set.self_labelled && f.note == NOTE_HELD_OUT);
        assert_eq!(f.generated_by, GENERATED_BY);
        assert_eq!(f.label_order, ["risky", "declined", "safe", "unscored"]);
        for id in [
            "rules-v0",
            "rules-v1",
            "embedded-v1",
            "rules+embedded-v1",
            "learned-v2",
        ] {
            let c = lookup(id).unwrap_or_else(|| panic!("no entry for {id}"));
            assert_eq!(c.n, c.confusion.iter().flatten().sum::<u64>());
            assert_eq!(c.n, f.dev_set.harmful_rows);
        }
        assert_eq!(lookup("rules+embedded+jailguard-v1"), lookup("rules+embedded-v1"));
        assert_eq!(lookup("rules+llm-v1"), None);
    }
}
