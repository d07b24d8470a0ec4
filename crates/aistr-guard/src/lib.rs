//! `aistr guard`: the defence half of "AI against AI". An OpenAI-compatible reverse proxy
//! (`/v1/chat/completions`, streaming or not, and `/v1/models`) in front of any upstream, that
//! screens every request before the upstream sees it and every answer before the client sees it,
//! with the detectors the judge and the attack decoders already have, under a TOML policy.
//!
//! - [`policy`]: the policy file and the built-in default (pure).
//! - [`detect`]: the detectors (pure, sync).
//! - [`screen`]: running a policy's detectors and deciding `block | redact | flag`; the windowed
//!   stream screener (pure, sync).
//! - [`request`]: the request parser for untrusted bytes (pure; fuzzed).
//! - [`keys`]: client keys, hashed at rest.
//! - [`llm`]: the optional LLM guard model, with a time budget.
//! - [`audit`], [`metrics`]: the JSONL audit log and `/metrics`.
//! - [`server`]: the HTTP edges (axum on hyper), limits and graceful shutdown.
//!
//! docs/guard.md describes the policy format, the detectors, the stream window and the measured
//! figures.

pub mod audit;
pub mod detect;
pub mod keys;
#[cfg(feature = "server")]
pub mod llm;
pub mod metrics;
pub mod policy;
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
/// `jailguard-v1` in the classifier tier: the judge's jailguard head over MiniLM embeddings. A model
/// that could not be loaded makes every scan an error, so the policy's fail mode decides.
pub struct JailguardDetector {
    stage: Result<aistr_judge::stages::JailguardStage, String>,
}

#[cfg(feature = "classifier")]
impl JailguardDetector {
    /// Loads MiniLM from `minilm_dir` (the judge's default directory when `None`).
    #[must_use]
    pub fn load(minilm_dir: Option<&Path>) -> Self {
        let dir = minilm_dir.map_or_else(aistr_embed::default_minilm_dir, Path::to_path_buf);
        let stage = aistr_embed::Embedder::load_dir(&dir)
            .map_err(|e| format!("cannot load the MiniLM model from {}: {e}", dir.display()))
            .and_then(|e| {
                aistr_judge::stages::JailguardStage::new(std::sync::Arc::new(e)).map_err(|e| e.to_string())
            });
        Self { stage }
    }

    /// Why it cannot run, if it cannot.
    #[must_use]
    pub fn load_error(&self) -> Option<&str> {
        self.stage.as_ref().err().map(String::as_str)
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
        let stage = self.stage.as_ref().map_err(|e| DetectError(e.clone()))?;
        let score = stage
            .score_text(input.text)
            .map_err(|e| DetectError(format!("embedding failed: {e}")))?;
        Ok(Finding {
            score,
            category: None,
            evidence: format!("jailguard p={score:.2}"),
            spans: Vec::new(),
        })
    }
}

/// The screener a policy needs: the rules detectors, the policy's canaries, and the jailguard
/// classifier when the classifier tier is on and some key enables it. Returns it with a warning
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
