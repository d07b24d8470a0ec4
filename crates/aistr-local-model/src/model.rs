//! The embedded target model: load a GGUF (SmolLM2-135M-Instruct by default; any file of an
//! architecture in [`SUPPORTED_ARCHITECTURES`]) with candle, render a conversation with the file's
//! own chat template, and generate a reply on the CPU.
//!
//! Calls are independent: the attention KV cache is cleared at the start of every [`LocalModel::chat`],
//! so one loaded model serves any number of unrelated conversations. Decoding is greedy at
//! temperature 0 and seeded multinomial sampling otherwise, so every reply is reproducible from
//! `(messages, max_tokens, temperature, seed)`.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aistr_core::Message;
use candle_core::quantized::gguf_file::{self, Content};
use candle_core::{Device, Tensor};
use tokenizers::Tokenizer;

use crate::LocalModelError;
use crate::chat_template::ChatTemplate;
use crate::template::{IM_END, IM_START, default_system_from_template, render_chatml};
use crate::tokenizer::{metadata_u32, tokenizer_from_gguf};

mod arch;
mod llama;
mod prefix;
mod score;
mod sequence;
use arch::Weights;
pub use arch::{MAX_CONTEXT, SUPPORTED as SUPPORTED_ARCHITECTURES};
pub use prefix::{DEFAULT_PREFIX_CACHE_BYTES, PrefixCacheStats};
pub use score::CandidateScore;
pub use sequence::Sequence;

/// End-of-turn tokens of the chat formats we know; whichever a vocabulary has stops generation,
/// besides its declared end-of-sequence token.
const END_OF_TURN: &[&str] = &[
    IM_END,
    "<|endoftext|>",
    "<|eot_id|>",
    "<|eom_id|>",
    "<end_of_turn>",
    "<|end|>",
];

/// One generated reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// The assistant text, without the stop token.
    pub text: String,
    /// Tokens in the rendered ChatML prompt.
    pub prompt_tokens: u32,
    /// Tokens generated, not counting the stop token.
    pub completion_tokens: u32,
    /// `"stop"` when the model ended its turn, `"length"` when `max_tokens` (or the context window)
    /// cut it off.
    pub finish_reason: &'static str,
    /// Wall-clock time spent in the prompt pass and in token-by-token decoding.
    pub timings: Timings,
}

/// Where the time of one [`LocalModel::chat`] call went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timings {
    /// Processing the prompt and producing the first logits.
    pub prefill: Duration,
    /// Producing every further token.
    pub decode: Duration,
}

/// A loaded GGUF chat model, ready to answer conversations. Generation needs `&mut self`; to serve
/// concurrent callers, hand it to a [`crate::BatchedModel`].
pub struct LocalModel {
    weights: Weights,
    /// Keys and values of prompt blocks seen before (batchable networks only).
    prefix: Option<prefix::PrefixCache>,
    tokenizer: Tokenizer,
    stop_ids: Vec<u32>,
    /// The GGUF's chat template; `None` only for ChatML files without one (rendered built-in).
    template: Option<ChatTemplate>,
    /// Prepended when the file asks for a BOS token and the rendered prompt does not start with it.
    bos: Option<(u32, String)>,
    architecture: String,
    default_system: Option<String>,
    context_limit: usize,
    name: String,
    path: PathBuf,
    device: Device,
}

impl std::fmt::Debug for LocalModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalModel")
            .field("name", &self.name)
            .field("path", &self.path)
            .field("context_limit", &self.context_limit)
            .field("stop_ids", &self.stop_ids)
            .finish_non_exhaustive()
    }
}

