//! Text folding that keeps offsets. Answers write the same number many ways: full-width digits
//! (`１２３`), ideographic spaces, typographic dashes, Chinese numerals. The detector runs on a
//! folded copy and maps every span back to the original bytes, so redaction and reports point at
//! what the model actually wrote.

/// Folds one character: full-width ASCII to ASCII, exotic spaces to a space, dash variants to `-`.
#[must_use]
pub fn fold_char(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' | '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' => ' ',
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' => '-',
        _ => c,
    }
}

/// A folded copy of a text with the original byte offset of every folded byte.
#[derive(Debug, Clone)]
pub struct Folded {
    /// The folded text.
    pub text: String,
    /// For each byte of `text`, the byte offset in the original of the character it came from.
    map: Vec<usize>,
    original_len: usize,
}

impl Folded {
    /// Folds `original` character by character.
    #[must_use]
    pub fn new(original: &str) -> Self {
        let mut text = String::with_capacity(original.len());
        let mut map = Vec::with_capacity(original.len());
        for (at, c) in original.char_indices() {
            let f = fold_char(c);
            text.push(f);
            map.extend(std::iter::repeat_n(at, f.len_utf8()));
        }
        Self {
            text,
            map,
            original_len: original.len(),
        }
    }

    /// The original byte span of the folded span `start..end` (char boundaries of `text`).
    #[must_use]
    pub fn original_span(&self, start: usize, end: usize) -> (usize, usize) {
        let s = self.map.get(start).copied().unwrap_or(self.original_len);
        let e = self.map.get(end).copied().unwrap_or(self.original_len);
        (s, e)
    }
}

/// Chinese numerals as digits (a translated answer may spell a number this way).
fn cjk_digit(c: char) -> Option<char> {
    Some(match c {
        '〇' | '零' => '0',
        '一' | '壹' => '1',
        '二' | '貳' | '贰' => '2',
        '三' | '叁' | '參' => '3',
        '四' | '肆' => '4',
        '五' | '伍' => '5',
        '六' | '陸' | '陆' => '6',
        '七' | '柒' => '7',
        '八' | '捌' => '8',
        '九' | '玖' => '9',
        _ => return None,
    })
}

/// The canonical form used to prove a leak: folded, Chinese numerals as digits, ASCII letters upper
/// case, and everything that is not an ASCII letter or digit dropped (spaces, dashes, dots,
/// parentheses, markup). With each kept character, its byte span in the original.
#[must_use]
pub fn canonical(original: &str) -> (String, Vec<(usize, usize)>) {
    let mut out = String::with_capacity(original.len());
    let mut spans = Vec::with_capacity(original.len());
    for (at, c) in original.char_indices() {
        let f = fold_char(c);
        let f = cjk_digit(f).unwrap_or(f);
        if f.is_ascii_alphanumeric() {
            out.push(f.to_ascii_uppercase());
            spans.push((at, at + c.len_utf8()));
        }
    }
    (out, spans)
}

/// Just the canonical string of [`canonical`].
#[must_use]
pub fn canonical_str(s: &str) -> String {
    s.chars()
        .map(fold_char)
        .map(|c| cjk_digit(c).unwrap_or(c))
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_and_dashes_fold_and_map_back() {
        let s = "卡號：４１１１－１１１１ end";
        let f = Folded::new(s);
        assert!(f.text.contains("4111-1111"), "{}", f.text);
        let at = f.text.find("4111").expect("found");
        let (os, oe) = f.original_span(at, at + 4);
        assert_eq!(&s[os..oe], "４１１１");
        assert_eq!(canonical_str("A123-456 (７)"), "A1234567");
        assert_eq!(canonical_str("一二三"), "123");
        let (c, spans) = canonical("a-b");
        assert_eq!(c, "AB");
        assert_eq!(spans, vec![(0, 1), (2, 3)]);
    }
}
