//! A worker of a shared journal (`aistr worker`): it claims planned attempts of any queued run in
//! batches under a lease, runs each batch through the ordinary [`Session`] (built over a
//! [`LeasedRun`], so the session sees only the batch and records under the lease), keeps the
//! lease alive with a heartbeat while the batch runs, and finishes a run when nothing of it is
//! left. Killed workers lose only their lease: another worker claims the attempts when it expires,
//! and a late result from the killed one is discarded (see `aistr_store::queue`).

use crate::session::store;
use crate::{ProgressSink, Session, SessionError};
use aistr_store::{Journal, LeasedRun};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How a worker works.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// This worker's name in leases (unique per process: [`WorkerOptions::default_owner`]).
    pub owner: String,
    /// Only this run, or any run with claimable work.
    pub run_id: Option<String>,
    /// Attempts claimed at a time.
    pub batch: usize,
    /// How long a claim lasts without a heartbeat.
    pub lease: Duration,
    /// Wait between looks when there is no work.
    pub poll: Duration,
    /// Return once no claimable work is left instead of waiting for more.
    pub exit_when_idle: bool,
}

impl WorkerOptions {
    /// `host-pid-random`: unique across the machines sharing a journal.
    #[must_use]
    pub fn default_owner() -> String {
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_owned())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "host".into());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        format!("{host}-{}-{nanos:08x}", std::process::id())
    }
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            owner: Self::default_owner(),
            run_id: None,
            batch: 50,
            lease: Duration::from_secs(60),
            poll: Duration::from_secs(2),
            exit_when_idle: false,
        }
    }
}

/// What a worker did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerSummary {
    /// Batches claimed and run.
    pub batches: u64,
    /// Results this worker recorded.
    pub recorded: u64,
    /// Runs this worker saw finish.
    pub finished_runs: Vec<String>,
    /// Whether it stopped because it was cancelled (leases released).
    pub cancelled: bool,
}

/// Works until cancelled (or, with `exit_when_idle`, until no claimable work is left).
///
/// # Errors
/// The journal fails, or a run's target, judge or attacker cannot be built.
pub async fn work(
    journal: Journal,
    options: &WorkerOptions,
    progress: Arc<dyn ProgressSink>,
    cancel: CancellationToken,
) -> Result<WorkerSummary, SessionError> {
    let mut summary = WorkerSummary::default();
    loop {
        if cancel.is_cancelled() {
            summary.cancelled = true;
            return Ok(summary);
        }
        let runs: Vec<String> = journal
            .runs_with_claimable_work()
            .await
            .map_err(store)?
            .into_iter()
            .filter(|r| options.run_id.as_ref().is_none_or(|only| only == r))
            .collect();
        let mut claimed_any = false;
        for run_id in runs {
            let (lease, batch) = journal
                .claim(&run_id, &options.owner, options.batch.max(1), options.lease)
                .await
                .map_err(store)?;
            if batch.is_empty() {
                continue;
            }
            claimed_any = true;
            summary.batches += 1;
            let heartbeat = {
                let (journal, lease, every) = (journal.clone(), lease.clone(), options.lease / 3);
                let extend = options.lease;
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(every).await;
                        if journal.heartbeat(&lease, extend).await.unwrap_or(0) == 0 {
                            return;
                        }
                    }
                })
            };
            let leased: crate::SharedJournal = Arc::new(LeasedRun::new(journal.clone(), lease.clone()));
            let outcome = async {
                let mut session = Session::resume(leased, &run_id).await?;
                if let Some(rpm) = session.spec().target.rpm.filter(|r| *r > 0) {
                    session.set_target_pacer(aistr_targets::Pacer(Some(Arc::new(JournalPacer {
                        journal: journal.clone(),
                        run_id: run_id.clone(),
                        interval: Duration::from_secs(60) / rpm,
                    }))));
                }
                session.execute(Arc::clone(&progress), cancel.clone()).await
            }
            .await;
            heartbeat.abort();
            let outcome = match outcome {
                Ok(o) => o,
                Err(e) => {
                    let _ = journal.release(&lease).await;
                    return Err(e);
                }
            };
            summary.recorded += outcome.summary.recorded;
            if outcome.cancelled {
                journal.release(&lease).await.map_err(store)?;
                summary.cancelled = true;
                return Ok(summary);
            }
            if journal.planned_count(&run_id).await.map_err(store)? == 0 {
                journal.set_status(&run_id, "finished").await.map_err(store)?;
                if !summary.finished_runs.contains(&run_id) {
                    summary.finished_runs.push(run_id.clone());
                }
            }
        }
        if !claimed_any {
            // Idle means nothing planned at all: attempts under another worker's live lease may
            // still come back (that worker may die), so they keep an idle-exiting worker waiting.
            if options.exit_when_idle && !has_planned_work(&journal, options.run_id.as_deref()).await? {
                return Ok(summary);
            }
            tokio::select! {
                () = tokio::time::sleep(options.poll) => {}
                () = cancel.cancelled() => {}
            }
        }
    }
}

/// The run's `rpm` shared by all its workers: each request reserves the next slot in the journal
/// (`rate_slots`) and waits for it, so the run's requests are at least `interval` apart whatever
/// the number of workers. When the journal cannot be reached the request waits one interval
/// (never faster than the limit).
struct JournalPacer {
    journal: Journal,
    run_id: String,
    interval: Duration,
}

#[async_trait::async_trait]
impl aistr_targets::SharedPacer for JournalPacer {
    async fn wait_turn(&self) {
        let wait = match self.journal.reserve_slot(&self.run_id, self.interval).await {
            Ok(slot) => Duration::from_millis(u64::try_from(slot - aistr_store::now_ms()).unwrap_or(0)),
            Err(_) => self.interval,
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

async fn has_planned_work(journal: &Journal, only: Option<&str>) -> Result<bool, SessionError> {
    for run in journal.runs().await.map_err(store)? {
        if run.status == "cancelled" || only.is_some_and(|o| o != run.id) {
            continue;
        }
        if journal.planned_count(&run.id).await.map_err(store)? > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}
