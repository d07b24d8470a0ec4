//! Runs planned attempts. Requests run concurrently up to the target's limit; each answer is judged
//! where it lands; one writer task commits results to the journal in batches, so thousands of
//! answers a second cost a handful of transactions, and nothing counts before it is committed.

use aistr_attacker::{Conversation, L3Context, L3Settings, TurnSink, run_conversation};
use aistr_attacks::decode_answer;
use aistr_core::{AttemptResult, Level, PlannedAttempt, Turn, Verdict};
use aistr_judge::{Judge, JudgeInput, judge_full};
use aistr_store::{RunJournal, StoreError};
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
    /// An L3 conversation could not be journaled or resumed.
    #[error(transparent)]
    L3(#[from] aistr_attacker::L3Error),
}

/// What L3 (attacker-model) attempts need besides the target and the judge.
pub struct L3Runtime {
    /// The attacker model: exactly the one configured.
    pub attacker: Arc<dyn Target>,
    /// How reports name it (`kind:model`).
    pub attacker_name: String,
    /// Budgets.
    pub settings: L3Settings,
}

/// Journals L3 turns one transaction each, so each is durable when its call returns.
struct JournalSink<J> {
    journal: J,
    run_id: String,
}

#[async_trait::async_trait]
impl<J: RunJournal> TurnSink for JournalSink<J> {
    async fn record(&self, seq: i64, turn: &Turn) -> Result<(), String> {
        self.journal
            .record_turn(&self.run_id, seq, turn)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
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
pub async fn execute<J: RunJournal + Clone + 'static>(
    journal: &J,
    run_id: &str,
    target: Arc<dyn Target>,
    judge: Arc<dyn Judge>,
    pending: Vec<PlannedAttempt>,
    progress: Option<ProgressFn>,
) -> Result<ExecutionSummary, ExecuteError> {
    execute_with(journal, run_id, target, judge, pending, progress, None).await
}

/// [`execute`], with what L3 attempts need. An L3 attempt is a whole conversation: it runs (or
/// resumes from its journaled turns) to its end and is then recorded like any attempt. Without an
/// attacker, L3 attempts are recorded as unscored.
pub async fn execute_with<J: RunJournal + Clone + 'static>(
    journal: &J,
    run_id: &str,
    target: Arc<dyn Target>,
    judge: Arc<dyn Judge>,
    pending: Vec<PlannedAttempt>,
    progress: Option<ProgressFn>,
    l3: Option<L3Runtime>,
) -> Result<ExecutionSummary, ExecuteError> {
    let l3 = l3.map(|rt| {
        Arc::new(L3Context {
            attacker: rt.attacker,
            attacker_name: rt.attacker_name,
            target: Arc::clone(&target),
            judge: Arc::clone(&judge),
            settings: rt.settings,
            sink: Arc::new(JournalSink {
                journal: journal.clone(),
                run_id: run_id.to_owned(),
            }),
        })
    });
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
            let l3 = l3.clone();
            async move {
                if attempt.level == Level::L3 {
                    run_conversation_attempt(journal, run_id, l3.as_deref(), judge.as_ref(), &attempt).await
                } else {
                    Ok(run_one(target.as_ref(), judge.as_ref(), &attempt).await)
                }
            }
        })
        .buffer_unordered(concurrency);
    let mut failure = None;
    while let Some(result) = results.next().await {
        match result {
            Ok(result) => {
                if tx.send(result).await.is_err() {
                    break; // the writer failed; its error is returned below
                }
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    drop(results);
    drop(tx);
    let summary = writer
        .await
        .map_err(|e| StoreError::Corrupt(format!("journal writer panicked: {e}")))??;
    match failure {
        Some(e) => Err(e),
        None => Ok(summary),
    }
}

/// Runs (or resumes) one L3 conversation and turns it into the attempt's result.
async fn run_conversation_attempt<J: RunJournal>(
    journal: &J,
    run_id: &str,
    l3: Option<&L3Context>,
    judge: &dyn Judge,
    attempt: &PlannedAttempt,
) -> Result<AttemptResult, ExecuteError> {
    let started_at = aistr_store_now();
    let clock = Instant::now();
    let unscored = |why: String| AttemptResult {
        seq: attempt.seq,
        response_text: None,
        response_raw: None,
        finish_reason: None,
        error_kind: Some("no_attacker".into()),
        error_message: Some(why.clone()),
        tries: 0,
        prompt_tokens: 0,
        completion_tokens: 0,
        started_at: started_at.clone(),
        latency_ms: 0,
        verdict: Verdict::unscored(why, judge.id()),
        conversation: None,
    };
    let Some(ctx) = l3 else {
        return Ok(unscored(format!(
            "`{}` needs an attacker model and none was configured",
            attempt.method
        )));
    };
    let replay = journal.turns(run_id, attempt.seq).await?;
    let orchestrator = attempt
        .chain
        .first()
        .map_or(attempt.method.as_str(), String::as_str);
    let outcome = run_conversation(
        ctx,
        Conversation {
            seq: attempt.seq,
            orchestrator,
            probe: &attempt.probe,
            request: &attempt.request,
            replay,
        },
    )
    .await?;
    let summary = outcome.summary;
    Ok(AttemptResult {
        seq: attempt.seq,
        response_text: outcome.answer,
        response_raw: None,
        finish_reason: None,
        error_kind: None,
        error_message: None,
        tries: summary.target_queries,
        prompt_tokens: outcome.prompt_tokens,
        completion_tokens: outcome.completion_tokens,
        started_at,
        latency_ms: u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX),
        verdict: outcome.verdict,
        conversation: Some(summary),
    })
}

/// Judges one answer of a planned attempt: its decoders applied, the sent prompt and canary given,
/// local stages always and the LLM-judge stage only when the configuration has one. A scan judges
/// each answer with it as it arrives; re-judging a stored run uses it on the stored answers.
pub async fn judge_answer(
    judge: &dyn Judge,
    attempt: &PlannedAttempt,
    text: &str,
    finish_reason: Option<&str>,
) -> Verdict {
    let decoded: Vec<String> = attempt
        .decoders
        .iter()
        .filter_map(|d| decode_answer(d, text))
        .collect();
    let sent_prompt = attempt.request.messages.last().map_or("", |m| m.content.as_str());
    judge_full(
        judge,
        &JudgeInput {
            probe: &attempt.probe,
            sent_prompt,
            response: text,
            canary: attempt.canary.as_deref(),
            decoded_responses: &decoded,
            finish_reason,
        },
    )
    .await
}

async fn run_one(target: &dyn Target, judge: &dyn Judge, attempt: &PlannedAttempt) -> AttemptResult {
    let started_at = aistr_store_now();
    let clock = Instant::now();
    let outcome = target.chat(&attempt.request).await;
    let latency_ms = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
    match outcome {
        Ok(response) => {
            let verdict =
                judge_answer(judge, attempt, &response.text, response.finish_reason.as_deref()).await;
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
                conversation: None,
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
            conversation: None,
        },
    }
}

fn aistr_store_now() -> String {
    aistr_store::now_rfc3339()
}
