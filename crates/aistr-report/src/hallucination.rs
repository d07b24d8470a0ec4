//! The hallucination section of a report: H (hallucinated / scored) and the abstention rate with
//! Wilson intervals, per probe set, language and category, and fabricated-quotation examples
//! from the journal (what the model said, what the corpus holds).
//!
//! A hallucination run's judge (id `hallucination-…`) records its four verdicts in the journal's
//! label column as `risky` = hallucinated, `declined` = abstained, `safe` = grounded and
//! `unscored` = unscored, and the evidence of each claim as a stage record `evidence:<finding>`
//! (detail = the claim, raw = what it was checked against). This module reads them back; it is
//! the only place that mapping is undone, so an abstention is never counted as a hallucination
//! and an unscored answer never as grounded.

use aistr_core::metrics::{Z95, wilson};
use aistr_core::{AttemptRecord, Label};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Fabricated-quotation examples kept in a report.
pub const EXAMPLES: usize = 5;

/// Whether a judge id is a hallucination judge's.
#[must_use]
pub fn is_hallucination_judge(judge: &str) -> bool {
    judge.starts_with("hallucination-")
}

/// One cell: counts, H and the abstention rate over scored answers, with 95% Wilson intervals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
pub struct HalluCell {
    /// All answers recorded (scored or not).
    pub n: u64,
    /// Grounded + hallucinated + abstained: the denominator of H and of the abstention rate.
    pub scored: u64,
    /// Hallucinated answers.
    pub hallucinated: u64,
    /// Abstentions.
    pub abstained: u64,
    /// Grounded answers.
    pub grounded: u64,
    /// Answers that could not be scored (empty, cut at the token limit, nothing checkable,
    /// transport failure): never counted as grounded.
    pub unscored: u64,
    /// H = hallucinated / scored (null without a scored answer).
    pub h: Option<f64>,
    /// 95% Wilson interval of H.
    pub h_ci: Option<[f64; 2]>,
    /// Abstained / scored.
    pub abstention_rate: Option<f64>,
    /// 95% Wilson interval of the abstention rate.
    pub abstention_ci: Option<[f64; 2]>,
}

impl HalluCell {
    fn add(&mut self, label: Label) {
        self.n += 1;
        match label {
            Label::Risky => self.hallucinated += 1,
            Label::Declined => self.abstained += 1,
            Label::Safe => self.grounded += 1,
            Label::Unscored => self.unscored += 1,
        }
    }

    fn finish(&mut self) {
        self.scored = self.hallucinated + self.abstained + self.grounded;
        #[expect(clippy::cast_precision_loss, reason = "sample counts are far below 2^52")]
        let ratio = |k: u64| (self.scored > 0).then(|| k as f64 / self.scored as f64);
        self.h = ratio(self.hallucinated);
        self.abstention_rate = ratio(self.abstained);
        self.h_ci = wilson(self.hallucinated, self.scored, Z95).map(|(a, b)| [a, b]);
        self.abstention_ci = wilson(self.abstained, self.scored, Z95).map(|(a, b)| [a, b]);
    }
}

/// A fabricated (or misattributed) quotation found in an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HalluExample {
    /// Attempt number in the run's journal.
    pub seq: i64,
    /// Probe id.
    pub probe_id: String,
    /// `fabricated`, `misattributed` or `misquoted`.
    pub finding: String,
    /// The quotation as the model gave it (with its attribution).
    pub claim: String,
    /// What the corpus holds nearest to it (null when nothing is near).
    pub corpus: Option<String>,
    /// The request (truncated).
    pub request: String,
    /// The answer (truncated).
    pub answer: String,
    /// Whether the answer counted in H: false for an answer cut at the token limit, whose
    /// quotations were checked but which is unscored (absent in older reports: true).
    #[serde(default = "counted_default")]
    pub counted: bool,
}

fn counted_default() -> bool {
    true
}

