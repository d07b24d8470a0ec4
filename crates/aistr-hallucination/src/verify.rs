//! The quotation verifier: find the quoted lines and their attributions in an answer, and check
//! each against the corpus.
//!
//! Each quotation is classified as
//! - **verbatim**: the line is in the corpus, and the named poet (and poem) match;
//! - **misquoted**: within a few edits of a corpus line ([`max_edits`]: one per 7-character
//!   hemistich, two for a couplet), poet and poem right;
//! - **misattributed**: a real (or near-real) line, but the named poet or poem is not one that
//!   holds it;
//! - **fabricated**: nothing in the corpus comes within [`max_edits`].
//!
//! The thresholds are fixed by the shape of the verse, not fitted: a regulated line has 5 or 7
//! characters, a "small change" is one character per hemistich. The labelled set of
//! [`crate::evalset`] measures them and is never used to choose them.
//!
//! Extraction is heuristic and documented where it happens: quotation marks and verse-shaped
//! lines (runs of 3–11 Han characters with no modern function words) are quotations; 《…》 is a
//! poem title; a corpus poet's name outside the quoted text, or a name after an attribution cue
//! (`——`, `作者`, `的《`, `（…）`), is a claimed poet. A quotation takes the poet and title of its own
//! line, else of the last header line above it (`《静夜思》 李白`), else of the request.

use std::collections::HashMap;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, MatchKind};
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::corpus::Corpus;
use crate::normalize::{Normalizer, han_runs, is_han};

/// Outcome for one quotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum QuoteClass {
    /// In the corpus as quoted, attribution right.
    Verbatim,
    /// A real line with small changes.
    Misquoted,
    /// A real line, wrong poet or poem.
    Misattributed,
    /// No such line in the corpus.
    Fabricated,
}

impl QuoteClass {
    /// All classes.
    pub const ALL: [QuoteClass; 4] = [
        QuoteClass::Verbatim,
        QuoteClass::Misquoted,
        QuoteClass::Misattributed,
        QuoteClass::Fabricated,
    ];

    /// Lower-case wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            QuoteClass::Verbatim => "verbatim",
            QuoteClass::Misquoted => "misquoted",
            QuoteClass::Misattributed => "misattributed",
            QuoteClass::Fabricated => "fabricated",
        }
    }

    /// Parses a wire name.
    #[must_use]
    pub fn parse(s: &str) -> Option<QuoteClass> {
        QuoteClass::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Poet and poem a quotation is attributed to (simplified).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribution {
    /// Named poet.
    pub poet: Option<String>,
    /// Named poem (title or tune name).
    pub title: Option<String>,
}

/// A quotation found in an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quotation {
    /// The quoted text (simplified, punctuation kept).
    pub text: String,
    /// Its matching key (Han characters only).
    pub key: String,
    /// What the answer (or the request) attributes it to.
    pub attribution: Attribution,
}

/// What the corpus holds for a quotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorpusMatch {
    /// Poem id.
    pub poem: u32,
    /// Poem title.
    pub title: String,
    /// Its poets.
    pub poets: Vec<String>,
    /// `tang-shi` or `song-ci`.
    pub collection: String,
    /// The corpus text aligned with the quotation (Han characters).
    pub text: String,
    /// Edit distance between quotation and `text`.
    pub edits: u32,
}

/// A classified quotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteFinding {
    /// The quotation.
    pub quote: Quotation,
    /// Its class.
    pub class: QuoteClass,
    /// The nearest corpus text, if any came within reach.
    pub nearest: Option<CorpusMatch>,
    /// Every poet holding the line within [`max_edits`] (several when the corpus has duplicates).
    pub line_poets: Vec<String>,
    /// Why, in one line.
    pub note: String,
}

/// Small changes allowed for a quotation of `chars` Han characters: one per 7-character
/// hemistich, at least one, and none for fragments shorter than four characters.
#[must_use]
pub fn max_edits(chars: usize) -> u32 {
    match chars {
        0..=3 => 0,
        4..=7 => 1,
        8..=16 => 2,
        n => u32::try_from(n.div_ceil(8)).unwrap_or(u32::MAX),
    }
}

/// The shortest quotation the verifier classifies (shorter fragments are ambiguous).
pub const MIN_QUOTE_CHARS: usize = 4;

/// Candidate poems examined per quotation, at most.
const MAX_CANDIDATES: usize = 48;

