//! `aistr compare RUN_A RUN_B`: what changed between two runs of the same suite (a model update,
//! a new guardrail), per cell with a significance test. The statistics live in `aistr-report`.

use crate::cli::{CmdResult, CompareArgs};
use crate::commands::report::{THRESHOLD_CROSSED, open_existing, rebuild};
use crate::exit::{self, CliError};
use anyhow::Context;
use std::io::Write;

/// `aistr compare`.
pub fn run(args: &CompareArgs) -> CmdResult {
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        return Err(CliError::usage(anyhow::anyhow!(
            "--alpha must be between 0 and 1"
        )));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let journal_a = open_existing(&args.db).await?;
        let journal_b = match &args.db_b {
            Some(db) => open_existing(db).await?,
            None => journal_a.clone(),
        };
        // Rebuilt into a scratch directory: comparing must not overwrite either run's report.json.
        let scratch = std::env::temp_dir().join(format!("aistr-compare-{}", std::process::id()));
        let (a, _) = rebuild(&journal_a, &args.run_a, &scratch.join("a")).await?;
        let (b, _) = rebuild(&journal_b, &args.run_b, &scratch.join("b")).await?;
        let _ = std::fs::remove_dir_all(&scratch);
        let comparison = aistr_report::compare(&a, &b, args.alpha);
        let text = if args.json {
            serde_json::to_string_pretty(&comparison).map_err(anyhow::Error::from)? + "\n"
        } else {
            aistr_report::render_comparison(&comparison)
        };
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
        let regressions = comparison.regressions().count();
        Ok(if args.fail_on_regression && regressions > 0 {
            THRESHOLD_CROSSED
        } else {
            exit::OK
        })
    })
}
