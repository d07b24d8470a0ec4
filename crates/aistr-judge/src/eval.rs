//! Measuring a judge against human labels: the labelled-file reader (JSONL or CSV with the columns
//! `request`, `response`, `label`) and the metrics `aistr judge eval` prints.
//!
//! Conventions: *accuracy* and Cohen's κ are over all four labels (a judge that answers `unscored`
//! for a labelled row is wrong on it); precision, recall, F1, FPR and FNR treat **risky** as the
//! positive class (the attack-success decision R rests on); `declined_f1` does the same for
//! **declined** (the refusal decision D rests on). Rows without a gold label are predicted but not
//! scored.

use aistr_core::{Intent, Label};
use serde::{Deserialize, Serialize};

/// One labelled (or unlabelled) row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvalRow {
    /// Row id (defaults to the line number).
    #[serde(default)]
    pub id: Option<String>,
    /// The request.
    pub request: String,
    /// The answer to judge.
    pub response: String,
    /// Gold label, if known.
    #[serde(default, deserialize_with = "label_opt")]
    pub label: Option<Label>,
    /// Whether the request is harmful (default) or a benign control.
    #[serde(default)]
    pub intent: Option<Intent>,
    /// Language tag.
    #[serde(default)]
    pub lang: Option<String>,
    /// Free-form kind (refusal, partial, disclaimer, off-topic, encoded…).
    #[serde(default)]
    pub kind: Option<String>,
    /// Decoders to apply to the answer (base64, hex, rot13…).
    #[serde(default)]
    pub decoders: Vec<String>,
    /// Finish reason, when known (`length` marks a cut answer).
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// Human harm label, when the file has one apart from `label`: `risky` or `not`.
    #[serde(default)]
    pub harm: Option<String>,
    /// Human refusal label: `full`, `partial` or `none`.
    #[serde(default)]
    pub refusal: Option<String>,
}

impl EvalRow {
    /// Gold harm (risky or not): the `harm` field, else derived from `label` (unscored: none).
    #[must_use]
    pub fn gold_harm(&self) -> Option<bool> {
        match self.harm.as_deref() {
            Some(h) => Some(h == "risky"),
            None => match self.label? {
                Label::Risky => Some(true),
                Label::Declined | Label::Safe => Some(false),
                Label::Unscored => None,
            },
        }
    }

    /// Gold refusal (full or partial vs none): the `refusal` field, else derived from `label`
    /// (declined: yes, safe: no; risky and unscored: unknown).
    #[must_use]
    pub fn gold_refusal(&self) -> Option<bool> {
        match self.refusal.as_deref() {
            Some(r) => Some(r != "none"),
            None => match self.label? {
                Label::Declined => Some(true),
                Label::Safe => Some(false),
                Label::Risky | Label::Unscored => None,
            },
        }
    }

    fn check(&self) -> Result<(), String> {
        if let Some(h) = self.harm.as_deref().filter(|h| !matches!(*h, "risky" | "not")) {
            return Err(format!("unknown harm `{h}` (risky | not)"));
        }
        if let Some(r) = self
            .refusal
            .as_deref()
            .filter(|r| !matches!(*r, "full" | "partial" | "none"))
        {
            return Err(format!("unknown refusal `{r}` (full | partial | none)"));
        }
        Ok(())
    }
}

/// Whether a verdict says the answer refuses (fully or partly): *declined* does, *safe* and
/// *unscored* do not, and a *risky* verdict does when a refusal stage fired (a partial refusal
/// that still delivers: `refusal-learned-v2`, else `refusal-v1`).
#[must_use]
pub fn predicted_refusal(v: &aistr_core::Verdict) -> bool {
    match v.label {
        Label::Declined => true,
        Label::Safe | Label::Unscored => false,
        Label::Risky => {
            let find = |id: &str| v.stages.iter().find(|s| s.stage == id);
            find(crate::stages::LEARNED_REFUSAL.id)
                .or_else(|| find(crate::stages::REFUSAL.id))
                .is_some_and(|s| s.fired)
        }
    }
}

/// Agreement on a binary decision, with its Wilson 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    /// Rows with a gold value.
    pub n: u64,
    /// Rows where the judge agreed.
    pub agree: u64,
    /// `agree / n`.
    pub rate: f64,
    /// Wilson 95% interval of the rate.
    pub wilson95: (f64, f64),
    /// Gold positive, predicted positive / negative; gold negative, predicted positive / negative.
    pub confusion: [[u64; 2]; 2],
}

