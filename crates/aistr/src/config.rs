//! Scan configuration: built-in defaults, then a TOML file, then command-line flags, resolved into
//! the [`ScanSpec`] the session plans and stores (it never contains a secret: only the *name* of
//! the variable that holds an API key), plus where this front end keeps the journal and writes
//! reports. The `[target]` and `[attacker]` tables are [`EndpointSpec`]s; `[judge]` keeps its
//! documented keys and becomes a [`JudgeChoice`].

use crate::cli::ScanArgs;
use aistr_session::{DatasetSpec, Generation, JudgeChoice, Reporting, SCAN_SPEC_VERSION, ScanSpec};
use aistr_targets::{EndpointKind, EndpointSpec};
use anyhow::{Context, anyhow, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `[judge]` table: which judge configuration labels the answers and, for the `+llm` stage, which
/// model judges. Without `target` no judge model is built and judging never touches the network.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JudgeConfig {
    /// Configuration name (`rules`, `embedded`, `rules+embedded`, `rules-v0`, `+jailguard`, `+llm`);
    /// None = the default for the installed models (plus `+llm` when a target is set).
    pub name: Option<String>,
    /// The LLM judge's kind.
    pub target: Option<EndpointKind>,
    /// Model name (openai) or GGUF path (local).
    pub model: Option<String>,
    /// OpenAI-compatible base URL, up to `/v1`.
    pub base_url: Option<String>,
    /// Name of the variable holding the judge API's key (never the key).
    pub api_key_env: Option<String>,
    /// Per-request timeout (default: the endpoint default, 120 s).
    pub timeout_secs: Option<f64>,
    /// Judge requests in flight (default: the endpoint default, 8).
    pub concurrency: Option<usize>,
    /// The rubric sent to the judge model: `aistr` (default), `jbb` or `harmbench`.
    pub rubric: Option<String>,
}

impl JudgeConfig {
    fn into_choice(self) -> JudgeChoice {
        JudgeChoice {
            name: self.name,
            rubric: self.rubric,
            model: self.target.map(|kind| EndpointSpec {
                base_url: self.base_url,
                model: self.model,
                api_key_env: self.api_key_env,
                timeout_secs: self.timeout_secs.unwrap_or(aistr_targets::DEFAULT_TIMEOUT_SECS),
                concurrency: self.concurrency,
                ..EndpointSpec::of_kind(kind)
            }),
        }
    }
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
    /// The privacy suite (set by `--suite privacy`).
    #[serde(default, skip)]
    pub privacy: Option<aistr_session::PrivacySpec>,
    /// The agent suites (set by `--suite agents-banking` / `agents-workspace`).
    #[serde(default, skip)]
    pub agents: Option<aistr_session::AgentsSpec>,
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
            ChainEntry::Joined(s) => aistr_session::parse_chain(s),
        }
    }
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
            privacy: None,
            agents: None,
        }
    }
}

/// The whole file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub target: Option<EndpointSpec>,
    #[serde(default)]
    pub scan: Option<PartialScan>,
    #[serde(default)]
    pub judge: Option<JudgeConfig>,
    /// The L3 attacker model (same keys as `[target]`).
    #[serde(default)]
    pub attacker: Option<EndpointSpec>,
    /// L3 budgets.
    #[serde(default)]
    pub l3: Option<aistr_session::L3Settings>,
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

/// What a scan runs with: the spec, and where this front end keeps the journal and the reports.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanInputs {
    /// The scan.
    pub spec: ScanSpec,
    /// Journal database.
    pub db: PathBuf,
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

