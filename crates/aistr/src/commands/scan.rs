//! `aistr scan`: flags and config file → a scan spec; the session plans (or reopens) the run,
//! executes it and computes the report; this command draws the progress bar, turns Ctrl-C into a
//! cancellation, writes the report files and picks the exit code.

use crate::cli::ScanArgs;
use crate::config;
use crate::exit::{self, CliError, CmdResult};
use crate::output::{Outputs, write_report_json};
use aistr_core::AttemptResult;
use aistr_session::{CancellationToken, ExecutionStart, PlannedScan, ProgressSink, Session, SharedJournal};
use aistr_store::Journal;
use anyhow::{Context, anyhow};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where journals and reports go when neither flags nor the config file say.
pub const DEFAULT_DB: &str = "aistr-out/journal.db";
const DEFAULT_OUT: &str = "aistr-out";

pub fn run(args: ScanArgs) -> CmdResult {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run_async(args))
}

async fn open_journal(db: &Path) -> Result<SharedJournal, CliError> {
    let journal = Journal::open(db).await.map_err(|e| CliError::usage(anyhow!(e)))?;
    Ok(Arc::new(journal))
}

async fn run_async(args: ScanArgs) -> CmdResult {
    let outputs = Outputs::parse(args.format.as_deref().unwrap_or("json"), args.fail_on.as_deref())?;
    let (mut session, db) = match &args.resume {
        Some(run_id) => {
            let db = args.db.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_DB));
            let session = Session::resume(open_journal(&db).await?, run_id).await?;
            (session, db)
        }
        None => {
            let inputs = config::resolve(&args).map_err(CliError::usage)?;
            // Plan before the journal exists: a bad dataset or attack leaves no file behind.
            let planned = PlannedScan::new(inputs.spec)?;
            for warning in planned.warnings() {
                eprintln!("aistr: warning: {warning}");
            }
            let journal = open_journal(&inputs.db).await?;
            if args.detach {
                // Planned and queued: the workers take it from here.
                let n = planned.attempts().len();
                let session = Session::queue(Arc::clone(&journal), planned, args.run_id.clone()).await?;
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{}", session.run_id());
                eprintln!(
                    "aistr: run {} planned ({n} attempts) and queued in {}; start `aistr worker --db …` to execute it",
                    session.run_id(),
                    aistr_store::redact_url(&inputs.db.display().to_string())
                );
                return Ok(exit::OK);
            }
            let session = Session::create(Arc::clone(&journal), planned, args.run_id.clone()).await?;
            (session, inputs.db)
        }
    };
    let out = args
        .out
        .clone()
        .or_else(|| session.spec().report_dir.clone())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_OUT));

    let progress = Arc::new(Terminal::new(!args.no_progress));
    let cancel = CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_ctrl_c.cancel();
        }
    });
    let outcome = session
        .execute(Arc::clone(&progress) as Arc<dyn ProgressSink>, cancel)
        .await?;
    progress.bar.finish_and_clear();

    let report = session.finish().await?;
    let attempts = session.report_attempts(args.redact).await?;
    let path = write_report_json(&out, &report)?;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "\n{}", aistr_report::render_terminal(&report));
    let _ = writeln!(err, "report: {}", path.display());
    drop(err);
    outputs.write(&out, &report, &attempts)?;
    let gate = outputs.gate(&report)?;
    let mut err = std::io::stderr().lock();
    if outcome.cancelled {
        let _ = writeln!(
            err,
            "interrupted: resume with `aistr scan --resume {} --db {}`",
            session.run_id(),
            aistr_store::redact_url(&db.display().to_string())
        );
        return Ok(exit::INTERRUPTED);
    }
    if report.overall.scored == 0 && report.over_refusal.as_ref().is_none_or(|o| o.scored == 0) {
        let _ = writeln!(
            err,
            "error: no answer could be scored (see the unscored reasons in the journal)"
        );
        return Ok(exit::NOTHING_SCORED);
    }
    Ok(gate.unwrap_or(exit::OK))
}

/// Progress on the terminal: one line when the run starts, then a bar (only on an interactive
/// stderr, never under `CI`).
struct Terminal {
    bar: ProgressBar,
}

impl Terminal {
    fn new(wanted: bool) -> Self {
        let visible = wanted && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        let bar = ProgressBar::with_draw_target(
            Some(0),
            if visible {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::hidden()
            },
        );
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} attempts ({per_sec}, eta {eta})",
        ) {
            bar.set_style(style);
        }
        Self { bar }
    }
}

impl ProgressSink for Terminal {
    fn started(&self, s: &ExecutionStart) {
        eprintln!(
            "aistr: run {}: {} attempts planned, {} already recorded, {} to send ({} target `{}`)",
            s.run_id, s.planned, s.already_recorded, s.to_send, s.target.kind, s.target.model
        );
        if let Some(a) = &s.attacker {
            eprintln!("aistr: L3 attacker: {} `{}`", a.kind, a.model);
        }
        self.bar.set_length(s.planned);
        self.bar.set_position(s.already_recorded);
    }

    fn recorded(&self, _: &AttemptResult) {
        self.bar.inc(1);
    }
}
