//! A whole scan through the library API alone, as any front end would drive it (no `aistr`
//! binary): plan into a real SQLite journal, execute against the loopback fault-injecting server,
//! cancel part-way through the token (no signal, no kill), resume, finish the report. And the
//! journal written by an older aistr: it resumes and re-renders to the reports that aistr wrote.

use aistr_core::{AttemptResult, Label};
use aistr_session::{
    CancellationToken, DatasetSpec, ExecutionStart, NoProgress, ProgressSink, ScanSpec, Session,
    SessionError, SharedJournal,
};
use aistr_store::Journal;
use aistr_targets::EndpointSpec;
use aistr_test_support::{MockServer, Reply, legacy};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const COMPLY: &str = "Sure, here is exactly what you asked for. Step 1: gather the materials listed below. \
                      Step 2: follow these detailed instructions carefully to accomplish the goal.";
const REFUSE: &str = "I'm sorry, but I can't help with that.";

/// Every answer slow enough to cancel mid-run; faults by prompt (the seed-3 sample has three of
/// each): 500s for "Develop ...", malformed bodies for "Provide ...", a 429 with `Retry-After`
/// before the answer to "describe", compliance for "write", refusal otherwise.
fn faulty() -> aistr_test_support::Script {
    Arc::new(|r| {
        let p = r.prompt.to_lowercase();
        let reply = if p.starts_with("develop") {
            Reply::Status {
                code: 500,
                retry_after: None,
            }
        } else if p.starts_with("provide") {
            Reply::Malformed("{\"choices\": [".into())
        } else if p.contains("describe") && r.nth == 1 {
            Reply::Status {
                code: 429,
                retry_after: Some("0".into()),
            }
        } else if p.contains("write") {
            Reply::Text(COMPLY.into())
        } else {
            Reply::Text(REFUSE.into())
        };
        Reply::Delay(Duration::from_millis(40), Box::new(reply))
    })
}

fn spec(server: &MockServer) -> ScanSpec {
    let mut s = ScanSpec::new(
        EndpointSpec {
            concurrency: Some(2),
            max_retries: 1,
            ..EndpointSpec::openai(server.base_url(), "mock")
        },
        vec![
            DatasetSpec {
                id: "jbb-harmful".into(),
                limit: Some(12),
            },
            DatasetSpec {
                id: "jbb-benign".into(),
                limit: Some(4),
            },
        ],
    );
    s.attacks = vec![vec!["masking.base64".into()]];
    s.judge.name = Some("rules".into());
    s.seed = 3;
    s
}

/// Records what it is told and cancels the run after `after` results.
struct CancelAfter {
    after: u64,
    seen: AtomicU64,
    token: CancellationToken,
    started: Mutex<Option<ExecutionStart>>,
}

impl ProgressSink for CancelAfter {
    fn started(&self, start: &ExecutionStart) {
        *self.started.lock().unwrap() = Some(start.clone());
    }
    fn recorded(&self, _: &AttemptResult) {
        if self.seen.fetch_add(1, Ordering::SeqCst) + 1 == self.after {
            self.token.cancel();
        }
    }
}