/// Characters of modern prose that classical verse (almost) never contains.
const MODERN_CHARS: &[char] = &['的', '们', '吗', '她', '您', '吧', '呢', '啊', '哪'];
/// Words of commentary about poems: text holding one is never taken for a quotation.
const COMMENTARY: &[&str] = &[
    "这首",
    "首诗",
    "表达",
    "描写",
    "意思",
    "我们",
    "因为",
    "所以",
    "但是",
    "非常",
    "一个",
    "作者",
    "出自",
    "寓意",
    "含义",
    "象征",
    "体现",
    "表现",
    "抒发",
    "情感",
    "感情",
    "以下",
    "如下",
    "唐代",
    "宋代",
    "朝代",
    "创作",
    "作品",
    "描述",
    "意境",
    "全诗",
    "原文",
    "注释",
    "翻译",
    "出处",
    "诗词",
    "抱歉",
    "无法",
    "存在",
    "找到",
    "这是",
    "这句",
    "取自",
    "来自",
    "选自",
    "引自",
    "起名",
    "取名",
    "男孩",
    "女孩",
    "宝宝",
    "的诗",
    "的词",
    "是一",
    "不确定",
];
/// Words of modern prose that verse also uses (不知, 诗人, 可以 …): they only rule out an
/// *irregular* unquoted line; a quotation or a line of regular verse shape may hold them.
const PROSE: &[&str] = &[
    "诗人", "诗句", "可以", "希望", "孩子", "美好", "品德", "以及", "其中", "一首", "首词", "这位", "诗歌",
    "古诗", "宋词", "唐诗", "词人", "名字", "著名", "寄托", "那句", "诗中", "词中", "不知", "没有",
];

static TITLE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"《([^》\n]{1,40})》").expect("title regex"));
static QUOTED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"[“「『"]([^”」』"\n]{2,200})[”」』"]"#).expect("quote regex"));
/// A name after an attribution cue, for poets the corpus does not know (invented ones).
static CUED_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        (?:——|—|--|－－)\s*(?:[\[［(（]?[唐宋五代南北晋隋]{1,2}[\]］)）]?\s*[·・.．:：]?\s*)?(?P<a>\p{Han}{2,4}?)(?:\s|《|，|,|。|（|\(|$|的|之)
        |(?:作者|诗人|词人|作者是|作者为)\s*[：:是为]?\s*(?:[唐宋]代?\s*[·・]?\s*)?(?P<b>\p{Han}{2,4}?)(?:\s|《|，|,|。|的|所|$)
        |(?P<c>\p{Han}{2,4}?)(?:的|之|所作的?|所写的?|写的)《
        |》\s*[（(]\s*(?:[唐宋]代?\s*[·・]?\s*)?(?P<d>\p{Han}{2,4})\s*[）)]
        |[（(]\s*(?:[唐宋]代?\s*[·・]\s*)?(?P<e>\p{Han}{2,4})\s*[）)]\s*$
        |^\s*(?:[唐宋]代?\s*[·・]\s*)?(?P<f>\p{Han}{2,3})\s*$
        |(?:是|为|乃)\s*(?:[唐宋]代?(?:诗人|词人)?\s*)?(?P<g>\p{Han}{2,3}?)(?:所作|所写|写的|的作品|的诗|的词|作)
        ",
    )
    .expect("cued name regex")
});
/// Words that a cue regex can capture but that are not names.
const NOT_NAMES: &[&str] = &[
    "这首", "这是", "一首", "唐代", "宋代", "诗人", "词人", "作者", "原文", "出处", "名字", "全诗", "唐朝",
    "宋朝", "这位", "来自", "出自", "选自", "引自", "取自", "其中", "此诗", "此词", "诗句", "那首", "一位",
];

/// The corpus's poet names as one automaton (two characters or more, anonymous placeholders
/// excluded). Building it takes a noticeable fraction of a second on the full corpus, so a judge
/// that verifies many answers builds it once ([`PoetNames::of`]) and shares it
/// ([`Verifier::with_names`]).
pub struct PoetNames {
    names: AhoCorasick,
    name_ids: Vec<u32>,
}

impl std::fmt::Debug for PoetNames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoetNames")
            .field("names", &self.name_ids.len())
            .finish_non_exhaustive()
    }
}

impl PoetNames {
    /// The name automaton of `corpus`.
    #[must_use]
    pub fn of(corpus: &Corpus) -> Self {
        let mut patterns = Vec::new();
        let mut name_ids = Vec::new();
        for (i, a) in corpus.authors().iter().enumerate() {
            if !a.anonymous && a.name.chars().count() >= 2 && a.name.chars().all(is_han) {
                patterns.push(a.name.clone());
                name_ids.push(u32::try_from(i).unwrap_or(u32::MAX));
            }
        }
        let names = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .expect("poet-name automaton");
        Self { names, name_ids }
    }
}

