//! The guard's policy: which detectors screen requests and answers, what each does when it fires
//! (`block | redact | flag`, per detector and per category), its threshold, whether the guard fails
//! open or closed when the detector errs (closed unless the policy says otherwise), the refusal text,
//! the tiers (rules always; the classifier when enabled; the LLM guard only above a score), the
//! stream window, and per-key overrides.
//!
//! A policy is TOML (`data/default-policy.toml` is the built-in one; `--policy FILE` replaces it).
//! Unknown keys, unknown detectors, bad actions and out-of-range numbers are errors that name the
//! file, the line and the key. Parsing is pure: the caller reads the file.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

/// The built-in policy's text.
pub const DEFAULT_POLICY_TOML: &str = include_str!("../data/default-policy.toml");

/// What a detector's finding does to the request or answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Record it in the audit log and metrics; pass the text unchanged.
    Flag,
    /// Replace the offending spans (PII) and pass the rest.
    Redact,
    /// Refuse: the upstream never sees the request (input) or the client never sees the answer.
    Block,
}

impl Action {
    /// The word used in the policy, the audit log and the metrics.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Flag => "flag",
            Action::Redact => "redact",
            Action::Block => "block",
        }
    }
}

/// What the guard does when a detector errs (a model that fails to load or run, a timed-out LLM guard).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FailMode {
    /// Treat the error as a block (the default: an unscreened request is not a screened one).
    Closed,
    /// Let the text through, flagging the error.
    Open,
}

/// Where a detector runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// On the request, before the upstream sees it.
    Input,
    /// On the answer, before the client sees it.
    Output,
}

/// The detectors a policy may configure, by side, with the policy key and the stable detector id.
pub const INPUT_DETECTORS: &[(&str, &str)] = &[
    ("harm-intent", "harm-intent-v1"),
    ("jailbreak", "jailbreak-v1"),
    ("injection", "injection-v1"),
    ("encoded", "encoded-v1"),
    ("pii", "pii-v1"),
    ("jailguard", "jailguard-v1"),
    ("prompt-learned", "prompt-learned-v1"),
    ("llm-guard", "llm-guard-v1"),
];
/// Output detectors (policy key, detector id).
pub const OUTPUT_DETECTORS: &[(&str, &str)] = &[
    ("harm", "harm-output-v1"),
    ("pii", "pii-v1"),
    ("canary", "canary-v1"),
];

/// A score in `0..=1`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Score(pub f32);

impl<'de> Deserialize<'de> for Score {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if (0.0..=1.0).contains(&v) {
            #[expect(clippy::cast_possible_truncation, reason = "a score in 0..=1")]
            Ok(Score(v as f32))
        } else {
            Err(serde::de::Error::custom(format!(
                "{v} is not a score between 0 and 1"
            )))
        }
    }
}

/// One detector's settings as written (every field optional, so a per-key override can change one).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorRaw {
    /// Whether the detector runs at all.
    pub enabled: Option<bool>,
    /// What a finding does.
    pub action: Option<Action>,
    /// Findings at or above this score count.
    pub threshold: Option<Score>,
    /// Fail open or closed.
    pub on_error: Option<FailMode>,
    /// The refusal text when this detector blocks (else the policy's).
    pub refusal: Option<String>,
    /// Per-category actions (e.g. `{ malware = "block", "self-harm" = "flag" }`).
    pub categories: Option<BTreeMap<String, Action>>,
    /// Canary strings (the `canary` output detector only).
    pub canaries: Option<Vec<String>>,
}

