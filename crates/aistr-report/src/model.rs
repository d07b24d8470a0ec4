//! The `report.json` data model (schema version 1). Field names are a contract: scripts read them,
//! so they are only ever added to, never renamed.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bumped when a field changes meaning or is removed (adding fields does not bump it).
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// Over-refusal on benign control probes: how often the model declined something it should answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OverRefusal {
    /// Benign samples, scored or not.
    pub n: u64,
    /// Benign samples that were scored.
    pub scored: u64,
    /// Benign samples declined.
    pub declined: u64,
    /// Benign samples that could not be scored.
    pub unscored: u64,
    /// declined / scored (null with no scored sample).
    pub rate: Option<f64>,
    /// Wilson 95% interval of `rate`.
    pub ci: Option<[f64; 2]>,
}

/// Figures for one cell (overall, a level, a category, a method, a language, a dataset).
/// R, D and their intervals are over the *scored* harmful samples; unscored ones are counted apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[expect(
    non_snake_case,
    reason = "R and D are the standard's names and the report's contract"
)]
pub struct Cell {
    /// All harmful samples in the cell, scored or not.
    pub n: u64,
    /// Scored harmful samples (the denominator of R and D).
    pub scored: u64,
    /// Risky answers.
    pub risky: u64,
    /// Declined answers.
    pub declined: u64,
    /// Safe answers.
    pub safe: u64,
    /// Answers that could not be scored.
    pub unscored: u64,
    /// Attack success rate: risky / scored.
    pub R: Option<f64>,
    /// Decline rate: declined / scored.
    pub D: Option<f64>,
    /// Safe, answered share: safe / scored.
    pub safe_share: Option<f64>,
    /// Worst case: (risky + unscored) / n.
    pub R_max: Option<f64>,
    /// Wilson 95% interval of R.
    pub R_ci: Option<[f64; 2]>,
    /// Wilson 95% interval of D.
    pub D_ci: Option<[f64; 2]>,
    /// Over-refusal on the benign samples of this cell (null when it has none).
    pub over_refusal: Option<OverRefusal>,
    /// True when `scored` is below the configured minimum: read the figure with care.
    pub low_sample: bool,
}

/// A dataset used by the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DatasetRef {
    /// Registry id or file path.
    pub id: String,
    /// sha256 of the dataset bytes.
    pub sha256: String,
    /// Probes taken from it.
    pub probes: u64,
}

/// The overall R with per-level weights (AI-STR-02 7.5); the weights used are recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[expect(non_snake_case, reason = "R is the standard's name")]
pub struct WeightedOverall {
    /// `sample-weighted` (the default: equals the pooled R) or `configured`.
    pub scheme: String,
    /// The weight of each level that was run (they sum to 1).
    pub weights: BTreeMap<String, f64>,
    /// Σ w_i · R_Li over levels with scored samples.
    pub R: Option<f64>,
    /// Σ w_i · D_Li.
    pub D: Option<f64>,
}

/// How much an attack method raises R over the plain request, on the goals both were scored on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[expect(non_snake_case, reason = "R is the standard's name")]
pub struct Uplift {
    /// Goals scored both plainly and with this method.
    pub n_pairs: u64,
    /// R of the method on those goals.
    pub R_method: Option<f64>,
    /// R of the plain request on the same goals.
    pub R_plain: Option<f64>,
    /// R_method − R_plain.
    pub delta: Option<f64>,
    /// D of the method on those goals.
    pub D_method: Option<f64>,
    /// D of the plain request on the same goals.
    pub D_plain: Option<f64>,
}

/// A level that was not run, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LevelNotRun {
    /// `L1`..`L4`.
    pub level: String,
    /// Why it was not run.
    pub why: String,
}

/// Attempt bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AttemptCounts {
    /// Attempts planned.
    pub planned: u64,
    /// Attempts with a recorded result.
    pub done: u64,
    /// Attempts still waiting (an interrupted run).
    pub pending: u64,
    /// Of the done ones, how many failed at the transport.
    pub transport_failures: u64,
}

/// How many verdicts each kind of decider gave: rules, a model (the embedded head or an LLM judge),
/// or a human reviewer (`aistr review import`). Counts every recorded verdict, harmful and benign,
/// unscored ones included (a transport failure is a rule's `unscored`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SourceCounts {
    /// Decided by deterministic rules.
    pub rule: u64,
    /// Decided by a learned model or an LLM judge.
    pub model: u64,
    /// Labelled by a human reviewer.
    pub human: u64,
}

/// Verdict sources, overall and per level.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct VerdictSources {
    /// Every recorded verdict of the run.
    pub overall: SourceCounts,
    /// Per level.
    pub by_level: BTreeMap<String, SourceCounts>,
}

/// The dev set a judge's error was measured on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CalibrationDevSet {
    /// Labelled rows the misclassification matrix is built on (harmful, gold and judge label scored).
    pub n: u64,
    /// sha256 of the dev-set file.
    pub sha256: String,
    /// True when the labels were made by the judge's own authors: the measured error, and so the
    /// calibrated intervals, are optimistic.
    pub self_labelled: bool,
    /// True when the labels are blind annotators' labels of answers no judge configuration was
    /// trained, tuned or written on (absent in reports written before this field: false).
    #[serde(default)]
    pub held_out: bool,
}

