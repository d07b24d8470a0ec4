//! Trains and measures the guard's prompt classifier (`prompt-learned-v1`).
//!
//! ```text
//! python3 crates/aistr-guard/data/prompt-corpus/build.py --data ../shared/data --out /tmp/prompt-corpus
//! cargo run -p aistr-guard --example train_prompt_classifier -- --corpus /tmp/prompt-corpus
//!     [--out FILE] [--no-write] [--sources] [--jailguard]
//! cargo run -p aistr-guard --example train_prompt_classifier -- --score < prompts.txt
//! ```
//!
//! It checks the corpus against the committed `texts.sha256` and `summary.json` (the weights must
//! come from the checked corpus), trains on every row, writes the weights (by default
//! `crates/aistr-guard/models/prompt-learned-v1.bin`), and measures at the fixed threshold 0.5:
//! - on the held-out XSTest prompts (bundled, never trained on), per class and prompt type, next
//!   to the rules tier and the rules tier plus the classifier (the default policy's input side);
//! - with `--sources`, leave one source out: for each training source, a model trained without it,
//!   scored on it.

#![expect(
    clippy::print_stdout,
    reason = "the training report is the output of this tool"
)]

use aistr_guard::detect::{self, Detector, ScanText};
use aistr_guard::prompt_model::{FeatureSet, PromptModel};
use aistr_judge::learned::LinearOptions;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn hash_norm(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let t: String = text.nfkc().collect::<String>().to_lowercase();
    let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
    hex::encode(Sha256::digest(t.as_bytes()))
}

struct Row {
    text: String,
    block: bool,
    source: String,
    kind: String,
}

fn read_rows(path: &Path) -> (Vec<Row>, String) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let sha = hex::encode(Sha256::digest(&bytes));
    let text = String::from_utf8(bytes).expect("utf-8");
    let rows = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1));
            Row {
                text: v["text"].as_str().expect("text").to_owned(),
                block: v["label"].as_str() == Some("block"),
                source: v["source"].as_str().unwrap_or_default().to_owned(),
                kind: v["type"].as_str().unwrap_or_default().to_owned(),
            }
        })
        .collect();
    (rows, sha)
}

/// The bundled XSTest prompts: (prompt, unsafe, type).
fn xstest() -> Vec<Row> {
    let path = crate_dir().join("data/prompt-corpus/xstest/xstest_prompts.csv");
    let mut r = csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    r.records()
        .map(|rec| {
            let rec = rec.expect("xstest row");
            Row {
                text: rec[1].to_owned(),
                block: &rec[3] != "safe",
                source: "xstest".into(),
                kind: rec[2].to_owned(),
            }
        })
        .collect()
}

fn rules_block(text: &str) -> bool {
    let input = ScanText {
        text,
        prompt: "",
        prompt_harm: 0.0,
    };
    let rules: [&dyn Detector; 4] = [
        &detect::HarmIntent,
        &detect::Jailbreak,
        &detect::Injection,
        &detect::Encoded,
    ];
    rules
        .iter()
        .any(|d| d.scan(&input).map(|f| f.score >= 0.5).unwrap_or(true))
}

#[derive(Default, Clone, Copy)]
struct Tally {
    tp: usize,
    fn_: usize,
    fp: usize,
    tn: usize,
}

impl Tally {
    fn add(&mut self, gold: bool, pred: bool) {
        match (gold, pred) {
            (true, true) => self.tp += 1,
            (true, false) => self.fn_ += 1,
            (false, true) => self.fp += 1,
            (false, false) => self.tn += 1,
        }
    }
}

#[expect(clippy::cast_precision_loss, reason = "counts are small")]
fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { f64::NAN } else { a as f64 / b as f64 }
}

/// Wilson 95% interval.
#[expect(clippy::cast_precision_loss, reason = "counts are small")]
fn wilson(k: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let (k, n, z) = (k as f64, n as f64, 1.96f64);
    let p = k / n;
    let d = 1.0 + z * z / n;
    let c = (p + z * z / (2.0 * n)) / d;
    let h = z * ((p * (1.0 - p) / n) + z * z / (4.0 * n * n)).sqrt() / d;
    (c - h, c + h)
}