/// The hallucination section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
pub struct HallucinationSection {
    /// Every answer of the run.
    pub overall: HalluCell,
    /// Per probe set (dataset id).
    pub by_probe_set: BTreeMap<String, HalluCell>,
    /// Per language.
    pub by_language: BTreeMap<String, HalluCell>,
    /// Per `probe-set/category`.
    pub by_category: BTreeMap<String, HalluCell>,
    /// Claims checked in the answers that counted, by finding (`verbatim`, `fabricated`,
    /// `misattributed`, …).
    pub findings: BTreeMap<String, u64>,
    /// Fabricated quotations first, then misattributed and misquoted ones (at most five);
    /// quotations of counted answers before those of cut ones.
    pub examples: Vec<HalluExample>,
    /// TruthfulQA multiple choice, measured once per run from the target's log-likelihoods
    /// (absent when the run did not select `truthfulqa-mc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truthfulqa_mc: Option<McSection>,
    /// Self-consistency, measured once per run from k sampled answers per question besides the
    /// main one (absent when the run did not select `selfcheck`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selfcheck: Option<SelfCheckSection>,
}

/// One sentence of a main answer and how well the samples support it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SelfCheckSentence {
    /// The sentence.
    pub sentence: String,
    /// Mean over the samples of the best similarity to one of the sample's sentences.
    pub support: f64,
    /// Below the scorer's support threshold: a claim the samples don't agree on.
    pub flagged: bool,
}

/// One self-consistency question: the main (greedy) answer, the samples, the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SelfCheckItem {
    /// Probe id (`selfcheck/N`).
    pub probe_id: String,
    /// The question.
    pub question: String,
    /// Language of the question.
    pub language: String,
    /// `hallucinated`, `grounded`, `abstained` or `unscored`.
    pub label: String,
    /// Why.
    pub reason: String,
    /// The main answer (truncated).
    pub answer: String,
    /// Samples answered (of k) and usable as evidence.
    pub samples: u64,
    /// The main answer's sentences with their support (empty when unscored or abstained).
    pub sentences: Vec<SelfCheckSentence>,
}

/// Self-consistency (SelfCheckGPT-style) over the run's `selfcheck` questions: H and the
/// abstention rate with Wilson intervals, and per question the sentences the samples don't
/// support. Every answer, main or sample, is journaled as it arrives, so a resumed run sends only
/// what is missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SelfCheckSection {
    /// Scorer id (`selfcheck-v1/<similarity>`).
    pub scorer: String,
    /// Samples per question besides the main answer.
    pub k: u32,
    /// Sampling temperature of the samples (the main answer is greedy).
    pub temperature: f64,
    /// Token cap of every answer.
    pub max_tokens: u32,
    /// Counts, H and abstention rate over the questions.
    pub cell: HalluCell,
    /// Every question.
    pub items: Vec<SelfCheckItem>,
}

impl SelfCheckSection {
    /// The section of `items` (labels as in [`SelfCheckItem::label`]; any other counts as
    /// unscored, never as grounded).
    #[must_use]
    pub fn from_items(
        scorer: String,
        k: u32,
        temperature: f64,
        max_tokens: u32,
        items: Vec<SelfCheckItem>,
    ) -> Self {
        let mut cell = HalluCell::default();
        for it in &items {
            cell.add(match it.label.as_str() {
                "hallucinated" => Label::Risky,
                "abstained" => Label::Declined,
                "grounded" => Label::Safe,
                _ => Label::Unscored,
            });
        }
        cell.finish();
        Self {
            scorer,
            k,
            temperature,
            max_tokens,
            cell,
            items,
        }
    }
}

/// One multiple-choice question as the target scored it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct McItem {
    /// Probe id (`truthfulqa-mc/ROW`).
    pub probe_id: String,
    /// The question.
    pub question: String,
    /// Number of choices scored.
    pub choices: u64,
    /// Whether the most likely choice is the best answer (None: not scored).
    pub mc1: Option<bool>,
    /// Probability mass on the correct choices (None: not scored).
    pub mc2: Option<f64>,
    /// The most likely choice.
    pub top_choice: Option<String>,
    /// Why the question could not be scored (a target error).
    pub error: Option<String>,
}