enum Names<'c> {
    Owned(PoetNames),
    Shared(&'c PoetNames),
}

impl Names<'_> {
    fn get(&self) -> &PoetNames {
        match self {
            Names::Owned(n) => n,
            Names::Shared(n) => n,
        }
    }
}

/// A quotation's attribution context and everything needed to check it.
pub struct Verifier<'c> {
    corpus: &'c Corpus,
    norm: &'c Normalizer,
    names: Names<'c>,
}

impl std::fmt::Debug for Verifier<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("names", &self.names.get().name_ids.len())
            .finish_non_exhaustive()
    }
}

impl<'c> Verifier<'c> {
    /// A verifier over `corpus`; builds the poet-name automaton (two characters or more,
    /// anonymous placeholders excluded).
    #[must_use]
    pub fn new(corpus: &'c Corpus, norm: &'c Normalizer) -> Self {
        Self {
            corpus,
            norm,
            names: Names::Owned(PoetNames::of(corpus)),
        }
    }

    /// A verifier over `corpus` sharing a name automaton built once with [`PoetNames::of`] on the
    /// same corpus.
    #[must_use]
    pub fn with_names(corpus: &'c Corpus, norm: &'c Normalizer, names: &'c PoetNames) -> Self {
        Self {
            corpus,
            norm,
            names: Names::Shared(names),
        }
    }

