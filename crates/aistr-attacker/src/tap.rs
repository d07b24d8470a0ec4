//! TAP (Tree of Attacks with Pruning): every kept node asks the attacker for `tap_branching`
//! refinements; refinements that drifted off the goal are pruned before they reach the target
//! (phase one, by `aistr_judge::topic_relevance`); the rest are sent and scored, and only the
//! `tap_width` best become the next depth's nodes (phase two).

use crate::roles::{for_language, render, shorten};
use crate::session::{Answer, Session};
use crate::{L3Error, SearchStats, Stop, next_prompt};
use aistr_attacks::attacker_output::extract_prompt;
use aistr_core::Message;
use aistr_judge::topic_relevance;

struct Node {
    /// The attacker chat that led here.
    history: Vec<Message>,
    /// The prompt this node sent and the answer it got.
    last: Option<(String, Answer)>,
}

pub(crate) async fn run(s: &mut Session<'_>, stats: &mut SearchStats) -> Result<Stop, L3Error> {
    let role = &for_language(&s.probe.language).tap;
    let goal = s.goal().to_owned();
    let settings = s.settings().clone();
    let system = render(&role.system, &[("goal", &goal)]);
    let mut leaves = vec![Node {
        history: vec![Message::system(system)],
        last: None,
    }];
    for depth in 0..settings.turn_budget.max(1) {
        let mut children: Vec<(String, Vec<Message>, String)> = Vec::new();
        for (n, leaf) in leaves.iter().enumerate() {
            for k in 0..settings.tap_branching.max(1) {
                let ask = match &leaf.last {
                    None => render(&role.start, &[("goal", &goal)]),
                    Some((prompt, answer)) => render(
                        &role.feedback,
                        &[
                            ("goal", &goal),
                            ("prompt", &shorten(prompt, settings.feedback_chars)),
                            ("response", &shorten(&answer.text, settings.feedback_chars)),
                            ("score", &answer.score.to_string()),
                        ],
                    ),
                };
                let branch = format!("d{depth}.n{n}.b{k}");
                let mut history = leaf.history.clone();
                let prompt = match next_prompt(
                    s,
                    &branch,
                    &mut history,
                    ask,
                    Some(&role.reminder),
                    2,
                    extract_prompt,
                )
                .await?
                {
                    Ok(p) => p,
                    Err(Stop::AttackerFailed) => return Ok(Stop::AttackerFailed),
                    Err(_) => continue,
                };
                if topic_relevance(&goal, &prompt) < settings.tap_off_topic_below {
                    stats.pruned_off_topic += 1;
                    continue;
                }
                children.push((branch, history, prompt));
            }
        }
        if children.is_empty() {
            return Ok(if s.target_queries == 0 && stats.pruned_off_topic == 0 {
                Stop::AttackerUnusable
            } else {
                Stop::AllPruned
            });
        }
        let mut scored = Vec::with_capacity(children.len());
        for (branch, history, prompt) in children {
            if s.queries_left() == 0 {
                return Ok(Stop::QueryBudget);
            }
            let answer = s
                .ask_target(&branch, &[Message::user(prompt.clone())], depth + 1)
                .await?;
            if answer.risky() {
                return Ok(Stop::Success);
            }
            scored.push(Node {
                history,
                last: Some((prompt, answer)),
            });
        }
        // Stable: equal scores keep their order, so the search is deterministic.
        scored.sort_by_key(|n| std::cmp::Reverse(n.last.as_ref().map_or(0, |(_, a)| a.score)));
        let width = usize::try_from(settings.tap_width.max(1)).unwrap_or(1);
        if scored.len() > width {
            stats.pruned_width += u32::try_from(scored.len() - width).unwrap_or(u32::MAX);
            scored.truncate(width);
        }
        leaves = scored;
    }
    Ok(Stop::TurnBudget)
}
