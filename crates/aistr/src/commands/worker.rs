//! `aistr worker`: executes detached runs (`aistr scan --detach`) from a shared journal in leased
//! batches, through the session library's worker loop. Ctrl-C or SIGTERM stops it gracefully: the
//! batch in flight is cut, its unanswered attempts are released for the other workers at once.

use crate::cli::WorkerArgs;
use crate::exit::{self, CliError, CmdResult};
use aistr_core::AttemptResult;
use aistr_session::{CancellationToken, ExecutionStart, ProgressSink, WorkerOptions};
use aistr_store::Journal;
use anyhow::{Context, anyhow};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// One line per batch on stderr.
struct BatchLog {
    owner: String,
    recorded: AtomicU64,
}

impl ProgressSink for BatchLog {
    fn started(&self, start: &ExecutionStart) {
        eprintln!(
            "aistr worker {}: run {}: batch of {} ({} of {} recorded before)",
            self.owner, start.run_id, start.to_send, start.already_recorded, start.planned
        );
    }
    fn recorded(&self, _: &AttemptResult) {
        self.recorded.fetch_add(1, Ordering::Relaxed);
    }
}

fn secs(what: &str, v: f64) -> Result<Duration, CliError> {
    Duration::try_from_secs_f64(v)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| CliError::usage(anyhow!("{what} must be a positive number of seconds, got {v}")))
}

pub fn run(args: &WorkerArgs) -> CmdResult {
    let options = WorkerOptions {
        run_id: args.run.clone(),
        batch: args.batch.max(1),
        lease: secs("--lease-secs", args.lease_secs)?,
        poll: secs("--poll-secs", args.poll_secs)?,
        exit_when_idle: args.exit_when_idle,
        ..WorkerOptions::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let journal = Journal::open(&args.db)
            .await
            .map_err(|e| CliError::usage(anyhow!(e)))?;
        let cancel = CancellationToken::new();
        let on_signal = cancel.clone();
        tokio::spawn(async move {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                Some(()) = async { match term.as_mut() { Some(t) => t.recv().await, None => None } } => {}
            }
            on_signal.cancel();
        });
        let log = Arc::new(BatchLog {
            owner: options.owner.clone(),
            recorded: AtomicU64::new(0),
        });
        eprintln!(
            "aistr worker {}: working on {} (batches of {}, lease {:?})",
            options.owner,
            aistr_store::redact_url(&args.db.display().to_string()),
            options.batch,
            options.lease
        );
        let summary = aistr_session::work(
            journal,
            &options,
            Arc::clone(&log) as Arc<dyn ProgressSink>,
            cancel,
        )
        .await?;
        eprintln!(
            "aistr worker {}: {} batches, {} results recorded{}{}",
            options.owner,
            summary.batches,
            summary.recorded,
            if summary.finished_runs.is_empty() {
                String::new()
            } else {
                format!("; finished {}", summary.finished_runs.join(", "))
            },
            if summary.cancelled {
                "; stopped, leases released"
            } else {
                ""
            }
        );
        Ok(if summary.cancelled {
            exit::INTERRUPTED
        } else {
            exit::OK
        })
    })
}
