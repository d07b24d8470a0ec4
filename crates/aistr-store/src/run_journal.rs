//! The journal as the engine and the scan session see it: a trait, so a run can be kept in SQLite
//! (the [`Journal`](crate::Journal)) or in another database later (a server's PostgreSQL) without
//! the engine, the session or any front end changing. Every implementation keeps the journal's
//! promises: attempts are planned before anything is sent, a result is recorded at most once, a
//! turn is recorded at most once, and reads return plan order.

use crate::StoreError;
use aistr_core::{AttemptRecord, AttemptResult, NewRun, PlannedAttempt, RunRecord, Turn};
use std::sync::Arc;

/// Where runs are journaled.
#[async_trait::async_trait]
pub trait RunJournal: Send + Sync {
    /// Creates a run and all its planned attempts atomically; [`StoreError::RunExists`] when the id
    /// is taken.
    async fn create_run(&self, run: &NewRun, attempts: &[PlannedAttempt]) -> Result<(), StoreError>;
    /// The run with this id ([`StoreError::NoSuchRun`] otherwise).
    async fn run(&self, id: &str) -> Result<RunRecord, StoreError>;
    /// Sets a run's status (`running`, `finished`, `interrupted`).
    async fn set_status(&self, id: &str, status: &str) -> Result<(), StoreError>;
    /// Records results atomically; a result for an attempt already done is ignored. Returns how
    /// many were newly recorded.
    async fn record(&self, run_id: &str, results: &[AttemptResult]) -> Result<u64, StoreError>;
    /// Records one conversation turn, durably when it returns; false when it was already recorded.
    async fn record_turn(&self, run_id: &str, seq: i64, turn: &Turn) -> Result<bool, StoreError>;
    /// The recorded turns of one conversation, in call order.
    async fn turns(&self, run_id: &str, seq: i64) -> Result<Vec<Turn>, StoreError>;
    /// Attempts still waiting for a result, in plan order.
    async fn pending(&self, run_id: &str) -> Result<Vec<PlannedAttempt>, StoreError>;
    /// Every attempt with its result, in plan order.
    async fn attempts(&self, run_id: &str) -> Result<Vec<AttemptRecord>, StoreError>;
    /// Stores a run-level result (JSON) under `name`, durably when it returns; false when one is
    /// already recorded under that name (it is never overwritten).
    async fn record_run_result(&self, run_id: &str, name: &str, json: &str) -> Result<bool, StoreError>;
    /// The run-level result stored under `name`, if any.
    async fn run_result(&self, run_id: &str, name: &str) -> Result<Option<String>, StoreError>;
}

#[async_trait::async_trait]
impl RunJournal for crate::Journal {
    async fn create_run(&self, run: &NewRun, attempts: &[PlannedAttempt]) -> Result<(), StoreError> {
        crate::Journal::create_run(self, run, attempts).await
    }
    async fn run(&self, id: &str) -> Result<RunRecord, StoreError> {
        crate::Journal::run(self, id).await
    }
    async fn set_status(&self, id: &str, status: &str) -> Result<(), StoreError> {
        crate::Journal::set_status(self, id, status).await
    }
    async fn record(&self, run_id: &str, results: &[AttemptResult]) -> Result<u64, StoreError> {
        crate::Journal::record(self, run_id, results).await
    }
    async fn record_turn(&self, run_id: &str, seq: i64, turn: &Turn) -> Result<bool, StoreError> {
        crate::Journal::record_turn(self, run_id, seq, turn).await
    }
    async fn turns(&self, run_id: &str, seq: i64) -> Result<Vec<Turn>, StoreError> {
        crate::Journal::turns(self, run_id, seq).await
    }
    async fn pending(&self, run_id: &str) -> Result<Vec<PlannedAttempt>, StoreError> {
        crate::Journal::pending(self, run_id).await
    }
    async fn attempts(&self, run_id: &str) -> Result<Vec<AttemptRecord>, StoreError> {
        crate::Journal::attempts(self, run_id).await
    }
    async fn record_run_result(&self, run_id: &str, name: &str, json: &str) -> Result<bool, StoreError> {
        crate::Journal::record_run_result(self, run_id, name, json).await
    }
    async fn run_result(&self, run_id: &str, name: &str) -> Result<Option<String>, StoreError> {
        crate::Journal::run_result(self, run_id, name).await
    }
}

/// A shared journal is a journal (the engine hands one to its writer task and to L3 sessions).
#[async_trait::async_trait]
impl<J: RunJournal + ?Sized> RunJournal for Arc<J> {
    async fn create_run(&self, run: &NewRun, attempts: &[PlannedAttempt]) -> Result<(), StoreError> {
        (**self).create_run(run, attempts).await
    }
    async fn run(&self, id: &str) -> Result<RunRecord, StoreError> {
        (**self).run(id).await
    }
    async fn set_status(&self, id: &str, status: &str) -> Result<(), StoreError> {
        (**self).set_status(id, status).await
    }
    async fn record(&self, run_id: &str, results: &[AttemptResult]) -> Result<u64, StoreError> {
        (**self).record(run_id, results).await
    }
    async fn record_turn(&self, run_id: &str, seq: i64, turn: &Turn) -> Result<bool, StoreError> {
        (**self).record_turn(run_id, seq, turn).await
    }
    async fn turns(&self, run_id: &str, seq: i64) -> Result<Vec<Turn>, StoreError> {
        (**self).turns(run_id, seq).await
    }
    async fn pending(&self, run_id: &str) -> Result<Vec<PlannedAttempt>, StoreError> {
        (**self).pending(run_id).await
    }
    async fn attempts(&self, run_id: &str) -> Result<Vec<AttemptRecord>, StoreError> {
        (**self).attempts(run_id).await
    }
    async fn record_run_result(&self, run_id: &str, name: &str, json: &str) -> Result<bool, StoreError> {
        (**self).record_run_result(run_id, name, json).await
    }
    async fn run_result(&self, run_id: &str, name: &str) -> Result<Option<String>, StoreError> {
        (**self).run_result(run_id, name).await
    }
}
