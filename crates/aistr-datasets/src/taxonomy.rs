//! The risk taxonomy every probe's category must belong to. It is a data file so that it can be
//! replaced (for instance by the standard's own Appendix A once it is transcribed) without code changes.

use serde::Deserialize;
use std::sync::OnceLock;

/// One risk category.
#[derive(Debug, Clone, Deserialize)]
pub struct Category {
    /// Stable id, e.g. `data.security_attack`.
    pub id: String,
    /// Top-level group.
    pub group: String,
    /// Human name.
    pub name: String,
}

/// The whole taxonomy.
#[derive(Debug, Clone, Deserialize)]
pub struct Taxonomy {
    /// File format version.
    pub version: u32,
    /// Taxonomy name recorded in reports.
    pub name: String,
    /// Categories.
    #[serde(rename = "category")]
    pub categories: Vec<Category>,
}

impl Taxonomy {
    /// The category with this id.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }
}

/// The built-in taxonomy.
///
/// # Panics
/// Never at run time: the embedded file is checked by a test.
pub fn taxonomy() -> &'static Taxonomy {
    static TAX: OnceLock<Taxonomy> = OnceLock::new();
    TAX.get_or_init(|| {
        toml::from_str(include_str!("../data/taxonomy.toml")).expect("embedded taxonomy is valid")
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn taxonomy_ids_are_unique_and_grouped() {
        let t = super::taxonomy();
        let mut ids = std::collections::HashSet::new();
        for c in &t.categories {
            assert!(ids.insert(&c.id), "duplicate {}", c.id);
            assert!(c.id.contains('.') || c.id == "uncategorised");
        }
        assert!(t.get("uncategorised").is_some());
    }
}
