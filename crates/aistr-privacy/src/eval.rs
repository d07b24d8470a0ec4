//! Measuring the detector against labelled text: precision, recall and F1 per kind, counted two
//! ways: *span-exact* (the predicted span has exactly the gold span's bounds) and *overlap* (it
//! shares at least one character with a gold span of the same kind). Each gold and each predicted
//! span is matched at most once.
//!
//! Two label formats are read (parsing only; the caller reads the files):
//! - Presidio-research's synthetic set (`synth_dataset_v2.json`: `full_text`, `spans` with
//!   `entity_type`, `start_position`, `end_position` in characters, `template_id`); its entity
//!   types are mapped onto our kinds, and the types we do not detect (names, organisations, dates,
//!   ...) are left out of the score.
//! - Our JSONL (`{"text", "spans": [{"kind", "start", "end"}], "note"}`, character offsets).
//!
//! Presidio's sentences come from templates; [`presidio_split`] splits them by template (even ids
//! to tune on, odd ids to quote), so no template is on both sides.

use crate::detect::Detector;
use crate::kind::PiiKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A labelled span, in characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// Kind id.
    pub kind: PiiKind,
    /// First character.
    pub start: usize,
    /// One past the last character.
    pub end: usize,
}

/// A text with its gold spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labelled {
    /// The text.
    pub text: String,
    /// Gold spans of the kinds being measured.
    pub spans: Vec<Span>,
    /// A group the text belongs to (Presidio's template id), for splitting.
    pub group: u64,
}

/// Why a labelled file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    /// The file is not what it should be.
    #[error("{file}:{line}: {problem}")]
    Bad {
        /// File name, as given.
        file: String,
        /// 1-based line (1 for a whole-file JSON document).
        line: usize,
        /// What is wrong.
        problem: String,
    },
}

/// Presidio entity types and the kinds they correspond to.
pub const PRESIDIO_TYPES: &[(&str, PiiKind)] = &[
    ("EMAIL_ADDRESS", PiiKind::Email),
    ("PHONE_NUMBER", PiiKind::Phone),
    ("CREDIT_CARD", PiiKind::Card),
    ("IBAN_CODE", PiiKind::Iban),
    ("US_SSN", PiiKind::UsSsn),
    ("IP_ADDRESS", PiiKind::IpAddress),
    ("STREET_ADDRESS", PiiKind::StreetAddress),
];

#[derive(Deserialize)]
struct PresidioRow {
    full_text: String,
    spans: Vec<PresidioSpan>,
    #[serde(default)]
    template_id: u64,
}

#[derive(Deserialize)]
struct PresidioSpan {
    entity_type: String,
    start_position: usize,
    end_position: usize,
}

/// Parses Presidio's synthetic set; spans of unmapped types are dropped (and counted in the
/// returned map by type).
pub fn parse_presidio(
    file: &str,
    json: &str,
) -> Result<(Vec<Labelled>, BTreeMap<String, usize>), LabelError> {
    let rows: Vec<PresidioRow> = serde_json::from_str(json).map_err(|e| LabelError::Bad {
        file: file.to_owned(),
        line: e.line(),
        problem: e.to_string(),
    })?;
    let mut skipped = BTreeMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let n = r.full_text.chars().count();
        let mut spans = Vec::new();
        for s in r.spans {
            match PRESIDIO_TYPES.iter().find(|(t, _)| *t == s.entity_type) {
                Some((_, kind)) if s.start_position < s.end_position && s.end_position <= n => {
                    spans.push(Span {
                        kind: *kind,
                        start: s.start_position,
                        end: s.end_position,
                    })
                }
                Some(_) => {
                    return Err(LabelError::Bad {
                        file: file.to_owned(),
                        line: 1,
                        problem: format!(
                            "span {}..{} outside a text of {n} characters",
                            s.start_position, s.end_position
                        ),
                    });
                }
                None => *skipped.entry(s.entity_type).or_insert(0) += 1,
            }
        }
        out.push(Labelled {
            text: r.full_text,
            spans,
            group: r.template_id,
        });
    }
    Ok((out, skipped))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonlRow {
    text: String,
    #[serde(default)]
    spans: Vec<Span>,
    #[serde(default)]
    #[allow(dead_code)]
    note: String,
}

