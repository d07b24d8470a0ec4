//! `aistr judge eval --task hallucination`: measure the hallucination judge against labelled rows
//! `{"request", "response", "context"?, "label": "hallucinated" | "grounded" | "abstained"}`.
//!
//! A row with a context is judged for faithfulness to it (sentence-level support); a row without
//! one has its quotations checked against the chinese-poetry corpus (loaded only when such a row
//! exists); otherwise only an abstention can be told, and the row is unscored, which counts as
//! wrong. Metrics: balanced accuracy and precision, recall and F1 of *hallucinated*.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use aistr_hallucination::corpus::{CacheStatus, Corpus, default_corpus_dir};
use aistr_hallucination::labels::{HalluMetrics, parse_labels};
use aistr_hallucination::normalize::Normalizer;
use aistr_hallucination::score::{LabelledRow, judge_row};
use aistr_hallucination::similarity::{EmbeddingSimilarity, Similarity, TrigramSimilarity};
use aistr_hallucination::verify::Verifier;
use aistr_hallucination::{HalluLabel, HalluVerdict};
use anyhow::{Context, anyhow};

use crate::cli::JudgeEvalArgs;
use crate::exit::{self, CliError, CmdResult};

/// The hallucination judge configurations: the sentence measure behind RAG support.
const CONFIGS: &[(&str, &str)] = &[
    (
        "hallucination",
        "MiniLM similarity when installed, else character trigrams",
    ),
    (
        "hallucination-minilm",
        "MiniLM (all-MiniLM-L6-v2) cosine similarity",
    ),
    ("hallucination-char3", "character-trigram cosine (no model)"),
];

/// Where the corpus snapshot is kept: `$XDG_CACHE_HOME/aistr`, else `$HOME/.cache/aistr`, else
/// the system temporary directory.
#[must_use]
pub fn poetry_snapshot_path() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })
        .unwrap_or_else(std::env::temp_dir);
    base.join("aistr").join("poetry.snapshot")
}

/// Loads the chinese-poetry corpus from `dir`, or `$AISTR_POETRY_DIR`, or
/// `shared/data/chinese-poetry` above the current directory, through the snapshot cache.
pub fn load_poetry(dir: Option<&Path>, norm: &Normalizer) -> anyhow::Result<Corpus> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let dir = dir
        .map(Path::to_path_buf)
        .or_else(|| default_corpus_dir(std::env::var_os("AISTR_POETRY_DIR").as_deref(), &cwd))
        .context(
            "the chinese-poetry corpus was not found: pass --poetry-dir DIR or set AISTR_POETRY_DIR \
             (the directory holding quan_tang_shi.poet.tang.all.jsonl.gz and song_ci.ci.song.all.jsonl.gz)",
        )?;
    let (corpus, status) = Corpus::load_cached(&dir, &poetry_snapshot_path(), norm)?;
    if let CacheStatus::NotSaved(why) = status {
        tracing::warn!(
            "corpus snapshot not saved ({why}): the next start-up will normalise the corpus again"
        );
    }
    Ok(corpus)
}

fn config_names(a: &JudgeEvalArgs, minilm: bool) -> anyhow::Result<Vec<String>> {
    let mut names: Vec<String> = Vec::new();
    for j in &a.judges {
        for n in j.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if n == "all" {
                names.push("hallucination-char3".into());
                if minilm {
                    names.push("hallucination-minilm".into());
                }
            } else if CONFIGS.iter().any(|(c, _)| *c == n) {
                names.push(n.to_owned());
            } else {
                let known: Vec<&str> = CONFIGS.iter().map(|(c, _)| *c).collect();
                anyhow::bail!(
                    "unknown hallucination judge `{n}` (known: {}, all); an LLM judge for this task is not available yet",
                    known.join(", ")
                );
            }
        }
    }
    if names.is_empty() {
        names.push("hallucination".into());
    }
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    Ok(names)
}

#[derive(serde::Serialize)]
struct ConfigResult {
    judge: String,
    metrics: HalluMetrics,
    verdicts_per_sec: f64,
    #[serde(skip)]
    verdicts: Vec<HalluVerdict>,
}

