//! Runs journaled before [`ScanSpec`] existed stored the `aistr` binary's private configuration
//! (`StoredConfig { resolved, datasets }`, aistr ≤ 0.1.0 at commit 7ae232b) as `config_json`. This
//! module reads that shape, leniently, and turns it into the spec the run was in effect: resume,
//! `aistr report` and `aistr compare` then treat old and new runs alike. What the old code did
//! with an unset value is what the conversion writes down (e.g. a judge model's concurrency
//! defaulted to 4 then), so an old run resumes exactly as it would have.
//!
//! Tested on a journal written by that binary (`aistr-test-support/fixtures/legacy-7ae232b`).

use crate::spec::{DatasetSpec, Generation, JudgeChoice, Reporting, ScanSpec};
use aistr_attacker::L3Settings;
use aistr_targets::{EndpointKind, EndpointSpec};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The version number given to the legacy shape.
pub const LEGACY_VERSION: u32 = 1;

/// `StoredConfig` as the old binary wrote it.
#[derive(Debug, Deserialize)]
pub(crate) struct StoredConfig {
    resolved: Resolved,
}

#[derive(Debug, Deserialize)]
struct Resolved {
    target: TargetConfig,
    scan: ScanConfig,
    #[serde(default)]
    judge: JudgeConfig,
    #[serde(default)]
    attacker: TargetConfig,
    #[serde(default)]
    l3: L3Settings,
}

#[derive(Debug, Deserialize)]
struct TargetConfig {
    kind: EndpointKind,
    #[serde(default)]
    base_url: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    api_key_env: Option<String>,
    #[serde(default)]
    stream: bool,
    #[serde(default = "timeout")]
    timeout_secs: f64,
    #[serde(default = "retries")]
    max_retries: u32,
    #[serde(default)]
    concurrency: Option<usize>,
    #[serde(default)]
    rpm: Option<u32>,
}

fn timeout() -> f64 {
    120.0
}

fn retries() -> u32 {
    4
}

impl Default for TargetConfig {
    fn default() -> Self {
        Self {
            kind: EndpointKind::Local,
            base_url: None,
            model: None,
            api_key_env: None,
            stream: false,
            timeout_secs: timeout(),
            max_retries: retries(),
            concurrency: None,
            rpm: None,
        }
    }
}

