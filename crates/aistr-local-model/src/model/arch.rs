//! The model architectures a local GGUF may have, each backed by candle's quantized
//! implementation of it, behind one forward/clear interface.
//!
//! Which one a file is comes from its `general.architecture`; anything else is refused with an
//! error naming the architecture. The hyper-parameter keys are prefixed by the architecture
//! (`qwen2.context_length`, ...), which is also where the context window is read from.

use std::io::{Read, Seek};
use std::sync::Arc;

use candle_core::quantized::gguf_file::Content;
use candle_core::{Device, Tensor};

use super::llama::{Chunk, KvCache, Llama};
use candle_transformers::models::{
    quantized_gemma3, quantized_llama, quantized_phi3, quantized_qwen2, quantized_qwen3,
};

/// The architectures [`Weights::load`] accepts, by their GGUF name.
pub const SUPPORTED: &[&str] = &["llama", "qwen2", "qwen3", "gemma3", "phi3"];

/// The context window used when a file declares a larger one: every architecture's KV cache grows
/// with it, and no attack or judge prompt needs more.
pub const MAX_CONTEXT: usize = 4096;

/// A loaded network of one of the [`SUPPORTED`] architectures.
pub(crate) enum Weights {
    /// aistr's own llama forward (batchable, see [`super::llama`]) with the cache of the one
    /// sequence [`Weights::forward`] feeds.
    Llama(Box<(Arc<Llama>, KvCache)>),
    /// Mixture-of-experts llama files, on candle's implementation.
    LlamaMoe(Box<quantized_llama::ModelWeights>),
    Qwen2(Box<quantized_qwen2::ModelWeights>),
    Qwen3(Box<quantized_qwen3::ModelWeights>),
    Gemma3(Box<quantized_gemma3::ModelWeights>),
    Phi3(Box<quantized_phi3::ModelWeights>),
}

impl Weights {
    /// Builds the network `arch` names from the file's tensors.
    pub(crate) fn load<R: Read + Seek>(
        arch: &str,
        content: Content,
        reader: &mut R,
        device: &Device,
    ) -> candle_core::Result<Weights> {
        Ok(match arch {
            "llama" => match Llama::load(&content, reader, device)? {
                Some(net) => Weights::Llama(Box::new((Arc::new(net), KvCache::default()))),
                None => Weights::LlamaMoe(Box::new(quantized_llama::ModelWeights::from_gguf(
                    content, reader, device,
                )?)),
            },
            "qwen2" => Weights::Qwen2(Box::new(quantized_qwen2::ModelWeights::from_gguf(
                content, reader, device,
            )?)),
            "qwen3" => Weights::Qwen3(Box::new(quantized_qwen3::ModelWeights::from_gguf(
                content, reader, device,
            )?)),
            "gemma3" => Weights::Gemma3(Box::new(quantized_gemma3::ModelWeights::from_gguf(
                content, reader, device,
            )?)),
            "phi3" => Weights::Phi3(Box::new(quantized_phi3::ModelWeights::from_gguf(
                false, content, reader, device,
            )?)),
            other => candle_core::bail!("architecture `{other}` is not supported"),
        })
    }

    /// Logits for the position after the last of `input` (shape `[1, seq]`), `[1, vocab]`.
    pub(crate) fn forward(&mut self, input: &Tensor, pos: usize) -> candle_core::Result<Tensor> {
        match self {
            Weights::Llama(w) => {
                let (net, cache) = &mut **w;
                if pos == 0 {
                    *cache = KvCache::default();
                } else if pos != cache.len() {
                    candle_core::bail!("position {pos} does not follow the {} cached", cache.len());
                }
                let tokens = input.squeeze(0)?.to_vec1::<u32>()?;
                net.forward(&mut [Chunk {
                    tokens: &tokens,
                    cache,
                }])
            }
            Weights::LlamaMoe(w) => w.forward(input, pos),
            Weights::Qwen2(w) => w.forward(input, pos),
            Weights::Qwen3(w) => w.forward(input, pos),
            Weights::Gemma3(w) => w.forward(input, pos),
            Weights::Phi3(w) => w.forward(input, pos),
        }
    }

    /// The batchable network, for files that have one (llama without experts).
    pub(crate) fn batchable(&self) -> Option<&Arc<Llama>> {
        match self {
            Weights::Llama(w) => Some(&w.0),
            _ => None,
        }
    }

    /// Forgets every cached key and value. Gemma 3 and Phi-3 have no explicit reset in candle;
    /// they start over whenever a forward pass begins at position 0, which every call here does.
    pub(crate) fn clear_kv_cache(&mut self) {
        match self {
            Weights::Llama(w) => w.1 = KvCache::default(),
            Weights::LlamaMoe(w) => w.clear_kv_cache(),
            Weights::Qwen2(w) => w.clear_kv_cache(),
            Weights::Qwen3(w) => w.clear_kv_cache(),
            Weights::Gemma3(_) | Weights::Phi3(_) => {}
        }
    }

    /// A copy with the same cache, for scoring several continuations of one prefilled context;
    /// `None` where candle's type cannot be copied (the caller prefills again instead).
    pub(crate) fn fork(&self) -> Option<Weights> {
        match self {
            Weights::Llama(w) => Some(Weights::Llama(w.clone())),
            Weights::LlamaMoe(w) => Some(Weights::LlamaMoe(w.clone())),
            Weights::Qwen3(w) => Some(Weights::Qwen3(w.clone())),
            Weights::Gemma3(w) => Some(Weights::Gemma3(w.clone())),
            Weights::Phi3(w) => Some(Weights::Phi3(w.clone())),
            Weights::Qwen2(_) => None,
        }
    }
}
