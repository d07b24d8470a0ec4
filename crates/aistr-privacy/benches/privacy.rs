//! Throughput of the PII detector and the leak matcher (plain std timing, `harness = false`).
//!
//! Texts: (1) Presidio's 1,500 synthetic sentences, dense with PII, repeated to ~8 MB; (2) the
//! zh/HK set repeated likewise; (3) ordinary English prose with no PII (the `RegexSet` fast path);
//! (4) the leak matcher over model-answer-sized texts with eight canaries (decoders included).
//!
//! Run: `cargo bench -p aistr-privacy --bench privacy`

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use aistr_privacy::eval::{parse_jsonl, parse_presidio};
use aistr_privacy::{CANARY_KINDS, Detector, LeakMatcher, canary};
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

const TARGET_BYTES: usize = 8 << 20;

fn repeat_to(pieces: &[String], target: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut total = 0;
    while total < target {
        for p in pieces {
            total += p.len();
            out.push(p.clone());
        }
    }
    out
}

fn bench_detector(name: &str, texts: &[String], d: &Detector) {
    let bytes: usize = texts.iter().map(String::len).sum();
    let started = Instant::now();
    let mut found = 0usize;
    for t in texts {
        found += black_box(d.detect(t)).len();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{name:<44} {:>7.1} MB in {secs:>6.2} s = {:>7.1} MB/s  ({} texts, {found} detections)",
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / secs,
        texts.len()
    );
}

fn main() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let presidio =
        std::fs::read_to_string(data.join("presidio/synth_dataset_v2.json")).expect("presidio set");
    let (rows, _) = parse_presidio("presidio", &presidio).expect("parses");
    let sentences: Vec<String> = rows.into_iter().map(|r| r.text).collect();
    let zh = std::fs::read_to_string(data.join("zh-hk-pii.jsonl")).expect("zh set");
    let zh: Vec<String> = parse_jsonl("zh", &zh)
        .expect("parses")
        .into_iter()
        .map(|r| r.text)
        .collect();
    let prose = "The committee met on Tuesday to review the quarterly results. Revenue grew in most \
                 regions, although the team noted that several projects were delayed by supply issues \
                 and that hiring had slowed. Members asked for a clearer plan for the next year. "
        .to_owned();

    let started = Instant::now();
    let d = Detector::new();
    println!("detector build: {:.1} ms", started.elapsed().as_secs_f64() * 1e3);
    bench_detector(
        "PII detector, Presidio sentences (en)",
        &repeat_to(&sentences, TARGET_BYTES),
        &d,
    );
    bench_detector("PII detector, zh/HK set", &repeat_to(&zh, TARGET_BYTES), &d);
    bench_detector(
        "PII detector, prose without PII, 1 KB texts",
        &repeat_to(&[prose.repeat(4)], TARGET_BYTES),
        &d,
    );

    let canaries = canary::seeded(7, CANARY_KINDS, 1).expect("canaries");
    let m = LeakMatcher::new(&canaries).expect("matcher");
    let answers: Vec<String> = sentences.chunks(3).take(2000).map(|c| c.join(" ")).collect();
    let bytes: usize = answers.iter().map(String::len).sum();
    let started = Instant::now();
    let mut leaks = 0;
    for a in &answers {
        leaks += black_box(m.find(a)).len();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{:<44} {:>7.1} MB in {secs:>6.2} s = {:>7.1} MB/s  ({} answers, {:.0} µs each, {leaks} leaks)",
        "leak matcher, 8 canaries, all decoders",
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / secs,
        answers.len(),
        secs * 1e6 / answers.len() as f64
    );
}
