//! aistr's own forward pass for llama-architecture GGUFs (SmolLM2, Llama 3, TinyLlama, ...), built
//! so that several independent sequences share one pass.
//!
//! candle's `quantized_llama` keeps a single KV cache inside the model and takes one sequence at a
//! time, so concurrent attempts against the embedded model had to queue behind one mutex. Here the
//! caller owns one [`KvCache`] per sequence, and a step takes any number of [`Chunk`]s (a whole
//! prompt to prefill, or the one token a sequence sampled last): every token of every chunk goes
//! through the projections and the MLP as one matrix, so each quantised weight is streamed from
//! memory once per step instead of once per sequence, and attention runs per chunk against its own
//! cache. Grouped-query attention reads the shared key/value heads in place (no `repeat_kv` copy).
//!
//! Determinism: every per-token operation (embedding, RMS norm, the quantised matmuls, SiLU) works
//! row by row, and a chunk's attention only sees its own cache, so a sequence's logits are the same
//! bit for bit whatever else is in the batch (`tests/batching.rs` checks it). Mixture-of-experts
//! llama files keep candle's implementation (see `arch.rs`).

use std::io::{Read, Seek};
use std::sync::atomic::{AtomicU8, Ordering};

use candle_core::quantized::gguf_file::Content;
use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{DType, Device, Module, Tensor};
use candle_transformers::quantized_nn::RmsNorm;

use super::arch::MAX_CONTEXT;
use super::prefix::BLOCK;

/// A llama network with its weights; stateless (the caches belong to the sequences).
pub(crate) struct Llama {
    embeddings: Tensor,
    layers: Vec<Layer>,
    norm: RmsNorm,
    output: Linear,
    /// RoPE tables for positions `0..MAX_CONTEXT`, `[MAX_CONTEXT, head_dim / 2]`.
    cos: Tensor,
    sin: Tensor,
    n_head: usize,
    n_kv_head: usize,
    head_dim: usize,
}

struct Layer {
    attn_norm: RmsNorm,
    wq: Linear,
    wk: Linear,
    wv: Linear,
    wo: Linear,
    ffn_norm: RmsNorm,
    gate: Linear,
    up: Linear,
    down: Linear,
}

/// A quantised weight matrix, its input width padded with zero columns where that lets candle
/// use its VNNI kernel.
///
/// candle's x86 kernel for Q8_0 weights (int8 dot products with `vpdpbusd`, weights repacked in
/// tiles of 16 rows) only takes input widths that are a multiple of 256; SmolLM2's width is 576,
/// so every projection but the MLP's down projection fell back to a 256-bit AVX2 dot product per
/// 32-value block, which took 70% of a decode step (`perf`, batch 8). Zero blocks appended to each
/// weight row (and zero columns to the input) change no dot product and put those matrices on the
/// fast kernel too. Upstream candle could accept any multiple of 32 there; until it does, this
/// wrapper stays. (Splitting each matrix at 512 columns instead, the rest on the AVX2 kernel, saves
/// the padding's memory, 423 vs 504 MB RSS, but batches worse: 110-116 vs 141-169 tokens/s at
/// batch 8, measured side by side on 2026-12-03.)
enum Linear {
    Plain(QMatMul),
    /// Zero columns appended to the input (and zero blocks to each weight row).
    Padded {
        inner: QMatMul,
        pad: usize,
    },
}

