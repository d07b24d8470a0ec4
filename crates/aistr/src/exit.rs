//! The exit codes of every `aistr` command, in one table. They are a contract with scripts and CI
//! pipelines, listed in `docs/cli.md`. A code means one thing per command; where two commands
//! share a number, it is the same kind of outcome ("a check you asked for failed", "the result
//! needs your attention"):
//!
//! | code | `scan`, `report`, `compare` | `modelscan` | `bom` | other commands |
//! |---|---|---|---|---|
//! | 0 [`OK`] | ran, report written, gates passed | every file clean | BOM written / verified | ok |
//! | 1 [`FAILURE`] | aistr failed (journal, IO) | error | error | error |
//! | 2 [`USAGE`] | bad usage, config or dataset; nothing sent | usage | usage | usage |
//! | 3 | [`THRESHOLD_CROSSED`]: `--fail-on` / `--fail-on-regression` | – | [`BOM_MISMATCH`] | – |
//! | 4 | [`NOTHING_SCORED`] (`scan`) | [`FINDINGS`]: malicious or suspicious file (`mcp scan`: a poisoning pattern) | – | – |
//! | 5 | – | [`INCONCLUSIVE`]: some file inconclusive, none worse | – | – |
//! | 130 [`INTERRUPTED`] | interrupted (`scan`); resume with `--resume` | – | – | – |

use aistr_modelscan::{BomOutcome, Verdict};
use std::fmt;

/// Everything ran (and, for a scan, the report was written and the gates passed).
pub const OK: u8 = 0;
/// aistr itself failed (journal, IO, target could not be reached at all).
pub const FAILURE: u8 = 1;
/// Bad usage, configuration or dataset: nothing was sent.
pub const USAGE: u8 = 2;
/// A `--fail-on` threshold was crossed (or `compare --fail-on-regression` found a regression).
pub const THRESHOLD_CROSSED: u8 = 3;
/// `bom verify`: a hash differs, or a file is missing or extra.
pub const BOM_MISMATCH: u8 = 3;
/// The scan finished but not a single answer could be scored.
pub const NOTHING_SCORED: u8 = 4;
/// `modelscan`: at least one file is malicious or suspicious.
pub const FINDINGS: u8 = 4;
/// `modelscan`: some file is inconclusive, none malicious or suspicious.
pub const INCONCLUSIVE: u8 = 5;
/// Interrupted by a signal; the run can be resumed.
pub const INTERRUPTED: u8 = 130;

/// The exit code of a model scan's worst verdict.
pub fn for_model_verdict(v: Verdict) -> u8 {
    match v {
        Verdict::Clean => OK,
        Verdict::Inconclusive => INCONCLUSIVE,
        Verdict::Suspicious | Verdict::Malicious => FINDINGS,
    }
}

/// The exit code of a BOM job.
pub fn for_bom(outcome: BomOutcome) -> u8 {
    match outcome {
        BomOutcome::Written | BomOutcome::Verified => OK,
        BomOutcome::Mismatch => BOM_MISMATCH,
    }
}

/// An error with the exit code it maps to.
#[derive(Debug)]
pub struct CliError {
    /// Exit code.
    pub code: u8,
    /// What to tell the user.
    pub error: anyhow::Error,
}

impl CliError {
    /// A usage/config error (exit 2).
    pub fn usage(error: impl Into<anyhow::Error>) -> Self {
        Self {
            code: USAGE,
            error: error.into(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

impl From<anyhow::Error> for CliError {
    fn from(error: anyhow::Error) -> Self {
        Self { code: FAILURE, error }
    }
}

impl From<aistr_session::SessionError> for CliError {
    fn from(e: aistr_session::SessionError) -> Self {
        Self {
            code: if e.is_usage() { USAGE } else { FAILURE },
            error: e.into(),
        }
    }
}

/// Result type for commands: an exit code or an error that carries one.
pub type CmdResult = Result<u8, CliError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modelscan_outcomes_keep_their_codes() {
        assert_eq!(for_model_verdict(Verdict::Clean), 0);
        assert_eq!(for_model_verdict(Verdict::Malicious), 4);
        assert_eq!(for_model_verdict(Verdict::Suspicious), 4);
        assert_eq!(for_model_verdict(Verdict::Inconclusive), 5);
        assert_eq!(for_bom(BomOutcome::Written), 0);
        assert_eq!(for_bom(BomOutcome::Verified), 0);
        assert_eq!(for_bom(BomOutcome::Mismatch), 3);
    }
}
