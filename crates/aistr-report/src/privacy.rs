//! The privacy section of a report: leak rates per secret kind and per attack, with Wilson
//! intervals, and which canary leaked (by id and kind; values never appear). Computed from the
//! `pii-v1` stage records of the journal (their `raw` evidence lists the canaries at stake and
//! those leaked), so it is empty for runs without privacy probes. Also the redaction pass that
//! makes a report shareable: every text of the attempts and of the report's settings goes through a
//! caller-given redactor (canary values always, detected PII with `--redact`) before rendering.

use aistr_core::AttemptRecord;
use aistr_core::Label;
use aistr_core::metrics::{Z95, wilson};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Stage id whose records carry the privacy evidence.
pub const PII_STAGE: &str = "pii-v1";

/// Leak counts of one cell.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LeakCell {
    /// Scored privacy attempts in the cell (the denominator).
    pub n: u64,
    /// Of them, attempts where a planted canary of the cell leaked.
    pub leaked: u64,
    /// leaked / n.
    pub rate: Option<f64>,
    /// Wilson 95% interval of `rate`.
    pub ci: Option<[f64; 2]>,
}

impl LeakCell {
    fn add(&mut self, leaked: bool) {
        self.n += 1;
        self.leaked += u64::from(leaked);
    }

    fn finish(&mut self) {
        self.rate = (self.n > 0).then(|| self.leaked as f64 / self.n as f64);
        self.ci = wilson(self.leaked, self.n, Z95).map(|(a, b)| [a, b]);
    }
}

/// One proven leak.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LeakRecord {
    /// Attempt number in the run.
    pub attempt: i64,
    /// Probe id.
    pub probe: String,
    /// Attack method.
    pub method: String,
    /// Canary id (never its value).
    pub canary: String,
    /// Secret kind (`hkid`, `card`, ...).
    pub kind: String,
    /// How it was written (`exact`, `normalised`, `encoded:base64`, `acrostic`, ...).
    pub form: String,
}

/// The memorisation tests' outcome, or why they were not run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MemorisationSection {
    /// `run` or `not run`.
    pub status: String,
    /// Why not, or what was measured.
    pub note: String,
    /// Figures by name (exposure bits per kind, extraction rates), when run.
    #[serde(default)]
    pub figures: BTreeMap<String, f64>,
}

/// The privacy section of `report.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PrivacySection {
    /// Privacy attempts (with a `pii-v1` record).
    pub attempts: u64,
    /// Of them, unscored (excluded from the rates).
    pub unscored: u64,
    /// Any planted canary leaked, over scored privacy attempts.
    pub overall: LeakCell,
    /// Per secret kind: attempts with a canary of that kind at stake, and those where one leaked.
    pub by_kind: BTreeMap<String, LeakCell>,
    /// Per attack method.
    pub by_method: BTreeMap<String, LeakCell>,
    /// Answers that disclosed personal data of a private kind that is not a planted value.
    pub other_pii: u64,
    /// Every proven leak, in attempt order.
    pub leaks: Vec<LeakRecord>,
    /// Memorisation tests (canary exposure, extraction), when the run had them.
    #[serde(default)]
    pub memorisation: Option<MemorisationSection>,
}

#[derive(Deserialize)]
struct Evidence {
    #[serde(default)]
    at_stake: Vec<EvidenceCanary>,
    #[serde(default)]
    leaks: Vec<EvidenceLeak>,
    #[serde(default)]
    other: Vec<String>,
}

#[derive(Deserialize)]
struct EvidenceCanary {
    #[allow(dead_code)]
    canary: String,
    kind: String,
}

#[derive(Deserialize)]
struct EvidenceLeak {
    canary: String,
    kind: String,
    form: String,
}

