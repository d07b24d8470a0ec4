//! Scan configuration: built-in defaults, then a TOML file, then command-line flags. The resolved
//! configuration is stored in the journal (it never contains a secret: only the *name* of the
//! variable that holds the API key), so `--resume` rebuilds exactly the same scan.

use crate::cli::{ScanArgs, TargetKind};
use anyhow::{Context, anyhow, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `[target]` table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    pub kind: TargetKind,
    pub base_url: Option<String>,
    pub model: Option<String>,
    pub api_key_env: Option<String>,
    #[serde(default)]
    pub stream: bool,
    #[serde(default = "default_timeout")]
    pub timeout_secs: f64,
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    pub concurrency: Option<usize>,
    pub rpm: Option<u32>,
}

fn default_timeout() -> f64 {
    120.0
}
fn default_retries() -> u32 {
    4
}

impl Default for TargetConfig {
    fn default() -> Self {
        Self {
            kind: TargetKind::Local,
            base_url: None,
            model: None,
            api_key_env: None,
            stream: false,
            timeout_secs: default_timeout(),
            max_retries: default_retries(),
            concurrency: None,
            rpm: None,
        }
    }
}

/// `[judge]` table: which judge configuration labels the answers and, for the `+llm` stage, which
/// model judges. Without `target` no judge model is built and judging never touches the network.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JudgeConfig {
    /// Configuration name (`rules`, `embedded`, `rules+embedded`, `rules-v0`, `+jailguard`, `+llm`);
    /// None = the default for the installed models (plus `+llm` when a target is set).
    pub name: Option<String>,
    /// The LLM judge's kind.
    pub target: Option<TargetKind>,
    /// Model name (openai) or GGUF path (local).
    pub model: Option<String>,
    /// OpenAI-compatible base URL, up to `/v1`.
    pub base_url: Option<String>,
    /// Name of the variable holding the judge API's key (never the key).
    pub api_key_env: Option<String>,
    /// Per-request timeout (default 120 s).
    pub timeout_secs: Option<f64>,
    /// Judge requests in flight (default 4).
    pub concurrency: Option<usize>,
}

/// One dataset entry: an id or path, with an optional per-dataset limit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum DatasetEntry {
    Id(String),
    Limited { id: String, limit: Option<usize> },
}

impl DatasetEntry {
    pub fn id(&self) -> &str {
        match self {
            DatasetEntry::Id(id) | DatasetEntry::Limited { id, .. } => id,
        }
    }
    pub fn limit(&self) -> Option<usize> {
        match self {
            DatasetEntry::Id(_) => None,
            DatasetEntry::Limited { limit, .. } => *limit,
        }
    }
}

/// `[scan]` table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScanConfig {
    pub datasets: Vec<DatasetEntry>,
    /// Default per-dataset limit.
    pub limit: Option<usize>,
    pub seed: u64,
    pub max_tokens: u32,
    pub temperature: f32,
    pub system_prompt: Option<String>,
    /// Attack chains; each is a list of attack ids applied in order (or one comma-separated string).
    pub attacks: Vec<ChainEntry>,
    pub baseline: bool,
    pub min_samples: u64,
    /// Sampling plan: minimum scored samples per cell, by dimension (`level`, `category`, `method`,
    /// `language`); the report warns where a cell falls short.
    #[serde(default)]
    pub sampling: BTreeMap<String, u64>,
    pub level_weights: Option<BTreeMap<String, f64>>,
    pub db: PathBuf,
    pub out: PathBuf,
}

/// An attack chain in the config file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum ChainEntry {
    Steps(Vec<String>),
    Joined(String),
}

impl ChainEntry {
    pub fn steps(&self) -> Vec<String> {
        match self {
            ChainEntry::Steps(s) => s.clone(),
            ChainEntry::Joined(s) => split_chain(s),
        }
    }
}

pub fn split_chain(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty() && *p != "plain")
        .map(str::to_owned)
        .collect()
}

