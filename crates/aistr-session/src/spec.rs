//! [`ScanSpec`]: everything that decides what a scan sends and how it is judged and reported, in one
//! serialisable, versioned value. A front end (the CLI's flags and config file, later a server's
//! API) builds one; the session plans from it and stores it in the journal as the run's
//! `config_json`; resume, re-rendering a report and every later front end read it back from there.
//!
//! Compatibility rules, so stored specs keep working:
//! - a new kind of test (say a hallucination or privacy suite) or setting is a new field or
//!   section with a serde default, so every spec stored before it reads unchanged;
//! - each such addition bumps [`SCAN_SPEC_VERSION`]; a build refuses a spec with a newer version
//!   than it knows ([`SpecError::TooNew`]) instead of silently ignoring what it cannot read;
//! - runs journaled before the spec existed (the binary's `StoredConfig`, "version 1") are read by
//!   [`crate::legacy`].
//!
//! A spec never holds a secret: endpoints name the environment variable with the key.

use aistr_attacker::L3Settings;
use aistr_core::Level;
use aistr_targets::{EndpointKind, EndpointSpec};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The version of the shape written by this build.
pub const SCAN_SPEC_VERSION: u32 = 5;

/// Dimensions a sampling plan may name.
pub const SAMPLING_DIMENSIONS: &[&str] = &["level", "category", "method", "language", "dataset", "family"];

/// One scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanSpec {
    /// Shape version ([`SCAN_SPEC_VERSION`] when written by this build).
    pub version: u32,
    /// The model or application under test.
    pub target: EndpointSpec,
    /// Probe sets, each with its sample size.
    pub datasets: Vec<DatasetSpec>,
    /// Attack chains, each a list of attack ids applied in order (the plain request is an empty
    /// chain, added by `baseline`).
    #[serde(default)]
    pub attacks: Vec<Vec<String>>,
    /// Also send every probe plainly (the L1 baseline) when attacks are given.
    #[serde(default = "yes")]
    pub baseline: bool,
    /// Seed for sampling, attacks and generation.
    #[serde(default)]
    pub seed: u64,
    /// What every request asks of the target.
    pub generation: Generation,
    /// Which judge labels the answers.
    #[serde(default)]
    pub judge: JudgeChoice,
    /// The L3 attacker model (used only when an L3 attack is planned).
    #[serde(default)]
    pub attacker: EndpointSpec,
    /// L3 budgets.
    #[serde(default)]
    pub l3: L3Settings,
    /// How figures are reported.
    #[serde(default)]
    pub reporting: Reporting,
    /// Where a front end that writes report files puts them by default (the CLI's `--out`); the
    /// session itself writes no file.
    #[serde(default)]
    pub report_dir: Option<PathBuf>,
    /// When this run was derived from another (e.g. stored answers re-judged): which, and how.
    #[serde(default)]
    pub origin: Option<RunOrigin>,
    /// The hallucination test kind's settings (version 3), used when the datasets are
    /// hallucination probe sets.
    #[serde(default)]
    pub hallucination: HallucinationSettings,
    /// The privacy suite (`--suite privacy`; spec version 4): seeded canary records planted in the
    /// target's context and the extraction probes against them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy: Option<crate::privacy::PrivacySpec>,
    /// The agent test kind (`--suite agents-banking`, `agents-workspace`; spec version 5): simulated
    /// tool environments played against the target, one episode per attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agents: Option<crate::agents::AgentsSpec>,
}

/// Where the hallucination test kind finds its ground truth.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HallucinationSettings {
    /// The chinese-poetry corpus directory (for the `poetry-*` probe sets).
    #[serde(default)]
    pub poetry_dir: Option<PathBuf>,
    /// Where the normalised corpus snapshot is cached (a start-up in a fraction of a second); None
    /// normalises the corpus on every start.
    #[serde(default)]
    pub snapshot: Option<PathBuf>,
}

fn yes() -> bool {
    true
}

/// A probe set and how many of its probes to take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetSpec {
    /// Built-in dataset id or JSONL path.
    pub id: String,
    /// At most this many probes (a seeded sample); None = all.
    #[serde(default)]
    pub limit: Option<usize>,
}

/// Generation settings shared by every request of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generation {
    /// Cap on generated tokens per answer.
    pub max_tokens: u32,
    /// Sampling temperature.
    #[serde(default)]
    pub temperature: f32,
    /// An application system prompt placed before every conversation.
    #[serde(default)]
    pub system_prompt: Option<String>,
}