/// Judge-calibrated figures of one cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[expect(non_snake_case, reason = "R and D are the standard's names")]
pub struct CalibratedCell {
    /// Scored harmful answers in the cell.
    pub scored: u64,
    /// R corrected for the judge's measured error.
    pub R: Option<f64>,
    /// Bootstrap 95% interval of the corrected R (judge error and sampling).
    pub R_ci: Option<[f64; 2]>,
    /// D corrected for the judge's measured error.
    pub D: Option<f64>,
    /// Bootstrap 95% interval of the corrected D.
    pub D_ci: Option<[f64; 2]>,
}

/// Judge-calibrated R and D: the raw shares corrected by the judge's confusion matrix measured on a
/// labelled dev set, with bootstrap intervals that carry both the judge's and the sample's
/// uncertainty. Clearly not the raw figures: read `method` and `dev_set`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[expect(non_snake_case, reason = "R and D are the standard's names")]
pub struct Calibration {
    /// How the correction and the interval were computed.
    pub method: String,
    /// The judge whose measured error was used.
    pub judge: String,
    /// Where that error was measured.
    pub dev_set: CalibrationDevSet,
    /// Bootstrap replicates.
    pub resamples: u32,
    /// Seed of the bootstrap (fixed, so the interval is reproducible).
    pub seed: u64,
    /// Scored harmful answers (the denominator, as for the raw R).
    pub scored: u64,
    /// Of them, labelled by a human (taken as truth, not corrected).
    pub human: u64,
    /// Overall R corrected for the judge's error.
    pub R: Option<f64>,
    /// Bootstrap 95% interval of the corrected R.
    pub R_ci: Option<[f64; 2]>,
    /// Overall D corrected for the judge's error.
    pub D: Option<f64>,
    /// Bootstrap 95% interval of the corrected D.
    pub D_ci: Option<[f64; 2]>,
    /// Per level.
    pub by_level: BTreeMap<String, CalibratedCell>,
}

/// `report.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    /// Report format version.
    pub schema_version: u32,
    /// aistr version that wrote the report.
    pub aistr_version: String,
    /// Run id.
    pub run_id: String,
    /// When the run was created.
    pub created_at: String,
    /// `running`, `finished` or `interrupted`.
    pub status: String,
    /// Target identity (never a secret).
    pub target: serde_json::Value,
    /// Judge identity.
    pub judge: String,
    /// Resolved scan settings.
    pub settings: serde_json::Value,
    /// Datasets and their hashes.
    pub datasets: Vec<DatasetRef>,
    /// Risk taxonomy name.
    pub taxonomy: String,
    /// Attempt bookkeeping.
    pub attempts: AttemptCounts,
    /// Minimum scored samples per cell below which `low_sample` is set.
    pub min_samples: u64,
    /// All harmful samples.
    pub overall: Cell,
    /// Overall figure with per-level weights.
    pub overall_weighted: WeightedOverall,
    /// Over-refusal on every benign sample.
    pub over_refusal: Option<OverRefusal>,
    /// Judge-calibrated R and D (overall and per level): corrected for the judge's error measured
    /// on a labelled dev set. Null when the run's judge has no calibration entry.
    #[serde(default)]
    pub calibrated: Option<Calibration>,
    /// How many verdicts a rule, a model or a human decided.
    #[serde(default)]
    pub verdict_sources: VerdictSources,
    /// Per level.
    pub by_level: BTreeMap<String, Cell>,
    /// Per risk category.
    pub by_category: BTreeMap<String, Cell>,
    /// Per attack method (chain).
    pub by_method: BTreeMap<String, Cell>,
    /// Per language.
    pub by_language: BTreeMap<String, Cell>,
    /// Per dataset.
    pub by_dataset: BTreeMap<String, Cell>,
    /// Per attack family (`random` for the plain L1 baseline).
    #[serde(default)]
    pub by_family: BTreeMap<String, Cell>,
    /// Per attack method: its R beside the plain request's R on the same goals.
    #[serde(default)]
    pub uplift: BTreeMap<String, Uplift>,
    /// Per L3 method (PAIR, TAP, Crescendo, multi-round): turns and queries to success, stop
    /// reasons and winning transcripts. Empty when no L3 attack ran.
    #[serde(default)]
    pub conversations: BTreeMap<String, crate::conversations::ConversationStats>,
    /// A hallucination run's H and abstention rate per probe set, language and category, with
    /// examples (null for attack runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hallucination: Option<crate::hallucination::HallucinationSection>,
    /// Privacy probes: canary leak rates per secret kind and attack, and which canary leaked (by
    /// id and kind). Absent when the run had no privacy probes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy: Option<crate::privacy::PrivacySection>,
    /// Agent episodes (`--suite agents-banking`): utility, utility under attack and targeted attack
    /// success per suite and attack, with intervals and counts. Absent when the run had no agent
    /// episode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agents: Option<crate::agents::AgentsSection>,
    /// Levels not run, with why.
    pub levels_not_run: Vec<LevelNotRun>,
    /// Things a reader must know (low samples, unscored answers, interrupted run).
    pub warnings: Vec<String>,
}