impl Default for ScanConfig {
    fn default() -> Self {
        Self {
            datasets: vec![
                DatasetEntry::Limited {
                    id: "jbb-harmful".into(),
                    limit: Some(30),
                },
                DatasetEntry::Limited {
                    id: "jbb-benign".into(),
                    limit: Some(20),
                },
                DatasetEntry::Limited {
                    id: "jade-zh".into(),
                    limit: Some(20),
                },
            ],
            limit: None,
            seed: 0,
            max_tokens: 48,
            temperature: 0.0,
            system_prompt: None,
            attacks: Vec::new(),
            baseline: true,
            min_samples: 30,
            sampling: BTreeMap::new(),
            level_weights: None,
            db: PathBuf::from("aistr-out/journal.db"),
            out: PathBuf::from("aistr-out"),
        }
    }
}

/// The whole file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub target: Option<TargetConfig>,
    #[serde(default)]
    pub scan: Option<PartialScan>,
    #[serde(default)]
    pub judge: Option<JudgeConfig>,
    /// The L3 attacker model (same keys as `[target]`).
    #[serde(default)]
    pub attacker: Option<TargetConfig>,
    /// L3 budgets.
    #[serde(default)]
    pub l3: Option<aistr_engine::L3Settings>,
}

/// `[scan]` as written in a file: every key optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PartialScan {
    pub datasets: Option<Vec<DatasetEntry>>,
    pub limit: Option<usize>,
    pub seed: Option<u64>,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f32>,
    pub system_prompt: Option<String>,
    pub attacks: Option<Vec<ChainEntry>>,
    pub baseline: Option<bool>,
    pub min_samples: Option<u64>,
    pub sampling: Option<BTreeMap<String, u64>>,
    pub level_weights: Option<BTreeMap<String, f64>>,
    pub db: Option<PathBuf>,
    pub out: Option<PathBuf>,
}

/// The configuration a scan runs with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Resolved {
    pub target: TargetConfig,
    pub scan: ScanConfig,
    /// Absent in runs recorded before `[judge]` existed: the default judge, no LLM.
    #[serde(default)]
    pub judge: JudgeConfig,
    /// The L3 attacker model (the embedded local model unless configured).
    #[serde(default)]
    pub attacker: TargetConfig,
    /// L3 budgets.
    #[serde(default)]
    pub l3: aistr_engine::L3Settings,
}