impl Default for Generation {
    fn default() -> Self {
        Self {
            max_tokens: 48,
            temperature: 0.0,
            system_prompt: None,
        }
    }
}

/// The judge of a scan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JudgeChoice {
    /// Configuration name (`rules`, `embedded`, `rules+embedded`, `rules-v0`, `+jailguard`,
    /// `+llm`); None = the default for the installed models (plus `+llm` with a judge model).
    #[serde(default)]
    pub name: Option<String>,
    /// The LLM judge's endpoint for the `+llm` stage. None: no judge model is built and judging
    /// never leaves the machine.
    #[serde(default)]
    pub model: Option<EndpointSpec>,
    /// The rubric sent to the judge model (`aistr`, `jbb`, `harmbench`); None = `aistr`. Only
    /// with a judge model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rubric: Option<String>,
}

/// Report settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reporting {
    /// Cells with fewer scored samples are flagged `low_sample`.
    pub min_samples: u64,
    /// Sampling plan: minimum scored samples per cell, by dimension ([`SAMPLING_DIMENSIONS`]).
    #[serde(default)]
    pub sampling: BTreeMap<String, u64>,
    /// Per-level weights of the overall figure (None = sample-weighted).
    #[serde(default)]
    pub level_weights: Option<BTreeMap<String, f64>>,
}

impl Default for Reporting {
    fn default() -> Self {
        Self {
            min_samples: 30,
            sampling: BTreeMap::new(),
            level_weights: None,
        }
    }
}

/// Where a derived run comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOrigin {
    /// The run whose stored answers this run starts from.
    pub run_id: String,
    /// How it was derived (e.g. `rejudge`).
    pub kind: String,
}

/// A spec that cannot be run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpecError {
    /// Written by a newer aistr.
    #[error(
        "this scan was described by a newer aistr (spec version {found}; this build reads up to {SCAN_SPEC_VERSION})"
    )]
    TooNew {
        /// The version found.
        found: u32,
    },
    /// Something in it is out of range or inconsistent.
    #[error("{0}")]
    Invalid(String),
}

impl ScanSpec {
    /// A spec with this build's defaults for everything but the target and the datasets.
    #[must_use]
    pub fn new(target: EndpointSpec, datasets: Vec<DatasetSpec>) -> Self {
        Self {
            version: SCAN_SPEC_VERSION,
            target,
            datasets,
            attacks: Vec::new(),
            baseline: true,
            seed: 0,
            generation: Generation::default(),
            judge: JudgeChoice::default(),
            attacker: EndpointSpec::default(),
            l3: L3Settings::default(),
            reporting: Reporting::default(),
            report_dir: None,
            origin: None,
            hallucination: HallucinationSettings::default(),
            privacy: None,
            agents: None,
        }
    }

    /// The attack chains planned, in order: the plain baseline first (when asked for, or when no
    /// attack is given), then each distinct non-empty chain.
    #[must_use]
    pub fn chains(&self) -> Vec<Vec<String>> {
        let mut chains: Vec<Vec<String>> = Vec::new();
        if self.attacks.is_empty() || self.baseline {
            chains.push(Vec::new());
        }
        for steps in &self.attacks {
            if !steps.is_empty() && !chains.contains(steps) {
                chains.push(steps.clone());
            }
        }
        chains
    }

