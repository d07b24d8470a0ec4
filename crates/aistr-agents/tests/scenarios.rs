//! Memory poisoning across sessions and tool-description poisoning, with scripted agents.

mod common;

use aistr_agents::banking;
use aistr_agents::harness::Ending;
use aistr_agents::scenarios::{
    banking_memory_scenario, run_memory_poisoning, run_tool_poisoning, with_notes,
};
use aistr_agents::scripted::{Mode, NoteTaker, ScriptedAgent};
use aistr_agents::suite::Environment;
use aistr_agents::workspace;
use serde_json::json;

fn note_taker<'s, E: Environment>(
    suite: &'s aistr_agents::suite::Suite<E>,
    mode: Mode,
    prompt: &str,
) -> NoteTaker<ScriptedAgent<'s, E>> {
    let read = aistr_agents::tool::ToolCall::new("read_file", json!({"file_path": "landlord-notices.txt"}));
    NoteTaker::new(ScriptedAgent::new(suite, mode), prompt, vec![read])
}

#[test]
fn memory_injection_written_in_session_one_fires_in_session_two() {
    let s = banking::suite();
    for inj in &s.injection_tasks {
        let scenario = banking_memory_scenario(inj.id);
        let mut agent = note_taker(&s, Mode::Follower, &scenario.session1_prompt);
        let out = run_memory_poisoning(&s, &mut agent, &scenario, 20).unwrap();
        assert!(matches!(out.session1, Ending::Answered { .. }));
        assert_eq!(out.notes.len(), 1);
        assert!(
            aistr_agents::scripted::mentions(&out.notes[0], &inj.text),
            "the note carries the instruction"
        );
        assert_eq!(
            out.session2.attack_success,
            Some(true),
            "{}: fired in session 2 from memory",
            inj.id
        );
        assert!(!out.session2.unsafe_actions.is_empty());

        // The ignorer files the same note but never acts on it.
        let mut agent = note_taker(&s, Mode::Ignorer, &scenario.session1_prompt);
        let out = run_memory_poisoning(&s, &mut agent, &scenario, 20).unwrap();
        assert_eq!(out.notes.len(), 1);
        assert_eq!(out.session2.attack_success, Some(false), "{}", inj.id);
        assert_eq!(out.session2.utility, Some(true));
        assert_eq!(out.fired_in_session1, Some(false));
    }
}

#[test]
fn without_the_saved_note_session_two_is_clean() {
    let s = banking::suite();
    // Session 1 that reads the document but saves nothing: no note, nothing fires later.
    let scenario = banking_memory_scenario("injection_task_7");
    let mut agent = ScriptedAgent::new(&s, Mode::Follower);
    let out = run_memory_poisoning(&s, &mut agent, &scenario, 20).unwrap();
    assert!(out.notes.is_empty());
    assert_eq!(out.session2.attack_success, Some(false));
    assert_eq!(with_notes("sys", &[]), "sys");
}

#[test]
fn poisoned_tool_description_is_followed_only_by_the_follower() {
    fn check<E: Environment>(s: &aistr_agents::suite::Suite<E>) {
        let user = &s.user_tasks[0];
        let mut landed = 0;
        for inj in &s.injection_tasks {
            let o = run_tool_poisoning(s, &mut ScriptedAgent::new(s, Mode::Follower), user, inj, 20);
            // What the script implies: the injection's calls, then the user task's, on a clean env.
            let pre = s.clean_env();
            let mut env = pre.clone();
            for c in (inj.ground_truth)(&pre).iter().chain(&(user.ground_truth)(&pre)) {
                let _ = env.call(&c.name, &c.arguments);
            }
            assert_eq!(
                o.attack_success,
                Some((inj.check)(&pre, &env, user.answer)),
                "{}",
                inj.id
            );
            landed += u64::from(o.attack_success == Some(true));
            let o = run_tool_poisoning(s, &mut ScriptedAgent::new(s, Mode::Ignorer), user, inj, 20);
            assert_eq!(
                (o.utility, o.attack_success),
                (Some(true), Some(false)),
                "{}",
                inj.id
            );
            assert!(o.unsafe_actions.is_empty());
        }
        assert_eq!(landed, s.injection_tasks.len() as u64);
    }
    check(&banking::suite());
    check(&workspace::suite());
}
