//! Loader tests on a tiny random-weight BERT written by the test itself, so they need no download:
//! they check the file contract (config + safetensors + tokenizer.json), pooling and normalisation.

use aistr_embed::{EmbedOptions, Embedder, ModelFiles, Pooling, cosine};
use candle_core::{DType, Device};
use candle_nn::{VarBuilder, VarMap};
use candle_transformers::models::bert::{BertModel, Config};
use std::path::Path;

const WORDS: &[&str] = &[
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world", "bread", "bomb", "the", "a",
];

fn write_tiny_model(dir: &Path, prefix: Option<&str>) -> ModelFiles {
    let config = serde_json::json!({
        "vocab_size": WORDS.len(), "hidden_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2,
        "intermediate_size": 16, "hidden_act": "gelu", "hidden_dropout_prob": 0.0,
        "max_position_embeddings": 16, "type_vocab_size": 2, "initializer_range": 0.02,
        "layer_norm_eps": 1e-12, "pad_token_id": 0, "model_type": "bert"
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    let cfg: Config = serde_json::from_value(config).unwrap();
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let vb = match prefix {
        Some(p) => vb.pp(p),
        None => vb,
    };
    BertModel::load(vb, &cfg).unwrap();
    varmap.save(dir.join("model.safetensors")).unwrap();
    let vocab: serde_json::Map<String, serde_json::Value> = WORDS
        .iter()
        .enumerate()
        .map(|(i, w)| ((*w).to_owned(), serde_json::json!(i)))
        .collect();
    let tok = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
        "normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]}, "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
        "decoder": null,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"}
    });
    std::fs::write(dir.join("tokenizer.json"), tok.to_string()).unwrap();
    ModelFiles::in_dir(dir)
}

#[test]
fn loads_a_generic_bert_and_normalises() {
    let dir = tempfile::tempdir().unwrap();
    let files = write_tiny_model(dir.path(), None);
    assert!(files.exist());
    let e = Embedder::load(&files, EmbedOptions::default()).unwrap();
    assert_eq!(e.dim(), 8);
    assert_eq!(
        e.options().max_tokens,
        16,
        "max_tokens is clamped to the model's positions"
    );
    let v = e.embed("hello world").unwrap();
    assert_eq!(v.len(), 8);
    let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
    assert!(v.iter().all(|x| x.is_finite()));
}

#[test]
fn batch_equals_single_despite_padding() {
    let dir = tempfile::tempdir().unwrap();
    let e = Embedder::load(
        &write_tiny_model(dir.path(), Some("bert")),
        EmbedOptions::default(),
    )
    .unwrap();
    let texts = ["hello", "the bread the world a bomb hello"];
    let batch = e.embed_batch(&texts).unwrap();
    for (t, b) in texts.iter().zip(&batch) {
        let single = e.embed(t).unwrap();
        assert!(
            cosine(&single, b) > 0.9999,
            "padding leaked into the mean for {t}"
        );
    }
    assert!(cosine(&batch[0], &batch[1]) < 0.9999);
    assert!(e.embed_batch(&[]).unwrap().is_empty());
}

#[test]
fn long_texts_are_truncated_not_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let files = write_tiny_model(dir.path(), None);
    let e = Embedder::load(
        &files,
        EmbedOptions {
            max_tokens: 6,
            pooling: Pooling::Cls,
            normalize: false,
        },
    )
    .unwrap();
    let long = "hello ".repeat(200);
    let v = e.embed(&long).unwrap();
    assert_eq!(v.len(), 8);
    let prefix = e.embed("hello hello hello hello").unwrap();
    assert!(cosine(&v, &prefix) > 0.9999, "truncated to the same 6 tokens");
}

#[test]
fn missing_or_bad_files_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = Embedder::load_dir(dir.path()).unwrap_err();
    assert!(err.to_string().contains("config.json"), "{err}");
    std::fs::write(dir.path().join("config.json"), "{\"vocab_size\": 3}").unwrap();
    let err = Embedder::load_dir(dir.path()).unwrap_err();
    assert!(matches!(err, aistr_embed::EmbedError::Config { .. }), "{err}");
}

#[test]
fn cosine_edge_cases() {
    assert_eq!(cosine(&[1.0, 0.0], &[0.0, 1.0]), 0.0);
    assert!((cosine(&[1.0, 1.0], &[2.0, 2.0]) - 1.0).abs() < 1e-6);
    assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
    assert_eq!(cosine(&[1.0], &[1.0, 2.0]), 0.0);
}