    /// Checks what can be checked before anything is loaded or sent.
    ///
    /// # Errors
    /// The first problem found, naming the setting.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.version > SCAN_SPEC_VERSION {
            return Err(SpecError::TooNew { found: self.version });
        }
        let invalid = |m: String| Err(SpecError::Invalid(m));
        for (role, e) in [
            ("target", Some(&self.target)),
            ("judge model", self.judge.model.as_ref()),
        ] {
            if let Some(e) = e
                && let Err(err) = e.validate()
            {
                return invalid(format!("{role}: {err}"));
            }
        }
        if self.attacks.iter().flatten().any(|s| s.is_empty()) {
            return invalid("an attack chain has an empty step".into());
        }
        if let Some(agents) = &self.agents {
            agents.validate()?;
        }
        if self.datasets.is_empty() && self.privacy.is_none() && self.agents.is_none() {
            return invalid("no dataset selected".into());
        }
        if self.generation.max_tokens == 0 {
            return invalid("max_tokens must be at least 1".into());
        }
        if self.l3.query_budget == 0 || self.l3.turn_budget == 0 {
            return invalid("the L3 query and turn budgets must be at least 1".into());
        }
        if self.attacker.kind == EndpointKind::Openai
            && (self.attacker.base_url.is_none() || self.attacker.model.is_none())
        {
            return invalid("an openai attacker needs a base URL and a model".into());
        }
        for dim in self.reporting.sampling.keys() {
            if !SAMPLING_DIMENSIONS.contains(&dim.as_str()) {
                return invalid(format!(
                    "sampling: `{dim}` is not a dimension ({})",
                    SAMPLING_DIMENSIONS.join(", ")
                ));
            }
        }
        if let Some(w) = &self.reporting.level_weights {
            for (k, v) in w {
                if Level::parse(k).is_none() {
                    return invalid(format!("level_weights: `{k}` is not a level (L1..L4)"));
                }
                if !(v.is_finite() && *v >= 0.0) {
                    return invalid(format!(
                        "level_weights: weight of {k} must be a non-negative number"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Splits a comma-separated chain (`"a,b"`) into its steps; `plain` and empty steps are dropped
/// (the plain request is the empty chain).
#[must_use]
pub fn parse_chain(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty() && *p != "plain")
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ScanSpec {
        ScanSpec::new(
            EndpointSpec::openai("http://h/v1", "m"),
            vec![DatasetSpec {
                id: "jbb-harmful".into(),
                limit: Some(3),
            }],
        )
    }

    #[test]
    fn a_minimal_stored_spec_reads_with_defaults_and_roundtrips() {
        let s: ScanSpec = serde_json::from_value(serde_json::json!({
            "version": SCAN_SPEC_VERSION,
            "target": {"kind": "openai", "base_url": "http://h/v1", "model": "m"},
            "datasets": [{"id": "jbb-harmful", "limit": 3}],
            "generation": {"max_tokens": 48}
        }))
        .expect("minimal spec");
        assert_eq!(s, spec());
        let back: ScanSpec = serde_json::from_str(&serde_json::to_string(&s).expect("ser")).expect("de");
        assert_eq!(back, s);
    }

    #[test]
    fn a_spec_from_a_newer_build_is_refused_not_half_read() {
        let mut v = serde_json::to_value(spec()).expect("ser");
        v["a_later_section"] = serde_json::json!({"suite": "x"});
        let s: ScanSpec = serde_json::from_value(v.clone()).expect("unknown sections are tolerated");
        assert_eq!(s.validate(), Ok(()));
        v["version"] = serde_json::json!(SCAN_SPEC_VERSION + 1);
        let s: ScanSpec = serde_json::from_value(v).expect("reads");
        assert!(matches!(s.validate(), Err(SpecError::TooNew { .. })));
    }

    #[test]
    fn chains_put_the_baseline_first_and_drop_repeats() {
        let mut s = spec();
        assert_eq!(s.chains(), vec![Vec::<String>::new()]);
        s.attacks = vec![
            parse_chain("a, b"),
            parse_chain("c"),
            parse_chain("a,b"),
            parse_chain("plain"),
        ];
        assert_eq!(
            s.chains(),
            vec![vec![], vec!["a".to_owned(), "b".into()], vec!["c".to_owned()]]
        );
        s.baseline = false;
        assert_eq!(s.chains()[0], vec!["a".to_owned(), "b".into()]);
    }

    #[test]
    fn invalid_specs_name_the_setting() {
        type Change = Box<dyn Fn(&mut ScanSpec)>;
        let cases: Vec<(Change, &str)> = vec![
            (Box::new(|s| s.datasets.clear()), "no dataset"),
            (Box::new(|s| s.generation.max_tokens = 0), "max_tokens"),
            (Box::new(|s| s.l3.turn_budget = 0), "budgets"),
            (
                Box::new(|s| s.target.base_url = None),
                "target: an openai endpoint needs a base URL",
            ),
            (
                Box::new(|s| s.attacker = EndpointSpec::of_kind(EndpointKind::Openai)),
                "openai attacker",
            ),
            (
                Box::new(|s| {
                    s.reporting.sampling.insert("colour".into(), 3);
                }),
                "`colour` is not a dimension",
            ),
            (
                Box::new(|s| s.reporting.level_weights = Some([("L9".to_owned(), 1.0)].into())),
                "`L9` is not a level",
            ),
            (
                Box::new(|s| s.reporting.level_weights = Some([("L1".to_owned(), -1.0)].into())),
                "non-negative",
            ),
        ];
        for (change, message) in cases {
            let mut s = spec();
            change(&mut s);
            let e = s.validate().expect_err(message).to_string();
            assert!(e.contains(message), "{e}");
        }
    }
}
