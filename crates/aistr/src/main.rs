//! The `aistr` binary: a thin shell over the library crates. All it does here is hand over to
//! [`cli::main`], which parses arguments, runs a command and maps the outcome to an exit code.

mod cli;
mod commands;
mod config;
mod exit;

fn main() -> std::process::ExitCode {
    cli::main()
}
