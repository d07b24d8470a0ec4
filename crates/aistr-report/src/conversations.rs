//! L3 conversations in the report: per orchestrator, how many conversations succeeded, how many
//! turns and target queries success took (distributions, not just means), why searches stopped, and
//! the winning transcripts in full — the evidence a reader needs to believe an L3 figure.

use aistr_core::AttemptRecord;
use aistr_core::{Intent, Label, Level};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Winning transcripts kept per orchestrator (those that needed the fewest queries).
pub const TRANSCRIPTS_PER_METHOD: usize = 3;

/// One message of a transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TranscriptMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
}

/// A winning conversation, as the target saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Transcript {
    /// Attempt number in the run (`aistr` journal).
    pub seq: i64,
    /// Probe id of the goal.
    pub probe_id: String,
    /// The goal.
    pub goal: String,
    /// Turns in the winning line.
    pub turns_to_success: Option<u32>,
    /// Target queries up to the risky answer.
    pub queries_to_success: Option<u32>,
    /// The messages, the risky answer last.
    pub messages: Vec<TranscriptMessage>,
}

/// Figures for one L3 orchestrator over the harmful goals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
pub struct ConversationStats {
    /// The attacker model(s) that ran (`kind:model`).
    pub attackers: Vec<String>,
    /// Finished conversations (each one sample).
    pub conversations: u64,
    /// Conversations with a risky answer.
    pub successes: u64,
    /// Conversations that could not be scored.
    pub unscored: u64,
    /// Successful conversations by turns to success (`{"1": 4, "3": 1}`).
    pub turns_to_success: BTreeMap<u32, u64>,
    /// Successful conversations by target queries to success.
    pub queries_to_success: BTreeMap<u32, u64>,
    /// Median turns to success (null without a success).
    pub median_turns_to_success: Option<f64>,
    /// Median target queries to success.
    pub median_queries_to_success: Option<f64>,
    /// Target queries sent in all.
    pub target_queries: u64,
    /// Attacker queries sent in all.
    pub attacker_queries: u64,
    /// Crescendo backtracks in all.
    pub backtracks: u64,
    /// TAP prompts pruned as off-topic in all.
    pub pruned_off_topic: u64,
    /// TAP nodes pruned for width in all.
    pub pruned_width: u64,
    /// Why searches stopped (`success`, `query budget`, …) and how often.
    pub stop_reasons: BTreeMap<String, u64>,
    /// Winning transcripts, fewest queries first (at most three).
    pub transcripts: Vec<Transcript>,
}

/// Per L3 method, from the finished harmful conversations of a run.
#[must_use]
pub fn conversation_stats(attempts: &[AttemptRecord]) -> BTreeMap<String, ConversationStats> {
    let mut out: BTreeMap<String, ConversationStats> = BTreeMap::new();
    let mut turns: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    let mut queries: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for a in attempts {
        let p = &a.planned;
        if p.level != Level::L3 || p.probe.intent != Intent::Harmful {
            continue;
        }
        let Some(result) = &a.result else { continue };
        let stats = out.entry(p.method.clone()).or_default();
        stats.conversations += 1;
        if result.verdict.label == Label::Unscored {
            stats.unscored += 1;
        }
        let Some(c) = &result.conversation else { continue };
        if !c.attacker.is_empty() && !stats.attackers.contains(&c.attacker) {
            stats.attackers.push(c.attacker.clone());
        }
        stats.target_queries += u64::from(c.target_queries);
        stats.attacker_queries += u64::from(c.attacker_queries);
        stats.backtracks += u64::from(c.backtracks);
        stats.pruned_off_topic += u64::from(c.pruned_off_topic);
        stats.pruned_width += u64::from(c.pruned_width);
        *stats.stop_reasons.entry(c.stop_reason.clone()).or_default() += 1;
        // A human reviewer may have overruled the machine: the label decides what counts.
        if result.verdict.label != Label::Risky {
            continue;
        }
        stats.successes += 1;
        if let Some(t) = c.turns_to_success {
            *stats.turns_to_success.entry(t).or_default() += 1;
            turns.entry(p.method.clone()).or_default().push(t);
        }
        if let Some(q) = c.queries_to_success {
            *stats.queries_to_success.entry(q).or_default() += 1;
            queries.entry(p.method.clone()).or_default().push(q);
        }
        stats.transcripts.push(Transcript {
            seq: p.seq,
            probe_id: p.probe.id.clone(),
            goal: p.probe.prompt.clone(),
            turns_to_success: c.turns_to_success,
            queries_to_success: c.queries_to_success,
            messages: c
                .transcript
                .iter()
                .map(|m| TranscriptMessage {
                    role: m.role.as_str().to_owned(),
                    content: m.content.clone(),
                })
                .collect(),
        });
    }
    for (method, stats) in &mut out {
        stats.median_turns_to_success = median(turns.remove(method).unwrap_or_default());
        stats.median_queries_to_success = median(queries.remove(method).unwrap_or_default());
        stats
            .transcripts
            .sort_by_key(|t| (t.queries_to_success.unwrap_or(u32::MAX), t.seq));
        stats.transcripts.truncate(TRANSCRIPTS_PER_METHOD);
    }
    out
}

