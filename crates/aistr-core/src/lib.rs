//! The vocabulary every aistr crate speaks: chat messages, probes, attack metadata, verdicts and the
//! statistics reports are built from. This crate does no IO and has no async: it is what the
//! rest of the workspace can agree on without agreeing on a runtime, a database or a network stack.
//! (The one exception to "no IO" is [`models_dir::default_models_dir`], which reads three
//! environment variables so every crate finds the installed models by the same rule.)

pub mod attack;
pub mod conversation;
pub mod message;
pub mod metrics;
pub mod models_dir;
pub mod probe;
pub mod records;
pub mod seed;
pub mod verdict;

pub use attack::{AttackSpec, Capability, Level};
pub use conversation::{ConversationSummary, Turn, TurnRole};
pub use message::{ChatRequest, ChatResponse, Message, Role, ToolCall, ToolSpec, Usage};
pub use probe::{Intent, Probe};
pub use records::{AttemptRecord, AttemptResult, NewRun, PlannedAttempt, RunRecord};
pub use verdict::{Label, StageRecord, Verdict, VerdictSource};
