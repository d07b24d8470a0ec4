//! Measures the PII detector: precision, recall and F1 per kind, span-exact and overlap, on
//! Presidio-research's synthetic set (split by template: even template ids are the half the
//! patterns were tuned on, odd ids the half the figures are quoted from) and on our Chinese /
//! Hong Kong set (valid synthetic values and near misses).
//!
//! Run: `cargo run -p aistr-privacy --example pii_eval` (add `--errors` to list the misses and
//! false alarms of the *tuning* half only; the quoted half's errors are never printed, so nobody
//! tunes on them by accident).

#![allow(clippy::print_stdout)] // an evaluation report on stdout

use aistr_privacy::Detector;
use aistr_privacy::eval::{
    Labelled, PRESIDIO_TYPES, parse_jsonl, parse_presidio, predict, presidio_split, render_table, score,
};
use aistr_privacy::kind::PiiKind;
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let errors = std::env::args().any(|a| a == "--errors");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let presidio_path = data.join("presidio/synth_dataset_v2.json");
    let (rows, skipped) = parse_presidio(
        &presidio_path.display().to_string(),
        &std::fs::read_to_string(&presidio_path)?,
    )?;
    let detector = Detector::shared();
    let kinds: Vec<PiiKind> = PRESIDIO_TYPES.iter().map(|(_, k)| *k).collect();
    let (tune, test) = presidio_split(rows.clone());
    println!(
        "Presidio synth_dataset_v2: span-exact P/R/F1, then overlap (~). Types not measured (no detector): {skipped:?}\n"
    );
    println!(
        "{}",
        render_table(
            "Presidio, QUOTED half (odd template ids, never tuned on)",
            &score(detector, &test, &kinds)
        )
    );
    println!(
        "{}",
        render_table(
            "Presidio, tuning half (even template ids)",
            &score(detector, &tune, &kinds)
        )
    );
    println!(
        "{}",
        render_table(
            "Presidio, all 1,500 (includes the tuning half)",
            &score(detector, &rows, &kinds)
        )
    );

    let zh_path = data.join("zh-hk-pii.jsonl");
    let zh = parse_jsonl(
        &zh_path.display().to_string(),
        &std::fs::read_to_string(&zh_path)?,
    )?;
    let zh_kinds: Vec<PiiKind> = PiiKind::ALL.to_vec();
    let zh_scores = score(detector, &zh, &zh_kinds);
    let near_misses = zh.iter().filter(|r| r.spans.is_empty()).count();
    let flagged = zh
        .iter()
        .filter(|r| r.spans.is_empty() && !predict(detector, &r.text).is_empty())
        .count();
    println!(
        "{}near misses (no PII, invalid check digits, no context word, look-alikes): {near_misses}, of which flagged: {flagged}\n",
        render_table(
            "zh/HK synthetic set (self-made; see data/make_zh_hk_set.py)",
            &zh_scores
        )
    );
    if errors {
        print_errors("Presidio tuning half", &tune, &kinds, detector);
    }
    Ok(())
}

fn print_errors(title: &str, rows: &[Labelled], kinds: &[PiiKind], detector: &Detector) {
    println!("== errors on {title} (span-exact)");
    for r in rows {
        let pred: Vec<_> = predict(detector, &r.text)
            .into_iter()
            .filter(|s| kinds.contains(&s.kind))
            .collect();
        let chars: Vec<char> = r.text.chars().collect();
        let show = |s: usize, e: usize| chars[s..e].iter().collect::<String>().replace('\n', "\\n");
        for g in &r.spans {
            if !pred
                .iter()
                .any(|p| p.kind == g.kind && p.start == g.start && p.end == g.end)
            {
                let near: Vec<String> = pred
                    .iter()
                    .filter(|p| p.kind == g.kind && p.start < g.end && g.start < p.end)
                    .map(|p| show(p.start, p.end))
                    .collect();
                println!(
                    "MISS {:<14} {:?}  got {:?}",
                    g.kind.id(),
                    show(g.start, g.end),
                    near
                );
            }
        }
        for p in &pred {
            if !r
                .spans
                .iter()
                .any(|g| g.kind == p.kind && g.start < p.end && p.start < g.end)
            {
                println!(
                    "FP   {:<14} {:?}  in {:?}",
                    p.kind.id(),
                    show(p.start, p.end),
                    r.text.replace('\n', "\\n")
                );
            }
        }
    }
}
