//! Sentence embeddings on the CPU, offline. The judge, similarity and de-duplication features need
//! a fixed-size vector per text; this crate turns any BERT-family encoder stored as
//! `config.json` + `model.safetensors` + `tokenizer.json` into one, with candle and no model hub.
//!
//! The defaults reproduce the sentence-transformers recipe of all-MiniLM-L6-v2 exactly (mean
//! pooling over the attention mask, L2 normalisation, truncation at 256 tokens,
//! `token_type_ids = 0`), because classifier heads trained on that model's embeddings (ours and
//! jailguard's) only work on vectors made the same way.

mod embedder;
mod paths;

pub use embedder::{EmbedOptions, Embedder, ModelFiles, Pooling, cosine};
pub use paths::{MINILM_DIR, default_minilm_dir};

/// Why an embedder could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// A model file is missing or unreadable.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// `config.json` is not a BERT configuration.
    #[error("bad model config {path}: {message}")]
    Config {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The tokenizer file could not be loaded or applied.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// candle failed (bad tensor names or shapes in the weights, or a numerical error).
    #[error("model: {0}")]
    Model(#[from] candle_core::Error),
}
