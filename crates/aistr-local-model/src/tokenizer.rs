//! Builds the text tokenizer from the GGUF's own metadata, so the model file is all we need.
//!
//! candle ships a GGUF→tokenizer builder, but for `tokenizer.ggml.pre = "smollm"` it falls back to
//! a GPT-2 pipeline that adds a prefix space: `system` becomes ` system` (817) instead of the
//! trained id 9690, and `\n` becomes ` \n`. SmolLM2's real tokenizer is a byte-level BPE whose
//! pre-tokenizer first splits every digit apart and then applies byte-level splitting *without* a
//! prefix space. We build exactly that here and delegate only other `pre` values to candle.
//!
//! candle builds only byte-level BPE (`tokenizer.ggml.model = "gpt2"`: Llama 3, Qwen). Gemma and
//! Phi-3 use SentencePiece BPE (`"llama"`): a vocabulary with scores and byte-fallback tokens
//! (`<0x0A>`), spaces written `▁`, a `▁` put before the text unless the file says
//! `add_space_prefix = false`. We build that one too ([`spm_tokenizer`]): the merges are every
//! pair of vocabulary pieces that join into another piece, ranked by the joined piece's score,
//! which is the order SentencePiece's BPE applies them in.

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::quantized::tokenizer::TokenizerFromGguf;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{AddedToken, Tokenizer};

use crate::LocalModelError;

/// GGUF token type of control tokens (`<|im_start|>`, `<|im_end|>`, ...).
const TOKEN_TYPE_CONTROL: u32 = 3;
/// GGUF token type of user-defined added tokens.
const TOKEN_TYPE_USER_DEFINED: u32 = 4;

fn err(msg: impl Into<String>) -> LocalModelError {
    LocalModelError::Tokenizer(msg.into())
}

fn get<'a>(ct: &'a Content, key: &str) -> Result<&'a Value, LocalModelError> {
    ct.metadata
        .get(key)
        .ok_or_else(|| err(format!("GGUF metadata has no `{key}`")))
}

fn strings(ct: &Content, key: &str) -> Result<Vec<String>, LocalModelError> {
    let values = get(ct, key)?
        .to_vec()
        .map_err(|_| err(format!("`{key}` is not an array")))?;
    values
        .iter()
        .map(|v| {
            v.to_string()
                .cloned()
                .map_err(|_| err(format!("`{key}` holds a non-string entry")))
        })
        .collect()
}

fn as_u32(v: &Value) -> Option<u32> {
    match *v {
        Value::U8(x) => Some(u32::from(x)),
        Value::U16(x) => Some(u32::from(x)),
        Value::U32(x) => Some(x),
        Value::I8(x) => u32::try_from(x).ok(),
        Value::I16(x) => u32::try_from(x).ok(),
        Value::I32(x) => u32::try_from(x).ok(),
        Value::U64(x) => u32::try_from(x).ok(),
        Value::I64(x) => u32::try_from(x).ok(),
        _ => None,
    }
}

/// Reads a numeric metadata value as `u32`, if present and in range.
pub(crate) fn metadata_u32(ct: &Content, key: &str) -> Option<u32> {
    ct.metadata.get(key).and_then(as_u32)
}

