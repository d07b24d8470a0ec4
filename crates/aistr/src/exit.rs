//! Exit codes are a contract with scripts and CI pipelines; they are listed in `docs/cli.md`.

use std::fmt;

/// Everything ran and the report was written.
pub const OK: u8 = 0;
/// aistr itself failed (journal, IO, target could not be built).
pub const FAILURE: u8 = 1;
/// Bad usage, configuration or dataset: nothing was sent.
pub const USAGE: u8 = 2;
/// A `--fail-on` threshold was crossed (or `compare --fail-on-regression` found a regression).
pub const THRESHOLD_CROSSED: u8 = 3;
/// The run finished but not a single answer could be scored.
pub const NOTHING_SCORED: u8 = 4;
/// Interrupted by a signal; the run can be resumed.
pub const INTERRUPTED: u8 = 130;

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
