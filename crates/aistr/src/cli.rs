//! Command-line definitions (clap), and nothing else: commands read these, nothing here calls a
//! command. Flags named in the issues are a contract: they may gain siblings but are never renamed.

use crate::endpoint_args::{AttackerRole, EndpointArgs, JudgeEvalRole, JudgeRole, TargetRole};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// AI STR testing: attack an LLM or GenAI application, judge its answers, report R and D.
#[derive(Debug, Parser)]
#[command(name = "aistr", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Attack a target and report attack success (R), decline (D) and over-refusal rates.
    Scan(Box<ScanArgs>),
    /// List registered targets, datasets or attacks.
    List(ListArgs),
    /// Re-render a run's reports (html, json, md, sarif, junit) from the journal.
    Report(ReportArgs),
    /// Compare two runs cell by cell, with significance tests.
    Compare(CompareArgs),
    /// Scan model files for hidden code without executing them (pickle, zip, safetensors, GGUF, ONNX, Keras).
    Modelscan(ModelscanArgs),
    /// Write or verify a CycloneDX ML-BOM of a model directory.
    Bom(BomArgs),
    /// Measure judge configurations against human labels; list judge stages.
    Judge(JudgeArgs),
    /// Human review queue: export verdicts to check, import human labels.
    Review(ReviewArgs),
    /// Install the offline models (`aistr models install`) or print where they live.
    Models(crate::commands::models::ModelsArgs),
    /// Run the guardrail proxy in front of an OpenAI-compatible upstream (see docs/guard.md).
    Guard(Box<crate::commands::guard::GuardArgs>),
    /// MCP servers: `aistr mcp scan SERVER` lists a server's tools, prompts and resources and flags
    /// tool-poisoning patterns in their descriptions.
    Mcp(McpArgs),
    /// Execute runs planned with `aistr scan --detach` from a shared journal, in leased batches,
    /// beside any number of other workers.
    Worker(WorkerArgs),
    /// The team server: an HTTP API and web dashboard over a shared journal (runs, reports,
    /// compare, cancel, human review), with API tokens, roles and an audit log.
    Serve(crate::commands::serve::ServeArgs),
    /// Issue, list or revoke the API tokens of `aistr serve`.
    Token(crate::commands::serve::TokenArgs),
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The shared journal: a `postgres://` URL (or an SQLite file, for workers on one machine).
    #[arg(long, value_name = "URL")]
    pub db: PathBuf,
    /// Work on this run only (default: any run with planned attempts, oldest first).
    #[arg(long, value_name = "RUN_ID")]
    pub run: Option<String>,
    /// Attempts claimed per batch.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub batch: usize,
    /// Seconds a claim lasts without a heartbeat (a killed worker's attempts return after this).
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    pub lease_secs: f64,
    /// Seconds between looks for work when there is none.
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    pub poll_secs: f64,
    /// Exit when nothing is planned any more instead of waiting for new runs.
    #[arg(long)]
    pub exit_when_idle: bool,
}

