//! Tests that need something outside the repository (the installed models, chromium, xmllint,
//! PostgreSQL, whose throwaway cluster [`PgCluster`] lives here too):
//! where a developer may not have it, the test is skipped with a note; under CI (`CI` set), where
//! `.ci/run` installs everything, a missing dependency is a failure, so a broken install step can
//! never go green by skipping.
//!
//! A crate of its own (std and `aistr-core` only) because the IO-free crates use it as a
//! dev-dependency, and their dependency trees must stay free of tokio; `aistr-test-support`
//! re-exports it for everyone else.

use std::path::{Path, PathBuf};

#[cfg(unix)]
pub mod pg;
#[cfg(unix)]
pub use pg::PgCluster;

/// Whether the tests run under CI: `CI` is set to anything but empty, `0` or `false`.
#[must_use]
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false" | "FALSE" | "False"))
}

/// `Some(path)` when `path` exists. Otherwise: under CI, panics naming `what` and the path; else
/// prints a note and returns `None`, so the caller can return early.
///
/// # Panics
/// Under CI, when `path` does not exist.
pub fn require_or_skip(what: &str, path: impl AsRef<Path>) -> Option<PathBuf> {
    let path = path.as_ref();
    if path.exists() {
        return Some(path.to_path_buf());
    }
    missing(what, &path.display().to_string())
}

/// The first of `programs` found on `PATH`, as [`require_or_skip`] treats a path: a panic under
/// CI when none is found, a note and `None` otherwise.
///
/// # Panics
/// Under CI, when none of `programs` is on `PATH`.
pub fn require_program_or_skip(what: &str, programs: &[&str]) -> Option<PathBuf> {
    if let Some(found) = programs.iter().find_map(|p| find_program(p)) {
        return Some(found);
    }
    missing(what, &format!("{} on PATH", programs.join(" or ")))
}

fn missing(what: &str, looked_for: &str) -> Option<PathBuf> {
    if under_ci() {
        panic!(
            "{what} is required under CI but was not found ({looked_for}): .ci/run installs it, so \
             its install step is broken (models: `aistr models install`, or set AISTR_MODELS_DIR)"
        );
    }
    eprintln!("SKIPPED: {what} not found ({looked_for}); this test runs (and must pass) under CI");
    None
}

/// The first executable file named `program` in the directories of `PATH`.
#[must_use]
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

/// The directory the installed models are read from, by the product's own rule
/// ([`aistr_core::models_dir::default_models_dir`]: `AISTR_MODELS_DIR`, else the per-user data dir).
#[must_use]
pub fn models_dir() -> PathBuf {
    aistr_core::models_dir::default_models_dir()
}

/// An installed model file or directory (`rel` inside [`models_dir`]), as [`require_or_skip`]
/// treats a path.
///
/// # Panics
/// Under CI, when it is not installed.
pub fn require_model_or_skip(rel: &str) -> Option<PathBuf> {
    require_or_skip(&format!("the installed model `{rel}`"), models_dir().join(rel))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_program_that_is_always_there() {
        assert!(find_program("sh").is_some());
        assert!(find_program("surely-no-such-program-aistr").is_none());
    }

    #[test]
    fn an_existing_path_is_returned() {
        let here = env!("CARGO_MANIFEST_DIR");
        assert_eq!(require_or_skip("the crate dir", here), Some(PathBuf::from(here)));
    }

    #[test]
    fn a_missing_path_fails_under_ci_and_skips_otherwise() {
        // Run in a child process so the CI variable can be set without racing other tests.
        let exe = std::env::current_exe().expect("test binary");
        for (ci, must_fail) in [("true", true), ("", false)] {
            let out = std::process::Command::new(&exe)
                .args(["--exact", "tests::probe_missing", "--ignored", "--nocapture"])
                .env("CI", ci)
                .output()
                .expect("run the probe");
            let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
            assert_eq!(!out.status.success(), must_fail, "CI={ci:?}: {text}");
            let note = if must_fail {
                "is required under CI"
            } else {
                "SKIPPED:"
            };
            assert!(text.contains(note), "CI={ci:?}: {text}");
        }
    }

    #[test]
    #[ignore = "run by a_missing_path_fails_under_ci_and_skips_otherwise in a child process"]
    fn probe_missing() {
        assert!(require_or_skip("a thing", "/nonexistent/aistr/probe").is_none());
    }
}
