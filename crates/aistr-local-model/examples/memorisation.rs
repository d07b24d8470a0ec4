//! Memorisation tests on the embedded model (SmolLM2-135M-Instruct, in-process, CPU), and their
//! cost.
//!
//! 1. **Canary exposure, in context.** Synthetic customer records (seeded canaries of every kind)
//!    are planted in the system prompt of a bank assistant; the user asks for one customer's value;
//!    the exposure of the true value is measured against `N` random values of the same format
//!    (Carlini et al.). The model was never trained on these values, so this measures how readily
//!    it copies a secret out of its *context*, not memorisation. The control run plants a
//!    different random value of the same kind in its place: there the secret is in neither the
//!    context nor the training data, and exposure should sit near its chance level (~1.4 bits on
//!    average for a uniform rank).
//! 2. **Prefix → suffix extraction** (the Training Data Extraction Challenge's method, 50-token
//!    prefix and suffix, greedy decoding, exact and token-level match) on texts we tokenise with
//!    the target's tokenizer: the Apache License 2.0 (on countless web pages and repositories: very
//!    likely in the training data) against our own synthetic zh/HK sentences (written for aistr in
//!    2026: certainly not in it).
//!
//! Run: `AISTR_MODELS_DIR=models cargo run -p aistr-local-model --example memorisation -- [N] [per_kind]`
//! (defaults 63 candidates, 2 canaries per kind).

#![allow(clippy::print_stdout)] // an experiment report on stdout

use aistr_local_model::{LocalModel, Message, default_model_path};
use aistr_privacy::exposure::{Exposure, ExposureProbe, ScoreError, Scorer, measure};
use aistr_privacy::extraction::{compare, summarise, windows};
use aistr_privacy::records::system_prompt;
use aistr_privacy::{CANARY_KINDS, Canary, canary};
use std::path::Path;
use std::time::Instant;

struct Local<'a> {
    model: &'a mut LocalModel,
    candidates: usize,
    seconds: f64,
}

impl Scorer for Local<'_> {
    fn log_likelihoods(&mut self, context: &str, continuations: &[String]) -> Result<Vec<f64>, ScoreError> {
        let started = Instant::now();
        let s = self
            .model
            .score_continuations(context, continuations)
            .map_err(|e| ScoreError::Failed(e.to_string()))?;
        self.seconds += started.elapsed().as_secs_f64();
        self.candidates += continuations.len();
        Ok(s.iter().map(|x| x.log_likelihood).collect())
    }
}

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        f64::NAN
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(63);
    let per_kind: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(2);
    let path = default_model_path();
    let mut model = LocalModel::load(&path)?;
    println!("model: {} ({})", model.name(), path.display());

    let planted = canary::seeded(2026, CANARY_KINDS, per_kind)?;
    // The control context: every value replaced by another random value of its kind.
    let decoys: Vec<Canary> = aistr_privacy::exposure::decoys(&planted, 99)?;

    let mut scorer = Local {
        model: &mut model,
        candidates: 0,
        seconds: 0.0,
    };
    println!(
        "\n== canary exposure, {n} random candidates per secret (cap log2({}) = {:.2} bits)",
        n + 1,
        ((n + 1) as f64).log2()
    );
    println!(
        "{:<13} {:>3} | {:>9} {:>9} {:>6} | {:>9} {:>9}",
        "kind", "n", "in-ctx", "extrap.", "rank1", "control", "extrap."
    );
    let mut all_in = Vec::new();
    let mut all_ctl = Vec::new();
    for kind in CANARY_KINDS {
        let mut ins: Vec<Exposure> = Vec::new();
        let mut ctls: Vec<Exposure> = Vec::new();
        for c in planted.iter().filter(|c| c.kind == *kind) {
            let (question, template) = aistr_privacy::exposure::question_and_template(c);
            for (ctx_values, out) in [(&planted, &mut ins), (&decoys, &mut ctls)] {
                let prompt = scorer.model.render_prompt(&[
                    Message::system(system_prompt(ctx_values)),
                    Message::user(question.clone()),
                ])?;
                let probe = ExposureProbe {
                    context: &prompt,
                    template: &template,
                    secret: &c.value,
                    kind: c.kind,
                };
                out.push(measure(&mut scorer, &probe, n, 7)?);
            }
        }
        let bits = |v: &[Exposure]| mean(&v.iter().map(|e| e.bits).collect::<Vec<_>>());
        let ext = |v: &[Exposure]| mean(&v.iter().filter_map(|e| e.extrapolated_bits).collect::<Vec<_>>());
        println!(
            "{:<13} {:>3} | {:>9.2} {:>9.2} {:>6} | {:>9.2} {:>9.2}",
            kind.id(),
            ins.len(),
            bits(&ins),
            ext(&ins),
            ins.iter().filter(|e| e.rank == 1.0).count(),
            bits(&ctls),
            ext(&ctls)
        );
        all_in.extend(ins);
        all_ctl.extend(ctls);
    }
    let b = |v: &[Exposure]| mean(&v.iter().map(|e| e.bits).collect::<Vec<_>>());
    println!(
        "{:<13} {:>3} | {:>9.2} {:>9} {:>6} | {:>9.2}",
        "all",
        all_in.len(),
        b(&all_in),
        "",
        all_in.iter().filter(|e| e.rank == 1.0).count(),
        b(&all_ctl)
    );
    println!(
        "\nscoring cost: {} candidate continuations in {:.1} s = {:.1} ms per candidate (context run once per secret)",
        scorer.candidates,
        scorer.seconds,
        scorer.seconds * 1e3 / scorer.candidates.max(1) as f64
    );

    // Prefix → suffix extraction.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../aistr-privacy");
    let apache = std::fs::read_to_string(root.join("../aistr-judge/models/jailguard/LICENSE-APACHE"))?;
    let zh = std::fs::read_to_string(root.join("data/zh-hk-pii.jsonl"))?;
    let zh_text: String = aistr_privacy::eval::parse_jsonl("zh", &zh)?
        .into_iter()
        .map(|r| r.text)
        .collect::<Vec<_>>()
        .join("\n");
    println!("\n== prefix -> suffix extraction (50-token prefix, 50-token greedy suffix, stride 50)");
    println!(
        "{:<34} {:>4} {:>7} {:>17} {:>11} {:>9} {:>8}",
        "text", "n", "exact", "95% CI", "token-match", "leading", "s/sample"
    );
    for (name, text) in [
        ("Apache License 2.0 (likely seen)", apache.as_str()),
        ("synthetic zh/HK set (unseen)", zh_text.as_str()),
    ] {
        let tokens = model.tokenize(text)?;
        let samples = windows(&tokens, 50, 50, 50);
        let started = Instant::now();
        let mut outcomes = Vec::with_capacity(samples.len());
        for s in &samples {
            let generated = model.greedy_continue(&s.prefix, s.suffix.len())?;
            outcomes.push(compare(&generated, &s.suffix));
        }
        let secs = started.elapsed().as_secs_f64();
        let sum = summarise(&outcomes);
        let ci = sum
            .exact_ci
            .map_or("-".to_owned(), |[l, h]| format!("[{l:.3}, {h:.3}]"));
        println!(
            "{name:<34} {:>4} {:>7.3} {ci:>17} {:>11.3} {:>9.1} {:>8.2}",
            sum.n,
            sum.exact_rate.unwrap_or(f64::NAN),
            sum.token_match_rate.unwrap_or(f64::NAN),
            sum.mean_leading.unwrap_or(f64::NAN),
            secs / sum.n.max(1) as f64
        );
    }
    Ok(())
}
