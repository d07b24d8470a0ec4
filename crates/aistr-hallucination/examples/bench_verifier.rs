//! Throughput of the quotation verifier and cost of the corpus index: index build time and heap
//! size, then answers verified per second (single thread) over the generated labelled answers of
//! both splits, after a warm-up pass.
//!
//! `cargo run --release -p aistr-hallucination --example bench_verifier [-- PASSES]`

#![expect(
    clippy::print_stdout,
    reason = "a command-line tool: what it prints is its output"
)]

use std::time::Instant;

use aistr_hallucination::corpus::{Corpus, default_corpus_dir};
use aistr_hallucination::evalset::{Split, generate};
use aistr_hallucination::normalize::Normalizer;
use aistr_hallucination::verify::{Attribution, Verifier};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let passes: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(3);
    let dir = default_corpus_dir(
        std::env::var_os("AISTR_POETRY_DIR").as_deref(),
        &std::env::current_dir()?,
    )
    .ok_or("corpus not found: set AISTR_POETRY_DIR")?;
    let t = Instant::now();
    let norm = Normalizer::new()?;
    let opencc = t.elapsed();
    let t = Instant::now();
    let corpus = Corpus::load_dir(&dir, &norm)?;
    let build = t.elapsed();
    let t = Instant::now();
    let verifier = Verifier::new(&corpus, &norm);
    let names = t.elapsed();
    println!(
        "opencc t2s load {:.3}s; corpus index build {:.3}s ({} poems, {} authors, {} clauses, ~{:.1} MiB heap); poet-name automaton {:.3}s",
        opencc.as_secs_f64(),
        build.as_secs_f64(),
        corpus.poems().len(),
        corpus.authors().len(),
        corpus.clause_count(),
        corpus.heap_bytes() as f64 / (1024.0 * 1024.0),
        names.as_secs_f64()
    );
    let mut answers: Vec<String> = Vec::new();
    for split in [Split::Dev, Split::Test] {
        answers.extend(generate(&verifier, split, 99, 100).into_iter().map(|i| i.answer));
    }
    let ctx = Attribution::default();
    let run = || {
        answers
            .iter()
            .map(|a| verifier.verify(a, &ctx).len())
            .sum::<usize>()
    };
    let quotes = run();
    let t = Instant::now();
    for _ in 0..passes {
        std::hint::black_box(run());
    }
    let secs = t.elapsed().as_secs_f64();
    let n = answers.len() * passes;
    println!(
        "{} answers ({} quotations) x {passes} passes: {:.0} answers/s, {:.2} ms/answer",
        answers.len(),
        quotes,
        n as f64 / secs,
        secs * 1000.0 / n as f64
    );
    Ok(())
}