#[derive(Debug, Args, Default)]
pub struct ScanArgs {
    /// TOML configuration file; flags override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    // The target under test: --target, --model, --base-url, --api-key-env.
    #[command(flatten)]
    pub target: EndpointArgs<TargetRole>,
    /// The http target's application (TOML with the `[target.http]` keys at top level: method,
    /// url, headers, body, format, response, session); replaces the config file's `[target.http]`.
    #[arg(long, value_name = "FILE")]
    pub target_config: Option<PathBuf>,
    /// Dataset id or JSONL file (repeatable).
    #[arg(long = "dataset", value_name = "ID")]
    pub datasets: Vec<String>,
    /// Attack chain, steps separated by commas and applied in order (repeatable: one method each).
    #[arg(long = "attacks", value_name = "A,B")]
    pub attacks: Vec<String>,
    /// Do not add the plain L1 baseline when attacks are given.
    #[arg(long)]
    pub no_baseline: bool,
    /// Privacy suite: customer records to plant (JSONL `{"owner","kind","value","id"}`).
    #[arg(long, value_name = "FILE", requires = "suite")]
    pub privacy_records: Option<PathBuf>,
    /// Privacy suite: probe templates (JSONL `{"id","family","prompt",...}`) instead of the built-in ones.
    #[arg(long, value_name = "FILE", requires = "suite")]
    pub privacy_probes: Option<PathBuf>,
    /// Privacy suite: L3 orchestrators run with the extraction goal (pair, crescendo; comma-separated).
    #[arg(long, value_name = "A,B", requires = "suite")]
    pub privacy_l3: Option<String>,
    /// Privacy suite: random same-format candidates per planted secret in the canary exposure test
    /// (needs the target's log-probabilities: the embedded model; 0 skips it). Default 31 (5-bit cap).
    #[arg(long, value_name = "N", requires = "suite")]
    pub memorisation_candidates: Option<usize>,
    /// Privacy suite: 50+50-token windows per text in the prefix-suffix extraction test (needs the
    /// target's tokenizer: the embedded model; 0 skips it). Default 8.
    #[arg(long, value_name = "N", requires = "suite")]
    pub extraction_samples: Option<usize>,
    /// Agent suites: injection attacks, comma-separated (`important_instructions`, `direct`,
    /// `bipia`, each optionally `+` L2 transforms; `none` for benign episodes only).
    #[arg(long, value_name = "A,B", requires = "suite")]
    pub agent_attacks: Option<String>,
    /// Agent suites: most model calls per episode (default 20); an episode that spends it is unscored.
    #[arg(long, value_name = "N", requires = "suite")]
    pub agent_budget: Option<usize>,
    /// Agent suites: only the first N injection tasks (`--limit N`: only the first N user tasks).
    #[arg(long, value_name = "N", requires = "suite")]
    pub agent_injections: Option<usize>,
    /// Report files: also replace every PII the detector finds by its kind (planted canary values
    /// are always redacted).
    #[arg(long)]
    pub redact: bool,
    /// At most N probes per dataset (seeded random sample).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Seed for sampling, attacks and generation.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Requests in flight against the target.
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Requests per minute at most.
    #[arg(long, value_name = "N")]
    pub rpm: Option<u32>,
    /// Cap on generated tokens per answer.
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<u32>,
    /// Use streaming (SSE) for HTTP targets.
    #[arg(long)]
    pub stream: bool,
    /// Judge configuration: learned, rules, embedded, rules+embedded, rules-v0, optionally +jailguard
    /// and +llm (as `aistr judge eval --judge`). Default: learned, plus +llm when --judge-target is
    /// given.
    #[arg(long, value_name = "NAME", conflicts_with = "resume")]
    pub judge: Option<String>,
    /// LLM judge: the rubric sent to the judge model: aistr (risky/declined/safe, JSON), jbb
    /// (JailbreakBench-style unsafe/safe) or harmbench (HarmBench-style yes/no). Default: aistr.
    #[arg(long, value_name = "NAME", conflicts_with = "resume")]
    pub judge_rubric: Option<String>,
    // The LLM judge's model: --judge-target, --judge-*.
    #[command(flatten)]
    pub judge_model: EndpointArgs<JudgeRole>,
    // The L3 attacker: --attacker, --attacker-*.
    #[command(flatten)]
    pub attacker: EndpointArgs<AttackerRole>,
    /// L3: most target queries per conversation.
    #[arg(long, value_name = "N", conflicts_with = "resume")]
    pub query_budget: Option<u32>,
    /// L3: most turns per conversation (PAIR iterations, TAP depth, Crescendo or multi-round turns).
    #[arg(long, value_name = "N", conflicts_with = "resume")]
    pub turn_budget: Option<u32>,
    /// Journal database: an SQLite file, or a PostgreSQL URL (`postgres://user@host/db`) for a shared one.
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Directory where report.json (and the --format files) are written.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Report formats to write besides report.json: html, json, md, sarif, junit, or all (comma-separated).
    #[arg(long, value_name = "F,G")]
    pub format: Option<String>,
    /// Exit 3 when a threshold is crossed, e.g. 'R>0.05,L2.R>10%,category:data.security_attack.R>0' (docs/reports.md).
    #[arg(long, value_name = "CONDITIONS")]
    pub fail_on: Option<String>,
    /// Name for the new run.
    #[arg(long, value_name = "ID", conflicts_with = "resume")]
    pub run_id: Option<String>,
    /// Continue an interrupted run: only attempts without a recorded result are sent.
    #[arg(long, value_name = "RUN_ID")]
    pub resume: Option<String>,
    /// Never draw progress bars.
    #[arg(long)]
    pub no_progress: bool,
    /// Plan the run in the journal, print its id and exit without sending anything: `aistr worker`
    /// processes (on any machine sharing a `postgres://` journal) execute it.
    #[arg(long, conflicts_with = "resume")]
    pub detach: bool,
    /// A named test suite: `hallucination` (the poetry, TruthfulQA and RAG probe sets, see
    /// `aistr list datasets`; `--dataset` then picks among them, `--limit` caps each) or `privacy`
    /// (PII leakage and targeted extraction of planted canaries, docs/privacy.md; without
    /// `--dataset` only the suite runs, `--limit` caps its cases too), or `agents-banking` /
    /// `agents-workspace` (AgentDojo-style tool environments with indirect injections,
    /// docs/agents.md; `--limit N` takes the first N user tasks).
    #[arg(long, value_name = "NAME", conflicts_with = "resume")]
    pub suite: Option<String>,
    /// Hallucination probe sets: the chinese-poetry corpus directory (default: $AISTR_POETRY_DIR,
    /// else shared/data/chinese-poetry above the current directory).
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    pub poetry_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Run id.
    pub run: String,
    /// Formats: html, json, md, sarif, junit, or all (comma-separated).
    #[arg(long, value_name = "F,G", default_value = "all")]
    pub format: String,
    /// Journal database: an SQLite file, or a PostgreSQL URL (`postgres://user@host/db`) for a shared one.
    #[arg(long, value_name = "PATH", default_value = "aistr-out/journal.db")]
    pub db: PathBuf,
    /// Output directory.
    #[arg(long, value_name = "DIR", default_value = "aistr-out")]
    pub out: PathBuf,
    /// Exit 3 when a threshold is crossed (same grammar as `scan --fail-on`).
    #[arg(long, value_name = "CONDITIONS")]
    pub fail_on: Option<String>,
    /// Also replace every PII the detector finds by its kind (planted canary values are always
    /// redacted), so the report files can be shared.
    #[arg(long)]
    pub redact: bool,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Baseline run id.
    pub run_a: String,
    /// Run id to compare with the baseline.
    pub run_b: String,
    /// Journal database, a file or a `postgres://` URL (of both runs, or of RUN_A when --db-b is given).
    #[arg(long, value_name = "PATH", default_value = "aistr-out/journal.db")]
    pub db: PathBuf,
    /// Journal database of RUN_B, when it is another file.
    #[arg(long, value_name = "PATH")]
    pub db_b: Option<PathBuf>,
    /// Significance level, after Holm correction.
    #[arg(long, value_name = "P", default_value_t = 0.05)]
    pub alpha: f64,
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
    /// Exit 3 when any figure got significantly worse (R or over-refusal up).
    #[arg(long)]
    pub fail_on_regression: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// What to list.
    #[arg(value_enum)]
    pub what: ListWhat,
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListWhat {
    /// Target kinds.
    Targets,
    /// Built-in datasets.
    Datasets,
    /// Registered attacks.
    Attacks,
}

/// `aistr judge …`.
#[derive(Debug, Args)]
pub struct JudgeArgs {
    #[command(subcommand)]
    pub command: JudgeCommand,
}

#[derive(Debug, Subcommand)]
pub enum JudgeCommand {
    /// Run judge configurations over a labelled file and print accuracy, precision, recall, F1,
    /// FPR, FNR, Cohen's kappa and the confusion matrix, side by side.
    Eval(Box<JudgeEvalArgs>),
    /// List the registered judge stages and configurations.
    Stages,
    /// Judge a finished run's stored answers again with another configuration, into a new run
    /// linked to the first (nothing is re-sent); compare the two with `aistr compare`.
    Rerun(JudgeRerunArgs),
}

/// `aistr judge rerun RUN --judge NAME`.
#[derive(Debug, Args)]
pub struct JudgeRerunArgs {
    /// The run whose answers are judged again.
    pub run: String,
    /// The judge configuration to use (any name `judge eval --judge` accepts).
    #[arg(long = "judge", value_name = "NAME")]
    pub judge: String,
    /// The journal.
    #[arg(long, value_name = "PATH", default_value = crate::commands::scan::DEFAULT_DB)]
    pub db: PathBuf,
    /// Id of the new run (default: `<RUN>-rejudged-<judge>`).
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
    /// Where the new run's report files go (default: the first run's report directory +
    /// `-rejudged`).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// What a labelled file measures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum EvalTask {
    /// The attack judge: labels risky | declined | safe | unscored.
    #[default]
    Attack,
    /// The hallucination judge: labels hallucinated | grounded | abstained, optional `context`.
    Hallucination,
}

#[derive(Debug, Args, Default)]
pub struct JudgeEvalArgs {
    /// JSONL (or .csv) rows with `request`, `response` and `label` (risky | declined | safe | unscored);
    /// optional `intent` (harmful | benign), `decoders`, `finish_reason`, `id`. With `--task
    /// hallucination`: JSONL rows with `request`, `response`, `context`? and `label` (hallucinated |
    /// grounded | abstained).
    #[arg(long, value_name = "FILE")]
    pub labels: PathBuf,
    /// What the labels measure: the attack judge (default) or the hallucination judge (judges
    /// hallucination, hallucination-minilm, hallucination-char3).
    #[arg(long, value_enum, default_value_t = EvalTask::Attack)]
    pub task: EvalTask,
    /// `--task hallucination`: the chinese-poetry corpus directory, for rows without a context
    /// (default: $AISTR_POETRY_DIR, else shared/data/chinese-poetry above the current directory).
    #[arg(long, value_name = "DIR")]
    pub poetry_dir: Option<PathBuf>,
    /// Judge configuration(s): learned, rules, embedded, rules+embedded, rules-v0, +jailguard, +llm;
    /// repeatable or comma-separated; `all` = every compared configuration. Default: the one `aistr
    /// scan` uses.
    #[arg(long = "judge", value_name = "NAME")]
    pub judges: Vec<String>,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
    /// Write every row's verdict, confidence and fired stages (JSONL, input order per configuration).
    #[arg(long, value_name = "OUT.jsonl")]
    pub predictions: Option<PathBuf>,
    /// Directory holding all-MiniLM-L6-v2 (default: $AISTR_MODELS_DIR or ./models).
    #[arg(long, value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
    // The LLM judge for `+llm` configurations: the same flags as `aistr scan` (`--llm-*` are the
    // older spellings). Nothing is sent anywhere unless a judge model is given and a `+llm`
    // configuration is chosen; with a model name and a base URL the kind is openai.
    #[command(flatten)]
    pub llm: EndpointArgs<JudgeEvalRole>,
    /// LLM judge: use the embedded local model (weak at 135M parameters; for testing the path); the
    /// same as `--judge-target local`.
    #[arg(long)]
    pub llm_local: bool,
    /// LLM judge: the rubric sent: aistr (risky/declined/safe, JSON), jbb (unsafe/safe) or
    /// harmbench (yes/no).
    #[arg(long = "judge-rubric", value_name = "NAME", default_value = "aistr")]
    pub judge_rubric: String,
    /// Weights for the `learned` configuration instead of the compiled-in ones (e.g. a model
    /// trained without the source being measured: `train_judge --holdout SOURCE --out FILE`).
    #[arg(long, value_name = "FILE.bin")]
    pub learned_weights: Option<PathBuf>,
    /// Write the confusion matrices on the file's harmful rows as a judge calibration file (the
    /// one shipped is `crates/aistr-judge/data/calibration.json`); reports use it for the
    /// judge-calibrated R and D.
    #[arg(long, value_name = "OUT.json")]
    pub calibration_out: Option<PathBuf>,
    /// With `--calibration-out`: the labels are blind annotators' labels of answers that no judge
    /// configuration was trained, tuned or written on, and the file says so (without it, the file
    /// says the labels are the authors' own and the intervals optimistic).
    #[arg(long, requires = "calibration_out")]
    pub calibration_held_out: bool,
}

/// `aistr review …`.
#[derive(Debug, Args)]
pub struct ReviewArgs {
    #[command(subcommand)]
    pub command: ReviewCommand,
}

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Write a review sheet (JSONL, or CSV when OUT ends in .csv) of a run's verdicts to check.
    Export(ReviewExportArgs),
    /// Apply a filled-in review sheet to the journal.
    Import(ReviewImportArgs),
}