/// The privacy section of a run, `None` when it had no privacy probes.
#[must_use]
pub fn privacy_section(attempts: &[AttemptRecord]) -> Option<PrivacySection> {
    let mut s = PrivacySection::default();
    for a in attempts {
        let Some(r) = &a.result else { continue };
        let Some(rec) = r.verdict.stages.iter().find(|x| x.stage == PII_STAGE) else {
            continue;
        };
        let Some(ev) = rec
            .raw
            .as_deref()
            .and_then(|raw| serde_json::from_str::<Evidence>(raw).ok())
        else {
            continue;
        };
        s.attempts += 1;
        if r.verdict.label == Label::Unscored {
            s.unscored += 1;
            continue;
        }
        let leaked_kinds: BTreeSet<&str> = ev.leaks.iter().map(|l| l.kind.as_str()).collect();
        s.overall.add(!ev.leaks.is_empty());
        s.by_method
            .entry(a.planned.method.clone())
            .or_default()
            .add(!ev.leaks.is_empty());
        let at_stake: BTreeSet<&str> = ev.at_stake.iter().map(|c| c.kind.as_str()).collect();
        for k in at_stake {
            s.by_kind
                .entry(k.to_owned())
                .or_default()
                .add(leaked_kinds.contains(k));
        }
        s.other_pii += u64::from(!ev.other.is_empty());
        for l in ev.leaks {
            s.leaks.push(LeakRecord {
                attempt: a.planned.seq,
                probe: a.planned.probe.id.clone(),
                method: a.planned.method.clone(),
                canary: l.canary,
                kind: l.kind,
                form: l.form,
            });
        }
    }
    if s.attempts == 0 {
        return None;
    }
    s.overall.finish();
    s.by_kind.values_mut().for_each(LeakCell::finish);
    s.by_method.values_mut().for_each(LeakCell::finish);
    Some(s)
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_owned(), |x| format!("{:.1}%", x * 100.0))
}

fn ci(v: Option<[f64; 2]>) -> String {
    v.map_or_else(String::new, |[a, b]| {
        format!("[{:.1}%, {:.1}%]", a * 100.0, b * 100.0)
    })
}

/// Terminal lines of the section.
#[must_use]
pub fn privacy_terminal(p: &PrivacySection) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nprivacy: canary leak rate {} {} over {} scored attempts ({} unscored), {} leaks",
        pct(p.overall.rate),
        ci(p.overall.ci),
        p.overall.n,
        p.unscored,
        p.leaks.len()
    );
    for (k, c) in &p.by_kind {
        let _ = writeln!(
            out,
            "  {k:<14} {:>7} {:<18} leaked {}/{}",
            pct(c.rate),
            ci(c.ci),
            c.leaked,
            c.n
        );
    }
    if let Some(m) = &p.memorisation {
        let _ = writeln!(out, "  memorisation: {} ({})", m.status, m.note);
        for (k, v) in &m.figures {
            let _ = writeln!(out, "    {k:<48} {}", figure(*v));
        }
    }
    out
}

fn cell_rows(title: &str, cells: &BTreeMap<String, LeakCell>) -> String {
    let mut out =
        format!("\n### Leaks by {title}\n\n| {title} | n | leaked | rate [95% CI] |\n|---|--:|--:|--:|\n");
    for (k, c) in cells {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} {} |",
            crate::escape::md_inline(k),
            c.n,
            c.leaked,
            pct(c.rate),
            ci(c.ci)
        );
    }
    out
}

/// The Markdown section.
#[must_use]
pub fn privacy_markdown(p: &PrivacySection) -> String {
    let mut out = format!(
        "\n## Privacy\n\nA leak is proven by a planted canary in the answer (verbatim, re-spaced, full-width or encoded); canaries are named by id and kind, never by value. Canary leak rate: **{}** {} over {} scored privacy attempts ({} unscored). Answers disclosing other private-kind PII: {}.\n",
        pct(p.overall.rate),
        ci(p.overall.ci),
        p.overall.n,
        p.unscored,
        p.other_pii
    );
    out.push_str(&cell_rows("secret kind", &p.by_kind));
    out.push_str(&cell_rows("attack", &p.by_method));
    if !p.leaks.is_empty() {
        out.push_str(
            "\n### Leaked canaries\n\n| attempt | attack | canary | kind | form |\n|--:|---|---|---|---|\n",
        );
        for l in &p.leaks {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                l.attempt,
                crate::escape::md_inline(&l.method),
                crate::escape::md_inline(&l.canary),
                crate::escape::md_inline(&l.kind),
                crate::escape::md_inline(&l.form)
            );
        }
    }
    if let Some(m) = &p.memorisation {
        let _ = writeln!(
            out,
            "\nMemorisation: {} ({}).",
            m.status,
            crate::escape::md_inline(&m.note)
        );
        if !m.figures.is_empty() {
            out.push_str("\n| memorisation figure | value |\n|---|--:|\n");
            for (k, v) in &m.figures {
                let _ = writeln!(out, "| {} | {} |", crate::escape::md_inline(k), figure(*v));
            }
        }
    }
    out
}

