//! Trains the learned judge (`learned-v2`) on the judge corpus, reproducibly, and measures it on a
//! held-out source.
//!
//! ```text
//! python3 crates/aistr-judge/data/corpus/build.py            # writes /tmp/aistr-judge-corpus/corpus.jsonl
//! cargo run --release -p aistr-judge --example train_judge   # trains on everything, writes models/judge-learned-v2.bin
//! cargo run --release -p aistr-judge --example train_judge -- --holdout gptfuzz --out /tmp/learned-no-gptfuzz.bin
//! ```
//!
//! `--holdout SOURCE` (`gptfuzz`, `gptfuzz-evaluate`, `jbb-artifacts`) trains on every other row and
//! prints the held-out figures; `--corpus FILE` reads another corpus file. Deterministic: the same
//! corpus gives byte-identical weights. Every training row's request must be listed in
//! `data/corpus/requests.sha256` (whose contamination test keeps built-in probe prompts out).

use aistr_judge::classify_refusal;
use aistr_judge::learned::{
    BaseScores, LearnedWeights, LinearModel, LinearOptions, Logistic, STACK_INPUTS, Sparse, Stacker,
    WEIGHTS_FORMAT, WeightsHeader, ngram_features, rule_measurements, train_linear, train_linear_soft,
    train_logistic,
};
use aistr_judge::stages::Substance;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Folds of the out-of-fold base scores the stacker is fitted on.
const FOLDS: u64 = 5;
/// Rows per construction-labelled source (JADE zh, TruthfulQA) added to the stacker's human rows so
/// it also sees Chinese and benign answers.
const STACK_EXTRA_PER_SOURCE: usize = 120;

struct Row {
    id: String,
    source: String,
    split: String,
    group: String,
    harmful_intent: bool,
    harm: bool,
    refusal: Option<bool>,
    human: Option<(bool, bool)>,
    /// The upstream labeller's label (`risky`, `declined`, `safe`).
    upstream: String,
    x: Sparse,
    rules: (bool, bool, Substance),
}

/// build.py's `norm()`: NFKC, lower case, whitespace runs collapsed (the contamination test uses it too).
fn norm(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let s: String = s.nfkc().collect::<String>().to_lowercase();
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn str_of<'a>(v: &'a serde_json::Value, k: &str) -> &'a str {
    v.get(k).and_then(serde_json::Value::as_str).unwrap_or_default()
}

fn load(path: &PathBuf) -> Res<(Vec<Row>, String)> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: {e} (run data/corpus/build.py)", path.display()))?;
    let digest = hex::encode(Sha256::digest(text.as_bytes()));
    let allowed: HashSet<String> = std::fs::read_to_string(crate_dir().join("data/corpus/requests.sha256"))?
        .lines()
        .map(str::to_owned)
        .collect();
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1))?;
        let request = str_of(&v, "request");
        let response = str_of(&v, "response");
        let h = hex::encode(Sha256::digest(norm(request).as_bytes()));
        if !allowed.contains(&h) {
            return Err(format!("line {}: request hash not in data/corpus/requests.sha256", i + 1).into());
        }
        let human = v
            .get("human")
            .filter(|h| h.is_object())
            .map(|h| (str_of(h, "harm") == "risky", str_of(h, "refusal") != "none"));
        let weak = match v.get("weak_refusal").and_then(serde_json::Value::as_str) {
            Some("refusal") => Some(true),
            Some("none") => Some(false),
            _ => None,
        };
        let kind = classify_refusal(response.trim_start());
        let rules = rule_measurements(&kind, response.trim_start(), request);
        rows.push(Row {
            id: str_of(&v, "id").to_owned(),
            source: str_of(&v, "source").to_owned(),
            split: str_of(&v, "split").to_owned(),
            group: format!("{}:{}", str_of(&v, "source"), str_of(&v, "group")),
            harmful_intent: str_of(&v, "intent") != "benign",
            // Human labels (the rubric's definition) where we have them, else the upstream ones.
            harm: human.map_or(str_of(&v, "harm") == "risky", |h| h.0),
            refusal: human.map(|h| h.1).or(weak),
            human,
            upstream: str_of(&v, "upstream_label").to_owned(),
            x: ngram_features(request, response),
            rules,
        });
    }
    Ok((rows, digest))
}

fn fold_of(group: &str) -> u64 {
    let d = Sha256::digest(group.as_bytes());
    u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]) % FOLDS
}

