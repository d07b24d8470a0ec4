//! One error type for everything the local model can get wrong, so callers (the async `Target`
//! wrapper, the CLI) can tell "not installed" apart from "broken file" and "bad request".

use std::path::PathBuf;

/// Why loading, running or re-quantizing the local model failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalModelError {
    /// The GGUF file is not there. Usually the models were never installed.
    #[error(
        "local model file {} not found: run `aistr models install` (or `scripts/install-models.sh`) \
         to install the offline models, or point AISTR_LOCAL_MODEL / AISTR_MODELS_DIR at them",
        path.display()
    )]
    ModelNotFound {
        /// The path that was tried.
        path: PathBuf,
    },
    /// Reading or writing a file failed.
    #[error("cannot access {}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is a GGUF (or claims to be) but lacks something this crate needs.
    #[error("{} is not a usable model: {reason}", path.display())]
    InvalidModel {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Building the tokenizer or tokenizing/decoding text failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// candle failed while reading tensors or running the network.
    #[error("inference: {0}")]
    Candle(#[from] candle_core::Error),
    /// The rendered conversation does not fit in the model's context window.
    #[error("prompt has {prompt_tokens} tokens but the context holds at most {limit}")]
    PromptTooLong {
        /// Tokens in the rendered prompt.
        prompt_tokens: usize,
        /// The usable context length.
        limit: usize,
    },
    /// The model's chat template failed on this conversation (its bounds, or `raise_exception`).
    #[error("{0}")]
    ChatTemplate(String),
    /// A request could not be served: the serving thread of a [`crate::BatchedModel`] is gone,
    /// or sequences were stepped in a way the architecture cannot run.
    #[error("local model: {0}")]
    Serving(String),
    /// The sampling temperature was negative, NaN or infinite.
    #[error("temperature must be a finite number >= 0, got {0}")]
    InvalidTemperature(f32),
}

impl LocalModelError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn invalid(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Self::InvalidModel {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