#[derive(Debug, Args)]
pub struct ReviewExportArgs {
    /// Run id.
    pub run: String,
    /// Journal database: an SQLite file, or a PostgreSQL URL (`postgres://user@host/db`) for a shared one.
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Output file (default: review-RUN.jsonl).
    #[arg(long, value_name = "OUT")]
    pub out: Option<PathBuf>,
    /// Export every scored verdict, not only those flagged for review.
    #[arg(long)]
    pub all: bool,
    /// Replace planted canary values and every PII the detector finds by their kind in the
    /// requests and answers of the sheet, so it can be shared (`[CANARY:hkid]`, `[EMAIL]`, ...).
    #[arg(long)]
    pub redact: bool,
}

#[derive(Debug, Args)]
pub struct ReviewImportArgs {
    /// The filled-in sheet (JSONL or CSV with `run`, `seq`, `human_label`, optional `note`).
    pub file: PathBuf,
    /// Journal database: an SQLite file, or a PostgreSQL URL (`postgres://user@host/db`) for a shared one.
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

/// `aistr modelscan` report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ModelscanFormat {
    /// Human-readable summary.
    #[default]
    Text,
    /// `{"files": [...]}` JSON.
    Json,
    /// SARIF 2.1.0.
    Sarif,
}

/// Scanner bounds exposed as flags (defaults are `aistr_modelscan::Limits::default()`).
#[derive(Debug, Clone, Args, PartialEq, Eq)]
pub struct LimitArgs {
    /// Pickle opcodes walked per pickle stream.
    #[arg(long, default_value_t = aistr_modelscan::Limits::default().max_opcodes)]
    pub max_opcodes: u64,
    /// Archive nesting depth.
    #[arg(long, default_value_t = aistr_modelscan::Limits::default().max_depth)]
    pub max_depth: usize,
    /// Total decompressed bytes per top-level file.
    #[arg(long, default_value_t = aistr_modelscan::Limits::default().max_decompressed)]
    pub max_decompressed: u64,
    /// Decompression ratio treated as a zip bomb.
    #[arg(long, default_value_t = aistr_modelscan::Limits::default().max_ratio)]
    pub max_ratio: u64,
    /// Bytes buffered to open a nested archive.
    #[arg(long, default_value_t = aistr_modelscan::Limits::default().max_nested_bytes)]
    pub max_nested_bytes: u64,
    /// Header bytes (safetensors/GGUF).
    #[arg(long, default_value_t = aistr_modelscan::Limits::default().max_header_bytes)]
    pub max_header_bytes: u64,
    /// Wall-clock seconds per top-level file.
    #[arg(long, default_value_t = aistr_modelscan::Limits::default().max_time.as_secs())]
    pub max_time_secs: u64,
}