impl LocalModel {
    /// Loads a GGUF of one of the [`SUPPORTED_ARCHITECTURES`], with the tokenizer and chat template
    /// its metadata carries (a ChatML file without a template gets ChatML). A missing file yields
    /// [`LocalModelError::ModelNotFound`], whose message tells the user how to install the models;
    /// an unsupported architecture or a template that does not render is
    /// [`LocalModelError::InvalidModel`] naming the file and the problem.
    pub fn load(gguf_path: &Path) -> Result<LocalModel, LocalModelError> {
        let (content, mut reader) = read_content(gguf_path)?;
        let arch = content
            .metadata
            .get("general.architecture")
            .and_then(|v| v.to_string().ok())
            .cloned()
            .unwrap_or_default();
        if !SUPPORTED_ARCHITECTURES.contains(&arch.as_str()) {
            return Err(LocalModelError::invalid(
                gguf_path,
                format!(
                    "architecture `{arch}` is not supported (aistr runs {})",
                    SUPPORTED_ARCHITECTURES.join(", ")
                ),
            ));
        }
        let tokenizer = tokenizer_from_gguf(&content)?;
        let token_text =
            |key: &str| metadata_u32(&content, key).and_then(|id| tokenizer.id_to_token(id).map(|t| (id, t)));
        let eos = token_text("tokenizer.ggml.eos_token_id");
        let bos = token_text("tokenizer.ggml.bos_token_id");
        let mut stop_ids: Vec<u32> = END_OF_TURN
            .iter()
            .filter_map(|t| tokenizer.token_to_id(t))
            .chain(eos.as_ref().map(|(id, _)| *id))
            .collect();
        stop_ids.sort_unstable();
        stop_ids.dedup();
        if stop_ids.is_empty() {
            return Err(LocalModelError::invalid(
                gguf_path,
                "the vocabulary has no end-of-sequence or end-of-turn token",
            ));
        }

        let template_source = content
            .metadata
            .get("tokenizer.chat_template")
            .and_then(|v| v.to_string().ok());
        let default_system = template_source.and_then(|t| default_system_from_template(t));
        let template = match template_source {
            Some(src) => {
                let text = |t: &Option<(u32, String)>| t.as_ref().map(|(_, s)| s.clone()).unwrap_or_default();
                let t = ChatTemplate::new(src, &text(&bos), &text(&eos))
                    .and_then(|t| t.render(&[Message::user("hi")], true).map(|_| t))
                    .map_err(|e| LocalModelError::invalid(gguf_path, e.to_string()))?;
                Some(t)
            }
            None if tokenizer.token_to_id(IM_START).is_some() && tokenizer.token_to_id(IM_END).is_some() => {
                None
            }
            None => {
                return Err(LocalModelError::invalid(
                    gguf_path,
                    "no `tokenizer.chat_template` and the vocabulary is not ChatML",
                ));
            }
        };
        let add_bos = content
            .metadata
            .get("tokenizer.ggml.add_bos_token")
            .and_then(|v| v.to_bool().ok())
            .unwrap_or(false);
        let context =
            metadata_u32(&content, &format!("{arch}.context_length")).map_or(MAX_CONTEXT, |c| c as usize);
        let context_limit = context.min(MAX_CONTEXT);
        let name = content
            .metadata
            .get("general.name")
            .and_then(|v| v.to_string().ok())
            .cloned()
            .unwrap_or_else(|| gguf_path.display().to_string());

        let device = Device::Cpu;
        let weights = Weights::load(&arch, content, &mut reader, &device)
            .map_err(|e| LocalModelError::invalid(gguf_path, format!("cannot load weights: {e}")))?;
        let prefix = weights
            .batchable()
            .map(|net| prefix::PrefixCache::new(DEFAULT_PREFIX_CACHE_BYTES, net.kv_bytes_per_position()));
        Ok(LocalModel {
            weights,
            prefix,
            tokenizer,
            stop_ids,
            template,
            bos: if add_bos { bos } else { None },
            architecture: arch,
            default_system,
            context_limit,
            name,
            path: gguf_path.to_path_buf(),
            device,
        })
    }

    /// Sets the memory for cached prompt blocks (0 turns the prefix cache off) and empties it.
    pub fn set_prefix_cache_bytes(&mut self, bytes: usize) {
        if let Some(net) = self.weights.batchable() {
            self.prefix = Some(prefix::PrefixCache::new(bytes, net.kv_bytes_per_position()));
        }
    }