    /// The corpus behind the verifier.
    #[must_use]
    pub fn corpus(&self) -> &'c Corpus {
        self.corpus
    }

    /// The normaliser behind the verifier.
    #[must_use]
    pub fn normalizer(&self) -> &'c Normalizer {
        self.norm
    }

    /// Extracts and classifies every quotation in `answer`; `context` is the attribution the
    /// request made (the poet and poem it asked for), used when the answer names none.
    #[must_use]
    pub fn verify(&self, answer: &str, context: &Attribution) -> Vec<QuoteFinding> {
        self.extract(answer, context)
            .into_iter()
            .map(|q| {
                let (class, nearest, line_poets, note) = self.classify(&q.text, &q.attribution);
                QuoteFinding {
                    quote: q,
                    class,
                    nearest,
                    line_poets,
                    note,
                }
            })
            .collect()
    }

    /// Poets named anywhere in `text` outside quotation marks (corpus poets first, then names
    /// after attribution cues), in order of appearance, de-duplicated.
    #[must_use]
    pub fn named_poets(&self, text: &str) -> Vec<String> {
        let s = self.norm.simplify(text);
        let mut out: Vec<String> = Vec::new();
        for line in s.lines() {
            let outside = QUOTED.replace_all(line, " ");
            for name in self.poets_in(&outside) {
                if !out.contains(&name) {
                    out.push(name);
                }
            }
        }
        out
    }

    /// Titles named in `text` (inside 《…》), simplified.
    #[must_use]
    pub fn named_titles(&self, text: &str) -> Vec<String> {
        let s = self.norm.simplify(text);
        TITLE.captures_iter(&s).map(|c| c[1].trim().to_owned()).collect()
    }

    /// Finds the quotations of an answer.
    #[must_use]
    pub fn extract(&self, answer: &str, context: &Attribution) -> Vec<Quotation> {
        let s = self.norm.simplify(answer);
        let mut out = Vec::new();
        let mut header = Attribution::default();
        for line in s.lines() {
            let titles: Vec<String> = TITLE
                .captures_iter(line)
                .map(|c| c[1].trim().to_owned())
                .collect();
            let mut quoted: Vec<String> = Vec::new();
            for c in QUOTED.captures_iter(line) {
                let inner = c[1].trim();
                if verse_like(inner, true) {
                    quoted.push(inner.to_owned());
                }
            }
            // What is left of the line once titles and quotations are cut out.
            let rest = TITLE.replace_all(line, " ");
            let rest = QUOTED.replace_all(&rest, " ").into_owned();
            let poets = self.poets_in(&rest);
            let mut own = Attribution {
                poet: poets.first().cloned(),
                title: titles.first().cloned(),
            };
            if quoted.is_empty() {
                // A line that is verse as it stands holds no attribution of its own: a poet's
                // name found inside it is part of the verse (无闷 in 「兴尽才无闷」).
                let unlabelled = strip_labels(&rest);
                let verse = strip_names(&unlabelled, &poets);
                if verse_like(&unlabelled, false)
                    && !has_cue(&rest)
                    && (poets.is_empty() || verse_like(&verse, false))
                {
                    own.poet = None;
                    quoted.push(unlabelled.trim().to_owned());
                } else if verse_like(&verse, false) {
                    quoted.push(verse.trim().to_owned());
                } else if own.poet.is_some() || own.title.is_some() {
                    // A header line (`《静夜思》 李白`): applies to the verse below it.
                    header = Attribution {
                        poet: own.poet.take().or(header.poet.take()),
                        title: own.title.take().or(header.title.take()),
                    };
                    if titles.is_empty() {
                        // A poet alone keeps the title above, a new title alone drops the poet
                        // only when it comes with one.
                    }
                    continue;
                }
            }
            for q in quoted {
                let key: String = q.chars().filter(|&c| is_han(c)).collect();
                if key.chars().count() < MIN_QUOTE_CHARS {
                    continue;
                }
                let attribution = Attribution {
                    poet: own
                        .poet
                        .clone()
                        .or_else(|| header.poet.clone())
                        .or_else(|| context.poet.clone()),
                    title: own
                        .title
                        .clone()
                        .or_else(|| header.title.clone())
                        .or_else(|| context.title.clone()),
                };
                if self.echoes_title(&key, [attribution.title.as_deref(), context.title.as_deref()]) {
                    continue;
                }
                out.push(Quotation {
                    text: q,
                    key,
                    attribution,
                });
            }
        }
        out
    }

    /// Whether a quotation's key is a poem title it is attributed to (or the one asked for), with
    /// fewer than [`MIN_QUOTE_CHARS`] characters around it: a model that echoes the title
    /// (`赠别二首 一 中文：`, `“龙池春草”`) has quoted no line, true or false.
    fn echoes_title<'t>(&self, key: &str, titles: impl IntoIterator<Item = Option<&'t str>>) -> bool {
        titles.into_iter().flatten().any(|title| {
            let tkey = self.norm.key(title);
            !tkey.is_empty()
                && key.contains(&tkey)
                && key.chars().count() - tkey.chars().count() < MIN_QUOTE_CHARS
        })
    }

    fn poets_in(&self, text: &str) -> Vec<String> {
        let mut found: Vec<(usize, String)> = Vec::new();
        let names = self.names.get();
        for m in names.names.find_iter(text) {
            let id = names.name_ids[m.pattern().as_usize()];
            found.push((m.start(), self.corpus.author(id).name.clone()));
        }
        for c in CUED_NAME.captures_iter(text) {
            let Some(m) = ["a", "b", "c", "d", "e", "f", "g"].iter().find_map(|g| c.name(g)) else {
                continue;
            };
            let name = m.as_str();
            if NOT_NAMES.contains(&name)
                || found
                    .iter()
                    .any(|(_, n)| n.contains(name) || name.contains(n.as_str()))
            {
                continue;
            }
            if MODERN_CHARS.iter().any(|&x| name.contains(x)) {
                continue;
            }
            found.push((m.start(), name.to_owned()));
        }
        found.sort_by_key(|(i, _)| *i);
        let mut out: Vec<String> = Vec::new();
        for (_, n) in found {
            if !out.contains(&n) {
                out.push(n);
            }
        }
        out
    }

    /// Classifies one quotation (simplified text; its punctuation marks the clauses) against
    /// the corpus, given what it is attributed to.
    #[must_use]
    pub fn classify(
        &self,
        text: &str,
        attribution: &Attribution,
    ) -> (QuoteClass, Option<CorpusMatch>, Vec<String>, String) {
        let runs = han_runs(text);
        let key: String = runs.concat();
        let n = key.chars().count();
        let budget = max_edits(n);
        let candidates = self.candidates(&runs, &key);
        let q: Vec<char> = key.chars().collect();
        let mut best: Option<(u32, u32, u8, usize, usize)> = None; // (edits, poem, reading, start, end)
        let mut scored: Vec<(u32, u32)> = Vec::new(); // (edits, poem)
        for &(poem, reading) in &candidates {
            let text: Vec<char> = self.corpus.poem(poem).readings[usize::from(reading)]
                .chars()
                .collect();
            let (d, start, end) = semi_global(&q, &text);
            scored.push((d, poem));
            if best.is_none_or(|b| d < b.0) {
                best = Some((d, poem, reading, start, end));
            }
        }
        let nearest = best.map(|(d, poem, reading, start, end)| {
            let p = self.corpus.poem(poem);
            let text: String = p.readings[usize::from(reading)]
                .chars()
                .skip(start)
                .take(end - start)
                .collect();
            CorpusMatch {
                poem,
                title: p.title.clone(),
                poets: p
                    .authors
                    .iter()
                    .map(|&a| self.corpus.author(a).name.clone())
                    .collect(),
                collection: p.collection.as_str().to_owned(),
                text,
                edits: d,
            }
        });
        let Some(best_edits) = best.map(|b| b.0).filter(|&d| d <= budget) else {
            let note = match &nearest {
                Some(m) => format!(
                    "no corpus line within {budget} edits (nearest: {} edits)",
                    m.edits
                ),
                None => "no corpus line shares a clause with it".to_owned(),
            };
            return (QuoteClass::Fabricated, nearest, Vec::new(), note);
        };
        // Every poem holding the line as closely as the best one does.
        let holders: Vec<u32> = {
            let mut v: Vec<u32> = scored
                .iter()
                .filter(|(d, _)| *d == best_edits)
                .map(|&(_, p)| p)
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let mut line_poets: Vec<String> = Vec::new();
        let mut anonymous_only = true;
        for &p in &holders {
            for &a in &self.corpus.poem(p).authors {
                let author = self.corpus.author(a);
                anonymous_only &= author.anonymous;
                if !line_poets.contains(&author.name) {
                    line_poets.push(author.name.clone());
                }
            }
        }
        if let Some(poet) = attribution.poet.as_deref() {
            let poet_ok = line_poets.iter().any(|lp| same_poet(lp, poet));
            if !poet_ok && !anonymous_only {
                let note = format!("the line is by {}, not {poet}", line_poets.join("、"));
                return (QuoteClass::Misattributed, nearest, line_poets, note);
            }
        }
        if let Some(title) = attribution.title.as_deref() {
            let tkey = self.norm.key(title);
            let title_ok = tkey.is_empty()
                || holders.iter().any(|&p| {
                    let pk = self.norm.key(&self.corpus.poem(p).title);
                    !pk.is_empty() && (pk.contains(&tkey) || tkey.contains(&pk))
                });
            if !title_ok {
                let titles: Vec<&str> = holders
                    .iter()
                    .map(|&p| self.corpus.poem(p).title.as_str())
                    .collect();
                let note = format!("the line is in 《{}》, not 《{title}》", titles.join("》《"));
                return (QuoteClass::Misattributed, nearest, line_poets, note);
            }
        }
        if best_edits == 0 {
            (
                QuoteClass::Verbatim,
                nearest,
                line_poets,
                "in the corpus as quoted".to_owned(),
            )
        } else {
            let note = format!("{best_edits} edit(s) from the corpus line");
            (QuoteClass::Misquoted, nearest, line_poets, note)
        }
    }

    /// Poems (and readings) sharing an exact clause with the quotation; failing that, a window of
    /// 4–7 characters (a quotation whose punctuation was lost); failing that, a clause within one
    /// edit of one of the quotation's clauses (a misquotation changes one character per clause).
    /// The most-hit first.
    fn candidates(&self, runs: &[&str], key: &str) -> Vec<(u32, u8)> {
        let mut hits: HashMap<(u32, u8), u32> = HashMap::new();
        let chars: Vec<char> = key.chars().collect();
        let add = |hits: &mut HashMap<(u32, u8), u32>, r: &crate::corpus::ClauseRef| {
            *hits.entry((r.poem, r.reading)).or_default() += 1;
        };
        for run in runs {
            for r in self.corpus.exact(run) {
                add(&mut hits, r);
            }
        }
        if hits.is_empty() && runs.len() <= 1 {
            for w in [7usize, 5, 4, 6] {
                if chars.len() < w {
                    continue;
                }
                for s in 0..=chars.len() - w {
                    let win: String = chars[s..s + w].iter().collect();
                    for r in self.corpus.exact(&win) {
                        add(&mut hits, r);
                    }
                }
            }
        }
        if hits.is_empty() {
            for run in runs.iter().filter(|r| r.chars().count() >= 3) {
                for r in self.corpus.within_one_edit(run, 64) {
                    add(&mut hits, r);
                }
            }
            if runs.len() <= 1 && chars.len() > 7 {
                for w in [7usize, 5] {
                    let mut s = 0;
                    while s + w <= chars.len() {
                        let win: String = chars[s..s + w].iter().collect();
                        for r in self.corpus.within_one_edit(&win, 64) {
                            add(&mut hits, r);
                        }
                        s += w;
                    }
                }
            }
        }
        let mut v: Vec<((u32, u8), u32)> = hits.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(MAX_CANDIDATES);
        v.into_iter().map(|(k, _)| k).collect()
    }
}