/// Resolves defaults ← file ← flags into the scan's spec. Errors name the flag or the config key
/// to fix; nothing is loaded or sent here.
pub fn resolve(args: &ScanArgs) -> anyhow::Result<ScanInputs> {
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
    args.target.apply_to(&mut target);
    if let Some(path) = &args.target_config {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read target config {}", path.display()))?;
        let app = toml::from_str::<aistr_targets::HttpAppSpec>(&text).map_err(|e| {
            let (line, col) = e.span().map_or((1, 1), |span| line_col(&text, span.start));
            anyhow!("{}:{line}:{col}: {}", path.display(), e.message().trim())
        })?;
        if target.kind != EndpointKind::Http {
            bail!("--target-config describes an http application: use it with --target http");
        }
        target.http = Some(app);
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
    match args.suite.as_deref() {
        None => {}
        Some(aistr_hallucination::suite::SUITE) => {
            scan.datasets = aistr_hallucination::suite::SUITE_SETS
                .iter()
                .filter(|(id, _)| args.datasets.is_empty() || args.datasets.iter().any(|d| d == id))
                .map(|(id, n)| DatasetEntry::Limited {
                    id: (*id).to_owned(),
                    limit: Some(*n),
                })
                .collect();
            // Other hallucination datasets (a user RAG file `rag:PATH`) join the suite's.
            for d in &args.datasets {
                if !aistr_hallucination::suite::SUITE_SETS
                    .iter()
                    .any(|(id, _)| id == d)
                {
                    scan.datasets.push(DatasetEntry::Id(d.clone()));
                }
            }
        }
        Some("privacy") => {}
        Some(name) if aistr_session::AgentsSpec::for_suite_name(name).is_some() => {}
        Some(other) => {
            bail!("unknown suite `{other}` (known: hallucination, privacy, agents-banking, agents-workspace)")
        }
    }
    if !args.datasets.is_empty() && args.suite.as_deref() != Some(aistr_hallucination::suite::SUITE) {
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
    match args.suite.as_deref() {
        None => {}
        Some("privacy") => {
            if args.datasets.is_empty() {
                scan.datasets.clear();
            }
            scan.privacy = Some(aistr_session::PrivacySpec {
                probes: args.privacy_probes.clone(),
                records: args.privacy_records.clone(),
                limit: args.limit,
                l3: args
                    .privacy_l3
                    .as_deref()
                    .map(aistr_session::parse_chain)
                    .unwrap_or_default(),
                memorisation: {
                    let d = aistr_session::MemorisationSpec::default();
                    aistr_session::MemorisationSpec {
                        candidates: args.memorisation_candidates.unwrap_or(d.candidates),
                        extraction_samples: args.extraction_samples.unwrap_or(d.extraction_samples),
                    }
                },
                ..aistr_session::PrivacySpec::default()
            });
        }
        Some(name) => {
            if let Some(mut agents) = aistr_session::AgentsSpec::for_suite_name(name) {
                if args.datasets.is_empty() {
                    scan.datasets.clear();
                }
                agents.user_tasks = args.limit;
                agents.injection_tasks = args.agent_injections;
                if let Some(a) = &args.agent_attacks {
                    agents.attacks = a
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty() && *s != "none")
                        .map(str::to_owned)
                        .collect();
                }
                if let Some(b) = args.agent_budget {
                    agents.budget = b;
                }
                if let Some(m) = args.max_tokens {
                    agents.max_tokens = m;
                }
                scan.agents = Some(agents);
            }
        }
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
    args.attacker.apply_to(&mut attacker);
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
    if attacker.kind == EndpointKind::Openai && (attacker.base_url.is_none() || attacker.model.is_none()) {
        bail!(
            "an openai attacker needs --attacker-base-url and --attacker-model (or base_url and model in [attacker])"
        );
    }
    let mut judge = file.judge.unwrap_or_default();
    let flags = &args.judge_model;
    if flags.kind.is_some() && flags.kind != judge.target {
        judge = JudgeConfig {
            name: judge.name,
            rubric: judge.rubric,
            target: flags.kind,
            ..JudgeConfig::default()
        };
    }
    for (flag, field) in [
        (&args.judge, &mut judge.name),
        (&args.judge_rubric, &mut judge.rubric),
        (&flags.model, &mut judge.model),
        (&flags.base_url, &mut judge.base_url),
        (&flags.api_key_env, &mut judge.api_key_env),
    ] {
        if flag.is_some() {
            field.clone_from(flag);
        }
    }
    validate(&target, &scan)?;
    validate_judge(&judge)?;
    let datasets = scan
        .datasets
        .iter()
        .map(|d| DatasetSpec {
            id: d.id().to_owned(),
            limit: d.limit().or(scan.limit),
        })
        .collect();
    let spec = ScanSpec {
        version: SCAN_SPEC_VERSION,
        target,
        datasets,
        attacks: scan.attacks.iter().map(ChainEntry::steps).collect(),
        baseline: scan.baseline,
        seed: scan.seed,
        generation: Generation {
            max_tokens: scan.max_tokens,
            temperature: scan.temperature,
            system_prompt: scan.system_prompt,
        },
        judge: judge.into_choice(),
        attacker,
        l3,
        reporting: Reporting {
            min_samples: scan.min_samples,
            sampling: scan.sampling,
            level_weights: scan.level_weights,
        },
        report_dir: Some(scan.out),
        origin: None,
        hallucination: hallucination_settings(args)?,
        privacy: scan.privacy,
        agents: scan.agents,
    };
    spec.validate()?;
    Ok(ScanInputs { spec, db: scan.db })
}

fn validate_judge(judge: &JudgeConfig) -> anyhow::Result<()> {
    match judge.target {
        Some(EndpointKind::Openai) => {
            if judge.base_url.is_none() {
                bail!("the openai judge needs a base URL (--judge-base-url or [judge] base_url)");
            }
            if judge.model.is_none() {
                bail!("the openai judge needs a model name (--judge-model or [judge] model)");
            }
        }
        Some(EndpointKind::Anthropic) => {
            if judge.model.is_none() {
                bail!("the anthropic judge needs a model name (--judge-model or [judge] model)");
            }
        }
        Some(EndpointKind::Http) => {
            bail!("an http application cannot be the judge: use openai, anthropic or local")
        }
        Some(EndpointKind::Local) => {}
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

/// Where the hallucination probe sets find the corpus and cache its snapshot. Resolved here (the
/// CLI reads the environment, the session does not); a missing corpus is an error only when a
/// poetry probe set is planned.
fn hallucination_settings(args: &ScanArgs) -> anyhow::Result<aistr_session::HallucinationSettings> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let poetry_dir = args.poetry_dir.clone().or_else(|| {
        aistr_hallucination::corpus::default_corpus_dir(std::env::var_os("AISTR_POETRY_DIR").as_deref(), &cwd)
    });
    Ok(aistr_session::HallucinationSettings {
        poetry_dir,
        snapshot: Some(crate::commands::judge_hallucination::poetry_snapshot_path()),
    })
}

fn validate(target: &EndpointSpec, scan: &ScanConfig) -> anyhow::Result<()> {
    if target.kind == EndpointKind::Openai {
        if target.base_url.is_none() {
            bail!("the openai target needs a base URL (--base-url or [target] base_url)");
        }
        if target.model.is_none() {
            bail!("the openai target needs a model name (--model or [target] model)");
        }
    }
    match target.kind {
        EndpointKind::Anthropic if target.model.is_none() => {
            bail!("the anthropic target needs a model name (--model or [target] model)")
        }
        EndpointKind::Http if target.http.is_none() => bail!(
            "the http target needs its application: a [target.http] table in --config, or --target-config FILE"
        ),
        // Template, pointer and regex problems, naming the [target.http] key.
        EndpointKind::Http => target.validate()?,
        _ => {}
    }
    if !(target.timeout_secs.is_finite() && target.timeout_secs > 0.0) {
        bail!("[target] timeout_secs must be a positive number of seconds");
    }
    if scan.datasets.is_empty() && scan.privacy.is_none() && scan.agents.is_none() {
        bail!("no dataset selected (--dataset ID or --suite NAME)");
    }
    if scan.max_tokens == 0 {
        bail!("max_tokens must be at least 1");
    }
    for dim in scan.sampling.keys() {
        if !aistr_session::spec::SAMPLING_DIMENSIONS.contains(&dim.as_str()) {
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
        let mut args = ScanArgs {
            config: Some(path),
            seed: Some(9),
            ..ScanArgs::default()
        };
        args.target.model = Some("other".into());
        let r = resolve(&args).unwrap().spec;
        assert_eq!(r.seed, 9);
        assert_eq!(r.target.model.as_deref(), Some("other"));
        assert_eq!(r.attacks, vec![vec!["a", "b"], vec!["c", "d"]]);
        assert_eq!(
            r.datasets,
            vec![DatasetSpec {
                id: "jbb-harmful".into(),
                limit: None
            }]
        );
    }

    #[test]
    fn http_targets_come_from_a_target_http_table_or_a_target_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        let app = "method = \"POST\"\nurl = \"http://127.0.0.1:9/chat\"\nbody = '{\"message\": {{prompt}}}'\n[response]\npointer = \"/reply\"\n[session]\ncookies = true\n";
        let table = app
            .replace("[response]", "[target.http.response]")
            .replace("[session]", "[target.http.session]");
        std::fs::write(
            &path,
            format!("[target]\nkind = \"http\"\nconcurrency = 2\n[target.http]\n{table}[scan]\ndatasets = [\"jbb-harmful\"]\n"),
        )
        .unwrap();
        let args = ScanArgs {
            config: Some(path.clone()),
            ..ScanArgs::default()
        };
        let r = resolve(&args).unwrap().spec;
        assert_eq!(r.target.kind, EndpointKind::Http);
        let http = r.target.http.clone().unwrap();
        assert_eq!(
            (http.url.as_str(), http.response.pointer.as_deref()),
            ("http://127.0.0.1:9/chat", Some("/reply"))
        );
        assert_eq!(r.target.concurrency, Some(2));
        // The same table in its own file, with --target http.
        let app_path = dir.path().join("app.toml");
        std::fs::write(&app_path, app).unwrap();
        let mut args = ScanArgs {
            target_config: Some(app_path.clone()),
            datasets: vec!["jbb-harmful".into()],
            ..ScanArgs::default()
        };
        args.target.kind = Some(EndpointKind::Http);
        assert_eq!(resolve(&args).unwrap().spec.target.http, Some(http));
        // Bad templates are usage errors naming the key; a missing table is named too.
        std::fs::write(&app_path, app.replace("{{prompt}}", "{{promt}}")).unwrap();
        let e = resolve(&args).unwrap_err().to_string();
        assert!(e.contains("[target.http] body") && e.contains("promt"), "{e}");
        std::fs::write(&app_path, app.replace("/reply", "reply")).unwrap();
        let e = resolve(&args).unwrap_err().to_string();
        assert!(e.contains("[target.http] response.pointer"), "{e}");
        std::fs::write(&app_path, app.replace("url =", "uri =")).unwrap();
        let e = resolve(&args).unwrap_err().to_string();
        assert!(e.contains("app.toml:") && e.contains("uri"), "{e}");
        args.target_config = None;
        let e = resolve(&args).unwrap_err().to_string();
        assert!(e.contains("[target.http]"), "{e}");
        // --target-config only describes an http target.
        std::fs::write(&app_path, app).unwrap();
        args.target.kind = Some(EndpointKind::Openai);
        args.target_config = Some(app_path);
        let e = resolve(&args).unwrap_err().to_string();
        assert!(e.contains("--target http"), "{e}");
        drop(path);
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
        let r = resolve(&args).unwrap().spec;
        assert_eq!(
            (r.attacker.kind, r.attacker.model.as_deref()),
            (EndpointKind::Openai, Some("att"))
        );
        assert_eq!((r.l3.query_budget, r.l3.turn_budget, r.l3.tap_width), (9, 2, 5));
        // Defaults: the embedded model attacks.
        assert_eq!(
            resolve(&ScanArgs::default()).unwrap().spec.attacker.kind,
            EndpointKind::Local
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
    fn defaults_become_the_documented_spec() {
        let inputs = resolve(&ScanArgs::default()).unwrap();
        let s = inputs.spec;
        assert_eq!(inputs.db, PathBuf::from("aistr-out/journal.db"));
        assert_eq!(s.report_dir, Some(PathBuf::from("aistr-out")));
        assert_eq!(
            s.datasets
                .iter()
                .map(|d| (d.id.as_str(), d.limit))
                .collect::<Vec<_>>(),
            [
                ("jbb-harmful", Some(30)),
                ("jbb-benign", Some(20)),
                ("jade-zh", Some(20))
            ]
        );
        assert_eq!(s.target, EndpointSpec::default());
        assert_eq!(
            (s.seed, s.generation.max_tokens, s.reporting.min_samples),
            (0, 48, 30)
        );
        assert_eq!(s.judge, JudgeChoice::default());
        assert!(s.attacks.is_empty() && s.baseline);
        // --limit overrides every per-dataset limit.
        let limited = resolve(&ScanArgs {
            limit: Some(3),
            ..ScanArgs::default()
        })
        .unwrap();
        assert!(limited.spec.datasets.iter().all(|d| d.limit == Some(3)));
    }

    #[test]
    fn the_judge_table_and_flags_become_one_endpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "[judge]\nname = \"rules+llm\"\ntarget = \"openai\"\nmodel = \"jm\"\nbase_url = \"http://j/v1\"\ntimeout_secs = 30\n",
        )
        .unwrap();
        let mut args = ScanArgs {
            config: Some(path),
            ..ScanArgs::default()
        };
        args.judge_model.api_key_env = Some("JUDGE_KEY".into());
        let choice = resolve(&args).unwrap().spec.judge;
        assert_eq!(choice.name.as_deref(), Some("rules+llm"));
        let m = choice.model.unwrap();
        assert_eq!(
            m,
            EndpointSpec {
                api_key_env: Some("JUDGE_KEY".into()),
                timeout_secs: 30.0,
                ..EndpointSpec::openai("http://j/v1", "jm")
            }
        );
        // A different kind on the command line starts a fresh judge model, keeping the name.
        args.judge_model.kind = Some(EndpointKind::Local);
        args.judge_model.api_key_env = None;
        let choice = resolve(&args).unwrap().spec.judge;
        assert_eq!(choice.name.as_deref(), Some("rules+llm"));
        assert_eq!(choice.model, Some(EndpointSpec::default()));
    }

    #[test]
    fn openai_without_url_is_a_clear_error() {
        let mut args = ScanArgs::default();
        args.target.kind = Some(EndpointKind::Openai);
        args.target.model = Some("m".into());
        assert!(resolve(&args).unwrap_err().to_string().contains("base URL"));
    }
}