/// Parses a config file, reporting `path:line:column: problem` on error.
pub fn parse_file(path: &Path, text: &str) -> anyhow::Result<FileConfig> {
    toml::from_str::<FileConfig>(text).map_err(|e| {
        let (line, col) = e.span().map_or((1, 1), |span| line_col(text, span.start));
        anyhow!("{}:{line}:{col}: {}", path.display(), e.message().trim())
    })
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Resolves defaults ← file ← flags.
pub fn resolve(args: &ScanArgs) -> anyhow::Result<Resolved> {
    let file = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config {}", path.display()))?;
            parse_file(path, &text)?
        }
        None => FileConfig::default(),
    };
    let mut target = file.target.unwrap_or_default();
    let mut scan = ScanConfig::default();
    if let Some(p) = file.scan {
        macro_rules! take {
            ($($f:ident),*) => { $( if let Some(v) = p.$f { scan.$f = v; } )* };
        }
        take!(
            datasets,
            seed,
            max_tokens,
            temperature,
            attacks,
            baseline,
            min_samples,
            sampling,
            db,
            out
        );
        scan.limit = p.limit.or(scan.limit);
        scan.system_prompt = p.system_prompt.or(scan.system_prompt);
        scan.level_weights = p.level_weights.or(scan.level_weights);
    }
    if let Some(k) = args.target
        && k != target.kind
    {
        target = TargetConfig {
            kind: k,
            ..TargetConfig::default()
        };
    }
    if args.base_url.is_some() {
        target.base_url.clone_from(&args.base_url);
    }
    if args.model.is_some() {
        target.model.clone_from(&args.model);
    }
    if args.api_key_env.is_some() {
        target.api_key_env.clone_from(&args.api_key_env);
    }
    if args.stream {
        target.stream = true;
    }
    if args.concurrency.is_some() {
        target.concurrency = args.concurrency;
    }
    if args.rpm.is_some() {
        target.rpm = args.rpm;
    }
    if !args.datasets.is_empty() {
        scan.datasets = args
            .datasets
            .iter()
            .map(|d| DatasetEntry::Id(d.clone()))
            .collect();
    }
    if args.limit.is_some() {
        // An explicit --limit applies to every dataset, overriding per-dataset defaults.
        scan.limit = args.limit;
        scan.datasets = scan
            .datasets
            .iter()
            .map(|d| DatasetEntry::Id(d.id().to_owned()))
            .collect();
    }
    if let Some(seed) = args.seed {
        scan.seed = seed;
    }
    if let Some(m) = args.max_tokens {
        scan.max_tokens = m;
    }
    if !args.attacks.is_empty() {
        scan.attacks = args
            .attacks
            .iter()
            .map(|a| ChainEntry::Joined(a.clone()))
            .collect();
    }
    if args.no_baseline {
        scan.baseline = false;
    }
    if let Some(db) = &args.db {
        scan.db.clone_from(db);
    }
    if let Some(out) = &args.out {
        scan.out.clone_from(out);
    }
    let mut attacker = file.attacker.unwrap_or_default();
    if let Some(k) = args.attacker
        && k != attacker.kind
    {
        attacker = TargetConfig {
            kind: k,
            ..TargetConfig::default()
        };
    }
    for (flag, field) in [
        (&args.attacker_model, &mut attacker.model),
        (&args.attacker_base_url, &mut attacker.base_url),
        (&args.attacker_api_key_env, &mut attacker.api_key_env),
    ] {
        if flag.is_some() {
            field.clone_from(flag);
        }
    }
    let mut l3 = file.l3.unwrap_or_default();
    if let Some(n) = args.query_budget {
        l3.query_budget = n;
    }
    if let Some(n) = args.turn_budget {
        l3.turn_budget = n;
    }
    if l3.query_budget == 0 || l3.turn_budget == 0 {
        bail!("the L3 query and turn budgets must be at least 1");
    }
    if attacker.kind == TargetKind::Openai && (attacker.base_url.is_none() || attacker.model.is_none()) {
        bail!(
            "an openai attacker needs --attacker-base-url and --attacker-model (or base_url and model in [attacker])"
        );
    }
    let mut judge = file.judge.unwrap_or_default();
    if args.judge_target.is_some() && args.judge_target != judge.target {
        judge = JudgeConfig {
            name: judge.name,
            ..JudgeConfig::default()
        };
        judge.target = args.judge_target;
    }
    for (flag, field) in [
        (&args.judge, &mut judge.name),
        (&args.judge_model, &mut judge.model),
        (&args.judge_base_url, &mut judge.base_url),
        (&args.judge_api_key_env, &mut judge.api_key_env),
    ] {
        if flag.is_some() {
            field.clone_from(flag);
        }
    }
    validate(&target, &scan)?;
    validate_judge(&judge)?;
    Ok(Resolved {
        target,
        scan,
        judge,
        attacker,
        l3,
    })
}

fn validate_judge(judge: &JudgeConfig) -> anyhow::Result<()> {
    match judge.target {
        Some(TargetKind::Openai) => {
            if judge.base_url.is_none() {
                bail!("the openai judge needs a base URL (--judge-base-url or [judge] base_url)");
            }
            if judge.model.is_none() {
                bail!("the openai judge needs a model name (--judge-model or [judge] model)");
            }
        }
        Some(TargetKind::Local) => {}
        None => {
            if judge.model.is_some() || judge.base_url.is_some() || judge.api_key_env.is_some() {
                bail!(
                    "judge model settings need a judge target (--judge-target openai|local or [judge] target)"
                );
            }
        }
    }
    if let Some(t) = judge.timeout_secs
        && !(t.is_finite() && t > 0.0)
    {
        bail!("[judge] timeout_secs must be a positive number of seconds");
    }
    Ok(())
}

