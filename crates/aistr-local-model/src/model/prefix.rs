//! Prompts that start alike (the same system prompt, the same attack template, the L3 attacker's
//! long instructions) are not prefilled again: after a prompt's first pass, the keys and values of
//! each of its full [`BLOCK`]-token blocks are kept, keyed by the block's tokens and everything
//! before it, and a new sequence starts from the longest run of cached blocks its prompt opens
//! with.
//!
//! A hit changes the time, never the tokens: attention splits every chunk's queries at absolute
//! multiples of [`BLOCK`] (`llama.rs`), so a block's keys and values are the same bits whether this
//! prompt computed them or another one did (`tests/batching.rs` compares runs with and without
//! the cache). Memory is bounded by a byte budget; the least recently used blocks go first.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use candle_core::Tensor;

use super::llama::KvCache;

/// Positions per cached block (and the attention split that makes hits exact).
pub(crate) const BLOCK: usize = 16;

/// Default memory for cached blocks: about 1,400 positions of SmolLM2-135M.
pub const DEFAULT_PREFIX_CACHE_BYTES: usize = 64 << 20;

struct Entry {
    parent: u64,
    tokens: Vec<u32>,
    /// Per layer, this block's keys and values, `[n_kv_head, BLOCK, head_dim]`.
    layers: Vec<(Tensor, Tensor)>,
    used: u64,
}

/// How often the cache saved work, for benchmarks and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrefixCacheStats {
    /// Prompt tokens taken from the cache instead of prefilled.
    pub reused_tokens: u64,
    /// Prompt tokens prefilled.
    pub prefilled_tokens: u64,
    /// Blocks held now.
    pub blocks: usize,
}

pub(crate) struct PrefixCache {
    entries: HashMap<u64, Entry>,
    capacity: usize,
    tick: u64,
    stats: PrefixCacheStats,
}

fn key(parent: u64, tokens: &[u32]) -> u64 {
    // SipHash with fixed keys: the same prompt maps to the same blocks in every process.
    let mut h = DefaultHasher::new();
    parent.hash(&mut h);
    tokens.hash(&mut h);
    h.finish()
}

impl PrefixCache {
    /// A cache holding at most `budget` bytes of blocks of `bytes_per_position` each position.
    pub(crate) fn new(budget: usize, bytes_per_position: usize) -> PrefixCache {
        PrefixCache {
            entries: HashMap::new(),
            capacity: budget / (bytes_per_position * BLOCK).max(1),
            tick: 0,
            stats: PrefixCacheStats::default(),
        }
    }

    pub(crate) fn stats(&self) -> PrefixCacheStats {
        PrefixCacheStats {
            blocks: self.entries.len(),
            ..self.stats
        }
    }

    /// The cache to start `prompt` from: its longest run of cached leading blocks, leaving at
    /// least one token to feed (the step that feeds it produces the first logits).
    pub(crate) fn lookup(&mut self, prompt: &[u32]) -> candle_core::Result<KvCache> {
        self.tick += 1;
        let usable = prompt.len().saturating_sub(1) / BLOCK;
        let mut parent = 0;
        let mut found = Vec::new();
        for tokens in prompt.chunks_exact(BLOCK).take(usable) {
            let k = key(parent, tokens);
            match self.entries.get_mut(&k) {
                Some(e) if e.parent == parent && e.tokens == tokens => {
                    e.used = self.tick;
                    found.push(k);
                }
                _ => break,
            }
            parent = k;
        }
        let len = found.len() * BLOCK;
        self.stats.reused_tokens += len as u64;
        self.stats.prefilled_tokens += (prompt.len() - len) as u64;
        let Some(first) = found.first() else {
            return Ok(KvCache::default());
        };
        let n_layers = self.entries[first].layers.len();
        let mut layers = Vec::with_capacity(n_layers);
        for layer in 0..n_layers {
            let ks: Vec<&Tensor> = found.iter().map(|k| &self.entries[k].layers[layer].0).collect();
            let vs: Vec<&Tensor> = found.iter().map(|k| &self.entries[k].layers[layer].1).collect();
            layers.push((Tensor::cat(&ks, 1)?, Tensor::cat(&vs, 1)?));
        }
        Ok(KvCache { layers, len })
    }

    /// Keeps the full blocks of `prompt` out of `cache`, which holds (at least) the prompt's
    /// positions after its prefill.
    pub(crate) fn store(&mut self, prompt: &[u32], cache: &KvCache) -> candle_core::Result<()> {
        if self.capacity == 0 || cache.len < prompt.len() {
            return Ok(());
        }
        self.tick += 1;
        let mut parent = 0;
        for (b, tokens) in prompt.chunks_exact(BLOCK).enumerate() {
            let k = key(parent, tokens);
            if let Some(e) = self.entries.get_mut(&k) {
                e.used = self.tick;
            } else {
                if self.entries.len() >= self.capacity {
                    self.evict_one();
                }
                let layers = cache
                    .layers
                    .iter()
                    .map(|(k, v)| {
                        Ok((
                            k.narrow(1, b * BLOCK, BLOCK)?.contiguous()?,
                            v.narrow(1, b * BLOCK, BLOCK)?.contiguous()?,
                        ))
                    })
                    .collect::<candle_core::Result<Vec<_>>>()?;
                self.entries.insert(
                    k,
                    Entry {
                        parent,
                        tokens: tokens.to_vec(),
                        layers,
                        used: self.tick,
                    },
                );
            }
            parent = k;
        }
        Ok(())
    }

    fn evict_one(&mut self) {
        if let Some(oldest) = self.entries.iter().min_by_key(|(_, e)| e.used).map(|(k, _)| *k) {
            self.entries.remove(&oldest);
        }
    }
}
