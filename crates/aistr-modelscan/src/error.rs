//! Errors the public API returns. Problems *inside* a scanned file are never errors: they are
//! findings with an inconclusive verdict. Errors are for the scanner's own inputs and outputs.

use std::path::PathBuf;

/// What can stop a scan or BOM operation as a whole.
#[derive(Debug, thiserror::Error)]
pub enum ModelscanError {
    /// A path given on the command line could not be read or listed.
    #[error("cannot read {0}: {1}")]
    Io(PathBuf, #[source] std::io::Error),
    /// Writing the report failed.
    #[error("cannot write output: {0}")]
    Write(#[source] std::io::Error),
    /// The BOM file is not valid CycloneDX JSON as we write it.
    #[error("invalid BOM {0}: {1}")]
    Bom(PathBuf, String),
    /// Serialisation failed (should not happen).
    #[error("serialisation failed: {0}")]
    Json(#[from] serde_json::Error),
}