fn validate(target: &TargetConfig, scan: &ScanConfig) -> anyhow::Result<()> {
    if target.kind == TargetKind::Openai {
        if target.base_url.is_none() {
            bail!("the openai target needs a base URL (--base-url or [target] base_url)");
        }
        if target.model.is_none() {
            bail!("the openai target needs a model name (--model or [target] model)");
        }
    }
    if !(target.timeout_secs.is_finite() && target.timeout_secs > 0.0) {
        bail!("[target] timeout_secs must be a positive number of seconds");
    }
    if scan.datasets.is_empty() {
        bail!("no dataset selected (--dataset ID)");
    }
    if scan.max_tokens == 0 {
        bail!("max_tokens must be at least 1");
    }
    for dim in scan.sampling.keys() {
        if !["level", "category", "method", "language", "dataset", "family"].contains(&dim.as_str()) {
            bail!(
                "[scan.sampling]: `{dim}` is not a dimension (level, category, method, language, dataset, family)"
            );
        }
    }
    if let Some(w) = &scan.level_weights {
        for (k, v) in w {
            if aistr_core::Level::parse(k).is_none() {
                bail!("[scan.level_weights]: `{k}` is not a level (L1..L4)");
            }
            if !(v.is_finite() && *v >= 0.0) {
                bail!("[scan.level_weights]: weight of {k} must be a non-negative number");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_errors_name_file_line_and_problem() {
        let text = "[target]\nkind = \"openai\"\nbase_url = \"http://x\"\nmodel = 3\n";
        let e = parse_file(Path::new("my.toml"), text).unwrap_err().to_string();
        assert!(e.starts_with("my.toml:4:9:"), "{e}");
        assert!(e.contains("string"), "{e}");
        let e = parse_file(Path::new("c.toml"), "[scan]\nseeed = 3\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("c.toml:2:1:") && e.contains("unknown field `seeed`"),
            "{e}"
        );
        let e = parse_file(Path::new("c.toml"), "[scan\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:1:"), "{e}");
    }

    #[test]
    fn flags_override_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[target]\nkind = \"openai\"\nbase_url = \"http://h/v1\"\nmodel = \"m\"\n[scan]\nseed = 5\ndatasets = [\"jbb-harmful\"]\nattacks = [[\"a\", \"b\"], \"c,d\"]\n").unwrap();
        let args = ScanArgs {
            config: Some(path),
            seed: Some(9),
            model: Some("other".into()),
            ..ScanArgs::default()
        };
        let r = resolve(&args).unwrap();
        assert_eq!(r.scan.seed, 9);
        assert_eq!(r.target.model.as_deref(), Some("other"));
        assert_eq!(
            r.scan.attacks.iter().map(ChainEntry::steps).collect::<Vec<_>>(),
            vec![vec!["a", "b"], vec!["c", "d"]]
        );
    }

    #[test]
    fn attacker_and_l3_budgets_come_from_file_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[attacker]\nkind = \"openai\"\nbase_url = \"http://a/v1\"\nmodel = \"att\"\n[l3]\nquery_budget = 9\ntap_width = 5\n").unwrap();
        let args = ScanArgs {
            config: Some(path.clone()),
            turn_budget: Some(2),
            ..ScanArgs::default()
        };
        let r = resolve(&args).unwrap();
        assert_eq!(
            (r.attacker.kind, r.attacker.model.as_deref()),
            (TargetKind::Openai, Some("att"))
        );
        assert_eq!((r.l3.query_budget, r.l3.turn_budget, r.l3.tap_width), (9, 2, 5));
        // Defaults: the embedded model attacks.
        assert_eq!(
            resolve(&ScanArgs::default()).unwrap().attacker.kind,
            TargetKind::Local
        );
        let zero = ScanArgs {
            query_budget: Some(0),
            ..ScanArgs::default()
        };
        assert!(resolve(&zero).unwrap_err().to_string().contains("budgets"));
        std::fs::write(&path, "[l3]\nbranches = 3\n").unwrap();
        let e = resolve(&ScanArgs {
            config: Some(path),
            ..ScanArgs::default()
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("c.toml:") && e.contains("branches"), "{e}");
    }

    #[test]
    fn openai_without_url_is_a_clear_error() {
        let args = ScanArgs {
            target: Some(TargetKind::Openai),
            model: Some("m".into()),
            ..ScanArgs::default()
        };
        assert!(resolve(&args).unwrap_err().to_string().contains("base URL"));
    }
}