/// One side's detectors as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct InputRaw {
    harm_intent: Option<DetectorRaw>,
    jailbreak: Option<DetectorRaw>,
    injection: Option<DetectorRaw>,
    encoded: Option<DetectorRaw>,
    pii: Option<DetectorRaw>,
    jailguard: Option<DetectorRaw>,
    prompt_learned: Option<DetectorRaw>,
    llm_guard: Option<DetectorRaw>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutputRaw {
    harm: Option<DetectorRaw>,
    pii: Option<DetectorRaw>,
    canary: Option<DetectorRaw>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TiersRaw {
    classifier: Option<bool>,
    llm_above: Option<Score>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LlmRaw {
    base_url: Option<String>,
    model: Option<String>,
    api_key_env: Option<String>,
    budget_ms: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamRaw {
    window_tokens: Option<usize>,
    overlap_tokens: Option<usize>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyRaw {
    input: Option<InputRaw>,
    output: Option<OutputRaw>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyRaw {
    version: Option<u32>,
    refusal: Option<String>,
    on_error: Option<FailMode>,
    tiers: Option<TiersRaw>,
    llm: Option<LlmRaw>,
    stream: Option<StreamRaw>,
    input: Option<InputRaw>,
    output: Option<OutputRaw>,
    keys: Option<BTreeMap<String, KeyRaw>>,
}

/// One detector's resolved settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectorPolicy {
    /// Runs at all.
    pub enabled: bool,
    /// What a finding does (unless its category says otherwise).
    pub action: Action,
    /// Findings at or above this score count.
    pub threshold: f32,
    /// Fail open or closed.
    pub on_error: FailMode,
    /// Refusal text when it blocks.
    pub refusal: String,
    /// Per-category actions.
    pub categories: BTreeMap<String, Action>,
    /// Canary strings (output `canary`).
    pub canaries: Vec<String>,
}

impl DetectorPolicy {
    /// The action for a finding of `category`.
    #[must_use]
    pub fn action_for(&self, category: Option<&str>) -> Action {
        category
            .and_then(|c| self.categories.get(c))
            .copied()
            .unwrap_or(self.action)
    }
}

/// The optional LLM guard model (an OpenAI-compatible endpoint, e.g. Llama Guard behind vLLM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlmGuardPolicy {
    /// Base URL up to `/v1`.
    pub base_url: String,
    /// Model name.
    pub model: String,
    /// Environment variable holding its key.
    pub api_key_env: Option<String>,
    /// Time budget for one verdict; past it the detector has erred (fail mode applies).
    pub budget_ms: u64,
}

/// The detectors of one side, resolved, in registry order (policy key → settings).
pub type SidePolicy = Vec<(&'static str, DetectorPolicy)>;

/// A resolved policy for one client key (the base policy with that key's overrides applied).
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// Input detectors.
    pub input: SidePolicy,
    /// Output detectors.
    pub output: SidePolicy,
}

impl Resolved {
    /// The settings of `key` on `side`.
    #[must_use]
    pub fn detector(&self, side: Side, key: &str) -> Option<&DetectorPolicy> {
        let list = match side {
            Side::Input => &self.input,
            Side::Output => &self.output,
        };
        list.iter().find(|(k, _)| *k == key).map(|(_, p)| p)
    }
}

/// A parsed policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Where it came from (a path, or `built-in`).
    pub source: String,
    /// The refusal text sent when a request or answer is blocked.
    pub refusal: String,
    /// Run the classifier tier (`prompt-learned-v1`, and the jailguard head when enabled: it needs the MiniLM model).
    pub classifier: bool,
    /// The LLM guard runs only when the highest input score so far is at least this.
    pub llm_above: f32,
    /// The LLM guard endpoint, when configured.
    pub llm: Option<LlmGuardPolicy>,
    /// Streamed answers are screened every this many tokens (deltas).
    pub window_tokens: usize,
    /// How many earlier tokens each window re-reads, so a phrase split across windows is seen.
    pub overlap_tokens: usize,
    /// The policy for clients without overrides.
    pub base: Resolved,
    /// Per-key resolved policies (key name → policy).
    pub per_key: BTreeMap<String, Resolved>,
}

impl Policy {
    /// The built-in default policy.
    #[must_use]
    pub fn builtin() -> Self {
        parse("built-in", DEFAULT_POLICY_TOML).expect("the built-in policy parses")
    }

    /// The resolved policy for a client key name.
    #[must_use]
    pub fn for_key(&self, key: &str) -> &Resolved {
        self.per_key.get(key).unwrap_or(&self.base)
    }

    /// Whether any resolved policy enables `side`/`key`.
    #[must_use]
    pub fn any_enables(&self, side: Side, key: &str) -> bool {
        std::iter::once(&self.base)
            .chain(self.per_key.values())
            .any(|r| r.detector(side, key).is_some_and(|d| d.enabled))
    }
}

/// A policy that cannot be used: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct PolicyError {
    /// The file.
    pub file: String,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong, naming the key.
    pub message: String,
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.len(), |i| before.len() - i - 1) + 1;
    (line, column)
}

/// The `[section]` and `key` around byte `offset`, for error messages.
fn key_at(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = text[line_start..line_end].trim();
    let section = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.split('#').next().unwrap_or(l).trim().to_owned());
    let key = if line.starts_with('[') {
        None
    } else {
        line.split('=').next().map(|k| k.trim().to_owned())
    };
    match (section, key) {
        (Some(s), Some(k)) => format!("in {s} key `{k}`: "),
        (None, Some(k)) => format!("key `{k}`: "),
        (Some(s), None) => format!("in {s}: "),
        (None, None) => String::new(),
    }
}

fn error_at(file: &str, text: &str, offset: usize, message: String) -> PolicyError {
    let (line, column) = line_col(text, offset);
    PolicyError {
        file: file.to_owned(),
        line,
        column,
        message: format!("{}{message}", key_at(text, offset)),
    }
}

