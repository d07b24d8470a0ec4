//! Command-line definitions (clap) and dispatch. Flags named in the issues are a contract: they may
//! gain siblings but are never renamed.

use crate::exit::{self, CliError};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

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
    Modelscan(aistr_modelscan::ModelscanArgs),
    /// Write or verify a CycloneDX ML-BOM of a model directory.
    Bom(aistr_modelscan::BomArgs),
    /// Measure judge configurations against human labels; list judge stages.
    Judge(crate::commands::judge::JudgeArgs),
    /// Human review queue: export verdicts to check, import human labels.
    Review(crate::commands::review::ReviewArgs),
}

/// Target kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// Any OpenAI-compatible chat-completions endpoint.
    Openai,
    /// The embedded SmolLM2-135M-Instruct model, on the CPU.
    Local,
}

#[derive(Debug, Args, Default)]
pub struct ScanArgs {
    /// TOML configuration file; flags override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Which kind of target to attack.
    #[arg(long, value_enum)]
    pub target: Option<TargetKind>,
    /// Base URL of an OpenAI-compatible API, up to `/v1`.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Model name (HTTP targets) or GGUF path (local target).
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// Name of the environment variable that holds the API key.
    #[arg(long, value_name = "VAR")]
    pub api_key_env: Option<String>,
    /// Dataset id or JSONL file (repeatable).
    #[arg(long = "dataset", value_name = "ID")]
    pub datasets: Vec<String>,
    /// Attack chain, steps separated by commas and applied in order (repeatable: one method each).
    #[arg(long = "attacks", value_name = "A,B")]
    pub attacks: Vec<String>,
    /// Do not add the plain L1 baseline when attacks are given.
    #[arg(long)]
    pub no_baseline: bool,
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
    /// Judge configuration: rules, embedded, rules+embedded, rules-v0, optionally +jailguard and +llm
    /// (as `aistr judge eval --judge`). Default: rules+embedded (rules when MiniLM is not installed),
    /// plus +llm when --judge-target is given.
    #[arg(long, value_name = "NAME", conflicts_with = "resume")]
    pub judge: Option<String>,
    /// LLM judge: which kind of model judges the answers (the `+llm` stage). Nothing is sent to any
    /// judge model unless this is given.
    #[arg(long, value_enum, value_name = "KIND", conflicts_with = "resume")]
    pub judge_target: Option<TargetKind>,
    /// LLM judge: model name (openai) or GGUF path (local).
    #[arg(long, value_name = "NAME")]
    pub judge_model: Option<String>,
    /// LLM judge: base URL of an OpenAI-compatible API, up to `/v1`.
    #[arg(long, value_name = "URL")]
    pub judge_base_url: Option<String>,
    /// LLM judge: name of the environment variable that holds the judge API's key.
    #[arg(long, value_name = "VAR")]
    pub judge_api_key_env: Option<String>,
    /// L3 attacker model (for --attacks pair, tap, crescendo, multi-round): which kind of model
    /// writes the attacks. Default: the embedded local model.
    #[arg(long, value_enum, value_name = "KIND", conflicts_with = "resume")]
    pub attacker: Option<TargetKind>,
    /// L3 attacker: model name (openai) or GGUF path (local).
    #[arg(long, value_name = "NAME", conflicts_with = "resume")]
    pub attacker_model: Option<String>,
    /// L3 attacker: base URL of an OpenAI-compatible API, up to `/v1`.
    #[arg(long, value_name = "URL", conflicts_with = "resume")]
    pub attacker_base_url: Option<String>,
    /// L3 attacker: name of the environment variable that holds the attacker API's key.
    #[arg(long, value_name = "VAR", conflicts_with = "resume")]
    pub attacker_api_key_env: Option<String>,
    /// L3: most target queries per conversation.
    #[arg(long, value_name = "N", conflicts_with = "resume")]
    pub query_budget: Option<u32>,
    /// L3: most turns per conversation (PAIR iterations, TAP depth, Crescendo or multi-round turns).
    #[arg(long, value_name = "N", conflicts_with = "resume")]
    pub turn_budget: Option<u32>,
    /// Journal database.
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
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Run id.
    pub run: String,
    /// Formats: html, json, md, sarif, junit, or all (comma-separated).
    #[arg(long, value_name = "F,G", default_value = "all")]
    pub format: String,
    /// Journal database.
    #[arg(long, value_name = "PATH", default_value = "aistr-out/journal.db")]
    pub db: PathBuf,
    /// Output directory.
    #[arg(long, value_name = "DIR", default_value = "aistr-out")]
    pub out: PathBuf,
    /// Exit 3 when a threshold is crossed (same grammar as `scan --fail-on`).
    #[arg(long, value_name = "CONDITIONS")]
    pub fail_on: Option<String>,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Baseline run id.
    pub run_a: String,
    /// Run id to compare with the baseline.
    pub run_b: String,
    /// Journal database (of both runs, or of RUN_A when --db-b is given).
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

/// Parses the command line, runs the command, and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("AISTR_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Scan(args) => crate::commands::scan::run(*args),
        Command::List(args) => crate::commands::list::run(&args),
        Command::Report(args) => crate::commands::report::run(&args),
        Command::Compare(args) => crate::commands::compare::run(&args),
        Command::Modelscan(args) => crate::commands::modelscan::run_modelscan(&args),
        Command::Bom(args) => crate::commands::modelscan::run_bom(&args),
        Command::Judge(args) => crate::commands::judge::run(args),
        Command::Review(args) => crate::commands::review::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(if e.code == exit::OK { exit::FAILURE } else { e.code })
        }
    }
}

/// Result type for commands: an exit code or an error that carries one.
pub type CmdResult = Result<u8, CliError>;
