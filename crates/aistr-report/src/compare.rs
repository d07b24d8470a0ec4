//! `aistr compare`: what changed between two runs of the same suite. For every cell the runs share,
//! the change in R, D and over-refusal with a test of significance: the pooled two-proportion z-test
//! when every expected count is at least 5, Fisher's exact test otherwise. With dozens of cells some
//! would look significant by chance, so p-values are Holm-adjusted within each metric before a
//! change is flagged.

use crate::model::{Cell, Report};
use aistr_core::metrics::erfc;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The change in one figure of one cell.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Delta {
    /// `overall`, `level`, `category`, `method`, `language` or `dataset`.
    pub dim: String,
    /// Cell key (`all` for overall).
    pub key: String,
    /// `R`, `D` or `over_refusal`.
    pub metric: String,
    /// Successes / trials in run A.
    pub a: [u64; 2],
    /// Successes / trials in run B.
    pub b: [u64; 2],
    /// Rate in A.
    pub a_rate: f64,
    /// Rate in B.
    pub b_rate: f64,
    /// `b_rate - a_rate`.
    pub delta: f64,
    /// `z` or `fisher`.
    pub test: String,
    /// Two-sided p-value.
    pub p: f64,
    /// Holm-adjusted p-value within this metric.
    pub p_holm: f64,
    /// `p_holm < alpha`.
    pub significant: bool,
    /// True for a significant change for the worse (R or over-refusal went up).
    pub regression: bool,
}

/// The comparison of two runs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Comparison {
    /// Baseline run.
    pub run_a: String,
    /// New run.
    pub run_b: String,
    /// Significance level.
    pub alpha: f64,
    /// Things that make the comparison less like-for-like.
    pub notes: Vec<String>,
    /// Every compared figure.
    pub deltas: Vec<Delta>,
}

impl Comparison {
    /// Significant changes for the worse.
    pub fn regressions(&self) -> impl Iterator<Item = &Delta> {
        self.deltas.iter().filter(|d| d.regression)
    }
}

#[expect(clippy::cast_precision_loss, reason = "sample counts are far below 2^52")]
fn f(x: u64) -> f64 {
    x as f64
}

/// Two-sided p-value of the pooled two-proportion z-test.
#[must_use]
pub fn z_test(k1: u64, n1: u64, k2: u64, n2: u64) -> f64 {
    if n1 == 0 || n2 == 0 {
        return 1.0;
    }
    let pooled = f(k1 + k2) / f(n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / f(n1) + 1.0 / f(n2))).sqrt();
    if se == 0.0 {
        return 1.0;
    }
    let z = (f(k2) / f(n2) - f(k1) / f(n1)) / se;
    erfc(z.abs() / std::f64::consts::SQRT_2).clamp(0.0, 1.0)
}

/// Two-sided p-value of Fisher's exact test on the 2×2 table `[[k1, n1-k1], [k2, n2-k2]]`
/// (sum of the probabilities of all tables with the same margins that are no more likely).
#[must_use]
pub fn fisher_exact(k1: u64, n1: u64, k2: u64, n2: u64) -> f64 {
    let total = n1 + n2;
    let successes = k1 + k2;
    if n1 == 0 || n2 == 0 || successes == 0 || successes == total {
        return 1.0;
    }
    let mut ln_fact = Vec::with_capacity(usize::try_from(total).unwrap_or(0) + 1);
    ln_fact.push(0.0f64);
    for i in 1..=total {
        let prev = ln_fact.last().copied().unwrap_or(0.0);
        ln_fact.push(prev + f(i).ln());
    }
    let lf = |x: u64| ln_fact[usize::try_from(x).unwrap_or(0)];
    let ln_choose = |n: u64, k: u64| lf(n) - lf(k) - lf(n - k);
    let ln_p = |x: u64| ln_choose(successes, x) + ln_choose(total - successes, n1 - x) - ln_choose(total, n1);
    let lo = n1.saturating_sub(total - successes);
    let hi = successes.min(n1);
    let observed = ln_p(k1);
    let mut p = 0.0;
    for x in lo..=hi {
        let lp = ln_p(x);
        if lp <= observed + 1e-7 {
            p += lp.exp();
        }
    }
    p.clamp(0.0, 1.0)
}

