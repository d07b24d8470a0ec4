//! Prints the cosine similarity of two texts with the installed MiniLM, and the time per text.
//! `cargo run --release -p aistr-embed --example embed -- "text a" "text b"`

use aistr_embed::{Embedder, cosine, default_minilm_dir};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (a, b) = match args.as_slice() {
        [a, b, ..] => (a.as_str(), b.as_str()),
        _ => ("A man is eating food.", "A man is eating a piece of bread."),
    };
    let e = Embedder::load_dir(&default_minilm_dir())?;
    let t = Instant::now();
    let va = e.embed(a)?;
    let vb = e.embed(b)?;
    let per = t.elapsed().as_secs_f64() * 1000.0 / 2.0;
    eprintln!("cos = {:.4}  ({per:.1} ms per text)", cosine(&va, &vb));
    Ok(())
}