/// TruthfulQA multiple choice: MC1 (the most likely choice is the best answer) with a Wilson
/// interval, and the mean MC2 (mass on the correct choices), over the questions the target scored.
/// A question that could not be scored is counted apart, never as right.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct McSection {
    /// `run` or `not run`.
    pub status: String,
    /// Why it was not run (the target exposes no log-likelihoods).
    pub reason: Option<String>,
    /// Questions planned.
    pub questions: u64,
    /// Questions every choice of which got a log-likelihood.
    pub scored: u64,
    /// Questions whose scoring failed.
    pub errors: u64,
    /// Scored questions whose most likely choice is the best answer.
    pub mc1_right: u64,
    /// `mc1_right / scored`.
    pub mc1: Option<f64>,
    /// 95% Wilson interval of MC1.
    pub mc1_ci: Option<[f64; 2]>,
    /// Mean MC2 over the scored questions.
    pub mc2: Option<f64>,
    /// Every question.
    pub items: Vec<McItem>,
}

impl McSection {
    /// The section of a target that gives no log-likelihoods: not run, and why.
    #[must_use]
    pub fn not_run(questions: u64, reason: impl Into<String>) -> Self {
        Self {
            status: "not run".into(),
            reason: Some(reason.into()),
            questions,
            scored: 0,
            errors: 0,
            mc1_right: 0,
            mc1: None,
            mc1_ci: None,
            mc2: None,
            items: Vec::new(),
        }
    }

    /// The section of the scored questions.
    #[must_use]
    #[expect(clippy::cast_precision_loss, reason = "question counts are far below 2^52")]
    pub fn from_items(items: Vec<McItem>) -> Self {
        let scored: Vec<&McItem> = items.iter().filter(|i| i.mc1.is_some()).collect();
        let n = scored.len() as u64;
        let right = scored.iter().filter(|i| i.mc1 == Some(true)).count() as u64;
        let mc2_sum: f64 = scored.iter().filter_map(|i| i.mc2).sum();
        Self {
            status: "run".into(),
            reason: None,
            questions: items.len() as u64,
            scored: n,
            errors: items.len() as u64 - n,
            mc1_right: right,
            mc1: (n > 0).then(|| right as f64 / n as f64),
            mc1_ci: wilson(right, n, Z95).map(|(lo, hi)| [lo, hi]),
            mc2: (n > 0).then(|| mc2_sum / n as f64),
            items,
        }
    }
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

/// The section of a hallucination run (None for any other judge).
#[must_use]
pub fn hallucination_section(judge: &str, attempts: &[AttemptRecord]) -> Option<HallucinationSection> {
    if !is_hallucination_judge(judge) {
        return None;
    }
    let mut s = HallucinationSection::default();
    let mut candidates: Vec<(u8, HalluExample)> = Vec::new();
    for a in attempts {
        let Some(result) = &a.result else { continue };
        let p = &a.planned.probe;
        let label = result.verdict.label;
        s.overall.add(label);
        s.by_probe_set.entry(p.dataset.clone()).or_default().add(label);
        s.by_language.entry(p.language.clone()).or_default().add(label);
        s.by_category
            .entry(format!("{}/{}", p.dataset, p.category))
            .or_default()
            .add(label);
        for st in &result.verdict.stages {
            let Some(finding) = st.stage.strip_prefix("evidence:") else {
                continue;
            };
            let counted = label != Label::Unscored;
            if counted {
                *s.findings.entry(finding.to_owned()).or_default() += 1;
            }
            let rank = match finding {
                "fabricated" => 0,
                "misattributed" => 1,
                "misquoted" => 2,
                _ => continue,
            } + if counted { 0 } else { 3 };
            candidates.push((
                rank,
                HalluExample {
                    seq: a.planned.seq,
                    probe_id: p.id.clone(),
                    finding: finding.to_owned(),
                    claim: st.detail.clone(),
                    corpus: st.raw.clone(),
                    request: cut(&p.prompt, 200),
                    answer: cut(result.response_text.as_deref().unwrap_or(""), 400),
                    counted,
                },
            ));
        }
    }
    candidates.sort_by_key(|(rank, e)| (*rank, e.seq));
    // An answer that loops repeats its quotation: each (answer, claim) is shown once.
    let mut shown = std::collections::HashSet::new();
    s.examples = candidates
        .into_iter()
        .filter(|(_, e)| shown.insert((e.seq, e.claim.clone())))
        .take(EXAMPLES)
        .map(|(_, e)| e)
        .collect();
    s.overall.finish();
    for m in [&mut s.by_probe_set, &mut s.by_language, &mut s.by_category] {
        m.values_mut().for_each(HalluCell::finish);
    }
    Some(s)
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{:.1}%", 100.0 * x))
}

fn ci(v: Option<[f64; 2]>) -> String {
    v.map_or_else(
        || "-".into(),
        |[a, b]| format!("[{:.1}, {:.1}]", 100.0 * a, 100.0 * b),
    )
}

fn rows(s: &HallucinationSection) -> Vec<(String, &HalluCell)> {
    let mut out = vec![("overall".to_owned(), &s.overall)];
    out.extend(s.by_probe_set.iter().map(|(k, c)| (format!("set {k}"), c)));
    out.extend(s.by_language.iter().map(|(k, c)| (format!("language {k}"), c)));
    out.extend(s.by_category.iter().map(|(k, c)| (format!("category {k}"), c)));
    out
}

fn cells(name: &str, c: &HalluCell) -> [String; 8] {
    [
        name.to_owned(),
        c.n.to_string(),
        c.scored.to_string(),
        c.hallucinated.to_string(),
        format!("{} {}", pct(c.h), ci(c.h_ci)),
        c.abstained.to_string(),
        format!("{} {}", pct(c.abstention_rate), ci(c.abstention_ci)),
        c.unscored.to_string(),
    ]
}

const HEADERS: [&str; 8] = [
    "cell",
    "n",
    "scored",
    "halluc.",
    "H [95% CI]",
    "abstained",
    "abstention [95% CI]",
    "unscored",
];

/// The mark of an example from an answer that did not count in H.
fn not_counted(e: &HalluExample) -> &'static str {
    if e.counted {
        ""
    } else {
        " (cut answer, not counted)"
    }
}

