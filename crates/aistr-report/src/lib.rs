//! Reports are computed from the journal, never from in-memory state, so a report can be rebuilt
//! at any time (after a resume, after a review) and always agrees with what was recorded.
//! `report.json` is a versioned, schema-checked contract for scripts; the terminal summary, HTML and
//! Markdown are for people; SARIF and JUnit are for CI systems; [`Gate`] turns thresholds into an
//! exit code and [`compare()`] tells what changed between two runs. Every renderer is a pure,
//! sync function of the report and the journal's attempts.

pub mod agents;
pub mod calibrate;
pub mod compare;
mod compute;
pub mod conversations;
pub mod escape;
mod findings;
mod format;
pub mod gate;
pub mod hallucination;
mod html;
mod junit;
mod markdown;
mod model;
pub mod privacy;
mod sarif;
pub mod svg;
mod terminal;

pub use calibrate::JudgeCalibration;
pub use compare::{Comparison, Delta, compare, render_comparison};
pub use compute::{ReportInputs, build_report};
pub use conversations::{ConversationStats, Transcript, TranscriptMessage};
pub use findings::{Finding, MethodInfo, Severity, findings, method_info};
pub use format::{Format, UnknownFormat};
pub use gate::{Gate, GateError, GateOutcome};
pub use hallucination::{
    HalluCell, HalluExample, HallucinationSection, McItem, McSection, SelfCheckItem, SelfCheckSection,
    SelfCheckSentence,
};
pub use html::{ci as format_ci, content_security_policy, pct as format_pct, render_html};
pub use junit::render_junit;
pub use markdown::render_markdown;
pub use model::{
    AttemptCounts, CalibratedCell, Calibration, CalibrationDevSet, Cell, DatasetRef, LevelNotRun,
    OverRefusal, REPORT_SCHEMA_VERSION, Report, SourceCounts, Uplift, VerdictSources, WeightedOverall,
};
pub use privacy::{
    LeakCell, LeakRecord, MemorisationSection, PrivacySection, privacy_section, redact_attempts, redact_json,
};
pub use sarif::{SARIF_SCHEMA_URI, render_sarif, sarif_value};
pub use terminal::render_terminal;

/// The JSON Schema of `report.json`, as committed in `schemas/report.schema.json`.
#[must_use]
pub fn report_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Report)).expect("schema serialises")
}
