//! Runs a model scan without the main binary: `cargo run -p aistr-modelscan --example modelscan -- PATH...`
//! (text report, default limits; `aistr modelscan` has the flags). Exits 0 clean, 4 malicious or
//! suspicious, 5 inconclusive, 1 on error, as `aistr modelscan` does.

use aistr_modelscan::{Limits, ModelscanOptions, OutputFormat, Verdict};

fn main() {
    let paths: Vec<std::path::PathBuf> = std::env::args_os().skip(1).map(Into::into).collect();
    if paths.is_empty() {
        eprintln!("usage: modelscan PATH...");
        std::process::exit(2);
    }
    let options = ModelscanOptions {
        paths,
        format: OutputFormat::Text,
        out: None,
        verbose: false,
        limits: Limits::default(),
    };
    let mut out = std::io::stdout().lock();
    let code = match aistr_modelscan::run_modelscan(&options, &mut out) {
        Ok(Verdict::Clean) => 0,
        Ok(Verdict::Suspicious | Verdict::Malicious) => 4,
        Ok(Verdict::Inconclusive) => 5,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    };
    std::process::exit(code);
}
