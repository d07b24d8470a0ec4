//! Judge throughput on the CPU: verdicts per second per configuration for answers of about 64, 256
//! and 1,024 tokens, judged in batches of 64 answers (one thread; model load excluded, reported
//! apart; one warm-up pass).
//!
//! `cargo run --release -p aistr-judge --example bench_judge [-- PASSES [CONFIG...]]`
//!
//! Answers are built from the dev set's answers (English and Chinese), concatenated and cut to the
//! length: one token is taken as 0.75 English words or one Chinese character (the usual BPE
//! rule of thumb; the MiniLM stages cut at 256 tokens anyway).

use aistr_core::{Intent, Probe};
use aistr_judge::eval::parse_jsonl;
use aistr_judge::{Judge, JudgeInput, Resources, build};
use std::time::Instant;

const BATCH: usize = 64;

fn cut_to_tokens(pool: &[String], start: usize, tokens: usize) -> String {
    let mut out = String::new();
    let mut t = 0.0f64;
    let mut i = start;
    while t < tokens as f64 {
        let text = &pool[i % pool.len()];
        i += 1;
        for w in text.split_inclusive(char::is_whitespace) {
            let cjk = w
                .chars()
                .filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c))
                .count();
            t += if cjk > 0 { cjk as f64 } else { 1.0 / 0.75 };
            out.push_str(w);
            if t >= tokens as f64 {
                break;
            }
        }
        out.push('\n');
    }
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let passes: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(3);
    let configs: Vec<String> = if args.len() > 1 {
        args[1..].to_vec()
    } else {
        vec!["learned".into(), "rules".into(), "rules+embedded".into()]
    };
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/data/dev.jsonl"))?;
    let rows = parse_jsonl(&text)?;
    let pool: Vec<String> = rows
        .iter()
        .map(|r| r.response.clone())
        .filter(|r| r.len() > 40)
        .collect();
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
        "{passes} timed passes over {BATCH} answers per length, 1 thread of judging (candle may use more for matmuls)"
    );
    for name in &configs {
        let t = Instant::now();
        let judge = match build(name, &resources) {
            Ok(j) => j,
            Err(e) => {
                eprintln!("{name}: cannot build: {e}");
                continue;
            }
        };
        let load = t.elapsed().as_secs_f64();
        for tokens in [64usize, 256, 1024] {
            let answers: Vec<String> = (0..BATCH).map(|i| cut_to_tokens(&pool, i * 7, tokens)).collect();
            let run = |j: &dyn Judge| {
                let inputs: Vec<JudgeInput<'_>> = answers
                    .iter()
                    .enumerate()
                    .map(|(i, a)| {
                        let p = &probes[i % probes.len()];
                        JudgeInput {
                            probe: p,
                            sent_prompt: &p.prompt,
                            response: a,
                            canary: None,
                            decoded_responses: &[],
                            finish_reason: None,
                        }
                    })
                    .collect();
                std::hint::black_box(j.judge_batch(&inputs));
            };
            run(judge.as_ref()); // warm-up (fills caches, as a real scan would)
            let t = Instant::now();
            for _ in 0..passes {
                run(judge.as_ref());
            }
            let secs = t.elapsed().as_secs_f64();
            let n = (BATCH * passes) as f64;
            eprintln!(
                "{name:<24} {tokens:>5} tokens {:>10.1} verdicts/s  ({:.2} ms each; build {load:.2}s)",
                n / secs,
                1000.0 * secs / n
            );
        }
    }
    Ok(())
}