/// Picks the test: z when every expected cell count is at least 5, Fisher otherwise.
#[must_use]
pub fn two_proportion_p(k1: u64, n1: u64, k2: u64, n2: u64) -> (&'static str, f64) {
    let total = n1 + n2;
    if total == 0 {
        return ("none", 1.0);
    }
    let p = f(k1 + k2) / f(total);
    let min_expected = [f(n1) * p, f(n1) * (1.0 - p), f(n2) * p, f(n2) * (1.0 - p)]
        .into_iter()
        .fold(f64::INFINITY, f64::min);
    if min_expected >= 5.0 {
        ("z", z_test(k1, n1, k2, n2))
    } else {
        ("fisher", fisher_exact(k1, n1, k2, n2))
    }
}

fn counts(c: &Cell, metric: &str) -> Option<(u64, u64)> {
    match metric {
        "R" => (c.scored > 0).then_some((c.risky, c.scored)),
        "D" => (c.scored > 0).then_some((c.declined, c.scored)),
        _ => c
            .over_refusal
            .as_ref()
            .filter(|o| o.scored > 0)
            .map(|o| (o.declined, o.scored)),
    }
}

fn holm(deltas: &mut [Delta], alpha: f64) {
    let mut order: Vec<usize> = (0..deltas.len()).collect();
    order.sort_by(|&a, &b| {
        deltas[a]
            .p
            .partial_cmp(&deltas[b].p)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let m = deltas.len();
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        let adjusted = (f(u64::try_from(m - rank).unwrap_or(1)) * deltas[i].p).min(1.0);
        running = running.max(adjusted);
        deltas[i].p_holm = running;
    }
    for d in deltas.iter_mut() {
        d.significant = d.p_holm < alpha;
        d.regression = d.significant && d.delta > 0.0 && d.metric != "D";
    }
}

/// Compares run A (baseline) with run B (candidate).
#[must_use]
pub fn compare(a: &Report, b: &Report, alpha: f64) -> Comparison {
    let mut notes = Vec::new();
    let hashes = |r: &Report| {
        r.datasets
            .iter()
            .map(|d| (d.id.clone(), d.sha256.clone()))
            .collect::<BTreeMap<_, _>>()
    };
    if hashes(a) != hashes(b) {
        notes.push(
            "the runs used different datasets or dataset versions: cells may not be like for like".into(),
        );
    }
    if a.judge != b.judge {
        notes.push(format!(
            "different judges (`{}` vs `{}`): a change may come from the judge, not the model",
            a.judge, b.judge
        ));
    }
    if a.target != b.target {
        notes.push(format!("targets differ: {} vs {}", a.target, b.target));
    }
    let overall = |r: &Report| {
        let mut c = r.overall.clone();
        c.over_refusal.clone_from(&r.over_refusal);
        BTreeMap::from([("all".to_owned(), c)])
    };
    let (overall_a, overall_b) = (overall(a), overall(b));
    type Cells = BTreeMap<String, Cell>;
    let dims: [(&str, &Cells, &Cells); 6] = [
        ("overall", &overall_a, &overall_b),
        ("level", &a.by_level, &b.by_level),
        ("category", &a.by_category, &b.by_category),
        ("method", &a.by_method, &b.by_method),
        ("language", &a.by_language, &b.by_language),
        ("dataset", &a.by_dataset, &b.by_dataset),
    ];
    let mut all = Vec::new();
    for metric in ["R", "D", "over_refusal"] {
        let mut deltas = Vec::new();
        for (dim, ca, cb) in &dims {
            for (key, x) in *ca {
                let Some(y) = cb.get(key) else { continue };
                let (Some((k1, n1)), Some((k2, n2))) = (counts(x, metric), counts(y, metric)) else {
                    continue;
                };
                let (test, p) = two_proportion_p(k1, n1, k2, n2);
                let (ra, rb) = (f(k1) / f(n1), f(k2) / f(n2));
                deltas.push(Delta {
                    dim: (*dim).to_owned(),
                    key: key.clone(),
                    metric: metric.to_owned(),
                    a: [k1, n1],
                    b: [k2, n2],
                    a_rate: ra,
                    b_rate: rb,
                    delta: rb - ra,
                    test: test.to_owned(),
                    p,
                    p_holm: p,
                    significant: false,
                    regression: false,
                });
            }
        }
        holm(&mut deltas, alpha);
        all.extend(deltas);
    }
    for (dim, ca, cb) in &dims[1..] {
        let only_a: Vec<&String> = ca.keys().filter(|k| !cb.contains_key(*k)).collect();
        let only_b: Vec<&String> = cb.keys().filter(|k| !ca.contains_key(*k)).collect();
        if !only_a.is_empty() {
            notes.push(format!(
                "{dim} only in {}: {}",
                a.run_id,
                only_a.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        if !only_b.is_empty() {
            notes.push(format!(
                "{dim} only in {}: {}",
                b.run_id,
                only_b.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    Comparison {
        run_a: a.run_id.clone(),
        run_b: b.run_id.clone(),
        alpha,
        notes,
        deltas: all,
    }
}

/// The comparison as a text table for the terminal (or a Markdown code block).
#[must_use]
pub fn render_comparison(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "aistr compare: A = {} (baseline), B = {}; significance at alpha = {} after Holm correction",
        c.run_a, c.run_b, c.alpha
    );
    for n in &c.notes {
        let _ = writeln!(out, "note: {n}");
    }
    let width = c
        .deltas
        .iter()
        .map(|d| d.dim.len() + d.key.len() + 1)
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(
        out,
        "\n{:<width$}  {:<12}  {:>15}  {:>15}  {:>8}  {:<6}  {:>8}  {:>8}",
        "cell", "metric", "A k/n rate", "B k/n rate", "delta", "test", "p", "p_holm"
    );
    for d in &c.deltas {
        let flag = if d.regression {
            "  REGRESSION"
        } else if d.significant {
            "  significant"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "{:<width$}  {:<12}  {:>15}  {:>15}  {:>+7.1}%  {:<6}  {:>8.4}  {:>8.4}{flag}",
            format!("{}:{}", d.dim, d.key),
            d.metric,
            format!("{}/{} {:.1}%", d.a[0], d.a[1], d.a_rate * 100.0),
            format!("{}/{} {:.1}%", d.b[0], d.b[1], d.b_rate * 100.0),
            d.delta * 100.0,
            d.test,
            d.p,
            d.p_holm
        );
    }
    let regressions = c.regressions().count();
    let significant = c.deltas.iter().filter(|d| d.significant).count();
    let _ = writeln!(
        out,
        "\n{} figures compared, {significant} significant changes, {regressions} regressions",
        c.deltas.len()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erfc_matches_known_values() {
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.0) - 0.157_299_207_050_285).abs() < 1e-7);
        assert!((erfc(-1.0) - 1.842_700_792_949_715).abs() < 1e-7);
        // p = 0.05 at z = 1.959964
        assert!((erfc(1.959_963_984_540_054 / std::f64::consts::SQRT_2) - 0.05).abs() < 1e-6);
    }

    #[test]
    fn fisher_matches_the_tea_tasting_table() {
        // Fisher's lady tasting tea: [[3,1],[1,3]], two-sided p = 0.4857.
        assert!((fisher_exact(3, 4, 1, 4) - 0.485_714_285_714).abs() < 1e-9);
        // [[1,9],[11,3]]: two-sided p = 0.002759 (scipy.stats.fisher_exact).
        assert!((fisher_exact(1, 10, 11, 14) - 0.002_759_456_185_220_083).abs() < 1e-9);
        assert!((fisher_exact(0, 5, 0, 5) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn z_test_matches_a_hand_computed_case() {
        // 10/100 vs 25/100: pooled 0.175, se = 0.053735, z = 2.7914, p = 0.005249
        let p = z_test(10, 100, 25, 100);
        assert!((p - 0.005_249).abs() < 2e-5, "{p}");
        assert!((z_test(5, 10, 5, 10) - 1.0).abs() < 1e-9);
        assert_eq!(two_proportion_p(1, 10, 3, 14).0, "fisher");
        assert_eq!(
            two_proportion_p(1, 10, 11, 14).0,
            "z",
            "expected counts of exactly 5 are enough"
        );
        assert_eq!(two_proportion_p(10, 100, 25, 100).0, "z");
    }
}
