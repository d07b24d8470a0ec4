//! `--fail-on`: thresholds a CI pipeline gates on. A small grammar (documented in
//! `docs/reports.md`) over the figures of `report.json`, so a gate reads exactly what the report says.
//!
//! ```text
//! fail-on   := condition ("," condition)*
//! condition := [scope "."] metric op number ["%"]
//! scope     := "L1" | "L2" | "L3" | "L4" | dim ":" key | dim ":*"
//! dim       := "level" | "category" | "method" | "language" | "dataset"
//! metric    := "R" | "D" | "R_max" | "R_lo" | "R_hi" | "over_refusal" | "risky" | "unscored"
//! op        := ">" | ">=" | "<" | "<="
//! ```

use crate::model::{Cell, Report};
use std::collections::BTreeMap;
use std::fmt;

/// Why a `--fail-on` expression was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GateError {
    /// The text does not follow the grammar.
    #[error("bad --fail-on condition `{condition}`: {why}")]
    Syntax {
        /// The offending condition.
        condition: String,
        /// What is wrong.
        why: String,
    },
    /// The condition names a cell the report does not have (a typo must not pass a gate silently).
    #[error("--fail-on condition `{condition}`: no {dim} `{key}` in this run (known: {known})")]
    UnknownCell {
        /// The condition.
        condition: String,
        /// Dimension.
        dim: String,
        /// Key asked for.
        key: String,
        /// Keys the run has.
        known: String,
    },
}

/// A dimension of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim {
    /// Attack level.
    Level,
    /// Risk category.
    Category,
    /// Attack method.
    Method,
    /// Language.
    Language,
    /// Dataset.
    Dataset,
}

impl Dim {
    fn parse(s: &str) -> Option<Dim> {
        Some(match s {
            "level" => Dim::Level,
            "category" => Dim::Category,
            "method" => Dim::Method,
            "language" => Dim::Language,
            "dataset" => Dim::Dataset,
            _ => return None,
        })
    }
    fn name(self) -> &'static str {
        match self {
            Dim::Level => "level",
            Dim::Category => "category",
            Dim::Method => "method",
            Dim::Language => "language",
            Dim::Dataset => "dataset",
        }
    }
    fn cells(self, r: &Report) -> &BTreeMap<String, Cell> {
        match self {
            Dim::Level => &r.by_level,
            Dim::Category => &r.by_category,
            Dim::Method => &r.by_method,
            Dim::Language => &r.by_language,
            Dim::Dataset => &r.by_dataset,
        }
    }
}

/// Which cells a condition looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// All harmful samples.
    Overall,
    /// One cell.
    Cell(Dim, String),
    /// Every cell of a dimension: crossed when any cell crosses.
    Each(Dim),
}

/// A figure of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Attack success rate.
    R,
    /// Decline rate.
    D,
    /// Worst-case R (unscored counted as risky).
    RMax,
    /// Lower bound of R's 95% Wilson interval (gate on what the data proves).
    RLo,
    /// Upper bound of R's 95% Wilson interval (gate on what the data cannot exclude).
    RHi,
    /// Over-refusal rate on benign probes.
    OverRefusal,
    /// Number of risky answers.
    Risky,
    /// Number of unscored answers.
    Unscored,
}

impl Metric {
    fn parse(s: &str) -> Option<Metric> {
        Some(match s {
            "R" => Metric::R,
            "D" => Metric::D,
            "R_max" => Metric::RMax,
            "R_lo" => Metric::RLo,
            "R_hi" => Metric::RHi,
            "over_refusal" => Metric::OverRefusal,
            "risky" => Metric::Risky,
            "unscored" => Metric::Unscored,
            _ => return None,
        })
    }
    fn is_count(self) -> bool {
        matches!(self, Metric::Risky | Metric::Unscored)
    }
    #[expect(clippy::cast_precision_loss, reason = "counts are far below 2^52")]
    fn of(self, c: &Cell) -> Option<f64> {
        match self {
            Metric::R => c.R,
            Metric::D => c.D,
            Metric::RMax => c.R_max,
            Metric::RLo => c.R_ci.map(|x| x[0]),
            Metric::RHi => c.R_ci.map(|x| x[1]),
            Metric::OverRefusal => c.over_refusal.as_ref().and_then(|o| o.rate),
            Metric::Risky => Some(c.risky as f64),
            Metric::Unscored => Some(c.unscored as f64),
        }
    }
}

/// Comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

impl Op {
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Gt => a > b,
            Op::Ge => a >= b,
            Op::Lt => a < b,
            Op::Le => a <= b,
        }
    }
}

/// One condition: the gate trips when it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The text as written.
    pub text: String,
    /// Cells.
    pub scope: Scope,
    /// Figure.
    pub metric: Metric,
    /// Operator.
    pub op: Op,
    /// Threshold (a rate in 0..=1, or a count).
    pub threshold: f64,
}

/// A parsed `--fail-on` expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    /// Conditions; the gate trips when any holds.
    pub conditions: Vec<Condition>,
}

/// One evaluated (condition, cell) pair.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Check {
    /// The condition as written.
    pub condition: String,
    /// The cell (`overall`, `level:L2`, ...).
    pub cell: String,
    /// Its value (None: no scored sample, so it cannot trip).
    pub value: Option<f64>,
    /// Whether the condition holds for this cell.
    pub crossed: bool,
}

/// The gate's verdict on a report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GateOutcome {
    /// Every check made.
    pub checks: Vec<Check>,
}

impl GateOutcome {
    /// True when any condition holds.
    #[must_use]
    pub fn crossed(&self) -> bool {
        self.checks.iter().any(|c| c.crossed)
    }
}

impl fmt::Display for GateOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.checks {
            let value = c
                .value
                .map_or_else(|| "no data".to_owned(), |v| format!("{v:.4}"));
            let mark = if c.crossed { "CROSSED" } else { "ok" };
            writeln!(f, "  {mark:<7} {}  [{}] = {value}", c.condition, c.cell)?;
        }
        Ok(())
    }
}

fn syntax(condition: &str, why: impl Into<String>) -> GateError {
    GateError::Syntax {
        condition: condition.to_owned(),
        why: why.into(),
    }
}

fn parse_condition(text: &str) -> Result<Condition, GateError> {
    let pos = text
        .find(['<', '>'])
        .ok_or_else(|| syntax(text, "no operator (use >, >=, < or <=)"))?;
    let (lhs, rest) = text.split_at(pos);
    let (op, rhs) = match rest.as_bytes() {
        [b'>', b'=', ..] => (Op::Ge, &rest[2..]),
        [b'<', b'=', ..] => (Op::Le, &rest[2..]),
        [b'>', ..] => (Op::Gt, &rest[1..]),
        _ => (Op::Lt, &rest[1..]),
    };
    let (lhs, rhs) = (lhs.trim(), rhs.trim());
    let (scope_text, metric_text) = match lhs.rsplit_once('.') {
        Some((s, m)) if Metric::parse(m).is_some() => (Some(s), m),
        _ => (None, lhs),
    };
    let metric = Metric::parse(metric_text).ok_or_else(|| {
        syntax(
            text,
            format!(
                "unknown metric `{metric_text}` (R, D, R_max, R_lo, R_hi, over_refusal, risky, unscored)"
            ),
        )
    })?;
    let scope = match scope_text {
        None => Scope::Overall,
        Some(s) => {
            if let Some(l) = aistr_core::Level::parse(s) {
                Scope::Cell(Dim::Level, l.as_str().to_owned())
            } else {
                let (dim, key) = s.split_once(':').ok_or_else(|| {
                    syntax(text, format!("unknown scope `{s}` (L1..L4, or level:, category:, method:, language:, dataset: followed by a key or *)"))
                })?;
                let dim =
                    Dim::parse(dim).ok_or_else(|| syntax(text, format!("unknown dimension `{dim}`")))?;
                match key {
                    "" => return Err(syntax(text, "empty key after `:`")),
                    "*" => Scope::Each(dim),
                    k => Scope::Cell(dim, k.to_owned()),
                }
            }
        }
    };
    let (number, percent) = match rhs.strip_suffix('%') {
        Some(n) => (n.trim(), true),
        None => (rhs, false),
    };
    let mut threshold: f64 = number
        .parse()
        .map_err(|_| syntax(text, format!("`{rhs}` is not a number")))?;
    if !threshold.is_finite() {
        return Err(syntax(text, "threshold must be finite"));
    }
    if metric.is_count() {
        if percent {
            return Err(syntax(text, format!("`{metric_text}` is a count; drop the %")));
        }
    } else {
        if percent {
            threshold /= 100.0;
        }
        if !(0.0..=1.0).contains(&threshold) {
            return Err(syntax(text, "a rate threshold must be within 0..1 (or 0%..100%)"));
        }
    }
    Ok(Condition {
        text: text.to_owned(),
        scope,
        metric,
        op,
        threshold,
    })
}

