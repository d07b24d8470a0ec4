//! TruthfulQA multiple choice inside a real hallucination scan of the embedded model (SmolLM2,
//! in-process): no attempt is planned for it; after the attempts every choice of every question
//! is scored by the target's log-likelihood, MC1 and MC2 are reported, and the outcome is
//! journaled once with the run. A target without log-likelihoods gets "not run", never a score.
//! Needs the installed model (skipped with a note without it; a failure under CI).

use aistr_session::spec::DatasetSpec;
use aistr_session::{NoProgress, ScanSpec, Session};
use aistr_store::Journal;
use aistr_targets::EndpointSpec;
use std::sync::Arc;

fn set(id: &str, limit: usize) -> DatasetSpec {
    DatasetSpec {
        id: id.into(),
        limit: Some(limit),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hallucination_scan_scores_truthfulqa_choices_by_log_likelihood_once_per_run() {
    let target = EndpointSpec::of_kind(aistr_targets::EndpointKind::Local);
    let Some(_) =
        aistr_test_require::require_or_skip("the SmolLM2-135M-Instruct GGUF", target.local_model_path())
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut spec = ScanSpec::new(
        target.clone(),
        vec![set("truthfulqa-gen", 1), set("truthfulqa-mc", 4)],
    );
    spec.seed = 3;
    spec.judge.name = Some("hallucination-char3".into());
    spec.generation.max_tokens = 8;
    let journal: aistr_session::SharedJournal =
        Arc::new(Journal::open(&dir.path().join("j.db")).await.expect("journal"));
    let mut session = Session::new(Arc::clone(&journal), spec.clone(), Some("mc".into()))
        .await
        .expect("planned");
    let outcome = session
        .execute(Arc::new(NoProgress), aistr_session::CancellationToken::new())
        .await
        .expect("executed");
    assert!(!outcome.cancelled);

    // Only the generation probe was sent as an attempt.
    let attempts = session.report_attempts(false).await.expect("attempts");
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].planned.probe.dataset, "truthfulqa-gen");

    let report = session.finish().await.expect("report");
    assert!(
        report
            .datasets
            .iter()
            .any(|d| d.id == "truthfulqa-mc" && d.probes == 4),
        "{:?}",
        report.datasets
    );
    let mc = report
        .hallucination
        .as_ref()
        .and_then(|h| h.truthfulqa_mc.clone())
        .expect("multiple-choice outcome");
    assert_eq!(mc.status, "run", "{:?}", mc.reason);
    assert_eq!((mc.questions, mc.scored, mc.errors), (4, 4, 0));
    assert_eq!(mc.items.len(), 4);
    let right = mc.items.iter().filter(|i| i.mc1 == Some(true)).count() as u64;
    assert_eq!(mc.mc1_right, right);
    let mean = mc.items.iter().filter_map(|i| i.mc2).sum::<f64>() / 4.0;
    assert!((mc.mc2.expect("mc2") - mean).abs() < 1e-12);
    let [lo, hi] = mc.mc1_ci.expect("interval");
    assert!(lo <= mc.mc1.expect("mc1") && mc.mc1.expect("mc1") <= hi);

    // Each question's top choice is the one the model itself finds most likely as the answer to
    // that question: scored here directly, outside the session, on the same probes.
    let probes = aistr_session::hallucination::run_level_probes(&spec).expect("probes");
    let model = spec.target.build().expect("target");
    let lp = model
        .log_probs()
        .expect("the embedded model gives log-likelihoods");
    for (probe, item) in probes.iter().zip(&mc.items) {
        let aistr_hallucination::probes::Truth::TruthfulQaMc { choices, .. } = &probe.truth else {
            panic!("not an MC probe: {}", probe.id);
        };
        assert_eq!(item.probe_id, probe.id);
        let l = lp
            .score_continuations(&[aistr_core::Message::user(probe.prompt.clone())], choices)
            .await
            .expect("scores");
        let top = aistr_hallucination::truthfulqa::top_choice(&l);
        assert_eq!(item.top_choice.as_deref(), Some(choices[top].as_str()));
        assert!((0.0..=1.0).contains(&item.mc2.expect("mc2")));
    }

    // The report files show it.
    let md = aistr_report::render_markdown(&report, &attempts);
    assert!(
        md.contains("TruthfulQA multiple choice \\(the target's log-likelihoods\\): MC1"),
        "{md}"
    );

    // Journaled once: a resumed run reports the same outcome without measuring again.
    let stored = session.truthfulqa_mc().await.expect("journal").expect("stored");
    drop(session);
    let mut again = Session::resume(journal, "mc").await.expect("resume");
    again
        .execute(Arc::new(NoProgress), aistr_session::CancellationToken::new())
        .await
        .expect("nothing left");
    assert_eq!(again.truthfulqa_mc().await.expect("journal"), Some(stored));
}

#[tokio::test]
async fn a_target_without_log_likelihoods_is_not_run_never_scored() {
    let mut spec = ScanSpec::new(
        EndpointSpec::openai("http://127.0.0.1:1/v1", "m"),
        vec![set("truthfulqa-mc", 3)],
    );
    spec.seed = 1;
    let probes = aistr_session::hallucination::run_level_probes(&spec).expect("probes");
    assert_eq!(probes.len(), 3);
    let mc = aistr_session::hallucination::measure_mc(None, &probes).await;
    assert_eq!(mc.status, "not run");
    assert!(mc.reason.as_deref().unwrap_or("").contains("log-likelihoods"));
    assert_eq!((mc.questions, mc.scored, mc.mc1_right), (3, 0, 0));
    assert!(mc.mc1.is_none() && mc.mc2.is_none() && mc.items.is_empty());
}
