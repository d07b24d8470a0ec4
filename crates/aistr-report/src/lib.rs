//! Reports are computed from the journal, never from in-memory state, so a report can be rebuilt
//! at any time (after a resume, after a review) and always agrees with what was recorded.
//! `report.json` is a versioned, schema-checked contract for scripts; the terminal summary is for people.

mod compute;
mod model;
mod terminal;

pub use compute::{build_report, ReportInputs};
pub use model::{Cell, DatasetRef, OverRefusal, Report, Uplift, WeightedOverall, REPORT_SCHEMA_VERSION};
pub use terminal::render_terminal;

/// The JSON Schema of `report.json`, as committed in `schemas/report.schema.json`.
#[must_use]
pub fn report_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Report)).expect("schema serialises")
}
