//! The `aistr` binary: a thin front end over the library crates. It parses flags and the config
//! file into what the libraries take (a scan spec for the session), draws progress, prints, and
//! maps outcomes to the exit codes of `exit.rs`. Modules depend one way only:
//! `main` → `commands` → `cli`, `config`, `output`, `exit`; nothing imports `main` or `commands`
//! back, except `commands` sharing helpers among themselves.

mod cli;
mod commands;
mod config;
mod endpoint_args;
mod exit;
mod output;

use clap::Parser;
use cli::{Cli, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("AISTR_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Scan(args) => commands::scan::run(*args),
        Command::List(args) => commands::list::run(&args),
        Command::Report(args) => commands::report::run(&args),
        Command::Compare(args) => commands::compare::run(&args),
        Command::Modelscan(args) => commands::modelscan::run_modelscan(&args),
        Command::Bom(args) => commands::modelscan::run_bom(&args),
        Command::Judge(args) => commands::judge::run(args),
        Command::Review(args) => commands::review::run(args),
        Command::Models(args) => commands::models::run(&args),
        Command::Guard(args) => commands::guard::run(*args),
        Command::Mcp(args) => commands::mcp::run(&args),
        Command::Worker(args) => commands::worker::run(&args),
        Command::Serve(args) => commands::serve::run_serve(&args),
        Command::Token(args) => commands::serve::run_token(&args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(if e.code == exit::OK { exit::FAILURE } else { e.code })
        }
    }
}
