//! `aistr compare RUN_A RUN_B`: what changed between two runs of the same suite (a model update,
//! a new guardrail), per cell with a significance test. The statistics live in `aistr-report`.

use crate::cli::CompareArgs;
use crate::commands::report::open_run;
use crate::exit::{self, CliError, CmdResult};
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
        // Reports are computed, not read from report.json: comparing writes nothing.
        let a = open_run(&args.db, &args.run_a).await?.finish().await?;
        let b = open_run(args.db_b.as_ref().unwrap_or(&args.db), &args.run_b)
            .await?
            .finish()
            .await?;
        let comparison = aistr_report::compare(&a, &b, args.alpha);
        let text = if args.json {
            serde_json::to_string_pretty(&comparison).map_err(anyhow::Error::from)? + "\n"
        } else {
            aistr_report::render_comparison(&comparison)
        };
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
        let regressions = comparison.regressions().count();
        Ok(if args.fail_on_regression && regressions > 0 {
            exit::THRESHOLD_CROSSED
        } else {
            exit::OK
        })
    })
}
