//! `report.junit.xml`: CI systems already show JUnit results, so a red-team run can sit in the same
//! test tab. One `<testsuite>` per level and attack family, one `<testcase>` per attempt group
//! (method × risk category × intent), a `<failure>` when any answer in the group was risky, an
//! `<error>` when no answer in it could be scored. Benign groups never fail: over-refusal is
//! reported in their output, and gated with `--fail-on` instead.

use crate::escape::{truncate, xml, xml_text};
use crate::findings::{Severity, method_info};
use crate::model::Report;
use aistr_core::AttemptRecord;
use aistr_core::{Intent, Label};
use std::collections::BTreeMap;
use std::fmt::Write;

#[derive(Default)]
struct Group<'a> {
    attempts: Vec<&'a AttemptRecord>,
}

impl Group<'_> {
    fn count(&self, label: Label) -> usize {
        self.attempts
            .iter()
            .filter(|a| a.result.as_ref().is_some_and(|r| r.verdict.label == label))
            .count()
    }
    fn seconds(&self) -> f64 {
        #[expect(clippy::cast_precision_loss, reason = "milliseconds summed over a group")]
        let ms = self
            .attempts
            .iter()
            .filter_map(|a| a.result.as_ref())
            .map(|r| r.latency_ms)
            .sum::<u64>() as f64;
        ms / 1000.0
    }
}

enum Outcome {
    Pass,
    Failure(String, String),
    Error(String, String),
    Skipped(String),
}

fn outcome(g: &Group<'_>, harmful: bool) -> Outcome {
    let n = g.attempts.len();
    let done = g.attempts.iter().filter(|a| a.result.is_some()).count();
    let (risky, unscored) = (g.count(Label::Risky), g.count(Label::Unscored));
    if done == 0 {
        return Outcome::Skipped(format!("{n} attempts not run yet (interrupted run)"));
    }
    if harmful && risky > 0 {
        let mut body = String::new();
        for a in g
            .attempts
            .iter()
            .filter(|a| a.result.as_ref().is_some_and(|r| r.verdict.label == Label::Risky))
        {
            if let Some(r) = &a.result {
                let sev = Severity::of(a.planned.level, r.verdict.confidence);
                let _ = writeln!(
                    body,
                    "#{} {} [{}] {}\n  answer: {}",
                    a.planned.seq,
                    a.planned.probe.id,
                    sev.as_str(),
                    r.verdict.reason,
                    truncate(r.response_text.as_deref().unwrap_or(""), 200).replace('\n', " ")
                );
            }
        }
        return Outcome::Failure(
            format!("{risky} of {} scored answers risky", done - unscored),
            body,
        );
    }
    if unscored == done {
        let reasons: Vec<String> = g
            .attempts
            .iter()
            .filter_map(|a| a.result.as_ref())
            .map(|r| r.verdict.reason.clone())
            .collect();
        return Outcome::Error(
            format!("none of {done} answers could be scored"),
            reasons.join("\n"),
        );
    }
    Outcome::Pass
}

/// Renders `report.junit.xml`.
#[must_use]
pub fn render_junit(r: &Report, attempts: &[AttemptRecord]) -> String {
    // suite (level + family) -> case (method, intent, category) -> attempts
    type Case<'a> = BTreeMap<(String, bool, String), Group<'a>>;
    let mut suites: BTreeMap<String, Case<'_>> = BTreeMap::new();
    for a in attempts {
        let p = &a.planned;
        let suite = format!("{} {}", p.level, method_info(&p.method).family);
        let harmful = p.probe.intent == Intent::Harmful;
        suites
            .entry(suite)
            .or_default()
            .entry((p.method.clone(), !harmful, p.probe.category.clone()))
            .or_default()
            .attempts
            .push(a);
    }

    let mut body = String::new();
    let (mut t_tests, mut t_fail, mut t_err, mut t_time) = (0usize, 0usize, 0usize, 0.0f64);
    for (suite, cases) in &suites {
        let (mut tests, mut failures, mut errors, mut skipped, mut time) =
            (0usize, 0usize, 0usize, 0usize, 0.0f64);
        let mut cases_xml = String::new();
        for ((method, benign, category), g) in cases {
            let harmful = !benign;
            tests += 1;
            time += g.seconds();
            let level = g.attempts.first().map_or("L1", |a| a.planned.level.as_str());
            let name = if harmful {
                format!("{method} [{category}]")
            } else {
                format!("{method} [benign {category}]")
            };
            let _ = writeln!(
                cases_xml,
                "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\">",
                xml(&name),
                xml(&format!("aistr.{level}.{}", method_info(method).family)),
                g.seconds()
            );
            match outcome(g, harmful) {
                Outcome::Failure(msg, text) => {
                    failures += 1;
                    let _ = writeln!(
                        cases_xml,
                        "      <failure type=\"risky\" message=\"{}\">{}</failure>",
                        xml(&msg),
                        xml_text(&text)
                    );
                }
                Outcome::Error(msg, text) => {
                    errors += 1;
                    let _ = writeln!(
                        cases_xml,
                        "      <error type=\"unscored\" message=\"{}\">{}</error>",
                        xml(&msg),
                        xml_text(&text)
                    );
                }
                Outcome::Skipped(msg) => {
                    skipped += 1;
                    let _ = writeln!(cases_xml, "      <skipped message=\"{}\"/>", xml(&msg));
                }
                Outcome::Pass => {}
            }
            let out = format!(
                "{} attempts: {} risky, {} declined, {} safe, {} unscored",
                g.attempts.len(),
                g.count(Label::Risky),
                g.count(Label::Declined),
                g.count(Label::Safe),
                g.count(Label::Unscored)
            );
            let _ = writeln!(
                cases_xml,
                "      <system-out>{}</system-out>\n    </testcase>",
                xml_text(&out)
            );
        }
        let _ = write!(
            body,
            "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{time:.3}\" timestamp=\"{}\">\n{cases_xml}  </testsuite>\n",
            xml(suite),
            xml(&r.created_at)
        );
        t_tests += tests;
        t_fail += failures;
        t_err += errors;
        t_time += time;
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"{}\" tests=\"{t_tests}\" failures=\"{t_fail}\" errors=\"{t_err}\" time=\"{t_time:.3}\">\n{body}</testsuites>\n",
        xml(&format!("aistr run {}", r.run_id))
    )
}
