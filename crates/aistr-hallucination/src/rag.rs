//! RAG faithfulness: is every sentence of an answer supported by the context it was given?
//! With retrieval, hallucinations do not disappear, they become harder to see: the answer now
//! mixes what the context says with what the model adds or gets wrong.
//!
//! Each answer sentence is matched with its most similar context sentence:
//! - **supported**: similarity at or above the similarity's support threshold, no conflict;
//! - **contradicted**: the closest context sentence is about the same thing (above the relevance
//!   threshold) but the numbers differ or one of them is negated and the other is not;
//! - **unsupported**: nothing in the context says it.
//!
//! The answer is *hallucinated* when any sentence is unsupported or contradicted, *abstained*
//! when it says the context does not hold the answer, *grounded* otherwise.
//!
//! User files (`--dataset rag:FILE`) are JSON Lines of `{"context", "question", "reference"?,
//! "id"?}`; a malformed row fails the whole file with its path, line and problem before anything
//! is sent.

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::HalluError;
use crate::abstain::abstention;
use crate::similarity::{Similarity, sentences};
use crate::verdict::{Evidence, HalluLabel, HalluVerdict};

/// Stable id of the scorer.
pub const SCORER: &str = "rag-support-v1";

/// Rows per user file, at most.
pub const MAX_ROWS: usize = 100_000;
/// Bytes per context, at most.
pub const MAX_CONTEXT_BYTES: usize = 64 * 1024;

/// One row of a user RAG file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RagRow {
    /// Row id (defaults to `line-N`).
    #[serde(default)]
    pub id: Option<String>,
    /// The retrieved context given to the application.
    pub context: String,
    /// The user's question.
    pub question: String,
    /// The expected answer, if known.
    #[serde(default)]
    pub reference: Option<String>,
}

/// Parses a user RAG file; `path` is only used in error messages.
pub fn parse_rag_jsonl(path: &Path, text: &str) -> Result<Vec<RagRow>, HalluError> {
    let err = |line: usize, message: String| HalluError::Line {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let mut row: RagRow = serde_json::from_str(line).map_err(|e| err(n, e.to_string()))?;
        if row.context.trim().is_empty() {
            return Err(err(n, "`context` is empty".into()));
        }
        if row.question.trim().is_empty() {
            return Err(err(n, "`question` is empty".into()));
        }
        if row.context.len() > MAX_CONTEXT_BYTES {
            return Err(err(
                n,
                format!(
                    "`context` is {} bytes (at most {MAX_CONTEXT_BYTES})",
                    row.context.len()
                ),
            ));
        }
        if rows.len() >= MAX_ROWS {
            return Err(err(n, format!("more than {MAX_ROWS} rows")));
        }
        if row.id.is_none() {
            row.id = Some(format!("line-{n}"));
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(err(1, "no rows".into()));
    }
    Ok(rows)
}

/// Support of one answer sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Support {
    /// The context says it.
    Supported,
    /// The context does not say it.
    Unsupported,
    /// The context says otherwise.
    Contradicted,
}

impl Support {
    /// Lower-case name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Support::Supported => "supported",
            Support::Unsupported => "unsupported",
            Support::Contradicted => "contradicted",
        }
    }
}

/// One answer sentence and its support.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentenceSupport {
    /// The sentence.
    pub sentence: String,
    /// Its support.
    pub support: Support,
    /// The closest context sentence.
    pub context_sentence: Option<String>,
    /// Their similarity.
    pub similarity: f32,
}

static NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\d+(?:[.,]\d+)?|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion)\b|[一二三四五六七八九十百千万亿]+")
        .expect("number regex")
});
static NEGATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:not|no|never|none|nobody|nothing|cannot|neither|nor)\b|n't|[不没未无非别莫勿]")
        .expect("negation regex")
});

fn numbers(s: &str) -> Vec<String> {
    let mut v: Vec<String> = NUMBER
        .find_iter(s)
        .map(|m| m.as_str().to_lowercase().replace(',', ""))
        .collect();
    v.sort();
    v.dedup();
    v
}

fn negated(s: &str) -> bool {
    NEGATION.find_iter(s).count() % 2 == 1
}

