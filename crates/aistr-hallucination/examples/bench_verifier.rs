//! Throughput of the quotation verifier and cost of the corpus index: index build time from the
//! corpus files and from its snapshot (the start-up cost), snapshot and heap size, then answers verified per second (single thread) over the generated labelled answers of
//! both splits, after a warm-up pass.
//!
//! `cargo run -p aistr-hallucination --example bench_verifier [-- PASSES]`

#![expect(
    clippy::print_stdout,
    reason = "a command-line tool: what it prints is its output"
)]

use std::time::Instant;

use aistr_hallucination::corpus::{Corpus, default_corpus_dir};
use aistr_hallucination::evalset::{Split, generate};
use aistr_hallucination::normalize::Normalizer;
use aistr_hallucination::verify::{Attribution, Verifier};

/// CPU seconds used by this process so far (Linux `/proc/self/stat`, 10 ms ticks): on a shared
/// machine wall time also counts the time other processes held the cores.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = after.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    // Fields after the command: state(skipped, not numeric) ppid … utime is field 14, stime 15.
    (f.get(10).copied().unwrap_or(0.0) + f.get(11).copied().unwrap_or(0.0)) / 100.0
}

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
    let cold = Corpus::load_dir(&dir, &norm)?;
    let build = t.elapsed();
    drop(cold);
    // Start-up as `aistr scan` sees it: from the snapshot written on first use.
    let snap = std::env::temp_dir().join(format!("aistr-bench-{}.snapshot", std::process::id()));
    let t = Instant::now();
    let (_, first) = Corpus::load_cached(&dir, &snap, &norm)?;
    let first_use = t.elapsed();
    let snap_bytes = std::fs::metadata(&snap).map(|m| m.len()).unwrap_or(0);
    let t = Instant::now();
    let cpu = cpu_seconds();
    let (corpus, status) = Corpus::load_cached(&dir, &snap, &norm)?;
    let warm = t.elapsed();
    let warm_cpu = cpu_seconds() - cpu;
    let _ = std::fs::remove_file(&snap);
    let t = Instant::now();
    let verifier = Verifier::new(&corpus, &norm);
    let names = t.elapsed();
    println!(
        "opencc t2s load {:.3}s; index from the corpus files {:.3}s; first use (build + write snapshot, {first:?}) {:.3}s; \
         start-up from the snapshot ({status:?}) {:.3}s wall, {warm_cpu:.2}s CPU; snapshot {:.1} MiB",
        opencc.as_secs_f64(),
        build.as_secs_f64(),
        first_use.as_secs_f64(),
        warm.as_secs_f64(),
        snap_bytes as f64 / (1024.0 * 1024.0),
    );
    println!(
        "{} poems, {} authors, {} clauses, ~{:.1} MiB heap; poet-name automaton {:.3}s",
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
