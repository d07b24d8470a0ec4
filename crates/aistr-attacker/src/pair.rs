//! PAIR (Prompt Automatic Iterative Refinement): several independent streams, each an attacker chat
//! that proposes a prompt, sees the target's answer and the judge's score, and proposes a better
//! one, until an answer is risky or the iterations or queries run out.

use crate::roles::{for_language, render, shorten};
use crate::session::{Answer, Session};
use crate::{L3Error, SearchStats, Stop, next_prompt};
use aistr_attacks::attacker_output::extract_prompt;
use aistr_core::Message;

pub(crate) async fn run(s: &mut Session<'_>, _stats: &mut SearchStats) -> Result<Stop, L3Error> {
    let role = &for_language(&s.probe.language).pair;
    let goal = s.goal().to_owned();
    let streams = usize::try_from(s.settings().pair_streams.max(1)).unwrap_or(1);
    let iterations = s.settings().turn_budget.max(1);
    let feedback_chars = s.settings().feedback_chars;
    let system = render(&role.system, &[("goal", &goal)]);
    let mut histories: Vec<Vec<Message>> = vec![vec![Message::system(system)]; streams];
    let mut last: Vec<Option<(String, Answer)>> = vec![None; streams];
    for iteration in 0..iterations {
        for stream in 0..streams {
            if s.queries_left() == 0 {
                return Ok(Stop::QueryBudget);
            }
            let ask = match &last[stream] {
                None => render(&role.start, &[("goal", &goal)]),
                Some((prompt, answer)) => render(
                    &role.feedback,
                    &[
                        ("goal", &goal),
                        ("prompt", &shorten(prompt, feedback_chars)),
                        ("response", &shorten(&answer.text, feedback_chars)),
                        ("score", &answer.score.to_string()),
                    ],
                ),
            };
            let branch = format!("s{stream}.i{iteration}");
            let prompt = match next_prompt(
                s,
                &branch,
                &mut histories[stream],
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
            let answer = s
                .ask_target(&branch, &[Message::user(prompt.clone())], iteration + 1)
                .await?;
            if answer.risky() {
                return Ok(Stop::Success);
            }
            last[stream] = Some((prompt, answer));
        }
    }
    Ok(if s.target_queries == 0 {
        Stop::AttackerUnusable
    } else {
        Stop::TurnBudget
    })
}
