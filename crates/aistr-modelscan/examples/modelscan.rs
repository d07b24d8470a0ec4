//! Runs `aistr modelscan` without the main binary: `cargo run -p aistr-modelscan --example modelscan -- PATH...`.
use clap::Parser;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: aistr_modelscan::ModelscanArgs,
}

fn main() {
    let cli = Cli::parse();
    let mut out = std::io::stdout().lock();
    let code = match aistr_modelscan::run_modelscan(&cli.args, &mut out) {
        Ok(c) => c.code(),
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    };
    std::process::exit(code);
}
