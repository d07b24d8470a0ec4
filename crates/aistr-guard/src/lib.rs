//! `aistr guard`: the defence half of "AI against AI". An OpenAI-compatible reverse proxy
//! (`/v1/chat/completions`, streaming or not, and `/v1/models`) in front of any upstream, that
//! screens every request before the upstream sees it and every answer before the client sees it,
//! with the detectors the judge and the attack decoders already have, under a TOML policy.
//!
//! - [`policy`]: the policy file and the built-in default (pure).
//! - [`detect`]: the detectors (pure, sync).
//! - [`screen`]: running a policy's detectors and deciding `block | redact | flag`; the windowed
//!   stream screener (pure, sync).
//! - [`prompt_model`]: `prompt-learned-v1`, the classifier tier's hashed n-gram model of the
//!   request (pure arithmetic, microseconds; trained on `data/prompt-corpus/`).
//! - [`request`]: the request parser for untrusted bytes (pure; fuzzed).
//! - [`keys`]: client keys, hashed at rest.
//! - [`llm`]: the optional LLM guard model, with a time budget.
//! - [`batch`]: micro-batching of the classifier tier's screenings (std threads).
//! - [`audit`], [`metrics`]: the JSONL audit log and `/metrics`.
//! - [`server`]: the HTTP edges (axum on hyper), limits and graceful shutdown.
//!
//! docs/guard.md describes the policy format, the detectors, the stream window and the measured
//! figures.

pub mod audit;
#[cfg(feature = "classifier")]
pub mod batch;
pub mod detect;
pub mod keys;
#[cfg(feature = "server")]
pub mod llm;
pub mod metrics;
pub mod policy;
pub mod prompt_model;
pub mod request;
pub mod screen;
#[cfg(feature = "server")]
pub mod server;

pub use policy::{Action, FailMode, Policy, PolicyError};
pub use screen::{Decision, Screener};
#[cfg(feature = "server")]
pub use server::{Guard, GuardConfig, Limits, Upstream};

#[cfg(feature = "classifier")]
use detect::{DetectError, Detector, Finding, ScanText, Tier};
use std::path::Path;

#[cfg(feature = "classifier")]
/// `jailguard-v1` in the classifier tier: the judge's jailguard head over MiniLM embeddings,
/// screening the requests that arrive together in one batch ([`batch::Batcher`]). A model that
/// could not be loaded makes every scan an error, so the policy's fail mode decides.
pub struct JailguardDetector {
    batcher: Result<batch::Batcher, String>,
}

#[cfg(feature = "classifier")]
impl JailguardDetector {
    /// Texts scored in one forward pass at most: past 8-16 short prompts MiniLM gains nothing per
    /// text, and a larger batch only makes its first text wait longer.
    pub const MAX_BATCH: usize = JAILGUARD_MAX_BATCH;

    /// Loads MiniLM from `minilm_dir` (the judge's default directory when `None`), with one
    /// classifier thread per core.
    #[must_use]
    pub fn load(minilm_dir: Option<&Path>) -> Self {
        let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Self::load_with(minilm_dir, workers, Self::MAX_BATCH)
    }

    /// Loads MiniLM with `workers` classifier threads, each scoring up to `max_batch` texts at once.
    #[must_use]
    pub fn load_with(minilm_dir: Option<&Path>, workers: usize, max_batch: usize) -> Self {
        let dir = minilm_dir.map_or_else(aistr_embed::default_minilm_dir, Path::to_path_buf);
        let stage = aistr_embed::Embedder::load_dir(&dir)
            .map_err(|e| format!("cannot load the MiniLM model from {}: {e}", dir.display()))
            .and_then(|e| {
                aistr_judge::stages::JailguardStage::new(std::sync::Arc::new(e)).map_err(|e| e.to_string())
            });
        let batcher = stage.map(|stage| {
            let score: std::sync::Arc<batch::ScoreBatch> = std::sync::Arc::new(move |texts: &[&str]| {
                stage
                    .score_texts(texts)
                    .map_err(|e| format!("embedding failed: {e}"))
            });
            batch::Batcher::start(score, workers, max_batch)
        });
        Self { batcher }
    }

