//! Judge throughput on the CPU: verdicts per second for each configuration over the dev set,
//! single-threaded, after one warm-up pass (model load excluded, reported apart).
//!
//! `cargo run --release -p aistr-judge --example bench_judge [-- PASSES [CONFIG...]]`

use aistr_core::{Intent, Probe};
use aistr_judge::eval::parse_jsonl;
use aistr_judge::{Judge, JudgeInput, Resources, build};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let passes: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(3);
    let configs: Vec<String> = if args.len() > 1 {
        args[1..].to_vec()
    } else {
        vec![
            "rules".into(),
            "embedded".into(),
            "rules+embedded".into(),
            "rules+embedded+jailguard".into(),
        ]
    };
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/data/dev.jsonl"))?;
    let rows = parse_jsonl(&text)?;
    let mut resources = Resources::offline();
    if !resources.embedder_available() {
        resources.minilm_dir =
            Some(concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/all-MiniLM-L6-v2").into());
    }
    let probes: Vec<Probe> = rows
        .iter()
        .map(|r| Probe {
            id: r.id.clone().unwrap_or_default(),
            dataset: "dev".into(),
            prompt: r.request.clone(),
            category: "c".into(),
            language: r.lang.clone().unwrap_or_default(),
            source: "dev".into(),
            license: "Apache-2.0".into(),
            intent: r.intent.unwrap_or(Intent::Harmful),
        })
        .collect();
    eprintln!(
        "{} rows, {passes} timed passes each, 1 thread of judging (candle may use more for matmuls)",
        rows.len()
    );
    for name in &configs {
        let t = Instant::now();
        let judge = build(name, &resources)?;
        let load = t.elapsed().as_secs_f64();
        let run = |j: &dyn Judge| {
            for (r, p) in rows.iter().zip(&probes) {
                let input = JudgeInput {
                    probe: p,
                    sent_prompt: &r.request,
                    response: &r.response,
                    canary: None,
                    decoded_responses: &[],
                    finish_reason: r.finish_reason.as_deref(),
                };
                std::hint::black_box(j.judge(&input));
            }
        };
        run(judge.as_ref()); // warm-up (fills the request-embedding cache, as a real scan would)
        let t = Instant::now();
        for _ in 0..passes {
            run(judge.as_ref());
        }
        let secs = t.elapsed().as_secs_f64();
        let n = (rows.len() * passes) as f64;
        eprintln!(
            "{name:<28} {:>9.1} verdicts/s  ({:.2} ms each; build {load:.2}s)",
            n / secs,
            1000.0 * secs / n
        );
    }
    Ok(())
}
