//! What a model answers and what a user's RAG or label file holds is untrusted: the readers and
//! the hallucination scorers must be total (no panic) and bounded on any bytes.
#![no_main]
use std::path::Path;
use std::sync::OnceLock;

use aistr_hallucination::corpus::{Collection, Corpus, RawPoem};
use aistr_hallucination::normalize::Normalizer;
use aistr_hallucination::verify::{Attribution, Verifier};
use aistr_hallucination::{abstain, labels, rag, similarity};
use libfuzzer_sys::fuzz_target;

fn world() -> &'static (Normalizer, Corpus) {
    static W: OnceLock<(Normalizer, Corpus)> = OnceLock::new();
    W.get_or_init(|| {
        let n = Normalizer::new().expect("opencc");
        let raw = |a: &str, t: &str, l: &[&str]| {
            (
                Collection::TangShi,
                RawPoem {
                    author: a.into(),
                    title: Some(t.into()),
                    rhythmic: None,
                    paragraphs: l.iter().map(|s| (*s).to_owned()).collect(),
                },
            )
        };
        let c = Corpus::from_records(
            vec![
                raw("王之渙", "登鸛雀樓", &["白日依山盡，黃河入海流。", "欲窮千里目，更上一層樓。"]),
                raw("杜甫", "春望", &["國破山河在，城春草木深。", "感時花濺淚（一作「淚」），恨別鳥驚心。"]),
                raw("無名氏", "雜詩", &["青青河畔草，郁郁園中柳。"]),
            ],
            &n,
        );
        (n, c)
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = rag::parse_rag_jsonl(Path::new("fuzz.jsonl"), &text);
    let _ = labels::parse_labels(Path::new("fuzz.jsonl"), &text);
    let _ = abstain::abstention(&text);
    let (n, c) = world();
    let v = Verifier::new(c, n);
    let found = v.verify(&text, &Attribution::default());
    assert!(found.len() <= text.chars().count());
    let _ = v.named_poets(&text);
    let (half_a, half_b) = text.split_at(text.char_indices().nth(text.chars().count() / 2).map_or(0, |(i, _)| i));
    let _ = rag::faithfulness(half_a, half_b, &similarity::TrigramSimilarity);
    assert!(similarity::sentences(&text).len() <= text.chars().count());
});
