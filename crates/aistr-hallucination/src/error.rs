//! Why a corpus, a dataset or a user file could not be used.

use std::path::PathBuf;

/// Errors of this crate. Messages name the file and line where there is one.
#[derive(Debug, thiserror::Error)]
pub enum HalluError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A line of a data file is malformed.
    #[error("{}:{line}: {message}", path.display())]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The Chinese converter could not be set up.
    #[error("chinese conversion: {0}")]
    Normalizer(String),
    /// A scorer's model failed.
    #[error("model: {0}")]
    Model(String),
    /// A request is impossible as stated (an empty probe set, k = 0, …).
    #[error("{0}")]
    Invalid(String),
}
