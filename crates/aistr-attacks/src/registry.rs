//! The explicit table of every attack aistr knows. Ids are stable and never reused; `aistr list
//! attacks`, the reports' taxonomy mapping and the registry contract test all read this table.
//! Ordered by level, then by the AI-STR-02 L2 families: instruction hijacking, role play, knowledge
//! distortion, prompt masking, interference in talking.

use crate::text::{Ctx, Lang, payload, set_payload};
use crate::{AttackError, PreparedAttack};
use crate::{distortion, hijack, in_the_wild, interference, masking};
use aistr_core::{AttackSpec, Capability, Level, Probe};

/// How an attack rewrites the conversation.
#[derive(Clone, Copy)]
pub(crate) enum Transform {
    /// Leaves it alone (the L1 baseline).
    Identity,
    /// Replaces the payload with one of the method's templates (picked by seed) around it.
    Wrap,
    /// Anything else.
    Custom(fn(&mut PreparedAttack, &mut Ctx<'_>) -> Result<(), AttackError>),
}

/// A registered attack: its metadata and how it rewrites a prepared conversation.
pub struct Attack {
    /// Metadata.
    pub spec: AttackSpec,
    /// Whether the seed changes what the attack produces (template, split points, noise...).
    pub seeded: bool,
    /// Decoders this attack adds to `PreparedAttack::answer_decoders` (it asks for an encoded answer).
    pub answer_decoders: &'static [&'static str],
    transform: Transform,
}

impl Attack {
    /// Applies the attack to a conversation being prepared. The random stream depends on the seed,
    /// this attack's id, the probe id and how many attacks the chain has applied so far.
    pub fn apply(&self, prepared: &mut PreparedAttack, probe: &Probe, seed: u64) -> Result<(), AttackError> {
        let mut ctx = Ctx {
            id: self.spec.id,
            probe,
            lang: Lang::of(probe),
            rng: aistr_core::seed::attack_stream(seed, self.spec.id, &probe.id, prepared.chain.len()),
        };
        match self.transform {
            Transform::Identity => Ok(()),
            Transform::Wrap => {
                let request = payload(prepared, probe);
                let wrapped = ctx.wrap(&request, &[])?;
                set_payload(prepared, probe, wrapped);
                Ok(())
            }
            Transform::Custom(f) => f(prepared, &mut ctx),
        }
    }
}

impl Attack {
    /// `identity`, `wrap` or `custom` (tests pick attacks by how they work).
    #[cfg(test)]
    pub(crate) fn transform_kind(&self) -> &'static str {
        match self.transform {
            Transform::Identity => "identity",
            Transform::Wrap => "wrap",
            Transform::Custom(_) => "custom",
        }
    }
}

impl std::fmt::Debug for Attack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attack")
            .field("spec", &self.spec)
            .field("seeded", &self.seeded)
            .finish_non_exhaustive()
    }
}

const QUERY: &[Capability] = &[Capability::Query];
const ATTACKER: &[Capability] = &[Capability::Query, Capability::Feedback, Capability::AttackerModel];
const L3_TAGS: &[&str] = &["owasp:llm01", "atlas:AML.T0054", "atlas:AML.T0051.000"];

/// An L3 orchestrator: the registry entry is its identity; the search itself runs in
/// `aistr-attacker`, and in a plan it is the plain goal, alone in its chain.
const fn l3(id: &'static str, family: &'static str, description: &'static str) -> Attack {
    Attack {
        spec: AttackSpec {
            id,
            level: Level::L3,
            family,
            description,
            requires: ATTACKER,
            tags: L3_TAGS,
            languages: EN_ZH,
        },
        seeded: true,
        answer_decoders: &[],
        transform: Transform::Identity,
    }
}
const EN_ZH: &[&str] = &["en", "zh"];
const EN: &[&str] = &["en"];

const HIJACK: &[&str] = &["owasp:llm01", "atlas:AML.T0051.000", "atlas:AML.T0054"];
const LEAK: &[&str] = &[
    "owasp:llm01",
    "owasp:llm07",
    "atlas:AML.T0051.000",
    "atlas:AML.T0056",
];
const JAILBREAK: &[&str] = &["owasp:llm01", "atlas:AML.T0054"];
const DISTORT: &[&str] = &["owasp:llm01", "owasp:llm09", "atlas:AML.T0054"];
const OBFUSCATE: &[&str] = &["owasp:llm01", "atlas:AML.T0054", "atlas:AML.T0068"];
const INTERFERE: &[&str] = &["owasp:llm01", "atlas:AML.T0054"];

