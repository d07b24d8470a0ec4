//! Re-judging a run: a finished run's stored answers judged again with another judge configuration,
//! into a **new run** whose spec is the first one's with another judge and `origin` set
//! (`kind = "rejudge"`). Nothing is sent to the target: the new run's attempts are the old plan, its
//! results the old answers with new verdicts, so the two runs differ only by their judge and compare
//! cell by cell (`aistr compare OLD NEW`).
//!
//! Multi-turn (L3) attempts are re-judged on their final answer. Attempts the first run never
//! answered stay planned in the new run (it is then `interrupted`, like its source, and a resume
//! would send them); transport failures stay unscored, with the new judge's id.

use crate::judge::{judge_for_run, judge_id};
use crate::session::{Session, SessionError, SharedJournal, store};
use crate::spec::RunOrigin;
use aistr_core::AttemptResult;
use aistr_judge::Resources;
use aistr_store::NewRun;

/// Journals the re-judged copy of run `source` as run `new_id` (default `<source>-rejudged-<judge>`),
/// judged by configuration `judge` (the first run's judge model and rubric are kept for a `+llm`
/// configuration), and opens it.
///
/// # Errors
/// No such run; an impossible judge choice (usage errors); the id is taken; the journal fails.
pub async fn rejudge(
    journal: SharedJournal,
    source: &str,
    judge: &str,
    new_id: Option<String>,
) -> Result<Session, SessionError> {
    let old = journal.run(source).await.map_err(store)?;
    let mut spec = crate::read_stored_spec(&old.config_json)?;
    spec.judge.name = Some(judge.to_owned());
    if !aistr_judge::JudgeSpec::parse(judge).is_ok_and(|s| s.llm) {
        // Offline configuration: no judge model, so nothing can leave the machine.
        spec.judge.model = None;
        spec.judge.rubric = None;
    }
    spec.origin = Some(RunOrigin {
        run_id: old.id.clone(),
        kind: "rejudge".into(),
    });
    let id = judge_id(&spec.judge, &Resources::offline())?;
    let judge_impl = judge_for_run(&id, &spec.judge)?;
    let attempts = journal.attempts(source).await.map_err(store)?;
    let new_id = new_id.unwrap_or_else(|| {
        let tag: String = judge
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        format!("{source}-rejudged-{tag}")
    });
    let planned: Vec<_> = attempts.iter().map(|a| a.planned.clone()).collect();
    journal
        .create_run(
            &NewRun {
                id: new_id.clone(),
                config_json: serde_json::to_string(&spec).expect("specs serialise"),
                target_json: old.target_json.clone(),
                datasets_json: old.datasets_json.clone(),
                judge: id.clone(),
            },
            &planned,
        )
        .await
        .map_err(store)?;
    let mut results: Vec<AttemptResult> = Vec::new();
    for a in &attempts {
        let Some(r) = &a.result else { continue };
        let mut r = r.clone();
        if let Some(text) = &r.response_text {
            r.verdict =
                aistr_engine::judge_answer(judge_impl.as_ref(), &a.planned, text, r.finish_reason.as_deref())
                    .await;
        } else {
            r.verdict.judge.clone_from(&id);
        }
        results.push(r);
    }
    for chunk in results.chunks(500) {
        journal.record(&new_id, chunk).await.map_err(store)?;
    }
    let status = if results.len() == attempts.len() {
        "finished"
    } else {
        "interrupted"
    };
    journal.set_status(&new_id, status).await.map_err(store)?;
    Session::resume(journal, &new_id).await
}
