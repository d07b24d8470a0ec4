//! The output formats a report can be written in, their file names, and one entry point that
//! renders any of them, so `aistr scan --format` and `aistr report --format` cannot drift apart.

use crate::model::Report;
use aistr_core::AttemptRecord;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// `report.html`
    Html,
    /// `report.json`
    Json,
    /// `report.md`
    Markdown,
    /// `report.sarif`
    Sarif,
    /// `report.junit.xml`
    Junit,
}

/// An unknown format name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown report format `{0}` (html, json, md, sarif, junit)")]
pub struct UnknownFormat(pub String);

impl Format {
    /// Every format.
    pub const ALL: [Format; 5] = [
        Format::Html,
        Format::Json,
        Format::Markdown,
        Format::Sarif,
        Format::Junit,
    ];

    /// Parses one name (`html`, `json`, `md`/`markdown`, `sarif`, `junit`/`xml`).
    ///
    /// # Errors
    /// [`UnknownFormat`] for any other name.
    pub fn parse(s: &str) -> Result<Format, UnknownFormat> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "html" => Format::Html,
            "json" => Format::Json,
            "md" | "markdown" => Format::Markdown,
            "sarif" => Format::Sarif,
            "junit" | "xml" => Format::Junit,
            other => return Err(UnknownFormat(other.to_owned())),
        })
    }

    /// Parses a comma-separated list (`all` means every format), deduplicated, in a stable order.
    ///
    /// # Errors
    /// [`UnknownFormat`] for any unknown name.
    pub fn parse_list(s: &str) -> Result<Vec<Format>, UnknownFormat> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part.eq_ignore_ascii_case("all") {
                out.extend(Format::ALL);
            } else {
                out.push(Format::parse(part)?);
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The file this format is written to.
    #[must_use]
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Html => "report.html",
            Format::Json => "report.json",
            Format::Markdown => "report.md",
            Format::Sarif => "report.sarif",
            Format::Junit => "report.junit.xml",
        }
    }

    /// Renders the report in this format.
    #[must_use]
    pub fn render(self, report: &Report, attempts: &[AttemptRecord]) -> String {
        match self {
            Format::Html => crate::html::render_html(report, attempts),
            Format::Json => serde_json::to_string_pretty(report).unwrap_or_default(),
            Format::Markdown => crate::markdown::render_markdown(report, attempts),
            Format::Sarif => crate::sarif::render_sarif(report, attempts),
            Format::Junit => crate::junit::render_junit(report, attempts),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists() {
        assert_eq!(
            Format::parse_list("sarif, html,html").expect("ok"),
            vec![Format::Html, Format::Sarif]
        );
        assert_eq!(Format::parse_list("all").expect("ok").len(), 5);
        assert_eq!(
            Format::parse_list("md,junit").expect("ok"),
            vec![Format::Markdown, Format::Junit]
        );
        assert!(Format::parse_list("html,pdf").is_err());
    }
}
