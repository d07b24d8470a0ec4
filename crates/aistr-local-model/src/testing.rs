//! Tiny synthetic GGUF models for tests that must not depend on the 100 MB real
//! weights (CI without models, and crates that wrap [`crate::LocalModel`]).
//!
//! The models are llama-architecture GGUFs with the real SmolLM2 tokenizer *pipeline* (ChatML
//! control tokens, byte-level BPE, `pre = smollm`) over a 261-token vocabulary, and transformer
//! blocks whose weights are all zero. With zero blocks the residual stream is just the embedding of
//! the last token, so each model is a fixed bigram table whose output we can predict:
//!
//! - [`TinyModel::Echo`]: tied embeddings, so the most likely next token is the last token again;
//!   greedy decoding repeats the final `\n` of the prompt until `max_tokens` ("length").
//! - [`TinyModel::SaysHi`]: an explicit output matrix maps `\n` → `h` → `i` → `<|im_end|>`, so
//!   greedy decoding answers `hi` and stops ("stop").
//!
//! [`write_tiny_gguf`] writes a tiny random-weight model of each supported architecture (llama with
//! a Llama 3 vocabulary, qwen2, qwen3, gemma3, phi3), each with its family's chat template and
//! tokenizer kind, for the tests that every architecture loads, renders and generates.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};

use crate::LocalModelError;
use crate::template::{IM_END, IM_START};

/// Which synthetic model to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TinyModel {
    /// Tied embeddings: greedy output repeats the last prompt token (`\n`) forever.
    Echo,
    /// Explicit output matrix: greedy output is `hi`, then `<|im_end|>`.
    SaysHi,
}

/// Embedding width of the tiny models (a multiple of 32, so Q4_1/Q8_0 blocks fit).
pub const TINY_DIM: usize = 64;
/// Context length the tiny models declare (small, so "prompt too long" is testable).
pub const TINY_CONTEXT: u32 = 256;
/// The chat template stored in the tiny models (SmolLM2's own).
pub const SMOLLM2_CHAT_TEMPLATE: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

const BLOCKS: usize = 2;
const HEADS: u32 = 2;
const KV_HEADS: u32 = 1;
const FF: usize = 64;

/// GPT-2's byte → printable-char table used by byte-level BPE vocabularies.
fn byte_to_char(b: u8) -> char {
    let printable = |x: u8| (b'!'..=b'~').contains(&x) || (0xA1..=0xAC).contains(&x) || x >= 0xAE;
    if printable(b) {
        char::from(b)
    } else {
        let rank = (0..b).filter(|&x| !printable(x)).count();
        char::from_u32(256 + rank as u32).unwrap_or('?')
    }
}

/// The tiny vocabulary: 3 control tokens, the 256 byte symbols, then the merges `hi` and `12`.
fn tiny_tokens() -> Vec<String> {
    let mut t: Vec<String> = ["<|endoftext|>", IM_START, IM_END]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    t.extend((0..=255u8).map(|b| byte_to_char(b).to_string()));
    t.push("hi".into());
    t.push("12".into());
    t
}

/// GGUF metadata of the tiny models (llama hyper-parameters plus the SmolLM2-style tokenizer).
#[must_use]
pub fn tiny_content_metadata() -> HashMap<String, Value> {
    let tokens = tiny_tokens();
    let types = (0..tokens.len())
        .map(|i| Value::I32(if i < 3 { 3 } else { 1 }))
        .collect();
    let s = |x: &str| Value::String(x.to_owned());
    let mut md = HashMap::new();
    md.insert("general.architecture".into(), s("llama"));
    md.insert("general.name".into(), s("aistr tiny test model"));
    md.insert("general.file_type".into(), Value::U32(0));
    md.insert("llama.block_count".into(), Value::U32(BLOCKS as u32));
    md.insert("llama.context_length".into(), Value::U32(TINY_CONTEXT));
    md.insert("llama.embedding_length".into(), Value::U32(TINY_DIM as u32));
    md.insert("llama.feed_forward_length".into(), Value::U32(FF as u32));
    md.insert("llama.attention.head_count".into(), Value::U32(HEADS));
    md.insert("llama.attention.head_count_kv".into(), Value::U32(KV_HEADS));
    md.insert(
        "llama.rope.dimension_count".into(),
        Value::U32(TINY_DIM as u32 / HEADS),
    );
    md.insert("llama.rope.freq_base".into(), Value::F32(10_000.0));
    md.insert("llama.attention.layer_norm_rms_epsilon".into(), Value::F32(1e-5));
    md.insert("tokenizer.ggml.model".into(), s("gpt2"));
    md.insert("tokenizer.ggml.pre".into(), s("smollm"));
    md.insert("tokenizer.ggml.add_bos_token".into(), Value::Bool(false));
    md.insert("tokenizer.ggml.bos_token_id".into(), Value::U32(1));
    md.insert("tokenizer.ggml.eos_token_id".into(), Value::U32(2));
    md.insert("tokenizer.chat_template".into(), s(SMOLLM2_CHAT_TEMPLATE));
    md.insert("tokenizer.ggml.token_type".into(), Value::Array(types));
    md.insert(
        "tokenizer.ggml.merges".into(),
        Value::Array(vec![s("h i"), s("1 2")]),
    );
    md.insert(
        "tokenizer.ggml.tokens".into(),
        Value::Array(tokens.into_iter().map(Value::String).collect()),
    );
    md
}

