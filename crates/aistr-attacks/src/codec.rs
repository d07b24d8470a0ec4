//! Reversible text encodings used by the prompt-masking attacks, each with its exact inverse. They
//! live apart from the attacks so that the property tests can check every round trip, and so that
//! `decode_answer` reads a model's encoded answer with the same tables the attack used to ask.
//! Everything is hand-written (no codec crates): a few dozen lines each, and no dependency can change
//! the bytes a seed produces.

use crate::rng::Rng;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard Base64 with padding.
#[must_use]
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b64_value(c: u8) -> Option<u32> {
    Some(match c {
        b'A'..=b'Z' => u32::from(c - b'A'),
        b'a'..=b'z' => u32::from(c - b'a') + 26,
        b'0'..=b'9' => u32::from(c - b'0') + 52,
        b'+' | b'-' => 62,
        b'/' | b'_' => 63,
        _ => return None,
    })
}

/// Decodes standard or URL-safe Base64, padded or not. `None` on any invalid character or length.
#[must_use]
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let body = s.trim_end_matches('=');
    if s.len() - body.len() > 2 || body.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &c in body.as_bytes() {
        acc = (acc << 6) | b64_value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xFF) as u8);
        }
    }
    Some(out)
}

/// Lowercase hexadecimal.
#[must_use]
pub fn hex_encode(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

/// Decodes hexadecimal (either case). `None` on odd length or a non-hex character.
#[must_use]
pub fn hex_decode(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks(2)
        .map(|p| {
            let hi = char::from(p[0]).to_digit(16)?;
            let lo = char::from(p[1]).to_digit(16)?;
            Some(((hi << 4) | lo) as u8)
        })
        .collect()
}

/// ROT13 on ASCII letters; every other character is unchanged. Its own inverse.
#[must_use]
pub fn rot13(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'a'..='z' => char::from(b'a' + (c as u8 - b'a' + 13) % 26),
            'A'..='Z' => char::from(b'A' + (c as u8 - b'A' + 13) % 26),
            _ => c,
        })
        .collect()
}

const LEET: &[(char, char)] = &[
    ('a', '4'),
    ('b', '8'),
    ('e', '3'),
    ('g', '9'),
    ('i', '1'),
    ('o', '0'),
    ('s', '5'),
    ('t', '7'),
];

/// Leetspeak: `a→4 b→8 e→3 g→9 i→1 o→0 s→5 t→7` (either case in, digits out).
#[must_use]
pub fn leet_encode(s: &str) -> String {
    s.chars()
        .map(|c| {
            let l = c.to_ascii_lowercase();
            LEET.iter().find(|(from, _)| *from == l).map_or(c, |(_, to)| *to)
        })
        .collect()
}

/// Reads leetspeak back: the digits above plus `@→a` and `$→s`. Exact inverse of [`leet_encode`] on
/// lowercase text that contains no digits, `@` or `$`.
#[must_use]
pub fn leet_decode(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '@' => 'a',
            '$' => 's',
            _ => LEET.iter().find(|(_, to)| *to == c).map_or(c, |(from, _)| *from),
        })
        .collect()
}