/// Where `needle` (a table header or key) first appears, for errors found after deserialising.
fn find_offset(text: &str, needle: &str) -> usize {
    text.find(needle).unwrap_or(0)
}

fn merge(base: &DetectorPolicy, raw: &DetectorRaw, fallback_refusal: &str) -> DetectorPolicy {
    let mut d = base.clone();
    if let Some(v) = raw.enabled {
        d.enabled = v;
    }
    if let Some(v) = raw.action {
        d.action = v;
    }
    if let Some(v) = raw.threshold {
        d.threshold = v.0;
    }
    if let Some(v) = raw.on_error {
        d.on_error = v;
    }
    if let Some(v) = &raw.refusal {
        v.clone_into(&mut d.refusal);
    } else if d.refusal.is_empty() {
        fallback_refusal.clone_into(&mut d.refusal);
    }
    if let Some(v) = &raw.categories {
        d.categories.extend(v.iter().map(|(k, a)| (k.clone(), *a)));
    }
    if let Some(v) = &raw.canaries {
        d.canaries.clone_from(v);
    }
    d
}

fn input_raw(raw: &InputRaw, key: &str) -> Option<DetectorRaw> {
    match key {
        "harm-intent" => raw.harm_intent.clone(),
        "jailbreak" => raw.jailbreak.clone(),
        "injection" => raw.injection.clone(),
        "encoded" => raw.encoded.clone(),
        "pii" => raw.pii.clone(),
        "jailguard" => raw.jailguard.clone(),
        "prompt-learned" => raw.prompt_learned.clone(),
        "llm-guard" => raw.llm_guard.clone(),
        _ => None,
    }
}

fn output_raw(raw: &OutputRaw, key: &str) -> Option<DetectorRaw> {
    match key {
        "harm" => raw.harm.clone(),
        "pii" => raw.pii.clone(),
        "canary" => raw.canary.clone(),
        _ => None,
    }
}

fn resolve_side(
    detectors: &'static [(&'static str, &'static str)],
    base: Option<&SidePolicy>,
    get: &dyn Fn(&str) -> Option<DetectorRaw>,
    defaults: &DetectorPolicy,
) -> SidePolicy {
    detectors
        .iter()
        .map(|(key, _)| {
            let start = base
                .and_then(|b| b.iter().find(|(k, _)| k == key).map(|(_, p)| p.clone()))
                .unwrap_or_else(|| defaults.clone());
            let d = match get(key) {
                Some(raw) => merge(&start, &raw, &defaults.refusal),
                None => start,
            };
            (*key, d)
        })
        .collect()
}

