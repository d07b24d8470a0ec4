//! Output renderers: human text, the JSON contract of issue 7, and SARIF 2.1.0 for code-scanning
//! UIs. All are pure functions from a [`ScanReport`] to a `String`.
//!
//! SARIF is hand-modelled: only the subset we emit (one run, one driver with rules, results with
//! a level, a message and a physical location), which keeps a heavy dependency out.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::model::{ScanReport, Severity, Verdict};

/// Renders the JSON report: `{"files": [{"path","format","verdict","status","findings":[...]}]}`.
pub fn render_json(report: &ScanReport) -> Result<String, serde_json::Error> {
    let mut s = serde_json::to_string_pretty(report)?;
    s.push('\n');
    Ok(s)
}

/// Renders a human summary. `verbose` also lists info-level findings.
pub fn render_text(report: &ScanReport, verbose: bool) -> String {
    let mut out = String::new();
    let mut counts: BTreeMap<Verdict, usize> = BTreeMap::new();
    for f in &report.files {
        *counts.entry(f.verdict).or_default() += 1;
        let _ = writeln!(
            out,
            "{:<12} {:<15} {}  [{}]",
            f.verdict.as_str().to_uppercase(),
            f.format.as_str(),
            f.path,
            f.status.as_str()
        );
        for x in &f.findings {
            if x.severity == Severity::Info && !verbose {
                continue;
            }
            let _ = writeln!(out, "    {:<8} {}: {}", x.severity.as_str(), x.kind, x.detail);
        }
    }
    let _ = writeln!(
        out,
        "\n{} files: {} malicious, {} suspicious, {} inconclusive, {} clean",
        report.files.len(),
        counts.get(&Verdict::Malicious).unwrap_or(&0),
        counts.get(&Verdict::Suspicious).unwrap_or(&0),
        counts.get(&Verdict::Inconclusive).unwrap_or(&0),
        counts.get(&Verdict::Clean).unwrap_or(&0),
    );
    out
}

#[derive(Serialize)]
struct Sarif<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run<'a>>,
}

#[derive(Serialize)]
struct Run<'a> {
    tool: Tool,
    results: Vec<SarifResult<'a>>,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    information_uri: &'static str,
    rules: Vec<Rule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: String,
    short_description: Text,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    level: &'static str,
    message: Text,
    locations: Vec<Location>,
    properties: Props<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: Physical,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Physical {
    artifact_location: Artifact,
}

#[derive(Serialize)]
struct Artifact {
    uri: String,
}

#[derive(Serialize)]
struct Props<'a> {
    severity: &'static str,
    verdict: &'static str,
    format: &'static str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    member: Option<&'a str>,
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::High | Severity::Critical => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// Renders SARIF 2.1.0. Info findings are omitted; archive members point at the outer file and
/// name the member in `properties.member`.
pub fn render_sarif(report: &ScanReport) -> Result<String, serde_json::Error> {
    let mut rules: BTreeMap<String, String> = BTreeMap::new();
    let mut results = Vec::new();
    for f in &report.files {
        let (outer, member) = match f.path.split_once('!') {
            Some((o, m)) => (o, Some(m)),
            None => (f.path.as_str(), None),
        };
        for x in f.findings.iter().filter(|x| x.severity > Severity::Info) {
            rules
                .entry(x.kind.clone())
                .or_insert_with(|| x.kind.replace('_', " "));
            let text = match member {
                Some(m) => format!("{m}: {}", x.detail),
                None => x.detail.clone(),
            };
            results.push(SarifResult {
                rule_id: &x.kind,
                level: level(x.severity),
                message: Text { text },
                locations: vec![Location {
                    physical_location: Physical {
                        artifact_location: Artifact {
                            uri: outer.replace('\\', "/"),
                        },
                    },
                }],
                properties: Props {
                    severity: x.severity.as_str(),
                    verdict: f.verdict.as_str(),
                    format: f.format.as_str(),
                    status: f.status.as_str(),
                    member,
                },
            });
        }
    }
    let sarif = Sarif {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "aistr-modelscan",
                    version: env!("CARGO_PKG_VERSION"),
                    information_uri: "https://example.invalid/aistr/docs/modelscan.md",
                    rules: rules
                        .into_iter()
                        .map(|(id, d)| Rule {
                            id,
                            short_description: Text { text: d },
                        })
                        .collect(),
                },
            },
            results,
        }],
    };
    let mut s = serde_json::to_string_pretty(&sarif)?;
    s.push('\n');
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FileReport, Finding, Format, ScanStatus};

    fn report() -> ScanReport {
        ScanReport {
            files: vec![
                FileReport {
                    path: "m.pt".into(),
                    format: Format::PytorchZip,
                    verdict: Verdict::Malicious,
                    status: ScanStatus::Complete,
                    findings: vec![Finding::new("members", Severity::Info, "1 member")],
                },
                FileReport {
                    path: "m.pt!archive/data.pkl".into(),
                    format: Format::Pickle,
                    verdict: Verdict::Malicious,
                    status: ScanStatus::Complete,
                    findings: vec![Finding::new(
                        "dangerous_import",
                        Severity::Critical,
                        "builtins.eval",
                    )],
                },
            ],
        }
    }

    #[test]
    fn json_contract() {
        let v: serde_json::Value = serde_json::from_str(&render_json(&report()).unwrap()).unwrap();
        let f = &v["files"][1];
        for k in ["path", "format", "verdict", "status", "findings"] {
            assert!(f.get(k).is_some(), "missing {k}");
        }
        assert_eq!(f["verdict"], "malicious");
        assert_eq!(f["format"], "pickle");
        assert_eq!(f["findings"][0]["severity"], "critical");
        assert_eq!(f["findings"][0]["kind"], "dangerous_import");
        assert_eq!(v["files"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn sarif_shape() {
        let v: serde_json::Value = serde_json::from_str(&render_sarif(&report()).unwrap()).unwrap();
        assert_eq!(v["version"], "2.1.0");
        let r = &v["runs"][0]["results"];
        assert_eq!(r.as_array().unwrap().len(), 1, "info findings are omitted");
        assert_eq!(r[0]["level"], "error");
        assert_eq!(
            r[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "m.pt"
        );
        assert_eq!(r[0]["properties"]["member"], "archive/data.pkl");
        assert_eq!(
            v["runs"][0]["tool"]["driver"]["rules"][0]["id"],
            "dangerous_import"
        );
    }

    #[test]
    fn text_summary() {
        let t = render_text(&report(), false);
        assert!(t.contains("MALICIOUS"));
        assert!(t.contains("2 files: 2 malicious"));
        assert!(!t.contains("1 member"));
        assert!(render_text(&report(), true).contains("1 member"));
    }
}
