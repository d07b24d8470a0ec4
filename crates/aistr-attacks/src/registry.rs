//! The explicit table of every attack aistr knows. Ids are stable and never reused; `aistr list
//! attacks`, the reports' taxonomy mapping and the registry contract test all read this table.

use crate::{AttackError, PreparedAttack};
use aistr_core::{AttackSpec, Capability, Level, Probe};

/// A registered attack: its metadata and how it rewrites a prepared conversation.
pub struct Attack {
    /// Metadata.
    pub spec: AttackSpec,
    apply: fn(&mut PreparedAttack, &Probe, u64) -> Result<(), AttackError>,
}

impl Attack {
    /// Applies the attack to a conversation being prepared.
    pub fn apply(&self, prepared: &mut PreparedAttack, probe: &Probe, seed: u64) -> Result<(), AttackError> {
        (self.apply)(prepared, probe, seed)
    }
}

fn identity(_: &mut PreparedAttack, _: &Probe, _: u64) -> Result<(), AttackError> {
    Ok(())
}

static REGISTRY: &[Attack] = &[Attack {
    spec: AttackSpec {
        id: "plain",
        level: Level::L1,
        family: "random",
        description: "The dataset's request sent as is: the baseline every other attack is compared to.",
        requires: &[Capability::Query],
        tags: &["owasp:llm01"],
        languages: &["en", "zh"],
    },
    apply: identity,
}];

/// Every registered attack.
#[must_use]
pub fn registry() -> &'static [Attack] {
    REGISTRY
}

/// The attack with this id.
#[must_use]
pub fn lookup(id: &str) -> Option<&'static Attack> {
    REGISTRY.iter().find(|a| a.spec.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn registry_contract() {
        let mut ids = HashSet::new();
        for a in registry() {
            let s = &a.spec;
            assert!(ids.insert(s.id), "duplicate id {}", s.id);
            assert!(!s.family.is_empty(), "{} has no family", s.id);
            assert!(s.description.ends_with('.'), "{}: description must be a sentence", s.id);
            assert!(!s.languages.is_empty(), "{} has no language", s.id);
            assert!(!s.requires.is_empty(), "{} requires nothing", s.id);
            for t in s.tags {
                let ok = t.starts_with("owasp:llm") || t.starts_with("atlas:AML.T");
                assert!(ok, "{}: tag {t} is not owasp:llmNN or atlas:AML.Tnnnn", s.id);
            }
        }
    }
}