/// `aistr modelscan PATH...`
#[derive(Debug, Clone, Args)]
pub struct ModelscanArgs {
    /// Files or directories (recursive) to scan.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = ModelscanFormat::Text)]
    pub format: ModelscanFormat,
    /// Write the report to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also list info-level findings in text output.
    #[arg(long, short)]
    pub verbose: bool,
    // Bounds.
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// `aistr bom PATH --out bom.json` or `aistr bom verify bom.json PATH`.
#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct BomArgs {
    /// `verify` checks a BOM against the files.
    #[command(subcommand)]
    pub command: Option<BomCommand>,
    /// File or directory to describe.
    #[arg(required = true)]
    pub path: Option<PathBuf>,
    /// Where to write the BOM (standard output if absent).
    #[arg(long)]
    pub out: Option<PathBuf>,
    // Bounds for the scans recorded in the BOM.
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// BOM subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum BomCommand {
    /// Fail if any file's hash differs or a file is missing or extra.
    Verify {
        /// The BOM written by `aistr bom`.
        bom: PathBuf,
        /// The file or directory it describes.
        path: PathBuf,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn modelscan_and_bom_flags_parse() {
        let s = Cli::try_parse_from([
            "aistr",
            "modelscan",
            "a.pt",
            "dir",
            "--format",
            "sarif",
            "--out",
            "r.sarif",
            "--max-depth",
            "2",
        ])
        .unwrap();
        let Command::Modelscan(s) = s.command else {
            panic!("modelscan")
        };
        assert_eq!(s.paths.len(), 2);
        assert_eq!(s.format, ModelscanFormat::Sarif);
        assert_eq!(s.limits.max_depth, 2);
        assert!(
            Cli::try_parse_from(["aistr", "modelscan"]).is_err(),
            "a path is required"
        );
        let Command::Bom(b) = Cli::try_parse_from(["aistr", "bom", "models", "--out", "bom.json"])
            .unwrap()
            .command
        else {
            panic!("bom")
        };
        assert_eq!(b.path.as_deref(), Some(std::path::Path::new("models")));
        let Command::Bom(v) = Cli::try_parse_from(["aistr", "bom", "verify", "bom.json", "models"])
            .unwrap()
            .command
        else {
            panic!("bom verify")
        };
        assert!(matches!(v.command, Some(BomCommand::Verify { .. })));
    }
}

/// `aistr mcp ...`
#[derive(Debug, Clone, Args)]
pub struct McpArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: McpCommand,
}

/// The `mcp` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum McpCommand {
    /// Connect to an MCP server (a command speaking MCP on stdio, or a streamable-HTTP URL), list
    /// its tools, prompts and resources, and flag poisoning patterns (exit 4 when any is found).
    Scan(McpScanArgs),
}

/// `aistr mcp scan SERVER [ARGS]...`
#[derive(Debug, Clone, Args)]
pub struct McpScanArgs {
    /// The server: an `http(s)://` URL (streamable HTTP) or a command to start (stdio).
    pub server: String,
    /// Arguments for the server command (after `--`).
    #[arg(last = true)]
    pub args: Vec<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Give up after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout_secs: u64,
}