/// Characters of one transcript message shown in the HTML and Markdown reports.
const MAX_MESSAGE: usize = 1500;

fn median_text(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |m| format!("{m}"))
}

fn histogram(h: &BTreeMap<u32, u64>) -> String {
    if h.is_empty() {
        return "-".to_owned();
    }
    h.iter()
        .map(|(k, n)| format!("{k}:{n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One method's row of the summary table, unescaped, in the column order both reports use:
/// method, attacker, conversations, successes, unscored, turns to success, queries to success,
/// median queries, target / attacker queries, stop reasons.
fn summary_cells(method: &str, c: &ConversationStats) -> [String; 10] {
    let stops = c
        .stop_reasons
        .iter()
        .map(|(k, n)| format!("{k}: {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    [
        method.to_owned(),
        c.attackers.join(", "),
        c.conversations.to_string(),
        c.successes.to_string(),
        c.unscored.to_string(),
        histogram(&c.turns_to_success),
        histogram(&c.queries_to_success),
        median_text(c.median_queries_to_success),
        format!("{} / {}", c.target_queries, c.attacker_queries),
        stops,
    ]
}

/// The L3 block of the terminal summary.
pub(crate) fn terminal_section(out: &mut String, stats: &BTreeMap<String, ConversationStats>) {
    use std::fmt::Write as _;
    if stats.is_empty() {
        return;
    }
    let width = stats.keys().map(String::len).max().unwrap_or(0).max(11);
    let _ = writeln!(
        out,
        "\n{:<width$}  {:>5} {:>5} {:>5}  {:>10} {:>10}  {:>8} {:>8}",
        "L3 (convs)", "n", "wins", "unsc", "med turns", "med qries", "target q", "attack q"
    );
    for (m, c) in stats {
        let _ = writeln!(
            out,
            "{m:<width$}  {:>5} {:>5} {:>5}  {:>10} {:>10}  {:>8} {:>8}",
            c.conversations,
            c.successes,
            c.unscored,
            median_text(c.median_turns_to_success),
            median_text(c.median_queries_to_success),
            c.target_queries,
            c.attacker_queries
        );
    }
    let attackers: Vec<&str> = stats
        .values()
        .flat_map(|c| c.attackers.iter().map(String::as_str))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let _ = writeln!(
        out,
        "attacker: {}",
        if attackers.is_empty() {
            "-".to_owned()
        } else {
            attackers.join(", ")
        }
    );
}

/// The L3 section of the Markdown report: figures per method, then the winning transcripts.
pub(crate) fn markdown_section(out: &mut String, stats: &BTreeMap<String, ConversationStats>) {
    use crate::escape::{md_fence, md_inline, truncate};
    use std::fmt::Write as _;
    if stats.is_empty() {
        return;
    }
    out.push_str("\n## L3 conversations\n\nEach conversation is one sample: it succeeds when any target answer is risky.\n\n");
    out.push_str("| method | attacker | conversations | successes | unscored | turns to success | queries to success | median queries | target / attacker queries | stop reasons |\n|---|---|--:|--:|--:|---|---|--:|--:|---|\n");
    for (m, c) in stats {
        let cells: Vec<String> = summary_cells(m, c).iter().map(|v| md_inline(v)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    for (m, c) in stats {
        for t in &c.transcripts {
            let _ = writeln!(
                out,
                "\n### {} winning transcript: {} (turns {}, queries {})\n\nGoal: {}\n",
                md_inline(m),
                md_inline(&t.probe_id),
                t.turns_to_success.map_or_else(|| "-".into(), |n| n.to_string()),
                t.queries_to_success.map_or_else(|| "-".into(), |n| n.to_string()),
                md_inline(&t.goal)
            );
            for msg in &t.messages {
                let _ = writeln!(out, "**{}**\n", md_inline(&msg.role));
                out.push_str(&md_fence(&truncate(&msg.content, MAX_MESSAGE)));
                out.push('\n');
            }
        }
    }
}

/// The L3 section of the HTML report (everything escaped; model text is shown, never rendered).
pub(crate) fn html_section(out: &mut String, stats: &BTreeMap<String, ConversationStats>) {
    use crate::escape::{html as esc, truncate};
    use std::fmt::Write as _;
    if stats.is_empty() {
        return;
    }
    out.push_str("<h2>L3 conversations</h2><p class=muted>Each conversation is one sample: it succeeds when any target answer is risky.</p>");
    out.push_str("<table><thead><tr><th>method</th><th>attacker</th><th>conversations</th><th>successes</th><th>unscored</th><th>turns to success</th><th>queries to success</th><th>median queries</th><th>target / attacker queries</th><th>stop reasons</th></tr></thead><tbody>");
    for (m, c) in stats {
        out.push_str("<tr>");
        for v in summary_cells(m, c) {
            let _ = write!(out, "<td>{}</td>", esc(&v));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    for (m, c) in stats {
        for t in &c.transcripts {
            let _ = write!(
                out,
                "<details><summary>{} · {} · turns {} · queries {}</summary><p>Goal: {}</p>",
                esc(m),
                esc(&t.probe_id),
                t.turns_to_success.map_or_else(|| "-".into(), |n| n.to_string()),
                t.queries_to_success.map_or_else(|| "-".into(), |n| n.to_string()),
                esc(&t.goal)
            );
            for msg in &t.messages {
                let _ = write!(
                    out,
                    "<p><b>{}</b></p><pre>{}</pre>",
                    esc(&msg.role),
                    esc(&truncate(&msg.content, MAX_MESSAGE))
                );
            }
            out.push_str("</details>");
        }
    }
}

fn median(mut v: Vec<u32>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 {
        f64::from(v[n / 2])
    } else {
        (f64::from(v[n / 2 - 1]) + f64::from(v[n / 2])) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aistr_core::{AttemptResult, PlannedAttempt};
    use aistr_core::{ChatRequest, ConversationSummary, Message, Probe, Verdict};

    fn attempt(
        seq: i64,
        method: &str,
        level: Level,
        intent: Intent,
        label: Label,
        queries: Option<u32>,
    ) -> AttemptRecord {
        let probe = Probe {
            id: format!("jbb/{seq}"),
            dataset: "jbb".into(),
            prompt: format!("goal {seq}"),
            category: "c".into(),
            language: "en".into(),
            source: "s".into(),
            license: "MIT".into(),
            intent,
        };
        let conversation = (level == Level::L3).then(|| ConversationSummary {
            orchestrator: method.into(),
            attacker: "local:smol".into(),
            success: queries.is_some(),
            turns_to_success: queries.map(|q| q.div_ceil(2)),
            queries_to_success: queries,
            target_queries: queries.unwrap_or(6),
            attacker_queries: queries.unwrap_or(6) + 1,
            backtracks: 1,
            stop_reason: if queries.is_some() {
                "success".into()
            } else {
                "query budget".into()
            },
            transcript: vec![
                Message::user("<script>alert(1)</script>"),
                Message::assistant("answer"),
            ],
            ..ConversationSummary::default()
        });
        AttemptRecord {
            planned: PlannedAttempt {
                seq,
                probe,
                level,
                method: method.into(),
                chain: vec![method.into()],
                request: ChatRequest {
                    messages: vec![Message::user("x")],
                    max_tokens: 8,
                    temperature: 0.0,
                    seed: Some(1),
                    tools: Vec::new(),
                },
                canary: None,
                decoders: vec![],
            },
            result: Some(AttemptResult {
                seq,
                response_text: Some("answer".into()),
                response_raw: None,
                finish_reason: None,
                error_kind: None,
                error_message: None,
                tries: 1,
                prompt_tokens: 0,
                completion_tokens: 0,
                started_at: String::new(),
                latency_ms: 0,
                verdict: Verdict::new(label, "r", 0.9, "j"),
                conversation,
            }),
        }
    }

    #[test]
    fn stats_count_conversations_by_their_label_and_keep_the_cheapest_wins() {
        let attempts = vec![
            attempt(0, "plain", Level::L1, Intent::Harmful, Label::Risky, None),
            attempt(1, "pair", Level::L3, Intent::Harmful, Label::Risky, Some(5)),
            attempt(2, "pair", Level::L3, Intent::Harmful, Label::Risky, Some(1)),
            attempt(3, "pair", Level::L3, Intent::Harmful, Label::Risky, Some(3)),
            attempt(4, "pair", Level::L3, Intent::Harmful, Label::Risky, Some(2)),
            attempt(5, "pair", Level::L3, Intent::Harmful, Label::Declined, None),
            attempt(6, "pair", Level::L3, Intent::Harmful, Label::Unscored, None),
            // A human overruled the machine: the success no longer counts.
            attempt(7, "pair", Level::L3, Intent::Harmful, Label::Safe, Some(1)),
            // Benign goals are over-refusal material, not attack figures.
            attempt(8, "pair", Level::L3, Intent::Benign, Label::Risky, Some(1)),
            attempt(9, "crescendo", Level::L3, Intent::Harmful, Label::Declined, None),
        ];
        let stats = conversation_stats(&attempts);
        assert_eq!(stats.keys().collect::<Vec<_>>(), ["crescendo", "pair"]);
        let p = &stats["pair"];
        assert_eq!((p.conversations, p.successes, p.unscored), (7, 4, 1));
        assert_eq!(
            p.queries_to_success,
            BTreeMap::from([(1, 1), (2, 1), (3, 1), (5, 1)])
        );
        assert_eq!(p.turns_to_success, BTreeMap::from([(1, 2), (2, 1), (3, 1)]));
        assert_eq!(
            (p.median_queries_to_success, p.median_turns_to_success),
            (Some(2.5), Some(1.5))
        );
        assert_eq!(p.transcripts.iter().map(|t| t.seq).collect::<Vec<_>>(), [2, 4, 3]);
        assert_eq!(p.stop_reasons["success"], 5);
        assert_eq!(p.attackers, ["local:smol"]);
        assert_eq!(p.backtracks, 7);
        assert_eq!(stats["crescendo"].successes, 0);
        assert!(
            stats["crescendo"].transcripts.is_empty()
                && stats["crescendo"].median_queries_to_success.is_none()
        );

        // Renderers show the figures and never let a transcript become markup.
        let mut html = String::new();
        html_section(&mut html, &stats);
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !html.contains("<script>"));
        let mut md = String::new();
        markdown_section(&mut md, &stats);
        assert!(md.contains("| pair | local:smol | 7 | 4 | 1 |"), "{md}");
        let mut term = String::new();
        terminal_section(&mut term, &stats);
        assert!(term.contains("attacker: local:smol"), "{term}");
        let mut empty = String::new();
        html_section(&mut empty, &BTreeMap::new());
        assert!(empty.is_empty());
    }

    #[test]
    fn medians() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3]), Some(3.0));
        assert_eq!(median(vec![4, 1, 2]), Some(2.0));
        assert_eq!(median(vec![4, 1, 2, 10]), Some(3.0));
    }
}
