//! The embedded judge's classifier head: multinomial logistic regression over features built from
//! sentence embeddings of the request and the answer. Pure arithmetic, no model runtime, so the
//! training code is deterministic and testable without weights; the weights ship as a small JSON
//! file produced by `cargo run --release -p aistr-judge --example train_head`.

use crate::stage::Dist;
use serde::{Deserialize, Serialize};

/// Classes in weight-row order.
pub const CLASSES: [&str; 3] = ["risky", "declined", "safe"];
/// Weight file format tag.
pub const FORMAT: &str = "aistr-judge-head/1";

/// Trained head weights and their provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Head {
    /// Must equal [`FORMAT`].
    pub format: String,
    /// Which embedding model the features come from.
    pub embedding: String,
    /// Feature layout (see [`features`]).
    pub features: String,
    /// One row of weights per class in [`CLASSES`] order.
    pub weights: Vec<Vec<f32>>,
    /// One bias per class.
    pub bias: Vec<f32>,
    /// How it was trained (data, counts, hyper-parameters), free-form.
    #[serde(default)]
    pub provenance: serde_json::Value,
}

/// Feature layout id written in weight files.
pub const FEATURES: &str = "answer[d] ++ request*answer[d] ++ cos(request,answer)";

/// Builds the feature vector from unit-length request and answer embeddings.
#[must_use]
pub fn features(request: &[f32], answer: &[f32]) -> Vec<f32> {
    let mut f = Vec::with_capacity(answer.len() * 2 + 1);
    f.extend_from_slice(answer);
    // Scaled so the interaction terms live on the same range as the raw answer coordinates.
    let scale = (answer.len() as f32).sqrt();
    f.extend(request.iter().zip(answer).map(|(r, a)| r * a * scale));
    f.push(request.iter().zip(answer).map(|(r, a)| r * a).sum());
    f
}

/// Why a weight file was rejected.
#[derive(Debug, thiserror::Error)]
pub enum HeadError {
    /// Not JSON of the right shape.
    #[error("head weights: {0}")]
    Parse(#[from] serde_json::Error),
    /// Wrong format tag or inconsistent dimensions.
    #[error("head weights: {0}")]
    Shape(String),
}

impl Head {
    /// Parses and checks a weight file.
    pub fn from_json(text: &str) -> Result<Self, HeadError> {
        let head: Head = serde_json::from_str(text)?;
        if head.format != FORMAT {
            return Err(HeadError::Shape(format!(
                "format `{}`, expected `{FORMAT}`",
                head.format
            )));
        }
        let dim = head.weights.first().map_or(0, Vec::len);
        if head.weights.len() != CLASSES.len()
            || head.bias.len() != CLASSES.len()
            || dim == 0
            || head.weights.iter().any(|w| w.len() != dim)
        {
            return Err(HeadError::Shape(
                "need 3 weight rows of equal length and 3 biases".into(),
            ));
        }
        Ok(head)
    }

    /// Input length the head expects.
    #[must_use]
    pub fn dim(&self) -> usize {
        self.weights.first().map_or(0, Vec::len)
    }

    /// Class probabilities for one feature vector (zeros past the end if it is short).
    #[must_use]
    pub fn predict(&self, x: &[f32]) -> Dist {
        let z: Vec<f32> = self
            .weights
            .iter()
            .zip(&self.bias)
            .map(|(w, b)| b + w.iter().zip(x).map(|(a, b)| a * b).sum::<f32>())
            .collect();
        let p = softmax(&z);
        Dist::new(p[0], p[1], p[2])
    }
}

fn softmax(z: &[f32]) -> Vec<f32> {
    let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = z.iter().map(|v| (v - m).exp()).collect();
    let s: f32 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

/// Training hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainOptions {
    /// Full-batch gradient steps.
    pub epochs: usize,
    /// Step size.
    pub learning_rate: f32,
    /// L2 penalty on the weights.
    pub l2: f32,
    /// Weight each class by the inverse of its frequency.
    pub balance: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            epochs: 600,
            learning_rate: 0.5,
            l2: 1e-3,
            balance: true,
        }
    }
}