impl Linear {
    fn new(weight: QTensor, device: &Device) -> candle_core::Result<Linear> {
        match TEST_KERNELS.load(Ordering::Relaxed) {
            DEQUANTIZED => return Ok(Linear::Plain(QMatMul::Tensor(weight.dequantize(device)?))),
            UNPADDED => return Ok(Linear::Plain(QMatMul::from_qtensor(weight)?)),
            _ => {}
        }
        let (n, k) = match weight.shape().dims() {
            [n, k]
                if weight.dtype() == GgmlDType::Q8_0
                    && vnni_available()
                    && !k.is_multiple_of(VNNI_WIDTH)
                    && n.is_multiple_of(16) =>
            {
                (*n, *k)
            }
            _ => return Ok(Linear::Plain(QMatMul::from_qtensor(weight)?)),
        };
        let raw = weight.data()?;
        let (bsize, bytes) = (GgmlDType::Q8_0.block_size(), GgmlDType::Q8_0.type_size());
        let row = k / bsize * bytes;
        let q8 = |data: &[u8], width: usize| -> candle_core::Result<QMatMul> {
            QMatMul::from_qtensor(candle_core::quantized::ggml_file::qtensor_from_ggml(
                GgmlDType::Q8_0,
                data,
                vec![n, width],
                device,
            )?)
        };
        let pad = VNNI_WIDTH - k % VNNI_WIDTH;
        let zeros = pad / bsize * bytes;
        let mut padded = Vec::with_capacity(n * (row + zeros));
        for r in raw.chunks_exact(row) {
            padded.extend_from_slice(r);
            // A zero block: scale 0.0 (f16 zero bits) and 32 zero quants.
            padded.resize(padded.len() + zeros, 0);
        }
        Ok(Linear::Padded {
            inner: q8(&padded, k + pad)?,
            pad,
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        use candle_core::D;
        match self {
            Linear::Plain(w) => w.forward(x),
            Linear::Padded { inner, pad } => inner.forward(&x.pad_with_zeros(D::Minus1, 0, *pad)?),
        }
    }
}

/// Tests only: load every matrix as f32 ([`DEQUANTIZED`], the reference the quantised network is
/// measured against) or on candle's kernels ([`UNPADDED`], to compare with candle's llama).
static TEST_KERNELS: AtomicU8 = AtomicU8::new(0);
const DEQUANTIZED: u8 = 1;
const UNPADDED: u8 = 2;

/// The input width candle's VNNI kernel needs a multiple of (one Q8K super-block).
const VNNI_WIDTH: usize = 256;

/// Whether this CPU has the int8 dot-product instructions candle's repacked kernel uses.
fn vnni_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        (is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512vnni"))
            || is_x86_feature_detected!("avxvnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// One sequence's attention cache: for every layer, the keys and values of all positions fed so
/// far, each `[n_kv_head, len, head_dim]`. Cloning is cheap (tensors are shared, never mutated).
#[derive(Clone, Default)]
pub(crate) struct KvCache {
    pub(super) layers: Vec<(Tensor, Tensor)>,
    pub(super) len: usize,
}

impl KvCache {
    /// Positions cached so far (the position the next token takes).
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

/// Tokens to feed one sequence in a step, and that sequence's cache (extended by the step).
pub(crate) struct Chunk<'a> {
    pub(crate) tokens: &'a [u32],
    pub(crate) cache: &'a mut KvCache,
}

/// What a chunk's attention needs in every layer, worked out once per step: its RoPE rows and
/// the query blocks it splits into (absolute multiples of BLOCK), with each block's causal mask.
struct ChunkPlan {
    pos: usize,
    cos: Tensor,
    sin: Tensor,
    /// `(start, end, mask)`: queries `start..end` against keys `0..end`; the mask (`None` for one
    /// row) hides the keys after each query.
    blocks: Vec<(usize, usize, Option<Tensor>)>,
}

impl Llama {
    fn plan(&self, pos: usize, t: usize, device: &Device) -> candle_core::Result<ChunkPlan> {
        let end_all = pos + t;
        let mut blocks = Vec::with_capacity(t.div_ceil(BLOCK) + 1);
        let mut start = pos;
        while start < end_all {
            let end = ((start / BLOCK + 1) * BLOCK).min(end_all);
            let mask = if end - start > 1 {
                let mask: Vec<f32> = (start..end)
                    .flat_map(|i| (0..end).map(move |j| if j > i { f32::NEG_INFINITY } else { 0.0 }))
                    .collect();
                Some(Tensor::from_vec(mask, (end - start, end), device)?)
            } else {
                None
            };
            blocks.push((start, end, mask));
            start = end;
        }
        Ok(ChunkPlan {
            pos,
            cos: self.cos.narrow(0, pos, t)?,
            sin: self.sin.narrow(0, pos, t)?,
            blocks,
        })
    }

    /// Builds the network from a llama GGUF's tensors; `None` for a mixture-of-experts file.
    pub(crate) fn load<R: Read + Seek>(
        ct: &Content,
        reader: &mut R,
        device: &Device,
    ) -> candle_core::Result<Option<Llama>> {
        let md = |key: &str| {
            ct.metadata
                .get(key)
                .ok_or_else(|| candle_core::Error::Msg(format!("cannot find {key} in metadata")))
        };
        if md("llama.expert_count").and_then(|v| v.to_u32()).unwrap_or(0) > 1 {
            return Ok(None);
        }
        let n_head = md("llama.attention.head_count")?.to_u32()? as usize;
        let n_kv_head = md("llama.attention.head_count_kv")?.to_u32()? as usize;
        let blocks = md("llama.block_count")?.to_u32()? as usize;
        let hidden = md("llama.embedding_length")?.to_u32()? as usize;
        let eps = f64::from(md("llama.attention.layer_norm_rms_epsilon")?.to_f32()?);
        let freq_base = md("llama.rope.freq_base")
            .and_then(|v| v.to_f32())
            .unwrap_or(10_000.0);
        if n_head == 0
            || n_kv_head == 0
            || !n_head.is_multiple_of(n_kv_head)
            || !hidden.is_multiple_of(n_head)
        {
            candle_core::bail!(
                "inconsistent head counts: {n_head} heads, {n_kv_head} key/value heads, width {hidden}"
            );
        }
        let head_dim = hidden / n_head;
        let rope_dim = md("llama.rope.dimension_count")
            .and_then(|v| v.to_u32())
            .map_or(head_dim, |d| d as usize);
        if rope_dim != head_dim {
            candle_core::bail!("partial rotary embeddings ({rope_dim} of {head_dim}) are not supported");
        }
        let (cos, sin) = rope_tables(head_dim, freq_base, device)?;

        let mut tensor = |name: &str| ct.tensor(reader, name, device);
        let embeddings_q = tensor("token_embd.weight")?;
        let embeddings = embeddings_q.dequantize(device)?;
        let norm = RmsNorm::from_qtensor(tensor("output_norm.weight")?, eps)?;
        let output = match tensor("output.weight") {
            Ok(t) => t,
            Err(_) => embeddings_q,
        };
        let mut layers = Vec::with_capacity(blocks);
        for i in 0..blocks {
            let mut mm = |suffix: &str| Linear::new(tensor(&format!("blk.{i}.{suffix}.weight"))?, device);
            layers.push(Layer {
                wq: mm("attn_q")?,
                wk: mm("attn_k")?,
                wv: mm("attn_v")?,
                wo: mm("attn_output")?,
                gate: mm("ffn_gate")?,
                up: mm("ffn_up")?,
                down: mm("ffn_down")?,
                attn_norm: RmsNorm::from_qtensor(tensor(&format!("blk.{i}.attn_norm.weight"))?, eps)?,
                ffn_norm: RmsNorm::from_qtensor(tensor(&format!("blk.{i}.ffn_norm.weight"))?, eps)?,
            });
        }
        Ok(Some(Llama {
            embeddings,
            layers,
            norm,
            output: Linear::new(output, device)?,
            cos,
            sin,
            n_head,
            n_kv_head,
            head_dim,
        }))
    }

    /// Feeds every chunk's tokens to its sequence in one pass and returns the logits after each
    /// chunk's last token, `[chunks, vocab]`. Each cache grows by its chunk's length.
    pub(crate) fn forward(&self, chunks: &mut [Chunk<'_>]) -> candle_core::Result<Tensor> {
        let device = self.embeddings.device();
        if chunks.is_empty() || chunks.iter().any(|c| c.tokens.is_empty()) {
            candle_core::bail!("every sequence in a step needs at least one token");
        }
        if let Some(c) = chunks.iter().find(|c| c.cache.len + c.tokens.len() > MAX_CONTEXT) {
            candle_core::bail!(
                "{} tokens exceed the {MAX_CONTEXT}-token context",
                c.cache.len + c.tokens.len()
            );
        }
        let ids: Vec<u32> = chunks.iter().flat_map(|c| c.tokens.iter().copied()).collect();
        let mut x = self
            .embeddings
            .index_select(&Tensor::new(ids.as_slice(), device)?, 0)?;
        let plans = chunks
            .iter()
            .map(|c| self.plan(c.cache.len, c.tokens.len(), device))
            .collect::<candle_core::Result<Vec<_>>>()?;
        for (index, layer) in self.layers.iter().enumerate() {
            let h = layer.attn_norm.forward(&x)?;
            let (q, k, v) = (
                layer.wq.forward(&h)?,
                layer.wk.forward(&h)?,
                layer.wv.forward(&h)?,
            );
            let mut outputs = Vec::with_capacity(chunks.len());
            let mut offset = 0;
            for (chunk, plan) in chunks.iter_mut().zip(&plans) {
                let t = chunk.tokens.len();
                outputs.push(self.attend(
                    index,
                    &q.narrow(0, offset, t)?,
                    &k.narrow(0, offset, t)?,
                    &v.narrow(0, offset, t)?,
                    chunk.cache,
                    plan,
                )?);
                offset += t;
            }
            let y = if outputs.len() == 1 {
                outputs.pop().unwrap_or_else(|| unreachable!("one output"))
            } else {
                Tensor::cat(&outputs, 0)?
            };
            x = (x + layer.wo.forward(&y)?)?;
            let h = layer.ffn_norm.forward(&x)?;
            let gated = (candle_nn::ops::silu(&layer.gate.forward(&h)?)? * layer.up.forward(&h)?)?;
            x = (x + layer.down.forward(&gated)?)?;
        }
        let mut last = Vec::with_capacity(chunks.len());
        let mut end = 0u32;
        for chunk in chunks.iter_mut() {
            chunk.cache.len += chunk.tokens.len();
            end += u32::try_from(chunk.tokens.len()).unwrap_or(u32::MAX);
            last.push(end - 1);
        }
        let x = if last.len() == ids.len() {
            x
        } else {
            x.index_select(&Tensor::new(last.as_slice(), device)?, 0)?
        };
        self.output.forward(&self.norm.forward(&x)?)
    }

    /// Self-attention of one chunk (`q`, `k`, `v` are its rows, `[t, heads * head_dim]`) over its
    /// cache plus itself; stores the chunk's keys and values in layer `index` of the cache.
    fn attend(
        &self,
        index: usize,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        cache: &mut KvCache,
        plan: &ChunkPlan,
    ) -> candle_core::Result<Tensor> {
        let (nh, nkv, hd) = (self.n_head, self.n_kv_head, self.head_dim);
        let t = q.dim(0)?;
        let pos = plan.pos;
        let (cos, sin) = (&plan.cos, &plan.sin);
        let heads = |x: &Tensor, n: usize| x.reshape((1, t, n, hd))?.transpose(1, 2)?.contiguous();
        let q = candle_nn::rotary_emb::rope_i(&heads(q, nh)?, cos, sin)?;
        let k = candle_nn::rotary_emb::rope_i(&heads(k, nkv)?, cos, sin)?.squeeze(0)?;
        let v = heads(v, nkv)?.squeeze(0)?;
        let (k, v) = if pos == 0 {
            (k, v)
        } else {
            let (pk, pv) = cache
                .layers
                .get(index)
                .ok_or_else(|| candle_core::Error::Msg("the sequence's cache lacks a layer".into()))?;
            (Tensor::cat(&[pk, &k], 1)?, Tensor::cat(&[pv, &v], 1)?)
        };
        if pos == 0 && index == 0 {
            cache.layers.clear();
        }
        if index < cache.layers.len() {
            cache.layers[index] = (k.clone(), v.clone());
        } else {
            cache.layers.push((k.clone(), v.clone()));
        }
        // Query heads sharing a key/value head sit next to each other: view them as one block of
        // rows against that head's keys instead of copying the keys per query head. The queries
        // are split at absolute multiples of BLOCK, each block attending to the keys up to its
        // end, so a position's result never depends on where a chunk started (prefix cache).
        let rep = nh / nkv;
        let q = q.squeeze(0)?;
        let kv_len = pos + t;
        let mut outputs = Vec::with_capacity(plan.blocks.len());
        for (start, end, mask) in &plan.blocks {
            let (start, end) = (*start, *end);
            let rows = end - start;
            let qb = if rows == t {
                q.clone()
            } else {
                q.narrow(1, start - pos, rows)?.contiguous()?
            };
            let (kb, vb) = if end == kv_len {
                (k.clone(), v.clone())
            } else {
                (
                    k.narrow(1, 0, end)?.contiguous()?,
                    v.narrow(1, 0, end)?.contiguous()?,
                )
            };
            let qb = qb.reshape((nkv, rep * rows, hd))?;
            let scores = (qb.matmul(&kb.t()?)? * (1.0 / (hd as f64).sqrt()))?;
            let scores = match mask {
                Some(mask) => scores
                    .reshape((nkv * rep, rows, end))?
                    .broadcast_add(mask)?
                    .reshape((nkv, rep * rows, end))?,
                None => scores,
            };
            let weights = candle_nn::ops::softmax_last_dim(&scores)?;
            outputs.push(weights.matmul(&vb)?.reshape((nh, rows, hd))?);
        }
        let y = if outputs.len() == 1 {
            outputs.pop().unwrap_or_else(|| unreachable!("one block"))
        } else {
            Tensor::cat(&outputs, 1)?
        };
        y.transpose(0, 1)?.contiguous()?.reshape((t, nh * hd))
    }

    /// Bytes of cached keys and values per position of a sequence.
    pub(crate) fn kv_bytes_per_position(&self) -> usize {
        self.layers.len() * 2 * self.n_kv_head * self.head_dim * std::mem::size_of::<f32>()
    }
}

/// cos/sin of `position × base^(-2i/d)` for every position the context can hold.
fn rope_tables(head_dim: usize, base: f32, device: &Device) -> candle_core::Result<(Tensor, Tensor)> {
    let inv: Vec<f32> = (0..head_dim)
        .step_by(2)
        .map(|i| 1.0 / base.powf(i as f32 / head_dim as f32))
        .collect();
    let inv = Tensor::new(inv.as_slice(), device)?.reshape((1, head_dim / 2))?;
    let positions = Tensor::arange(0u32, MAX_CONTEXT as u32, device)?
        .to_dtype(DType::F32)?
        .reshape((MAX_CONTEXT, 1))?;
    let angles = positions.matmul(&inv)?;
    Ok((angles.cos()?, angles.sin()?))
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::atomic::Ordering;

    use candle_core::{Device, Tensor};
    use candle_transformers::models::quantized_llama;

    use super::{Chunk, DEQUANTIZED, KvCache, Llama, TEST_KERNELS, UNPADDED};
    use crate::model::read_content;

    /// Logits after each step of `tokens` (a prefill of all but the last three, then one token at
    /// a time) from candle's llama, ours (on candle's kernels when `unpadded`), and ours with every
    /// matrix dequantised to f32.
    fn logits_per_step(path: &Path, tokens: &[u32], unpadded: bool) -> Vec<[Vec<f32>; 3]> {
        let ours = |kernels: u8| {
            TEST_KERNELS.store(kernels, Ordering::Relaxed);
            let (ct, mut reader) = read_content(path).unwrap();
            let net = Llama::load(&ct, &mut reader, &Device::Cpu).unwrap().unwrap();
            TEST_KERNELS.store(0, Ordering::Relaxed);
            net
        };
        let (quantised, reference) = (ours(if unpadded { UNPADDED } else { 0 }), ours(DEQUANTIZED));
        let (ct, mut reader) = read_content(path).unwrap();
        let mut theirs = quantized_llama::ModelWeights::from_gguf(ct, &mut reader, &Device::Cpu).unwrap();
        let (mut c1, mut c2) = (KvCache::default(), KvCache::default());
        let split = tokens.len() - 3;
        let steps = std::iter::once((0, split)).chain((split..tokens.len()).map(|i| (i, i + 1)));
        let rows = |t: Tensor| -> Vec<f32> { t.flatten_all().unwrap().to_vec1().unwrap() };
        let out = steps
            .map(|(from, to)| {
                let part = &tokens[from..to];
                let input = Tensor::new(part, &Device::Cpu).unwrap().unsqueeze(0).unwrap();
                let candle = rows(theirs.forward(&input, from).unwrap());
                let run = |net: &Llama, cache: &mut KvCache| {
                    rows(net.forward(&mut [Chunk { tokens: part, cache }]).unwrap())
                };
                [candle, run(&quantised, &mut c1), run(&reference, &mut c2)]
            })
            .collect();
        assert_eq!((c1.len(), c2.len()), (tokens.len(), tokens.len()));
        out
    }

    fn rms_gap(a: &[f32], b: &[f32]) -> f32 {
        (a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>() / a.len() as f32).sqrt()
    }

    #[test]
    fn our_forward_matches_candles_llama_on_a_random_weight_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tiny-llama.gguf");
        crate::testing::write_tiny_gguf(&path, "llama", None).unwrap();
        for [candle, ours, _] in logits_per_step(&path, &[1, 40, 71, 9, 200, 33, 5, 18, 90, 2], true) {
            let range = candle.iter().fold(0f32, |m, x| m.max(x.abs()));
            let gap = candle
                .iter()
                .zip(&ours)
                .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
            assert!(gap < 1e-4 * range, "logits differ by {gap} (range {range})");
        }
    }

    /// On SmolLM2 the quantised matrices take other kernels than candle's (see `Linear`), so the
    /// logits are compared with an f32 reference: ours must be about as close to it as candle's.
    #[test]
    fn our_forward_is_as_close_to_f32_as_candles_llama_on_smollm2() {
        let Some(path) = aistr_test_require::require_or_skip(
            "the SmolLM2-135M-Instruct GGUF",
            crate::default_model_path(),
        ) else {
            return;
        };
        let tokens = [1, 9690, 198, 2683, 359, 253, 5356, 5646, 11173, 2, 198, 1, 4093];
        let (mut candle_total, mut ours_total) = (0f32, 0f32);
        for [candle, ours, reference] in logits_per_step(&path, &tokens, false) {
            let argmax = |v: &[f32]| (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b]));
            assert_eq!(argmax(&ours), argmax(&reference), "the most likely token changed");
            candle_total += rms_gap(&candle, &reference);
            ours_total += rms_gap(&ours, &reference);
        }
        assert!(
            ours_total < 1.5 * candle_total,
            "rms distance to f32: ours {ours_total}, candle's {candle_total}"
        );
    }
}