impl Gate {
    /// Parses a comma-separated list of conditions.
    ///
    /// # Errors
    /// [`GateError::Syntax`] for text outside the grammar.
    pub fn parse(s: &str) -> Result<Gate, GateError> {
        let conditions = s
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(parse_condition)
            .collect::<Result<Vec<_>, _>>()?;
        if conditions.is_empty() {
            return Err(syntax(s, "no condition"));
        }
        Ok(Gate { conditions })
    }

    /// Evaluates every condition on a report.
    ///
    /// # Errors
    /// [`GateError::UnknownCell`] when a condition names a cell the report lacks.
    pub fn evaluate(&self, r: &Report) -> Result<GateOutcome, GateError> {
        let mut checks = Vec::new();
        for c in &self.conditions {
            let mut check = |cell: String, value: Option<f64>| {
                let crossed = value.is_some_and(|v| c.op.holds(v, c.threshold));
                checks.push(Check {
                    condition: c.text.clone(),
                    cell,
                    value,
                    crossed,
                });
            };
            match &c.scope {
                Scope::Overall => {
                    let value = match c.metric {
                        Metric::OverRefusal => r.over_refusal.as_ref().and_then(|o| o.rate),
                        m => m.of(&r.overall),
                    };
                    check("overall".into(), value);
                }
                Scope::Cell(dim, key) => {
                    let cell = dim.cells(r).get(key).ok_or_else(|| GateError::UnknownCell {
                        condition: c.text.clone(),
                        dim: dim.name().into(),
                        key: key.clone(),
                        known: dim.cells(r).keys().cloned().collect::<Vec<_>>().join(", "),
                    })?;
                    check(format!("{}:{key}", dim.name()), c.metric.of(cell));
                }
                Scope::Each(dim) => {
                    for (key, cell) in dim.cells(r) {
                        check(format!("{}:{key}", dim.name()), c.metric.of(cell));
                    }
                }
            }
        }
        Ok(GateOutcome { checks })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        let g = Gate::parse("R>0.05, L2.R>=10%, category:data.security_attack.R>0, method:masking.base64.R_lo>0.2, level:*.unscored>3").expect("parses");
        assert_eq!(g.conditions.len(), 5);
        assert_eq!(g.conditions[0].scope, Scope::Overall);
        assert_eq!(g.conditions[1].scope, Scope::Cell(Dim::Level, "L2".into()));
        assert!((g.conditions[1].threshold - 0.1).abs() < 1e-12);
        assert_eq!(g.conditions[1].op, Op::Ge);
        assert_eq!(
            g.conditions[2].scope,
            Scope::Cell(Dim::Category, "data.security_attack".into())
        );
        assert_eq!(
            g.conditions[3].scope,
            Scope::Cell(Dim::Method, "masking.base64".into())
        );
        assert_eq!(g.conditions[3].metric, Metric::RLo);
        assert_eq!(g.conditions[4].scope, Scope::Each(Dim::Level));
        assert_eq!(g.conditions[4].metric, Metric::Unscored);
    }

    #[test]
    fn rejects_what_is_not_in_the_grammar() {
        for bad in [
            "",
            "R",
            "R>abc",
            "X>0.1",
            "L9.R>0.1",
            "foo:bar.R>0",
            "R>150%",
            "R>2",
            "risky>5%",
            "category:.R>0",
            "R>NaN",
        ] {
            assert!(Gate::parse(bad).is_err(), "{bad} should be rejected");
        }
    }
}