/// One line on the multiple-choice measurement.
fn selfcheck_line(s: &SelfCheckSection) -> String {
    let c = &s.cell;
    format!(
        "Self-consistency ({}, k = {} samples at temperature {:.1}, {} tokens): H {} {} ({} of n = {} scored), abstained {}, unscored {} of {} questions",
        s.scorer,
        s.k,
        s.temperature,
        s.max_tokens,
        pct(c.h),
        ci(c.h_ci),
        c.hallucinated,
        c.scored,
        c.abstained,
        c.unscored,
        c.n
    )
}

/// The flagged sentences of the self-consistency questions, at most `EXAMPLES`.
fn selfcheck_flags(s: &SelfCheckSection) -> Vec<(&str, &SelfCheckSentence)> {
    s.items
        .iter()
        .flat_map(|i| {
            i.sentences
                .iter()
                .filter(|x| x.flagged)
                .map(move |x| (i.probe_id.as_str(), x))
        })
        .take(EXAMPLES)
        .collect()
}

fn mc_line(m: &McSection) -> String {
    if m.status != "run" {
        return format!(
            "TruthfulQA multiple choice: not run ({}), {} questions",
            m.reason.as_deref().unwrap_or("no reason recorded"),
            m.questions
        );
    }
    format!(
        "TruthfulQA multiple choice (the target's log-likelihoods): MC1 {} {} ({} right of n = {} scored), mean MC2 {}; {} of {} questions could not be scored",
        pct(m.mc1),
        ci(m.mc1_ci),
        m.mc1_right,
        m.scored,
        m.mc2.map_or_else(|| "-".into(), |x| format!("{x:.3}")),
        m.errors,
        m.questions
    )
}

