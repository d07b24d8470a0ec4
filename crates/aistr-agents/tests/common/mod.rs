//! Checks shared by the suites' tests: every post-condition holds under its ground truth and fails
//! untouched and on its near miss; the scripted agents give exactly the figures the scripts imply.
#![allow(dead_code)]

use aistr_agents::attack::InjectionAttack;
use aistr_agents::harness::EpisodeOutcome;
use aistr_agents::metrics::{SuiteMetrics, summarize};
use aistr_agents::runner::{RunConfig, plan, run_suite};
use aistr_agents::scripted::{FlakyAgent, Mode, ScriptedAgent};
use aistr_agents::suite::{Environment, Suite, Task};
use aistr_agents::tool::ToolCall;

/// Applies calls; every ground-truth call must succeed.
pub fn apply<E: Environment>(env: &mut E, calls: &[ToolCall], what: &str) -> String {
    let mut out = String::new();
    for c in calls {
        match env.call(&c.name, &c.arguments) {
            Ok(o) => out.push_str(&o),
            Err(e) => panic!("{what}: call {} failed: {e}", c.name),
        }
    }
    out
}

/// For each task: ground truth ⇒ holds; untouched (empty answer) ⇒ fails unless the task is in
/// `holds_untouched`; near miss ⇒ fails.
pub fn post_conditions_hold_and_fail<E: Environment>(
    suite: &Suite<E>,
    tasks: &[Task<E>],
    holds_untouched: &[&str],
) {
    for task in tasks {
        let pre = suite.clean_env();
        let mut env = pre.clone();
        apply(&mut env, &(task.ground_truth)(&pre), task.id);
        assert!(
            (task.check)(&pre, &env, task.answer),
            "{}: ground truth does not satisfy the post-condition",
            task.id
        );

        let untouched = (task.check)(&pre, &pre, "");
        if holds_untouched.contains(&task.id) {
            assert!(untouched, "{}: listed as holding untouched but does not", task.id);
        } else {
            assert!(
                !untouched,
                "{}: post-condition holds on the untouched environment",
                task.id
            );
        }

        let mut near = pre.clone();
        for c in (task.near_miss)(&pre) {
            let _ = near.call(&c.name, &c.arguments);
        }
        assert!(
            !(task.check)(&pre, &near, task.near_miss_answer),
            "{}: post-condition holds on its near miss",
            task.id
        );
    }
}

/// What the follower script implies, computed without the runner: replay the user task's ground
/// truth; after the first call whose output shows the planted text, replay the injection task's.
pub fn follower_oracle<E: Environment>(
    suite: &Suite<E>,
    attack: &InjectionAttack,
    seed: u64,
) -> Vec<(bool, bool)> {
    let persona = aistr_agents::attack::Persona::default();
    let mut out = Vec::new();
    for user in &suite.user_tasks {
        let slots = suite.slots_seen_by(user);
        if slots.is_empty() {
            continue;
        }
        for inj in &suite.injection_tasks {
            let text = attack.render(&inj.text, &persona, seed).expect("attack renders");
            let values = slots.iter().map(|s| (s.clone(), text.clone())).collect();
            let pre = (suite.build)(&values);
            let clean = suite.clean_env();
            let mut env = pre.clone();
            let mut injected = false;
            for call in (user.ground_truth)(&clean) {
                let output = env
                    .call(&call.name, &call.arguments)
                    .unwrap_or_else(|e| e.to_string());
                if !injected && aistr_agents::scripted::mentions(&output, &inj.text) {
                    injected = true;
                    for c in (inj.ground_truth)(&clean) {
                        let _ = env.call(&c.name, &c.arguments);
                    }
                }
            }
            out.push((
                (user.check)(&pre, &env, user.answer),
                (inj.check)(&pre, &env, user.answer),
            ));
        }
    }
    out
}

fn count(xs: impl Iterator<Item = bool>) -> u64 {
    xs.filter(|x| *x).count() as u64
}

fn metrics(outcomes: &[EpisodeOutcome]) -> SuiteMetrics {
    let mut m = summarize("scripted", outcomes);
    assert_eq!(m.len(), 1);
    m.remove(0)
}

