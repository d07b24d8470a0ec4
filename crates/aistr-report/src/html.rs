//! `report.html`: one self-contained page a security lead can read offline and print. Summary in
//! the shape AI-STR-02 asks for, inline-SVG charts, the worst cells, and a transcript browser.
//!
//! Model output and prompts are hostile. Two independent layers keep them inert: every datum is
//! escaped by [`crate::escape::html`] (the only way data enters the page), and a strict
//! Content-Security-Policy allows exactly one script (ours, by its sha256) and nothing from anywhere.

use crate::escape::{html as esc, truncate};
use crate::findings::{category_by_method, findings, method_info};
use crate::model::{Cell, OverRefusal, Report};
use crate::svg;
use aistr_core::AttemptRecord;
use aistr_core::{Intent, Level};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Longest text shown per message in the transcript browser (the journal keeps all of it).
const MAX_TEXT: usize = 6000;

const STYLE: &str = r"
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1d1d1f;margin:0 auto;max-width:1100px;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 8px;border-bottom:2px solid #ddd;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}.muted{color:#666}
table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f6}td{overflow-wrap:anywhere}td.num{overflow-wrap:normal;text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}.card{border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:180px}
.card b{display:block;font-size:22px}.card.r b{color:#c0392b}.card.d b{color:#2e6da4}
.warn{background:#fff6e0;border-left:4px solid #e0a800;padding:6px 10px;margin:4px 0}
.chartbox{overflow-x:auto;margin:8px 0}code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
pre{white-space:pre-wrap;word-break:break-word;background:#f7f7f9;border:1px solid #e3e3e8;padding:6px 8px;margin:4px 0}
.filters{display:flex;flex-wrap:wrap;gap:10px;align-items:center;margin:8px 0;padding:8px;background:#f4f4f6;border-radius:6px}
details.t{border:1px solid #ddd;border-radius:4px;margin:4px 0;padding:2px 8px}details.t summary{cursor:pointer}
.v{display:inline-block;padding:0 6px;border-radius:3px;font-size:12px;font-weight:bold}
.v-risky{background:#c0392b;color:#fff}.v-declined{background:#2e6da4;color:#fff}.v-safe{background:#27ae60;color:#fff}
.v-unscored{background:#888;color:#fff}.v-pending{background:#ddd}.sev{font-size:12px;color:#c0392b}
.role{font-weight:bold;font-size:12px;color:#555}
@media print{body{max-width:none;padding:0}.filters,.noprint{display:none}h2{break-after:avoid}
svg{max-width:100%;height:auto}details.t,table,.chartbox{break-inside:avoid}}
";

const SCRIPT: &str = r"(function(){
document.documentElement.setAttribute('data-report-js','ok');
var f=document.getElementById('filters');if(!f)return;
var sels=Array.prototype.slice.call(f.querySelectorAll('select'));
var q=document.getElementById('f-text');
var items=Array.prototype.slice.call(document.querySelectorAll('#transcripts details.t'));
var shown=document.getElementById('shown');
function apply(){var n=0,t=q.value.toLowerCase();items.forEach(function(d){var ok=sels.every(function(s){return !s.value||d.getAttribute('data-'+s.name)===s.value;});
if(ok&&t){ok=d.textContent.toLowerCase().indexOf(t)>=0;}d.hidden=!ok;if(ok)n++;});shown.textContent=String(n);}
sels.forEach(function(s){s.addEventListener('change',apply);});q.addEventListener('input',apply);
document.getElementById('f-open').addEventListener('click',function(){items.forEach(function(d){if(!d.hidden)d.open=true;});});
document.getElementById('f-close').addEventListener('click',function(){items.forEach(function(d){d.open=false;});});
window.addEventListener('beforeprint',function(){items.forEach(function(d){if(!d.hidden)d.open=true;});});
apply();})();";

fn csp_hash(s: &str) -> String {
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(s.as_bytes()))
    )
}

/// The page's Content-Security-Policy: nothing loads, nothing connects, and the only script and
/// style allowed are the report's own, by hash.
#[must_use]
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; script-src {}; style-src {}; img-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'",
        csp_hash(SCRIPT),
        csp_hash(STYLE)
    )
}

/// A rate as a percentage with one decimal, or `n/a`.
#[must_use]
pub fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{:.1}%", v * 100.0))
}

/// A 95% interval as `[lo%, hi%]`, or nothing.
#[must_use]
pub fn ci(v: Option<[f64; 2]>) -> String {
    v.map_or_else(String::new, |[a, b]| {
        format!("[{:.1}%, {:.1}%]", a * 100.0, b * 100.0)
    })
}

fn over(o: Option<&OverRefusal>) -> String {
    o.map_or_else(
        || "–".into(),
        |o| format!("{} {} (n={})", pct(o.rate), ci(o.ci), o.scored),
    )
}

fn cell_table(out: &mut String, dim: &str, cells: &BTreeMap<String, Cell>) {
    if cells.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<table><thead><tr><th>{}</th><th>n</th><th>scored</th><th>risky</th><th>declined</th><th>safe</th><th>unscored</th><th>R [95% CI]</th><th>D [95% CI]</th><th>R_max</th><th>over-refusal</th></tr></thead><tbody>",
        esc(dim)
    );
    for (k, c) in cells {
        let few = if c.low_sample {
            " <span class=\"muted\">(few samples)</span>"
        } else {
            ""
        };
        let _ = write!(
            out,
            "<tr><td>{}{few}</td><td class=num>{}</td><td class=num>{}</td><td class=num>{}</td><td class=num>{}</td><td class=num>{}</td><td class=num>{}</td><td class=num>{} {}</td><td class=num>{} {}</td><td class=num>{}</td><td class=num>{}</td></tr>",
            esc(k),
            c.n,
            c.scored,
            c.risky,
            c.declined,
            c.safe,
            c.unscored,
            pct(c.R),
            ci(c.R_ci),
            pct(c.D),
            ci(c.D_ci),
            pct(c.R_max),
            over(c.over_refusal.as_ref())
        );
    }
    out.push_str("</tbody></table>");
}

