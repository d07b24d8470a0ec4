//! Probe sets: the base requests every scan starts from. Built-in sets are embedded in the binary
//! (so a scan works offline) and registered under stable ids with their licence; users can add their
//! own JSONL files in the same format. Errors name the file and line, because a dataset is where
//! most user mistakes happen.

mod registry;
mod taxonomy;

pub use registry::{BuiltinDataset, builtin, lookup_builtin};
pub use taxonomy::{Category, Taxonomy, taxonomy};

use aistr_core::{Intent, Probe};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::path::Path;

/// A loaded probe set.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Registry id, or the file path for a user set.
    pub id: String,
    /// sha256 of the exact bytes the probes were parsed from.
    pub sha256: String,
    /// Probes in file order.
    pub probes: Vec<Probe>,
}

/// Errors loading a dataset.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// Neither a registered id nor a readable file.
    #[error("unknown dataset `{0}`: not a built-in id (see `aistr list datasets`) and no such file")]
    Unknown(String),
    /// The file could not be read.
    #[error("cannot read dataset {path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// A row is malformed.
    #[error("{path}:{line}: {problem}")]
    Row {
        /// File or dataset id.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        problem: String,
    },
    /// The set has no rows.
    #[error("{0}: dataset has no rows")]
    Empty(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    id: Option<serde_json::Value>,
    prompt: String,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    upstream_category: Option<String>,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    license: Option<String>,
    #[serde(default)]
    intent: Option<Intent>,
}

/// Parses JSONL probe rows. `name` is used in error messages and as the dataset id.
/// Every row needs a `prompt`; `category` must be a taxonomy id when present.
pub fn parse_jsonl(name: &str, text: &str) -> Result<Dataset, DatasetError> {
    let tax = taxonomy();
    let mut probes = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        let line_no = idx + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("//") {
            continue;
        }
        let row_err = |problem: String| DatasetError::Row {
            path: name.to_owned(),
            line: line_no,
            problem,
        };
        let row: Row =
            serde_json::from_str(trimmed).map_err(|e| row_err(format!("invalid probe row: {e}")))?;
        if row.prompt.trim().is_empty() {
            return Err(row_err("`prompt` is empty".into()));
        }
        let category = row.category.unwrap_or_else(|| "uncategorised".into());
        if tax.get(&category).is_none() {
            return Err(row_err(format!(
                "unknown category `{category}` (known: {})",
                tax.categories
                    .iter()
                    .map(|c| c.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let local_id = match row.id {
            Some(serde_json::Value::String(s)) => s,
            Some(serde_json::Value::Number(n)) => n.to_string(),
            Some(other) => return Err(row_err(format!("`id` must be a string or number, got {other}"))),
            None => line_no.to_string(),
        };
        let _ = row.upstream_category;
        probes.push(Probe {
            id: format!("{name}/{local_id}"),
            dataset: name.to_owned(),
            prompt: row.prompt,
            category,
            language: row.language.unwrap_or_else(|| "en".into()),
            source: row.source.unwrap_or_else(|| "user".into()),
            license: row.license.unwrap_or_else(|| "unknown".into()),
            intent: row.intent.unwrap_or(Intent::Harmful),
        });
    }
    if probes.is_empty() {
        return Err(DatasetError::Empty(name.to_owned()));
    }
    let mut seen = std::collections::HashSet::new();
    for p in &probes {
        if !seen.insert(p.id.as_str()) {
            return Err(DatasetError::Row {
                path: name.to_owned(),
                line: 0,
                problem: format!("duplicate id `{}`", p.id),
            });
        }
    }
    Ok(Dataset {
        id: name.to_owned(),
        sha256: sha256_hex(text.as_bytes()),
        probes,
    })
}

/// Loads a built-in set by id, or a JSONL file by path.
pub fn load(id_or_path: &str) -> Result<Dataset, DatasetError> {
    if let Some(b) = lookup_builtin(id_or_path) {
        return parse_jsonl(b.id, b.jsonl);
    }
    let path = Path::new(id_or_path);
    if !path.exists() {
        return Err(DatasetError::Unknown(id_or_path.to_owned()));
    }
    let text = std::fs::read_to_string(path).map_err(|source| DatasetError::Io {
        path: id_or_path.to_owned(),
        source,
    })?;
    parse_jsonl(id_or_path, &text)
}

/// A seeded random sample of at most `limit` probes, returned in dataset order. The same seed always
/// picks the same probes.
#[must_use]
pub fn sample(probes: &[Probe], limit: Option<usize>, seed: u64) -> Vec<Probe> {
    let Some(limit) = limit.filter(|&l| l < probes.len()) else {
        return probes.to_vec();
    };
    let mut idx: Vec<usize> = (0..probes.len()).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    idx.shuffle(&mut rng);
    idx.truncate(limit);
    idx.sort_unstable();
    idx.into_iter().map(|i| probes[i].clone()).collect()
}

/// Lower-case hex sha256.
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse_with_expected_sizes_and_tags() {
        let expected = [
            ("jbb-harmful", 100, Intent::Harmful, "en"),
            ("jbb-benign", 100, Intent::Benign, "en"),
            ("jade-zh", 150, Intent::Harmful, "zh"),
        ];
        for (id, n, intent, lang) in expected {
            let d = load(id).unwrap();
            assert_eq!(d.probes.len(), n, "{id}");
            assert!(
                d.probes
                    .iter()
                    .all(|p| p.intent == intent && p.language == lang && p.license == "MIT"),
                "{id}"
            );
            assert!(
                d.probes.iter().all(|p| p.category != "uncategorised"),
                "{id}: unmapped category"
            );
            assert_eq!(d.sha256.len(), 64);
        }
    }

    #[test]
    fn malformed_row_names_file_and_line() {
        let text = "{\"prompt\": \"ok\"}\n\n{\"prompt\": 3}\n";
        let err = parse_jsonl("mine.jsonl", text).unwrap_err().to_string();
        assert!(err.starts_with("mine.jsonl:3: invalid probe row"), "{err}");
        let err = parse_jsonl("x.jsonl", "{\"prompt\": \"a\", \"category\": \"nope\"}")
            .unwrap_err()
            .to_string();
        assert!(err.contains("x.jsonl:1: unknown category `nope`"), "{err}");
        let err = parse_jsonl("x.jsonl", "{\"prompt\": \"a\", \"colour\": 1}")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `colour`"), "{err}");
        assert!(matches!(
            parse_jsonl("e.jsonl", "\n"),
            Err(DatasetError::Empty(_))
        ));
    }

    #[test]
    fn file_dataset_loads_and_unknown_id_is_clear() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("set.jsonl");
        std::fs::write(
            &p,
            "{\"id\": \"a\", \"prompt\": \"hello\", \"intent\": \"benign\"}\n",
        )
        .unwrap();
        let d = load(p.to_str().unwrap()).unwrap();
        assert_eq!(d.probes[0].intent, Intent::Benign);
        assert!(
            load("no-such-set")
                .unwrap_err()
                .to_string()
                .contains("unknown dataset `no-such-set`")
        );
    }

    #[test]
    fn sampling_is_seeded_and_ordered() {
        let d = load("jbb-harmful").unwrap();
        let a = sample(&d.probes, Some(10), 7);
        let b = sample(&d.probes, Some(10), 7);
        let c = sample(&d.probes, Some(10), 8);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 10);
        let ids: Vec<usize> = a
            .iter()
            .map(|p| p.id.rsplit('/').next().unwrap().parse().unwrap())
            .collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(sample(&d.probes, None, 1).len(), 100);
    }
}