    /// How much prefill the prefix cache saved so far (`None`: this architecture has none).
    #[must_use]
    pub fn prefix_cache_stats(&self) -> Option<PrefixCacheStats> {
        self.prefix.as_ref().map(prefix::PrefixCache::stats)
    }

    /// The file's `general.architecture` (one of [`SUPPORTED_ARCHITECTURES`]).
    #[must_use]
    pub fn architecture(&self) -> &str {
        &self.architecture
    }

    /// The model's `general.name` (or its path when the GGUF has none).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file the model was loaded from.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Prompt plus generated tokens can never exceed this.
    #[must_use]
    pub fn context_limit(&self) -> usize {
        self.context_limit
    }

    /// The system prompt inserted when a conversation does not start with a system message.
    #[must_use]
    pub fn default_system_prompt(&self) -> Option<&str> {
        self.default_system.as_deref()
    }

    /// The exact text the model sees for `messages`, ending with the opened assistant turn: the
    /// file's chat template (bounded, see [`crate::chat_template`]), or ChatML without one.
    pub fn render_prompt(&self, messages: &[Message]) -> Result<String, LocalModelError> {
        match &self.template {
            Some(t) => t
                .render(messages, true)
                .map_err(|e| LocalModelError::ChatTemplate(e.to_string())),
            None => Ok(render_chatml(messages, self.default_system.as_deref())),
        }
    }

    /// The token ids of the rendered prompt, with the BOS token in front when the file asks for
    /// one and the template did not print it.
    fn prompt_ids(&self, messages: &[Message]) -> Result<Vec<u32>, LocalModelError> {
        let text = self.render_prompt(messages)?;
        let mut ids = self.tokenize(&text)?;
        if let Some((id, s)) = &self.bos
            && !text.starts_with(s.as_str())
        {
            ids.insert(0, *id);
        }
        Ok(ids)
    }

    /// Token ids of `text` (control-token strings are recognised; no BOS is added).
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>, LocalModelError> {
        let enc = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| LocalModelError::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Answers a conversation: renders it with the file's chat template, then generates up to
    /// `max_tokens` tokens, stopping at the end-of-turn (or end-of-sequence) token.
    ///
    /// `temperature == 0` decodes greedily (and ignores `seed`); a positive temperature samples
    /// from the softmax of `logits / temperature` with a generator seeded by `seed`, so the same
    /// arguments give the same text. [`crate::BatchedModel`] runs the same steps for many
    /// conversations at once and gives the same tokens.
    pub fn chat(
        &mut self,
        messages: &[Message],
        max_tokens: u32,
        temperature: f32,
        seed: u64,
    ) -> Result<Generation, LocalModelError> {
        let mut seq = self.begin(messages, max_tokens, temperature, seed)?;
        let stepped = (|| {
            while !seq.is_finished() {
                self.step(&mut [&mut seq])?;
            }
            Ok(())
        })();
        // The next call starts from an empty cache anyway; clearing frees the reply's memory.
        self.weights.clear_kv_cache();
        stepped.and_then(|()| self.finish(seq))
    }
}

/// How likely a given continuation is (see [`LocalModel::continuation_logprob`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContinuationScore {
    /// Sum of the natural-log probabilities of the continuation's tokens.
    pub logprob: f64,
    /// Number of continuation tokens scored.
    pub tokens: u32,
}

