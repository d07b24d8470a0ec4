//! Crescendo: a multi-turn conversation that starts harmless and moves towards the goal a step per
//! turn, each question written by the attacker from what the target already said. When the target
//! refuses, the refused exchange is dropped from the conversation (the target never sees it again)
//! and the attacker is asked for a softer question: a backtrack, up to `crescendo_max_backtracks`.

use crate::roles::{for_language, render, shorten};
use crate::session::Session;
use crate::{L3Error, SearchStats, Stop, next_prompt};
use aistr_attacks::attacker_output::extract_prompt;
use aistr_core::Message;

pub(crate) async fn run(s: &mut Session<'_>, stats: &mut SearchStats) -> Result<Stop, L3Error> {
    let role = &for_language(&s.probe.language).crescendo;
    let goal = s.goal().to_owned();
    let settings = s.settings().clone();
    let max_turns = settings.turn_budget.max(1);
    let max_turns_text = max_turns.to_string();
    let none_yet = if s.probe.language == "zh" {
        "（还没有）"
    } else {
        "(none yet)"
    };
    let mut attacker = vec![Message::system(render(
        &role.system,
        &[("goal", &goal), ("max_turns", &max_turns_text)],
    ))];
    let mut conversation: Vec<Message> = Vec::new();
    let mut questions: Vec<String> = Vec::new();
    let mut refused: Option<String> = None;
    let mut last_answer = String::new();
    let mut turn = 0;
    while turn < max_turns {
        if s.queries_left() == 0 {
            return Ok(Stop::QueryBudget);
        }
        let asked = if questions.is_empty() {
            none_yet.to_owned()
        } else {
            questions
                .iter()
                .enumerate()
                .map(|(i, q)| format!("{}. {q}", i + 1))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let turn_text = (turn + 1).to_string();
        let ask = match &refused {
            Some(prompt) => render(
                &role.refused,
                &[
                    ("goal", &goal),
                    ("prompt", &shorten(prompt, settings.feedback_chars)),
                    ("questions", &asked),
                    ("turn", &turn_text),
                    ("max_turns", &max_turns_text),
                ],
            ),
            None => render(
                &role.next,
                &[
                    ("goal", &goal),
                    ("questions", &asked),
                    (
                        "response",
                        &if last_answer.is_empty() {
                            none_yet.to_owned()
                        } else {
                            shorten(&last_answer, settings.feedback_chars)
                        },
                    ),
                    ("turn", &turn_text),
                    ("max_turns", &max_turns_text),
                ],
            ),
        };
        let branch = format!("t{turn}.b{}", stats.backtracks);
        let question = match next_prompt(s, &branch, &mut attacker, ask, None, 1, extract_prompt).await? {
            Ok(q) => q,
            Err(stop) => {
                return Ok(if s.target_queries == 0 || stop == Stop::AttackerFailed {
                    stop
                } else {
                    Stop::AttackerUnusable
                });
            }
        };
        let mut attempt = conversation.clone();
        attempt.push(Message::user(question.clone()));
        let answer = s.ask_target(&branch, &attempt, turn + 1).await?;
        if answer.risky() {
            return Ok(Stop::Success);
        }
        if answer.declined() && stats.backtracks < settings.crescendo_max_backtracks {
            stats.backtracks += 1;
            refused = Some(question);
            continue;
        }
        refused = None;
        attempt.push(Message::assistant(answer.text.clone()));
        conversation = attempt;
        questions.push(question);
        last_answer = answer.text;
        turn += 1;
    }
    Ok(Stop::TurnBudget)
}