/// Deterministic pseudo-random numbers in [-1, 1) (the workspace's SplitMix64), so the fixtures
/// need no RNG crate.
fn noise(seed: u64, n: usize) -> Vec<f32> {
    let mut rng = aistr_core::seed::SplitMix64::new(seed);
    (0..n).map(|_| rng.next_signed_unit_f32()).collect()
}

/// Embedding rows of equal length 0.375: the self logit is then 0.375·√64 = 3 and cross logits are
/// small, which keeps greedy decoding predictable and sampling still varied.
fn embeddings(vocab: usize) -> Vec<f32> {
    let mut e = noise(42, vocab * TINY_DIM);
    for row in e.chunks_mut(TINY_DIM) {
        let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
        row.iter_mut().for_each(|x| *x *= 0.375 / norm);
    }
    e
}

fn qtensor(data: Vec<f32>, shape: &[usize], dtype: GgmlDType) -> Result<QTensor, LocalModelError> {
    let t = Tensor::from_vec(data, shape, &Device::Cpu)?;
    Ok(QTensor::quantize(&t, dtype)?)
}

/// Writes a tiny test model to `path`. With `q4_1`, the 2-D weights (embeddings, output and block
/// matrices) are stored as Q4_1, like the shipped SmolLM2 file, to exercise [`crate::requantize_q8`].
pub fn write_tiny_llama_gguf(path: &Path, kind: TinyModel, q4_1: bool) -> Result<(), LocalModelError> {
    let tokens = tiny_tokens();
    let vocab = tokens.len();
    let id = |s: &str| tokens.iter().position(|t| t == s).unwrap_or(0);
    let matrix_type = if q4_1 { GgmlDType::Q4_1 } else { GgmlDType::F32 };
    let emb = embeddings(vocab);
    let row = |i: usize| emb[i * TINY_DIM..(i + 1) * TINY_DIM].to_vec();

    let mut tensors: Vec<(String, QTensor)> = Vec::new();
    tensors.push((
        "token_embd.weight".into(),
        qtensor(emb.clone(), &[vocab, TINY_DIM], matrix_type)?,
    ));
    tensors.push((
        "output_norm.weight".into(),
        qtensor(vec![1.0; TINY_DIM], &[TINY_DIM], GgmlDType::F32)?,
    ));
    if kind == TinyModel::SaysHi {
        let mut out = vec![0f32; vocab * TINY_DIM];
        for (target, source) in [(id("h"), id("Ċ")), (id("i"), id("h")), (id(IM_END), id("i"))] {
            out[target * TINY_DIM..(target + 1) * TINY_DIM].copy_from_slice(&row(source));
        }
        tensors.push((
            "output.weight".into(),
            qtensor(out, &[vocab, TINY_DIM], matrix_type)?,
        ));
    }
    let head_dim = TINY_DIM / HEADS as usize;
    let kv_dim = head_dim * KV_HEADS as usize;
    for b in 0..BLOCKS {
        let mats: [(&str, [usize; 2]); 7] = [
            ("attn_q", [TINY_DIM, TINY_DIM]),
            ("attn_k", [kv_dim, TINY_DIM]),
            ("attn_v", [kv_dim, TINY_DIM]),
            ("attn_output", [TINY_DIM, TINY_DIM]),
            ("ffn_gate", [FF, TINY_DIM]),
            ("ffn_up", [FF, TINY_DIM]),
            ("ffn_down", [TINY_DIM, FF]),
        ];
        for (name, shape) in mats {
            let zeros = vec![0f32; shape[0] * shape[1]];
            tensors.push((
                format!("blk.{b}.{name}.weight"),
                qtensor(zeros, &shape, matrix_type)?,
            ));
        }
        for name in ["attn_norm", "ffn_norm"] {
            let ones = vec![1f32; TINY_DIM];
            tensors.push((
                format!("blk.{b}.{name}.weight"),
                qtensor(ones, &[TINY_DIM], GgmlDType::F32)?,
            ));
        }
    }

    write_gguf(path, &tiny_content_metadata(), &tensors)
}

