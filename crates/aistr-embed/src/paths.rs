//! Where the default embedding model is installed (`aistr models install` puts it there).
//! Kept apart so callers can say which path they looked at without loading anything.

use std::path::PathBuf;

/// Directory name of all-MiniLM-L6-v2 inside the models directory.
pub const MINILM_DIR: &str = "all-MiniLM-L6-v2";

/// `<models dir>/all-MiniLM-L6-v2`, where the models directory is
/// [`aistr_core::models_dir::default_models_dir`]: `$AISTR_MODELS_DIR` if set, else the per-user
/// data directory (`$XDG_DATA_HOME/aistr/models` or `~/.local/share/aistr/models`).
#[must_use]
pub fn default_minilm_dir() -> PathBuf {
    aistr_core::models_dir::default_models_dir().join(MINILM_DIR)
}