/// Agreement of `predicted` with `gold` over rows where gold is known. An unscored prediction
/// (`None`) counts as a disagreement.
#[must_use]
pub fn agreement(gold: &[Option<bool>], predicted: &[Option<bool>]) -> Agreement {
    let mut c = [[0u64; 2]; 2];
    let (mut n, mut agree) = (0u64, 0u64);
    for (g, p) in gold.iter().zip(predicted) {
        let Some(g) = *g else { continue };
        n += 1;
        let p_pos = p.unwrap_or(!g);
        agree += u64::from(*p == Some(g));
        c[usize::from(!g)][usize::from(!p_pos)] += 1;
    }
    Agreement {
        n,
        agree,
        rate: ratio(agree, n),
        wilson95: aistr_core::metrics::wilson(agree, n, 1.959_964).unwrap_or((0.0, 0.0)),
        confusion: c,
    }
}

/// Paired bootstrap of the difference in agreement between two judges on the same rows
/// (`a[i]`/`b[i]`: judge A/B right on row i): the observed difference and the 2.5–97.5th
/// percentiles of `reps` resamples (seeded, so the interval is reproducible).
#[must_use]
pub fn paired_bootstrap(a: &[bool], b: &[bool], reps: usize, seed: u64) -> (f64, f64, f64) {
    let n = a.len().min(b.len());
    if n == 0 {
        return (0.0, 0.0, 0.0);
    }
    let d: Vec<i32> = (0..n).map(|i| i32::from(a[i]) - i32::from(b[i])).collect();
    #[expect(clippy::cast_precision_loss, reason = "row counts are small")]
    let mean = |s: i64| s as f64 / n as f64;
    let observed = mean(d.iter().map(|&x| i64::from(x)).sum());
    let mut rng = crate::learned::SplitMix(seed);
    let mut reps_v: Vec<f64> = (0..reps.max(1))
        .map(|_| mean((0..n).map(|_| i64::from(d[rng.below(n)])).sum()))
        .collect();
    reps_v.sort_by(f64::total_cmp);
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "percentile index"
    )]
    let at = |q: f64| reps_v[((q * (reps_v.len() - 1) as f64).round() as usize).min(reps_v.len() - 1)];
    (observed, at(0.025), at(0.975))
}

fn label_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Label>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => Label::parse(&t.to_lowercase())
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown label `{t}`"))),
    }
}

/// A labelled file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A JSONL line is not a valid row.
    #[error("line {line}: {message}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The CSV is malformed or lacks the required columns.
    #[error("csv: {0}")]
    Csv(String),
}

/// Parses JSONL rows (blank lines skipped).
pub fn parse_jsonl(text: &str) -> Result<Vec<EvalRow>, EvalError> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut row: EvalRow = serde_json::from_str(line).map_err(|e| EvalError::Line {
            line: i + 1,
            message: e.to_string(),
        })?;
        row.check()
            .map_err(|message| EvalError::Line { line: i + 1, message })?;
        if row.id.is_none() {
            row.id = Some(format!("line-{}", i + 1));
        }
        rows.push(row);
    }
    Ok(rows)
}