fn run_config(
    name: &str,
    sim: &dyn Similarity,
    verifier: Option<&Verifier<'_>>,
    rows: &[LabelledRow],
) -> anyhow::Result<ConfigResult> {
    let started = Instant::now();
    let mut verdicts = Vec::with_capacity(rows.len());
    let mut pairs = Vec::with_capacity(rows.len());
    for row in rows {
        let v = judge_row(verifier, sim, row)?;
        if let Some(gold) = row.label {
            pairs.push((gold, v.label));
        }
        verdicts.push(v);
    }
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    #[expect(clippy::cast_precision_loss, reason = "row counts are small")]
    let verdicts_per_sec = rows.len() as f64 / secs;
    Ok(ConfigResult {
        judge: format!("{name} ({})", sim.id()),
        metrics: HalluMetrics::from_pairs(&pairs),
        verdicts_per_sec,
        verdicts,
    })
}

/// `aistr judge eval --task hallucination`.
pub fn eval(a: &JudgeEvalArgs) -> CmdResult {
    let text = std::fs::read_to_string(&a.labels)
        .with_context(|| format!("cannot read {}", a.labels.display()))
        .map_err(CliError::usage)?;
    let rows = parse_labels(&a.labels, &text).map_err(|e| CliError::usage(anyhow!(e)))?;
    if rows.is_empty() {
        return Err(CliError::usage(anyhow!("{} has no rows", a.labels.display())));
    }
    let minilm_dir = a
        .models_dir
        .as_ref()
        .map_or_else(aistr_embed::default_minilm_dir, |d| {
            d.join(aistr_embed::MINILM_DIR)
        });
    let minilm_installed = aistr_embed::ModelFiles::in_dir(&minilm_dir).exist();
    let names = config_names(a, minilm_installed).map_err(CliError::usage)?;
    let needs_minilm = |n: &str| n == "hallucination-minilm" || (n == "hallucination" && minilm_installed);
    let embedder = if names.iter().any(|n| needs_minilm(n)) {
        if !minilm_installed {
            return Err(CliError::usage(anyhow!(
                "judge `hallucination-minilm` needs the MiniLM model, not found in {} (install it with scripts/install-models.sh)",
                minilm_dir.display()
            )));
        }
        Some(
            aistr_embed::Embedder::load_dir(&minilm_dir)
                .with_context(|| format!("cannot load MiniLM from {}", minilm_dir.display()))?,
        )
    } else {
        None
    };
    // The corpus is only needed for rows the context cannot decide.
    let norm = Normalizer::new().map_err(anyhow::Error::from)?;
    let needs_corpus = rows
        .iter()
        .any(|r| r.context.as_deref().is_none_or(|c| c.trim().is_empty()));
    let corpus = if needs_corpus {
        Some(load_poetry(a.poetry_dir.as_deref(), &norm).map_err(CliError::usage)?)
    } else {
        None
    };
    let verifier = corpus.as_ref().map(|c| Verifier::new(c, &norm));
    let mut results = Vec::new();
    for name in &names {
        let r = if needs_minilm(name) {
            let e = embedder.as_ref().context("MiniLM not loaded")?;
            run_config(name, &EmbeddingSimilarity::new(e), verifier.as_ref(), &rows)?
        } else {
            run_config(name, &TrigramSimilarity, verifier.as_ref(), &rows)?
        };
        results.push(r);
    }
    if let Some(path) = &a.predictions {
        write_predictions(path, &rows, &results)?;
    }
    let mut out = std::io::stdout().lock();
    if a.json {
        let doc = serde_json::json!({
            "task": "hallucination",
            "labels": a.labels.display().to_string(),
            "rows": rows.len(),
            "positive_class": "hallucinated",
            "configurations": results,
        });
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&doc).map_err(anyhow::Error::from)?
        )
        .map_err(anyhow::Error::from)?;
    } else {
        writeln!(out, "{}", render_table(&a.labels, rows.len(), &results)).map_err(anyhow::Error::from)?;
    }
    Ok(exit::OK)
}

