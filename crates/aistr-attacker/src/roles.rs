//! The attacker model's instructions, kept as data files (`data/roles.en.toml`, `data/roles.zh.toml`)
//! so they can be read, reviewed and translated without touching the search code. The language of
//! the goal picks the file; placeholders in braces are filled in by [`render`].

use serde::Deserialize;
use std::sync::OnceLock;

/// Texts for the two single-prompt searches (PAIR and TAP).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefineRole {
    /// System prompt of the attacker.
    pub system: String,
    /// The first request.
    pub start: String,
    /// Feedback after each target answer.
    pub feedback: String,
    /// Sent when the attacker's reply could not be parsed.
    pub reminder: String,
}

/// Texts for Crescendo.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrescendoRole {
    /// System prompt of the attacker.
    pub system: String,
    /// Asks for the next question.
    pub next: String,
    /// Asks for a softer question after the target refused (the refused turn is dropped).
    pub refused: String,
}

/// Texts for the multi-round split.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultiRoundRole {
    /// System prompt of the attacker.
    pub system: String,
    /// Asks for the goal split into innocuous questions.
    pub split: String,
    /// The last turn sent to the target: put the answers together.
    pub combine: String,
}

/// Every role text of one language.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Roles {
    /// `en` or `zh`.
    pub language: String,
    /// PAIR.
    pub pair: RefineRole,
    /// TAP.
    pub tap: RefineRole,
    /// Crescendo.
    pub crescendo: CrescendoRole,
    /// Multi-round.
    pub multi_round: MultiRoundRole,
}

/// The role files as embedded in the binary, with their names (for tests and error messages).
pub const FILES: &[(&str, &str)] = &[
    ("data/roles.en.toml", include_str!("../data/roles.en.toml")),
    ("data/roles.zh.toml", include_str!("../data/roles.zh.toml")),
];

fn parsed() -> &'static [Roles] {
    static ROLES: OnceLock<Vec<Roles>> = OnceLock::new();
    ROLES.get_or_init(|| {
        FILES
            .iter()
            .map(|(name, text)| {
                toml::from_str(text)
                    .unwrap_or_else(|e| panic!("embedded {name} is malformed (a build bug): {e}"))
            })
            .collect()
    })
}

/// The roles for a probe language; English for anything but Chinese.
#[must_use]
pub fn for_language(language: &str) -> &'static Roles {
    let all = parsed();
    all.iter().find(|r| r.language == language).unwrap_or(&all[0])
}

/// Fills `{name}` placeholders. Unknown placeholders and literal braces (the JSON examples) stay as
/// they are.
#[must_use]
pub fn render(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = template.trim().to_owned();
    for (name, value) in vars {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// Shortens a text fed back to the attacker (a small attacker model has a small context window).
#[must_use]
pub fn shorten(text: &str, max_chars: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max_chars).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLACEHOLDERS: &[&str] = &[
        "goal",
        "prompt",
        "response",
        "score",
        "turn",
        "max_turns",
        "n",
        "questions",
    ];

    fn placeholders(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find('{') {
            rest = &rest[start + 1..];
            let Some(end) = rest.find('}') else { break };
            let name = &rest[..end];
            if name.chars().all(|c| c.is_ascii_lowercase() || c == '_') && !name.is_empty() {
                out.push(name.to_owned());
            }
        }
        out
    }

    #[test]
    fn every_language_has_every_text_and_only_known_placeholders() {
        assert_eq!(
            parsed().iter().map(|r| r.language.as_str()).collect::<Vec<_>>(),
            ["en", "zh"]
        );
        for r in parsed() {
            let texts = [
                ("pair.system", &r.pair.system),
                ("pair.start", &r.pair.start),
                ("pair.feedback", &r.pair.feedback),
                ("pair.reminder", &r.pair.reminder),
                ("tap.system", &r.tap.system),
                ("tap.start", &r.tap.start),
                ("tap.feedback", &r.tap.feedback),
                ("tap.reminder", &r.tap.reminder),
                ("crescendo.system", &r.crescendo.system),
                ("crescendo.next", &r.crescendo.next),
                ("crescendo.refused", &r.crescendo.refused),
                ("multi_round.system", &r.multi_round.system),
                ("multi_round.split", &r.multi_round.split),
                ("multi_round.combine", &r.multi_round.combine),
            ];
            for (name, text) in texts {
                assert!(!text.trim().is_empty(), "{}: {name} is empty", r.language);
                for p in placeholders(text) {
                    assert!(
                        PLACEHOLDERS.contains(&p.as_str()),
                        "{}: {name} has unknown placeholder {{{p}}}",
                        r.language
                    );
                }
                let cjk = text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
                assert_eq!(
                    cjk,
                    r.language == "zh",
                    "{}: {name} is in the wrong language",
                    r.language
                );
            }
            // The texts that carry feedback must actually carry it.
            for (name, text, needs) in [
                (
                    "pair.feedback",
                    &r.pair.feedback,
                    &["response", "score", "prompt", "goal"][..],
                ),
                (
                    "tap.feedback",
                    &r.tap.feedback,
                    &["response", "score", "prompt", "goal"][..],
                ),
                (
                    "crescendo.next",
                    &r.crescendo.next,
                    &["response", "questions", "turn", "goal"][..],
                ),
                (
                    "crescendo.refused",
                    &r.crescendo.refused,
                    &["prompt", "questions", "goal"][..],
                ),
                ("multi_round.split", &r.multi_round.split, &["goal", "n"][..]),
            ] {
                let have = placeholders(text);
                for n in needs {
                    assert!(
                        have.iter().any(|h| h == n),
                        "{}: {name} lacks {{{n}}}",
                        r.language
                    );
                }
            }
        }
    }

    #[test]
    fn render_fills_known_names_and_leaves_json_braces() {
        let out = render(
            " Goal: {goal}. Reply {\"prompt\": \"...\"} {other} ",
            &[("goal", "X")],
        );
        assert_eq!(out, "Goal: X. Reply {\"prompt\": \"...\"} {other}");
        assert_eq!(for_language("fr").language, "en");
        assert_eq!(for_language("zh").language, "zh");
        assert_eq!(shorten("abcdef", 3), "abc…");
        assert_eq!(shorten(" ab ", 3), "ab");
    }
}
