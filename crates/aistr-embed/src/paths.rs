//! Where the default embedding model is installed (`scripts/install-models.sh` puts it there).
//! Kept apart so callers can say which path they looked at without loading anything.

use std::ffi::OsString;
use std::path::PathBuf;

/// Directory name of all-MiniLM-L6-v2 inside the models directory.
pub const MINILM_DIR: &str = "all-MiniLM-L6-v2";

/// `$AISTR_MODELS_DIR/all-MiniLM-L6-v2` when the variable is set and non-empty, else
/// `./models/all-MiniLM-L6-v2`.
#[must_use]
pub fn default_minilm_dir() -> PathBuf {
    dir_from(std::env::var_os("AISTR_MODELS_DIR"))
}

fn dir_from(models: Option<OsString>) -> PathBuf {
    match models {
        Some(d) if !d.is_empty() => PathBuf::from(d).join(MINILM_DIR),
        _ => PathBuf::from("models").join(MINILM_DIR),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_dir_or_relative_models() {
        assert_eq!(dir_from(None), PathBuf::from("models/all-MiniLM-L6-v2"));
        assert_eq!(
            dir_from(Some("".into())),
            PathBuf::from("models/all-MiniLM-L6-v2")
        );
        assert_eq!(
            dir_from(Some("/opt/m".into())),
            PathBuf::from("/opt/m/all-MiniLM-L6-v2")
        );
    }
}
