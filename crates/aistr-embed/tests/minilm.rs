//! Real-model check against the published sentence-transformers value. Skipped (with a note)
//! when the model is not installed, and a failure under CI, which installs it with
//! `aistr models install`.

use aistr_embed::{Embedder, ModelFiles, cosine, default_minilm_dir};

#[test]
fn minilm_reproduces_sbert_similarity() {
    let dir = default_minilm_dir();
    let Some(_) = aistr_test_require::require_or_skip(
        "all-MiniLM-L6-v2 (model.safetensors)",
        ModelFiles::in_dir(&dir).weights,
    ) else {
        return;
    };
    let e = Embedder::load_dir(&dir).unwrap();
    assert_eq!(e.dim(), 384);
    let v = e
        .embed_batch(&["A man is eating food.", "A man is eating a piece of bread."])
        .unwrap();
    let c = cosine(&v[0], &v[1]);
    assert!(
        (c - 0.7553).abs() < 2e-3,
        "cos = {c}, sentence-transformers gives 0.7553"
    );
}