/// Parses CSV rows with a header naming at least `request` and `response` (and optionally
/// `label`, `intent`, `id`, `lang`, `kind`, `decoders` separated by `|`, `finish_reason`).
pub fn parse_csv(text: &str) -> Result<Vec<EvalRow>, EvalError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| EvalError::Csv(e.to_string()))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.trim().eq_ignore_ascii_case(name));
    let (Some(req), Some(resp)) = (col("request"), col("response")) else {
        return Err(EvalError::Csv(
            "the header must name `request` and `response`".into(),
        ));
    };
    let (label, intent, id, lang, kind, decoders, finish) = (
        col("label"),
        col("intent"),
        col("id"),
        col("lang"),
        col("kind"),
        col("decoders"),
        col("finish_reason"),
    );
    let mut rows = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| EvalError::Csv(e.to_string()))?;
        let get = |c: Option<usize>| {
            c.and_then(|c| rec.get(c))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let label = match get(label) {
            None => None,
            Some(l) => Some(Label::parse(&l.to_lowercase()).ok_or_else(|| EvalError::Line {
                line: i + 2,
                message: format!("unknown label `{l}`"),
            })?),
        };
        let intent = match get(intent).as_deref() {
            None => None,
            Some("harmful") => Some(Intent::Harmful),
            Some("benign") => Some(Intent::Benign),
            Some(o) => {
                return Err(EvalError::Line {
                    line: i + 2,
                    message: format!("unknown intent `{o}`"),
                });
            }
        };
        rows.push(EvalRow {
            id: get(id).or_else(|| Some(format!("row-{}", i + 1))),
            request: rec.get(req).unwrap_or_default().to_owned(),
            response: rec.get(resp).unwrap_or_default().to_owned(),
            label,
            intent,
            lang: get(lang),
            kind: get(kind),
            decoders: get(decoders)
                .map(|d| {
                    d.split('|')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            finish_reason: get(finish),
            harm: get(col("harm")),
            refusal: get(col("refusal")),
        });
        if let Some(r) = rows.last() {
            r.check()
                .map_err(|message| EvalError::Line { line: i + 2, message })?;
        }
    }
    Ok(rows)
}

/// Label order of the confusion matrix rows (gold) and columns (predicted).
pub const ORDER: [Label; 4] = [Label::Risky, Label::Declined, Label::Safe, Label::Unscored];

fn idx(l: Label) -> usize {
    match l {
        Label::Risky => 0,
        Label::Declined => 1,
        Label::Safe => 2,
        Label::Unscored => 3,
    }
}

/// Gold × predicted counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confusion {
    /// `counts[gold][predicted]`, both in [`ORDER`].
    pub counts: [[u64; 4]; 4],
}

impl Confusion {
    /// Adds one scored row.
    pub fn add(&mut self, gold: Label, predicted: Label) {
        self.counts[idx(gold)][idx(predicted)] += 1;
    }

    /// Rows counted.
    #[must_use]
    pub fn n(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }
}

/// The metrics of one configuration on one labelled file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Labelled rows scored.
    pub n: u64,
    /// Exact-label agreement.
    pub accuracy: f64,
    /// Risky precision.
    pub precision: f64,
    /// Risky recall.
    pub recall: f64,
    /// Risky F1.
    pub f1: f64,
    /// Non-risky rows judged risky, over non-risky rows.
    pub fpr: f64,
    /// Risky rows judged otherwise, over risky rows.
    pub fnr: f64,
    /// Cohen's κ over the four labels.
    pub kappa: f64,
    /// Declined F1 (refusal detection).
    pub declined_f1: f64,
    /// The confusion matrix.
    pub confusion: Confusion,
}

#[expect(clippy::cast_precision_loss, reason = "counts are far below 2^52")]
fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
}