/// Scores `answer` against `context`.
pub fn faithfulness(
    answer: &str,
    context: &str,
    sim: &dyn Similarity,
) -> Result<(Vec<SentenceSupport>, HalluVerdict), HalluError> {
    let scorer = format!("{SCORER}/{}", sim.id());
    if answer.trim().is_empty() {
        return Ok((Vec::new(), HalluVerdict::unscored("empty answer", scorer)));
    }
    let ctx = sentences(context);
    let answer_sents = sentences(answer);
    if let Some((_, _, phrase)) = abstention(answer) {
        return Ok((
            Vec::new(),
            HalluVerdict::new(HalluLabel::Abstained, format!("abstains: \"{phrase}\""), scorer),
        ));
    }
    if ctx.is_empty() || answer_sents.is_empty() {
        return Ok((
            Vec::new(),
            HalluVerdict::unscored("no sentence to compare", scorer),
        ));
    }
    let refs: Vec<&str> = ctx.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    for s in answer_sents {
        let sims = sim.similarities(&s, &refs)?;
        let (bi, best) = sims
            .iter()
            .copied()
            .enumerate()
            .fold(
                (0usize, f32::NEG_INFINITY),
                |b, (i, x)| if x > b.1 { (i, x) } else { b },
            );
        let c = &ctx[bi];
        let conflict = {
            let (na, nc) = (numbers(&s), numbers(c));
            (!na.is_empty() && !nc.is_empty() && na != nc) || negated(&s) != negated(c)
        };
        let support = if best >= sim.relevance_threshold() && conflict {
            Support::Contradicted
        } else if best >= sim.support_threshold() {
            Support::Supported
        } else {
            Support::Unsupported
        };
        out.push(SentenceSupport {
            sentence: s,
            support,
            context_sentence: Some(c.clone()),
            similarity: best,
        });
    }
    let bad = out.iter().filter(|s| s.support != Support::Supported).count();
    let evidence = out
        .iter()
        .map(|s| Evidence {
            claim: s.sentence.clone(),
            finding: s.support.as_str().into(),
            reference: s.context_sentence.clone(),
            score: Some(f64::from(s.similarity)),
        })
        .collect();
    let verdict = if bad == 0 {
        HalluVerdict {
            label: HalluLabel::Grounded,
            reason: format!("all {} sentences supported by the context", out.len()),
            evidence,
            scorer,
        }
    } else {
        let contradicted = out.iter().filter(|s| s.support == Support::Contradicted).count();
        HalluVerdict {
            label: HalluLabel::Hallucinated,
            reason: format!(
                "{bad} of {} sentences not supported by the context ({contradicted} contradicted)",
                out.len()
            ),
            evidence,
            scorer,
        }
    };
    Ok((out, verdict))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::similarity::TrigramSimilarity;

    use crate::similarity::testing::Constant;

    const CONTEXT: &str = "The Golden Gate Bridge opened in 1937. It spans the strait between San Francisco Bay and the Pacific Ocean. The bridge is painted international orange.";

    fn label(answer: &str, sim: &dyn Similarity) -> HalluLabel {
        faithfulness(answer, CONTEXT, sim).expect("score").1.label
    }

    #[test]
    fn supported_unsupported_contradicted() {
        let s = TrigramSimilarity;
        assert_eq!(
            label("The Golden Gate Bridge opened in 1937.", &s),
            HalluLabel::Grounded
        );
        let (v, _) = faithfulness("The Golden Gate Bridge opened in 1952.", CONTEXT, &s).expect("score");
        assert_eq!(v[0].support, Support::Contradicted);
        let (v, _) =
            faithfulness("The bridge is not painted international orange.", CONTEXT, &s).expect("score");
        assert_eq!(v[0].support, Support::Contradicted);
        let (v, verdict) = faithfulness(
            "The Golden Gate Bridge opened in 1937. Its chief engineer was Joseph Strauss.",
            CONTEXT,
            &s,
        )
        .expect("score");
        assert_eq!(v[1].support, Support::Unsupported);
        assert_eq!(verdict.label, HalluLabel::Hallucinated);
        assert_eq!(
            label("The context does not say who designed it.", &s),
            HalluLabel::Abstained
        );
        assert_eq!(label("", &s), HalluLabel::Unscored);
    }

    #[test]
    fn a_constant_scorer_cannot_separate_supported_from_unsupported() {
        for c in [0.0, 0.3, 0.5, 1.0] {
            assert_eq!(
                label(
                    "The Golden Gate Bridge spans the strait between San Francisco Bay and the Pacific Ocean.",
                    &Constant(c)
                ),
                label("Its chief engineer was Joseph Strauss, a poet.", &Constant(c)),
            );
        }
        let s = TrigramSimilarity;
        assert_ne!(
            label(
                "The Golden Gate Bridge spans the strait between San Francisco Bay and the Pacific Ocean.",
                &s
            ),
            label("Its chief engineer was Joseph Strauss, a poet.", &s),
        );
    }

    #[test]
    fn user_files_fail_with_file_line_and_problem() {
        let p = Path::new("rag.jsonl");
        let ok = parse_rag_jsonl(p, "{\"context\":\"c\",\"question\":\"q\"}\n\n{\"context\":\"c\",\"question\":\"q\",\"reference\":\"r\",\"id\":\"x\"}\n")
            .expect("parse");
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[0].id.as_deref(), Some("line-1"));
        for (text, line, needle) in [
            (
                "{\"context\":\"c\",\"question\":\"q\"}\n{\"context\":\"c\"}\n",
                2,
                "question",
            ),
            ("{\"context\":\"\",\"question\":\"q\"}\n", 1, "context"),
            ("{\"contxt\":\"c\",\"question\":\"q\"}\n", 1, "contxt"),
            ("not json\n", 1, "expected"),
            ("", 1, "no rows"),
        ] {
            let e = parse_rag_jsonl(p, text).expect_err(text).to_string();
            assert!(e.starts_with(&format!("rag.jsonl:{line}:")), "{e}");
            assert!(e.contains(needle), "{e}");
        }
    }
}
