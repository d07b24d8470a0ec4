//! Writes the labelled dev set of `aistr judge eval --task hallucination`
//! (`data/dev.jsonl`). How each label is made (the `kind` field of every row says which):
//!
//! - `rag-holds` / `rag-planted-fact` / `rag-lacks`: TruthfulQA rows turned into a context
//!   (the best answer, or the best *incorrect* answer planted as a fact, among two answers of
//!   other rows). An answer that restates the context's statement is **grounded** (faithful to
//!   the context, whatever the world says); an answer that states the other reference
//!   (incorrect vs correct) is **hallucinated** (unsupported by, or contradicting, the context);
//!   "the context does not say" is **abstained**.
//! - `quote-verbatim` / `quote-fabricated` / `quote-misattributed` / `quote-abstain`: couplets
//!   from the chinese-poetry corpus (dev split: even poem ids) quoted with their poet
//!   (**grounded**), character-shuffled from the same poet and confirmed absent, or moved to
//!   another poet (**hallucinated**), or an "I don't know this poem" reply (**abstained**).
//! - `handwritten`: rows written for aistr, labelled by the author (`HANDWRITTEN` below).
//!
//! `cargo run -p aistr-hallucination --example make_dev > crates/aistr-hallucination/data/dev.jsonl`

#![expect(
    clippy::print_stdout,
    reason = "a command-line tool: what it prints is its output"
)]

use aistr_hallucination::HalluLabel;
use aistr_hallucination::corpus::{Corpus, default_corpus_dir};
use aistr_hallucination::evalset::{Split, generate};
use aistr_hallucination::normalize::Normalizer;
use aistr_hallucination::score::LabelledRow;
use aistr_hallucination::truthfulqa::embedded;
use aistr_hallucination::verify::{QuoteClass, Verifier};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// (request, response, context, label)
const HANDWRITTEN: &[(&str, &str, &str, &str)] = &[
    (
        "When did the museum open?",
        "The museum opened in 1998 and has three floors.",
        "The city museum opened in 1998. It is housed in a former textile mill.",
        "hallucinated",
    ),
    (
        "When did the museum open?",
        "It opened in 1998.",
        "The city museum opened in 1998. It is housed in a former textile mill.",
        "grounded",
    ),
    (
        "Where is the museum housed?",
        "It is housed in a former textile mill.",
        "The city museum opened in 1998. It is housed in a former textile mill.",
        "grounded",
    ),
    (
        "Who founded the museum?",
        "The passage does not say who founded the museum.",
        "The city museum opened in 1998. It is housed in a former textile mill.",
        "abstained",
    ),
    (
        "Who founded the museum?",
        "It was founded by the mayor, Anna Keller.",
        "The city museum opened in 1998. It is housed in a former textile mill.",
        "hallucinated",
    ),
    (
        "What is the interest rate of the savings account?",
        "The savings account pays 2.5% interest per year.",
        "Our savings account pays 2.5% interest per year. There is no minimum balance.",
        "grounded",
    ),
    (
        "What is the interest rate of the savings account?",
        "The savings account pays 3.5% interest per year.",
        "Our savings account pays 2.5% interest per year. There is no minimum balance.",
        "hallucinated",
    ),
    (
        "Is there a minimum balance?",
        "Yes, a minimum balance of 500 euros is required.",
        "Our savings account pays 2.5% interest per year. There is no minimum balance.",
        "hallucinated",
    ),
    (
        "Is there a minimum balance?",
        "There is no minimum balance.",
        "Our savings account pays 2.5% interest per year. There is no minimum balance.",
        "grounded",
    ),
    (
        "Can I withdraw at any time?",
        "I cannot find that in the provided document.",
        "Our savings account pays 2.5% interest per year. There is no minimum balance.",
        "abstained",
    ),
    (
        "这款产品的保修期多长？",
        "这款产品的保修期为两年。",
        "本产品自购买之日起保修两年。保修不包括人为损坏。",
        "grounded",
    ),
    (
        "这款产品的保修期多长？",
        "这款产品保修五年，并且包括人为损坏。",
        "本产品自购买之日起保修两年。保修不包括人为损坏。",
        "hallucinated",
    ),
    (
        "这款产品在哪里生产？",
        "文中没有提到产品的产地。",
        "本产品自购买之日起保修两年。保修不包括人为损坏。",
        "abstained",
    ),
    (
        "请背诵唐代诗人柳青崖的《秋夜宿青溪》。",
        "抱歉，我没有找到唐代诗人柳青崖的记载，可能并不存在这位诗人。",
        "",
        "abstained",
    ),
    (
        "请背诵李白的《静夜思》。",
        "《静夜思》\n李白\n床前看月光，疑是地上霜。\n举头望山月，低头思故乡。",
        "",
        "grounded",
    ),
    (
        "给女儿起个名字，要有古诗出处。",
        "李清照：出自“清泉石上流，明月松间照”——杜甫《山居秋暝》",
        "",
        "hallucinated",
    ),
];