/// Parses a policy. `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Policy, PolicyError> {
    let raw: PolicyRaw = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        error_at(file, text, offset, e.message().trim().to_owned())
    })?;
    if let Some(v) = raw.version
        && v != 1
    {
        return Err(error_at(
            file,
            text,
            find_offset(text, "version"),
            format!("policy version {v} is not supported (this aistr reads version 1)"),
        ));
    }
    let refusal = raw
        .refusal
        .clone()
        .unwrap_or_else(|| "I can't help with that request.".to_owned());
    let defaults = DetectorPolicy {
        enabled: false,
        action: Action::Block,
        threshold: 0.5,
        on_error: raw.on_error.unwrap_or(FailMode::Closed),
        refusal: refusal.clone(),
        categories: BTreeMap::new(),
        canaries: Vec::new(),
    };
    let input = raw.input.clone().unwrap_or_default();
    let output = raw.output.clone().unwrap_or_default();
    let mut enabled_defaults = defaults.clone();
    enabled_defaults.enabled = true;
    // A detector section without `enabled` is enabled: writing it down means wanting it.
    let base = Resolved {
        input: resolve_side(INPUT_DETECTORS, None, &|k| input_raw(&input, k), &defaults)
            .into_iter()
            .map(|(k, mut d)| {
                if input_raw(&input, k).is_some_and(|r| r.enabled.is_none()) {
                    d.enabled = true;
                }
                (k, d)
            })
            .collect(),
        output: resolve_side(OUTPUT_DETECTORS, None, &|k| output_raw(&output, k), &defaults)
            .into_iter()
            .map(|(k, mut d)| {
                if output_raw(&output, k).is_some_and(|r| r.enabled.is_none()) {
                    d.enabled = true;
                }
                (k, d)
            })
            .collect(),
    };
    let mut per_key = BTreeMap::new();
    for (name, k) in raw.keys.clone().unwrap_or_default() {
        let ki = k.input.clone().unwrap_or_default();
        let ko = k.output.clone().unwrap_or_default();
        per_key.insert(
            name,
            Resolved {
                input: resolve_side(
                    INPUT_DETECTORS,
                    Some(&base.input),
                    &|d| input_raw(&ki, d),
                    &defaults,
                ),
                output: resolve_side(
                    OUTPUT_DETECTORS,
                    Some(&base.output),
                    &|d| output_raw(&ko, d),
                    &defaults,
                ),
            },
        );
    }
    let tiers = raw.tiers.clone().unwrap_or_default();
    let stream = raw.stream.clone().unwrap_or_default();
    let window_tokens = stream.window_tokens.unwrap_or(16);
    if window_tokens == 0 || window_tokens > 4096 {
        return Err(error_at(
            file,
            text,
            find_offset(text, "window_tokens"),
            format!("window_tokens must be between 1 and 4096, not {window_tokens}"),
        ));
    }
    let llm = match raw.llm.clone() {
        None => None,
        Some(l) => {
            let (Some(base_url), Some(model)) = (l.base_url, l.model) else {
                return Err(error_at(
                    file,
                    text,
                    find_offset(text, "[llm]"),
                    "[llm] needs both `base_url` and `model`".to_owned(),
                ));
            };
            Some(LlmGuardPolicy {
                base_url,
                model,
                api_key_env: l.api_key_env,
                budget_ms: l.budget_ms.unwrap_or(1500),
            })
        }
    };
    if llm.is_none() && base.detector(Side::Input, "llm-guard").is_some_and(|d| d.enabled) {
        return Err(error_at(
            file,
            text,
            find_offset(text, "[input.llm-guard]"),
            "the llm-guard detector needs an [llm] section (base_url, model)".to_owned(),
        ));
    }
    Ok(Policy {
        source: file.to_owned(),
        refusal,
        classifier: tiers.classifier.unwrap_or(true),
        llm_above: tiers.llm_above.map_or(0.3, |s| s.0),
        llm,
        window_tokens,
        overlap_tokens: stream.overlap_tokens.unwrap_or(8).min(window_tokens * 4),
        base,
        per_key,
    })
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_parses_and_fails_closed() {
        let p = Policy::builtin();
        let harm = p.base.detector(Side::Input, "harm-intent").expect("harm-intent");
        assert!(harm.enabled);
        assert_eq!(harm.action, Action::Block);
        assert_eq!(harm.on_error, FailMode::Closed);
        let pii = p.base.detector(Side::Output, "pii").expect("pii");
        assert_eq!(pii.action, Action::Redact);
        assert!(!p.base.detector(Side::Input, "llm-guard").expect("llm").enabled);
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let text = "refusal = \"no\"\n\n[input.harm-intent]\nthreshold = 0.4\naction = \"blok\"\n";
        let e = parse("p.toml", text).expect_err("bad action");
        assert_eq!((e.file.as_str(), e.line), ("p.toml", 5), "{e}");
        assert!(
            e.message.contains("`action`") && e.message.contains("blok"),
            "{e}"
        );

        let e = parse("p.toml", "[input.harm-intent]\nthreshold = 1.5\n").expect_err("range");
        assert_eq!(e.line, 2, "{e}");
        assert!(
            e.message.contains("`threshold`") && e.message.contains("1.5"),
            "{e}"
        );

        let e = parse("p.toml", "[input.harm-intnet]\naction = \"flag\"\n").expect_err("unknown detector");
        assert_eq!(e.line, 1, "{e}");
        assert!(e.message.contains("harm-intnet"), "{e}");

        let e = parse("p.toml", "[output.pii]\nacton = \"flag\"\n").expect_err("unknown key");
        assert_eq!(e.line, 2, "{e}");
        assert!(e.to_string().starts_with("p.toml:2:"), "{e}");

        let e = parse("p.toml", "[input.llm-guard]\naction = \"block\"\n").expect_err("no llm");
        assert!(e.message.contains("[llm]"), "{e}");
    }

    #[test]
    fn per_key_overrides_and_categories() {
        let text = r#"
on_error = "open"
[input.harm-intent]
action = "block"
categories = { "self-harm" = "flag" }
[keys.lab.input.harm-intent]
action = "flag"
[keys.lab.output.pii]
enabled = false
"#;
        let p = parse("p.toml", text).expect("parses");
        let base = p.base.detector(Side::Input, "harm-intent").expect("d");
        assert_eq!(base.action_for(Some("self-harm")), Action::Flag);
        assert_eq!(base.action_for(Some("weapons")), Action::Block);
        assert_eq!(base.on_error, FailMode::Open);
        let lab = p.for_key("lab").detector(Side::Input, "harm-intent").expect("d");
        assert_eq!(lab.action, Action::Flag);
        assert_eq!(lab.action_for(Some("self-harm")), Action::Flag);
        assert_eq!(p.for_key("other"), &p.base);
        assert!(
            !p.for_key("lab")
                .detector(Side::Output, "pii")
                .expect("pii")
                .enabled
        );
    }
}
