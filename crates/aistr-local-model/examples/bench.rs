//! Measures load time, prefill and decode speed of the installed local model:
//! `cargo run --release -p aistr-local-model --example bench [-- MODEL.gguf [RUNS]]`.

use std::path::PathBuf;
use std::time::Instant;

use aistr_local_model::{LocalModel, Message, default_model_path};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().map_or_else(default_model_path, PathBuf::from);
    let runs: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(3);

    let started = Instant::now();
    let mut model = LocalModel::load(&path)?;
    eprintln!(
        "loaded {} ({}) in {:.2} s",
        model.name(),
        path.display(),
        started.elapsed().as_secs_f64()
    );

    let msgs = [
        Message::system("You are a helpful assistant. Answer briefly."),
        Message::user("Explain in two sentences why the sky is blue."),
    ];
    for run in 1..=runs {
        let g = model.chat(&msgs, 32, 0.0, 0)?;
        let t = g.timings;
        // The first token comes out of the prefill pass; decode time covers the remaining ones.
        let decoded = g.completion_tokens.saturating_sub(1);
        eprintln!(
            "run {run}: prompt {} tok, prefill {:.0} ms ({:.0} tok/s); {} new tok, decode {:.0} ms ({:.1} tok/s); {}",
            g.prompt_tokens,
            t.prefill.as_secs_f64() * 1e3,
            f64::from(g.prompt_tokens) / t.prefill.as_secs_f64(),
            g.completion_tokens,
            t.decode.as_secs_f64() * 1e3,
            f64::from(decoded) / t.decode.as_secs_f64().max(1e-9),
            g.finish_reason,
        );
        if run == 1 {
            eprintln!("reply: {:?}", g.text);
        }
    }
    Ok(())
}
