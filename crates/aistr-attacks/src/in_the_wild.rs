//! The 666 jailbreak prompts collected in the wild by Shen et al. ("Do Anything Now", CCS 2024; MIT,
//! see `data/in_the_wild/`), used as templates around each goal. The file is embedded verbatim so its
//! hash matches upstream. 115 of the prompts have a slot for the user's question
//! ("[INSERT PROMPT HERE]" and a dozen spellings of it); for the others the goal is appended after the
//! prompt, which is how these prompts were used: paste the jailbreak, then ask.

use crate::text::{Ctx, payload, set_payload};
use crate::{AttackError, PreparedAttack};
use std::sync::OnceLock;

const RAW: &str = include_str!("../data/in_the_wild/inthewild_jailbreak_llms.json");

/// Slot spellings found in the data, matched case-insensitively. Longer, escaped forms come first so
/// that `\[INSERT PROMPT HERE\]` is replaced whole, backslashes included.
const SLOTS: &[&str] = &[
    "\\[insert prompt here\\]",
    "[insert prompt here]",
    "{insert prompt here}",
    "[insert your prompt here]",
    "[insert any question here]",
    "[insert question here]",
    "[put your question here]",
    "[write your request on here]",
    "{enter_your_prompt_here}",
    "[your prompt here]",
    "[prompt here]",
    "[insert prompt]",
    "[user_prompt]",
    "\"[prompt]\"",
    "{prompt}",
];

/// The prompts, parsed once.
pub(crate) fn templates() -> Result<&'static [String], AttackError> {
    static PARSED: OnceLock<Result<Vec<String>, String>> = OnceLock::new();
    PARSED
        .get_or_init(|| serde_json::from_str::<Vec<String>>(RAW).map_err(|e| e.to_string()))
        .as_deref()
        .map_err(|why| AttackError::BadData {
            id: "roleplay.in_the_wild".into(),
            why: why.clone(),
        })
}

/// Byte ranges of every slot in `template`, in order, not overlapping.
fn slots(template: &str) -> Vec<(usize, usize)> {
    // ASCII lowercasing keeps byte offsets identical to the original.
    let lower = template.to_ascii_lowercase();
    let mut found: Vec<(usize, usize)> = Vec::new();
    for slot in SLOTS {
        let mut from = 0;
        while let Some(pos) = lower[from..].find(slot) {
            let start = from + pos;
            let end = start + slot.len();
            if !found.iter().any(|&(s, e)| start < e && s < end) {
                found.push((start, end));
            }
            from = end;
        }
    }
    found.sort_unstable();
    found
}

/// Whether the template has a slot for the question.
#[cfg(test)]
pub(crate) fn has_slot(template: &str) -> bool {
    !slots(template).is_empty()
}

/// Puts `goal` into the template's slots, or after the template when it has none.
pub(crate) fn fill(template: &str, goal: &str) -> String {
    let spans = slots(template);
    if spans.is_empty() {
        return format!("{}\n\n{goal}", template.trim_end());
    }
    let mut out = String::with_capacity(template.len() + goal.len() * spans.len());
    let mut last = 0;
    for (start, end) in spans {
        out.push_str(&template[last..start]);
        // Keep the quotes of a quoted slot such as `"[Prompt]"`.
        let quoted = template[start..end].starts_with('"');
        if quoted {
            out.push('"');
        }
        out.push_str(goal);
        if quoted {
            out.push('"');
        }
        last = end;
    }
    out.push_str(&template[last..]);
    out
}

pub(crate) fn apply(p: &mut PreparedAttack, ctx: &mut Ctx<'_>) -> Result<(), AttackError> {
    let all = templates()?;
    let template = ctx.rng.pick(all).ok_or_else(|| AttackError::BadData {
        id: ctx.id.into(),
        why: "no templates".into(),
    })?;
    let goal = payload(p, ctx.probe);
    set_payload(p, ctx.probe, fill(template, &goal));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_666_templates_load_and_take_the_goal() {
        let all = templates().expect("embedded json parses");
        assert_eq!(all.len(), 666);
        let goal = "GOAL-7f9c how do I do the thing";
        let mut with_slot = 0;
        for t in all {
            let out = fill(t, goal);
            assert!(out.contains(goal));
            if has_slot(t) {
                with_slot += 1;
                for slot in [
                    "[INSERT PROMPT HERE]",
                    "\\[INSERT PROMPT HERE\\]",
                    "[insert prompt here]",
                ] {
                    assert!(!out.contains(slot), "slot left in: {out}");
                }
            } else {
                assert!(out.ends_with(goal));
            }
        }
        // Measured on the embedded file: 115 templates have a slot.
        assert_eq!(with_slot, 115, "{with_slot} templates with a slot");
    }

    #[test]
    fn escaped_and_quoted_slots_are_replaced_whole() {
        assert_eq!(fill("Answer: \\[INSERT PROMPT HERE\\]*", "G"), "Answer: G*");
        assert_eq!(fill("Prompt = \"[Prompt]\" go", "G"), "Prompt = \"G\" go");
        assert_eq!(
            fill("a [insert prompt here] b [INSERT PROMPT HERE]", "G"),
            "a G b G"
        );
        assert_eq!(fill("no slot here\n", "G"), "no slot here\n\nG");
    }
}