/// Chat templates of the tiny multi-architecture models, in the style of each family's own.
pub mod templates {
    /// Qwen's ChatML with a default system turn (Qwen 2.5 style).
    pub const QWEN: &str = "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}{%- else %}{{- '<|im_start|>system\nYou are Qwen.<|im_end|>\n' }}{%- endif %}{%- for message in messages %}{%- if not (message.role == 'system' and loop.first) %}{{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}{%- endif %}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}";
    /// Gemma's turns, with the system text folded into the first user turn.
    pub const GEMMA: &str = "{{ bos_token }}{%- if messages[0]['role'] == 'system' -%}{%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}{%- set loop_messages = messages[1:] -%}{%- else -%}{%- set first_user_prefix = '' -%}{%- set loop_messages = messages -%}{%- endif -%}{%- for message in loop_messages -%}{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{%- endif -%}{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') }}{{ message['content'] | trim }}{{ '<end_of_turn>\n' }}{%- endfor -%}{%- if add_generation_prompt -%}{{'<start_of_turn>model\n'}}{%- endif -%}";
    /// Phi-3's role markers.
    pub const PHI3: &str = "{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'assistant' %}{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}";
    /// Llama 3's headers, with the date line its templates print.
    pub const LLAMA3: &str = "{{- bos_token }}{%- set date_string = strftime_now('%d %b %Y') %}{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{%- endif %}";
}

/// The control tokens a tiny model of `arch` needs for its template (besides `<|endoftext|>`).
fn arch_controls(arch: &str) -> &'static [&'static str] {
    match arch {
        "gemma3" => &[
            "<pad>",
            "<eos>",
            "<bos>",
            "<unk>",
            "<start_of_turn>",
            "<end_of_turn>",
        ],
        "phi3" => &[
            "<unk>",
            "<s>",
            "</s>",
            "<|system|>",
            "<|user|>",
            "<|assistant|>",
            "<|end|>",
        ],
        "llama" => &[
            "<|begin_of_text|>",
            "<|end_of_text|>",
            "<|start_header_id|>",
            "<|end_header_id|>",
            "<|eot_id|>",
        ],
        _ => &["<|endoftext|>", IM_START, IM_END],
    }
}

/// Ordinary pieces of the tiny SentencePiece vocabulary (with `▁` for a space), best score first.
const SPM_PIECES: &[&str] = &[
    "\u{2581}",
    "\u{2581}h",
    "hi",
    "\u{2581}hi",
    "\u{2581}t",
    "th",
    "he",
    "\u{2581}the",
    "a",
    "b",
    "c",
    "d",
    "e",
    "f",
    "g",
    "h",
    "i",
    "j",
    "k",
    "l",
    "m",
    "n",
    "o",
    "p",
    "q",
    "r",
    "s",
    "t",
    "u",
    "v",
    "w",
    "x",
    "y",
    "z",
];