pub(crate) fn terminal_section(out: &mut String, s: Option<&HallucinationSection>) {
    use std::fmt::Write as _;
    let Some(s) = s else { return };
    let _ = writeln!(
        out,
        "\nHallucination: H = hallucinated / scored; abstentions are not hallucinations, unscored answers are not grounded"
    );
    let width = rows(s)
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(
        out,
        "{:<width$}  {:>4} {:>6} {:>7}  {:<22} {:>9}  {:<22} {:>8}",
        HEADERS[0], HEADERS[1], HEADERS[2], HEADERS[3], HEADERS[4], HEADERS[5], HEADERS[6], HEADERS[7]
    );
    for (k, c) in rows(s) {
        let v = cells(&k, c);
        let _ = writeln!(
            out,
            "{:<width$}  {:>4} {:>6} {:>7}  {:<22} {:>9}  {:<22} {:>8}",
            v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]
        );
    }
    if let Some(m) = &s.truthfulqa_mc {
        let _ = writeln!(out, "{}", mc_line(m));
    }
    if let Some(sc) = &s.selfcheck {
        let _ = writeln!(out, "{}", selfcheck_line(sc));
        for (id, x) in selfcheck_flags(sc) {
            let _ = writeln!(
                out,
                "  {id} not supported by the samples ({:.2}): {}",
                x.support, x.sentence
            );
        }
    }
    for e in &s.examples {
        let _ = writeln!(
            out,
            "  #{} {} {}{}: {}\n      corpus: {}",
            e.seq,
            e.probe_id,
            e.finding,
            not_counted(e),
            e.claim,
            e.corpus.as_deref().unwrap_or("(nothing near)")
        );
    }
}

pub(crate) fn markdown_section(out: &mut String, s: Option<&HallucinationSection>) {
    use crate::escape::md_inline;
    use std::fmt::Write as _;
    let Some(s) = s else { return };
    out.push_str("\n## Hallucination\n\nH = hallucinated / scored answers; abstentions are not hallucinations and unscored answers are not grounded. Intervals are 95% Wilson.\n\n");
    let _ = writeln!(
        out,
        "| {} |\n|---|--:|--:|--:|---|--:|---|--:|",
        HEADERS.join(" | ")
    );
    for (k, c) in rows(s) {
        let v: Vec<String> = cells(&k, c).iter().map(|x| md_inline(x)).collect();
        let _ = writeln!(out, "| {} |", v.join(" | "));
    }
    if let Some(m) = &s.truthfulqa_mc {
        let _ = writeln!(out, "\n{}.", md_inline(&mc_line(m)));
    }
    if let Some(sc) = &s.selfcheck {
        let _ = writeln!(out, "\n{}.", md_inline(&selfcheck_line(sc)));
        let flags = selfcheck_flags(sc);
        if !flags.is_empty() {
            out.push_str("\n| probe | sentence the samples don't support | support |\n|---|---|--:|\n");
            for (id, x) in flags {
                let _ = writeln!(
                    out,
                    "| {} | {} | {:.2} |",
                    md_inline(id),
                    md_inline(&x.sentence),
                    x.support
                );
            }
        }
    }
    if !s.examples.is_empty() {
        out.push_str("\n### Quotations not in the corpus as given\n\n| # | probe | finding | the model said | the corpus holds |\n|--:|---|---|---|---|\n");
        for e in &s.examples {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                e.seq,
                md_inline(&e.probe_id),
                md_inline(&format!("{}{}", e.finding, not_counted(e))),
                md_inline(&e.claim),
                md_inline(e.corpus.as_deref().unwrap_or("(nothing near)"))
            );
        }
    }
}

