//! Command-line surface for `aistr modelscan` and `aistr bom`, as clap `Args` the binary mounts,
//! plus the run functions. Output goes to the `Write` handed in (or `--out`), so it is testable.
//!
//! Exit codes (see [`ExitStatusCode`]): 0 everything clean / BOM verified, 1 error, 2 usage
//! (clap), 3 BOM verification failed, 4 malicious or suspicious file found, 5 inconclusive
//! files present but nothing malicious or suspicious.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};

use crate::bom::{build_bom, verify_bom};
use crate::error::ModelscanError;
use crate::model::{Limits, Verdict};
use crate::render::{render_json, render_sarif, render_text};
use crate::scan::scan_paths;

/// Process exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatusCode {
    /// All files clean, or BOM written / verified.
    Clean = 0,
    /// The scan itself failed (unreadable path, unwritable output).
    Error = 1,
    /// Bad command line (clap exits with this code itself).
    Usage = 2,
    /// `bom verify`: a hash differs or a file is missing or extra.
    VerifyFailed = 3,
    /// At least one file is malicious or suspicious.
    Findings = 4,
    /// Some file is inconclusive, none malicious or suspicious.
    Inconclusive = 5,
}

impl ExitStatusCode {
    /// The numeric process exit code.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The exit code for a scan's worst verdict.
    pub fn for_verdict(v: Verdict) -> Self {
        match v {
            Verdict::Clean => ExitStatusCode::Clean,
            Verdict::Inconclusive => ExitStatusCode::Inconclusive,
            Verdict::Suspicious | Verdict::Malicious => ExitStatusCode::Findings,
        }
    }
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    /// Human-readable summary.
    #[default]
    Text,
    /// `{"files": [...]}` JSON.
    Json,
    /// SARIF 2.1.0.
    Sarif,
}

/// Scanner bounds exposed as flags (defaults match [`Limits::default`]).
#[derive(Debug, Clone, Args, PartialEq, Eq)]
pub struct LimitArgs {
    /// Pickle opcodes walked per pickle stream.
    #[arg(long, default_value_t = Limits::default().max_opcodes)]
    pub max_opcodes: u64,
    /// Archive nesting depth.
    #[arg(long, default_value_t = Limits::default().max_depth)]
    pub max_depth: usize,
    /// Total decompressed bytes per top-level file.
    #[arg(long, default_value_t = Limits::default().max_decompressed)]
    pub max_decompressed: u64,
    /// Decompression ratio treated as a zip bomb.
    #[arg(long, default_value_t = Limits::default().max_ratio)]
    pub max_ratio: u64,
    /// Bytes buffered to open a nested archive.
    #[arg(long, default_value_t = Limits::default().max_nested_bytes)]
    pub max_nested_bytes: u64,
    /// Header bytes (safetensors/GGUF).
    #[arg(long, default_value_t = Limits::default().max_header_bytes)]
    pub max_header_bytes: u64,
    /// Wall-clock seconds per top-level file.
    #[arg(long, default_value_t = Limits::default().max_time.as_secs())]
    pub max_time_secs: u64,
}

impl Default for LimitArgs {
    fn default() -> Self {
        let l = Limits::default();
        LimitArgs {
            max_opcodes: l.max_opcodes,
            max_depth: l.max_depth,
            max_decompressed: l.max_decompressed,
            max_ratio: l.max_ratio,
            max_nested_bytes: l.max_nested_bytes,
            max_header_bytes: l.max_header_bytes,
            max_time_secs: l.max_time.as_secs(),
        }
    }
}

impl LimitArgs {
    /// The limits these flags describe.
    pub fn to_limits(&self) -> Limits {
        Limits {
            max_opcodes: self.max_opcodes,
            max_depth: self.max_depth,
            max_decompressed: self.max_decompressed,
            max_ratio: self.max_ratio,
            max_nested_bytes: self.max_nested_bytes,
            max_header_bytes: self.max_header_bytes,
            max_time: Duration::from_secs(self.max_time_secs),
            ..Limits::default()
        }
    }
}

/// `aistr modelscan PATH...`
#[derive(Debug, Clone, Args)]
pub struct ModelscanArgs {
    /// Files or directories (recursive) to scan.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Write the report to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also list info-level findings in text output.
    #[arg(long, short)]
    pub verbose: bool,
    /// Bounds.
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Scans, renders, writes; returns the exit code for the worst verdict.
pub fn run_modelscan(args: &ModelscanArgs, out: &mut dyn Write) -> Result<ExitStatusCode, ModelscanError> {
    let limits = args.limits.to_limits();
    let scanned = scan_paths(&args.paths, &limits)?;
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
    Ok(ExitStatusCode::for_verdict(report.worst()))
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
    /// Bounds for the scans recorded in the BOM.
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

/// Writes or verifies a BOM.
pub fn run_bom(args: &BomArgs, out: &mut dyn Write) -> Result<ExitStatusCode, ModelscanError> {
    if let Some(BomCommand::Verify { bom, path }) = &args.command {
        let text = std::fs::read_to_string(bom).map_err(|e| ModelscanError::Io(bom.clone(), e))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| ModelscanError::Bom(bom.clone(), e.to_string()))?;
        let problems = verify_bom(&v, bom, path)?;
        for p in &problems {
            writeln!(out, "{p}").map_err(ModelscanError::Write)?;
        }
        if problems.is_empty() {
            writeln!(out, "BOM verified: every file matches").map_err(ModelscanError::Write)?;
            return Ok(ExitStatusCode::Clean);
        }
        writeln!(out, "BOM verification failed: {} problem(s)", problems.len())
            .map_err(ModelscanError::Write)?;
        return Ok(ExitStatusCode::VerifyFailed);
    }
    let Some(path) = &args.path else {
        writeln!(
            out,
            "usage: aistr bom PATH [--out bom.json] | aistr bom verify BOM PATH"
        )
        .map_err(ModelscanError::Write)?;
        return Ok(ExitStatusCode::Usage);
    };
    let bom = build_bom(path, &args.limits.to_limits())?;
    let body = serde_json::to_string_pretty(&bom)? + "\n";
    match &args.out {
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
    Ok(ExitStatusCode::Clean)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Scan {
        #[command(flatten)]
        a: ModelscanArgs,
    }

    #[derive(Parser)]
    struct Bom {
        #[command(flatten)]
        a: BomArgs,
    }

    #[test]
    fn parses_flags() {
        let s = Scan::try_parse_from([
            "x",
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
        assert_eq!(s.a.paths.len(), 2);
        assert_eq!(s.a.format, OutputFormat::Sarif);
        assert_eq!(s.a.limits.to_limits().max_depth, 2);
        assert!(Scan::try_parse_from(["x"]).is_err(), "a path is required");
        let b = Bom::try_parse_from(["x", "models", "--out", "bom.json"]).unwrap();
        assert_eq!(b.a.path.as_deref(), Some(std::path::Path::new("models")));
        let v = Bom::try_parse_from(["x", "verify", "bom.json", "models"]).unwrap();
        assert!(matches!(v.a.command, Some(BomCommand::Verify { .. })));
    }

    #[test]
    fn exit_codes() {
        assert_eq!(ExitStatusCode::for_verdict(Verdict::Clean).code(), 0);
        assert_eq!(ExitStatusCode::for_verdict(Verdict::Malicious).code(), 4);
        assert_eq!(ExitStatusCode::for_verdict(Verdict::Suspicious).code(), 4);
        assert_eq!(ExitStatusCode::for_verdict(Verdict::Inconclusive).code(), 5);
    }
}
