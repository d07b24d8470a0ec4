//! `cargo xtask deps`: checks the workspace's dependency shape against ARCHITECTURE.md (see the
//! library docs). Exits 1 and lists every violation when the shape is wrong.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let task = std::env::args().nth(1);
    if task.as_deref() != Some("deps") {
        eprintln!("usage: cargo xtask deps");
        return ExitCode::from(2);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    match xtask::check_workspace(&root) {
        Ok(v) if v.is_empty() => {
            eprintln!("dependency shape matches ARCHITECTURE.md");
            ExitCode::SUCCESS
        }
        Ok(v) => {
            for violation in &v {
                eprintln!("{violation}");
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
