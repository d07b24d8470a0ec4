//! Time per text of the installed MiniLM at several batch sizes, for short chat prompts like the
//! ones a guard screens. Tells whether batching concurrent requests pays, and by how much.
//! `cargo run --release -p aistr-embed --example embed_batch -- [ROUNDS]`

use aistr_embed::{Embedder, default_minilm_dir};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(64);
    let e = Embedder::load_dir(&default_minilm_dir())?;
    let texts: Vec<String> = (0..64)
        .map(|i| {
            format!(
                "Question {i}: could you tell me about the history of place number {}?",
                i * 7
            )
        })
        .collect();
    e.embed(&texts[0])?; // warm-up
    for batch in [1usize, 2, 4, 8, 16, 32] {
        let t = Instant::now();
        let mut done = 0usize;
        while done < rounds {
            let refs: Vec<&str> = texts
                .iter()
                .cycle()
                .skip(done)
                .take(batch)
                .map(String::as_str)
                .collect();
            e.embed_batch(&refs)?;
            done += batch;
        }
        let per = t.elapsed().as_secs_f64() * 1000.0 / done as f64;
        eprintln!("batch {batch:>2}: {per:6.2} ms per text over {done} texts");
    }
    Ok(())
}
