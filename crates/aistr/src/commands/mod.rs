//! One module per command.

pub mod compare;
pub mod list;
pub mod modelscan;
pub mod report;
pub mod scan;