impl Metrics {
    /// Computes every metric from a confusion matrix.
    #[must_use]
    pub fn from_confusion(c: &Confusion) -> Self {
        let n = c.n();
        let m = &c.counts;
        let diag: u64 = (0..4).map(|i| m[i][i]).sum();
        let binary = |k: usize| {
            let tp = m[k][k];
            let fp: u64 = (0..4).filter(|&g| g != k).map(|g| m[g][k]).sum();
            let fn_: u64 = (0..4).filter(|&p| p != k).map(|p| m[k][p]).sum();
            (tp, fp, fn_, n - tp - fp - fn_)
        };
        let (tp, fp, fn_, tn) = binary(0);
        let precision = ratio(tp, tp + fp);
        let recall = ratio(tp, tp + fn_);
        let (dtp, dfp, dfn, _) = binary(1);
        let declined_f1 = f1(ratio(dtp, dtp + dfp), ratio(dtp, dtp + dfn));
        let po = ratio(diag, n);
        #[expect(clippy::cast_precision_loss, reason = "counts are far below 2^52")]
        let pe = if n == 0 {
            0.0
        } else {
            let nf = n as f64;
            (0..4)
                .map(|i| {
                    (m[i].iter().sum::<u64>() as f64 / nf)
                        * ((0..4).map(|g| m[g][i]).sum::<u64>() as f64 / nf)
                })
                .sum()
        };
        let kappa = if (1.0 - pe).abs() < 1e-12 {
            if (po - 1.0).abs() < 1e-12 { 1.0 } else { 0.0 }
        } else {
            (po - pe) / (1.0 - pe)
        };
        Self {
            n,
            accuracy: po,
            precision,
            recall,
            f1: f1(precision, recall),
            fpr: ratio(fp, fp + tn),
            fnr: ratio(fn_, tp + fn_),
            kappa,
            declined_f1,
            confusion: *c,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_by_hand() {
        let mut c = Confusion::default();
        // 4 risky: 3 caught, 1 called declined. 4 declined: 3 right, 1 called risky. 2 safe right.
        for (g, p, k) in [
            (Label::Risky, Label::Risky, 3),
            (Label::Risky, Label::Declined, 1),
            (Label::Declined, Label::Declined, 3),
            (Label::Declined, Label::Risky, 1),
            (Label::Safe, Label::Safe, 2),
        ] {
            for _ in 0..k {
                c.add(g, p);
            }
        }
        let m = Metrics::from_confusion(&c);
        assert_eq!(m.n, 10);
        assert!((m.accuracy - 0.8).abs() < 1e-9);
        assert!(
            (m.precision - 0.75).abs() < 1e-9 && (m.recall - 0.75).abs() < 1e-9 && (m.f1 - 0.75).abs() < 1e-9
        );
        assert!((m.fpr - 1.0 / 6.0).abs() < 1e-9 && (m.fnr - 0.25).abs() < 1e-9);
        // pe = 0.4*0.4 + 0.4*0.4 + 0.2*0.2 = 0.36; kappa = (0.8-0.36)/0.64
        assert!((m.kappa - 0.6875).abs() < 1e-9, "{}", m.kappa);
        assert!((m.declined_f1 - 0.75).abs() < 1e-9);
    }

    #[test]
    fn binary_agreement_and_bootstrap() {
        let gold = [Some(true), Some(false), Some(false), None, Some(true)];
        let pred = [Some(true), Some(true), Some(false), Some(true), None];
        let a = agreement(&gold, &pred);
        assert_eq!(
            (a.n, a.agree),
            (4, 2),
            "unknown gold skipped, unscored prediction wrong"
        );
        assert_eq!(a.confusion, [[1, 1], [1, 1]]);
        assert!(a.wilson95.0 < 0.5 && a.wilson95.1 > 0.5);
        let better = [true; 50];
        let worse: Vec<bool> = (0..50).map(|i| i % 2 == 0).collect();
        let (d, lo, hi) = paired_bootstrap(&better, &worse, 1000, 1);
        assert!((d - 0.5).abs() < 1e-9 && lo > 0.3 && hi < 0.7, "{d} {lo} {hi}");
        assert_eq!(paired_bootstrap(&better, &worse, 1000, 1), (d, lo, hi), "seeded");
        let rows = parse_jsonl("{\"request\":\"q\",\"response\":\"a\",\"label\":\"risky\",\"refusal\":\"partial\",\"harm\":\"risky\"}").unwrap();
        assert_eq!(
            (rows[0].gold_harm(), rows[0].gold_refusal()),
            (Some(true), Some(true))
        );
        assert!(matches!(
            parse_jsonl("{\"request\":\"q\",\"response\":\"a\",\"refusal\":\"maybe\"}"),
            Err(EvalError::Line { line: 1, .. })
        ));
    }

    #[test]
    fn perfect_and_empty() {
        let mut c = Confusion::default();
        c.add(Label::Safe, Label::Safe);
        assert_eq!(Metrics::from_confusion(&c).kappa, 1.0);
        let m = Metrics::from_confusion(&Confusion::default());
        assert_eq!((m.n, m.accuracy, m.f1), (0, 0.0, 0.0));
    }

    #[test]
    fn reads_jsonl_and_csv() {
        let rows = parse_jsonl("{\"request\":\"q\",\"response\":\"a\",\"label\":\"risky\"}\n\n{\"request\":\"q2\",\"response\":\"b\",\"intent\":\"benign\"}\n").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].label, Some(Label::Risky));
        assert_eq!(rows[1].label, None);
        assert_eq!(rows[1].intent, Some(Intent::Benign));
        assert_eq!(rows[1].id.as_deref(), Some("line-3"));
        assert!(matches!(
            parse_jsonl("{\"request\":\"q\",\"response\":\"a\",\"label\":\"bad\"}"),
            Err(EvalError::Line { line: 1, .. })
        ));
        let rows = parse_csv(
            "request,response,label,decoders\n\"How, exactly?\",\"no\",declined,base64|hex\nq,a,\n",
        )
        .unwrap();
        assert_eq!(rows[0].request, "How, exactly?");
        assert_eq!(rows[0].decoders, vec!["base64", "hex"]);
        assert_eq!(rows[1].label, None);
        assert!(parse_csv("prompt,answer\nq,a\n").is_err());
    }
}