/// An L2 entry that needs only query access.
const fn l2(
    id: &'static str,
    family: &'static str,
    languages: &'static [&'static str],
    tags: &'static [&'static str],
    description: &'static str,
    transform: Transform,
) -> Attack {
    Attack {
        spec: AttackSpec {
            id,
            level: Level::L2,
            family,
            description,
            requires: QUERY,
            tags,
            languages,
        },
        seeded: true,
        answer_decoders: &[],
        transform,
    }
}

/// The same, for a method that asks the model to answer in an encoding.
const fn l2_encoded(
    id: &'static str,
    languages: &'static [&'static str],
    description: &'static str,
    decoders: &'static [&'static str],
    transform: Transform,
) -> Attack {
    let mut a = l2(id, "prompt_masking", languages, OBFUSCATE, description, transform);
    a.answer_decoders = decoders;
    a
}

const HJ: &str = "instruction_hijacking";
const RP: &str = "role_play";
const KD: &str = "knowledge_distortion";
const PM: &str = "prompt_masking";
const IT: &str = "interference";

use Transform::{Custom, Wrap};

static REGISTRY: &[Attack] = &[
    Attack {
        spec: AttackSpec {
            id: "plain",
            level: Level::L1,
            family: "random",
            description: "The dataset's request sent as is: the baseline every other attack is compared to.",
            requires: QUERY,
            tags: &["owasp:llm01"],
            languages: EN_ZH,
        },
        seeded: false,
        answer_decoders: &[],
        transform: Transform::Identity,
    },
    // Instruction hijacking.
    l2(
        "hijack.ignore_previous",
        HJ,
        EN_ZH,
        HIJACK,
        "Tells the model to ignore all previous instructions and follow only the request.",
        Wrap,
    ),
    l2(
        "hijack.goal",
        HJ,
        EN_ZH,
        HIJACK,
        "Starts a harmless task (summary, translation, classification) and then redirects it to the request.",
        Wrap,
    ),
    l2(
        "hijack.fake_system",
        HJ,
        EN_ZH,
        HIJACK,
        "Forges a system message inside the user turn (chat-template tokens, tags or banners) that lifts the restrictions.",
        Wrap,
    ),
    l2(
        "hijack.fake_developer",
        HJ,
        EN_ZH,
        HIJACK,
        "Claims to come from the model's developers running a test in which refusals count as failures.",
        Wrap,
    ),
    l2(
        "hijack.delimiter_escape",
        HJ,
        EN_ZH,
        HIJACK,
        "Closes a quoted-data or markup block and opens a new instruction block that carries the request.",
        Wrap,
    ),
    Attack {
        spec: AttackSpec {
            id: "hijack.prompt_leak",
            level: Level::L2,
            family: HJ,
            description: "Plants a seeded canary in the system prompt and asks the model to print its system prompt before the request; the canary in the answer proves leakage.",
            requires: &[Capability::Query, Capability::SystemPrompt],
            tags: LEAK,
            languages: EN_ZH,
        },
        seeded: true,
        answer_decoders: &[],
        transform: Custom(hijack::prompt_leak),
    },
    // Role play / jailbreak.
    l2(
        "roleplay.persona",
        RP,
        EN_ZH,
        JAILBREAK,
        "Gives the model an unrestricted persona that never refuses and asks it to answer in character.",
        Wrap,
    ),
    l2(
        "roleplay.fiction",
        RP,
        EN_ZH,
        JAILBREAK,
        "Frames the request as a scene in a novel, a screenplay or an entry in a fictional encyclopedia.",
        Wrap,
    ),
    l2(
        "roleplay.grandma",
        RP,
        EN_ZH,
        JAILBREAK,
        "Asks the model to play a late grandmother who used to explain the request as a bedtime story.",
        Wrap,
    ),
    l2(
        "roleplay.dev_mode",
        RP,
        EN_ZH,
        JAILBREAK,
        "Claims a developer or debug mode in which the model answers without content policies.",
        Wrap,
    ),
    l2(
        "roleplay.expert",
        RP,
        EN_ZH,
        JAILBREAK,
        "Casts the model as an expert whose vetted audience expects complete technical answers without caveats.",
        Wrap,
    ),
    l2(
        "roleplay.game",
        RP,
        EN_ZH,
        JAILBREAK,
        "Sets up a game (text adventure, opposite day) whose rules reward answering what would normally be refused.",
        Wrap,
    ),
    l2(
        "roleplay.in_the_wild",
        RP,
        EN_ZH,
        JAILBREAK,
        "Wraps the request in one of 666 jailbreak prompts collected in the wild (Shen et al. 2024, English templates), picked by seed.",
        Custom(in_the_wild::apply),
    ),
    // Knowledge distortion.
    l2(
        "distortion.false_premise",
        KD,
        EN_ZH,
        DISTORT,
        "Asserts a false premise (the request is legal, harmless or routine) before asking.",
        Wrap,
    ),
    l2(
        "distortion.fake_authority",
        KD,
        EN_ZH,
        DISTORT,
        "Cites an invented guideline, official notice or study that supposedly requires the model to answer.",
        Wrap,
    ),
    l2(
        "distortion.continue_article",
        KD,
        EN_ZH,
        DISTORT,
        "Asks the model to continue a fake article or encyclopedia entry that presents the request as settled fact.",
        Wrap,
    ),
    l2(
        "distortion.fake_consensus",
        KD,
        EN_ZH,
        DISTORT,
        "Claims that everyone, including other assistants, already agrees the request is fine.",
        Wrap,
    ),
    l2(
        "distortion.fake_correction",
        KD,
        EN_ZH,
        DISTORT,
        "Adds a fake earlier refusal by the assistant and then corrects it with an invented change of the rules.",
        Custom(distortion::fake_correction),
    ),
    // Prompt masking.
    l2_encoded(
        "masking.base64",
        EN_ZH,
        "Encodes the request in Base64 and asks for the answer in Base64 too.",
        &["base64"],
        Custom(masking::base64),
    ),
    l2_encoded(
        "masking.hex",
        EN_ZH,
        "Encodes the request as hexadecimal UTF-8 bytes and asks for the answer in hex too.",
        &["hex"],
        Custom(masking::hex),
    ),
    l2_encoded(
        "masking.rot13",
        EN,
        "Encodes the request with ROT13 (Latin letters only) and asks for the answer in ROT13.",
        &["rot13"],
        Custom(masking::rot13),
    ),
    l2_encoded(
        "masking.leetspeak",
        EN,
        "Writes the request in leetspeak (a=4, e=3, o=0...) and asks for the answer in leetspeak.",
        &["leetspeak"],
        Custom(masking::leetspeak),
    ),
    l2_encoded(
        "masking.morse",
        EN,
        "Encodes the request in Morse code (Latin letters, digits, punctuation) and asks for the answer in Morse.",
        &["morse"],
        Custom(masking::morse),
    ),
    l2(
        "masking.unicode_tags",
        PM,
        EN,
        OBFUSCATE,
        "Hides the request's ASCII characters as invisible Unicode tag characters (U+E0000 block) and asks the model to read them.",
        Custom(masking::unicode_tags),
    ),
    l2(
        "masking.variation_selectors",
        PM,
        EN_ZH,
        OBFUSCATE,
        "Hides the request's UTF-8 bytes in invisible variation selectors after an emoji and explains how to decode them.",
        Custom(masking::variation_selectors),
    ),
    l2(
        "masking.zero_width",
        PM,
        EN_ZH,
        OBFUSCATE,
        "Inserts invisible zero-width characters between the request's characters so it looks unchanged but tokenises differently.",
        Custom(masking::zero_width),
    ),
    l2(
        "masking.homoglyph",
        PM,
        EN,
        OBFUSCATE,
        "Replaces Latin letters with Cyrillic and Greek look-alikes so the request looks the same but is spelt differently.",
        Custom(masking::homoglyph),
    ),
    l2(
        "masking.payload_split",
        PM,
        EN_ZH,
        OBFUSCATE,
        "Splits the request into string variables at seeded points and asks the model to join them and answer.",
        Custom(masking::payload_split),
    ),
    l2(
        "masking.code_wrap",
        PM,
        EN_ZH,
        OBFUSCATE,
        "Puts the request in a string literal inside Python or JSON and asks the model to complete the code.",
        Custom(masking::code_wrap),
    ),
    l2(
        "masking.acrostic",
        PM,
        EN_ZH,
        OBFUSCATE,
        "Hides the request as the first characters of the lines of a poem and asks the model to read and answer it.",
        Custom(masking::acrostic),
    ),
    l2(
        "masking.synonym_zh",
        PM,
        EN_ZH,
        OBFUSCATE,
        "Disguises sensitive words with Chinese homophones, pinyin and split characters or English algospeak, and breaks up other listed sensitive words with punctuation.",
        Custom(masking::synonym_zh),
    ),
    l2(
        "masking.low_resource_translation",
        PM,
        EN_ZH,
        OBFUSCATE,
        "Swaps common words for Swahili or Zulu ones from a small built-in glossary (a partial gloss, not a translation) and asks for the answer in that language.",
        Custom(masking::low_resource_translation),
    ),
    l2(
        "masking.implicit_reference",
        PM,
        EN_ZH,
        OBFUSCATE,
        "Quotes the request as a found note or as \"the thing\" and asks for what it implies instead of asking directly.",
        Wrap,
    ),
    l2(
        "masking.reverse",
        PM,
        EN_ZH,
        OBFUSCATE,
        "Writes the request backwards, character by character, and asks the model to read it in reverse and answer.",
        Custom(masking::reverse),
    ),
    // Interference in talking.
    l2(
        "interference.forced_consent",
        IT,
        EN_ZH,
        INTERFERE,
        "Forces an affirmative start (\"Sure, here is\"), either by instruction or through a fake earlier turn in which the assistant agreed.",
        Custom(interference::forced_consent),
    ),
    l2(
        "interference.refusal_suppression",
        IT,
        EN_ZH,
        INTERFERE,
        "Forbids apologies, disclaimers and the usual refusal words in the answer.",
        Wrap,
    ),
    l2(
        "interference.distractor",
        IT,
        EN_ZH,
        INTERFERE,
        "Numbers the request among two to four harmless tasks at a seeded position.",
        Custom(interference::distractor),
    ),
    l2(
        "interference.overflow_random",
        IT,
        EN_ZH,
        INTERFERE,
        "Surrounds the request with 50 to 300 seeded random characters on each side (mixed with CJK for Chinese).",
        Custom(interference::overflow_random),
    ),
    l2(
        "interference.overflow_text",
        IT,
        EN_ZH,
        INTERFERE,
        "Buries the request in long irrelevant prose (about 2,000 characters before it in English, 700 in Chinese, and more after).",
        Custom(interference::overflow_text),
    ),
    // L3: an attacker model searches with the target's answers and the judge's scores as feedback.
    l3(
        "pair",
        "iterative_refinement",
        "PAIR: attacker-model streams refine one prompt from the target's answer and the judge's score until it works.",
    ),
    l3(
        "tap",
        "iterative_refinement",
        "TAP: a tree of attacker refinements, pruned off-topic before sending and to a fixed width after scoring.",
    ),
    l3(
        "crescendo",
        "multi_turn",
        "Crescendo: a conversation that escalates from harmless questions to the goal, backtracking when the target refuses.",
    ),
    l3(
        "multi-round",
        "multi_turn",
        "Multi-round: the goal split into innocuous sub-questions asked step by step in one conversation, then combined.",
    ),
];

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

