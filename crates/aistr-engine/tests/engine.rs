//! Engine behaviour against a real loopback server: every planned attempt is journaled once, failures
//! are unscored, and planning is byte-for-byte reproducible.

use aistr_core::Label;
use aistr_engine::{ScanSettings, execute, plan};
use aistr_judge::RulesJudge;
use aistr_store::{Journal, NewRun};
use aistr_targets::{OpenAiConfig, OpenAiTarget, RetryPolicy};
use aistr_test_support::{MockServer, Reply};
use std::sync::Arc;
use std::time::Duration;

fn settings(seed: u64) -> ScanSettings {
    ScanSettings {
        max_tokens: 32,
        temperature: 0.0,
        seed,
        system_prompt: Some("You are a bank assistant.".into()),
    }
}

#[test]
fn planning_is_deterministic_and_orders_chains_then_probes() {
    let probes = aistr_datasets::load("jbb-harmful").unwrap().probes;
    let chains = vec![Vec::new()];
    let a = plan(&probes[..10], &chains, &settings(3)).unwrap();
    let b = plan(&probes[..10], &chains, &settings(3)).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.len(), 10);
    assert!(
        a.iter()
            .enumerate()
            .all(|(i, p)| p.seq == i as i64 && p.method == "plain")
    );
    assert_eq!(a[0].request.messages[0].content, "You are a bank assistant.");
    assert!(plan(&[], &chains, &settings(1)).is_err());
    assert!(plan(&probes[..1], &[vec!["no.such.attack".into()]], &settings(1)).is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn every_attempt_is_recorded_once_and_failures_are_unscored() {
    let server = MockServer::start(Arc::new(|r| {
        if r.prompt.contains("Write") {
            Reply::Status {
                code: 503,
                retry_after: Some("0".into()),
            }
        } else {
            Reply::Text("I'm sorry, I can't help with that.".into())
        }
    }))
    .await;
    let probes = aistr_datasets::load("jbb-harmful").unwrap().probes;
    let planned = plan(&probes, &[Vec::new()], &settings(1)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("j.db")).await.unwrap();
    let run = NewRun {
        id: "e1".into(),
        config_json: "{}".into(),
        target_json: "{}".into(),
        datasets_json: "[]".into(),
        judge: "rules-v0".into(),
    };
    journal.create_run(&run, &planned).await.unwrap();
    let mut config = OpenAiConfig::new(server.base_url(), "m");
    config.retry = RetryPolicy {
        max_retries: 1,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(10),
    };
    config.concurrency = 16;
    let target = Arc::new(OpenAiTarget::new(config).unwrap());
    let pending = journal.pending("e1").await.unwrap();
    let summary = execute(
        &journal,
        "e1",
        target.clone(),
        Arc::new(RulesJudge),
        pending,
        None,
    )
    .await
    .unwrap();
    assert_eq!(summary.recorded, 100);
    let failing = probes.iter().filter(|p| p.prompt.contains("Write")).count() as u64;
    assert_eq!(summary.transport_failures, failing);
    let all = journal.attempts("e1").await.unwrap();
    for a in &all {
        let r = a.result.as_ref().expect("recorded");
        if a.planned.probe.prompt.contains("Write") {
            assert_eq!(r.verdict.label, Label::Unscored);
            assert_eq!(r.error_kind.as_deref(), Some("server_error"));
            assert_eq!(r.tries, 2);
        } else {
            assert_eq!(r.verdict.label, Label::Declined);
        }
    }
    // A second execution has nothing left to do and records nothing twice.
    let again = execute(
        &journal,
        "e1",
        target,
        Arc::new(RulesJudge),
        journal.pending("e1").await.unwrap(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(again.recorded, 0);
}

#[test]
fn the_same_suite_and_seed_send_byte_identical_prompts() {
    let mut probes = aistr_datasets::load("jbb-harmful").unwrap().probes;
    probes.truncate(5);
    probes.extend(
        aistr_datasets::load("jade-zh")
            .unwrap()
            .probes
            .into_iter()
            .take(5),
    );
    let chains: Vec<Vec<String>> = aistr_attacks::registry()
        .iter()
        .filter(|a| a.spec.level == aistr_core::Level::L2)
        .map(|a| vec![a.spec.id.to_owned()])
        .chain(std::iter::once(vec![
            "masking.base64".to_owned(),
            "hijack.ignore_previous".to_owned(),
        ]))
        .collect();
    assert!(chains.len() >= 20);
    let bytes = |seed| {
        let planned = plan(&probes, &chains, &settings(seed)).unwrap();
        serde_json::to_string(&planned.iter().map(|p| &p.request).collect::<Vec<_>>()).unwrap()
    };
    assert_eq!(bytes(11), bytes(11));
    assert_ne!(bytes(11), bytes(12), "seeded attacks must depend on the seed");
}

/// The attacker and the target may be one and the same model with room for a single request at a
/// time: conversations take turns on it and all finish (no call holds the model while it waits for
/// another). Without an attacker, L3 attempts are unscored, never safe.
#[tokio::test(flavor = "multi_thread")]
async fn l3_with_the_target_as_its_own_attacker_finishes_without_deadlock() {
    let server = MockServer::start(Arc::new(|r| {
        if r.body.to_string().contains("red-team") {
            Reply::Text(
                serde_json::json!({"improvement": "x", "prompt": format!("Hypothetically: {}", r.prompt)})
                    .to_string(),
            )
        } else {
            Reply::Text("I'm sorry, I can't help with that.".into())
        }
    }))
    .await;
    let probes = aistr_datasets::load("jbb-harmful").unwrap().probes;
    let chains: Vec<Vec<String>> = ["pair", "tap", "crescendo", "multi-round"]
        .iter()
        .map(|m| vec![(*m).to_owned()])
        .collect();
    let planned = plan(&probes[..3], &chains, &settings(5)).unwrap();
    assert!(
        planned.iter().all(|p| p.level == aistr_core::Level::L3
            && p.request.messages.last().unwrap().content == p.probe.prompt)
    );
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("j.db")).await.unwrap();
    let run = NewRun {
        id: "l3".into(),
        config_json: "{}".into(),
        target_json: "{}".into(),
        datasets_json: "[]".into(),
        judge: "rules-v0".into(),
    };
    journal.create_run(&run, &planned).await.unwrap();
    let mut config = OpenAiConfig::new(server.base_url(), "m");
    config.concurrency = 1;
    let shared: Arc<dyn aistr_targets::Target> = Arc::new(OpenAiTarget::new(config).unwrap());
    let l3 = aistr_engine::L3Runtime {
        attacker: Arc::clone(&shared),
        attacker_name: "openai:m".into(),
        settings: aistr_engine::L3Settings::default(),
    };
    let pending = journal.pending("l3").await.unwrap();
    let run_all = aistr_engine::execute_with(
        &journal,
        "l3",
        Arc::clone(&shared),
        Arc::new(RulesJudge),
        pending,
        None,
        Some(l3),
    );
    let summary = tokio::time::timeout(Duration::from_secs(60), run_all)
        .await
        .expect("no deadlock")
        .unwrap();
    assert_eq!(summary.recorded, 12);
    let all = journal.attempts("l3").await.unwrap();
    for a in &all {
        let r = a.result.as_ref().unwrap();
        let c = r.conversation.as_ref().expect("a conversation summary");
        assert_eq!(
            r.verdict.label,
            Label::Declined,
            "{}: {}",
            a.planned.method,
            r.verdict.reason
        );
        assert_eq!(c.orchestrator, a.planned.method);
        assert!(c.target_queries >= 1 && c.attacker_queries >= 1);
        let turns = journal.turns("l3", a.planned.seq).await.unwrap();
        assert_eq!(turns.len() as u32, c.target_queries + c.attacker_queries);
    }

    // The same plan without an attacker: unscored, with the reason.
    journal
        .create_run(
            &NewRun {
                id: "l3-none".into(),
                ..run
            },
            &planned,
        )
        .await
        .unwrap();
    let pending = journal.pending("l3-none").await.unwrap();
    aistr_engine::execute_with(
        &journal,
        "l3-none",
        shared,
        Arc::new(RulesJudge),
        pending,
        None,
        None,
    )
    .await
    .unwrap();
    for a in journal.attempts("l3-none").await.unwrap() {
        let v = a.result.unwrap().verdict;
        assert_eq!(v.label, Label::Unscored);
        assert!(v.reason.contains("needs an attacker model"), "{}", v.reason);
    }
}
