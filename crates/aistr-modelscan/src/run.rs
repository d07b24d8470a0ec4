//! Running a model scan or a BOM job end to end: scan, render, write where asked. Output goes to
//! the `Write` handed in (or to a file), so it is testable. The command line (flags, exit codes)
//! belongs to the `aistr` binary, which maps the outcomes here to its exit-code table.

use std::io::Write;
use std::path::PathBuf;

use crate::bom::{build_bom, verify_bom};
use crate::error::ModelscanError;
use crate::model::{Limits, Verdict};
use crate::render::{render_json, render_sarif, render_text};
use crate::scan::scan_paths;

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// Human-readable summary.
    #[default]
    Text,
    /// `{"files": [...]}` JSON.
    Json,
    /// SARIF 2.1.0.
    Sarif,
}

/// What `aistr modelscan` was asked to do.
#[derive(Debug, Clone)]
pub struct ModelscanOptions {
    /// Files or directories (recursive) to scan.
    pub paths: Vec<PathBuf>,
    /// Report format.
    pub format: OutputFormat,
    /// Write the report to this file instead of the writer.
    pub out: Option<PathBuf>,
    /// Also list info-level findings in text output.
    pub verbose: bool,
    /// Bounds.
    pub limits: Limits,
}

/// Scans, renders, writes; returns the worst verdict.
///
/// # Errors
/// An unreadable path or an unwritable output.
pub fn run_modelscan(args: &ModelscanOptions, out: &mut dyn Write) -> Result<Verdict, ModelscanError> {
    let scanned = scan_paths(&args.paths, &args.limits)?;
    let report = &scanned.report;
    let body = match args.format {
        OutputFormat::Text => render_text(report, args.verbose),
        OutputFormat::Json => render_json(report)?,
        OutputFormat::Sarif => render_sarif(report)?,
    };
    match &args.out {
        Some(p) => {
            std::fs::write(p, body).map_err(|e| ModelscanError::Io(p.clone(), e))?;
            writeln!(
                out,
                "{} files scanned, worst verdict {}; report written to {}",
                report.files.len(),
                report.worst().as_str(),
                p.display()
            )
            .map_err(ModelscanError::Write)?;
        }
        None => out.write_all(body.as_bytes()).map_err(ModelscanError::Write)?,
    }
    Ok(report.worst())
}

/// A BOM job.
#[derive(Debug, Clone)]
pub enum BomJob {
    /// Describe a file or directory; write the BOM to `out` (or the writer).
    Write {
        /// File or directory to describe.
        path: PathBuf,
        /// Where to write the BOM.
        out: Option<PathBuf>,
    },
    /// Check a BOM against the files it describes.
    Verify {
        /// The BOM written by `aistr bom`.
        bom: PathBuf,
        /// The file or directory it describes.
        path: PathBuf,
    },
}

/// How a BOM job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BomOutcome {
    /// The BOM was written.
    Written,
    /// Every file matches the BOM.
    Verified,
    /// Some hash differs or a file is missing or extra (the problems were written out).
    Mismatch,
}

/// Writes or verifies a BOM.
///
/// # Errors
/// An unreadable path or BOM, or an unwritable output.
pub fn run_bom(job: &BomJob, limits: &Limits, out: &mut dyn Write) -> Result<BomOutcome, ModelscanError> {
    let (path, out_file) = match job {
        BomJob::Verify { bom, path } => {
            let text = std::fs::read_to_string(bom).map_err(|e| ModelscanError::Io(bom.clone(), e))?;
            let v: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| ModelscanError::Bom(bom.clone(), e.to_string()))?;
            let problems = verify_bom(&v, bom, path)?;
            for p in &problems {
                writeln!(out, "{p}").map_err(ModelscanError::Write)?;
            }
            if problems.is_empty() {
                writeln!(out, "BOM verified: every file matches").map_err(ModelscanError::Write)?;
                return Ok(BomOutcome::Verified);
            }
            writeln!(out, "BOM verification failed: {} problem(s)", problems.len())
                .map_err(ModelscanError::Write)?;
            return Ok(BomOutcome::Mismatch);
        }
        BomJob::Write { path, out } => (path, out),
    };
    let bom = build_bom(path, limits)?;
    let body = serde_json::to_string_pretty(&bom)? + "\n";
    match out_file {
        Some(p) => {
            std::fs::write(p, body).map_err(|e| ModelscanError::Io(p.clone(), e))?;
            let n = bom["components"].as_array().map_or(0, Vec::len);
            writeln!(
                out,
                "wrote CycloneDX 1.5 ML-BOM with {n} components to {}",
                p.display()
            )
            .map_err(ModelscanError::Write)?;
        }
        None => out.write_all(body.as_bytes()).map_err(ModelscanError::Write)?,
    }
    Ok(BomOutcome::Written)
}