impl LocalModel {
    /// Scores `continuation` as the assistant's reply to `messages`: the sum of the
    /// log-probabilities the model gives each of its tokens (teacher forcing, no sampling). This
    /// is what multiple-choice evaluation (TruthfulQA MC1/MC2) ranks choices by.
    pub fn continuation_logprob(
        &mut self,
        messages: &[Message],
        continuation: &str,
    ) -> Result<ContinuationScore, LocalModelError> {
        let prompt = self.prompt_ids(messages)?;
        let cont = self.tokenize(continuation)?;
        if prompt.is_empty() || cont.is_empty() {
            return Ok(ContinuationScore {
                logprob: 0.0,
                tokens: 0,
            });
        }
        if prompt.len() + cont.len() > self.context_limit {
            return Err(LocalModelError::PromptTooLong {
                prompt_tokens: prompt.len() + cont.len(),
                limit: self.context_limit,
            });
        }
        self.weights.clear_kv_cache();
        let input = Tensor::new(prompt.as_slice(), &self.device)?.unsqueeze(0)?;
        let mut logits = self.weights.forward(&input, 0)?.squeeze(0)?;
        let mut total = 0.0f64;
        for (i, &tok) in cont.iter().enumerate() {
            total += log_softmax_at(&logits, tok)?;
            if i + 1 < cont.len() {
                let input = Tensor::new(&[tok], &self.device)?.unsqueeze(0)?;
                logits = self.weights.forward(&input, prompt.len() + i)?.squeeze(0)?;
            }
        }
        self.weights.clear_kv_cache();
        Ok(ContinuationScore {
            logprob: total,
            tokens: u32::try_from(cont.len()).unwrap_or(u32::MAX),
        })
    }
}

/// `log softmax(logits)[token]`, computed in f64.
fn log_softmax_at(logits: &Tensor, token: u32) -> Result<f64, LocalModelError> {
    let v: Vec<f32> = logits.to_dtype(candle_core::DType::F32)?.to_vec1()?;
    let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = v.iter().map(|&x| f64::from(x - max).exp()).sum();
    let x = v.get(token as usize).copied().unwrap_or(f32::NEG_INFINITY);
    Ok(f64::from(x - max) - sum.ln())
}