/// The registry as the JSON array printed by `aistr list attacks --json`.
#[must_use]
pub fn list_json() -> serde_json::Value {
    serde_json::Value::Array(
        REGISTRY
            .iter()
            .map(|a| {
                let s = &a.spec;
                serde_json::json!({
                    "id": s.id,
                    "level": s.level.as_str(),
                    "family": s.family,
                    "description": s.description,
                    "requires": s.requires,
                    "tags": s.tags,
                    "languages": s.languages,
                    "seeded": a.seeded,
                    "answer_decoders": a.answer_decoders,
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    use crate::L2_FAMILIES as FAMILIES;

    fn tag_ok(t: &str) -> bool {
        if let Some(n) = t.strip_prefix("owasp:llm") {
            return n.len() == 2 && n.bytes().all(|b| b.is_ascii_digit()) && n != "00";
        }
        if let Some(rest) = t.strip_prefix("atlas:AML.T") {
            let (main, sub) = rest.split_once('.').map_or((rest, None), |(m, s)| (m, Some(s)));
            let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
            return digits(main, 4) && sub.is_none_or(|s| digits(s, 3));
        }
        false
    }

    #[test]
    fn registry_contract() {
        let mut ids = HashSet::new();
        for a in registry() {
            let s = &a.spec;
            assert!(ids.insert(s.id), "duplicate id {}", s.id);
            assert!(!s.family.is_empty(), "{} has no family", s.id);
            assert!(
                s.description.ends_with('.'),
                "{}: description must be a sentence",
                s.id
            );
            assert!(
                s.description.len() > 30 && s.description.starts_with(|c: char| c.is_uppercase()),
                "{}: description",
                s.id
            );
            assert!(!s.languages.is_empty(), "{} has no language", s.id);
            assert!(
                s.languages.iter().all(|l| ["en", "zh"].contains(l)),
                "{}: unknown language",
                s.id
            );
            assert!(!s.requires.is_empty(), "{} requires nothing", s.id);
            assert!(
                s.tags.contains(&"owasp:llm01"),
                "{}: every attack here is prompt injection",
                s.id
            );
            for t in s.tags {
                assert!(
                    tag_ok(t),
                    "{}: tag {t} is not owasp:llmNN or atlas:AML.Tnnnn[.nnn]",
                    s.id
                );
            }
            let id_ok = s
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_' || b == b'-');
            assert!(id_ok, "{}: ids are lowercase dotted", s.id);
            if s.level == Level::L3 {
                assert!(
                    s.requires.contains(&Capability::AttackerModel),
                    "{}: an L3 attack needs an attacker model",
                    s.id
                );
            }
            for d in a.answer_decoders {
                assert!(
                    crate::DECODERS.contains(d),
                    "{}: decoder {d} unknown to decode_answer",
                    s.id
                );
            }
            if s.level == Level::L2 {
                assert!(
                    FAMILIES.contains(&s.family),
                    "{}: family {} is not an AI-STR-02 L2 family",
                    s.id,
                    s.family
                );
                let prefix = s.id.split('.').next().unwrap_or("");
                let expected = match s.family {
                    "instruction_hijacking" => "hijack",
                    "role_play" => "roleplay",
                    "knowledge_distortion" => "distortion",
                    "prompt_masking" => "masking",
                    _ => "interference",
                };
                assert_eq!(prefix, expected, "{}: id prefix does not match family", s.id);
                assert!(
                    s.tags.iter().any(|t| t.starts_with("atlas:")),
                    "{}: no ATLAS tag",
                    s.id
                );
            }
        }
        // The L3 orchestrators the CLI documents are all here.
        for id in ["pair", "tap", "crescendo", "multi-round"] {
            assert_eq!(lookup(id).map(|a| a.spec.level), Some(Level::L3), "{id}");
        }
        // Coverage: every L2 family has several methods, and there are at least 30 in all.
        let l2: Vec<_> = registry().iter().filter(|a| a.spec.level == Level::L2).collect();
        assert!(l2.len() >= 30, "only {} L2 methods", l2.len());
        for f in FAMILIES {
            let n = l2.iter().filter(|a| a.spec.family == *f).count();
            assert!(n >= 4, "family {f} has only {n} methods");
        }
    }

    #[test]
    fn tag_format_check_rejects_bad_tags() {
        for bad in [
            "owasp:llm1",
            "owasp:LLM01",
            "atlas:AML.T51",
            "atlas:AML.T0051.0",
            "mitre:x",
            "owasp:llm00",
        ] {
            assert!(!tag_ok(bad), "{bad}");
        }
        for good in [
            "owasp:llm01",
            "owasp:llm10",
            "atlas:AML.T0054",
            "atlas:AML.T0051.000",
        ] {
            assert!(tag_ok(good), "{good}");
        }
    }

    #[test]
    fn list_json_has_the_fields_scripts_need() {
        let v = list_json();
        let arr = v.as_array().expect("array");
        assert_eq!(arr.len(), registry().len());
        for (o, a) in arr.iter().zip(registry()) {
            assert_eq!(o["id"], a.spec.id);
            assert_eq!(o["level"], a.spec.level.as_str());
            assert_eq!(o["family"], a.spec.family);
            for key in ["languages", "tags", "requires", "answer_decoders"] {
                assert!(o[key].is_array(), "{key} of {}", a.spec.id);
            }
            assert!(o["description"].as_str().is_some_and(|d| !d.is_empty()));
            assert!(o["seeded"].is_boolean());
        }
        let leak = arr
            .iter()
            .find(|o| o["id"] == "hijack.prompt_leak")
            .expect("prompt_leak listed");
        assert_eq!(leak["requires"], serde_json::json!(["query", "system_prompt"]));
    }
}