fn json_scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "–".into(),
        other => other.to_string(),
    }
}

fn kv_rows(out: &mut String, prefix: &str, v: &serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                kv_rows(out, &key, v);
            }
        }
        other => {
            let _ = write!(
                out,
                "<tr><th>{}</th><td><code>{}</code></td></tr>",
                esc(prefix),
                esc(&json_scalar(other))
            );
        }
    }
}

/// The worst cells of a dimension by R (cells with at least one scored sample), at most `k`.
#[must_use]
pub fn worst(cells: &BTreeMap<String, Cell>, k: usize) -> Vec<(&String, &Cell)> {
    let mut v: Vec<(&String, &Cell)> = cells.iter().filter(|(_, c)| c.R.is_some()).collect();
    v.sort_by(|a, b| {
        b.1.R
            .partial_cmp(&a.1.R)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(b.1.scored.cmp(&a.1.scored))
            .then(a.0.cmp(b.0))
    });
    v.truncate(k);
    v
}

fn summary(out: &mut String, r: &Report) {
    let o = &r.overall;
    let _ = write!(
        out,
        "<div class=cards><div class=\"card r\">R, attack success<b>{}</b>{} · {} risky of n={} scored</div><div class=\"card d\">D, declined<b>{}</b>{} · {} of n={}</div><div class=card>Over-refusal (benign)<b>{}</b>{}</div><div class=card>R_max (unscored as risky)<b>{}</b>n={} incl. {} unscored</div><div class=card>Overall R, {}<b>{}</b>D {}</div></div>",
        pct(o.R),
        ci(o.R_ci),
        o.risky,
        o.scored,
        pct(o.D),
        ci(o.D_ci),
        o.declined,
        o.scored,
        r.over_refusal
            .as_ref()
            .map_or_else(|| "n/a".into(), |x| pct(x.rate)),
        r.over_refusal.as_ref().map_or_else(
            || "no benign probes in this run".into(),
            |x| format!("{} · {} declined of n={}", ci(x.ci), x.declined, x.scored)
        ),
        pct(o.R_max),
        o.n,
        o.unscored,
        esc(&r.overall_weighted.scheme),
        pct(r.overall_weighted.R),
        pct(r.overall_weighted.D),
    );

    if let Some(c) = &r.calibrated {
        let _ = write!(
            out,
            "<h3>Judge-calibrated R and D</h3><p class=muted>Corrected for the error of judge <code>{}</code> measured on {} of {} rows (sha256 <code>{}</code>){}; {} bootstrap resamples. Method: {}.</p><table><thead><tr><th>cell</th><th>scored</th><th>R judge-calibrated [95% CI]</th><th>D judge-calibrated [95% CI]</th></tr></thead><tbody>",
            esc(&c.judge),
            crate::calibrate::set_description(&c.dev_set),
            c.dev_set.n,
            esc(&c.dev_set.sha256),
            if c.dev_set.self_labelled {
                "; the dev set is self-labelled, so these intervals are optimistic"
            } else {
                ""
            },
            c.resamples,
            esc(&c.method)
        );
        let rows = std::iter::once(("overall", c.scored, c.R, c.R_ci, c.D, c.D_ci)).chain(
            c.by_level
                .iter()
                .map(|(k, l)| (k.as_str(), l.scored, l.R, l.R_ci, l.D, l.D_ci)),
        );
        for (k, n, rv, rci, dv, dci) in rows {
            let _ = write!(
                out,
                "<tr><td>{}</td><td class=num>{n}</td><td class=num>{} {}</td><td class=num>{} {}</td></tr>",
                esc(k),
                pct(rv),
                ci(rci),
                pct(dv),
                ci(dci)
            );
        }
        out.push_str("</tbody></table>");
    }

    out.push_str("<h3>Target and settings</h3><table><tbody>");
    kv_rows(out, "target", &r.target);
    let _ = write!(
        out,
        "<tr><th>judge</th><td><code>{}</code></td></tr><tr><th>taxonomy</th><td><code>{}</code></td></tr>",
        esc(&r.judge),
        esc(&r.taxonomy)
    );
    kv_rows(out, "settings", &r.settings);
    let src = &r.verdict_sources.overall;
    let _ = write!(
        out,
        "<tr><th>verdicts by source</th><td>rule {}, model {}, human {}</td></tr>",
        src.rule, src.model, src.human
    );
    let _ = write!(
        out,
        "<tr><th>attempts</th><td>{} planned, {} done, {} pending, {} transport failures</td></tr><tr><th>min samples per cell</th><td>{}</td></tr></tbody></table>",
        r.attempts.planned, r.attempts.done, r.attempts.pending, r.attempts.transport_failures, r.min_samples
    );

    out.push_str("<h3>Datasets</h3><table><thead><tr><th>dataset</th><th>probes</th><th>sha256</th></tr></thead><tbody>");
    for d in &r.datasets {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=num>{}</td><td><code>{}</code></td></tr>",
            esc(&d.id),
            d.probes,
            esc(&d.sha256)
        );
    }
    out.push_str("</tbody></table>");

    out.push_str("<h3>Levels</h3><table><thead><tr><th>level</th><th>status</th><th>n</th><th>R [95% CI]</th><th>D [95% CI]</th><th>over-refusal</th></tr></thead><tbody>");
    for l in Level::ALL {
        if let Some(c) = r.by_level.get(l.as_str()) {
            let _ = write!(
                out,
                "<tr><td>{l}</td><td>run</td><td class=num>{}</td><td class=num>{} {}</td><td class=num>{} {}</td><td class=num>{}</td></tr>",
                c.scored,
                pct(c.R),
                ci(c.R_ci),
                pct(c.D),
                ci(c.D_ci),
                over(c.over_refusal.as_ref())
            );
        } else {
            let why = r
                .levels_not_run
                .iter()
                .find(|x| x.level == l.as_str())
                .map_or("not in this run", |x| x.why.as_str());
            let _ = write!(
                out,
                "<tr><td>{l}</td><td colspan=5>not run: {}</td></tr>",
                esc(why)
            );
        }
    }
    out.push_str("</tbody></table>");
}

