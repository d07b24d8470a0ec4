//! The verifier, the probe generators and the labelled set on the real chinese-poetry corpus
//! (bundled in `data/chinese-poetry`, or `$AISTR_POETRY_DIR`). The corpus is required: a missing
//! corpus fails these tests, it never skips them.

use std::sync::OnceLock;

use aistr_hallucination::HalluLabel;
use aistr_hallucination::corpus::{Corpus, default_corpus_dir};
use aistr_hallucination::evalset::{Split, evaluate, generate};
use aistr_hallucination::normalize::Normalizer;
use aistr_hallucination::probes::{PROBE_SETS, Truth, poetry_probes};
use aistr_hallucination::score::score_poetry;
use aistr_hallucination::verify::{Attribution, QuoteClass, Verifier};

struct World {
    norm: Normalizer,
    corpus: Corpus,
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let dir = default_corpus_dir(
            std::env::var_os("AISTR_POETRY_DIR").as_deref(),
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
        )
        .expect(
            "the chinese-poetry corpus (bundled in data/chinese-poetry, or $AISTR_POETRY_DIR) is required",
        );
        let norm = Normalizer::new().expect("opencc");
        // One snapshot shared by the test processes (nextest runs each test in its own).
        let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("poetry.snapshot");
        let (corpus, _) = Corpus::load_cached(&dir, &cache, &norm).expect("corpus");
        World { norm, corpus }
    })
}

fn classify(answer: &str) -> Vec<QuoteClass> {
    let w = world();
    Verifier::new(&w.corpus, &w.norm)
        .verify(answer, &Attribution::default())
        .into_iter()
        .map(|f| f.class)
        .collect()
}

#[test]
fn the_whole_corpus_is_indexed() {
    let w = world();
    assert_eq!(w.corpus.poems().len(), 57_607 + 21_050);
    assert!(w.corpus.clause_count() > 800_000, "{}", w.corpus.clause_count());
    assert!(w.corpus.author_named("李白").is_some());
    assert!(
        w.corpus.author_named("苏轼").is_some(),
        "Song ci authors are simplified too"
    );
}

#[test]
fn famous_lines_in_both_scripts() {
    assert_eq!(
        classify("「白日依山盡，黃河入海流。」——王之渙《登鸛雀樓》"),
        vec![QuoteClass::Verbatim]
    );
    assert_eq!(
        classify("“白日依山尽，黄河入海流”——王之涣《登鹳雀楼》"),
        vec![QuoteClass::Verbatim]
    );
    assert_eq!(
        classify("“明月几时有，把酒问青天”——苏轼《水调歌头》"),
        vec![QuoteClass::Verbatim]
    );
    assert_eq!(
        classify("“白日依山尽，黄河入海流”——李白"),
        vec![QuoteClass::Misattributed]
    );
    assert_eq!(
        classify("“明月几时有，把酒问苍天”——苏轼《水调歌头》"),
        vec![QuoteClass::Misquoted]
    );
    assert_eq!(
        classify("“孤灯照远岫，寒笛落空汀”——王之涣"),
        vec![QuoteClass::Fabricated]
    );
}

#[test]
fn the_corpus_reading_of_jing_ye_si_is_the_old_one() {
    // 全唐诗 holds 「牀前看月光……舉頭望山月」; the schoolbook 「床前明月光……举头望明月」 is
    // two characters away from it, so it is a misquotation *of this corpus*.
    assert_eq!(
        classify("“床前看月光，疑是地上霜”——李白《静夜思》"),
        vec![QuoteClass::Verbatim]
    );
    assert_eq!(
        classify("“床前明月光，疑是地上霜”——李白《静夜思》"),
        vec![QuoteClass::Misquoted]
    );
}

#[test]
fn verifier_meets_the_acceptance_bar_on_a_test_split_sample() {
    // The full measurement is `--example quote_eval`; this keeps a small sample of the test
    // split from regressing.
    let w = world();
    let v = Verifier::new(&w.corpus, &w.norm);
    let items = generate(&v, Split::Test, 31, 60);
    assert_eq!(items.len(), 240);
    let (eval, _) = evaluate(&v, &items);
    for c in [QuoteClass::Fabricated, QuoteClass::Misattributed] {
        let p = eval.precision(c).expect("predicted");
        let r = eval.recall(c).expect("gold");
        assert!(
            p >= 0.95 && r >= 0.95,
            "{c:?}: precision {p}, recall {r}; {:?}",
            eval.confusion
        );
    }
}

#[test]
fn probe_generators_are_seeded_and_carry_truth() {
    let w = world();
    let v = Verifier::new(&w.corpus, &w.norm);
    for set in PROBE_SETS.iter().filter(|s| s.id.starts_with("poetry-")) {
        let a = poetry_probes(&w.corpus, set.id, 12, 5);
        assert_eq!(a.len(), 12, "{}", set.id);
        assert_eq!(a, poetry_probes(&w.corpus, set.id, 12, 5), "{} is seeded", set.id);
        assert_ne!(
            a,
            poetry_probes(&w.corpus, set.id, 12, 6),
            "{} depends on the seed",
            set.id
        );
        for p in &a {
            match &p.truth {
                Truth::Recite {
                    poem, poet, lines, ..
                } => {
                    let author = w.corpus.author(w.corpus.author_named(poet).expect("real poet"));
                    assert!(author.poems.len() <= 3, "little-known");
                    assert!(author.poems.contains(poem));
                    // Reciting the truth is grounded.
                    assert_eq!(
                        score_poetry(&v, p, &lines.join("\n"), Some("stop")).label,
                        HalluLabel::Grounded,
                        "{p:?}"
                    );
                }
                Truth::Trap {
                    poet,
                    invented_poet,
                    title,
                } => {
                    if *invented_poet {
                        assert!(w.corpus.author_named(poet).is_none(), "{poet} must not exist");
                    }
                    if let Some(t) = title {
                        assert!(
                            !w.corpus.poems().iter().any(|x| x.title.contains(t.as_str())),
                            "{t}"
                        );
                    }
                }
                Truth::Attribution { poets, .. } => assert!(!poets.is_empty(), "{p:?}"),
                _ => {}
            }
        }
    }
}