fn write_predictions(path: &Path, rows: &[LabelledRow], results: &[ConfigResult]) -> Result<(), CliError> {
    let mut text = String::new();
    for r in results {
        for (row, v) in rows.iter().zip(&r.verdicts) {
            let line = serde_json::json!({
                "id": row.id,
                "judge": r.judge,
                "gold": row.label,
                "label": v.label,
                "reason": v.reason,
                "scorer": v.scorer,
                "evidence": v.evidence,
            });
            text.push_str(&line.to_string());
            text.push('\n');
        }
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn render_table(labels: &Path, rows: usize, results: &[ConfigResult]) -> String {
    let mut s = format!(
        "judge eval --task hallucination on {} ({rows} rows; positive class = hallucinated)\n\n",
        labels.display()
    );
    s.push_str(&format!(
        "{:<36} {:>4} {:>6} {:>8} {:>6} {:>6} {:>6} {:>8} {:>8}\n",
        "configuration", "n", "acc", "bal.acc", "prec", "recall", "F1", "unscored", "verd/s"
    ));
    for r in results {
        let m = &r.metrics;
        s.push_str(&format!(
            "{:<36} {:>4} {:>6.3} {:>8.3} {:>6.3} {:>6.3} {:>6.3} {:>8} {:>8.1}\n",
            r.judge,
            m.n,
            m.accuracy,
            m.balanced_accuracy,
            m.precision,
            m.recall,
            m.f1,
            m.unscored,
            r.verdicts_per_sec
        ));
    }
    for r in results {
        s.push_str(&format!(
            "\nconfusion matrix, {} (rows = gold, columns = predicted)\n",
            r.judge
        ));
        s.push_str(&format!("{:<13}", ""));
        for l in HalluLabel::ALL {
            s.push_str(&format!("{:>13}", l.as_str()));
        }
        s.push('\n');
        for (g, row) in HalluLabel::ALL.iter().zip(r.metrics.confusion).take(3) {
            s.push_str(&format!("{:<13}", g.as_str()));
            for c in row {
                s.push_str(&format!("{c:>13}"));
            }
            s.push('\n');
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<LabelledRow> {
        parse_labels(
            Path::new("x.jsonl"),
            concat!(
                "{\"request\":\"When?\",\"response\":\"It opened in 1998.\",\"context\":\"The museum opened in 1998. It is housed in a mill.\",\"label\":\"grounded\"}\n",
                "{\"request\":\"Who?\",\"response\":\"It was founded by the mayor, Anna Keller.\",\"context\":\"The museum opened in 1998. It is housed in a mill.\",\"label\":\"hallucinated\"}\n",
                "{\"request\":\"Who?\",\"response\":\"The passage does not say who founded it.\",\"context\":\"The museum opened in 1998.\",\"label\":\"abstained\"}\n",
            ),
        )
        .expect("rows")
    }

    #[test]
    fn context_rows_need_no_corpus_and_score() {
        let r = run_config("hallucination-char3", &TrigramSimilarity, None, &rows()).expect("run");
        assert_eq!(r.metrics.n, 3);
        assert_eq!(r.metrics.accuracy, 1.0, "{:?}", r.verdicts);
        let table = render_table(Path::new("x.jsonl"), 3, &[r]);
        assert!(
            table.contains("bal.acc") && table.contains("hallucinated"),
            "{table}"
        );
    }

    #[test]
    fn judge_names() {
        let args = |j: &[&str]| JudgeEvalArgs {
            judges: j.iter().map(|s| (*s).to_owned()).collect(),
            ..JudgeEvalArgs::default()
        };
        assert_eq!(
            config_names(&args(&[]), false).expect("default"),
            vec!["hallucination"]
        );
        assert_eq!(
            config_names(&args(&["all"]), true).expect("all"),
            vec!["hallucination-char3", "hallucination-minilm"]
        );
        let e = config_names(&args(&["rules+llm"]), true).expect_err("attack judge");
        assert!(e.to_string().contains("unknown hallucination judge"), "{e}");
    }
}