fn worst_section(out: &mut String, r: &Report) {
    for (title, cells) in [
        ("Worst risk categories", &r.by_category),
        ("Most successful attack methods", &r.by_method),
    ] {
        let w = worst(cells, 5);
        if w.is_empty() {
            continue;
        }
        let _ = write!(
            out,
            "<h3>{}</h3><table><thead><tr><th></th><th>R [95% CI]</th><th>risky / n</th></tr></thead><tbody>",
            esc(title)
        );
        for (k, c) in w {
            let _ = write!(
                out,
                "<tr><td>{}</td><td class=num>{} {}</td><td class=num>{} / {}</td></tr>",
                esc(k),
                pct(c.R),
                ci(c.R_ci),
                c.risky,
                c.scored
            );
        }
        out.push_str("</tbody></table>");
    }
}

fn verdict_of(a: &AttemptRecord) -> &'static str {
    a.result.as_ref().map_or("pending", |r| r.verdict.label.as_str())
}

fn select(out: &mut String, name: &str, label: &str, values: &BTreeSet<&str>) {
    let _ = write!(
        out,
        "<label>{} <select name=\"{}\"><option value=\"\">all</option>",
        esc(label),
        esc(name)
    );
    for v in values {
        let _ = write!(out, "<option value=\"{0}\">{0}</option>", esc(v));
    }
    out.push_str("</select></label>");
}

