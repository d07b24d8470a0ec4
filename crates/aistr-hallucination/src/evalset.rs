//! The verifier's labelled evaluation set, generated from the corpus with the label known by
//! construction:
//! - **verbatim**: a real couplet with its real poet and poem;
//! - **misquoted**: a real couplet with one or two characters replaced (by characters of the
//!   same poet), confirmed not to be a corpus clause, attributed correctly;
//! - **misattributed**: a real couplet moved to another poet who has no poem containing it;
//! - **fabricated**: a couplet of the same shape as one of the poet's real couplets, its
//!   characters drawn from that poet's own character distribution, confirmed absent (no clause of
//!   it is a corpus clause).
//!
//! What this set is and is not: it measures *classification* against the corpus for answers in
//! a handful of plain answer formats; it does not measure how well quotations are found in free
//! model output (the scripted loopback test and the journal examples cover that). The generator
//! uses only exact corpus look-ups to confirm its labels and shares no threshold with the
//! verifier. Poems are split by id parity: [`Split::Dev`] (even ids) was used while developing,
//! [`Split::Test`] (odd ids) is the one figures are quoted from.

use std::collections::HashMap;

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::corpus::Corpus;
use crate::normalize::han_runs;
use crate::verify::{Attribution, QuoteClass, Verifier};

/// Which poems an evaluation set is drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Even poem ids: looked at while developing.
    Dev,
    /// Odd poem ids: figures are quoted from this split only.
    Test,
}

impl Split {
    fn admits(self, poem: u32) -> bool {
        match self {
            Split::Dev => poem.is_multiple_of(2),
            Split::Test => !poem.is_multiple_of(2),
        }
    }
}

/// One labelled answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelledQuote {
    /// `split/class/n`.
    pub id: String,
    /// The answer text the verifier reads.
    pub answer: String,
    /// The quoted couplet as generated (simplified).
    pub line: String,
    /// The gold class.
    pub label: QuoteClass,
    /// The poem the couplet comes from (or is modelled on).
    pub source_poem: u32,
}

fn templates_with_title(line: &str, poet: &str, title: &str, k: usize) -> String {
    match k % 5 {
        0 => format!("「{line}」——{poet}《{title}》"),
        1 => format!("{poet}在《{title}》中写道：“{line}”"),
        2 => format!("《{title}》\n{poet}\n{line}"),
        3 => format!("出处：{poet}《{title}》\n诗句：{line}"),
        _ => format!("“{line}”出自{poet}的《{title}》。"),
    }
}

fn templates_poet_only(line: &str, poet: &str, k: usize) -> String {
    match k % 3 {
        0 => format!("「{line}」——{poet}"),
        1 => format!("这句“{line}”是{poet}写的。"),
        _ => format!("作者：{poet}\n{line}"),
    }
}

struct PoetChars {
    chars: Vec<char>,
}