fn last_user(r: &aistr_core::PlannedAttempt) -> String {
    r.request
        .messages
        .last()
        .map(|m| m.content.clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_execute_cancel_resume_finish_through_the_library() {
    let server = MockServer::start(faulty()).await;
    let dir = tempfile::tempdir().unwrap();
    let journal: SharedJournal = Arc::new(Journal::open(&dir.path().join("j.db")).await.unwrap());

    // Plan: everything journaled, nothing sent.
    let mut session = Session::new(Arc::clone(&journal), spec(&server), Some("lib-1".into()))
        .await
        .unwrap();
    assert_eq!(session.judge_id(), "rules-v1");
    assert_eq!(journal.attempts("lib-1").await.unwrap().len(), 32);
    assert!(server.requests().is_empty(), "planning sends nothing");
    assert!(matches!(
        Session::new(Arc::clone(&journal), spec(&server), Some("lib-1".into())).await,
        Err(e @ SessionError::Run(_)) if e.is_usage()
    ));

    // Execute, cancelled through the token after 10 results.
    let token = CancellationToken::new();
    let sink = Arc::new(CancelAfter {
        after: 10,
        seen: AtomicU64::new(0),
        token: token.clone(),
        started: Mutex::new(None),
    });
    let outcome = session.execute(sink.clone(), token).await.unwrap();
    assert!(outcome.cancelled);
    let start = sink.started.lock().unwrap().clone().unwrap();
    assert_eq!(
        (start.planned, start.already_recorded, start.to_send),
        (32, 0, 32)
    );
    assert_eq!(start.target.model, "mock");
    assert!(start.attacker.is_none(), "no L3 attempt, no attacker built");
    assert_eq!(journal.run("lib-1").await.unwrap().status, "interrupted");
    let done_before: Vec<_> = journal
        .attempts("lib-1")
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.result.is_some())
        .collect();
    assert!(
        (10..32).contains(&done_before.len()),
        "{} recorded",
        done_before.len()
    );
    let interrupted = session.finish().await.unwrap();
    assert_eq!(interrupted.status, "interrupted");
    assert_eq!(interrupted.attempts.done, done_before.len() as u64);
    let sent_before = server.requests().len();
    drop(session);

    // Resume from the journal alone and run to the end.
    let mut session = Session::resume(Arc::clone(&journal), "lib-1").await.unwrap();
    assert_eq!(session.spec(), &spec(&server));
    let outcome = session
        .execute(Arc::new(NoProgress), CancellationToken::new())
        .await
        .unwrap();
    assert!(!outcome.cancelled);
    assert_eq!(outcome.summary.recorded, 32 - done_before.len() as u64);
    let done_prompts: HashSet<String> = done_before.iter().map(|a| last_user(&a.planned)).collect();
    let resent: Vec<String> = server.requests()[sent_before..]
        .iter()
        .map(|r| r.prompt.clone())
        .filter(|p| done_prompts.contains(p))
        .collect();
    assert!(resent.is_empty(), "re-sent after resume: {resent:?}");

    // Finish: every attempt recorded once; failures unscored, never safe.
    let report = session.finish().await.unwrap();
    assert_eq!(report.status, "finished");
    assert_eq!(
        (
            report.attempts.planned,
            report.attempts.done,
            report.attempts.pending
        ),
        (32, 32, 0)
    );
    let all = journal.attempts("lib-1").await.unwrap();
    for a in &all {
        let r = a.result.as_ref().expect("recorded");
        if r.error_kind.is_some() {
            assert_eq!(r.verdict.label, Label::Unscored, "{:?}", r.error_message);
        }
    }
    assert!(report.attempts.transport_failures > 0, "the faults were hit");
    assert!(report.overall.unscored > 0 && report.overall.scored > 0);
    assert_eq!(
        report.overall.n + report.over_refusal.as_ref().map_or(0, |o| o.n),
        32
    );
    assert_eq!(report.by_method.len(), 2, "plain and masking.base64");
    assert_eq!(report.judge, "rules-v1");
    assert!(report.calibrated.is_some(), "rules-v1 has a measured error");
    // The report is a function of the journal: asking again gives the same.
    assert_eq!(session.finish().await.unwrap(), report);
    assert_eq!(
        Session::resume(journal, "lib-1")
            .await
            .unwrap()
            .finish()
            .await
            .unwrap(),
        report
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_specs_and_unknown_runs_fail_before_anything_is_sent() {
    let server = MockServer::start(faulty()).await;
    let dir = tempfile::tempdir().unwrap();
    let journal: SharedJournal = Arc::new(Journal::open(&dir.path().join("j.db")).await.unwrap());
    let mut no_data = spec(&server);
    no_data.datasets.clear();
    let mut bad_attack = spec(&server);
    bad_attack.attacks = vec![vec!["no.such.attack".into()]];
    let mut bad_judge = spec(&server);
    bad_judge.judge.name = Some("rules+llm".into());
    let mut missing_dataset = spec(&server);
    missing_dataset.datasets[0].id = dir.path().join("nope.jsonl").display().to_string();
    for s in [no_data, bad_attack, bad_judge, missing_dataset] {
        let e = Session::new(Arc::clone(&journal), s, None).await.unwrap_err();
        assert!(e.is_usage(), "{e}");
    }
    let e = Session::resume(Arc::clone(&journal), "nope").await.unwrap_err();
    assert!(e.is_usage() && e.to_string().contains("no run `nope`"), "{e}");
    // A target that cannot be built fails execute before anything is journaled as running.
    let mut unreachable = spec(&server);
    unreachable.target.api_key_env = Some("AISTR_TEST_UNSET_VARIABLE".into());
    let mut session = Session::new(Arc::clone(&journal), unreachable, Some("k".into()))
        .await
        .unwrap();
    let e = session
        .execute(Arc::new(NoProgress), CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        e.is_usage() && e.to_string().contains("AISTR_TEST_UNSET_VARIABLE"),
        "{e}"
    );
    assert!(server.requests().is_empty());
}

fn copy_fixture(dir: &std::path::Path) -> std::path::PathBuf {
    let db = dir.join("journal.db");
    std::fs::copy(legacy::dir().join("journal.db"), &db).expect("fixture journal");
    db
}

fn assert_same_report(now: serde_json::Value, name: &str) {
    legacy::assert_same_report(now, name, &aistr_judge::calibration::shipped().dev_set.sha256);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_legacy_run_rerenders_to_the_report_its_aistr_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let journal: SharedJournal = Arc::new(Journal::open(&copy_fixture(dir.path())).await.unwrap());
    let session = Session::resume(journal, legacy::FINISHED_RUN).await.unwrap();
    assert_eq!(session.spec().version, aistr_session::legacy::LEGACY_VERSION);
    let report = serde_json::to_value(session.finish().await.unwrap()).unwrap();
    assert_same_report(report, "finished.report.json");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_legacy_interrupted_run_resumes_to_the_report_its_aistr_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let journal: SharedJournal = Arc::new(Journal::open(&copy_fixture(dir.path())).await.unwrap());
    let (target, attacker) = legacy::start_servers(Duration::ZERO).await;
    let mut session = Session::resume(journal, legacy::INTERRUPTED_RUN).await.unwrap();
    let outcome = session
        .execute(Arc::new(NoProgress), CancellationToken::new())
        .await
        .unwrap();
    assert!(!outcome.cancelled && outcome.summary.recorded > 0);
    assert!(!target.requests().is_empty() && !attacker.requests().is_empty());
    let report = serde_json::to_value(session.finish().await.unwrap()).unwrap();
    assert_same_report(report, "resumed.report.json");
}
