//! Real-model check against the published sentence-transformers value. Skips (with a note) when the
//! model is not installed; CI installs it with `scripts/install-models.sh`.

use aistr_embed::{Embedder, ModelFiles, cosine, default_minilm_dir};
use std::path::PathBuf;

fn model_dir() -> Option<PathBuf> {
    let candidates = [
        default_minilm_dir(),
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/all-MiniLM-L6-v2"),
    ];
    candidates.into_iter().find(|d| ModelFiles::in_dir(d).exist())
}

#[test]
fn minilm_reproduces_sbert_similarity() {
    let Some(dir) = model_dir() else {
        eprintln!("note: all-MiniLM-L6-v2 not installed (run scripts/install-models.sh); skipping");
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