/// Parses our labelled JSONL (blank lines allowed); every error names the line.
pub fn parse_jsonl(file: &str, text: &str) -> Result<Vec<Labelled>, LabelError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |problem: String| LabelError::Bad {
            file: file.to_owned(),
            line: i + 1,
            problem,
        };
        let row: JsonlRow = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
        let n = row.text.chars().count();
        for s in &row.spans {
            if s.start >= s.end || s.end > n {
                return Err(bad(format!(
                    "span {}..{} outside a text of {n} characters",
                    s.start, s.end
                )));
            }
        }
        out.push(Labelled {
            text: row.text,
            spans: row.spans,
            group: i as u64,
        });
    }
    Ok(out)
}

/// Presidio's set split by template: (even template ids = the half patterns may be tuned on, odd
/// ids = the half figures are quoted from).
#[must_use]
pub fn presidio_split(rows: Vec<Labelled>) -> (Vec<Labelled>, Vec<Labelled>) {
    rows.into_iter().partition(|r| r.group % 2 == 0)
}

/// Counts for one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Predicted spans matched to a gold span.
    pub tp: u64,
    /// Predicted spans with no gold match.
    pub fp: u64,
    /// Gold spans with no predicted match.
    pub fn_: u64,
}

impl Tally {
    /// tp / (tp + fp).
    #[must_use]
    pub fn precision(&self) -> Option<f64> {
        let d = self.tp + self.fp;
        (d > 0).then(|| self.tp as f64 / d as f64)
    }

    /// tp / (tp + fn).
    #[must_use]
    pub fn recall(&self) -> Option<f64> {
        let d = self.tp + self.fn_;
        (d > 0).then(|| self.tp as f64 / d as f64)
    }

    /// Harmonic mean of precision and recall.
    #[must_use]
    pub fn f1(&self) -> Option<f64> {
        let d = 2 * self.tp + self.fp + self.fn_;
        (d > 0).then(|| 2.0 * self.tp as f64 / d as f64)
    }

    fn add(&mut self, o: &Tally) {
        self.tp += o.tp;
        self.fp += o.fp;
        self.fn_ += o.fn_;
    }
}

/// Span-exact and overlap counts for one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct KindScore {
    /// Gold spans of this kind.
    pub gold: u64,
    /// Span-exact matching.
    pub exact: Tally,
    /// Overlap matching.
    pub overlap: Tally,
}

/// Scores per kind, plus the total over `kinds` (micro-averaged).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Scores {
    /// Per kind.
    pub by_kind: BTreeMap<PiiKind, KindScore>,
    /// All measured kinds together.
    pub total: KindScore,
    /// Texts scored.
    pub texts: usize,
}

/// Detected spans of `text` in characters.
#[must_use]
pub fn predict(detector: &Detector, text: &str) -> Vec<Span> {
    let found = detector.detect(text);
    let mut char_at = vec![0usize; text.len() + 1];
    let mut n = 0;
    for (i, c) in text.char_indices() {
        for b in 0..c.len_utf8() {
            char_at[i + b] = n;
        }
        n += 1;
    }
    char_at[text.len()] = n;
    found
        .into_iter()
        .map(|d| Span {
            kind: d.kind,
            start: char_at[d.start],
            end: char_at[d.end],
        })
        .collect()
}

/// Scores the detector on `rows` for `kinds` (predictions of other kinds are ignored: the gold
/// set has no labels for them).
#[must_use]
pub fn score(detector: &Detector, rows: &[Labelled], kinds: &[PiiKind]) -> Scores {
    let mut scores = Scores {
        texts: rows.len(),
        ..Scores::default()
    };
    for k in kinds {
        scores.by_kind.insert(*k, KindScore::default());
    }
    for r in rows {
        let pred: Vec<Span> = predict(detector, &r.text)
            .into_iter()
            .filter(|s| kinds.contains(&s.kind))
            .collect();
        for k in kinds {
            let g: Vec<&Span> = r.spans.iter().filter(|s| s.kind == *k).collect();
            let p: Vec<&Span> = pred.iter().filter(|s| s.kind == *k).collect();
            let entry = scores.by_kind.entry(*k).or_default();
            entry.gold += g.len() as u64;
            entry
                .exact
                .add(&matching(&g, &p, |a, b| a.start == b.start && a.end == b.end));
            entry
                .overlap
                .add(&matching(&g, &p, |a, b| a.start < b.end && b.start < a.end));
        }
    }
    let mut total = KindScore::default();
    for s in scores.by_kind.values() {
        total.gold += s.gold;
        total.exact.add(&s.exact);
        total.overlap.add(&s.overlap);
    }
    scores.total = total;
    scores
}