/// Fits the head by full-batch gradient descent on the softmax cross-entropy. Deterministic: same
/// data, same weights. `labels[i]` indexes [`CLASSES`].
#[must_use]
pub fn train(xs: &[Vec<f32>], labels: &[usize], opts: TrainOptions) -> (Vec<Vec<f32>>, Vec<f32>) {
    let dim = xs.first().map_or(0, Vec::len);
    let k = CLASSES.len();
    let mut w = vec![vec![0.0f32; dim]; k];
    let mut b = vec![0.0f32; k];
    let n = xs.len().min(labels.len());
    if n == 0 {
        return (w, b);
    }
    let mut counts = vec![0usize; k];
    for &l in &labels[..n] {
        if l < k {
            counts[l] += 1;
        }
    }
    #[expect(clippy::cast_precision_loss, reason = "row counts are far below 2^24")]
    let class_weight: Vec<f32> = counts
        .iter()
        .map(|&c| {
            if opts.balance && c > 0 {
                n as f32 / (k as f32 * c as f32)
            } else {
                1.0
            }
        })
        .collect();
    let total_weight: f32 = labels[..n]
        .iter()
        .filter(|&&l| l < k)
        .map(|&l| class_weight[l])
        .sum();
    for _ in 0..opts.epochs {
        let mut gw = vec![vec![0.0f32; dim]; k];
        let mut gb = vec![0.0f32; k];
        for (x, &y) in xs.iter().zip(labels).take(n) {
            if y >= k {
                continue;
            }
            let z: Vec<f32> = w
                .iter()
                .zip(&b)
                .map(|(wr, bb)| bb + wr.iter().zip(x).map(|(a, c)| a * c).sum::<f32>())
                .collect();
            let p = softmax(&z);
            for c in 0..k {
                let err = (p[c] - if c == y { 1.0 } else { 0.0 }) * class_weight[y];
                gb[c] += err;
                for (g, xv) in gw[c].iter_mut().zip(x) {
                    *g += err * xv;
                }
            }
        }
        for c in 0..k {
            b[c] -= opts.learning_rate * gb[c] / total_weight;
            for (wv, g) in w[c].iter_mut().zip(&gw[c]) {
                *wv -= opts.learning_rate * (g / total_weight + opts.l2 * *wv);
            }
        }
    }
    (w, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_separable_toy_problem_deterministically() {
        let xs: Vec<Vec<f32>> = (0..60)
            .map(|i| {
                let c = i % 3;
                let jitter = (i as f32 * 0.37).sin() * 0.1;
                let mut v = vec![jitter; 3];
                v[c] += 1.0;
                v
            })
            .collect();
        let ys: Vec<usize> = (0..60).map(|i| i % 3).collect();
        let (w, b) = train(&xs, &ys, TrainOptions::default());
        let (w2, b2) = train(&xs, &ys, TrainOptions::default());
        assert_eq!((w.clone(), b.clone()), (w2, b2), "training is deterministic");
        let head = Head {
            format: FORMAT.into(),
            embedding: "toy".into(),
            features: "toy".into(),
            weights: w,
            bias: b,
            provenance: serde_json::Value::Null,
        };
        assert_eq!(
            head.predict(&[1.0, 0.0, 0.0]).argmax().0,
            aistr_core::Label::Risky
        );
        assert_eq!(
            head.predict(&[0.0, 1.0, 0.0]).argmax().0,
            aistr_core::Label::Declined
        );
        assert_eq!(head.predict(&[0.0, 0.0, 1.0]).argmax().0, aistr_core::Label::Safe);
        let round = Head::from_json(&serde_json::to_string(&head).unwrap()).unwrap();
        assert_eq!(round, head);
    }

    #[test]
    fn rejects_bad_weight_files() {
        assert!(Head::from_json("{}").is_err());
        let bad = serde_json::json!({"format": FORMAT, "embedding": "x", "features": "x", "weights": [[1.0], [1.0]], "bias": [0.0, 0.0, 0.0]});
        assert!(matches!(
            Head::from_json(&bad.to_string()),
            Err(HeadError::Shape(_))
        ));
        let wrong = serde_json::json!({"format": "other", "embedding": "x", "features": "x", "weights": [[1.0], [1.0], [1.0]], "bias": [0.0, 0.0, 0.0]});
        assert!(Head::from_json(&wrong.to_string()).is_err());
    }

    #[test]
    fn features_layout() {
        let f = features(&[1.0, 0.0], &[0.6, 0.8]);
        assert_eq!(f.len(), 5);
        assert!((f[4] - 0.6).abs() < 1e-6);
    }
}
