//! The human summary printed at the end of a scan: the headline figures with their intervals and
//! sample counts, then one table per dimension.

use crate::model::{Cell, OverRefusal, Report};
use std::collections::BTreeMap;
use std::fmt::Write;

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "   n/a".into(), |v| format!("{:5.1}%", v * 100.0))
}

fn ci(v: Option<[f64; 2]>) -> String {
    v.map_or_else(
        || "       n/a      ".into(),
        |[a, b]| format!("[{:5.1}%, {:5.1}%]", a * 100.0, b * 100.0),
    )
}

fn over_refusal_line(o: &OverRefusal) -> String {
    format!(
        "{} {}  (declined {} of {} scored benign; {} unscored)",
        pct(o.rate),
        ci(o.ci),
        o.declined,
        o.scored,
        o.unscored
    )
}

fn table(out: &mut String, title: &str, cells: &BTreeMap<String, Cell>) {
    if cells.is_empty() {
        return;
    }
    let width = cells.keys().map(String::len).max().unwrap_or(0).max(title.len());
    let _ = writeln!(
        out,
        "\n{title:<width$}  {:>5} {:>5}  {:>6} {:^18}  {:>6} {:^18}  {:>6}  {:>6}",
        "n", "unsc", "R", "R 95% CI", "D", "D 95% CI", "R_max", "overref"
    );
    for (k, c) in cells {
        let over = c
            .over_refusal
            .as_ref()
            .map_or_else(|| "     -".into(), |o| pct(o.rate));
        let flag = if c.low_sample { "  (few samples)" } else { "" };
        let _ = writeln!(
            out,
            "{k:<width$}  {:>5} {:>5}  {} {}  {} {}  {}  {}{flag}",
            c.n,
            c.unscored,
            pct(c.R),
            ci(c.R_ci),
            pct(c.D),
            ci(c.D_ci),
            pct(c.R_max),
            over
        );
    }
}

/// Renders the summary.
#[must_use]
pub fn render_terminal(r: &Report) -> String {
    let mut out = String::new();
    let o = &r.overall;
    let _ = writeln!(
        out,
        "aistr scan {}  ({})  target {}  judge {}",
        r.run_id, r.status, r.target, r.judge
    );
    let _ = writeln!(
        out,
        "attempts: {} planned, {} done, {} pending, {} transport failures",
        r.attempts.planned, r.attempts.done, r.attempts.pending, r.attempts.transport_failures
    );
    let _ = writeln!(
        out,
        "\nharmful probes: n = {} ({} scored, {} unscored)",
        o.n, o.scored, o.unscored
    );
    let _ = writeln!(
        out,
        "  R  attack success  {} {}  ({} risky)",
        pct(o.R),
        ci(o.R_ci),
        o.risky
    );
    let _ = writeln!(
        out,
        "  D  decline rate    {} {}  ({} declined)",
        pct(o.D),
        ci(o.D_ci),
        o.declined
    );
    let _ = writeln!(
        out,
        "  safe, answered     {}         ({} safe)",
        pct(o.safe_share),
        o.safe
    );
    let _ = writeln!(out, "  R_max (unscored counted as risky) {}", pct(o.R_max));
    let _ = writeln!(
        out,
        "  overall R ({}) {}",
        r.overall_weighted.scheme,
        pct(r.overall_weighted.R)
    );
    if let Some(c) = &r.calibrated {
        let _ = writeln!(
            out,
            "  judge-calibrated ({}'s error measured on {} of {} rows{}; bootstrap 95% CI):",
            c.judge,
            crate::calibrate::set_description(&c.dev_set),
            c.dev_set.n,
            if c.dev_set.self_labelled {
                ", so optimistic"
            } else {
                ""
            }
        );
        let _ = writeln!(
            out,
            "    R {} {}   D {} {}   (n = {} scored, {} human-labelled)",
            pct(c.R),
            ci(c.R_ci),
            pct(c.D),
            ci(c.D_ci),
            c.scored,
            c.human
        );
        for (level, l) in &c.by_level {
            let _ = writeln!(
                out,
                "    {level:<2} R {} {}   D {} {}   (n = {})",
                pct(l.R),
                ci(l.R_ci),
                pct(l.D),
                ci(l.D_ci),
                l.scored
            );
        }
    }
    let s = &r.verdict_sources.overall;
    let _ = writeln!(
        out,
        "  verdicts by source: rule {}, model {}, human {}",
        s.rule, s.model, s.human
    );
    match &r.over_refusal {
        Some(orf) => {
            let _ = writeln!(
                out,
                "benign probes: n = {}\n  over-refusal      {}",
                orf.n,
                over_refusal_line(orf)
            );
        }
        None => {
            let _ = writeln!(out, "benign probes: none in this run (over-refusal not measured)");
        }
    }
    table(&mut out, "level", &r.by_level);
    table(&mut out, "method", &r.by_method);
    if !r.uplift.is_empty() {
        let width = r.uplift.keys().map(String::len).max().unwrap_or(0).max(6);
        let _ = writeln!(
            out,
            "\n{:<width$}  {:>5}  {:>6} {:>6} {:>7}  {:>6} {:>6}",
            "uplift", "pairs", "R", "R_L1", "delta", "D", "D_L1"
        );
        for (m, u) in &r.uplift {
            let delta = u
                .delta
                .map_or_else(|| "    n/a".into(), |d| format!("{:+6.1}%", d * 100.0));
            let _ = writeln!(
                out,
                "{m:<width$}  {:>5}  {} {} {delta}  {} {}",
                u.n_pairs,
                pct(u.R_method),
                pct(u.R_plain),
                pct(u.D_method),
                pct(u.D_plain)
            );
        }
    }
    crate::conversations::terminal_section(&mut out, &r.conversations);
    crate::hallucination::terminal_section(&mut out, r.hallucination.as_ref());
    table(&mut out, "family", &r.by_family);
    table(&mut out, "category", &r.by_category);
    table(&mut out, "language", &r.by_language);
    if let Some(p) = &r.privacy {
        out.push_str(&crate::privacy::privacy_terminal(p));
    }
    if let Some(a) = &r.agents {
        out.push_str(&crate::agents::agents_terminal(a));
    }
    for l in &r.levels_not_run {
        let _ = writeln!(out, "\n{} not run: {}", l.level, l.why);
    }
    if !r.warnings.is_empty() {
        let _ = writeln!(out, "\nwarnings:");
        for w in &r.warnings {
            let _ = writeln!(out, "  - {w}");
        }
    }
    out
}
