//! `aistr modelscan` and `aistr bom`: the supply-chain commands. The flags live in `cli.rs`, the
//! scanning in `aistr-modelscan`; the outcomes map to the binary's one exit-code table.

use crate::cli::{BomArgs, BomCommand, LimitArgs, ModelscanArgs, ModelscanFormat};
use crate::exit::{self, CliError, CmdResult};
use aistr_modelscan::{BomJob, Limits, ModelscanOptions, OutputFormat};
use anyhow::anyhow;
use std::time::Duration;

fn limits(a: &LimitArgs) -> Limits {
    Limits {
        max_opcodes: a.max_opcodes,
        max_depth: a.max_depth,
        max_decompressed: a.max_decompressed,
        max_ratio: a.max_ratio,
        max_nested_bytes: a.max_nested_bytes,
        max_header_bytes: a.max_header_bytes,
        max_time: Duration::from_secs(a.max_time_secs),
        ..Limits::default()
    }
}

pub fn run_modelscan(args: &ModelscanArgs) -> CmdResult {
    let options = ModelscanOptions {
        paths: args.paths.clone(),
        format: match args.format {
            ModelscanFormat::Text => OutputFormat::Text,
            ModelscanFormat::Json => OutputFormat::Json,
            ModelscanFormat::Sarif => OutputFormat::Sarif,
        },
        out: args.out.clone(),
        verbose: args.verbose,
        limits: limits(&args.limits),
    };
    let mut out = std::io::stdout().lock();
    let worst = aistr_modelscan::run_modelscan(&options, &mut out).map_err(|e| anyhow!(e))?;
    Ok(exit::for_model_verdict(worst))
}

pub fn run_bom(args: &BomArgs) -> CmdResult {
    let job = match (&args.command, &args.path) {
        (Some(BomCommand::Verify { bom, path }), _) => BomJob::Verify {
            bom: bom.clone(),
            path: path.clone(),
        },
        (None, Some(path)) => BomJob::Write {
            path: path.clone(),
            out: args.out.clone(),
        },
        (None, None) => {
            return Err(CliError::usage(anyhow!(
                "usage: aistr bom PATH [--out bom.json] | aistr bom verify BOM PATH"
            )));
        }
    };
    let mut out = std::io::stdout().lock();
    let outcome = aistr_modelscan::run_bom(&job, &limits(&args.limits), &mut out).map_err(|e| anyhow!(e))?;
    Ok(exit::for_bom(outcome))
}
