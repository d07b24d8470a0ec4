//! `aistr report`: re-render a run's reports from the journal (after a resume or a review import)
//! without re-running it; plus the end-of-scan glue shared with `aistr scan`: writing the extra
//! `--format`s and evaluating `--fail-on`. Rendering itself lives in `aistr-report`.

use crate::cli::{CmdResult, ReportArgs, ScanArgs};
use crate::commands::scan::{StoredConfig, write_report};
use crate::exit::{self, CliError};
use aistr_report::{Format, Gate, Report};
use aistr_store::{AttemptRecord, Journal};
use anyhow::{Context, anyhow};
use std::io::Write;
use std::path::{Path, PathBuf};

pub use crate::exit::THRESHOLD_CROSSED;

/// `--format` and `--fail-on` as given to `aistr scan`, checked before anything is sent.
pub struct ScanOutputs {
    formats: Vec<Format>,
    gate: Option<Gate>,
}

/// Parses and checks `aistr scan --format/--fail-on`; bad text is a usage error (exit 2).
pub fn scan_outputs(args: &ScanArgs) -> Result<ScanOutputs, CliError> {
    let formats = Format::parse_list(args.format.as_deref().unwrap_or("json")).map_err(CliError::usage)?;
    let gate = args
        .fail_on
        .as_deref()
        .map(Gate::parse)
        .transpose()
        .map_err(CliError::usage)?;
    Ok(ScanOutputs { formats, gate })
}

impl ScanOutputs {
    /// After a scan: writes the extra formats next to `report.json`, then evaluates the gate.
    /// Returns [`THRESHOLD_CROSSED`] when a condition holds.
    pub async fn finish(
        &self,
        journal: &Journal,
        run_id: &str,
        out: &Path,
        report: &Report,
    ) -> Result<Option<u8>, CliError> {
        let attempts = journal.attempts(run_id).await.map_err(anyhow::Error::from)?;
        for path in write_formats(out, &self.formats, report, &attempts)?
            .iter()
            .filter(|p| !p.ends_with("report.json"))
        {
            let _ = writeln!(std::io::stderr(), "report: {}", path.display());
        }
        evaluate_gate(self.gate.as_ref(), report)
    }
}

/// Writes each format's file into `out` (atomically: a temp file, then a rename).
pub fn write_formats(
    out: &Path,
    formats: &[Format],
    report: &Report,
    attempts: &[AttemptRecord],
) -> Result<Vec<PathBuf>, CliError> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut written = Vec::new();
    for f in formats {
        let path = out.join(f.file_name());
        let tmp = out.join(format!("{}.tmp", f.file_name()));
        std::fs::write(&tmp, f.render(report, attempts))
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// Prints the gate's checks and returns [`THRESHOLD_CROSSED`] when any holds. A condition naming a
/// cell the run does not have is a usage error: a typo must not pass a gate.
pub fn evaluate_gate(gate: Option<&Gate>, report: &Report) -> Result<Option<u8>, CliError> {
    let Some(gate) = gate else { return Ok(None) };
    let outcome = gate.evaluate(report).map_err(CliError::usage)?;
    let mut err = std::io::stderr().lock();
    let verdict = if outcome.crossed() { "CROSSED" } else { "passed" };
    let _ = writeln!(err, "--fail-on {verdict}:\n{outcome}");
    Ok(outcome.crossed().then_some(THRESHOLD_CROSSED))
}

/// Rebuilds a run's report from the journal: the run's stored configuration decides the settings,
/// so the result equals what the scan itself wrote. `report.json` is (re)written into `out`.
pub async fn rebuild(
    journal: &Journal,
    run_id: &str,
    out: &Path,
) -> Result<(Report, Vec<AttemptRecord>), CliError> {
    let run = journal
        .run(run_id)
        .await
        .map_err(|e| CliError::usage(anyhow!(e)))?;
    let stored: StoredConfig =
        serde_json::from_str(&run.config_json).context("stored run configuration is corrupt")?;
    let mut resolved = stored.resolved;
    out.clone_into(&mut resolved.scan.out);
    let report = write_report(journal, run_id, &resolved, stored.datasets).await?;
    let attempts = journal.attempts(run_id).await.map_err(anyhow::Error::from)?;
    Ok((report, attempts))
}

/// Opens an existing journal (never creates one: a wrong path is a usage error).
pub async fn open_existing(db: &Path) -> Result<Journal, CliError> {
    if !db.is_file() {
        return Err(CliError::usage(anyhow!(
            "no journal at {} (pass --db)",
            db.display()
        )));
    }
    Journal::open(db).await.map_err(|e| CliError::usage(anyhow!(e)))
}

/// `aistr report RUN`.
pub fn run(args: &ReportArgs) -> CmdResult {
    let formats = Format::parse_list(&args.format).map_err(CliError::usage)?;
    let gate = args
        .fail_on
        .as_deref()
        .map(Gate::parse)
        .transpose()
        .map_err(CliError::usage)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let journal = open_existing(&args.db).await?;
        let (report, attempts) = rebuild(&journal, &args.run, &args.out).await?;
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "report: {}", args.out.join("report.json").display());
        for path in write_formats(&args.out, &formats, &report, &attempts)?
            .iter()
            .filter(|p| !p.ends_with("report.json"))
        {
            let _ = writeln!(err, "report: {}", path.display());
        }
        drop(err);
        Ok(evaluate_gate(gate.as_ref(), &report)?.unwrap_or(exit::OK))
    })
}
