//! One module per command.

pub mod list;
pub mod scan;