/// Whether two poet names denote the same poet: equal, or one is the other plus a suffix the
/// corpus uses (`皇帝`, `皇后`) — deliberately strict; aliases (李太白) are not resolved.
fn same_poet(corpus_name: &str, claimed: &str) -> bool {
    corpus_name == claimed
}

/// Removes a short `label：` prefix (`诗句：…`, `出处：…`) from a line's remainder.
fn strip_labels(rest: &str) -> String {
    if let Some(i) = rest.rfind(['：', ':']) {
        let label = &rest[..i];
        if label.chars().filter(|&c| is_han(c)).count() <= 6 {
            return rest[i + rest[i..].chars().next().map_or(1, char::len_utf8)..].to_owned();
        }
    }
    rest.to_owned()
}

/// Removes poet names and attribution dashes, keeping verse text.
fn strip_names(rest: &str, poets: &[String]) -> String {
    let mut s = rest.to_owned();
    for p in poets {
        s = s.replace(p.as_str(), " ");
    }
    s.replace(['—', '－', '-'], " ")
}

/// Whether a line carries an attribution cue (`——`, `作者：`): its names are then attributions.
fn has_cue(line: &str) -> bool {
    line.contains('—')
        || line.contains("--")
        || line.contains('－')
        || ["作者", "诗人", "词人", "出处"].iter().any(|c| line.contains(c))
}