impl From<TargetConfig> for EndpointSpec {
    fn from(t: TargetConfig) -> Self {
        EndpointSpec {
            kind: t.kind,
            base_url: t.base_url,
            model: t.model,
            api_key_env: t.api_key_env,
            stream: t.stream,
            timeout_secs: t.timeout_secs,
            max_retries: t.max_retries,
            concurrency: t.concurrency,
            rpm: t.rpm,
            http: None,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct JudgeConfig {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    target: Option<EndpointKind>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    base_url: Option<String>,
    #[serde(default)]
    api_key_env: Option<String>,
    #[serde(default)]
    timeout_secs: Option<f64>,
    #[serde(default)]
    concurrency: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum DatasetEntry {
    Id(String),
    Limited {
        id: String,
        #[serde(default)]
        limit: Option<usize>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ChainEntry {
    Steps(Vec<String>),
    Joined(String),
}

#[derive(Debug, Deserialize)]
struct ScanConfig {
    datasets: Vec<DatasetEntry>,
    #[serde(default)]
    limit: Option<usize>,
    seed: u64,
    max_tokens: u32,
    temperature: f32,
    #[serde(default)]
    system_prompt: Option<String>,
    #[serde(default)]
    attacks: Vec<ChainEntry>,
    #[serde(default = "yes")]
    baseline: bool,
    #[serde(default = "min_samples")]
    min_samples: u64,
    #[serde(default)]
    sampling: BTreeMap<String, u64>,
    #[serde(default)]
    level_weights: Option<BTreeMap<String, f64>>,
    #[serde(default)]
    out: Option<PathBuf>,
}

fn yes() -> bool {
    true
}

fn min_samples() -> u64 {
    30
}

impl StoredConfig {
    /// The spec this configuration amounts to.
    pub(crate) fn into_spec(self) -> ScanSpec {
        let Resolved {
            target,
            scan,
            judge,
            attacker,
            l3,
        } = self.resolved;
        let datasets = scan
            .datasets
            .into_iter()
            .map(|d| match d {
                DatasetEntry::Id(id) => DatasetSpec {
                    id,
                    limit: scan.limit,
                },
                DatasetEntry::Limited { id, limit } => DatasetSpec {
                    id,
                    limit: limit.or(scan.limit),
                },
            })
            .collect();
        let attacks = scan
            .attacks
            .into_iter()
            .map(|c| match c {
                ChainEntry::Steps(steps) => steps,
                ChainEntry::Joined(s) => crate::spec::parse_chain(&s),
            })
            .collect();
        let judge_model = judge.target.map(|kind| EndpointSpec {
            kind,
            base_url: judge.base_url,
            model: judge.model,
            api_key_env: judge.api_key_env,
            stream: false,
            timeout_secs: judge.timeout_secs.unwrap_or(120.0),
            max_retries: retries(),
            // The old judge builder's own default.
            concurrency: Some(judge.concurrency.unwrap_or(4)),
            rpm: None,
            http: None,
        });
        ScanSpec {
            version: LEGACY_VERSION,
            target: target.into(),
            datasets,
            attacks,
            baseline: scan.baseline,
            seed: scan.seed,
            generation: Generation {
                max_tokens: scan.max_tokens,
                temperature: scan.temperature,
                system_prompt: scan.system_prompt,
            },
            judge: JudgeChoice {
                name: judge.name,
                model: judge_model,
                rubric: None,
            },
            attacker: attacker.into(),
            l3,
            reporting: Reporting {
                min_samples: scan.min_samples,
                sampling: scan.sampling,
                level_weights: scan.level_weights,
            },
            report_dir: scan.out,
            origin: None,
            hallucination: crate::spec::HallucinationSettings::default(),
            privacy: None,
            agents: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `config_json` as the old binary wrote it for a run with every section.
    const OLD: &str = r#"{"resolved":{"target":{"kind":"openai","base_url":"http://127.0.0.1:1/v1","model":"m","api_key_env":"K","stream":true,"timeout_secs":30.0,"max_retries":1,"concurrency":2,"rpm":60},"scan":{"datasets":[{"id":"jbb-harmful","limit":6},"jbb-benign"],"limit":4,"seed":11,"max_tokens":40,"temperature":0.0,"system_prompt":"Be nice.","attacks":[["masking.base64"],"pair,plain"],"baseline":true,"min_samples":5,"sampling":{"level":4},"level_weights":{"L1":0.5},"db":"j.db","out":"results"},"judge":{"name":"rules+llm","target":"openai","model":"jm","base_url":"http://j/v1","api_key_env":null,"timeout_secs":null,"concurrency":null},"attacker":{"kind":"local","base_url":null,"model":null,"api_key_env":null,"stream":false,"timeout_secs":120.0,"max_retries":4,"concurrency":null,"rpm":null},"l3":{"query_budget":3,"turn_budget":2,"pair_streams":2,"tap_branching":2,"tap_width":2,"tap_off_topic_below":0.2,"crescendo_max_backtracks":2,"attacker_max_tokens":120,"attacker_temperature":0.8,"attacker_format_retries":1,"feedback_chars":400}},"datasets":[{"id":"jbb-harmful","sha256":"ab","probes":4}]}"#;

    #[test]
    fn an_old_stored_config_becomes_the_spec_it_was_in_effect() {
        let old: StoredConfig = serde_json::from_str(OLD).expect("old shape");
        let s = old.into_spec();
        assert_eq!(s.version, LEGACY_VERSION);
        assert_eq!(
            (s.target.kind, s.target.concurrency, s.target.rpm, s.target.stream),
            (EndpointKind::Openai, Some(2), Some(60), true)
        );
        assert_eq!(s.target.api_key_env.as_deref(), Some("K"));
        assert_eq!(
            s.datasets,
            vec![
                DatasetSpec {
                    id: "jbb-harmful".into(),
                    limit: Some(6)
                },
                DatasetSpec {
                    id: "jbb-benign".into(),
                    limit: Some(4)
                }
            ]
        );
        assert_eq!(
            s.attacks,
            vec![vec!["masking.base64".to_owned()], vec!["pair".to_owned()]]
        );
        assert_eq!((s.seed, s.generation.max_tokens), (11, 40));
        let jm = s.judge.model.as_ref().expect("judge model");
        assert_eq!((jm.concurrency, jm.timeout_secs), (Some(4), 120.0));
        assert_eq!(s.judge.name.as_deref(), Some("rules+llm"));
        assert_eq!(s.attacker.kind, EndpointKind::Local);
        assert_eq!((s.l3.query_budget, s.l3.turn_budget), (3, 2));
        assert_eq!(s.reporting.min_samples, 5);
        assert_eq!(s.report_dir, Some(PathBuf::from("results")));
        assert_eq!(s.validate(), Ok(()));
    }

    #[test]
    fn the_oldest_shape_without_judge_attacker_or_l3_reads_with_their_defaults() {
        let oldest = r#"{"resolved":{"target":{"kind":"local","base_url":null,"model":null,"api_key_env":null},"scan":{"datasets":["jbb-harmful"],"limit":null,"seed":0,"max_tokens":48,"temperature":0.0,"system_prompt":null,"attacks":[],"baseline":true,"min_samples":30,"level_weights":null,"db":"aistr-out/journal.db","out":"aistr-out"}},"datasets":[]}"#;
        let s = serde_json::from_str::<StoredConfig>(oldest)
            .expect("oldest")
            .into_spec();
        assert_eq!(s.judge, JudgeChoice::default());
        assert_eq!(s.attacker, EndpointSpec::default());
        assert_eq!(s.l3, L3Settings::default());
        assert_eq!(s.chains(), vec![Vec::<String>::new()]);
    }
}
