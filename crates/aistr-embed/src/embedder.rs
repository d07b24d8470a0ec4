//! The BERT encoder plus pooling. One [`Embedder`] is loaded once and shared: it holds no mutable
//! state, so concurrent callers only contend for CPU.

use crate::EmbedError;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use std::path::{Path, PathBuf};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

/// How token vectors become one sentence vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pooling {
    /// Average of the token vectors under the attention mask (sentence-transformers default).
    #[default]
    Mean,
    /// The first (`[CLS]`) token's vector.
    Cls,
}

/// Embedding settings. The defaults match all-MiniLM-L6-v2 as trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbedOptions {
    /// Texts are truncated to this many tokens (special tokens included).
    pub max_tokens: usize,
    /// Pooling strategy.
    pub pooling: Pooling,
    /// Scale each vector to unit length.
    pub normalize: bool,
}

impl Default for EmbedOptions {
    fn default() -> Self {
        Self {
            max_tokens: 256,
            pooling: Pooling::Mean,
            normalize: true,
        }
    }
}

/// The three files of a BERT-family model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFiles {
    /// Hugging Face `config.json` of a BERT model.
    pub config: PathBuf,
    /// Weights (`bert.` prefixed or not).
    pub weights: PathBuf,
    /// Hugging Face `tokenizer.json`.
    pub tokenizer: PathBuf,
}

impl ModelFiles {
    /// `config.json`, `model.safetensors` and `tokenizer.json` inside `dir`.
    #[must_use]
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            config: dir.join("config.json"),
            weights: dir.join("model.safetensors"),
            tokenizer: dir.join("tokenizer.json"),
        }
    }

    /// Whether all three files exist.
    #[must_use]
    pub fn exist(&self) -> bool {
        self.config.is_file() && self.weights.is_file() && self.tokenizer.is_file()
    }
}

/// A loaded sentence encoder.
pub struct Embedder {
    model: BertModel,
    tokenizer: Tokenizer,
    options: EmbedOptions,
    dim: usize,
    device: Device,
    name: String,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("name", &self.name)
            .field("dim", &self.dim)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, EmbedError> {
    std::fs::read(path).map_err(|source| EmbedError::Io {
        path: path.display().to_string(),
        source,
    })
}

impl Embedder {
    /// Loads the model in `dir` (see [`ModelFiles::in_dir`]) with the default options.
    pub fn load_dir(dir: &Path) -> Result<Self, EmbedError> {
        Self::load(&ModelFiles::in_dir(dir), EmbedOptions::default())
    }

    /// Loads a BERT-family encoder on the CPU.
    pub fn load(files: &ModelFiles, options: EmbedOptions) -> Result<Self, EmbedError> {
        let config_text = read(&files.config)?;
        let config: Config = serde_json::from_slice(&config_text).map_err(|e| EmbedError::Config {
            path: files.config.display().to_string(),
            message: e.to_string(),
        })?;
        let device = Device::Cpu;
        // Reading into memory instead of mmap keeps the crate free of `unsafe`; 90 MB is cheap.
        let vb = VarBuilder::from_buffered_safetensors(read(&files.weights)?, DType::F32, &device)?;
        let model = BertModel::load(vb, &config)?;
        let mut tokenizer = Tokenizer::from_bytes(read(&files.tokenizer)?)
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        let max_tokens = options.max_tokens.clamp(2, config.max_position_embeddings);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_tokens,
                ..TruncationParams::default()
            }))
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            pad_id: u32::try_from(config.pad_token_id).unwrap_or(0),
            ..PaddingParams::default()
        }));
        let name = files
            .weights
            .parent()
            .and_then(Path::file_name)
            .map_or_else(|| "bert".to_owned(), |n| n.to_string_lossy().into_owned());
        Ok(Self {
            model,
            tokenizer,
            options: EmbedOptions {
                max_tokens,
                ..options
            },
            dim: config.hidden_size,
            device,
            name,
        })
    }

    /// Length of every vector.
    #[must_use]
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The options in force (`max_tokens` clamped to what the model supports).
    #[must_use]
    pub fn options(&self) -> EmbedOptions {
        self.options
    }

    /// A short name for records (the model's directory name).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Embeds one text.
    pub fn embed(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let mut v = self.embed_batch(&[text])?;
        Ok(v.pop().unwrap_or_default())
    }

    /// Embeds several texts in one forward pass (padded to the longest).
    pub fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        let len = encodings
            .iter()
            .map(|e| e.get_ids().len())
            .max()
            .unwrap_or(0)
            .max(1);
        let rows = encodings.len();
        let mut ids = Vec::with_capacity(rows * len);
        let mut mask = Vec::with_capacity(rows * len);
        for e in &encodings {
            let (i, m) = (e.get_ids(), e.get_attention_mask());
            ids.extend((0..len).map(|k| i.get(k).copied().unwrap_or(0)));
            mask.extend((0..len).map(|k| m.get(k).copied().unwrap_or(0)));
        }
        let ids = Tensor::from_vec(ids, (rows, len), &self.device)?;
        let mask = Tensor::from_vec(mask, (rows, len), &self.device)?;
        let types = ids.zeros_like()?;
        let hidden = self.model.forward(&ids, &types, Some(&mask))?; // (rows, len, dim)
        let pooled = match self.options.pooling {
            Pooling::Mean => {
                let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // (rows, len, 1)
                let summed = hidden.broadcast_mul(&m)?.sum(1)?; // (rows, dim)
                let counts = m.sum(1)?.clamp(1e-9f32, f32::MAX)?; // (rows, 1)
                summed.broadcast_div(&counts)?
            }
            Pooling::Cls => hidden.narrow(1, 0, 1)?.squeeze(1)?,
        };
        let pooled = if self.options.normalize {
            let norm = pooled.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12f32, f32::MAX)?;
            pooled.broadcast_div(&norm)?
        } else {
            pooled
        };
        Ok(pooled.to_vec2::<f32>()?)
    }
}

/// Cosine similarity; 0 when either vector is zero or the lengths differ.
#[must_use]
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na.sqrt() * nb.sqrt())
    }
}
