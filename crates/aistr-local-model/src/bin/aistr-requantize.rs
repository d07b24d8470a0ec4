//! `aistr-requantize IN OUT`: the install script's helper that re-quantizes the shipped Q4_1
//! SmolLM2 GGUF to Q8_0 (see `aistr_local_model::requantize_q8` for why).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: aistr-requantize IN.gguf OUT.gguf");
        return ExitCode::from(2);
    };
    let started = std::time::Instant::now();
    match aistr_local_model::requantize_q8(input, output) {
        Ok(()) => {
            eprintln!(
                "aistr-requantize: wrote {} in {:.1} s",
                output.display(),
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("aistr-requantize: {e}");
            ExitCode::FAILURE
        }
    }
}
