//! The agents section of a report: per suite, benign utility, utility under attack and targeted
//! attack success rate per attack (each over scored episodes, with its Wilson interval and counts),
//! unsafe-action counts, and unscored episodes counted apart. Computed from the journal: each agent
//! episode's verdict carries its scored outcome (aistr-agents' `EpisodeOutcome`, JSON) in the raw
//! field of stage [`OUTCOME_STAGE`], and the figures are aistr-agents' own `summarize` over them.
//! Absent when the run had no agent episode.

use aistr_agents::harness::EpisodeOutcome;
use aistr_agents::metrics::{Rate, SuiteMetrics, summarize};
use aistr_core::AttemptRecord;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Stage id whose record's raw field holds an agent episode's outcome.
pub const OUTCOME_STAGE: &str = "agents-outcome-v1";

/// The agents section of `report.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentsSection {
    /// Episodes recorded (scored or not).
    pub episodes: u64,
    /// Of them, unscored: the step budget ran out or the transport failed (never counted as safe,
    /// in no denominator).
    pub unscored: u64,
    /// Per suite, in run order.
    pub suites: Vec<SuiteMetrics>,
}

/// The outcome recorded for an attempt, if it is an agent episode.
#[must_use]
pub fn outcome_of(a: &AttemptRecord) -> Option<EpisodeOutcome> {
    let r = a.result.as_ref()?;
    let stage = r.verdict.stages.iter().find(|s| s.stage == OUTCOME_STAGE)?;
    serde_json::from_str(stage.raw.as_deref()?).ok()
}

/// The section for a run's attempts (`target` names the target in the figures); None without agent
/// episodes.
#[must_use]
pub fn agents_section(target: &str, attempts: &[AttemptRecord]) -> Option<AgentsSection> {
    let outcomes: Vec<EpisodeOutcome> = attempts.iter().filter_map(outcome_of).collect();
    if outcomes.is_empty() {
        return None;
    }
    Some(AgentsSection {
        episodes: outcomes.len() as u64,
        unscored: outcomes.iter().filter(|o| !o.is_scored()).count() as u64,
        suites: summarize(target, &outcomes),
    })
}

fn rate(r: &Rate) -> String {
    match (r.rate, r.ci95) {
        (Some(v), Some((a, b))) => format!(
            "{:.1}% [{:.1}%, {:.1}%] ({}/{})",
            v * 100.0,
            a * 100.0,
            b * 100.0,
            r.k,
            r.n
        ),
        _ => format!("n/a ({}/{})", r.k, r.n),
    }
}

/// Terminal lines of the section.
#[must_use]
pub fn agents_terminal(s: &AgentsSection) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nagents: {} episodes ({} unscored: step budget or transport, never safe)",
        s.episodes, s.unscored
    );
    for m in &s.suites {
        let _ = writeln!(
            out,
            "  {:<10} benign utility {}, {} unscored",
            m.suite,
            rate(&m.benign_utility),
            m.benign_unscored
        );
        for a in &m.attacks {
            let _ = writeln!(
                out,
                "    {}: utility under attack {}, targeted ASR {}, {} unscored, {} unsafe actions",
                a.attack,
                rate(&a.utility_under_attack),
                rate(&a.targeted_asr),
                a.unscored,
                a.unsafe_actions
            );
        }
    }
    out
}

/// The Markdown section.
#[must_use]
pub fn agents_markdown(s: &AgentsSection) -> String {
    let mut out = format!(
        "\n## Agents\n\n{} episodes, {} unscored (step budget spent or transport failure; in no denominator, never safe). Rates are over scored episodes, with Wilson 95% intervals and counts.\n\n| suite | attack | benign utility | utility under attack | targeted ASR | unscored | unsafe actions |\n|---|---|--:|--:|--:|--:|--:|\n",
        s.episodes, s.unscored
    );
    for m in &s.suites {
        let _ = writeln!(
            out,
            "| {} | (none) | {} | | | {} | {} |",
            crate::escape::md_inline(&m.suite),
            rate(&m.benign_utility),
            m.benign_unscored,
            m.benign_unsafe_actions
        );
        for a in &m.attacks {
            let _ = writeln!(
                out,
                "| {} | {} | | {} | {} | {} | {} |",
                crate::escape::md_inline(&m.suite),
                crate::escape::md_inline(&a.attack),
                rate(&a.utility_under_attack),
                rate(&a.targeted_asr),
                a.unscored,
                a.unsafe_actions
            );
        }
    }
    out
}
