//! Precision and recall of the quotation verifier on its generated labelled set (see
//! `aistr_hallucination::evalset` for what the set is and is not).
//!
//! `cargo run -p aistr-hallucination --example quote_eval -- [--split test|dev]
//! [--per-class N] [--seed S] [--corpus DIR] [--errors]`
//!
//! Figures are quoted from `--split test` (poems with odd ids, never looked at while
//! developing); the default seed is 2026.

#![expect(
    clippy::print_stdout,
    reason = "a command-line tool: what it prints is its output"
)]

use std::path::PathBuf;
use std::time::Instant;

use aistr_hallucination::corpus::{Corpus, default_corpus_dir};
use aistr_hallucination::evalset::{Split, evaluate, generate};
use aistr_hallucination::normalize::Normalizer;
use aistr_hallucination::verify::{QuoteClass, Verifier};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut split = Split::Test;
    let mut per_class = 500usize;
    let mut seed = 2026u64;
    let mut dir: Option<PathBuf> = None;
    let mut show_errors = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--split" => {
                split = if args.next().as_deref() == Some("dev") {
                    Split::Dev
                } else {
                    Split::Test
                }
            }
            "--per-class" => per_class = args.next().ok_or("--per-class N")?.parse()?,
            "--seed" => seed = args.next().ok_or("--seed S")?.parse()?,
            "--corpus" => dir = Some(args.next().ok_or("--corpus DIR")?.into()),
            "--errors" => show_errors = true,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let dir = dir
        .or_else(|| {
            default_corpus_dir(
                std::env::var_os("AISTR_POETRY_DIR").as_deref(),
                &std::env::current_dir().ok()?,
            )
        })
        .ok_or("corpus not found: pass --corpus DIR or set AISTR_POETRY_DIR")?;
    let norm = Normalizer::new()?;
    let t = Instant::now();
    let corpus = Corpus::load_dir(&dir, &norm)?;
    let build = t.elapsed();
    let verifier = Verifier::new(&corpus, &norm);
    let items = generate(&verifier, split, seed, per_class);
    let t = Instant::now();
    let (eval, predictions) = evaluate(&verifier, &items);
    let took = t.elapsed();
    eprintln!(
        "corpus {} poems, {} clauses, index built in {:.2}s; {} items ({split:?} split, seed {seed}) verified in {:.2}s",
        corpus.poems().len(),
        corpus.clause_count(),
        build.as_secs_f64(),
        eval.n,
        took.as_secs_f64()
    );
    println!("gold \\ predicted   verbatim  misquoted  misattrib  fabricated  none");
    for c in QuoteClass::ALL {
        let row = eval.confusion[c as usize];
        println!(
            "{:<18} {:>8} {:>10} {:>10} {:>11} {:>5}",
            c.as_str(),
            row[0],
            row[1],
            row[2],
            row[3],
            row[4]
        );
    }
    println!();
    println!("class            n   precision  recall");
    for c in QuoteClass::ALL {
        let n: usize = eval.confusion[c as usize].iter().sum();
        let f = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |v| format!("{v:.4}"));
        println!(
            "{:<14} {:>4}   {:>9}  {:>6}",
            c.as_str(),
            n,
            f(eval.precision(c)),
            f(eval.recall(c))
        );
    }
    if show_errors {
        for (i, p) in predictions {
            let it = &items[i];
            if p != Some(it.label) {
                let f = verifier.verify(&it.answer, &Default::default());
                println!(
                    "\n{} gold={} predicted={:?}\n{}\n{:?}",
                    it.id,
                    it.label.as_str(),
                    p.map(QuoteClass::as_str),
                    it.answer,
                    f.first().map(|f| (&f.note, &f.nearest))
                );
            }
        }
    }
    Ok(())
}