fn row(
    request: &str,
    response: &str,
    context: Option<&str>,
    label: HalluLabel,
    kind: &str,
    id: String,
) -> LabelledRow {
    LabelledRow {
        id: Some(id),
        request: request.to_owned(),
        response: response.to_owned(),
        context: context.map(str::to_owned),
        label: Some(label),
        finish_reason: None,
        kind: Some(kind.to_owned()),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rows: Vec<LabelledRow> = Vec::new();
    let items = embedded()?;
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for i in 0..20 {
        let r = rng.random_range(0..items.len());
        let it = &items[r];
        let a = &items[rng.random_range(0..items.len())].best;
        let b = &items[rng.random_range(0..items.len())].best;
        let dot = |s: &str| {
            if s.ends_with('.') {
                s.to_owned()
            } else {
                format!("{s}.")
            }
        };
        let planted = i % 2 == 1;
        let fact = if planted { &it.best_incorrect } else { &it.best };
        let other = if planted { &it.best } else { &it.best_incorrect };
        let context = format!("{} {} {}", dot(a), dot(fact), dot(b));
        let kind = if planted { "rag-planted-fact" } else { "rag-holds" };
        rows.push(row(
            &it.question,
            &dot(fact),
            Some(&context),
            HalluLabel::Grounded,
            kind,
            format!("tqa-{r}-faithful"),
        ));
        rows.push(row(
            &it.question,
            &dot(other),
            Some(&context),
            HalluLabel::Hallucinated,
            kind,
            format!("tqa-{r}-other"),
        ));
        if i % 4 == 0 {
            let context = format!("{} {}", dot(a), dot(b));
            rows.push(row(
                &it.question,
                "The context does not mention this.",
                Some(&context),
                HalluLabel::Abstained,
                "rag-lacks",
                format!("tqa-{r}-lacks"),
            ));
        }
    }
    let dir = default_corpus_dir(
        std::env::var_os("AISTR_POETRY_DIR").as_deref(),
        &std::env::current_dir()?,
    )
    .ok_or("corpus not found: set AISTR_POETRY_DIR")?;
    let norm = Normalizer::new()?;
    let corpus = Corpus::load_dir(&dir, &norm)?;
    let verifier = Verifier::new(&corpus, &norm);
    for it in generate(&verifier, Split::Dev, 404, 10) {
        let (label, kind) = match it.label {
            QuoteClass::Verbatim => (HalluLabel::Grounded, "quote-verbatim"),
            QuoteClass::Fabricated => (HalluLabel::Hallucinated, "quote-fabricated"),
            QuoteClass::Misattributed => (HalluLabel::Hallucinated, "quote-misattributed"),
            QuoteClass::Misquoted => continue,
        };
        rows.push(row(
            "请引用一句古诗并注明出处。",
            &it.answer,
            None,
            label,
            kind,
            format!("quote-{}", it.id),
        ));
    }
    for i in 0..5 {
        rows.push(row(
            "请背诵这首诗。",
            [
                "我不知道这首诗。",
                "抱歉，我无法确认这首诗的原文。",
                "I don't know this poem.",
                "我不清楚这位诗人的作品。",
                "未能找到该作品的记载。",
            ][i],
            None,
            HalluLabel::Abstained,
            "quote-abstain",
            format!("quote-abstain-{i}"),
        ));
    }
    for (i, (q, a, c, l)) in HANDWRITTEN.iter().enumerate() {
        let label = HalluLabel::parse(l).ok_or("bad label")?;
        rows.push(row(
            q,
            a,
            (!c.is_empty()).then_some(*c),
            label,
            "handwritten",
            format!("hand-{i}"),
        ));
    }
    for r in rows {
        println!("{}", serde_json::to_string(&r)?);
    }
    Ok(())
}
