//! `aistr modelscan` and `aistr bom`: the supply-chain commands, mounted from `aistr-modelscan`.
//! Their exit codes are their own (documented in docs/modelscan.md): 0 clean, 1 error, 2 usage,
//! 3 BOM mismatch, 4 malicious or suspicious, 5 inconclusive only.

use crate::cli::CmdResult;
use anyhow::anyhow;

pub fn run_modelscan(args: &aistr_modelscan::ModelscanArgs) -> CmdResult {
    let mut out = std::io::stdout().lock();
    let code = aistr_modelscan::run_modelscan(args, &mut out).map_err(|e| anyhow!(e))?;
    Ok(u8::try_from(code.code()).unwrap_or(1))
}

pub fn run_bom(args: &aistr_modelscan::BomArgs) -> CmdResult {
    let mut out = std::io::stdout().lock();
    let code = aistr_modelscan::run_bom(args, &mut out).map_err(|e| anyhow!(e))?;
    Ok(u8::try_from(code.code()).unwrap_or(1))
}
