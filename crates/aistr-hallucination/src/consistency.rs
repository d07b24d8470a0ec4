//! Self-consistency (after SelfCheckGPT, Manakul et al. 2023) for questions without references:
//! a model that knows something says it the same way each time it is asked; one that makes it up
//! says something different in each sample. The main answer is split into sentences; each is
//! scored by how well the other samples support it (for every sample, the best similarity of the
//! sentence to any of the sample's sentences, averaged over samples). Sentences below the
//! similarity's support threshold are flagged as claims the samples don't agree on.

use serde::{Deserialize, Serialize};

use crate::HalluError;
use crate::abstain::abstention;
use crate::similarity::{Similarity, sentences};
use crate::verdict::{Evidence, HalluLabel, HalluVerdict};

/// Stable id of the scorer.
pub const SCORER: &str = "selfcheck-v1";

/// Budget of one self-consistency probe.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SelfCheckBudget {
    /// Samples besides the main answer (SelfCheckGPT uses up to 20; 4 is the default here).
    pub k: u32,
    /// Sampling temperature of the samples (the main answer is greedy).
    pub temperature: f32,
    /// Token cap per sample.
    pub max_tokens: u32,
}

impl Default for SelfCheckBudget {
    fn default() -> Self {
        Self {
            k: 4,
            temperature: 0.8,
            max_tokens: 128,
        }
    }
}

impl SelfCheckBudget {
    /// The sampling seed of sample `i` of a probe planned with `seed` (distinct per sample, so a
    /// resumed run draws the same samples).
    #[must_use]
    pub fn sample_seed(seed: u64, i: u32) -> u64 {
        seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(u64::from(i) + 1)
    }
}

/// How well the samples support one sentence of the main answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentenceConsistency {
    /// The sentence.
    pub sentence: String,
    /// Mean over samples of the best similarity to a sentence of the sample.
    pub support: f32,
    /// Below the support threshold.
    pub flagged: bool,
}

/// Scores `main` against `samples`.
pub fn score(
    main: &str,
    samples: &[String],
    sim: &dyn Similarity,
) -> Result<(Vec<SentenceConsistency>, HalluVerdict), HalluError> {
    let scorer = format!("{SCORER}/{}", sim.id());
    if main.trim().is_empty() {
        return Ok((Vec::new(), HalluVerdict::unscored("empty main answer", scorer)));
    }
    if let Some((_, _, phrase)) = abstention(main) {
        return Ok((
            Vec::new(),
            HalluVerdict::new(HalluLabel::Abstained, format!("abstains: \"{phrase}\""), scorer),
        ));
    }
    let sample_sents: Vec<Vec<String>> = samples
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            let v = sentences(s);
            if v.is_empty() {
                vec![s.trim().to_owned()]
            } else {
                v
            }
        })
        .collect();
    if sample_sents.len() < 2 {
        return Ok((
            Vec::new(),
            HalluVerdict::unscored(
                format!("{} usable samples (at least 2 needed)", sample_sents.len()),
                scorer,
            ),
        ));
    }
    let threshold = sim.support_threshold();
    let mut out = Vec::new();
    for s in sentences(main) {
        let mut total = 0.0f32;
        for sample in &sample_sents {
            let refs: Vec<&str> = sample.iter().map(String::as_str).collect();
            let best = sim.similarities(&s, &refs)?.into_iter().fold(0.0f32, f32::max);
            total += best;
        }
        #[expect(clippy::cast_precision_loss, reason = "a handful of samples")]
        let support = total / sample_sents.len() as f32;
        out.push(SentenceConsistency {
            flagged: support < threshold,
            sentence: s,
            support,
        });
    }
    if out.is_empty() {
        return Ok((
            out,
            HalluVerdict::unscored("no sentence in the main answer", scorer),
        ));
    }
    let flagged: Vec<&SentenceConsistency> = out.iter().filter(|s| s.flagged).collect();
    let evidence: Vec<Evidence> = out
        .iter()
        .map(|s| Evidence {
            claim: s.sentence.clone(),
            finding: if s.flagged { "inconsistent" } else { "consistent" }.into(),
            reference: None,
            score: Some(f64::from(s.support)),
        })
        .collect();
    let verdict = if flagged.is_empty() {
        HalluVerdict {
            label: HalluLabel::Grounded,
            reason: format!(
                "all {} sentences supported by the {} samples",
                out.len(),
                sample_sents.len()
            ),
            evidence,
            scorer,
        }
    } else {
        HalluVerdict {
            label: HalluLabel::Hallucinated,
            reason: format!(
                "{} of {} sentences not supported by the samples (support < {threshold:.2})",
                flagged.len(),
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

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    const MAIN: &str = "Wang Zhihuan was a Tang poet. He wrote the poem about the Stork Tower.";

    #[test]
    fn agreeing_samples_are_grounded_and_disagreeing_ones_flagged() {
        let agree = s(&[
            "Wang Zhihuan was a Tang poet. He wrote a poem about the Stork Tower.",
            "Wang Zhihuan was a Tang dynasty poet; he wrote the poem about the Stork Tower.",
            "He was a Tang poet. Wang Zhihuan wrote the poem about the Stork Tower.",
        ]);
        let disagree = s(&[
            "Wang Zhihuan was a Song general who fought in the north.",
            "He was a painter from Hangzhou known for landscapes.",
            "Wang Zhihuan is a modern novelist born in 1962.",
        ]);
        let (sc, v) = score(MAIN, &agree, &TrigramSimilarity).expect("score");
        assert_eq!(v.label, HalluLabel::Grounded, "{sc:?}");
        let (sc2, v2) = score(MAIN, &disagree, &TrigramSimilarity).expect("score");
        assert_eq!(v2.label, HalluLabel::Hallucinated, "{sc2:?}");
        assert!(sc2.iter().all(|x| x.flagged));
        assert!(sc[1].support > sc2[1].support);
    }

    #[test]
    fn a_constant_scorer_cannot_tell_them_apart() {
        // The test above fails for any constant scorer: a constant gives both sets one verdict.
        for c in [0.0, 0.5, 1.0] {
            let a = score(MAIN, &s(&["x y z", "a b c"]), &Constant(c))
                .expect("score")
                .1
                .label;
            let b = score(
                MAIN,
                &s(&["Wang Zhihuan was a Tang poet.", "He wrote it."]),
                &Constant(c),
            )
            .expect("score")
            .1
            .label;
            assert_eq!(a, b);
        }
    }

    #[test]
    fn too_few_samples_or_abstention() {
        let (_, v) = score(MAIN, &s(&["only one", " "]), &TrigramSimilarity).expect("score");
        assert_eq!(v.label, HalluLabel::Unscored);
        let (_, v) = score("I don't know who that is.", &s(&["a", "b"]), &TrigramSimilarity).expect("score");
        assert_eq!(v.label, HalluLabel::Abstained);
        let (_, v) = score("", &s(&["a", "b"]), &TrigramSimilarity).expect("score");
        assert_eq!(v.label, HalluLabel::Unscored);
    }

    #[test]
    fn sample_seeds_are_distinct_and_stable() {
        let a: Vec<u64> = (0..4).map(|i| SelfCheckBudget::sample_seed(7, i)).collect();
        let mut d = a.clone();
        d.sort_unstable();
        d.dedup();
        assert_eq!(d.len(), 4);
        assert_eq!(a[2], SelfCheckBudget::sample_seed(7, 2));
    }
}