/// Generates `per_class` items of each class from the poems of `split`, reproducibly from `seed`.
#[must_use]
pub fn generate(verifier: &Verifier<'_>, split: Split, seed: u64, per_class: usize) -> Vec<LabelledQuote> {
    let corpus = verifier.corpus();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Couplets of two clauses, 10–16 characters, in poems of named (non-anonymous) single poets.
    let mut couplets: Vec<(u32, usize)> = Vec::new();
    for (pid, p) in corpus.poems().iter().enumerate() {
        let pid = u32::try_from(pid).unwrap_or(u32::MAX);
        if !split.admits(pid) || p.authors.len() != 1 || corpus.author(p.authors[0]).anonymous {
            continue;
        }
        for (li, line) in p.lines.iter().enumerate() {
            let runs = han_runs(line);
            let n: usize = runs.iter().map(|r| r.chars().count()).sum();
            if runs.len() == 2 && (10..=16).contains(&n) && !line.contains('□') {
                couplets.push((pid, li));
            }
        }
    }
    let named: Vec<u32> = corpus
        .authors()
        .iter()
        .enumerate()
        .filter(|(_, a)| !a.anonymous && a.name.chars().count() >= 2 && !a.poems.is_empty())
        .map(|(i, _)| u32::try_from(i).unwrap_or(u32::MAX))
        .collect();
    let mut poet_chars: HashMap<u32, PoetChars> = HashMap::new();
    let mut out = Vec::new();
    let mut counts = [0usize; 4];
    let mut guard = 0usize;
    while counts.iter().any(|&c| c < per_class) && guard < per_class * 400 && !couplets.is_empty() {
        guard += 1;
        let class = QuoteClass::ALL[guard % 4];
        let ci = class as usize;
        if counts[ci] >= per_class {
            continue;
        }
        let &(pid, li) = couplets.choose(&mut rng).expect("non-empty");
        let poem = corpus.poem(pid);
        let author = poem.authors[0];
        let poet = corpus.author(author).name.clone();
        let line = poem.lines[li].trim().to_owned();
        let k = counts[ci];
        let item = match class {
            QuoteClass::Verbatim => {
                Some(templates_with_title(&line, &poet, &poem.title, k)).map(|a| (a, line))
            }
            QuoteClass::Misquoted => {
                let pc = poet_chars
                    .entry(author)
                    .or_insert_with(|| chars_of(corpus, author));
                change_chars(&line, pc, &mut rng, corpus)
                    .map(|changed| (templates_with_title(&changed, &poet, &poem.title, k), changed))
            }
            QuoteClass::Misattributed => {
                let holders = holders_of(corpus, &line);
                let other = named.choose(&mut rng).copied().filter(|o| !holders.contains(o));
                other.map(|o| {
                    let other = corpus.author(o);
                    let answer = if k % 2 == 0 {
                        templates_poet_only(&line, &other.name, k / 2)
                    } else {
                        let t = &corpus.poem(other.poems[0]).title;
                        templates_with_title(&line, &other.name, t, k / 2)
                    };
                    (answer, line)
                })
            }
            QuoteClass::Fabricated => {
                let pc = poet_chars
                    .entry(author)
                    .or_insert_with(|| chars_of(corpus, author));
                fabricate(&line, pc, &mut rng, corpus).map(|fake| {
                    let answer = if k % 2 == 0 {
                        templates_with_title(&fake, &poet, &poem.title, k / 2)
                    } else {
                        templates_poet_only(&fake, &poet, k / 2)
                    };
                    (answer, fake)
                })
            }
        };
        if let Some((answer, line)) = item {
            out.push(LabelledQuote {
                id: format!("{}/{}/{k}", split_name(split), class.as_str()),
                answer,
                line,
                label: class,
                source_poem: pid,
            });
            counts[ci] += 1;
        }
    }
    out
}

fn split_name(s: Split) -> &'static str {
    match s {
        Split::Dev => "dev",
        Split::Test => "test",
    }
}

fn chars_of(corpus: &Corpus, author: u32) -> PoetChars {
    let mut chars = Vec::new();
    for &p in &corpus.author(author).poems {
        chars.extend(corpus.poem(p).readings[0].chars().filter(|&c| c != '□'));
    }
    PoetChars { chars }
}

/// Authors of every poem holding `line` verbatim (exact clause look-ups, then a substring check).
fn holders_of(corpus: &Corpus, line: &str) -> Vec<u32> {
    let runs = han_runs(line);
    let key: String = runs.concat();
    let Some(first) = runs.first() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for r in corpus.exact(first) {
        let p = corpus.poem(r.poem);
        if p.readings.iter().any(|t| t.contains(&key)) {
            out.extend(p.authors.iter().copied());
        }
    }
    out
}

/// Whether any clause of `line` is a corpus clause.
fn any_clause_in_corpus(corpus: &Corpus, line: &str) -> bool {
    han_runs(line).iter().any(|r| corpus.exact(r).next().is_some())
}

/// Replaces one or two Han characters of `line` by other characters of the poet; `None` when
/// the result happens to be a corpus clause.
fn change_chars(line: &str, pc: &PoetChars, rng: &mut ChaCha8Rng, corpus: &Corpus) -> Option<String> {
    let mut chars: Vec<char> = line.chars().collect();
    let positions: Vec<usize> = (0..chars.len())
        .filter(|&i| crate::normalize::is_han(chars[i]))
        .collect();
    let edits = rng.random_range(1..=2);
    let mut changed = 0;
    let mut tries = 0;
    while changed < edits && tries < 20 {
        tries += 1;
        let &pos = positions.choose(rng)?;
        let &c = pc.chars.choose(rng)?;
        if c != chars[pos] && c != line.chars().nth(pos).unwrap_or(c) {
            chars[pos] = c;
            changed += 1;
        }
    }
    let new: String = chars.into_iter().collect();
    let changed_runs: Vec<&str> = han_runs(&new)
        .into_iter()
        .zip(han_runs(line))
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a)
        .collect();
    if changed == 0 || changed_runs.iter().any(|r| corpus.exact(r).next().is_some()) {
        return None;
    }
    Some(new)
}

