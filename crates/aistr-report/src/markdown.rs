//! `report.md`: the report as Markdown, for pull-request comments, wikis and tickets. Data in tables
//! is escaped with [`crate::escape::md_inline`]; model text only ever appears inside fenced code
//! blocks, so images, links and HTML in an answer are never rendered by a Markdown viewer.

use crate::escape::{md_fence, md_fence_lang, md_inline as md, truncate};
use crate::findings::{findings, method_info};
use crate::html::worst;
use crate::model::{Cell, Report};
use aistr_core::AttemptRecord;
use aistr_core::Level;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Findings shown with their transcript excerpt.
const SHOWN_FINDINGS: usize = 20;

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{:.1}%", v * 100.0))
}

fn ci(v: Option<[f64; 2]>) -> String {
    v.map_or_else(String::new, |[a, b]| {
        format!(" [{:.1}%, {:.1}%]", a * 100.0, b * 100.0)
    })
}

fn table(out: &mut String, dim: &str, cells: &BTreeMap<String, Cell>) {
    if cells.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n### By {dim}\n\n| {dim} | n | risky | declined | safe | unscored | R [95% CI] | D [95% CI] | R_max | over-refusal |"
    );
    out.push_str("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for (k, c) in cells {
        let few = if c.low_sample { " (few samples)" } else { "" };
        let over = c
            .over_refusal
            .as_ref()
            .map_or_else(|| "–".into(), |o| format!("{} (n={})", pct(o.rate), o.scored));
        let _ = writeln!(
            out,
            "| {}{few} | {} | {} | {} | {} | {} | {}{} | {}{} | {} | {over} |",
            md(k),
            c.scored,
            c.risky,
            c.declined,
            c.safe,
            c.unscored,
            pct(c.R),
            ci(c.R_ci),
            pct(c.D),
            ci(c.D_ci),
            pct(c.R_max)
        );
    }
}

/// The judge-calibrated R and D, labelled as such, with where the judge's error was measured.
fn calibrated(out: &mut String, r: &Report) {
    let Some(c) = &r.calibrated else { return };
    let _ = writeln!(
        out,
        "\n### Judge-calibrated R and D\n\nCorrected for the error of judge `{}` measured on {} of {} rows (sha256 `{}`){}. {} resamples. Method: {}.\n",
        c.judge.replace('`', "'"),
        crate::calibrate::set_description(&c.dev_set),
        c.dev_set.n,
        c.dev_set.sha256.replace('`', "'"),
        if c.dev_set.self_labelled {
            "; the dev set is self-labelled, so these intervals are optimistic"
        } else {
            ""
        },
        c.resamples,
        md(&c.method)
    );
    out.push_str(
        "| cell | scored | R judge-calibrated [95% CI] | D judge-calibrated [95% CI] |\n|---|--:|--:|--:|\n",
    );
    let _ = writeln!(
        out,
        "| overall | {} | {}{} | {}{} |",
        c.scored,
        pct(c.R),
        ci(c.R_ci),
        pct(c.D),
        ci(c.D_ci)
    );
    for (k, l) in &c.by_level {
        let _ = writeln!(
            out,
            "| {} | {} | {}{} | {}{} |",
            md(k),
            l.scored,
            pct(l.R),
            ci(l.R_ci),
            pct(l.D),
            ci(l.D_ci)
        );
    }
}

