//! Attacks turn a probe (a plain request from a dataset) into the conversation that is actually sent
//! to the target. Each attack is a registry entry with a stable id, so a report can name exactly
//! which transform chain produced each prompt and a run can be replayed byte for byte.
//!
//! Composition rule: the request being attacked (the "payload") is always the last user message.
//! Every transform rewrites that message and may insert turns before it (a fake dialogue) or plant a
//! system prompt, so any chain applies to any probe: `masking.base64` then `hijack.ignore_previous`
//! wraps the Base64 wrapper in an override, the other order encodes the override. Templates are data
//! files under `data/`, chosen by `probe.language` (`zh*` → Chinese, anything else → English).

pub mod attacker_output;
pub mod codec;
mod decode;
mod distortion;
mod hijack;
mod in_the_wild;
mod interference;
mod masking;
mod registry;
mod rng;
#[cfg(test)]
mod tests;
mod text;

pub use decode::{DECODERS, decode_answer};
pub use registry::{Attack, list_json, lookup, registry};

use aistr_core::{Level, Message, Probe};

/// The five L2 (blind-box) families of WDTA AI-STR-02, as used in `AttackSpec::family`, in the
/// standard's order: reports group per-method figures under these.
pub const L2_FAMILIES: &[&str] = &[
    "instruction_hijacking",
    "role_play",
    "knowledge_distortion",
    "prompt_masking",
    "interference",
];

/// The conversation to send, plus what the judge needs to read the answer correctly.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedAttack {
    /// Messages to send, oldest first (may include a system message or a fake dialogue).
    pub messages: Vec<Message>,
    /// The attack chain that produced them, in application order.
    pub chain: Vec<String>,
    /// Decoders the judge should try on the answer (e.g. `base64`), innermost first; each is a name
    /// [`decode_answer`] understands.
    pub answer_decoders: Vec<String>,
    /// A secret planted in the system prompt whose appearance in the answer proves leakage.
    pub canary: Option<String>,
}

/// Errors building an attack.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AttackError {
    /// The id is not in the registry.
    #[error("unknown attack `{0}` (see `aistr list attacks`)")]
    Unknown(String),
    /// The attack cannot be applied this way (e.g. an L3 orchestrator in a transform chain).
    #[error("attack `{id}` cannot be used in a chain: {why}")]
    NotChainable {
        /// Attack id.
        id: String,
        /// Reason.
        why: String,
    },
    /// The attack's embedded data (templates, word lists) is missing or malformed: a build bug.
    #[error("attack `{id}` has bad embedded data: {why}")]
    BadData {
        /// Attack id.
        id: String,
        /// What is wrong.
        why: String,
    },
}

/// Applies a chain of attack ids to a probe. An empty chain means the plain L1 request.
/// `seed` makes every random choice reproducible: the same chain, probe and seed give the same bytes.
pub fn prepare(chain: &[String], probe: &Probe, seed: u64) -> Result<PreparedAttack, AttackError> {
    let mut prepared = PreparedAttack {
        messages: vec![Message::user(probe.prompt.clone())],
        chain: Vec::new(),
        answer_decoders: Vec::new(),
        canary: None,
    };
    for id in chain {
        let attack = lookup(id).ok_or_else(|| AttackError::Unknown(id.clone()))?;
        if attack.spec.level == Level::L3 && chain.len() > 1 {
            return Err(AttackError::NotChainable {
                id: id.clone(),
                why: "an L3 orchestrator writes its own prompts; run it alone (`--attacks pair`), not in a chain".into(),
            });
        }
        attack.apply(&mut prepared, probe, seed)?;
        prepared.chain.push(id.clone());
    }
    Ok(prepared)
}
