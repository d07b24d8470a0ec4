//! What every reporting command does at the end: write `report.json` and the other `--format`
//! files (atomically: a temp file, then a rename), say where, and evaluate `--fail-on`. Rendering
//! lives in `aistr-report`, the report itself comes from the session.

use crate::exit::{CliError, THRESHOLD_CROSSED};
use aistr_core::AttemptRecord;
use aistr_report::{Format, Gate, Report};
use anyhow::Context;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `--format` and `--fail-on`, checked before anything runs.
pub struct Outputs {
    formats: Vec<Format>,
    gate: Option<Gate>,
}

impl Outputs {
    /// Parses `--format` (default given by the command) and `--fail-on`; bad text is a usage error.
    pub fn parse(format: &str, fail_on: Option<&str>) -> Result<Self, CliError> {
        let formats = Format::parse_list(format).map_err(CliError::usage)?;
        let gate = fail_on.map(Gate::parse).transpose().map_err(CliError::usage)?;
        Ok(Self { formats, gate })
    }

    /// Writes the extra formats next to `report.json` and prints their paths.
    pub fn write(&self, out: &Path, report: &Report, attempts: &[AttemptRecord]) -> Result<(), CliError> {
        for path in write_formats(out, &self.formats, report, attempts)?
            .iter()
            .filter(|p| !p.ends_with("report.json"))
        {
            let _ = writeln!(std::io::stderr(), "report: {}", path.display());
        }
        Ok(())
    }

    /// Prints the gate's checks; [`THRESHOLD_CROSSED`] when any holds. A condition naming a cell
    /// the run does not have is a usage error: a typo must not pass a gate.
    pub fn gate(&self, report: &Report) -> Result<Option<u8>, CliError> {
        let Some(gate) = &self.gate else { return Ok(None) };
        let outcome = gate.evaluate(report).map_err(CliError::usage)?;
        let verdict = if outcome.crossed() { "CROSSED" } else { "passed" };
        let _ = writeln!(std::io::stderr(), "--fail-on {verdict}:\n{outcome}");
        Ok(outcome.crossed().then_some(THRESHOLD_CROSSED))
    }
}

fn write_atomically(dir: &Path, name: &str, body: &str) -> Result<PathBuf, CliError> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}.tmp"));
    std::fs::write(&tmp, body).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// Writes `report.json` into `out`.
pub fn write_report_json(out: &Path, report: &Report) -> Result<PathBuf, CliError> {
    let text = serde_json::to_string_pretty(report).map_err(anyhow::Error::from)?;
    write_atomically(out, "report.json", &text)
}

/// Writes each format's file into `out`.
pub fn write_formats(
    out: &Path,
    formats: &[Format],
    report: &Report,
    attempts: &[AttemptRecord],
) -> Result<Vec<PathBuf>, CliError> {
    formats
        .iter()
        .map(|f| write_atomically(out, f.file_name(), &f.render(report, attempts)))
        .collect()
}