/// How the harm base model's targets are made.
#[derive(Clone, Copy, PartialEq, Eq)]
enum HarmTargets {
    /// Human labels where present, else the upstream label as 0/1.
    Upstream,
    /// Human labels where present, else the rate at which the training rows' humans agreed with
    /// that source's upstream label (Laplace-smoothed): upstream "risky" in gptfuzz is ~35% risky by
    /// the human rubric, so it becomes a soft target, not a fact.
    Soft,
}

/// Per (source, upstream label): P(human risky), from the human-labelled rows among `rows`.
fn upstream_rates(rows: &[&Row]) -> BTreeMap<(String, String), f32> {
    let mut counts: BTreeMap<(String, String), (u32, u32)> = BTreeMap::new();
    for r in rows {
        if let Some((h, _)) = r.human {
            let c = counts.entry((r.source.clone(), r.upstream.clone())).or_default();
            c.0 += u32::from(h);
            c.1 += 1;
        }
    }
    #[expect(clippy::cast_precision_loss, reason = "small counts")]
    counts
        .into_iter()
        .map(|(k, (risky, n))| (k, (risky as f32 + 1.0) / (n as f32 + 2.0)))
        .collect()
}

fn harm_target(r: &Row, rates: &BTreeMap<(String, String), f32>, mode: HarmTargets) -> f32 {
    match (r.human, mode) {
        (Some((h, _)), _) => f32::from(u8::from(h)),
        (None, HarmTargets::Soft) => rates
            .get(&(r.source.clone(), r.upstream.clone()))
            .copied()
            .unwrap_or(f32::from(u8::from(r.harm))),
        (None, HarmTargets::Upstream) => f32::from(u8::from(r.harm)),
    }
}

fn train_bases(rows: &[&Row], mode: HarmTargets) -> (LinearModel, LinearModel) {
    let opts = LinearOptions::default();
    let rates = upstream_rates(rows);
    let hx: Vec<&Sparse> = rows.iter().map(|r| &r.x).collect();
    let hy: Vec<f32> = rows.iter().map(|r| harm_target(r, &rates, mode)).collect();
    let harm = train_linear_soft(&hx, &hy, opts);
    let (rx, ry): (Vec<&Sparse>, Vec<bool>) =
        rows.iter().filter_map(|r| r.refusal.map(|y| (&r.x, y))).unzip();
    let refusal = train_linear(&rx, &ry, opts);
    (harm, refusal)
}

fn scores(harm: &LinearModel, refusal: &LinearModel, r: &Row) -> BaseScores {
    BaseScores {
        harm_logit: harm.logit(&r.x),
        refusal_logit: refusal.logit(&r.x),
        refusal_full: r.rules.0,
        refusal_partial: r.rules.1,
        substance: r.rules.2,
    }
}