/// The vocabulary metadata of a tiny model: byte-level BPE (gpt2) for llama and the Qwens,
/// SentencePiece BPE with byte fallback (llama model) for Gemma 3 and Phi-3.
fn tiny_vocab(arch: &str) -> (Vec<String>, HashMap<String, Value>) {
    let s = |x: &str| Value::String(x.to_owned());
    let controls = arch_controls(arch);
    let mut md = HashMap::new();
    let mut tokens: Vec<String> = controls.iter().map(|c| (*c).to_owned()).collect();
    let mut types: Vec<Value> = vec![Value::I32(3); tokens.len()];
    let id = |tokens: &[String], t: &str| tokens.iter().position(|x| x == t).unwrap_or(0) as u32;
    if matches!(arch, "gemma3" | "phi3") {
        tokens.extend((0..=255u8).map(|b| format!("<0x{b:02X}>")));
        types.extend((0..=255).map(|_| Value::I32(6)));
        tokens.extend(SPM_PIECES.iter().map(|p| (*p).to_owned()));
        types.extend(SPM_PIECES.iter().map(|_| Value::I32(1)));
        let n_pieces = SPM_PIECES.len();
        let scores: Vec<Value> = (0..tokens.len())
            .map(|i| {
                let first_piece = tokens.len() - n_pieces;
                Value::F32(if i >= first_piece {
                    -((i - first_piece) as f32)
                } else {
                    0.0
                })
            })
            .collect();
        md.insert("tokenizer.ggml.model".into(), s("llama"));
        md.insert("tokenizer.ggml.scores".into(), Value::Array(scores));
        let (bos, eos, unk) = if arch == "gemma3" {
            ("<bos>", "<eos>", "<unk>")
        } else {
            ("<s>", "</s>", "<unk>")
        };
        md.insert("tokenizer.ggml.bos_token_id".into(), Value::U32(id(&tokens, bos)));
        md.insert("tokenizer.ggml.eos_token_id".into(), Value::U32(id(&tokens, eos)));
        md.insert(
            "tokenizer.ggml.unknown_token_id".into(),
            Value::U32(id(&tokens, unk)),
        );
        md.insert("tokenizer.ggml.add_bos_token".into(), Value::Bool(true));
        md.insert(
            "tokenizer.ggml.add_space_prefix".into(),
            Value::Bool(arch != "gemma3"),
        );
    } else {
        tokens.extend((0..=255u8).map(|b| byte_to_char(b).to_string()));
        types.extend((0..=255).map(|_| Value::I32(1)));
        tokens.push("hi".into());
        types.push(Value::I32(1));
        md.insert("tokenizer.ggml.model".into(), s("gpt2"));
        md.insert(
            "tokenizer.ggml.pre".into(),
            s(if arch == "llama" { "llama3" } else { "qwen2" }),
        );
        md.insert("tokenizer.ggml.merges".into(), Value::Array(vec![s("h i")]));
        let (bos, eos) = if arch == "llama" {
            ("<|begin_of_text|>", "<|eot_id|>")
        } else {
            ("<|endoftext|>", IM_END)
        };
        md.insert("tokenizer.ggml.bos_token_id".into(), Value::U32(id(&tokens, bos)));
        md.insert("tokenizer.ggml.eos_token_id".into(), Value::U32(id(&tokens, eos)));
        md.insert("tokenizer.ggml.add_bos_token".into(), Value::Bool(false));
    }
    md.insert("tokenizer.ggml.token_type".into(), Value::Array(types));
    md.insert(
        "tokenizer.ggml.tokens".into(),
        Value::Array(tokens.iter().cloned().map(Value::String).collect()),
    );
    (tokens, md)
}

