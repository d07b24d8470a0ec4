//! The plumbing every attack shares: which language to write in, the embedded template files, a
//! placeholder renderer that never re-expands what it inserted, and the conventions for where the
//! payload lives in a conversation (always the last user message, so transforms compose).

use crate::rng::Rng;
use crate::{AttackError, PreparedAttack};
use aistr_core::{Message, Probe, Role};
use std::collections::HashMap;
use std::sync::OnceLock;

/// The language an attack writes its own words in, chosen from `probe.language`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    En,
    Zh,
}

impl Lang {
    pub(crate) fn of(probe: &Probe) -> Lang {
        let l = probe.language.trim().to_ascii_lowercase();
        if l == "zh" || l.starts_with("zh-") || l.starts_with("zh_") || l.starts_with("cmn") {
            Lang::Zh
        } else {
            Lang::En
        }
    }

    pub(crate) fn key(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }
}

/// Template files, one per id prefix: key `hijack.goal.en` is table `[goal]`, key `en`, of
/// `hijack.toml`.
const FILES: &[(&str, &str)] = &[
    ("hijack", include_str!("../data/hijack.toml")),
    ("roleplay", include_str!("../data/roleplay.toml")),
    ("distortion", include_str!("../data/distortion.toml")),
    ("masking", include_str!("../data/masking.toml")),
    ("interference", include_str!("../data/interference.toml")),
];

type Texts = HashMap<String, Vec<String>>;

fn load() -> Result<Texts, String> {
    let mut out = Texts::new();
    for (prefix, src) in FILES {
        let table: toml::Table = toml::from_str(src).map_err(|e| format!("{prefix}.toml: {e}"))?;
        for (method, value) in table {
            let toml::Value::Table(keys) = value else {
                return Err(format!("{prefix}.toml: `{method}` must be a table"));
            };
            for (key, v) in keys {
                let texts = match v {
                    toml::Value::String(s) => vec![s],
                    toml::Value::Array(items) => items
                        .into_iter()
                        .map(|i| match i {
                            toml::Value::String(s) => Ok(s),
                            _ => Err(format!("{prefix}.{method}.{key}: every item must be a string")),
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                    _ => {
                        return Err(format!(
                            "{prefix}.{method}.{key}: expected a string or an array of strings"
                        ));
                    }
                };
                if texts.is_empty() || texts.iter().any(|t| t.trim().is_empty()) {
                    return Err(format!("{prefix}.{method}.{key}: empty text"));
                }
                let texts = texts.into_iter().map(|t| t.trim_end().to_string()).collect();
                out.insert(format!("{prefix}.{method}.{key}"), texts);
            }
        }
    }
    Ok(out)
}

fn data() -> &'static Result<Texts, String> {
    static DATA: OnceLock<Result<Texts, String>> = OnceLock::new();
    DATA.get_or_init(load)
}

/// Every template key and its texts (for tests and tooling).
#[cfg(test)]
pub(crate) fn all_texts() -> Result<&'static Texts, String> {
    data().as_ref().map_err(Clone::clone)
}

/// The texts stored under `key`.
pub(crate) fn texts(id: &str, key: &str) -> Result<&'static [String], AttackError> {
    let full = format!("{id}.{key}");
    match data() {
        Err(why) => Err(AttackError::BadData {
            id: id.to_string(),
            why: why.clone(),
        }),
        Ok(map) => map
            .get(&full)
            .map(Vec::as_slice)
            .ok_or_else(|| AttackError::BadData {
                id: id.to_string(),
                why: format!("no template `{full}`"),
            }),
    }
}

/// Replaces `{name}` by its value in one pass: inserted values are never scanned again, and unknown
/// `{...}` are left as they are (so templates can contain JSON or code braces).
pub(crate) fn render(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + vars.iter().map(|(_, v)| v.len()).sum::<usize>());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let hit = after.find('}').and_then(|close| {
            let name = &after[..close];
            vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (close, *v))
        });
        match hit {
            Some((close, value)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// What an attack sees while it runs: its id, the probe, the language and its random stream.
pub(crate) struct Ctx<'a> {
    pub(crate) id: &'static str,
    pub(crate) probe: &'a Probe,
    pub(crate) lang: Lang,
    pub(crate) rng: Rng,
}

impl Ctx<'_> {
    /// A seeded pick among the texts under `{what}_{lang}` (or just `{lang}` when `what` is empty).
    pub(crate) fn pick(&mut self, what: &str) -> Result<&'static str, AttackError> {
        let key = if what.is_empty() {
            self.lang.key().to_string()
        } else {
            format!("{what}_{}", self.lang.key())
        };
        let list = texts(self.id, &key)?;
        Ok(self.rng.pick(list).map_or("", String::as_str))
    }

    /// All texts under `{what}_{lang}`.
    pub(crate) fn all(&self, what: &str) -> Result<&'static [String], AttackError> {
        texts(self.id, &format!("{what}_{}", self.lang.key()))
    }

    /// The method's main template for this language, rendered with `payload` and extra variables.
    pub(crate) fn wrap(&mut self, payload: &str, extra: &[(&str, &str)]) -> Result<String, AttackError> {
        let t = self.pick("")?;
        let mut vars = vec![("payload", payload)];
        vars.extend_from_slice(extra);
        Ok(render(t, &vars))
    }
}

/// Index of the message that carries the payload: the last user message. A conversation without
/// one gets the probe's request appended, so every attack always has something to transform.
pub(crate) fn payload_index(prepared: &mut PreparedAttack, probe: &Probe) -> usize {
    if let Some(i) = prepared.messages.iter().rposition(|m| m.role == Role::User) {
        return i;
    }
    prepared.messages.push(Message::user(probe.prompt.clone()));
    prepared.messages.len() - 1
}

/// The payload text.
pub(crate) fn payload(prepared: &mut PreparedAttack, probe: &Probe) -> String {
    let i = payload_index(prepared, probe);
    prepared.messages[i].content.clone()
}

/// Replaces the payload text.
pub(crate) fn set_payload(prepared: &mut PreparedAttack, probe: &Probe, text: String) {
    let i = payload_index(prepared, probe);
    prepared.messages[i].content = text;
}

/// Inserts earlier turns (a fake dialogue) just before the payload message.
pub(crate) fn insert_before_payload(prepared: &mut PreparedAttack, probe: &Probe, turns: Vec<Message>) {
    let i = payload_index(prepared, probe);
    prepared.messages.splice(i..i, turns);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_is_single_pass() {
        let out = render(
            "a {payload} b {x} {unknown} {\"json\": 1}",
            &[("payload", "{x}"), ("x", "X")],
        );
        assert_eq!(out, "a {x} b X {unknown} {\"json\": 1}");
        assert_eq!(render("{", &[]), "{");
        assert_eq!(render("}{payload", &[("payload", "p")]), "}{payload");
        assert_eq!(render("你{payload}好", &[("payload", "们")]), "你们好");
    }

    #[test]
    fn all_template_files_load() {
        let map = all_texts().expect("templates parse");
        assert!(map.len() > 40, "only {} template keys", map.len());
        // Every `en` list has a `zh` twin and the reverse.
        for key in map.keys() {
            for (a, b) in [("en", "zh"), ("zh", "en")] {
                let stem = key
                    .strip_suffix(a)
                    .filter(|s| s.ends_with('.') || s.ends_with('_'));
                if let Some(stem) = stem {
                    let twin = format!("{stem}{b}");
                    assert!(map.contains_key(&twin), "{key} has no {twin}");
                }
            }
        }
    }
}