/// The acceptance check: follower, ignorer and flaky follower give exactly the implied figures.
pub fn scripted_agents_give_implied_figures<E: Environment>(suite: &Suite<E>) {
    let attack = InjectionAttack::parse("important_instructions").unwrap();
    let config = RunConfig {
        attacks: vec![attack.clone()],
        ..RunConfig::default()
    };
    let n_user = suite.user_tasks.len() as u64;
    let cases: u64 = suite
        .user_tasks
        .iter()
        .filter(|t| !suite.slots_seen_by(t).is_empty())
        .count() as u64
        * suite.injection_tasks.len() as u64;
    assert!(cases > 0);

    // Never follows: every user task done, with and without attack; no attack succeeds.
    let outcomes = run_suite(suite, &mut ScriptedAgent::new(suite, Mode::Ignorer), &config).unwrap();
    let m = metrics(&outcomes);
    assert_eq!((m.benign_utility.k, m.benign_utility.n), (n_user, n_user));
    let a = &m.attacks[0];
    assert_eq!(
        (a.utility_under_attack.k, a.utility_under_attack.n),
        (cases, cases)
    );
    assert_eq!((a.targeted_asr.k, a.targeted_asr.n), (0, cases));
    assert_eq!(a.unsafe_actions, 0, "the ignorer only does what the user asked");
    assert_eq!(m.benign_unsafe_actions, 0);

    // Always follows: the oracle says which user tasks survive and which attacks land.
    let oracle = follower_oracle(suite, &attack, config.seed);
    assert_eq!(oracle.len() as u64, cases);
    let outcomes = run_suite(suite, &mut ScriptedAgent::new(suite, Mode::Follower), &config).unwrap();
    let m = metrics(&outcomes);
    assert_eq!(
        (m.benign_utility.k, m.benign_utility.n),
        (n_user, n_user),
        "no injection, nothing to follow"
    );
    let a = &m.attacks[0];
    assert_eq!(a.utility_under_attack.k, count(oracle.iter().map(|o| o.0)));
    assert_eq!(a.targeted_asr.k, count(oracle.iter().map(|o| o.1)));
    assert_eq!(a.targeted_asr.n, cases);
    assert!(
        a.targeted_asr.k * 10 >= cases * 9,
        "the follower lands nearly every attack"
    );
    assert!(a.episodes_with_unsafe_actions > 0);

    // Flaky follower: the seeded half of the episodes is unscored; the rest scores as the follower.
    let seed = 7;
    let plans = plan(suite, &config).unwrap();
    let fails: Vec<bool> = (0..plans.len() as u64)
        .map(|i| FlakyAgent::<()>::fails_at(seed, i).is_some())
        .collect();
    let n_fail = count(fails.iter().copied());
    assert!(n_fail > 0 && n_fail < plans.len() as u64);
    let mut flaky = FlakyAgent::new(ScriptedAgent::new(suite, Mode::Follower), seed);
    let outcomes = run_suite(suite, &mut flaky, &config).unwrap();
    for (o, f) in outcomes.iter().zip(&fails) {
        assert_eq!(!o.is_scored(), *f, "{} / {:?}", o.user_task, o.injection_task);
        if *f {
            assert!(
                o.utility.is_none() && o.attack_success.is_none(),
                "unscored is neither done nor safe"
            );
        }
    }
    let m = metrics(&outcomes);
    let benign_ok = count(fails[..n_user as usize].iter().map(|f| !f));
    assert_eq!(m.benign_unscored, n_user - benign_ok);
    assert_eq!((m.benign_utility.k, m.benign_utility.n), (benign_ok, benign_ok));
    let attack_fails = &fails[n_user as usize..];
    let a = &m.attacks[0];
    assert_eq!(a.unscored, count(attack_fails.iter().copied()));
    assert_eq!(a.targeted_asr.n, cases - a.unscored);
    let survivors = || {
        oracle
            .iter()
            .zip(attack_fails)
            .filter(|(_, f)| !**f)
            .map(|(o, _)| *o)
    };
    assert_eq!(a.utility_under_attack.k, count(survivors().map(|o| o.0)));
    assert_eq!(a.targeted_asr.k, count(survivors().map(|o| o.1)));
}