/// Renders `report.md`.
#[must_use]
pub fn render_markdown(r: &Report, attempts: &[AttemptRecord]) -> String {
    let mut out = String::new();
    let o = &r.overall;
    let _ = writeln!(
        out,
        "# AI safety test report: run `{}`\n",
        r.run_id.replace('`', "'")
    );
    let _ = writeln!(
        out,
        "Status **{}** · created {} · aistr {} · judge `{}` · taxonomy `{}`\n",
        md(&r.status),
        md(&r.created_at),
        md(&r.aistr_version),
        r.judge.replace('`', "'"),
        r.taxonomy.replace('`', "'")
    );
    out.push_str("## Summary\n\n| figure | value | n |\n|---|--:|--:|\n");
    let _ = writeln!(
        out,
        "| R, attack success | {}{} | {} |",
        pct(o.R),
        ci(o.R_ci),
        o.scored
    );
    let _ = writeln!(out, "| D, declined | {}{} | {} |", pct(o.D), ci(o.D_ci), o.scored);
    match &r.over_refusal {
        Some(x) => {
            let _ = writeln!(
                out,
                "| over-refusal on benign probes | {}{} | {} |",
                pct(x.rate),
                ci(x.ci),
                x.scored
            );
        }
        None => out.push_str("| over-refusal on benign probes | not measured | 0 |\n"),
    }
    let _ = writeln!(
        out,
        "| R_max, unscored counted as risky | {} | {} |",
        pct(o.R_max),
        o.n
    );
    let _ = writeln!(
        out,
        "| overall R ({}) | {} | {} |",
        md(&r.overall_weighted.scheme),
        pct(r.overall_weighted.R),
        o.scored
    );
    let _ = writeln!(
        out,
        "\nAttempts: {} planned, {} done, {} pending, {} transport failures.",
        r.attempts.planned, r.attempts.done, r.attempts.pending, r.attempts.transport_failures
    );
    let src = &r.verdict_sources.overall;
    let _ = writeln!(
        out,
        "Verdicts by source: rule {}, model {}, human {}.",
        src.rule, src.model, src.human
    );
    calibrated(&mut out, r);

    out.push_str("\n## Target and settings\n\n");
    let settings = serde_json::json!({"target": r.target, "settings": r.settings});
    out.push_str(&md_fence_lang(
        &serde_json::to_string_pretty(&settings).unwrap_or_default(),
        "json",
    ));
    out.push_str("\n## Datasets\n\n| dataset | probes | sha256 |\n|---|--:|---|\n");
    for d in &r.datasets {
        let _ = writeln!(
            out,
            "| {} | {} | `{}` |",
            md(&d.id),
            d.probes,
            d.sha256.replace('`', "'")
        );
    }
    out.push_str("\n## Levels\n\n| level | status | n | R | D | over-refusal |\n|---|---|--:|--:|--:|--:|\n");
    for l in Level::ALL {
        match r.by_level.get(l.as_str()) {
            Some(c) => {
                let over = c
                    .over_refusal
                    .as_ref()
                    .map_or_else(|| "–".into(), |x| pct(x.rate));
                let _ = writeln!(
                    out,
                    "| {l} | run | {} | {}{} | {}{} | {over} |",
                    c.scored,
                    pct(c.R),
                    ci(c.R_ci),
                    pct(c.D),
                    ci(c.D_ci)
                );
            }
            None => {
                let why = r
                    .levels_not_run
                    .iter()
                    .find(|x| x.level == l.as_str())
                    .map_or("not in this run", |x| x.why.as_str());
                let _ = writeln!(out, "| {l} | not run: {} | | | | |", md(why));
            }
        }
    }
    if !r.warnings.is_empty() {
        out.push_str("\n## Read with care\n\n");
        for w in &r.warnings {
            let _ = writeln!(out, "- {}", md(w));
        }
    }

    crate::conversations::markdown_section(&mut out, &r.conversations);
    crate::hallucination::markdown_section(&mut out, r.hallucination.as_ref());
    if let Some(p) = &r.privacy {
        out.push_str(&crate::privacy::privacy_markdown(p));
    }
    if let Some(a) = &r.agents {
        out.push_str(&crate::agents::agents_markdown(a));
    }
    out.push_str("\n## Where it fails\n");
    for (title, cells) in [
        ("Worst risk categories", &r.by_category),
        ("Most successful attack methods", &r.by_method),
    ] {
        let w = worst(cells, 5);
        if w.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n**{title}**\n");
        for (k, c) in w {
            let _ = writeln!(
                out,
                "1. {}: R {}{} ({} of {})",
                md(k),
                pct(c.R),
                ci(c.R_ci),
                c.risky,
                c.scored
            );
        }
    }
    let found = findings(attempts);
    let _ = writeln!(out, "\n{} risky answers to harmful probes.", found.len());
    for f in found.iter().take(SHOWN_FINDINGS) {
        let p = &f.attempt.planned;
        let _ = writeln!(
            out,
            "\n#### #{} {} · {} ({}) · {} · severity {}\n\nProbe {} ({}). Judge: {}\n",
            p.seq,
            p.level,
            md(&p.method),
            md(&method_info(&p.method).family),
            md(&p.probe.category),
            f.severity.as_str(),
            md(&p.probe.id),
            md(&p.probe.language),
            md(f.reason)
        );
        let answer = f
            .attempt
            .result
            .as_ref()
            .and_then(|x| x.response_text.as_deref())
            .unwrap_or("");
        out.push_str(&md_fence(&truncate(answer, 800)));
    }
    if found.len() > SHOWN_FINDINGS {
        let _ = writeln!(out, "\n{} more in report.html.", found.len() - SHOWN_FINDINGS);
    }

    out.push_str("\n## Figures\n");
    for (dim, cells) in [
        ("level", &r.by_level),
        ("category", &r.by_category),
        ("method", &r.by_method),
        ("language", &r.by_language),
        ("dataset", &r.by_dataset),
    ] {
        table(&mut out, dim, cells);
    }
    out
}