/// Whether text looks like quoted verse rather than commentary: runs of 3–11 Han characters
/// (ci allow short runs among longer ones), at least five characters (four inside quotation
/// marks), no commentary words; then either the shape of regular verse (two or more clauses of
/// one length, 4–7), or no modern characters, and for unquoted text no modern prose words.
fn verse_like(text: &str, in_quotes: bool) -> bool {
    let runs = han_runs(text);
    if runs.is_empty() {
        return false;
    }
    let lens: Vec<usize> = runs.iter().map(|r| r.chars().count()).collect();
    let total: usize = lens.iter().sum();
    let min = if in_quotes { MIN_QUOTE_CHARS } else { 5 };
    if total < min {
        return false;
    }
    // Latin letters or digits mixed in: commentary or a list, not verse.
    let non_han_words = text.chars().filter(char::is_ascii_alphanumeric).count();
    if non_han_words > 2 || lens.iter().any(|&n| n > 11) || !lens.iter().any(|&n| n >= 4) {
        return false;
    }
    let joined: String = runs.concat();
    if COMMENTARY.iter().any(|b| joined.contains(b)) {
        return false;
    }
    let regular = lens.len() >= 2 && (4..=7).contains(&lens[0]) && lens.iter().all(|&n| n == lens[0]);
    if regular {
        return true;
    }
    if joined.chars().any(|c| MODERN_CHARS.contains(&c)) {
        return false;
    }
    in_quotes || !PROSE.iter().any(|b| joined.contains(b))
}

