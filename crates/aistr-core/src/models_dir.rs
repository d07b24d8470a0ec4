//! Where the offline models live: one rule for every crate that loads or installs one.
//!
//! A scan must judge the same way whatever directory it is started from, so the default is a
//! per-user data directory (XDG base-directory conventions), never a path relative to the
//! working directory: `$AISTR_MODELS_DIR` if set, else `$XDG_DATA_HOME/aistr/models`, else
//! `$HOME/.local/share/aistr/models`. The rule is a pure function of those three variables
//! ([`models_dir_from`]); [`default_models_dir`] reads them (it touches no file).

use std::ffi::OsString;
use std::path::PathBuf;

/// Environment variable that overrides the models directory.
pub const ENV_MODELS_DIR: &str = "AISTR_MODELS_DIR";

/// Where `aistr models install` puts the models and every loader looks for them by default.
#[must_use]
pub fn default_models_dir() -> PathBuf {
    models_dir_from(
        std::env::var_os(ENV_MODELS_DIR),
        std::env::var_os("XDG_DATA_HOME"),
        std::env::var_os("HOME"),
    )
}

/// The lookup rule of [`default_models_dir`] with the environment passed in. Empty values count
/// as unset, and so does a relative `XDG_DATA_HOME` (the XDG specification says to ignore it).
/// With neither `XDG_DATA_HOME` nor `HOME` usable, the last resort is `./models`.
#[must_use]
pub fn models_dir_from(
    models_dir: Option<OsString>,
    xdg_data_home: Option<OsString>,
    home: Option<OsString>,
) -> PathBuf {
    let set = |v: Option<OsString>| v.filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = set(models_dir) {
        return dir;
    }
    if let Some(data) = set(xdg_data_home).filter(|p| p.is_absolute()) {
        return data.join("aistr").join("models");
    }
    match set(home) {
        Some(home) => home.join(".local/share/aistr/models"),
        None => PathBuf::from("models"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> Option<OsString> {
        Some(OsString::from(s))
    }

    #[test]
    fn override_then_xdg_then_home() {
        assert_eq!(models_dir_from(os("/m"), os("/x"), os("/h")), PathBuf::from("/m"));
        assert_eq!(
            models_dir_from(None, os("/x"), os("/h")),
            PathBuf::from("/x/aistr/models")
        );
        assert_eq!(
            models_dir_from(os(""), None, os("/h")),
            PathBuf::from("/h/.local/share/aistr/models")
        );
    }

    #[test]
    fn relative_or_empty_xdg_is_ignored() {
        assert_eq!(
            models_dir_from(None, os("rel/data"), os("/h")),
            PathBuf::from("/h/.local/share/aistr/models")
        );
        assert_eq!(
            models_dir_from(None, os(""), os("/h")),
            PathBuf::from("/h/.local/share/aistr/models")
        );
        assert_eq!(models_dir_from(None, None, None), PathBuf::from("models"));
    }
}
