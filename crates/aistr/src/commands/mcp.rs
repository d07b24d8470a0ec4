//! `aistr mcp scan SERVER`: the flags live in `cli.rs`, connecting and judging in `aistr-mcp`.
//! Exit codes: 0 nothing flagged, 4 ([`exit::FINDINGS`]) a poisoning pattern found, 2 bad usage,
//! 1 the server could not be started, reached or listed (never reported as clean).

use crate::cli::{McpArgs, McpCommand, McpScanArgs};
use crate::exit::{self, CliError, CmdResult};
use aistr_mcp::{McpError, Server};
use anyhow::anyhow;
use std::io::Write;
use std::time::Duration;

pub fn run(args: &McpArgs) -> CmdResult {
    match &args.command {
        McpCommand::Scan(a) => scan(a),
    }
}

fn scan(args: &McpScanArgs) -> CmdResult {
    let server = Server::parse(&args.server, &args.args).map_err(CliError::usage)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow!("cannot start the async runtime: {e}"))?;
    let listing = runtime
        .block_on(aistr_mcp::list(
            &server,
            Duration::from_secs(args.timeout_secs.max(1)),
        ))
        .map_err(|e| match e {
            McpError::Usage(_) => CliError::usage(e),
            McpError::Server(_) => CliError::from(anyhow!(e)),
        })?;
    let report = aistr_mcp::report(&server, &listing);
    let text = if args.json {
        serde_json::to_string_pretty(&report).map_err(|e| anyhow!(e))? + "\n"
    } else {
        aistr_mcp::render_text(&report)
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(|e| anyhow!("cannot write the report: {e}"))?;
    Ok(if report.findings.is_empty() {
        exit::OK
    } else {
        exit::FINDINGS
    })
}
