//! The journal is the source of truth of a run. Every planned attempt is written before anything is
//! sent, and each result is written exactly once, before it counts. Reports are computed from the
//! journal, and `--resume` re-runs only what the journal says is still planned, so a crash (even
//! SIGKILL) loses at most the answers that were in flight and never counts one twice.
//!
//! The journal lives in an SQLite file (the default) or in PostgreSQL (`--db postgres://…`, a
//! team's shared journal); both run the same statements and keep the same promises.

mod access;
mod journal;
mod queue;
mod run_journal;
#[cfg(test)]
mod testing;

pub use access::{AuditRecord, TokenRecord};
pub use aistr_core::{AttemptRecord, AttemptResult, NewRun, PlannedAttempt, RunRecord};
pub use journal::{Journal, is_postgres_url, postgres_dialect, redact_url};
pub use queue::{Lease, LeasedRun, now_ms};
pub use run_journal::RunJournal;

/// Journal failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or queried.
    #[error("journal {path}: {source}")]
    Db {
        /// Database file.
        path: String,
        /// Cause.
        source: sqlx::Error,
    },
    /// A run with this id already exists.
    #[error("run `{0}` already exists in the journal; pick another --run-id or use --resume {0}")]
    RunExists(String),
    /// No run with this id.
    #[error("no run `{0}` in the journal")]
    NoSuchRun(String),
    /// The journal was written by a newer aistr.
    #[error("journal {path} has schema version {found}; this aistr understands up to {supported}")]
    TooNew {
        /// Database file.
        path: String,
        /// Version in the file.
        found: i64,
        /// Newest version we know.
        supported: i64,
    },
    /// A stored JSON column did not parse.
    #[error("journal row is corrupt: {0}")]
    Corrupt(String),
}

/// Current time as RFC 3339 (UTC).
#[must_use]
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}