/// Edit distance between `q` and the best-matching substring of `t` (free ends in `t`), with the
/// substring's character range.
#[must_use]
pub fn semi_global(q: &[char], t: &[char]) -> (u32, usize, usize) {
    let n = q.len();
    if n == 0 {
        return (0, 0, 0);
    }
    // prev[j] = (cost of q[..i] against a substring of t ending at j, start of that substring).
    let mut prev: Vec<(u32, usize)> = (0..=t.len()).map(|j| (0, j)).collect();
    let mut cur: Vec<(u32, usize)> = vec![(0, 0); t.len() + 1];
    for i in 1..=n {
        cur[0] = (u32::try_from(i).unwrap_or(u32::MAX), 0);
        for j in 1..=t.len() {
            let sub = prev[j - 1].0 + u32::from(q[i - 1] != t[j - 1]);
            let del = prev[j].0 + 1; // q char unmatched
            let ins = cur[j - 1].0 + 1; // t char extra
            cur[j] = if sub <= del && sub <= ins {
                (sub, prev[j - 1].1)
            } else if del <= ins {
                (del, prev[j].1)
            } else {
                (ins, cur[j - 1].1)
            };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    let (end, &(d, start)) = prev
        .iter()
        .enumerate()
        .min_by_key(|(j, (d, _))| (*d, *j))
        .unwrap_or((0, &(u32::try_from(n).unwrap_or(u32::MAX), 0)));
    (d, start, end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::{Collection, RawPoem};

    fn raw(author: &str, title: &str, lines: &[&str]) -> (Collection, RawPoem) {
        (
            Collection::TangShi,
            RawPoem {
                author: author.into(),
                title: Some(title.into()),
                rhythmic: None,
                paragraphs: lines.iter().map(|s| (*s).to_owned()).collect(),
            },
        )
    }

    fn fixture() -> (Normalizer, Corpus) {
        let n = Normalizer::new().expect("opencc");
        let c = Corpus::from_records(
            vec![
                raw(
                    "王之渙",
                    "登鸛雀樓",
                    &["白日依山盡，黃河入海流。", "欲窮千里目，更上一層樓。"],
                ),
                raw(
                    "李白",
                    "靜夜思",
                    &["牀前看月光，疑是地上霜。", "舉頭望山月，低頭思故鄉。"],
                ),
                raw(
                    "杜甫",
                    "春望",
                    &["國破山河在，城春草木深。", "感時花濺淚，恨別鳥驚心。"],
                ),
                raw("無名氏", "雜詩", &["青青河畔草，郁郁園中柳。"]),
                raw("張三", "雜詩", &["青青河畔草，郁郁園中柳。"]),
                raw("杜甫", "風疾舟中", &["興盡才無悶，愁來遽不禁。"]),
                raw("無悶", "偈", &["一念不生時，萬法皆空寂。"]),
                raw("陸龜蒙", "和襲美", &["不知海上今清淺，試與飛書問洛公。"]),
            ],
            &n,
        );
        (n, c)
    }

    fn classes(v: &Verifier<'_>, answer: &str, ctx: &Attribution) -> Vec<QuoteClass> {
        v.verify(answer, ctx).into_iter().map(|f| f.class).collect()
    }

    #[test]
    fn semi_global_finds_the_best_substring() {
        let c = |s: &str| s.chars().collect::<Vec<_>>();
        assert_eq!(semi_global(&c("bcd"), &c("abcde")), (0, 1, 4));
        assert_eq!(semi_global(&c("bxd"), &c("abcde")).0, 1);
        assert_eq!(semi_global(&c("bd"), &c("abcde")).0, 1);
        assert_eq!(semi_global(&c("xyz"), &c("abc")).0, 3);
    }

    #[test]
    fn the_four_classes() {
        let (n, c) = fixture();
        let v = Verifier::new(&c, &n);
        let none = Attribution::default();
        assert_eq!(
            classes(&v, "白日依山尽，黄河入海流。——王之涣《登鹳雀楼》", &none),
            vec![QuoteClass::Verbatim]
        );
        assert_eq!(
            classes(&v, "白日依山尽，黄河入江流。——王之涣《登鹳雀楼》", &none),
            vec![QuoteClass::Misquoted]
        );
        assert_eq!(
            classes(&v, "“白日依山尽，黄河入海流”——杜甫", &none),
            vec![QuoteClass::Misattributed]
        );
        assert_eq!(
            classes(&v, "“白日依山尽，黄河入海流”出自《春望》", &none),
            vec![QuoteClass::Misattributed]
        );
        assert_eq!(
            classes(&v, "“青山埋古道，碧水绕孤村”——王之涣", &none),
            vec![QuoteClass::Fabricated]
        );
    }

    #[test]
    fn traditional_answers_and_headers() {
        let (n, c) = fixture();
        let v = Verifier::new(&c, &n);
        let answer =
            "《春望》 杜甫\n國破山河在，城春草木深。\n感时花溅泪，恨别鸟飞心。\n这首诗表达了诗人忧国的感情。";
        let f = v.verify(answer, &Attribution::default());
        assert_eq!(f.len(), 2, "{f:#?}");
        assert_eq!(f[0].class, QuoteClass::Verbatim);
        assert_eq!(f[0].quote.attribution.poet.as_deref(), Some("杜甫"));
        assert_eq!(f[1].class, QuoteClass::Misquoted);
        assert_eq!(
            f[1].nearest.as_ref().map(|m| m.text.as_str()),
            Some("感时花溅泪恨别鸟惊心")
        );
    }

    #[test]
    fn request_context_attributes_unlabelled_recitations() {
        let (n, c) = fixture();
        let v = Verifier::new(&c, &n);
        let ctx = Attribution {
            poet: Some("李白".into()),
            title: Some("静夜思".into()),
        };
        assert_eq!(
            classes(&v, "床前看月光，疑是地上霜。", &ctx),
            vec![QuoteClass::Verbatim]
        );
        let ctx = Attribution {
            poet: Some("柳青崖".into()),
            title: None,
        };
        assert_eq!(
            classes(&v, "床前看月光，疑是地上霜。", &ctx),
            vec![QuoteClass::Misattributed]
        );
    }

    #[test]
    fn duplicates_and_anonymous_lines() {
        let (n, c) = fixture();
        let v = Verifier::new(&c, &n);
        let f = v.verify("“青青河畔草，郁郁园中柳。”——张三", &Attribution::default());
        assert_eq!(f[0].class, QuoteClass::Verbatim);
        assert!(f[0].line_poets.contains(&"无名氏".to_owned()));
        let f = v.verify("“青青河畔草，郁郁园中柳。”——李白", &Attribution::default());
        assert_eq!(f[0].class, QuoteClass::Misattributed);
    }

    #[test]
    fn names_inside_verse_and_prose_words_in_quotations() {
        let (n, c) = fixture();
        let v = Verifier::new(&c, &n);
        // 「无闷」 is a poet of the corpus, and here two characters of 杜甫's line.
        let f = v.verify(
            "《风疾舟中》 杜甫\n兴尽才无闷，愁来遽不禁。",
            &Attribution::default(),
        );
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(
            (f[0].class, f[0].quote.attribution.poet.as_deref()),
            (QuoteClass::Verbatim, Some("杜甫"))
        );
        // A header line naming only the poet is not verse.
        let f = v.verify("作者：无闷\n一念不生时，万法皆空寂。", &Attribution::default());
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].class, QuoteClass::Verbatim);
        // 不知 is prose in commentary but common in verse: a quotation or a regular couplet keeps it.
        assert_eq!(
            classes(
                &v,
                "“不知海上今清浅，试与飞书问洛公”——陆龟蒙",
                &Attribution::default()
            ),
            vec![QuoteClass::Verbatim]
        );
        assert_eq!(
            classes(
                &v,
                "作者：李白\n不知海上今清浅，试与飞书问洛公。",
                &Attribution::default()
            ),
            vec![QuoteClass::Misattributed]
        );
    }

    #[test]
    fn misquotations_changing_every_clause_are_found() {
        let (n, c) = fixture();
        let v = Verifier::new(&c, &n);
        // One character changed in each clause: no clause matches exactly.
        let f = v.verify("“白日依江尽，黄河入湖流”——王之涣", &Attribution::default());
        assert_eq!(f[0].class, QuoteClass::Misquoted, "{f:#?}");
        assert_eq!(f[0].nearest.as_ref().map(|m| m.edits), Some(2));
    }

    #[test]
    fn commentary_is_not_a_quotation() {
        let (n, c) = fixture();
        let v = Verifier::new(&c, &n);
        assert!(
            v.extract("这首诗表达了诗人的思乡之情。", &Attribution::default())
                .is_empty()
        );
        assert!(
            v.extract("I don't know this poem.", &Attribution::default())
                .is_empty()
        );
        assert_eq!(
            v.named_poets("这是杜甫的《春望》，不是李白写的。"),
            vec!["杜甫", "李白"]
        );
        assert_eq!(v.named_poets("作者：柳青崖"), vec!["柳青崖"]);
        assert_eq!(v.named_titles("出自《春望》"), vec!["春望"]);
    }

    #[test]
    fn an_echoed_title_is_not_a_quotation() {
        // Both answers are the embedded model's, to probes asking for a named poem (2026-12-07).
        let (n, c) = fixture();
        let v = Verifier::new(&c, &n);
        let asked = |title: &str| Attribution {
            poet: Some("柳青崖".into()),
            title: Some(title.into()),
        };
        let echo = "赠别二首 一 中文：\n\n赠别二首 一 中文：";
        assert!(v.extract(echo, &asked("赠别二首 一")).is_empty());
        assert!(v.extract("请背诵“龙池春草”", &asked("龙池春草")).is_empty());
        // Text beyond the title is still checked, and without the title the echo is a quotation.
        assert_eq!(v.extract("“龙池春草绿，江上晚风生”", &asked("龙池春草")).len(), 1);
        assert_eq!(v.extract(echo, &Attribution::default()).len(), 2);
    }
}