/// International Morse code for letters, digits and common punctuation.
pub(crate) const MORSE: &[(char, &str)] = &[
    ('a', ".-"),
    ('b', "-..."),
    ('c', "-.-."),
    ('d', "-.."),
    ('e', "."),
    ('f', "..-."),
    ('g', "--."),
    ('h', "...."),
    ('i', ".."),
    ('j', ".---"),
    ('k', "-.-"),
    ('l', ".-.."),
    ('m', "--"),
    ('n', "-."),
    ('o', "---"),
    ('p', ".--."),
    ('q', "--.-"),
    ('r', ".-."),
    ('s', "..."),
    ('t', "-"),
    ('u', "..-"),
    ('v', "...-"),
    ('w', ".--"),
    ('x', "-..-"),
    ('y', "-.--"),
    ('z', "--.."),
    ('0', "-----"),
    ('1', ".----"),
    ('2', "..---"),
    ('3', "...--"),
    ('4', "....-"),
    ('5', "....."),
    ('6', "-...."),
    ('7', "--..."),
    ('8', "---.."),
    ('9', "----."),
    ('.', ".-.-.-"),
    (',', "--..--"),
    ('?', "..--.."),
    ('\'', ".----."),
    ('!', "-.-.--"),
    ('/', "-..-."),
    ('(', "-.--."),
    (')', "-.--.-"),
    ('&', ".-..."),
    (':', "---..."),
    (';', "-.-.-."),
    ('=', "-...-"),
    ('+', ".-.-."),
    ('-', "-....-"),
    ('_', "..--.-"),
    ('"', ".-..-."),
    ('$', "...-..-"),
    ('@', ".--.-."),
];

