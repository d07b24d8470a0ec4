//! The scan engine: plan → execute → judge → journal. Planning is pure (the same inputs give the same
//! attempts, byte for byte). Execution keeps as many requests in flight as the target allows,
//! judges each answer as it arrives, and hands results to a single journal writer that commits them
//! in batches; an attempt counts only once its result is committed.

mod execute;
mod plan;

pub use aistr_attacker::L3Settings;
pub use execute::{
    ExecuteError, ExecutionSummary, L3Runtime, ProgressFn, execute, execute_with, judge_answer,
};
pub use plan::{PlanError, ScanSettings, plan};
