//! Client keys. `aistr guard keys add NAME --keys FILE` makes a key of 256 random bits, prints it
//! once and appends only its SHA-256 to the file. SHA-256 rather than a password hash (argon2): a
//! slow salted hash protects guessable secrets, and these are not guessable (2^256 candidates), so it
//! would only add tens of milliseconds and memory to every request; a fast hash of a random key
//! already makes the file useless to whoever reads it. Lookup hashes the presented key and finds
//! the hash in a map, so the comparison never touches a stored secret.
//!
//! The file is TOML, one `[[key]]` table per key (`name`, `sha256`), appended to, never rewritten.

use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

/// The prefix of every key (so a leaked one is recognisable in a scanner).
pub const KEY_PREFIX: &str = "aistr-gk-";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    name: String,
    sha256: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct KeysFile {
    #[serde(default)]
    key: Vec<KeyEntry>,
}

/// Why a keys file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Not a keys file.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// The problem.
        message: String,
    },
    /// A name that is taken or malformed.
    #[error("{0}")]
    Name(String),
}

/// The loaded keys: SHA-256 of the key → key name.
#[derive(Debug, Clone, Default)]
pub struct Keys {
    by_hash: HashMap<[u8; 32], String>,
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

impl Keys {
    /// Parses a keys file's text.
    pub fn parse(path: &str, text: &str) -> Result<Self, KeysError> {
        let file: KeysFile = toml::from_str(text).map_err(|e| {
            let at = e.span().map_or(0, |s| s.start).min(text.len());
            KeysError::Parse {
                path: path.to_owned(),
                line: text[..at].matches('\n').count() + 1,
                message: e.message().trim().to_owned(),
            }
        })?;
        let mut by_hash = HashMap::new();
        for (i, k) in file.key.iter().enumerate() {
            let bytes = hex::decode(&k.sha256)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok());
            let Some(h) = bytes else {
                return Err(KeysError::Parse {
                    path: path.to_owned(),
                    line: line_of_entry(text, i),
                    message: format!("key `{}`: sha256 must be 64 hex digits", k.name),
                });
            };
            by_hash.insert(h, k.name.clone());
        }
        Ok(Self { by_hash })
    }

    /// Reads a keys file (a missing file is an error: a guard with no keys admits no one).
    pub fn load(path: &Path) -> Result<Self, KeysError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeysError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&path.display().to_string(), &text)
    }

    /// The name of the key presented, if it is one of ours.
    #[must_use]
    pub fn check(&self, presented: &str) -> Option<&str> {
        self.by_hash.get(&digest(presented)).map(String::as_str)
    }

    /// How many keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// No keys.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    fn has_name(&self, name: &str) -> bool {
        self.by_hash.values().any(|n| n == name)
    }
}

fn line_of_entry(text: &str, index: usize) -> usize {
    text.match_indices("[[key]]")
        .nth(index)
        .map_or(1, |(at, _)| text[..at].matches('\n').count() + 1)
}

/// A fresh key: the prefix and 64 hex digits of the thread-local CSPRNG (ChaCha, seeded by the OS).
#[must_use]
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{KEY_PREFIX}{}", hex::encode(bytes))
}

/// Creates a key named `name`, appends its hash to `path` (created if missing) and returns the key.
pub fn add(path: &Path, name: &str) -> Result<String, KeysError> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(KeysError::Name(format!(
            "key name `{name}` must be letters, digits, `-`, `_` or `.`"
        )));
    }
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => Keys::parse(&path.display().to_string(), &text)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Keys::default(),
        Err(source) => {
            return Err(KeysError::Io {
                path: path.display().to_string(),
                source,
            });
        }
    };
    if existing.has_name(name) {
        return Err(KeysError::Name(format!(
            "{}: a key named `{name}` exists already",
            path.display()
        )));
    }
    let key = generate();
    let entry = format!(
        "\n[[key]]\nname = \"{name}\"\nsha256 = \"{}\"\n",
        hex::encode(digest(&key))
    );
    let io = |source| KeysError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io)?;
    file.write_all(entry.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_stores_only_the_hash_and_check_finds_it() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("keys.toml");
        let a = add(&path, "alice").expect("add");
        let b = add(&path, "bob").expect("add");
        assert!(a.starts_with(KEY_PREFIX) && a.len() == KEY_PREFIX.len() + 64);
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(!text.contains(&a[KEY_PREFIX.len()..]) && !text.contains(&b[KEY_PREFIX.len()..]));
        let keys = Keys::load(&path).expect("load");
        assert_eq!(keys.check(&a), Some("alice"));
        assert_eq!(keys.check(&b), Some("bob"));
        assert_eq!(keys.check("aistr-gk-00"), None);
        assert!(add(&path, "alice").is_err(), "duplicate name");
        assert!(add(&path, "bad name").is_err());
    }

    #[test]
    fn malformed_file_names_the_line() {
        let e = Keys::parse("k.toml", "[[key]]\nname = \"a\"\nsha256 = \"zz\"\n").expect_err("bad");
        assert!(e.to_string().starts_with("k.toml:1:"), "{e}");
        let e = Keys::parse("k.toml", "\n[[key]]\nnam = \"a\"\n").expect_err("bad");
        assert!(e.to_string().starts_with("k.toml:3:"), "{e}");
    }
}
