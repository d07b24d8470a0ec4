//! Self-consistency inside a real hallucination scan of the embedded model (SmolLM2, in-process):
//! `--dataset selfcheck` plans no attempt; after the (empty) attempts each question is asked once
//! greedily and k times sampled, every answer is journaled as it arrives, and the section is
//! scored from the journal. Answers already journaled (a resumed run) are read back, never asked
//! again. Needs the installed model (skipped with a note without it; a failure under CI).

use aistr_hallucination::suite::{SelfCheckAnswer, selfcheck_requests};
use aistr_session::spec::DatasetSpec;
use aistr_session::{NoProgress, ScanSpec, Session};
use aistr_store::Journal;
use aistr_targets::EndpointSpec;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selfcheck_journals_every_answer_and_scores_the_main_one_against_the_samples() {
    let target = EndpointSpec::of_kind(aistr_targets::EndpointKind::Local);
    let Some(_) =
        aistr_test_require::require_or_skip("the SmolLM2-135M-Instruct GGUF", target.local_model_path())
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut spec = ScanSpec::new(
        target.clone(),
        vec![DatasetSpec {
            id: "selfcheck".into(),
            limit: Some(2),
        }],
    );
    spec.seed = 5;
    spec.judge.name = Some("hallucination-char3".into());
    spec.generation.max_tokens = 40;
    let journal: aistr_session::SharedJournal =
        Arc::new(Journal::open(&dir.path().join("j.db")).await.expect("journal"));
    let mut session = Session::new(Arc::clone(&journal), spec.clone(), Some("sc".into()))
        .await
        .expect("a run of a run-level set alone is planned with no attempt");

    // The first question's answers are already in the journal, as after an interrupted run:
    // they must be read back, not asked again.
    let probes = aistr_session::hallucination::run_level_probes(&spec).expect("probes");
    assert_eq!(probes.len(), 2);
    let requests = selfcheck_requests(&probes, spec.seed);
    let k = 4;
    assert_eq!(requests.len(), 2 * (k + 1));
    let planted = [
        "The Eiffel Tower stands in Paris. It was finished in 1889.",
        "The Eiffel Tower stands in Paris. It was finished in 1889.",
        "The Eiffel Tower is in Paris; it was finished in 1889.",
        "It was finished in 1889. The Eiffel Tower stands in Paris.",
        "The Eiffel Tower stands in Paris, finished in 1889.",
    ];
    for (req, text) in requests
        .iter()
        .filter(|r| r.probe_id == probes[0].id)
        .zip(planted)
    {
        let a = SelfCheckAnswer {
            text: text.into(),
            finish_reason: Some("stop".into()),
            error: None,
        };
        journal
            .record_run_result(
                "sc",
                &req.result_name(),
                &serde_json::to_string(&a).expect("json"),
            )
            .await
            .expect("planted");
    }

    let outcome = session
        .execute(Arc::new(NoProgress), aistr_session::CancellationToken::new())
        .await
        .expect("executed");
    assert!(!outcome.cancelled);
    assert!(session.report_attempts(false).await.expect("attempts").is_empty());

    let report = session.finish().await.expect("report");
    let sc = report
        .hallucination
        .as_ref()
        .and_then(|h| h.selfcheck.clone())
        .expect("self-consistency section");
    assert_eq!((sc.k, sc.max_tokens, sc.items.len()), (4, 40, 2));
    assert_eq!(sc.scorer, "selfcheck-v1/char3-cosine");
    assert_eq!(sc.cell.n, 2);
    assert_eq!(sc.cell.scored + sc.cell.unscored, 2);

    // The planted answers were used: the main answer is the planted one, and samples that agree
    // with it make it grounded.
    let first = &sc.items[0];
    assert_eq!(first.answer, planted[0]);
    assert_eq!(first.label, "grounded", "{}", first.reason);
    assert_eq!(first.samples, 4);
    assert!(!first.sentences.is_empty() && first.sentences.iter().all(|s| !s.flagged));

    // The second question was asked of the model: five answers journaled, the main one greedy
    // (the same as asking the model directly with temperature 0), the samples not all alike.
    let mut texts = Vec::new();
    for req in requests.iter().filter(|r| r.probe_id == probes[1].id) {
        let json = journal
            .run_result("sc", &req.result_name())
            .await
            .expect("journal")
            .unwrap_or_else(|| panic!("answer {} journaled", req.index));
        let a: SelfCheckAnswer = serde_json::from_str(&json).expect("answer");
        assert!(a.error.is_none());
        texts.push(a);
    }
    assert_eq!(texts.len(), k + 1);
    let model = spec.target.build().expect("target");
    let greedy = model
        .chat(&aistr_session::hallucination::selfcheck_chat(
            &spec,
            &requests[k + 1],
        ))
        .await
        .expect("direct answer");
    assert_eq!(requests[k + 1].index, 0);
    assert_eq!(greedy.text, texts[0].text, "the main answer is greedy");
    let mut samples: Vec<&str> = texts[1..].iter().map(|a| a.text.as_str()).collect();
    samples.sort_unstable();
    samples.dedup();
    assert!(samples.len() > 1, "sampled answers differ: {samples:?}");
    let second = &sc.items[1];
    assert_eq!(second.answer, texts[0].text);
    if texts[0].finish_reason.as_deref() == Some("length") {
        assert_eq!(second.label, "unscored", "a cut main answer is never scored");
    } else {
        assert_ne!(second.label, "unscored", "{}", second.reason);
    }

    // The report files show it.
    let md = aistr_report::render_markdown(&report, &[]);
    assert!(
        md.contains("Self-consistency \\(selfcheck-v1/char3-cosine, k = 4"),
        "{md}"
    );

    // Journaled once: a resumed run reports the same section without asking again.
    let stored = session.selfcheck().await.expect("journal").expect("stored");
    drop(session);
    let mut again = Session::resume(journal, "sc").await.expect("resume");
    again
        .execute(Arc::new(NoProgress), aistr_session::CancellationToken::new())
        .await
        .expect("nothing left");
    assert_eq!(again.selfcheck().await.expect("journal"), Some(stored));
}
