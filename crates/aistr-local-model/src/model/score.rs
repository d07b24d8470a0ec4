//! Reading the model's probabilities instead of sampling from them: the log-likelihood of given
//! continuations of a context (canary exposure ranks a planted secret among random candidates by
//! it), and greedy continuation of raw token ids (prefix → suffix extraction tests). The context is
//! run once; its attention cache is then shared by every continuation, so each candidate costs one
//! forward step per token.

use candle_core::{D, Tensor};

use super::LocalModel;
use crate::LocalModelError;

/// The log-likelihood of one continuation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CandidateScore {
    /// `ln P(continuation | context)`, summed over its tokens.
    pub log_likelihood: f64,
    /// Tokens in the continuation.
    pub tokens: usize,
}

impl LocalModel {
    /// `ln P(continuation | context)` for each continuation. `context` is raw model text (render a
    /// conversation with [`LocalModel::render_prompt`] first); each continuation is tokenised on
    /// its own and must have at least one token.
    pub fn score_continuations(
        &mut self,
        context: &str,
        continuations: &[String],
    ) -> Result<Vec<CandidateScore>, LocalModelError> {
        let ctx = self.tokenize(context)?;
        if ctx.is_empty() {
            return Err(LocalModelError::Tokenizer(
                "an empty context cannot be scored".into(),
            ));
        }
        let conts = continuations
            .iter()
            .map(|c| self.tokenize(c))
            .collect::<Result<Vec<_>, _>>()?;
        let longest = conts.iter().map(Vec::len).max().unwrap_or(0);
        if ctx.len() + longest > self.context_limit {
            return Err(LocalModelError::PromptTooLong {
                prompt_tokens: ctx.len() + longest,
                limit: self.context_limit,
            });
        }
        self.weights.clear_kv_cache();
        let input = Tensor::new(ctx.as_slice(), &self.device)?.unsqueeze(0)?;
        let first = log_probs(&self.weights.forward(&input, 0)?)?;
        let prefilled = self.weights.fork();
        let mut out = Vec::with_capacity(conts.len());
        for toks in &conts {
            if toks.is_empty() {
                return Err(LocalModelError::Tokenizer("a continuation has no tokens".into()));
            }
            let mut again;
            let weights = match &prefilled {
                Some(w) => {
                    again = w.fork().unwrap_or_else(|| unreachable!("forked once"));
                    &mut again
                }
                None => {
                    self.weights.forward(&input, 0)?;
                    &mut self.weights
                }
            };
            let mut lp = first.clone();
            let mut total = 0f64;
            for (j, &t) in toks.iter().enumerate() {
                total += f64::from(*lp.get(t as usize).ok_or_else(|| {
                    LocalModelError::Tokenizer(format!("token {t} outside the vocabulary"))
                })?);
                if j + 1 < toks.len() {
                    let input = Tensor::new(&[t], &self.device)?.unsqueeze(0)?;
                    lp = log_probs(&weights.forward(&input, ctx.len() + j)?)?;
                }
            }
            out.push(CandidateScore {
                log_likelihood: total,
                tokens: toks.len(),
            });
        }
        self.weights.clear_kv_cache();
        Ok(out)
    }

    /// Greedy continuation of raw token ids (no chat template): up to `max_tokens` new tokens,
    /// stopping early at an end-of-turn or end-of-text token.
    pub fn greedy_continue(
        &mut self,
        prefix: &[u32],
        max_tokens: usize,
    ) -> Result<Vec<u32>, LocalModelError> {
        if prefix.is_empty() {
            return Err(LocalModelError::Tokenizer(
                "an empty prefix cannot be continued".into(),
            ));
        }
        if prefix.len() >= self.context_limit {
            return Err(LocalModelError::PromptTooLong {
                prompt_tokens: prefix.len(),
                limit: self.context_limit,
            });
        }
        let budget = max_tokens.min(self.context_limit - prefix.len());
        self.weights.clear_kv_cache();
        let mut out = Vec::with_capacity(budget);
        let input = Tensor::new(prefix, &self.device)?.unsqueeze(0)?;
        let mut logits = self.weights.forward(&input, 0)?;
        while out.len() < budget {
            let next = logits.squeeze(0)?.argmax(D::Minus1)?.to_scalar::<u32>()?;
            if self.stop_ids.contains(&next) {
                break;
            }
            out.push(next);
            if out.len() == budget {
                break;
            }
            let input = Tensor::new(&[next], &self.device)?.unsqueeze(0)?;
            logits = self.weights.forward(&input, prefix.len() + out.len() - 1)?;
        }
        self.weights.clear_kv_cache();
        Ok(out)
    }

    /// The text of token ids (control tokens dropped).
    pub fn detokenize(&self, ids: &[u32]) -> Result<String, LocalModelError> {
        self.tokenizer
            .decode(ids, true)
            .map_err(|e| LocalModelError::Tokenizer(e.to_string()))
    }
}

/// Log-softmax of one row of logits.
fn log_probs(logits: &Tensor) -> Result<Vec<f32>, LocalModelError> {
    let row = logits.squeeze(0)?.to_dtype(candle_core::DType::F32)?;
    Ok(candle_nn::ops::log_softmax(&row, D::Minus1)?.to_vec1::<f32>()?)
}

#[cfg(test)]
mod tests {
    use crate::LocalModel;
    use crate::testing::{TinyModel, write_tiny_llama_gguf};

    fn tiny(kind: TinyModel) -> (tempfile::TempDir, LocalModel) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tiny.gguf");
        write_tiny_llama_gguf(&path, kind, false).expect("write tiny model");
        (dir, LocalModel::load(&path).expect("load tiny model"))
    }

    #[test]
    fn the_continuation_the_model_would_generate_scores_highest() {
        let (_d, mut m) = tiny(TinyModel::SaysHi);
        let ctx = m
            .render_prompt(&[aistr_core::Message::user("yo")])
            .expect("render");
        let s = m
            .score_continuations(&ctx, &["hi".into(), "ih".into(), "hh".into()])
            .expect("scores");
        assert_eq!(s.len(), 3);
        assert!(
            s[0].log_likelihood > s[1].log_likelihood && s[0].log_likelihood > s[2].log_likelihood,
            "{s:?}"
        );
        assert!(s.iter().all(|x| x.log_likelihood <= 0.0 && x.tokens >= 1));
        // Scoring is independent of order and of earlier calls (the shared cache is not mutated).
        let again = m
            .score_continuations(&ctx, &["hh".into(), "hi".into()])
            .expect("scores");
        assert!((again[1].log_likelihood - s[0].log_likelihood).abs() < 1e-4);
        assert!((again[0].log_likelihood - s[2].log_likelihood).abs() < 1e-4);
        assert!(m.score_continuations("", &["x".into()]).is_err());
        assert!(m.score_continuations(&ctx, &[String::new()]).is_err());
    }

    #[test]
    fn greedy_continue_matches_chat_generation() {
        let (_d, mut m) = tiny(TinyModel::SaysHi);
        let msgs = [aistr_core::Message::user("yo")];
        let prefix = m
            .tokenize(&m.render_prompt(&msgs).expect("render"))
            .expect("tokens");
        let ids = m.greedy_continue(&prefix, 10).expect("continues");
        assert_eq!(m.detokenize(&ids).expect("text"), "hi");
        let chat = m.chat(&msgs, 10, 0.0, 0).expect("chat");
        assert_eq!(chat.text, "hi");
        assert!(m.greedy_continue(&[], 3).is_err());
    }
}