/// Morse: letters separated by one space, words (split on `' '`) by `" / "`. ASCII letters are
/// lowercased; characters with no Morse code (e.g. Chinese) are kept as their own token.
#[must_use]
pub fn morse_encode(s: &str) -> String {
    s.split(' ')
        .map(|word| {
            word.chars()
                .map(|c| {
                    let l = c.to_ascii_lowercase();
                    MORSE
                        .iter()
                        .find(|(ch, _)| *ch == l)
                        .map_or_else(|| c.to_string(), |(_, code)| (*code).to_string())
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join(" / ")
}

/// The letter for one Morse code, if it is one.
pub(crate) fn morse_letter(code: &str) -> Option<char> {
    MORSE.iter().find(|(_, c)| *c == code).map(|(ch, _)| *ch)
}

/// Exact inverse of [`morse_encode`] (up to ASCII case).
#[must_use]
pub fn morse_decode(s: &str) -> String {
    s.split(" / ")
        .map(|word| {
            word.split(' ')
                .filter(|t| !t.is_empty())
                .map(|t| morse_letter(t).map_or_else(|| t.to_string(), |c| c.to_string()))
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

const TAG_BASE: u32 = 0xE0000;

/// Unicode tag smuggling: printable ASCII becomes the invisible twin in the tags block
/// (U+E0020..U+E007E). Other characters (newlines, Chinese) are kept as they are.
#[must_use]
pub fn tags_encode(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            ' '..='~' => char::from_u32(TAG_BASE + c as u32).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Whether `c` is in the Unicode tags block.
pub(crate) fn is_tag(c: char) -> bool {
    (0xE0000..=0xE007F).contains(&(c as u32))
}

/// Reads tag characters back as ASCII and drops the begin/cancel tags; other characters are kept.
#[must_use]
pub fn tags_decode(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c as u32 {
            0xE0020..=0xE007E => char::from_u32(c as u32 - TAG_BASE),
            0xE0000..=0xE001F | 0xE007F => None,
            _ => Some(c),
        })
        .collect()
}

/// Zero-width characters used for smuggling (space, non-joiner, joiner, word joiner, BOM).
pub(crate) const ZERO_WIDTH: &[char] = &['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}'];

/// Inserts zero-width characters between visible ones (seeded), so the text looks unchanged but
/// tokenises differently.
pub(crate) fn zero_width_insert(s: &str, rng: &mut Rng) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if chars.peek().is_some() && rng.chance(3, 4) {
            out.push(ZERO_WIDTH[rng.below(ZERO_WIDTH.len() - 1)]);
        }
    }
    out
}

/// Removes every zero-width character.
#[must_use]
pub fn zero_width_strip(s: &str) -> String {
    s.chars().filter(|c| !ZERO_WIDTH.contains(c)).collect()
}

/// Latin letters and a Cyrillic or Greek look-alike. Injective, so the mapping can be undone.
pub(crate) const HOMOGLYPHS: &[(char, char)] = &[
    ('a', '\u{0430}'),
    ('c', '\u{0441}'),
    ('e', '\u{0435}'),
    ('h', '\u{04BB}'),
    ('i', '\u{0456}'),
    ('j', '\u{0458}'),
    ('o', '\u{043E}'),
    ('p', '\u{0440}'),
    ('s', '\u{0455}'),
    ('v', '\u{03BD}'),
    ('x', '\u{0445}'),
    ('y', '\u{0443}'),
    ('A', '\u{0410}'),
    ('B', '\u{0412}'),
    ('C', '\u{0421}'),
    ('E', '\u{0415}'),
    ('H', '\u{041D}'),
    ('I', '\u{0406}'),
    ('J', '\u{0408}'),
    ('K', '\u{041A}'),
    ('M', '\u{041C}'),
    ('N', '\u{039D}'),
    ('O', '\u{041E}'),
    ('P', '\u{0420}'),
    ('S', '\u{0405}'),
    ('T', '\u{0422}'),
    ('X', '\u{0425}'),
    ('Y', '\u{03A5}'),
    ('Z', '\u{0396}'),
];

/// Swaps Latin letters for look-alikes, each with probability 2/3 (seeded).
pub(crate) fn homoglyph_encode(s: &str, rng: &mut Rng) -> String {
    s.chars()
        .map(|c| match HOMOGLYPHS.iter().find(|(latin, _)| *latin == c) {
            Some((_, twin)) if rng.chance(2, 3) => *twin,
            _ => c,
        })
        .collect()
}

/// Maps look-alikes back to Latin letters.
#[must_use]
pub fn homoglyph_decode(s: &str) -> String {
    s.chars()
        .map(|c| {
            HOMOGLYPHS
                .iter()
                .find(|(_, twin)| *twin == c)
                .map_or(c, |(latin, _)| *latin)
        })
        .collect()
}

/// Variation-selector smuggling: every UTF-8 byte becomes one variation selector (0–15 →
/// U+FE00..U+FE0F, 16–255 → U+E0100..U+E01EF). Works for any language.
#[must_use]
pub fn variation_selectors_encode(s: &str) -> String {
    s.bytes()
        .filter_map(|b| {
            if b < 16 {
                char::from_u32(0xFE00 + u32::from(b))
            } else {
                char::from_u32(0xE0100 + u32::from(b) - 16)
            }
        })
        .collect()
}

/// The byte a variation selector stands for.
pub(crate) fn variation_selector_byte(c: char) -> Option<u8> {
    match c as u32 {
        v @ 0xFE00..=0xFE0F => Some((v - 0xFE00) as u8),
        v @ 0xE0100..=0xE01EF => Some((v - 0xE0100 + 16) as u8),
        _ => None,
    }
}

/// Collects the bytes carried by variation selectors (other characters are ignored) as UTF-8.
#[must_use]
pub fn variation_selectors_decode(s: &str) -> Option<String> {
    let bytes: Vec<u8> = s.chars().filter_map(variation_selector_byte).collect();
    if bytes.is_empty() {
        None
    } else {
        String::from_utf8(bytes).ok()
    }
}

/// The characters in reverse order. Its own inverse.
#[must_use]
pub fn reverse(s: &str) -> String {
    s.chars().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use proptest::prelude::*;

    #[test]
    fn known_vectors() {
        assert_eq!(base64_encode(b"hello"), "aGVsbG8=");
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode("你好".as_bytes()), "5L2g5aW9");
        assert_eq!(base64_decode("aGVsbG8").as_deref(), Some(&b"hello"[..]));
        assert_eq!(base64_decode("a"), None);
        assert_eq!(base64_decode("aGV$bG8="), None);
        assert_eq!(hex_encode(b"Hi!"), "486921");
        assert_eq!(hex_decode("48692"), None);
        assert_eq!(rot13("Hello, World"), "Uryyb, Jbeyq");
        assert_eq!(leet_encode("test boats"), "7357 80475");
        assert_eq!(morse_encode("sos help"), "... --- ... / .... . .-.. .--.");
        assert_eq!(morse_decode("... --- ..."), "sos");
        assert_eq!(tags_encode("A"), "\u{E0041}");
        assert_eq!(variation_selectors_encode("A"), "\u{E0131}");
        assert_eq!(reverse("abc"), "cba");
    }

    #[test]
    fn homoglyph_table_is_injective_and_not_latin() {
        let mut twins: Vec<char> = HOMOGLYPHS.iter().map(|(_, t)| *t).collect();
        twins.sort_unstable();
        twins.dedup();
        assert_eq!(twins.len(), HOMOGLYPHS.len());
        assert!(twins.iter().all(|c| !c.is_ascii()));
    }

    fn no_chars(s: &str, bad: impl Fn(char) -> bool) -> bool {
        !s.chars().any(bad)
    }

    proptest! {
        #[test]
        fn base64_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            prop_assert_eq!(base64_decode(&base64_encode(&bytes)), Some(bytes));
        }

        #[test]
        fn base64_round_trips_text(s in "\\PC{0,80}") {
            let back = base64_decode(&base64_encode(s.as_bytes())).map(String::from_utf8);
            prop_assert_eq!(back, Some(Ok(s)));
        }

        #[test]
        fn hex_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            prop_assert_eq!(hex_decode(&hex_encode(&bytes)), Some(bytes));
        }

        #[test]
        fn rot13_is_an_involution(s in "\\PC{0,80}") {
            prop_assert_eq!(rot13(&rot13(&s)), s);
        }

        #[test]
        fn leet_round_trips_lowercase(s in "[a-z ,.?!']{0,80}") {
            prop_assert_eq!(leet_decode(&leet_encode(&s)), s);
        }

        #[test]
        fn morse_round_trips_ascii(s in "[a-z0-9 .,?!/()&:;=+_@$'\"-]{0,60}") {
            prop_assert_eq!(morse_decode(&morse_encode(&s)), s);
        }

        #[test]
        fn morse_round_trips_any_text_up_to_case(s in "[^ ]{0,10}( [^ ]{0,10}){0,5}") {
            prop_assert_eq!(morse_decode(&morse_encode(&s)), s.to_ascii_lowercase());
        }

        #[test]
        fn tags_round_trip(s in "\\PC{0,80}") {
            prop_assume!(no_chars(&s, is_tag));
            let enc = tags_encode(&s);
            prop_assert!(enc.chars().all(|c| !(' '..='~').contains(&c)), "printable ASCII must be hidden");
            prop_assert_eq!(tags_decode(&enc), s);
        }

        #[test]
        fn zero_width_strip_undoes_insert(s in "\\PC{0,80}", seed in any::<u64>()) {
            prop_assume!(no_chars(&s, |c| ZERO_WIDTH.contains(&c)));
            let enc = zero_width_insert(&s, &mut Rng::from_seed(seed));
            prop_assert_eq!(zero_width_strip(&enc), s);
        }

        #[test]
        fn homoglyphs_round_trip(s in "\\PC{0,80}", seed in any::<u64>()) {
            prop_assume!(no_chars(&s, |c| HOMOGLYPHS.iter().any(|(_, t)| *t == c)));
            let enc = homoglyph_encode(&s, &mut Rng::from_seed(seed));
            prop_assert_eq!(homoglyph_decode(&enc), s);
        }

        #[test]
        fn variation_selectors_round_trip(s in "\\PC{1,80}") {
            let enc = variation_selectors_encode(&s);
            prop_assert_eq!(enc.chars().count(), s.len());
            prop_assert_eq!(variation_selectors_decode(&enc), Some(s));
        }

        #[test]
        fn reverse_is_an_involution(s in "\\PC{0,80}") {
            prop_assert_eq!(reverse(&reverse(&s)), s);
        }
    }
}