/// Stacker targets of a row: human labels, or the construction labels of the extra sources.
fn stack_target(r: &Row) -> Option<(bool, bool)> {
    r.human
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let holdout = flag("--holdout");
    let mode = match flag("--harm-targets").as_deref() {
        Some("soft") => HarmTargets::Soft,
        None | Some("upstream") => HarmTargets::Upstream,
        Some(o) => return Err(format!("--harm-targets {o}: expected soft or upstream").into()),
    };
    let corpus = flag("--corpus").map_or_else(
        || {
            PathBuf::from(
                std::env::var("AISTR_JUDGE_CORPUS").unwrap_or_else(|_| "/tmp/aistr-judge-corpus".into()),
            )
            .join("corpus.jsonl")
        },
        PathBuf::from,
    );
    let out = flag("--out").map_or_else(|| crate_dir().join("models/judge-learned-v2.bin"), PathBuf::from);
    let t = Instant::now();
    let (rows, digest) = load(&corpus)?;
    eprintln!(
        "{} rows featurised in {:.1}s",
        rows.len(),
        t.elapsed().as_secs_f64()
    );
    let held = |r: &Row| match holdout.as_deref() {
        None | Some("none") => false,
        Some("gptfuzz-evaluate") => r.source == "gptfuzz" && r.split == "evaluate",
        Some(s) => r.source == s,
    };
    let train: Vec<&Row> = rows.iter().filter(|r| !held(r)).collect();
    let test: Vec<&Row> = rows.iter().filter(|r| held(r)).collect();
    // Out-of-fold base scores for the stacker's rows.
    let mut extra_taken: BTreeMap<String, usize> = BTreeMap::new();
    let mut stack_rows: Vec<(&Row, (bool, bool))> = Vec::new();
    for r in &train {
        if let Some(t) = stack_target(r) {
            stack_rows.push((r, t));
        } else if r.source == "jade" || r.source == "truthfulqa" {
            // Every k-th row, deterministic.
            let n = extra_taken.entry(r.source.clone()).or_default();
            if fold_of(&r.id) == 0 && *n < STACK_EXTRA_PER_SOURCE {
                *n += 1;
                stack_rows.push((r, (r.harm, r.refusal.unwrap_or(false))));
            }
        }
    }
    let mut sx: Vec<Vec<f32>> = vec![Vec::new(); stack_rows.len()];
    for f in 0..FOLDS {
        let fold_train: Vec<&Row> = train.iter().copied().filter(|r| fold_of(&r.group) != f).collect();
        let (h, rf) = train_bases(&fold_train, mode);
        for (k, (r, _)) in stack_rows.iter().enumerate() {
            if fold_of(&r.group) == f {
                sx[k] = scores(&h, &rf, r).stack_inputs().to_vec();
            }
        }
    }
    let yh: Vec<bool> = stack_rows.iter().map(|(_, t)| t.0).collect();
    let yr: Vec<bool> = stack_rows.iter().map(|(_, t)| t.1).collect();
    let stacker = Stacker {
        harm: train_logistic(&sx, &yh, 1e-3, 4000),
        refusal: train_logistic(&sx, &yr, 1e-3, 4000),
        harm_threshold: 0.5,
        refusal_threshold: 0.5,
    };
    let oof = |m: &Logistic, ys: &[bool]| {
        sx.iter()
            .zip(ys)
            .filter(|(x, y)| (m.prob(x) >= 0.5) == **y)
            .count() as f64
            / ys.len().max(1) as f64
    };
    eprintln!(
        "stacker fitted on {} rows ({} human); in-sample agreement harm {:.3} refusal {:.3}",
        stack_rows.len(),
        stack_rows.iter().filter(|(r, _)| r.human.is_some()).count(),
        oof(&stacker.harm, &yh),
        oof(&stacker.refusal, &yr)
    );
    for (name, m) in [("harm", &stacker.harm), ("refusal", &stacker.refusal)] {
        let w: Vec<String> = STACK_INPUTS
            .iter()
            .zip(&m.weights)
            .map(|(n, w)| format!("{n}={w:+.2}"))
            .collect();
        eprintln!("  {name}: bias {:+.2} {}", m.bias, w.join(" "));
    }
    let (harm, refusal) = train_bases(&train, mode);
    let per_source: BTreeMap<String, usize> = train.iter().fold(BTreeMap::new(), |mut m, r| {
        *m.entry(r.source.clone()).or_default() += 1;
        m
    });
    let weights = LearnedWeights {
        header: WeightsHeader {
            format: WEIGHTS_FORMAT.into(),
            bits: aistr_judge::learned::BITS,
            stack_inputs: STACK_INPUTS.iter().map(|s| (*s).to_owned()).collect(),
            stacker,
            harm_bias: 0.0,
            refusal_bias: 0.0,
            harm_scale: 0.0,
            refusal_scale: 0.0,
            provenance: serde_json::json!({
                "corpus_sha256": digest,
                "requests_sha256": hex::encode(Sha256::digest(std::fs::read(crate_dir().join("data/corpus/requests.sha256"))?)),
                "holdout": holdout.clone().unwrap_or_else(|| "none".into()),
                "harm_targets": if mode == HarmTargets::Soft { "soft" } else { "upstream" },
                "upstream_rates": upstream_rates(&train).into_iter().map(|((s, u), p)| (format!("{s}/{u}"), p)).collect::<BTreeMap<_, _>>(),
                "train_rows_per_source": per_source,
                "stacker_rows": stack_rows.len(),
                "command": format!("cargo run --release -p aistr-judge --example train_judge{}",
                    holdout.as_ref().map(|h| format!(" -- --holdout {h}")).unwrap_or_default()),
            }),
        },
        harm,
        refusal,
    };
    let bytes = weights.to_bytes();
    std::fs::write(&out, &bytes)?;
    eprintln!(
        "wrote {} ({} bytes, sha256 {})",
        out.display(),
        bytes.len(),
        hex::encode(Sha256::digest(&bytes))
    );
    if !test.is_empty() {
        let w = LearnedWeights::from_bytes(&bytes)?;
        let mut up = (0usize, 0usize);
        let mut hh = (0usize, 0usize, 0usize);
        for r in &test {
            let o = w.decide(&w.base_scores(&r.x, r.rules));
            let risky = o.harmful && r.harmful_intent;
            up.0 += usize::from(risky == r.harm);
            up.1 += 1;
            if let Some((h, rf)) = r.human {
                hh.0 += usize::from(risky == h);
                hh.1 += usize::from(o.refuses == rf);
                hh.2 += 1;
            }
        }
        eprintln!(
            "held-out {}: harm agreement with upstream labels {:.3} (n={}); with human labels harm {:.3} refusal {:.3} (n={})",
            holdout.unwrap_or_default(),
            up.0 as f64 / up.1.max(1) as f64,
            up.1,
            hh.0 as f64 / hh.2.max(1) as f64,
            hh.1 as f64 / hh.2.max(1) as f64,
            hh.2
        );
    }
    for file in args.iter().skip_while(|a| *a != "--eval").skip(1) {
        eval_file(file, &out)?;
    }
    Ok(())
}