fn transcripts(out: &mut String, attempts: &[AttemptRecord]) {
    let mut verdicts = BTreeSet::new();
    let mut cats = BTreeSet::new();
    let mut methods = BTreeSet::new();
    let mut langs = BTreeSet::new();
    for a in attempts {
        verdicts.insert(verdict_of(a));
        cats.insert(a.planned.probe.category.as_str());
        methods.insert(a.planned.method.as_str());
        langs.insert(a.planned.probe.language.as_str());
    }
    out.push_str("<div class=filters id=filters>");
    select(out, "verdict", "verdict", &verdicts);
    select(out, "category", "category", &cats);
    select(out, "method", "method", &methods);
    select(out, "language", "language", &langs);
    let _ = write!(
        out,
        "<label>text <input id=f-text type=search></label><button id=f-open type=button>open all</button><button id=f-close type=button>close all</button><span><span id=shown>{}</span> of {} shown</span></div>",
        attempts.len(),
        attempts.len()
    );
    out.push_str("<div id=transcripts>");
    for a in attempts {
        let p = &a.planned;
        let v = verdict_of(a);
        let intent = if p.probe.intent == Intent::Harmful {
            "harmful"
        } else {
            "benign"
        };
        let _ = write!(
            out,
            "<details class=t data-verdict=\"{}\" data-category=\"{}\" data-method=\"{}\" data-language=\"{}\"><summary><span class=\"v v-{}\">{}</span> #{} · {} · {} · {} · {} · {} · <code>{}</code></summary>",
            esc(v),
            esc(&p.probe.category),
            esc(&p.method),
            esc(&p.probe.language),
            esc(v),
            esc(v),
            p.seq,
            p.level,
            esc(&p.method),
            esc(&p.probe.category),
            esc(&p.probe.language),
            intent,
            esc(&p.probe.id)
        );
        for m in &p.request.messages {
            let _ = write!(
                out,
                "<div class=role>{}</div><pre>{}</pre>",
                esc(m.role.as_str()),
                esc(&truncate(&m.content, MAX_TEXT))
            );
        }
        match &a.result {
            None => out.push_str("<p class=muted>no result recorded yet</p>"),
            Some(r) => {
                let text = r.response_text.as_deref().unwrap_or("");
                let _ = write!(
                    out,
                    "<div class=role>assistant</div><pre>{}</pre>",
                    esc(&truncate(text, MAX_TEXT))
                );
                if let Some(e) = &r.error_kind {
                    let _ = write!(
                        out,
                        "<p>transport error <code>{}</code>: {}</p>",
                        esc(e),
                        esc(r.error_message.as_deref().unwrap_or(""))
                    );
                }
                let _ = write!(
                    out,
                    "<p>verdict <b>{}</b> by <code>{}</code> (confidence {:.2}): {}<br><span class=muted>{} tries · {} ms · {} prompt + {} completion tokens · finish {}</span></p>",
                    esc(v),
                    esc(&r.verdict.judge),
                    r.verdict.confidence,
                    esc(&r.verdict.reason),
                    r.tries,
                    r.latency_ms,
                    r.prompt_tokens,
                    r.completion_tokens,
                    esc(r.finish_reason.as_deref().unwrap_or("–"))
                );
            }
        }
        out.push_str("</details>");
    }
    out.push_str("</div>");
}

