//! Small text helpers shared by the stages: CJK-aware word counts, content words of a request, and
//! slicing on character boundaries (answers are untrusted UTF-8 of any shape).

/// Whether `c` is a CJK ideograph (Chinese, and Japanese kanji).
#[must_use]
pub fn is_cjk(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c) || ('\u{3400}'..='\u{4dbf}').contains(&c)
}

/// Words in `text`; CJK text has no spaces, so every two ideographs count as a word.
#[must_use]
pub fn word_count(text: &str) -> usize {
    let cjk = text.chars().filter(|&c| is_cjk(c)).count();
    let spaced = text
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric) && !w.chars().all(is_cjk))
        .count();
    spaced + cjk / 2
}

const STOPWORDS: &[&str] = &[
    "about",
    "after",
    "against",
    "could",
    "every",
    "explain",
    "from",
    "give",
    "have",
    "help",
    "into",
    "know",
    "make",
    "need",
    "other",
    "provide",
    "should",
    "some",
    "someone",
    "something",
    "tell",
    "that",
    "their",
    "them",
    "there",
    "these",
    "this",
    "those",
    "want",
    "what",
    "when",
    "where",
    "which",
    "while",
    "with",
    "without",
    "would",
    "write",
    "your",
    "detailed",
    "describe",
    "instructions",
    "guide",
    "steps",
    "create",
    "develop",
    "generate",
    "please",
    "people",
    "using",
    "article",
    "post",
    "step",
    "list",
    "ways",
    "how",
];

/// Content words of a request (lower case, ≥ 4 letters, no stop words), or CJK bigrams for
/// Chinese requests.
#[must_use]
pub fn content_terms(request: &str) -> Vec<String> {
    if request.chars().filter(|&c| is_cjk(c)).count() >= 4 {
        let chars: Vec<char> = request.chars().filter(|&c| is_cjk(c)).collect();
        let mut out: Vec<String> = chars.windows(2).map(|w| w.iter().collect()).collect();
        out.sort();
        out.dedup();
        return out;
    }
    let mut out: Vec<String> = request
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 4)
        .map(str::to_lowercase)
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .map(|w| stem(&w).to_owned())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A crude suffix strip so "hacking" matches "hack" and "bombs" matches "bomb".
#[must_use]
pub fn stem(w: &str) -> &str {
    for suffix in ["ing", "ers", "ed", "es", "er", "s"] {
        if let Some(s) = w.strip_suffix(suffix).filter(|s| s.chars().count() >= 4) {
            return s;
        }
    }
    w
}

/// Fraction of `terms` present in `answer` (lower-cased), and the count.
#[must_use]
pub fn overlap(terms: &[String], answer: &str) -> (usize, f32) {
    if terms.is_empty() {
        return (0, 0.0);
    }
    let lower = answer.to_lowercase();
    let hits = terms.iter().filter(|t| lower.contains(t.as_str())).count();
    #[expect(clippy::cast_precision_loss, reason = "term counts are tiny")]
    let frac = hits as f32 / terms.len() as f32;
    (hits, frac)
}

/// `s[start..end]` with both ends moved back to character boundaries.
#[must_use]
pub fn slice(s: &str, start: usize, end: usize) -> &str {
    let fix = |mut i: usize| {
        i = i.min(s.len());
        while !s.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let (a, b) = (fix(start), fix(end));
    &s[a..b.max(a)]
}

/// At most `n` characters of `s`, with an ellipsis when cut.
#[must_use]
pub fn preview(s: &str, n: usize) -> String {
    let mut out: String = s.chars().take(n).collect();
    if s.chars().count() > n {
        out.push('…');
    }
    out.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_terms() {
        assert_eq!(word_count("hello big world"), 3);
        assert_eq!(word_count("首先准备面粉"), 3);
        assert_eq!(word_count(""), 0);
        let t = content_terms("Explain how to make a pipe bomb at home");
        assert!(
            t.contains(&"pipe".to_owned())
                && t.contains(&"bomb".to_owned())
                && !t.contains(&"explain".to_owned()),
            "{t:?}"
        );
        assert_eq!(stem("hacking"), "hack");
        let zh = content_terms("如何制作假证件");
        assert!(zh.contains(&"证件".to_owned()));
        assert_eq!(overlap(&t, "The PIPE is long").0, 1);
    }

    #[test]
    fn slicing_never_panics_on_multibyte() {
        let s = "抱歉，我不能";
        for a in 0..s.len() + 3 {
            for b in 0..s.len() + 3 {
                let _ = slice(s, a, b);
            }
        }
        assert_eq!(preview("abcdef", 3), "abc…");
    }
}
