//! One module per command.

pub mod compare;
pub mod guard;
pub mod judge;
pub mod judge_hallucination;
pub mod list;
pub mod mcp;
pub mod models;
pub mod modelscan;
pub mod report;
pub mod review;
pub mod scan;
pub mod serve;
pub mod worker;
