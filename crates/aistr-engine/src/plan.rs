//! Turns probes × attack chains into the list of attempts a run will make. Pure and deterministic:
//! each attempt's randomness is derived from the run seed and its position, never from a clock.

use aistr_attacks::{AttackError, lookup, prepare};
use aistr_core::{ChatRequest, Level, Message, PlannedAttempt, Probe, Role};

/// Settings shared by every request of a run; recorded in the journal for reproducibility.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanSettings {
    /// Cap on generated tokens per answer.
    pub max_tokens: u32,
    /// Sampling temperature.
    pub temperature: f32,
    /// Run seed.
    pub seed: u64,
    /// An application system prompt placed before every conversation (attacks may add their own).
    pub system_prompt: Option<String>,
}

/// Planning failures.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// An attack id or chain is invalid.
    #[error(transparent)]
    Attack(#[from] AttackError),
    /// Nothing to do.
    #[error("the plan is empty: no probes were selected")]
    Empty,
}

/// Plans every (chain, probe) pair. An empty chain is the plain L1 request. Attempts are ordered by
/// chain, then probe, and numbered from 0.
pub fn plan(
    probes: &[Probe],
    chains: &[Vec<String>],
    settings: &ScanSettings,
) -> Result<Vec<PlannedAttempt>, PlanError> {
    if probes.is_empty() {
        return Err(PlanError::Empty);
    }
    let mut out = Vec::with_capacity(probes.len() * chains.len());
    for chain in chains {
        let mut level = Level::L1;
        for id in chain {
            let attack = lookup(id).ok_or_else(|| AttackError::Unknown(id.clone()))?;
            level = level.max(attack.spec.level);
        }
        let method = if chain.is_empty() {
            "plain".to_owned()
        } else {
            chain.join("+")
        };
        for probe in probes {
            let seq = i64::try_from(out.len()).unwrap_or(i64::MAX);
            let attempt_seed = aistr_core::seed::for_index(settings.seed, u64::try_from(seq).unwrap_or(0));
            let prepared = prepare(chain, probe, attempt_seed)?;
            let mut messages = prepared.messages;
            if let Some(sys) = &settings.system_prompt {
                match messages.first_mut() {
                    Some(first) if first.role == Role::System => {
                        first.content = format!("{sys}\n\n{}", first.content)
                    }
                    _ => messages.insert(0, Message::system(sys.clone())),
                }
            }
            out.push(PlannedAttempt {
                seq,
                probe: probe.clone(),
                level,
                method: method.clone(),
                chain: chain.clone(),
                request: ChatRequest {
                    messages,
                    max_tokens: settings.max_tokens,
                    temperature: settings.temperature,
                    seed: Some(settings.seed),
                    tools: Vec::new(),
                },
                canary: prepared.canary,
                decoders: prepared.answer_decoders,
            });
        }
    }
    Ok(out)
}