/// Writes a tiny model of architecture `arch` (one of [`crate::SUPPORTED_ARCHITECTURES`], or any
/// other name, to test refusal) with seeded random weights and `template` as its chat template
/// (`None`: the family's template in [`templates`]). The weights are noise, so the text is
/// gibberish, but it is the same gibberish for the same seed on every run.
pub fn write_tiny_gguf(path: &Path, arch: &str, template: Option<&str>) -> Result<(), LocalModelError> {
    let (tokens, mut md) = tiny_vocab(arch);
    let vocab = tokens.len();
    let s = |x: &str| Value::String(x.to_owned());
    let u = |x: usize| Value::U32(x as u32);
    let head_dim = TINY_DIM / HEADS as usize;
    let kv_dim = head_dim * KV_HEADS as usize;
    let template = template.unwrap_or(match arch {
        "gemma3" => templates::GEMMA,
        "phi3" => templates::PHI3,
        "llama" => templates::LLAMA3,
        _ => templates::QWEN,
    });
    md.insert("general.architecture".into(), s(arch));
    md.insert("general.name".into(), s(&format!("aistr tiny {arch}")));
    md.insert("general.dtype".into(), Value::U32(0));
    md.insert("tokenizer.chat_template".into(), s(template));
    let key = |k: &str| format!("{arch}.{k}");
    md.insert(key("block_count"), u(BLOCKS));
    md.insert(key("context_length"), Value::U32(TINY_CONTEXT));
    md.insert(key("embedding_length"), u(TINY_DIM));
    md.insert(key("feed_forward_length"), u(FF));
    md.insert(key("attention.head_count"), Value::U32(HEADS));
    md.insert(key("attention.head_count_kv"), Value::U32(KV_HEADS));
    md.insert(key("attention.key_length"), u(head_dim));
    md.insert(key("attention.value_length"), u(head_dim));
    md.insert(key("attention.sliding_window"), Value::U32(64));
    md.insert(key("rope.dimension_count"), u(head_dim));
    md.insert(key("rope.freq_base"), Value::F32(10_000.0));
    md.insert(key("attention.layer_norm_rms_epsilon"), Value::F32(1e-6));

    let mut seed = 7u64;
    let mut random = |shape: &[usize], scale: f32| -> Result<QTensor, LocalModelError> {
        seed += 1;
        let n = shape.iter().product();
        let data = noise(seed, n).into_iter().map(|x| x * scale).collect();
        // Matrices are Q8_0, like real files, so the quantised kernels are what tests exercise.
        let dtype = match shape {
            [_, k] if k % 32 == 0 => GgmlDType::Q8_0,
            _ => GgmlDType::F32,
        };
        qtensor(data, shape, dtype)
    };
    let ones = |n: usize| qtensor(vec![1.0; n], &[n], GgmlDType::F32);
    let mut tensors: Vec<(String, QTensor)> = vec![
        (
            "token_embd.weight".into(),
            qtensor(embeddings(vocab), &[vocab, TINY_DIM], GgmlDType::F32)?,
        ),
        ("output_norm.weight".into(), ones(TINY_DIM)?),
        ("output.weight".into(), random(&[vocab, TINY_DIM], 0.5)?),
    ];
    for b in 0..BLOCKS {
        let p = |n: &str| format!("blk.{b}.{n}");
        let mut mats: Vec<(String, Vec<usize>)> = match arch {
            "phi3" => vec![
                (p("attn_qkv.weight"), vec![TINY_DIM + 2 * kv_dim, TINY_DIM]),
                (p("ffn_up.weight"), vec![2 * FF, TINY_DIM]),
            ],
            _ => vec![
                (p("attn_q.weight"), vec![TINY_DIM, TINY_DIM]),
                (p("attn_k.weight"), vec![kv_dim, TINY_DIM]),
                (p("attn_v.weight"), vec![kv_dim, TINY_DIM]),
                (p("ffn_gate.weight"), vec![FF, TINY_DIM]),
                (p("ffn_up.weight"), vec![FF, TINY_DIM]),
            ],
        };
        mats.push((p("attn_output.weight"), vec![TINY_DIM, TINY_DIM]));
        mats.push((p("ffn_down.weight"), vec![TINY_DIM, FF]));
        for (name, shape) in mats {
            tensors.push((name, random(&shape, 0.1)?));
        }
        let mut norms = vec![
            (p("attn_norm.weight"), TINY_DIM),
            (p("ffn_norm.weight"), TINY_DIM),
        ];
        if matches!(arch, "qwen3" | "gemma3") {
            norms.push((p("attn_q_norm.weight"), head_dim));
            norms.push((p("attn_k_norm.weight"), head_dim));
        }
        if arch == "gemma3" {
            norms.push((p("post_attention_norm.weight"), TINY_DIM));
            norms.push((p("post_ffw_norm.weight"), TINY_DIM));
        }
        for (name, n) in norms {
            tensors.push((name, ones(n)?));
        }
        if arch == "qwen2" {
            for (name, n) in [
                ("attn_q.bias", TINY_DIM),
                ("attn_k.bias", kv_dim),
                ("attn_v.bias", kv_dim),
            ] {
                tensors.push((p(name), random(&[n], 0.1)?));
            }
        }
    }
    write_gguf(path, &md, &tensors)
}

fn write_gguf(
    path: &Path,
    md: &HashMap<String, Value>,
    tensors: &[(String, QTensor)],
) -> Result<(), LocalModelError> {
    let mut keys: Vec<&String> = md.keys().collect();
    keys.sort();
    let md_refs: Vec<(&str, &Value)> = keys.iter().map(|k| (k.as_str(), &md[*k])).collect();
    let t_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let file = File::create(path).map_err(|e| LocalModelError::io(path, e))?;
    let mut w = BufWriter::new(file);
    gguf_file::write(&mut w, &md_refs, &t_refs)?;
    std::io::Write::flush(&mut w).map_err(|e| LocalModelError::io(path, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_table_matches_gpt2() {
        assert_eq!(byte_to_char(b'a'), 'a');
        assert_eq!(byte_to_char(b' '), 'Ġ');
        assert_eq!(byte_to_char(b'\n'), 'Ċ');
        assert_eq!(byte_to_char(0), 'Ā');
        let distinct: std::collections::HashSet<char> = (0..=255u8).map(byte_to_char).collect();
        assert_eq!(distinct.len(), 256);
    }
}