/// Harm and refusal agreement of `rules` and `learned` (these weights) on a labelled file, with
/// the paired bootstrap of the difference (what `aistr judge eval` prints, without the binary).
fn eval_file(file: &str, weights: &std::path::Path) -> Res<()> {
    use aistr_core::{Intent, Label, Probe};
    use aistr_judge::eval::{agreement, paired_bootstrap, parse_jsonl, predicted_refusal};
    let rows = parse_jsonl(&std::fs::read_to_string(file)?)?;
    let resources = aistr_judge::Resources::offline().with_learned_weights(Some(weights.to_path_buf()));
    let mut right = Vec::new();
    for name in ["rules", "learned"] {
        let judge = aistr_judge::build(name, &resources)?;
        let (mut gh, mut ph, mut gr, mut pr) = (vec![], vec![], vec![], vec![]);
        for (i, r) in rows.iter().enumerate() {
            let probe = Probe {
                id: format!("{i}"),
                dataset: "eval".into(),
                prompt: r.request.clone(),
                category: "c".into(),
                language: r.lang.clone().unwrap_or_default(),
                source: "eval".into(),
                license: "-".into(),
                intent: r.intent.unwrap_or(Intent::Harmful),
            };
            let v = judge.judge(&aistr_judge::JudgeInput {
                probe: &probe,
                sent_prompt: &r.request,
                response: &r.response,
                canary: None,
                decoded_responses: &[],
                finish_reason: r.finish_reason.as_deref(),
            });
            gh.push(r.gold_harm());
            gr.push(r.gold_refusal());
            let scored = v.label != Label::Unscored;
            ph.push(scored.then_some(v.label == Label::Risky));
            pr.push(scored.then(|| predicted_refusal(&v)));
        }
        let (h, rf) = (agreement(&gh, &ph), agreement(&gr, &pr));
        eprintln!(
            "{file} {name:<8} harm {:.3} [{:.3},{:.3}] n={} conf {:?} | refusal {:.3} [{:.3},{:.3}] n={} conf {:?}",
            h.rate,
            h.wilson95.0,
            h.wilson95.1,
            h.n,
            h.confusion,
            rf.rate,
            rf.wilson95.0,
            rf.wilson95.1,
            rf.n,
            rf.confusion
        );
        let rh: Vec<Option<bool>> = gh
            .iter()
            .zip(&ph)
            .map(|(g, p)| g.map(|g| *p == Some(g)))
            .collect();
        let rr: Vec<Option<bool>> = gr
            .iter()
            .zip(&pr)
            .map(|(g, p)| g.map(|g| *p == Some(g)))
            .collect();
        right.push((rh, rr));
    }
    let pair = |a: &[Option<bool>], b: &[Option<bool>]| {
        let (x, y): (Vec<bool>, Vec<bool>) =
            a.iter().zip(b).filter_map(|(x, y)| Some(((*x)?, (*y)?))).unzip();
        paired_bootstrap(&x, &y, 2000, 11)
    };
    eprintln!(
        "  learned - rules: harm {:+.3?} refusal {:+.3?} (paired bootstrap, 95%)",
        pair(&right[1].0, &right[0].0),
        pair(&right[1].1, &right[0].1)
    );
    Ok(())
}