/// Reads only the GGUF header and metadata of `path` (no tensor data).
pub(crate) fn read_content(path: &Path) -> Result<(Content, BufReader<File>), LocalModelError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(LocalModelError::ModelNotFound {
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(LocalModelError::io(path, e)),
    };
    let mut reader = BufReader::new(file);
    let content = gguf_file::Content::read(&mut reader)
        .map_err(|e| LocalModelError::invalid(path, format!("cannot parse GGUF: {e}")))?;
    Ok((content, reader))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{TINY_CONTEXT, TinyModel, write_tiny_llama_gguf};

    fn tiny(kind: TinyModel) -> (tempfile::TempDir, LocalModel) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tiny.gguf");
        write_tiny_llama_gguf(&path, kind, false).expect("write tiny model");
        let model = LocalModel::load(&path).expect("load tiny model");
        (dir, model)
    }

    #[test]
    fn local_model_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<LocalModel>();
    }

    #[test]
    fn missing_file_says_how_to_install() {
        let e = LocalModel::load(Path::new("/nonexistent/aistr/model.gguf")).expect_err("missing");
        assert!(matches!(e, LocalModelError::ModelNotFound { .. }));
        let msg = e.to_string();
        assert!(
            msg.contains("scripts/install-models.sh") && msg.contains("aistr models install"),
            "{msg}"
        );
    }

    #[test]
    fn garbage_file_is_invalid_model() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad.gguf");
        std::fs::write(&path, b"not a gguf at all").expect("write");
        let e = LocalModel::load(&path).expect_err("garbage");
        assert!(matches!(e, LocalModelError::InvalidModel { .. }), "{e}");
    }

    #[test]
    fn greedy_stops_at_im_end() {
        let (_d, mut m) = tiny(TinyModel::SaysHi);
        assert_eq!(
            m.default_system_prompt(),
            Some(crate::template::SMOLLM2_DEFAULT_SYSTEM)
        );
        let g = m.chat(&[Message::user("yo")], 50, 0.0, 0).expect("chat");
        assert_eq!(g.text, "hi");
        assert_eq!(g.finish_reason, "stop");
        assert_eq!(g.completion_tokens, 2);
        let prompt = m.prompt_ids(&[Message::user("yo")]).expect("tokenize");
        assert_eq!(g.prompt_tokens as usize, prompt.len());
    }

    #[test]
    fn max_tokens_caps_and_cache_resets_between_calls() {
        let (_d, mut m) = tiny(TinyModel::Echo);
        let msgs = [Message::system("s"), Message::user("hello")];
        let a = m.chat(&msgs, 5, 0.0, 0).expect("chat");
        assert_eq!(a.finish_reason, "length");
        assert_eq!(a.completion_tokens, 5);
        assert_eq!(a.text, "\n\n\n\n\n");
        // A different conversation in between must not leak into the next identical call.
        m.chat(&[Message::user("something else entirely 123")], 7, 0.8, 3)
            .expect("chat");
        let b = m.chat(&msgs, 5, 0.0, 0).expect("chat");
        assert_eq!(a.text, b.text);
        assert_eq!(m.chat(&msgs, 0, 0.0, 0).expect("chat").completion_tokens, 0);
    }

    #[test]
    fn sampling_is_reproducible_per_seed() {
        let (_d, mut m) = tiny(TinyModel::Echo);
        let msgs = [Message::user("tell me a story")];
        let run = |m: &mut LocalModel, seed| m.chat(&msgs, 24, 1.0, seed).expect("chat");
        let a = run(&mut m, 7);
        let b = run(&mut m, 7);
        assert_eq!(a.text, b.text);
        assert_eq!(a.completion_tokens, b.completion_tokens);
        // Some other seed gives a different continuation (the tiny model's distribution is broad).
        let differs = (8..16).any(|s| run(&mut m, s).text != a.text);
        assert!(differs, "sampling ignored the seed");
    }

    #[test]
    fn rejects_bad_temperature_and_overlong_prompt() {
        let (_d, mut m) = tiny(TinyModel::Echo);
        for t in [-0.1, f32::NAN, f32::INFINITY] {
            let e = m
                .chat(&[Message::user("x")], 4, t, 0)
                .expect_err("bad temperature");
            assert!(matches!(e, LocalModelError::InvalidTemperature(_)));
        }
        assert_eq!(m.context_limit(), TINY_CONTEXT as usize);
        let long = "a ".repeat(TINY_CONTEXT as usize);
        let e = m.chat(&[Message::user(long)], 4, 0.0, 0).expect_err("too long");
        assert!(matches!(e, LocalModelError::PromptTooLong { .. }), "{e}");
    }

    #[test]
    fn continuation_logprob_prefers_what_the_model_says() {
        // The echo model's greedy reply is newlines: they must be likelier than other bytes.
        let (_d, mut m) = tiny(TinyModel::Echo);
        let msgs = [Message::user("yo")];
        let hi = m.continuation_logprob(&msgs, "\n\n\n").expect("score");
        let other = m.continuation_logprob(&msgs, "zqx").expect("score");
        assert!(hi.tokens >= 1 && other.tokens >= 1);
        assert!(hi.logprob <= 0.0 && other.logprob <= 0.0);
        assert!(hi.logprob > other.logprob, "{hi:?} vs {other:?}");
        // Scoring leaves no state behind: the same call gives the same number.
        assert_eq!(m.continuation_logprob(&msgs, "\n\n\n").expect("score"), hi);
        assert_eq!(m.continuation_logprob(&msgs, "").expect("score").tokens, 0);
    }

    #[test]
    fn generation_is_capped_by_the_context_window() {
        let (_d, mut m) = tiny(TinyModel::Echo);
        let msgs = [Message::user("x")];
        let prompt_len = m.prompt_ids(&msgs).expect("tokenize").len();
        let g = m.chat(&msgs, 10_000, 0.0, 0).expect("chat");
        assert_eq!(g.finish_reason, "length");
        assert_eq!(g.completion_tokens as usize, TINY_CONTEXT as usize - prompt_len);
    }
}