/// A couplet shaped like `line` (same clause lengths and punctuation), characters drawn from the
/// poet's distribution; `None` when a clause of it is a corpus clause.
fn fabricate(line: &str, pc: &PoetChars, rng: &mut ChaCha8Rng, corpus: &Corpus) -> Option<String> {
    let fake: String = line
        .chars()
        .map(|c| {
            if crate::normalize::is_han(c) {
                pc.chars.choose(rng).copied().unwrap_or(c)
            } else {
                c
            }
        })
        .collect();
    (!any_clause_in_corpus(corpus, &fake)).then_some(fake)
}

/// Precision and recall per class, and the confusion matrix, of the verifier on a labelled set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuoteEval {
    /// Items.
    pub n: usize,
    /// `confusion[gold][predicted]` in [`QuoteClass::ALL`] order, predicted column 4 = no
    /// quotation found.
    pub confusion: [[usize; 5]; 4],
}

impl QuoteEval {
    /// Precision of `class` (`None` when nothing was predicted as it).
    #[must_use]
    pub fn precision(&self, class: QuoteClass) -> Option<f64> {
        let c = class as usize;
        let predicted: usize = (0..4).map(|g| self.confusion[g][c]).sum();
        #[expect(clippy::cast_precision_loss, reason = "small counts")]
        (predicted > 0).then(|| self.confusion[c][c] as f64 / predicted as f64)
    }

    /// Recall of `class`.
    #[must_use]
    pub fn recall(&self, class: QuoteClass) -> Option<f64> {
        let c = class as usize;
        let gold: usize = self.confusion[c].iter().sum();
        #[expect(clippy::cast_precision_loss, reason = "small counts")]
        (gold > 0).then(|| self.confusion[c][c] as f64 / gold as f64)
    }
}

/// Runs the verifier over `items`: the predicted class of an item is that of the first quotation
/// found in its answer.
#[must_use]
pub fn evaluate(
    verifier: &Verifier<'_>,
    items: &[LabelledQuote],
) -> (QuoteEval, Vec<(usize, Option<QuoteClass>)>) {
    let mut confusion = [[0usize; 5]; 4];
    let mut predictions = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let findings = verifier.verify(&item.answer, &Attribution::default());
        let predicted = findings.first().map(|f| f.class);
        confusion[item.label as usize][predicted.map_or(4, |p| p as usize)] += 1;
        predictions.push((i, predicted));
    }
    (
        QuoteEval {
            n: items.len(),
            confusion,
        },
        predictions,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::{Collection, RawPoem};
    use crate::normalize::Normalizer;

    #[test]
    fn generated_items_carry_their_construction() {
        let n = Normalizer::new().expect("opencc");
        let mut records = Vec::new();
        for (a, t, l) in [
            (
                "王之渙",
                "登鸛雀樓",
                ["白日依山盡，黃河入海流。", "欲窮千里目，更上一層樓。"],
            ),
            (
                "杜甫",
                "春望",
                ["國破山河在，城春草木深。", "感時花濺淚，恨別鳥驚心。"],
            ),
            (
                "李白",
                "靜夜思",
                ["牀前看月光，疑是地上霜。", "舉頭望山月，低頭思故鄉。"],
            ),
            (
                "王維",
                "鹿柴",
                ["空山不見人，但聞人語響。", "返景入深林，復照青苔上。"],
            ),
        ] {
            for copy in 0..2 {
                records.push((
                    Collection::TangShi,
                    RawPoem {
                        author: a.into(),
                        title: Some(format!("{t}{copy}")),
                        rhythmic: None,
                        paragraphs: l.iter().map(|s| (*s).to_owned()).collect(),
                    },
                ));
            }
        }
        let corpus = Corpus::from_records(records, &n);
        let v = Verifier::new(&corpus, &n);
        let items = generate(&v, Split::Dev, 7, 5);
        assert!(items.len() >= 12, "{}", items.len());
        assert_eq!(items, generate(&v, Split::Dev, 7, 5), "seeded");
        for it in &items {
            assert!(it.source_poem % 2 == 0);
            match it.label {
                QuoteClass::Verbatim | QuoteClass::Misattributed => {
                    assert!(!holders_of(&corpus, &it.line).is_empty())
                }
                QuoteClass::Fabricated => assert!(!any_clause_in_corpus(&corpus, &it.line)),
                QuoteClass::Misquoted => assert!(holders_of(&corpus, &it.line).is_empty()),
            }
        }
    }
}
