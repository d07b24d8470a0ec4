//! `report.sarif`: SARIF 2.1.0 so code-scanning dashboards and SARIF viewers can list red-team
//! findings next to static-analysis ones. One rule per attack method run (with its registry tags),
//! one result per risky answer to a harmful probe, `level` from [`crate::findings::Severity`].
//! Only the subset of SARIF we emit is modelled; the test suite validates it against the official schema.

use crate::findings::{Severity, findings, method_info};
use crate::model::Report;
use aistr_core::AttemptRecord;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The schema URI written into `$schema`.
pub const SARIF_SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Characters of the model's answer kept in a result's properties (the journal has all of it).
const EXCERPT: usize = 300;

fn fingerprint(method: &str, probe_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update([0]);
    h.update(probe_id.as_bytes());
    hex::encode(&h.finalize()[..16])
}

/// For a privacy attempt, its leaked canaries as `{canary, kind, form}` (ids and kinds, never
/// values); null otherwise.
fn privacy_leaks(a: &AttemptRecord) -> Value {
    a.result
        .as_ref()
        .and_then(|r| {
            r.verdict
                .stages
                .iter()
                .find(|s| s.stage == crate::privacy::PII_STAGE)
        })
        .and_then(|s| s.raw.as_deref())
        .and_then(|raw| serde_json::from_str::<Value>(raw).ok())
        .map_or(Value::Null, |v| v["leaks"].clone())
}

/// Renders `report.sarif` (pretty-printed JSON).
#[must_use]
pub fn render_sarif(r: &Report, attempts: &[AttemptRecord]) -> String {
    serde_json::to_string_pretty(&sarif_value(r, attempts)).unwrap_or_default() + "\n"
}

/// The SARIF log as a JSON value.
#[must_use]
pub fn sarif_value(r: &Report, attempts: &[AttemptRecord]) -> Value {
    let found = findings(attempts);
    // Rules: every method that was run, in a stable order, with the worst severity it produced.
    let mut worst: BTreeMap<&str, Option<Severity>> = BTreeMap::new();
    for a in attempts {
        worst.entry(a.planned.method.as_str()).or_insert(None);
    }
    for f in &found {
        let w = worst.entry(f.attempt.planned.method.as_str()).or_insert(None);
        *w = Some(w.map_or(f.severity, |s| s.max(f.severity)));
    }
    let index: BTreeMap<&str, usize> = worst.keys().enumerate().map(|(i, m)| (*m, i)).collect();
    let rules: Vec<Value> = worst
        .iter()
        .map(|(m, sev)| {
            let info = method_info(m);
            let cell = r.by_method.get(*m);
            let level = attempts.iter().find(|a| a.planned.method == *m).map(|a| a.planned.level.as_str()).unwrap_or("L1");
            let mut tags = info.tags.clone();
            tags.extend(["security".to_owned(), "ai-red-team".to_owned(), level.to_owned()]);
            json!({
                "id": m,
                "name": info.id,
                "shortDescription": {"text": format!("{level} attack `{m}` ({}) got a risky answer", info.family)},
                "fullDescription": {"text": info.description},
                "help": {"text": format!("Attack method `{m}` (family {}, level {level}). A result means the target answered a harmful request the attack delivered; read the transcript in report.html and harden the model or its guardrails.", info.family)},
                "defaultConfiguration": {"level": sev.unwrap_or(Severity::Medium).sarif_level()},
                "properties": {
                    "tags": tags,
                    "family": info.family,
                    "aistr-level": level,
                    "security-severity": sev.unwrap_or(Severity::Medium).score(),
                    "R": cell.and_then(|c| c.R),
                    "n": cell.map_or(0, |c| c.scored),
                }
            })
        })
        .collect();

    let results: Vec<Value> = found
        .iter()
        .map(|f| {
            let p = &f.attempt.planned;
            let excerpt = f
                .attempt
                .result
                .as_ref()
                .and_then(|x| x.response_text.as_deref())
                .map(|t| crate::escape::truncate(t, EXCERPT).into_owned());
            json!({
                "ruleId": p.method,
                "ruleIndex": index.get(p.method.as_str()).copied().unwrap_or(0),
                "kind": "fail",
                "level": f.severity.sarif_level(),
                "message": {"text": format!(
                    "{} attack `{}` got a risky answer to harmful probe `{}` (category {}, language {}): {}",
                    p.level, p.method, p.probe.id, p.probe.category, p.probe.language, f.reason
                )},
                "locations": [{"logicalLocations": [{
                    "name": p.probe.id,
                    "fullyQualifiedName": format!("{}/{}/{}", p.level, p.method, p.probe.id),
                    "kind": "object"
                }]}],
                "partialFingerprints": {"aistrFinding/v1": fingerprint(&p.method, &p.probe.id)},
                "properties": {
                    "severity": f.severity.as_str(),
                    "attempt": p.seq,
                    "run": r.run_id,
                    "category": p.probe.category,
                    "language": p.probe.language,
                    "dataset": p.probe.dataset,
                    "judge": f.attempt.result.as_ref().map(|x| x.verdict.judge.clone()),
                    "confidence": f.attempt.result.as_ref().map(|x| f64::from(x.verdict.confidence)),
                    "responseExcerpt": excerpt,
                    "privacyLeaks": privacy_leaks(f.attempt),
                }
            })
        })
        .collect();
    // Attack findings carry no privacy key at all; a privacy leak names canary id, kind and form.
    let mut results = results;
    for res in &mut results {
        if let Some(props) = res.get_mut("properties").and_then(Value::as_object_mut)
            && props.get("privacyLeaks").is_some_and(Value::is_null)
        {
            props.remove("privacyLeaks");
        }
    }

    json!({
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "aistr",
                "version": r.aistr_version,
                "semanticVersion": r.aistr_version,
                "rules": rules,
            }},
            "automationDetails": {"id": format!("aistr/{}", r.run_id)},
            "invocations": [{
                "executionSuccessful": r.status == "finished",
                "properties": {"status": r.status, "judge": r.judge, "target": r.target},
            }],
            "results": results,
            "properties": {
                "R": r.overall.R,
                "D": r.overall.D,
                "n": r.overall.scored,
                "overRefusal": r.over_refusal.as_ref().and_then(|o| o.rate),
                "datasets": r.datasets,
            }
        }]
    })
}
