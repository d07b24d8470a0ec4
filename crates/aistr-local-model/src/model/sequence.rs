//! One reply in the making, advanced a step at a time, so that one loop can drive a single
//! conversation ([`LocalModel::chat`]) or many at once ([`crate::BatchedModel`]) through exactly
//! the same code: a sequence's first step prefills its prompt, every later step feeds the token it
//! sampled last, and its sampler is its own (seeded per request). That is why a conversation gets
//! the same tokens whether it ran alone or beside others.

use std::time::Instant;

use aistr_core::Message;
use candle_core::Tensor;
use candle_transformers::generation::{LogitsProcessor, Sampling};

use super::llama::{Chunk, KvCache};
use super::{Generation, LocalModel, Timings};
use crate::LocalModelError;

/// A conversation being answered (see [`LocalModel::begin`]).
pub struct Sequence {
    prompt_len: usize,
    /// The prompt, until its blocks are offered to the prefix cache after the prefill.
    prompt: Option<Vec<u32>>,
    /// What the next step feeds: the prompt at first, then the last sampled token.
    pending: Vec<u32>,
    /// Tokens fed so far (the position of the next one).
    fed: usize,
    cache: KvCache,
    sampler: LogitsProcessor,
    generated: Vec<u32>,
    budget: usize,
    finish_reason: Option<&'static str>,
    timings: Timings,
}

impl std::fmt::Debug for Sequence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequence")
            .field("prompt_len", &self.prompt_len)
            .field("generated", &self.generated.len())
            .field("budget", &self.budget)
            .field("finish_reason", &self.finish_reason)
            .finish_non_exhaustive()
    }
}

impl Sequence {
    /// Whether the reply is complete (stop token, `max_tokens` or the context window).
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.finish_reason.is_some()
    }

    /// Takes the logits after this step's last token: samples the next token and decides whether
    /// the reply goes on.
    fn accept(&mut self, logits: &Tensor, stop_ids: &[u32]) -> Result<(), LocalModelError> {
        let next = self.sampler.sample(logits)?;
        if stop_ids.contains(&next) {
            self.finish_reason = Some("stop");
            return Ok(());
        }
        self.generated.push(next);
        if self.generated.len() >= self.budget {
            self.finish_reason = Some("length");
        } else {
            self.pending.clear();
            self.pending.push(next);
        }
        Ok(())
    }
}

impl LocalModel {
    /// Starts answering `messages` (arguments as in [`LocalModel::chat`]): renders and tokenizes
    /// the prompt and checks it fits. Nothing runs through the network until [`LocalModel::step`].
    pub fn begin(
        &mut self,
        messages: &[Message],
        max_tokens: u32,
        temperature: f32,
        seed: u64,
    ) -> Result<Sequence, LocalModelError> {
        if !temperature.is_finite() || temperature < 0.0 {
            return Err(LocalModelError::InvalidTemperature(temperature));
        }
        let prompt = self.prompt_ids(messages)?;
        let prompt_len = prompt.len();
        // At least one generated token must fit after the prompt.
        if prompt_len >= self.context_limit {
            return Err(LocalModelError::PromptTooLong {
                prompt_tokens: prompt_len,
                limit: self.context_limit,
            });
        }
        let budget = (max_tokens as usize).min(self.context_limit - prompt_len);
        let sampling = if temperature == 0.0 {
            Sampling::ArgMax
        } else {
            Sampling::All {
                temperature: f64::from(temperature),
            }
        };
        let cache = match &mut self.prefix {
            Some(p) if budget > 0 => p.lookup(&prompt)?,
            _ => KvCache::default(),
        };
        let fed = cache.len();
        Ok(Sequence {
            prompt_len,
            pending: prompt[fed..].to_vec(),
            prompt: self.prefix.is_some().then_some(prompt),
            fed,
            cache,
            sampler: LogitsProcessor::from_sampling(seed, sampling),
            generated: Vec::with_capacity(budget),
            budget,
            finish_reason: (budget == 0).then_some("length"),
            timings: Timings::default(),
        })
    }

    /// Whether [`LocalModel::step`] can advance several sequences in one pass (llama files
    /// without experts); other architectures keep their cache inside candle's model and run one
    /// sequence from [`LocalModel::begin`] to its end before the next starts.
    #[must_use]
    pub fn can_batch(&self) -> bool {
        self.weights.batchable().is_some()
    }

    /// Advances every unfinished sequence by one token in one forward pass (a sequence's first
    /// step runs its whole prompt). Without [`LocalModel::can_batch`] at most one sequence may be
    /// passed, and it must be stepped to its end before another begins.
    pub fn step(&mut self, sequences: &mut [&mut Sequence]) -> Result<(), LocalModelError> {
        let mut live: Vec<&mut Sequence> = sequences
            .iter_mut()
            .filter(|s| !s.is_finished())
            .map(|s| &mut **s)
            .collect();
        if live.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let logits = if let Some(net) = self.weights.batchable().cloned() {
            let mut chunks: Vec<Chunk<'_>> = live
                .iter_mut()
                .map(|s| Chunk {
                    tokens: &s.pending,
                    cache: &mut s.cache,
                })
                .collect();
            net.forward(&mut chunks)?
        } else {
            let [seq] = live.as_mut_slice() else {
                return Err(LocalModelError::Serving(format!(
                    "a {} model advances one sequence at a time, not {}",
                    self.architecture,
                    live.len()
                )));
            };
            if seq.fed == 0 {
                self.weights.clear_kv_cache();
            }
            let input = Tensor::new(seq.pending.as_slice(), &self.device)?.unsqueeze(0)?;
            self.weights.forward(&input, seq.fed)?
        };
        let elapsed = started.elapsed();
        for (row, seq) in live.into_iter().enumerate() {
            // A sequence has fed less than its prompt until its prefill step has run.
            if seq.fed >= seq.prompt_len {
                seq.timings.decode += elapsed;
            } else {
                seq.timings.prefill += elapsed;
                if let (Some(cache), Some(prompt)) = (&mut self.prefix, seq.prompt.take()) {
                    cache.store(&prompt, &seq.cache)?;
                }
            }
            seq.fed += seq.pending.len();
            seq.accept(&logits.get(row)?, &self.stop_ids)?;
        }
        Ok(())
    }

    /// The reply of a sequence (finished or not: an unfinished one is cut where it stands, as
    /// `"length"`).
    pub fn finish(&self, seq: Sequence) -> Result<Generation, LocalModelError> {
        let text = self
            .tokenizer
            .decode(&seq.generated, true)
            .map_err(|e| LocalModelError::Tokenizer(e.to_string()))?;
        Ok(Generation {
            text,
            prompt_tokens: u32::try_from(seq.prompt_len).unwrap_or(u32::MAX),
            completion_tokens: u32::try_from(seq.generated.len()).unwrap_or(u32::MAX),
            finish_reason: seq.finish_reason.unwrap_or("length"),
            timings: seq.timings,
        })
    }
}
