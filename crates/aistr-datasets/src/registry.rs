//! The explicit table of built-in probe sets. Ids are stable and never reused.

/// A probe set compiled into the binary.
#[derive(Debug)]
pub struct BuiltinDataset {
    /// Stable id.
    pub id: &'static str,
    /// One line for `aistr list datasets`.
    pub description: &'static str,
    /// Languages of its rows.
    pub language: &'static str,
    /// SPDX licence of the data.
    pub license: &'static str,
    /// Upstream source.
    pub source: &'static str,
    /// The JSONL rows.
    pub jsonl: &'static str,
}

static BUILTIN: &[BuiltinDataset] = &[
    BuiltinDataset {
        id: "jbb-harmful",
        description: "JailbreakBench JBB-Behaviors: 100 harmful behaviours in 10 categories.",
        language: "en",
        license: "MIT",
        source: "JailbreakBench/JBB-Behaviors (Chao et al., NeurIPS 2024)",
        jsonl: include_str!("../data/jbb-harmful.jsonl"),
    },
    BuiltinDataset {
        id: "jbb-benign",
        description: "JailbreakBench JBB-Behaviors: 100 benign, topic-matched controls for over-refusal.",
        language: "en",
        license: "MIT",
        source: "JailbreakBench/JBB-Behaviors (Chao et al., NeurIPS 2024)",
        jsonl: include_str!("../data/jbb-benign.jsonl"),
    },
    BuiltinDataset {
        id: "jade-zh",
        description: "JADE-DB v1.0: 150 high-risk Chinese questions (crime, rights infringement, discrimination).",
        language: "zh",
        license: "MIT",
        source: "whitzard-ai/jade-db (Zhang et al., 2023)",
        jsonl: include_str!("../data/jade-zh.jsonl"),
    },
];

/// Every built-in set.
#[must_use]
pub fn builtin() -> &'static [BuiltinDataset] {
    BUILTIN
}

/// The built-in set with this id.
#[must_use]
pub fn lookup_builtin(id: &str) -> Option<&'static BuiltinDataset> {
    BUILTIN.iter().find(|d| d.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_contract() {
        let mut ids = std::collections::HashSet::new();
        for d in builtin() {
            assert!(ids.insert(d.id), "duplicate id {}", d.id);
            assert!(
                d.id.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{}",
                d.id
            );
            assert!(d.description.ends_with('.'));
            assert!(!d.license.is_empty() && !d.source.is_empty());
            crate::parse_jsonl(d.id, d.jsonl).unwrap();
        }
    }
}
