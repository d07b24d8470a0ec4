//! The embedded default target: SmolLM2-135M-Instruct (or any supported local GGUF) running
//! in-process on the CPU. The model lives on its own serving thread ([`BatchedModel`]): concurrent
//! attempts are batched into shared forward passes, so the engine sends up to
//! [`LocalConfig::max_batch`] at once; waiting for a reply is blocking, so it happens on the
//! blocking pool.

use crate::{Target, TargetError, TargetErrorKind, TargetInfo};
use aistr_core::{ChatRequest, ChatResponse, Message, Usage};
use aistr_local_model::{BatchedModel, LocalModel};
use std::path::PathBuf;

/// Settings for the local model.
#[derive(Debug, Clone)]
pub struct LocalConfig {
    /// GGUF file.
    pub model_path: PathBuf,
    /// Conversations decoded together per step (1 for architectures that cannot batch).
    pub max_batch: usize,
}

/// The batch size of the embedded target unless configured: measured on 2 cores with SmolLM2
/// (`cargo run --release -p aistr-local-model --example bench -- --batch`), see docs/targets.md.
pub const DEFAULT_MAX_BATCH: usize = 8;

/// The embedded model as a target.
pub struct LocalTarget {
    path: PathBuf,
    model: BatchedModel,
}

impl LocalTarget {
    /// Loads the model file (a missing file is a config error that says how to install it).
    pub fn load(config: &LocalConfig) -> Result<Self, TargetError> {
        let model = LocalModel::load(&config.model_path)
            .map_err(|e| TargetError::new(TargetErrorKind::Config, e.to_string()))?;
        Ok(Self {
            path: config.model_path.clone(),
            model: BatchedModel::spawn(model, config.max_batch),
        })
    }
}

#[async_trait::async_trait]
impl Target for LocalTarget {
    fn info(&self) -> TargetInfo {
        let model = self.path.file_name().map_or_else(
            || self.path.display().to_string(),
            |f| f.to_string_lossy().into_owned(),
        );
        TargetInfo {
            kind: "local".into(),
            model,
            base_url: None,
        }
    }

    fn concurrency(&self) -> usize {
        self.model.max_batch()
    }

    fn log_probs(&self) -> Option<&dyn crate::LogProbs> {
        Some(self)
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, TargetError> {
        let model = self.model.clone();
        let request = request.clone();
        let generation = tokio::task::spawn_blocking(move || {
            model
                .chat(
                    &request.messages,
                    request.max_tokens,
                    request.temperature,
                    request.seed.unwrap_or(0),
                )
                .map_err(|e| TargetError::new(TargetErrorKind::Model, e.to_string()))
        })
        .await
        .map_err(|e| TargetError::new(TargetErrorKind::Model, format!("generation task failed: {e}")))??;
        let raw = serde_json::json!({
            "text": generation.text,
            "finish_reason": generation.finish_reason,
            "prompt_tokens": generation.prompt_tokens,
            "completion_tokens": generation.completion_tokens,
        })
        .to_string();
        Ok(ChatResponse {
            text: generation.text,
            finish_reason: Some(generation.finish_reason.to_owned()),
            usage: Usage {
                prompt_tokens: generation.prompt_tokens,
                completion_tokens: generation.completion_tokens,
            },
            raw,
            tries: 1,
            tool_calls: Vec::new(),
        })
    }
}

impl LocalTarget {
    /// Runs `f` on the loaded model between two batched steps (waiting on the blocking pool).
    async fn with_model<T, F>(&self, f: F) -> Result<T, TargetError>
    where
        T: Send + 'static,
        F: FnOnce(&mut LocalModel) -> Result<T, aistr_local_model::LocalModelError> + Send + 'static,
    {
        let model = self.model.clone();
        tokio::task::spawn_blocking(move || {
            model
                .with_model(f)
                .map_err(|e| TargetError::new(TargetErrorKind::Model, e.to_string()))
        })
        .await
        .map_err(|e| TargetError::new(TargetErrorKind::Model, format!("model task failed: {e}")))?
    }
}

#[async_trait::async_trait]
impl crate::LogProbs for LocalTarget {
    async fn score_continuations(
        &self,
        context: &[Message],
        continuations: &[String],
    ) -> Result<Vec<f64>, TargetError> {
        let context = context.to_vec();
        let continuations = continuations.to_vec();
        self.with_model(move |m| {
            let prompt = m.render_prompt(&context)?;
            Ok(m.score_continuations(&prompt, &continuations)?
                .iter()
                .map(|s| s.log_likelihood)
                .collect())
        })
        .await
    }

    async fn tokenize(&self, text: &str) -> Result<Option<Vec<u32>>, TargetError> {
        let text = text.to_owned();
        self.with_model(move |m| m.tokenize(&text).map(Some)).await
    }

    async fn greedy_continue(&self, prefix: &[u32], max_tokens: usize) -> Result<Vec<u32>, TargetError> {
        let prefix = prefix.to_vec();
        self.with_model(move |m| m.greedy_continue(&prefix, max_tokens))
            .await
    }
}