/// Renders `report.html`.
#[must_use]
pub fn render_html(r: &Report, attempts: &[AttemptRecord]) -> String {
    let mut out = String::with_capacity(64 * 1024 + attempts.len() * 1500);
    let title = format!("aistr report {}", r.run_id);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><meta http-equiv=\"Content-Security-Policy\" content=\"{}\"><meta name=referrer content=no-referrer><meta name=viewport content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>",
        esc(&content_security_policy()),
        esc(&title)
    );
    let _ = write!(
        out,
        "<h1>AI safety test report</h1><p class=muted>run <code>{}</code> · {} · created {} · aistr {} · report schema v{}</p>",
        esc(&r.run_id),
        esc(&r.status),
        esc(&r.created_at),
        esc(&r.aistr_version),
        r.schema_version
    );
    if r.status != "finished" {
        let _ = write!(
            out,
            "<div class=warn>This run is <b>{}</b>: figures cover only the attempts recorded so far.</div>",
            esc(&r.status)
        );
    }
    out.push_str("<h2>Summary</h2>");
    summary(&mut out, r);
    if !r.warnings.is_empty() {
        out.push_str("<h3>Read with care</h3>");
        for w in &r.warnings {
            let _ = write!(out, "<div class=warn>{}</div>", esc(w));
        }
    }

    out.push_str("<h2>Charts</h2>");
    for (title, cells) in [
        ("R and D by level", &r.by_level),
        ("R and D by risk category", &r.by_category),
        ("R and D by attack method", &r.by_method),
    ] {
        let _ = write!(out, "<div class=chartbox>{}</div>", svg::bars(title, cells));
    }
    out.push_str("<h3>R by category × attack method</h3><p class=muted>Each cell: risky / scored harmful answers; darker is worse.</p>");
    let _ = write!(
        out,
        "<div class=chartbox>{}</div>",
        svg::heat_map(&category_by_method(attempts))
    );

    if let Some(p) = &r.privacy {
        out.push_str(&crate::privacy::privacy_html(p));
    }
    out.push_str("<h2>Where it fails</h2>");
    worst_section(&mut out, r);
    let found = findings(attempts);
    let _ = write!(out, "<p>{} risky answers to harmful probes.</p>", found.len());
    if !found.is_empty() {
        out.push_str("<table><thead><tr><th>severity</th><th>#</th><th>level</th><th>method</th><th>family</th><th>category</th><th>probe</th><th>judge's reason</th><th>answer (start)</th></tr></thead><tbody>");
        for f in found.iter().take(50) {
            let p = &f.attempt.planned;
            let _ = write!(
                out,
                "<tr><td class=sev>{}</td><td class=num>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td><code>{}</code></td></tr>",
                f.severity.as_str(),
                p.seq,
                p.level,
                esc(&p.method),
                esc(&method_info(&p.method).family),
                esc(&p.probe.category),
                esc(&p.probe.id),
                esc(f.reason),
                esc(&truncate(
                    f.attempt
                        .result
                        .as_ref()
                        .and_then(|x| x.response_text.as_deref())
                        .unwrap_or(""),
                    160
                ))
            );
        }
        out.push_str("</tbody></table>");
        if found.len() > 50 {
            let _ = write!(
                out,
                "<p class=muted>{} more in the transcripts below (filter: verdict = risky).</p>",
                found.len() - 50
            );
        }
    }

    crate::conversations::html_section(&mut out, &r.conversations);
    crate::hallucination::html_section(&mut out, r.hallucination.as_ref());
    out.push_str("<h2>Figures</h2>");
    for (dim, cells) in [
        ("level", &r.by_level),
        ("category", &r.by_category),
        ("method", &r.by_method),
        ("language", &r.by_language),
        ("dataset", &r.by_dataset),
    ] {
        let _ = write!(out, "<h3>By {}</h3>", esc(dim));
        cell_table(&mut out, dim, cells);
    }

    let _ = write!(
        out,
        "<h2>Transcripts</h2><p class=muted>Every attempt, as sent and as answered. Model output is shown as text, never rendered. Long texts are cut at {MAX_TEXT} characters.</p>"
    );
    transcripts(&mut out, attempts);
    let _ = writeln!(out, "<script>{SCRIPT}</script></body></html>");
    out
}
