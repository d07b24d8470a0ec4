//! One module per command.

pub mod list;
pub mod modelscan;
pub mod scan;