    /// Why it cannot run, if it cannot.
    #[must_use]
    pub fn load_error(&self) -> Option<&str> {
        self.batcher.as_ref().err().map(String::as_str)
    }
}

#[cfg(feature = "classifier")]
impl Detector for JailguardDetector {
    fn id(&self) -> &'static str {
        "jailguard-v1"
    }
    fn tier(&self) -> Tier {
        Tier::Classifier
    }
    fn scan(&self, input: &ScanText<'_>) -> Result<Finding, DetectError> {
        let batcher = self.batcher.as_ref().map_err(|e| DetectError(e.clone()))?;
        let score = batcher.score(input.text).map_err(DetectError)?;
        Ok(Finding {
            score,
            category: None,
            evidence: format!("jailguard p={score:.2}"),
            spans: Vec::new(),
        })
    }
}

/// `JailguardDetector::MAX_BATCH`, here so that `screening_threads` needs no classifier feature.
const JAILGUARD_MAX_BATCH: usize = 16;

/// How many threads the guard's runtime may keep for blocking work, the classifier tier's
/// screenings above all, for this policy.
///
/// Each thread that screens builds its own regex caches and allocator arena (2-6 MB measured on
/// a soak), and they stay as long as the thread, so this number bounds the guard's memory. With
/// the jailguard head on, a screening waits for its MiniLM batch, and up to
/// `JailguardDetector::MAX_BATCH` of them must be able to wait at once for batches to fill; without
/// it a screening is CPU work of about a millisecond, so two threads per core keep the cores busy.
#[must_use]
pub fn screening_threads(policy: &Policy) -> usize {
    if policy.classifier && policy.any_enables(policy::Side::Input, "jailguard") {
        JAILGUARD_MAX_BATCH
    } else {
        2 * std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    }
}

/// The screener a policy needs: the rules detectors, the policy's canaries, and the classifier
/// tier's detectors (`prompt-learned-v1`, the jailguard head) when the tier is on and some key
/// enables them. Returns it with a warning
/// when the classifier could not be loaded.
#[must_use]
pub fn build_screener(policy: &Policy, minilm_dir: Option<&Path>) -> (Screener, Option<String>) {
    let mut screener = Screener::rules();
    let canaries = policy
        .base
        .detector(policy::Side::Output, "canary")
        .map(|d| d.canaries.clone())
        .unwrap_or_default();
    let mut warning = None;
    let canary = detect::Canary::new(&canaries).unwrap_or_else(|e| {
        warning = Some(format!("output canary: {e}; no canary is screened"));
        detect::Canary::new(&[]).expect("no canaries")
    });
    screener.set(policy::Side::Output, "canary", Box::new(canary));
    if policy.classifier && policy.any_enables(policy::Side::Input, "prompt-learned") {
        screener.set(
            policy::Side::Input,
            "prompt-learned",
            Box::new(prompt_model::PromptLearned::builtin()),
        );
    }
    if policy.classifier && policy.any_enables(policy::Side::Input, "jailguard") {
        #[cfg(feature = "classifier")]
        {
            let j = JailguardDetector::load(minilm_dir);
            if let Some(e) = j.load_error() {
                warning = Some(format!(
                    "classifier tier: {e}; jailguard-v1 errs on every request and its on_error applies"
                ));
            }
            screener.set(policy::Side::Input, "jailguard", Box::new(j));
        }
        #[cfg(not(feature = "classifier"))]
        {
            let _ = minilm_dir;
            warning = Some(
                "this build has no classifier tier (feature `classifier`); jailguard-v1 is skipped".into(),
            );
        }
    }
    (screener, warning)
}