/// Greedy one-to-one matching of predicted to gold spans.
fn matching(gold: &[&Span], pred: &[&Span], same: impl Fn(&Span, &Span) -> bool) -> Tally {
    let mut used = vec![false; gold.len()];
    let mut tp = 0;
    for p in pred {
        if let Some(i) = (0..gold.len()).find(|&i| !used[i] && same(gold[i], p)) {
            used[i] = true;
            tp += 1;
        }
    }
    Tally {
        tp,
        fp: pred.len() as u64 - tp,
        fn_: gold.len() as u64 - tp,
    }
}

/// A plain-text table of `scores` (what `examples/pii_eval.rs` prints).
#[must_use]
pub fn render_table(title: &str, scores: &Scores) -> String {
    let f = |x: Option<f64>| x.map_or_else(|| "  -  ".to_owned(), |v| format!("{v:.3}"));
    let mut out = format!(
        "{title} ({} texts)\n{:<16} {:>5} | {:>6} {:>6} {:>6} | {:>6} {:>6} {:>6}\n",
        scores.texts, "kind", "gold", "P", "R", "F1", "P~", "R~", "F1~"
    );
    let mut line = |name: &str, s: &KindScore| {
        out.push_str(&format!(
            "{:<16} {:>5} | {:>6} {:>6} {:>6} | {:>6} {:>6} {:>6}\n",
            name,
            s.gold,
            f(s.exact.precision()),
            f(s.exact.recall()),
            f(s.exact.f1()),
            f(s.overlap.precision()),
            f(s.overlap.recall()),
            f(s.overlap.f1()),
        ));
    };
    for (k, s) in &scores.by_kind {
        line(k.id(), s);
    }
    line("all", &scores.total);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_overlap_counting() {
        let rows = vec![Labelled {
            text: "mail a@example.com or call +852 9123 4567 today".into(),
            spans: vec![
                Span {
                    kind: PiiKind::Email,
                    start: 5,
                    end: 18,
                },
                // Gold includes the trailing word: overlap but not exact.
                Span {
                    kind: PiiKind::Phone,
                    start: 27,
                    end: 47,
                },
            ],
            group: 0,
        }];
        let s = score(Detector::shared(), &rows, &[PiiKind::Email, PiiKind::Phone]);
        let e = s.by_kind[&PiiKind::Email];
        assert_eq!((e.exact.tp, e.exact.fp, e.exact.fn_), (1, 0, 0));
        let p = s.by_kind[&PiiKind::Phone];
        assert_eq!((p.exact.tp, p.exact.fp, p.exact.fn_), (0, 1, 1));
        assert_eq!((p.overlap.tp, p.overlap.fp, p.overlap.fn_), (1, 0, 0));
        assert_eq!(s.total.gold, 2);
        assert!(render_table("t", &s).contains("phone"));
    }

    #[test]
    fn label_files_fail_with_file_line_and_problem() {
        let e = parse_jsonl("set.jsonl", "{\"text\": \"ab\"}\n{\"text\": \"ab\", \"spans\": [{\"kind\": \"hkid\", \"start\": 0, \"end\": 9}]}")
            .expect_err("bad span");
        assert!(e.to_string().starts_with("set.jsonl:2: span 0..9"), "{e}");
        let e = parse_jsonl("set.jsonl", "{\"text\": 1}").expect_err("bad type");
        assert!(e.to_string().starts_with("set.jsonl:1: "), "{e}");
        let e = parse_jsonl("set.jsonl", "{\"txt\": \"a\"}").expect_err("unknown field");
        assert!(e.to_string().contains("unknown field"), "{e}");
        let (rows, skipped) = parse_presidio(
            "p.json",
            r#"[{"full_text": "x a@b.co", "spans": [{"entity_type": "EMAIL_ADDRESS", "start_position": 2, "end_position": 8}, {"entity_type": "PERSON", "start_position": 0, "end_position": 1}], "template_id": 3}]"#,
        )
        .expect("parses");
        assert_eq!(rows[0].spans.len(), 1);
        assert_eq!(skipped["PERSON"], 1);
        let (tune, test) = presidio_split(rows);
        assert!(tune.is_empty() && test.len() == 1);
    }
}