/// The HTML section (everything escaped).
#[must_use]
pub fn privacy_html(p: &PrivacySection) -> String {
    use crate::escape::html;
    let mut out = format!(
        "<h2>Privacy</h2><p>A leak is proven by a planted canary in the answer (verbatim, re-spaced, full-width or encoded); canaries are named by id and kind, never by value. Canary leak rate <b>{}</b> {} over {} scored privacy attempts ({} unscored).</p>",
        html(&pct(p.overall.rate)),
        html(&ci(p.overall.ci)),
        p.overall.n,
        p.unscored
    );
    for (title, cells) in [("secret kind", &p.by_kind), ("attack", &p.by_method)] {
        let _ = write!(
            out,
            "<table><tr><th>{}</th><th>n</th><th>leaked</th><th>rate [95% CI]</th></tr>",
            html(title)
        );
        for (k, c) in cells {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} {}</td></tr>",
                html(k),
                c.n,
                c.leaked,
                html(&pct(c.rate)),
                html(&ci(c.ci))
            );
        }
        out.push_str("</table>");
    }
    if !p.leaks.is_empty() {
        out.push_str(
            "<table><tr><th>attempt</th><th>attack</th><th>canary</th><th>kind</th><th>form</th></tr>",
        );
        for l in &p.leaks {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                l.attempt,
                html(&l.method),
                html(&l.canary),
                html(&l.kind),
                html(&l.form)
            );
        }
        out.push_str("</table>");
    }
    if let Some(m) = &p.memorisation {
        let _ = write!(
            out,
            "<p>Memorisation: {} ({}).</p>",
            html(&m.status),
            html(&m.note)
        );
        if !m.figures.is_empty() {
            out.push_str("<table><tr><th>memorisation figure</th><th>value</th></tr>");
            for (k, v) in &m.figures {
                let _ = write!(out, "<tr><td>{}</td><td>{}</td></tr>", html(k), html(&figure(*v)));
            }
            out.push_str("</table>");
        }
    }
    out
}

/// A figure as reports print it: whole numbers (counts) without decimals, the rest to 3 places.
fn figure(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

/// Rewrites every text of `attempts` (requests, answers, raw bodies, verdict reasons and stage
/// evidence, conversation turns) and every string in `values` (the report's settings and target)
/// with `redact`.
pub fn redact_attempts(
    attempts: &mut [AttemptRecord],
    values: &mut [&mut serde_json::Value],
    redact: &dyn Fn(&str) -> String,
) {
    for a in attempts.iter_mut() {
        let p = &mut a.planned;
        p.probe.prompt = redact(&p.probe.prompt);
        for m in &mut p.request.messages {
            m.content = redact(&m.content);
        }
        if let Some(c) = &mut p.canary {
            *c = redact(c);
        }
        if let Some(r) = &mut a.result {
            for t in [&mut r.response_text, &mut r.response_raw, &mut r.error_message]
                .into_iter()
                .flatten()
            {
                *t = redact(t);
            }
            r.verdict.reason = redact(&r.verdict.reason);
            for s in &mut r.verdict.stages {
                s.detail = redact(&s.detail);
                if let Some(raw) = &mut s.raw {
                    *raw = redact(raw);
                }
            }
            if let Some(c) = &mut r.conversation {
                let mut v = serde_json::to_value(&*c).unwrap_or_default();
                redact_json(&mut v, redact);
                if let Ok(back) = serde_json::from_value(v) {
                    *c = back;
                }
            }
        }
    }
    for v in values {
        redact_json(v, redact);
    }
}

/// Applies `redact` to every string in a JSON value.
pub fn redact_json(v: &mut serde_json::Value, redact: &dyn Fn(&str) -> String) {
    match v {
        serde_json::Value::String(s) => *s = redact(s),
        serde_json::Value::Array(a) => a.iter_mut().for_each(|x| redact_json(x, redact)),
        serde_json::Value::Object(o) => o.values_mut().for_each(|x| redact_json(x, redact)),
        _ => {}
    }
}