/// Builds the tokenizer a GGUF describes. `smollm` gets the hand-built pipeline; any other
/// `tokenizer.ggml.pre` is handed to candle's builder.
pub(crate) fn tokenizer_from_gguf(ct: &Content) -> Result<Tokenizer, LocalModelError> {
    let model = get(ct, "tokenizer.ggml.model")?
        .to_string()
        .map_err(|_| err("`tokenizer.ggml.model` is not a string"))?;
    let pre = ct
        .metadata
        .get("tokenizer.ggml.pre")
        .and_then(|v| v.to_string().ok());
    if model == "llama" {
        return spm_tokenizer(ct);
    }
    if model != "gpt2" || pre.map(String::as_str) != Some("smollm") {
        return Tokenizer::from_gguf(ct).map_err(|e| err(e.to_string()));
    }

    let tokens = strings(ct, "tokenizer.ggml.tokens")?;
    let merges = strings(ct, "tokenizer.ggml.merges")?
        .into_iter()
        .map(|m| match m.split_once(' ') {
            Some((a, b)) => Ok((a.to_owned(), b.to_owned())),
            None => Err(err(format!("merge entry `{m}` has no space"))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let types = token_types(ct, tokens.len())?;

    let mut vocab = Vocab::default();
    for (id, tok) in tokens.iter().enumerate() {
        let id = u32::try_from(id).map_err(|_| err("vocabulary larger than u32"))?;
        vocab.insert(tok.clone(), id);
    }
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|e| err(format!("BPE: {e}")))?;

    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer.with_pre_tokenizer(Some(Sequence::new(vec![
        Digits::new(true).into(),
        ByteLevel::new(false, true, true).into(),
    ])));
    tokenizer.with_decoder(Some(ByteLevelDecoder::default()));
    add_special_tokens(&mut tokenizer, &tokens, &types)?;
    Ok(tokenizer)
}

/// `tokenizer.ggml.token_type`, one per token (empty when the file has none).
fn token_types(ct: &Content, n_tokens: usize) -> Result<Vec<u32>, LocalModelError> {
    let types: Vec<u32> = match ct.metadata.get("tokenizer.ggml.token_type") {
        Some(v) => v
            .to_vec()
            .map_err(|_| err("`tokenizer.ggml.token_type` is not an array"))?
            .iter()
            .map(|t| as_u32(t).ok_or_else(|| err("non-numeric token type")))
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    if !types.is_empty() && types.len() != n_tokens {
        return Err(err(format!("{} token types for {n_tokens} tokens", types.len())));
    }
    Ok(types)
}

/// Control tokens are matched whole and dropped when decoding; user-defined ones are matched
/// whole and kept.
fn add_special_tokens(
    tokenizer: &mut Tokenizer,
    tokens: &[String],
    types: &[u32],
) -> Result<(), LocalModelError> {
    let special: Vec<AddedToken> = tokens
        .iter()
        .zip(types)
        .filter(|&(_, &t)| t == TOKEN_TYPE_CONTROL)
        .map(|(tok, _)| AddedToken::from(tok.clone(), true))
        .collect();
    let user: Vec<AddedToken> = tokens
        .iter()
        .zip(types)
        .filter(|&(_, &t)| t == TOKEN_TYPE_USER_DEFINED)
        .map(|(tok, _)| AddedToken::from(tok.clone(), false))
        .collect();
    tokenizer
        .add_special_tokens(special)
        .map_err(|e| err(format!("special tokens: {e}")))?;
    tokenizer
        .add_tokens(user)
        .map_err(|e| err(format!("added tokens: {e}")))?;
    Ok(())
}

/// GGUF token type of ordinary vocabulary pieces.
const TOKEN_TYPE_NORMAL: u32 = 1;
/// SentencePiece's word-boundary marker, which stands for a space.
const SPM_SPACE: &str = "\u{2581}";

/// The SentencePiece-BPE tokenizer of a `tokenizer.ggml.model = "llama"` GGUF.
fn spm_tokenizer(ct: &Content) -> Result<Tokenizer, LocalModelError> {
    use tokenizers::decoders::byte_fallback::ByteFallback;
    use tokenizers::decoders::fuse::Fuse;
    use tokenizers::decoders::sequence::Sequence as DecoderSequence;
    use tokenizers::decoders::strip::Strip;
    use tokenizers::normalizers::{Prepend, Replace, Sequence as NormalizerSequence};

    let tokens = strings(ct, "tokenizer.ggml.tokens")?;
    let types = token_types(ct, tokens.len())?;
    let scores: Vec<f32> = match ct.metadata.get("tokenizer.ggml.scores") {
        Some(v) => v
            .to_vec()
            .map_err(|_| err("`tokenizer.ggml.scores` is not an array"))?
            .iter()
            .map(|s| s.to_f32().map_err(|_| err("non-numeric token score")))
            .collect::<Result<_, _>>()?,
        None => return Err(err("a SentencePiece vocabulary needs `tokenizer.ggml.scores`")),
    };
    if scores.len() != tokens.len() {
        return Err(err(format!(
            "{} scores for {} tokens",
            scores.len(),
            tokens.len()
        )));
    }
    let mut vocab = Vocab::default();
    for (id, tok) in tokens.iter().enumerate() {
        let id = u32::try_from(id).map_err(|_| err("vocabulary larger than u32"))?;
        vocab.insert(tok.clone(), id);
    }
    let mergeable = |i: usize| types.is_empty() || types[i] == TOKEN_TYPE_NORMAL;
    let mut ranked: Vec<(f32, usize, (String, String))> = Vec::new();
    for (i, piece) in tokens.iter().enumerate() {
        if !mergeable(i) || piece.chars().nth(1).is_none() {
            continue;
        }
        for (at, _) in piece.char_indices().skip(1) {
            let (l, r) = piece.split_at(at);
            let (Some(&li), Some(&ri)) = (vocab.get(l), vocab.get(r)) else {
                continue;
            };
            if mergeable(li as usize) && mergeable(ri as usize) {
                ranked.push((scores[i], i, (l.to_owned(), r.to_owned())));
            }
        }
    }
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let merges = ranked.into_iter().map(|(_, _, m)| m).collect();
    let unk =
        metadata_u32(ct, "tokenizer.ggml.unknown_token_id").and_then(|i| tokens.get(i as usize).cloned());
    let mut builder = BPE::builder().vocab_and_merges(vocab, merges).byte_fallback(true);
    if let Some(unk) = unk {
        builder = builder.unk_token(unk);
    }
    let bpe = builder.build().map_err(|e| err(format!("BPE: {e}")))?;

    let add_space_prefix = ct
        .metadata
        .get("tokenizer.ggml.add_space_prefix")
        .and_then(|v| v.to_bool().ok())
        .unwrap_or(true);
    let replace = |from: &str, to: &str| Replace::new(from, to).map_err(|e| err(e.to_string()));
    let mut tokenizer = Tokenizer::new(bpe);
    let mut normalizers = Vec::new();
    if add_space_prefix {
        normalizers.push(Prepend::new(SPM_SPACE.to_owned()).into());
    }
    normalizers.push(replace(" ", SPM_SPACE)?.into());
    let _ = tokenizer.with_normalizer(Some(NormalizerSequence::new(normalizers)));
    let mut decoders = vec![
        replace(SPM_SPACE, " ")?.into(),
        ByteFallback::new().into(),
        Fuse::new().into(),
    ];
    if add_space_prefix {
        decoders.push(Strip::new(' ', 1, 0).into());
    }
    tokenizer.with_decoder(Some(DecoderSequence::new(decoders)));
    add_special_tokens(&mut tokenizer, &tokens, &types)?;
    Ok(tokenizer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::tiny_content_metadata;
    use std::collections::HashMap;

    fn content(metadata: HashMap<String, Value>) -> Content {
        Content {
            magic: candle_core::quantized::gguf_file::VersionedMagic::GgufV3,
            metadata,
            tensor_infos: HashMap::new(),
            tensor_data_offset: 0,
        }
    }

    fn ids(t: &Tokenizer, s: &str) -> Vec<u32> {
        t.encode(s, false).expect("encode").get_ids().to_vec()
    }

    #[test]
    fn no_prefix_space_digits_split_and_specials_atomic() {
        let md = tiny_content_metadata();
        let tok = tokenizer_from_gguf(&content(md.clone())).expect("tokenizer");
        let tokens = strings(&content(md), "tokenizer.ggml.tokens").expect("tokens");
        let id = |s: &str| tokens.iter().position(|t| t == s).expect("token") as u32;

        // "hi" is a merge in the tiny vocabulary; no "Ġ" (space) is prepended.
        assert_eq!(ids(&tok, "hi"), vec![id("hi")]);
        // A leading space is its own byte-level symbol "Ġ".
        assert_eq!(ids(&tok, " hi"), vec![id("Ġ"), id("hi")]);
        // Digits are split individually even where a merge "12" exists.
        assert_eq!(ids(&tok, "12"), vec![id("1"), id("2")]);
        // Control tokens are matched whole, and newline maps to "Ċ".
        assert_eq!(
            ids(&tok, "<|im_start|>hi\n<|im_end|>"),
            vec![id("<|im_start|>"), id("hi"), id("Ċ"), id("<|im_end|>")]
        );
        // Decoding drops control tokens and undoes the byte-level mapping.
        let decoded = tok
            .decode(&ids(&tok, "<|im_start|>hi 12\n"), true)
            .expect("decode");
        assert_eq!(decoded, "hi 12\n");
    }

    #[test]
    fn mismatched_token_types_are_rejected() {
        let mut md = tiny_content_metadata();
        md.insert(
            "tokenizer.ggml.token_type".into(),
            Value::Array(vec![Value::I32(1)]),
        );
        let e = tokenizer_from_gguf(&content(md)).expect_err("must fail");
        assert!(e.to_string().contains("token types"), "{e}");
    }

    #[test]
    fn missing_vocabulary_is_an_error() {
        let mut md = tiny_content_metadata();
        md.remove("tokenizer.ggml.tokens");
        assert!(tokenizer_from_gguf(&content(md)).is_err());
    }
}
