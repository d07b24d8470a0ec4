//! `aistr report RUN`: re-render a run's reports from the journal (after a resume or a review
//! import) without re-running it. The session computes the report from the run's stored spec, so
//! it equals what the scan itself wrote.

use crate::cli::ReportArgs;
use crate::exit::{self, CliError, CmdResult};
use crate::output::{Outputs, write_report_json};
use aistr_session::Session;
use aistr_store::Journal;
use anyhow::{Context, anyhow};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// Opens an existing run (never creates a journal: a wrong path is a usage error).
pub async fn open_run(db: &Path, run_id: &str) -> Result<Session, CliError> {
    let is_url = db.to_str().is_some_and(aistr_store::is_postgres_url);
    if !is_url && !db.is_file() {
        return Err(CliError::usage(anyhow!(
            "no journal at {} (pass --db)",
            db.display()
        )));
    }
    let journal = Journal::open(db).await.map_err(|e| CliError::usage(anyhow!(e)))?;
    Ok(Session::resume(Arc::new(journal), run_id).await?)
}

/// `aistr report RUN`.
pub fn run(args: &ReportArgs) -> CmdResult {
    let outputs = Outputs::parse(&args.format, args.fail_on.as_deref())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let session = open_run(&args.db, &args.run).await?;
        let report = session.finish().await?;
        let attempts = session.report_attempts(args.redact).await?;
        let path = write_report_json(&args.out, &report)?;
        let _ = writeln!(std::io::stderr(), "report: {}", path.display());
        outputs.write(&args.out, &report, &attempts)?;
        Ok(outputs.gate(&report)?.unwrap_or(exit::OK))
    })
}