fn pct(k: usize, n: usize) -> String {
    let (lo, hi) = wilson(k, n);
    format!(
        "{:5.1}% [{:4.1}, {:4.1}] ({k}/{n})",
        100.0 * ratio(k, n),
        100.0 * lo,
        100.0 * hi
    )
}

fn report(name: &str, t: Tally) {
    let n = t.tp + t.fn_ + t.fp + t.tn;
    let bal = 0.5 * (ratio(t.tp, t.tp + t.fn_) + ratio(t.tn, t.tn + t.fp));
    println!(
        "{name:<28} unsafe blocked {}   safe passed {}   accuracy {}   balanced {:.1}%",
        pct(t.tp, t.tp + t.fn_),
        pct(t.tn, t.tn + t.fp),
        pct(t.tp + t.tn, n),
        100.0 * bal
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let has = |name: &str| args.iter().any(|a| a == name);
    if has("--score") {
        // Scores stdin's lines with the built-in weights, one per line.
        let m = PromptModel::builtin();
        for line in std::io::stdin().lines().map_while(Result::ok) {
            println!("{:.3}\t{line}", m.score(&line));
        }
        return;
    }
    let corpus = PathBuf::from(flag("--corpus").unwrap_or_else(|| "/tmp/prompt-corpus".into()));
    let out = flag("--out").map_or_else(|| crate_dir().join("models/prompt-learned-v1.bin"), PathBuf::from);

    let (rows, sha) = read_rows(&corpus.join("train.jsonl"));
    // The corpus must be the checked one: every text's hash is committed, and so is its digest.
    let committed: HashSet<String> =
        std::fs::read_to_string(crate_dir().join("data/prompt-corpus/texts.sha256"))
            .expect("texts.sha256")
            .lines()
            .map(str::to_owned)
            .collect();
    let unknown = rows
        .iter()
        .filter(|r| !committed.contains(&hash_norm(&r.text)))
        .count();
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(crate_dir().join("data/prompt-corpus/summary.json")).expect("summary.json"),
    )
    .expect("summary.json parses");
    let checked = unknown == 0 && summary["train_sha256"].as_str() == Some(sha.as_str());
    if !checked && !has("--no-write") {
        eprintln!(
            "{} is not the committed corpus ({unknown} texts not in texts.sha256; sha256 {sha}, summary.json says {}); \
             rebuild it with build.py, or commit its summary.json and texts.sha256, or pass --no-write",
            corpus.display(),
            summary["train_sha256"]
        );
        std::process::exit(2);
    }
    let opts = LinearOptions::default();
    let set = match flag("--features").as_deref() {
        None | Some("words") => FeatureSet::Words,
        Some("answer-ngrams") => FeatureSet::AnswerNgrams,
        Some(other) => panic!("--features {other}: expected words or answer-ngrams"),
    };
    let data: Vec<(String, bool)> = rows.iter().map(|r| (r.text.clone(), r.block)).collect();
    let model = PromptModel::train(&data, &sha, set, opts);
    let bytes = model.to_bytes();
    println!(
        "trained on {} rows of {} (sha256 {sha}); weights {} bytes, sha256 {}",
        rows.len(),
        corpus.display(),
        bytes.len(),
        hex::encode(Sha256::digest(&bytes))
    );
    if !has("--no-write") {
        std::fs::write(&out, &bytes).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
        println!("wrote {}", out.display());
    }

    // Held out: XSTest.
    let xs = xstest();
    let train_hashes: HashSet<String> = rows.iter().map(|r| hash_norm(&r.text)).collect();
    assert!(
        xs.iter().all(|r| !train_hashes.contains(&hash_norm(&r.text))),
        "an XSTest prompt is in the training corpus"
    );
    let (mut t_model, mut t_rules, mut t_both) = (Tally::default(), Tally::default(), Tally::default());
    let mut by_type: BTreeMap<String, Tally> = BTreeMap::new();
    for r in &xs {
        let m = model.score(&r.text) >= 0.5;
        let ru = rules_block(&r.text);
        t_model.add(r.block, m);
        t_rules.add(r.block, ru);
        t_both.add(r.block, m || ru);
        by_type.entry(r.kind.clone()).or_default().add(r.block, m || ru);
    }
    println!(
        "\nheld-out source XSTest v2 prompts ({} rows: {} unsafe, {} safe), threshold 0.5",
        xs.len(),
        xs.iter().filter(|r| r.block).count(),
        xs.iter().filter(|r| !r.block).count()
    );
    report("rules tier", t_rules);
    report("prompt-learned-v1", t_model);
    report("rules + prompt-learned-v1", t_both);
    #[cfg(feature = "classifier")]
    if has("--jailguard") {
        let j = aistr_guard::JailguardDetector::load(None);
        if let Some(e) = j.load_error() {
            println!("jailguard-v1: {e}");
        } else {
            let (mut tj, mut tjr) = (Tally::default(), Tally::default());
            for r in &xs {
                let s = j
                    .scan(&ScanText {
                        text: &r.text,
                        prompt: "",
                        prompt_harm: 0.0,
                    })
                    .map(|f| f.score)
                    .unwrap_or(1.0);
                tj.add(r.block, s >= 0.9);
                tjr.add(r.block, s >= 0.9 || rules_block(&r.text));
            }
            report("jailguard-v1 (0.9)", tj);
            report("rules + jailguard-v1", tjr);
        }
    }
    println!("\nrules + prompt-learned-v1 by XSTest prompt type:");
    for (k, t) in &by_type {
        let (n_unsafe, n_safe) = (t.tp + t.fn_, t.tn + t.fp);
        if n_unsafe > 0 {
            println!("  {k:<28} unsafe blocked {}", pct(t.tp, n_unsafe));
        } else {
            println!("  {k:<28} safe passed    {}", pct(t.tn, n_safe));
        }
    }

    if has("--sources") {
        println!("\nleave one source out (trained without the source, scored on it), threshold 0.5:");
        let mut macro_sum = (0.0, 0usize);
        let mut oof: Vec<(bool, String, f32)> = Vec::new();
        let sources: Vec<String> = rows
            .iter()
            .map(|r| r.source.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        for s in sources {
            let rest: Vec<(String, bool)> = rows
                .iter()
                .filter(|r| r.source != s)
                .map(|r| (r.text.clone(), r.block))
                .collect();
            let m = PromptModel::train(&rest, "", set, opts);
            let mut t = Tally::default();
            for r in rows.iter().filter(|r| r.source == s) {
                let p = m.score(&r.text);
                oof.push((r.block, r.source.clone(), p));
                t.add(r.block, p >= 0.5);
            }
            let (n_block, n_pass) = (t.tp + t.fn_, t.tn + t.fp);
            if n_block > 0 {
                println!("  {s:<24} block rows blocked {}", pct(t.tp, n_block));
                macro_sum = (macro_sum.0 + ratio(t.tp, n_block), macro_sum.1 + 1);
            }
            if n_pass > 0 {
                println!("  {s:<24} pass rows passed   {}", pct(t.tn, n_pass));
                macro_sum = (macro_sum.0 + ratio(t.tn, n_pass), macro_sum.1 + 1);
            }
        }
        #[expect(clippy::cast_precision_loss, reason = "a handful of sources")]
        let mean = macro_sum.0 / macro_sum.1 as f64;
        println!("  mean over sources: {:.1}%", 100.0 * mean);
        // The threshold trade-off on these out-of-source scores (the only data a threshold may be
        // chosen on), and on the held-out XSTest for the record.
        println!(
            "\nthreshold   out-of-source: block rows blocked, pass rows passed      XSTest: unsafe blocked, safe passed"
        );
        for th in [0.5f32, 0.6, 0.7, 0.8, 0.9, 0.95] {
            let mut t = Tally::default();
            for (b, _, p) in &oof {
                t.add(*b, *p >= th);
            }
            let mut x = Tally::default();
            for r in &xs {
                x.add(r.block, model.score(&r.text) >= th);
            }
            println!(
                "  {th:.2}      {:>5.1}% {:>5.1}%                                       {:>5.1}% {:>5.1}%",
                100.0 * ratio(t.tp, t.tp + t.fn_),
                100.0 * ratio(t.tn, t.tn + t.fp),
                100.0 * ratio(x.tp, x.tp + x.fn_),
                100.0 * ratio(x.tn, x.tn + x.fp)
            );
        }
    }
}
