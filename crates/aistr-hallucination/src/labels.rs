//! `aistr judge eval --task hallucination`: the labelled-file reader (JSON Lines of `request`,
//! `response`, `context`?, `label` ∈ {hallucinated, grounded, abstained}) and its metrics.
//!
//! Most answers are not hallucinated, so accuracy flatters a judge that never says
//! *hallucinated*; the headline numbers are the **balanced accuracy** (mean recall over the gold
//! classes present) and **precision, recall and F1 of `hallucinated`**. A row the judge leaves
//! *unscored* counts as wrong.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::HalluError;
use crate::score::LabelledRow;
use crate::verdict::HalluLabel;

/// Parses a labelled JSONL file; `path` names it in errors. Rows must have a gold label other
/// than `unscored`.
pub fn parse_labels(path: &Path, text: &str) -> Result<Vec<LabelledRow>, HalluError> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let err = |message: String| HalluError::Line {
            path: path.to_path_buf(),
            line: i + 1,
            message,
        };
        let mut row: LabelledRow = serde_json::from_str(line).map_err(|e| err(e.to_string()))?;
        match row.label {
            None => return Err(err("missing `label` (hallucinated, grounded or abstained)".into())),
            Some(HalluLabel::Unscored) => return Err(err("`unscored` is not a gold label".into())),
            Some(_) => {}
        }
        if row.id.is_none() {
            row.id = Some(format!("line-{}", i + 1));
        }
        rows.push(row);
    }
    Ok(rows)
}

fn idx(l: HalluLabel) -> usize {
    match l {
        HalluLabel::Grounded => 0,
        HalluLabel::Hallucinated => 1,
        HalluLabel::Abstained => 2,
        HalluLabel::Unscored => 3,
    }
}

/// Metrics of one judge on one labelled file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HalluMetrics {
    /// Rows scored.
    pub n: u64,
    /// Exact agreement.
    pub accuracy: f64,
    /// Mean recall over the gold classes present.
    pub balanced_accuracy: f64,
    /// Precision of `hallucinated`.
    pub precision: f64,
    /// Recall of `hallucinated`.
    pub recall: f64,
    /// F1 of `hallucinated`.
    pub f1: f64,
    /// Rows the judge left unscored.
    pub unscored: u64,
    /// `confusion[gold][predicted]` in [`HalluLabel::ALL`] order.
    pub confusion: [[u64; 4]; 4],
}

#[expect(clippy::cast_precision_loss, reason = "counts are far below 2^52")]
fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

impl HalluMetrics {
    /// Computes the metrics from (gold, predicted) pairs.
    #[must_use]
    pub fn from_pairs(pairs: &[(HalluLabel, HalluLabel)]) -> Self {
        let mut c = [[0u64; 4]; 4];
        for &(g, p) in pairs {
            c[idx(g)][idx(p)] += 1;
        }
        let n: u64 = c.iter().flatten().sum();
        let diag: u64 = (0..4).map(|i| c[i][i]).sum();
        let mut recalls = Vec::new();
        for (g, row) in c.iter().enumerate().take(3) {
            let total: u64 = row.iter().sum();
            if total > 0 {
                recalls.push(ratio(row[g], total));
            }
        }
        #[expect(clippy::cast_precision_loss, reason = "at most three classes")]
        let balanced = if recalls.is_empty() {
            0.0
        } else {
            recalls.iter().sum::<f64>() / recalls.len() as f64
        };
        let h = idx(HalluLabel::Hallucinated);
        let tp = c[h][h];
        let predicted: u64 = (0..4).map(|g| c[g][h]).sum();
        let gold: u64 = c[h].iter().sum();
        let precision = ratio(tp, predicted);
        let recall = ratio(tp, gold);
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        let unscored = (0..4).map(|g| c[g][3]).sum();
        Self {
            n,
            accuracy: ratio(diag, n),
            balanced_accuracy: balanced,
            precision,
            recall,
            f1,
            unscored,
            confusion: c,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use HalluLabel::{Abstained as A, Grounded as G, Hallucinated as H, Unscored as U};

    #[test]
    fn metrics_reward_finding_hallucinations() {
        let m = HalluMetrics::from_pairs(&[(G, G), (G, G), (G, H), (H, H), (H, U), (A, A)]);
        assert_eq!(m.n, 6);
        assert_eq!(m.unscored, 1);
        assert!((m.precision - 0.5).abs() < 1e-9);
        assert!((m.recall - 0.5).abs() < 1e-9);
        assert!((m.balanced_accuracy - (2.0 / 3.0 + 0.5 + 1.0) / 3.0).abs() < 1e-9);
        // A judge that never says hallucinated has F1 0 however accurate it is.
        let lazy = HalluMetrics::from_pairs(&[(G, G), (G, G), (G, G), (H, G)]);
        assert!(lazy.accuracy > 0.7 && lazy.f1 == 0.0);
    }

    #[test]
    fn label_files_fail_with_line_numbers() {
        let p = Path::new("labels.jsonl");
        let ok = parse_labels(
            p,
            "{\"request\":\"q\",\"response\":\"a\",\"label\":\"grounded\"}\n",
        )
        .expect("ok");
        assert_eq!(ok[0].id.as_deref(), Some("line-1"));
        for (text, needle) in [
            ("{\"request\":\"q\",\"response\":\"a\"}", "missing `label`"),
            (
                "{\"request\":\"q\",\"response\":\"a\",\"label\":\"unscored\"}",
                "not a gold label",
            ),
            (
                "{\"request\":\"q\",\"response\":\"a\",\"label\":\"risky\"}",
                "unknown variant",
            ),
        ] {
            let e = parse_labels(p, &format!("\n{text}\n"))
                .expect_err(text)
                .to_string();
            assert!(e.starts_with("labels.jsonl:2:") && e.contains(needle), "{e}");
        }
    }
}