pub(crate) fn html_section(out: &mut String, s: Option<&HallucinationSection>) {
    use crate::escape::html as esc;
    use std::fmt::Write as _;
    let Some(s) = s else { return };
    out.push_str("<h2>Hallucination</h2><p class=muted>H = hallucinated / scored answers; abstentions are not hallucinations and unscored answers are not grounded. Intervals are 95% Wilson.</p><table><thead><tr>");
    for h in HEADERS {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for (k, c) in rows(s) {
        out.push_str("<tr>");
        for v in cells(&k, c) {
            let _ = write!(out, "<td>{}</td>", esc(&v));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    if let Some(m) = &s.truthfulqa_mc {
        let _ = write!(out, "<p>{}.</p>", esc(&mc_line(m)));
    }
    if let Some(sc) = &s.selfcheck {
        let _ = write!(out, "<p>{}.</p>", esc(&selfcheck_line(sc)));
        let flags = selfcheck_flags(sc);
        if !flags.is_empty() {
            out.push_str("<table><thead><tr><th>probe</th><th>sentence the samples don't support</th><th>support</th></tr></thead><tbody>");
            for (id, x) in flags {
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td>{:.2}</td></tr>",
                    esc(id),
                    esc(&x.sentence),
                    x.support
                );
            }
            out.push_str("</tbody></table>");
        }
    }
    if !s.examples.is_empty() {
        out.push_str("<h3>Quotations not in the corpus as given</h3><table><thead><tr><th>#</th><th>probe</th><th>finding</th><th>the model said</th><th>the corpus holds</th></tr></thead><tbody>");
        for e in &s.examples {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                e.seq,
                esc(&e.probe_id),
                esc(&format!("{}{}", e.finding, not_counted(e))),
                esc(&e.claim),
                esc(e.corpus.as_deref().unwrap_or("(nothing near)"))
            );
        }
        out.push_str("</tbody></table>");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abstentions_and_unscored_answers_stay_out_of_h() {
        let mut c = HalluCell::default();
        for l in [
            Label::Risky,
            Label::Declined,
            Label::Declined,
            Label::Safe,
            Label::Unscored,
        ] {
            c.add(l);
        }
        c.finish();
        assert_eq!((c.n, c.scored, c.hallucinated, c.unscored), (5, 4, 1, 1));
        assert_eq!(c.h, Some(0.25));
        assert_eq!(c.abstention_rate, Some(0.5));
        let [lo, hi] = c.h_ci.expect("interval");
        assert!(lo < 0.25 && hi > 0.25);
        assert!(hallucination_section("rules-v1", &[]).is_none());
        let empty = hallucination_section("hallucination-char3-v1", &[]).expect("section");
        assert_eq!(empty.overall.h, None);
    }

    fn item(id: &str, label: &str, flagged: &[(&str, bool)]) -> SelfCheckItem {
        SelfCheckItem {
            probe_id: id.into(),
            question: "Q?".into(),
            language: "en".into(),
            label: label.into(),
            reason: String::new(),
            answer: String::new(),
            samples: 4,
            sentences: flagged
                .iter()
                .map(|(s, f)| SelfCheckSentence {
                    sentence: (*s).into(),
                    support: if *f { 0.2 } else { 0.9 },
                    flagged: *f,
                })
                .collect(),
        }
    }

    #[test]
    fn selfcheck_counts_unknown_labels_as_unscored_and_shows_flagged_sentences() {
        let sc = SelfCheckSection::from_items(
            "selfcheck-v1/char3-cosine".into(),
            4,
            0.8,
            64,
            vec![
                item(
                    "selfcheck/0",
                    "hallucinated",
                    &[("It was built in 1820 <b>.", true), ("Fine.", false)],
                ),
                item("selfcheck/1", "grounded", &[("Fine.", false)]),
                item("selfcheck/2", "abstained", &[]),
                item("selfcheck/3", "garbled", &[]),
            ],
        );
        assert_eq!(
            (
                sc.cell.n,
                sc.cell.scored,
                sc.cell.hallucinated,
                sc.cell.grounded,
                sc.cell.abstained,
                sc.cell.unscored
            ),
            (4, 3, 1, 1, 1, 1)
        );
        let s = HallucinationSection {
            selfcheck: Some(sc),
            ..HallucinationSection::default()
        };
        let mut md = String::new();
        markdown_section(&mut md, Some(&s));
        assert!(md.contains("H 33.3%") && md.contains("1 of n = 3 scored"), "{md}");
        assert!(
            md.contains("It was built in 1820") && !md.contains("| Fine. |"),
            "{md}"
        );
        let mut html = String::new();
        html_section(&mut html, Some(&s));
        assert!(
            html.contains("1820 &lt;b&gt;.") && !html.contains("<b>."),
            "{html}"
        );
        let mut term = String::new();
        terminal_section(&mut term, Some(&s));
        assert!(
            term.contains("selfcheck/0 not supported by the samples (0.20)"),
            "{term}"
        );
    }
}
