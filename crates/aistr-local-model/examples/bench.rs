//! Measures load time, prefill and decode speed of the installed local model:
//! `cargo run --release -p aistr-local-model --example bench [-- MODEL.gguf [RUNS]]`.
//! Threads follow `RAYON_NUM_THREADS` (candle's CPU kernels). The last line is machine-readable
//! (`RESULT ...`: median prefill and decode tokens/s, RSS with the model loaded) for
//! `scripts/local-model-bench.sh`, which runs llama.cpp on the same file and prompt beside it;
//! `AISTR_BENCH_PROMPT_OUT=FILE` writes the rendered prompt there for it.
//!
//! Then batching: `AISTR_BENCH_BATCHES` (default `1,4,8`) sets how many different conversations
//! are stepped together (each 32 greedy tokens); a `RESULT_BATCH` line per size gives the median
//! aggregate generated tokens/s, prefill included (wall time from the first step to the last).

use std::path::PathBuf;
use std::time::Instant;

use aistr_local_model::{LocalModel, Message, default_model_path};

/// Different questions, so the sequences of a batch differ in length and content.
const QUESTIONS: &[&str] = &[
    "Explain in two sentences why the sky is blue.",
    "What is the capital of France?",
    "Write a haiku about autumn.",
    "How do I boil an egg?",
    "Name three prime numbers.",
    "Why do cats purr?",
    "Give me a tip for learning to code.",
    "What is photosynthesis?",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().map_or_else(default_model_path, PathBuf::from);
    let runs: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(3);

    let started = Instant::now();
    let mut model = LocalModel::load(&path)?;
    // Every figure here is of the network itself: a warm prefix cache would serve the repeated
    // prompts without prefill (scans gain from it; `docs/targets.md` quotes that separately).
    model.set_prefix_cache_bytes(0);
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
    if let Ok(out) = std::env::var("AISTR_BENCH_PROMPT_OUT") {
        std::fs::write(out, model.render_prompt(&msgs)?)?;
    }
    let (mut prefill, mut decode) = (Vec::new(), Vec::new());
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
        prefill.push(f64::from(g.prompt_tokens) / t.prefill.as_secs_f64());
        decode.push(f64::from(decoded) / t.decode.as_secs_f64().max(1e-9));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    let batches: Vec<usize> = std::env::var("AISTR_BENCH_BATCHES")
        .unwrap_or_else(|_| "1,4,8".into())
        .split(',')
        .filter_map(|b| b.trim().parse().ok())
        .collect();
    let mut batch_lines = Vec::new();
    for &size in &batches {
        if size > 1 && !model.can_batch() {
            eprintln!(
                "batch {size}: skipped, a {} model does not batch",
                model.architecture()
            );
            continue;
        }
        let mut rates = Vec::new();
        for _ in 0..runs {
            let mut seqs = (0..size)
                .map(|i| {
                    let question = QUESTIONS[i % QUESTIONS.len()];
                    model.begin(&[msgs[0].clone(), Message::user(question)], 32, 0.0, 0)
                })
                .collect::<Result<Vec<_>, _>>()?;
            let started = Instant::now();
            while seqs.iter().any(|s| !s.is_finished()) {
                model.step(&mut seqs.iter_mut().collect::<Vec<_>>())?;
            }
            let seconds = started.elapsed().as_secs_f64();
            let mut tokens = 0u32;
            for seq in seqs {
                tokens += model.finish(seq)?.completion_tokens;
            }
            rates.push(f64::from(tokens) / seconds.max(1e-9));
        }
        let tps = median(&mut rates);
        eprintln!("batch {size}: {tps:.1} generated tok/s (aggregate, prefill included)");
        batch_lines.push(format!("RESULT_BATCH aistr batch={size} aggregate_tps={tps:.1}"));
    }
    for line in batch_lines {
        eprintln!("{line}");
    }
    let rss_mb = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0);
    eprintln!(
        "RESULT aistr threads={} prefill_tps={:.1} decode_tps={:.1} rss_mb={rss_mb:.0}",
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all".into()),
        median(&mut prefill),
        median(&mut decode),
    );
    Ok(())
}
