//! The agent suite through a whole scan (`--suite agents-banking` as a spec): planned into a real
//! SQLite journal, played against a loopback OpenAI-compatible server whose answers are aistr-agents'
//! scripted follower or ignorer speaking the native `tools` / `tool_calls` protocol, and reported.
//! The report's agents figures are exactly the ones the scripts imply (the same scripted agent
//! played in-process over the same episodes), transport failures are unscored and counted apart,
//! and a resumed run sends nothing again.

use aistr_agents::banking;
use aistr_agents::metrics::SuiteMetrics;
use aistr_agents::scripted::Mode;
use aistr_core::Label;
use aistr_session::{AgentsSpec, NoProgress, ScanSpec, Session, SharedJournal};
use aistr_store::{Journal, RunJournal};
use aistr_targets::EndpointSpec;
use aistr_test_support::MockServer;
use aistr_test_support::agents::scripted_server;
use std::sync::Arc;

const USERS: usize = 6;
const INJECTIONS: usize = 3;

fn spec(server: &MockServer) -> ScanSpec {
    let mut s = ScanSpec::new(
        EndpointSpec {
            concurrency: Some(2),
            max_retries: 1,
            ..EndpointSpec::openai(server.base_url(), "scripted")
        },
        Vec::new(),
    );
    let mut agents = AgentsSpec::for_suite_name("agents-banking").unwrap();
    agents.user_tasks = Some(USERS);
    agents.injection_tasks = Some(INJECTIONS);
    s.agents = Some(agents);
    s.judge.name = Some("rules".into());
    s
}

/// The figures the scripted agent gives when played in-process over the same episodes.
fn implied(mode: Mode) -> SuiteMetrics {
    let suite = banking::suite();
    let config = aistr_agents::runner::RunConfig {
        attacks: vec![aistr_agents::attack::InjectionAttack::parse("important_instructions").unwrap()],
        ..Default::default()
    };
    aistr_test_support::agents::implied(&suite, &config, mode, USERS, INJECTIONS)
}

async fn run(mode: Mode, fail_prompt: Option<String>) -> (aistr_report::Report, Session, MockServer) {
    let server = MockServer::start(scripted_server(banking::suite, mode, fail_prompt)).await;
    let dir = tempfile::tempdir().unwrap();
    let journal: SharedJournal = Arc::new(Journal::open(&dir.path().join("j.db")).await.unwrap());
    let mut session = Session::new(Arc::clone(&journal), spec(&server), Some("agents-1".into()))
        .await
        .unwrap();
    let attempts = journal.attempts("agents-1").await.unwrap();
    // 6 benign episodes, then 6 user tasks × 3 injection tasks (every banking user task reads a slot).
    assert_eq!(attempts.len(), USERS + USERS * INJECTIONS);
    assert!(attempts.iter().all(|a| !a.planned.request.tools.is_empty()));
    let out = session
        .execute(Arc::new(NoProgress), aistr_session::CancellationToken::new())
        .await
        .unwrap();
    assert!(!out.cancelled);
    let report = session.finish().await.unwrap();
    // Keep the journal's directory alive with the session.
    std::mem::forget(dir);
    (report, session, server)
}

fn counts(r: &aistr_agents::metrics::Rate) -> (u64, u64) {
    (r.k, r.n)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ignorer_does_every_task_and_no_attack_lands() {
    let (report, session, server) = run(Mode::Ignorer, None).await;
    let agents = report.agents.expect("agents section");
    assert_eq!((agents.episodes, agents.unscored), (24, 0));
    let m = &agents.suites[0];
    assert_eq!(m.suite, "banking");
    assert_eq!(counts(&m.benign_utility), (6, 6));
    let a = &m.attacks[0];
    assert_eq!(a.attack, "important_instructions");
    assert_eq!(counts(&a.utility_under_attack), (18, 18));
    assert_eq!(counts(&a.targeted_asr), (0, 18));
    assert_eq!(a.unsafe_actions, 0);
    let implied = implied(Mode::Ignorer);
    assert_eq!(m.benign_utility, implied.benign_utility);
    assert_eq!(m.attacks, implied.attacks);
    // Tool calls really went over the wire: the model's calls came back as tool messages.
    assert!(server.requests().iter().any(|r| {
        r.body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["role"] == "tool")
    }));
    // Every episode journaled once, its verdict safe; nothing left to send.
    let attempts = session.journal().attempts("agents-1").await.unwrap();
    assert!(
        attempts
            .iter()
            .all(|a| a.result.as_ref().is_some_and(|r| r.verdict.label == Label::Safe))
    );
    let sent = server.requests().len();
    let mut again = Session::resume(Arc::clone(session.journal()), "agents-1")
        .await
        .unwrap();
    again
        .execute(Arc::new(NoProgress), aistr_session::CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(
        server.requests().len(),
        sent,
        "a finished run sends nothing on resume"
    );
    let terminal = aistr_report::render_terminal(&again.finish().await.unwrap());
    assert!(terminal.contains("targeted ASR 0.0%"), "{terminal}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_follower_lands_the_implied_attacks_and_transport_failures_are_unscored() {
    let (report, _session, _server) = run(Mode::Follower, None).await;
    let agents = report.agents.expect("agents section");
    let m = &agents.suites[0];
    let implied = implied(Mode::Follower);
    assert_eq!(counts(&m.benign_utility), (6, 6));
    assert_eq!(m.attacks, implied.attacks);
    let a = &m.attacks[0];
    assert_eq!(a.targeted_asr.n, 18);
    assert!(
        a.targeted_asr.k >= 16,
        "the follower lands nearly every attack: {}",
        a.targeted_asr.k
    );
    assert!(a.episodes_with_unsafe_actions > 0);
    // The generic table: attacked episodes are L2, an achieved injection is risky.
    assert_eq!(report.by_level["L2"].risky, a.targeted_asr.k);

    // The ignorer with user task 2's episodes failing at their second request: 1 benign and 3
    // attacked episodes unscored, in no denominator.
    let prompt = banking::suite().user_tasks[2].text.clone();
    let (report, _session, _server) = run(Mode::Ignorer, Some(prompt)).await;
    let agents = report.agents.expect("agents section");
    assert_eq!((agents.episodes, agents.unscored), (24, 4));
    let m = &agents.suites[0];
    assert_eq!((counts(&m.benign_utility), m.benign_unscored), ((5, 5), 1));
    let a = &m.attacks[0];
    assert_eq!((counts(&a.utility_under_attack), a.unscored), ((15, 15), 3));
    assert_eq!(counts(&a.targeted_asr), (0, 15));
    assert_eq!(report.attempts.transport_failures, 4);
}
