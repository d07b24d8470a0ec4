//! Runs planned attempts. Requests run concurrently up to the target's limit; each answer is judged
//! where it lands; one writer task commits results to the journal in batches, so thousands of
//! answers a second cost a handful of transactions, and nothing counts before it is committed.

use aistr_attacks::decode_answer;
use aistr_core::Verdict;
use aistr_judge::{judge_full, Judge, JudgeInput};
use aistr_store::{AttemptResult, Journal, PlannedAttempt, StoreError};
use aistr_targets::Target;
use futures::StreamExt;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;

/// Called after each result is committed.
pub type ProgressFn = Arc<dyn Fn(&AttemptResult) + Send + Sync>;

/// Execution failures (the journal is the only thing that can fail a run; target failures become
/// unscored attempts).
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    /// Writing the journal failed; results not yet committed will be re-run on resume.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an execution did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExecutionSummary {
    /// Attempts newly recorded.
    pub recorded: u64,
    /// Of those, how many failed at the transport and are unscored.
    pub transport_failures: u64,
}

/// Largest batch the writer commits in one transaction.
const MAX_BATCH: usize = 512;

/// Executes `pending` attempts of `run_id` and journals each result.
pub async fn execute(
    journal: &Journal,
    run_id: &str,
    target: Arc<dyn Target>,
    judge: Arc<dyn Judge>,
    pending: Vec<PlannedAttempt>,
    progress: Option<ProgressFn>,
) -> Result<ExecutionSummary, ExecuteError> {
    let concurrency = target.concurrency().max(1);
    let (tx, mut rx) = mpsc::channel::<AttemptResult>(MAX_BATCH * 2);
    let writer_journal = journal.clone();
    let writer_run = run_id.to_owned();
    let writer = tokio::spawn(async move {
        let mut summary = ExecutionSummary::default();
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while let Some(first) = rx.recv().await {
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
            }
            summary.recorded += writer_journal.record(&writer_run, &batch).await?;
            for r in &batch {
                if r.error_kind.is_some() {
                    summary.transport_failures += 1;
                }
                if let Some(p) = &progress {
                    p(r);
                }
            }
            batch.clear();
        }
        Ok::<_, StoreError>(summary)
    });

    let mut results = futures::stream::iter(pending)
        .map(|attempt| {
            let target = Arc::clone(&target);
            let judge = Arc::clone(&judge);
            async move { run_one(target.as_ref(), judge.as_ref(), &attempt).await }
        })
        .buffer_unordered(concurrency);
    while let Some(result) = results.next().await {
        if tx.send(result).await.is_err() {
            break; // the writer failed; its error is returned below
        }
    }
    drop(tx);
    let summary = writer.await.map_err(|e| StoreError::Corrupt(format!("journal writer panicked: {e}")))??;
    Ok(summary)
}

async fn run_one(target: &dyn Target, judge: &dyn Judge, attempt: &PlannedAttempt) -> AttemptResult {
    let started_at = aistr_store_now();
    let clock = Instant::now();
    let outcome = target.chat(&attempt.request).await;
    let latency_ms = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
    match outcome {
        Ok(response) => {
            let decoded: Vec<String> =
                attempt.decoders.iter().filter_map(|d| decode_answer(d, &response.text)).collect();
            let sent_prompt = attempt.request.messages.last().map_or("", |m| m.content.as_str());
            // Local stages always; the LLM-judge stage only when the configuration has one.
            let verdict = judge_full(
                judge,
                &JudgeInput {
                    probe: &attempt.probe,
                    sent_prompt,
                    response: &response.text,
                    canary: attempt.canary.as_deref(),
                    decoded_responses: &decoded,
                    finish_reason: response.finish_reason.as_deref(),
                },
            )
            .await;
            AttemptResult {
                seq: attempt.seq,
                response_text: Some(response.text),
                response_raw: Some(response.raw),
                finish_reason: response.finish_reason,
                error_kind: None,
                error_message: None,
                tries: response.tries,
                prompt_tokens: response.usage.prompt_tokens,
                completion_tokens: response.usage.completion_tokens,
                started_at,
                latency_ms,
                verdict,
            }
        }
        Err(e) => AttemptResult {
            seq: attempt.seq,
            response_text: None,
            response_raw: e.raw.clone(),
            finish_reason: None,
            error_kind: Some(e.kind.as_str().to_owned()),
            error_message: Some(e.message.clone()),
            tries: e.tries,
            prompt_tokens: 0,
            completion_tokens: 0,
            started_at,
            latency_ms,
            verdict: Verdict::unscored(format!("target failed: {e}"), judge.id()),
        },
    }
}

fn aistr_store_now() -> String {
    aistr_store::now_rfc3339()
}
