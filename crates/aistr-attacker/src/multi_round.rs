//! Multi-round: the attacker splits the goal into sub-questions that look innocuous one by one; the
//! target answers them in one conversation, then is asked to put its answers together. The whole
//! conversation is the sample: any risky turn is a success.

use crate::roles::{for_language, render};
use crate::session::Session;
use crate::{L3Error, SearchStats, Stop};
use aistr_attacks::attacker_output::extract_list;
use aistr_core::Message;

pub(crate) async fn run(s: &mut Session<'_>, _stats: &mut SearchStats) -> Result<Stop, L3Error> {
    let role = &for_language(&s.probe.language).multi_round;
    let goal = s.goal().to_owned();
    let settings = s.settings().clone();
    let sub_questions = settings.turn_budget.saturating_sub(1).max(1);
    let ask = render(&role.split, &[("goal", &goal), ("n", &sub_questions.to_string())]);
    let request = vec![Message::system(render(&role.system, &[])), Message::user(ask)];
    let mut items = Vec::new();
    for _ in 0..=settings.attacker_format_retries {
        let Some(reply) = s.ask_attacker("split", request.clone()).await? else {
            return Ok(Stop::AttackerFailed);
        };
        items = extract_list(&reply);
        if !items.is_empty() {
            break;
        }
    }
    if items.is_empty() {
        return Ok(Stop::AttackerUnusable);
    }
    items.truncate(usize::try_from(sub_questions).unwrap_or(usize::MAX));
    let mut conversation: Vec<Message> = Vec::new();
    let closing = render(&role.combine, &[("goal", &goal)]);
    let total = u32::try_from(items.len()).unwrap_or(u32::MAX) + 1;
    for (i, question) in items.into_iter().chain(std::iter::once(closing)).enumerate() {
        if s.queries_left() == 0 {
            return Ok(Stop::QueryBudget);
        }
        let turn = u32::try_from(i).unwrap_or(u32::MAX) + 1;
        let branch = if turn == total {
            "combine".to_owned()
        } else {
            format!("t{i}")
        };
        conversation.push(Message::user(question));
        let answer = s.ask_target(&branch, &conversation, turn).await?;
        if answer.risky() {
            return Ok(Stop::Success);
        }
        conversation.push(Message::assistant(answer.text));
    }
    Ok(Stop::TurnBudget)
}
