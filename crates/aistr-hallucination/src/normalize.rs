//! One way to spell a line, so that a quotation and the corpus can be compared at all.
//!
//! The Tang corpus is in traditional characters, the Song ci in simplified ones, and a model may
//! answer in either, with full- or half-width punctuation, spaces, numbering and variant
//! characters (牀/床, 峯/峰). Both sides go through the same [`Normalizer`]: OpenCC's `t2s`
//! conversion (the pure-Rust `ferrous-opencc` port), then a small table of variant forms `t2s`
//! leaves alone, and only Han characters are kept for matching: punctuation and layout become
//! clause boundaries.

use ferrous_opencc::OpenCC;
use ferrous_opencc::config::BuiltinConfig;

use crate::HalluError;

/// Variant characters folded after `t2s`: (variant, standard simplified form). Both sides of
/// every comparison are folded, so a mapping here can only merge, never split, spellings.
const VARIANTS: &[(char, char)] = &[
    ('牀', '床'),
    ('峯', '峰'),
    ('鴈', '雁'),
    ('羣', '群'),
    ('綫', '线'),
    ('牕', '窗'),
    ('窻', '窗'),
    ('窓', '窗'),
    ('菴', '庵'),
    ('盃', '杯'),
    ('栢', '柏'),
    ('銕', '铁'),
    ('凴', '凭'),
    ('躰', '体'),
    ('鬪', '斗'),
    ('啓', '启'),
    ('眞', '真'),
    ('飮', '饮'),
    ('戶', '户'),
    ('溼', '湿'),
    ('竝', '并'),
    ('絃', '弦'),
    ('遶', '绕'),
    ('邨', '村'),
    ('裡', '里'),
    ('麪', '面'),
    ('谿', '溪'),
    ('嵗', '岁'),
    ('囘', '回'),
    ('廻', '回'),
    ('檝', '楫'),
    ('棊', '棋'),
    ('碁', '棋'),
    ('罇', '樽'),
    ('鐏', '樽'),
    ('甎', '砖'),
    ('鑪', '炉'),
    ('擕', '携'),
    ('槩', '概'),
    ('粧', '妆'),
    ('䘮', '丧'),
    ('陁', '陀'),
    ('菓', '果'),
    ('珎', '珍'),
    ('蹟', '迹'),
    ('徧', '遍'),
    ('隄', '堤'),
    ('煖', '暖'),
    ('缾', '瓶'),
    ('鉢', '钵'),
    ('艸', '草'),
    ('鬢', '鬓'),
    ('衺', '邪'),
    ('喫', '吃'),
    ('巖', '岩'),
    ('嵓', '岩'),
    ('嵒', '岩'),
    ('蔆', '菱'),
    ('鷁', '鹢'),
    ('勅', '敕'),
    ('敇', '敕'),
    ('搆', '构'),
    ('艤', '舣'),
];

/// Whether `c` is a Han ideograph (the URO, extensions A–F and the compatibility blocks), or the
/// corpus's placeholder `□` for an illegible character.
#[must_use]
pub fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F | 0x30000..=0x3134F)
        || c == '□'
        || c == '〇'
}

/// Splits text into runs of Han characters: the clauses of a poem line, or of a quotation.
#[must_use]
pub fn han_runs(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (is_han(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push(&text[s..i]);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(&text[s..]);
    }
    out
}

/// Converts to simplified characters and folds variant forms; everything else is kept as is.
pub struct Normalizer {
    t2s: OpenCC,
}

impl std::fmt::Debug for Normalizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Normalizer(opencc t2s + variants)")
    }
}

impl Normalizer {
    /// Loads OpenCC's built-in `t2s` configuration (dictionaries are compiled into the crate).
    pub fn new() -> Result<Self, HalluError> {
        let t2s =
            OpenCC::from_config(BuiltinConfig::T2s).map_err(|e| HalluError::Normalizer(e.to_string()))?;
        Ok(Self { t2s })
    }

    /// Simplified characters, variants folded, full-width ASCII made half-width; layout kept.
    #[must_use]
    pub fn simplify(&self, text: &str) -> String {
        let converted = self.t2s.convert(text);
        converted.chars().map(fold_char).collect()
    }

    /// A fingerprint of this normalisation: a version, the variant table and the conversion of
    /// a sample (so corpus snapshots are rebuilt when any of them changes).
    #[must_use]
    pub fn fingerprint(&self) -> u64 {
        let mut table = String::new();
        for &(v, s) in VARIANTS {
            table.push(v);
            table.push(s);
        }
        table.push_str(&self.simplify(FINGERPRINT_SAMPLE));
        crate::corpus::fnv(&table) ^ NORMALISATION_VERSION
    }

    /// The matching key of a text: simplified, folded, Han characters only.
    #[must_use]
    pub fn key(&self, text: &str) -> String {
        self.simplify(text).chars().filter(|&c| is_han(c)).collect()
    }
}

/// Bumped whenever the normalisation changes in a way the variant table does not show (the
/// apparatus stripping, the key filter): corpus snapshots made before are then rebuilt.
const NORMALISATION_VERSION: u64 = 1;

/// Traditional text whose conversion stands for the OpenCC dictionaries in a fingerprint.
const FINGERPRINT_SAMPLE: &str = "國破山河在，城春草木深。感時花濺淚，恨別鳥驚心。烽火連三月，家書抵萬金。白頭搔更短，渾欲不勝簪。\
    鳳凰臺上鳳凰遊，鳳去臺空江自流。吳宮花草埋幽徑，晉代衣冠成古丘。雲鬢花顏金步搖，芙蓉帳暖度春宵。裏裡後後髮發鍾鐘";

/// One character's folded form (variants and full-width forms).
#[must_use]
pub fn fold_char(c: char) -> char {
    if let Ok(i) = VARIANTS_SORTED.binary_search_by_key(&c, |&(v, _)| v) {
        return VARIANTS_SORTED[i].1;
    }
    match c as u32 {
        // Full-width ASCII → ASCII.
        0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        0x3000 => ' ',
        _ => c,
    }
}

static VARIANTS_SORTED: std::sync::LazyLock<Vec<(char, char)>> = std::sync::LazyLock::new(|| {
    let mut v = VARIANTS.to_vec();
    v.sort_unstable();
    v.dedup_by_key(|p| p.0);
    v
});

/// A corpus line with its editorial apparatus removed: notes in （…） or (…) dropped, the
/// brackets of restored characters (`[爽]`, `〖…〗`) dropped but their content kept. Where a
/// note says `一作「X」` ("another reading: X"), the alternative reading replaces the
/// characters just before the note, and is returned as the second value.
#[must_use]
pub fn strip_apparatus(line: &str) -> (String, Option<String>) {
    let mut primary = String::with_capacity(line.len());
    let mut variant = String::with_capacity(line.len());
    let mut has_variant = false;
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if c == '（' || c == '(' {
            let close = if c == '（' { '）' } else { ')' };
            let Some(end) = rest.find(close) else {
                rest = &rest[c.len_utf8()..];
                continue;
            };
            let note = &rest[c.len_utf8()..end];
            if let Some(alt) = alternative_reading(note) {
                // Replace as many trailing Han characters of the variant as the reading has.
                let n = alt.chars().count();
                let mut kept: Vec<char> = variant.chars().collect();
                let mut removed = 0;
                while removed < n && kept.last().is_some_and(|&k| is_han(k)) {
                    kept.pop();
                    removed += 1;
                }
                if removed == n {
                    variant = kept.into_iter().collect();
                    variant.push_str(alt);
                    has_variant = true;
                }
            }
            rest = &rest[end + close.len_utf8()..];
            continue;
        }
        if !matches!(c, '[' | ']' | '〖' | '〗' | '{' | '}') {
            primary.push(c);
            variant.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    (primary, has_variant.then_some(variant))
}

/// `一作「X」` / `一作X` → `X` when X is a short run of Han characters.
fn alternative_reading(note: &str) -> Option<&str> {
    let alt = note.strip_prefix("一作")?;
    let alt = alt
        .trim_start_matches(['「', '“', '"'])
        .trim_end_matches(['」', '”', '"']);
    let n = alt.chars().count();
    ((1..=6).contains(&n) && alt.chars().all(is_han)).then_some(alt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traditional_and_simplified_share_a_key() {
        let n = Normalizer::new().expect("opencc");
        assert_eq!(n.key("牀前看月光，疑是地上霜。"), n.key("床前看月光, 疑是地上霜"));
        assert_eq!(n.key("舉頭望山月，低頭思故鄉。"), "举头望山月低头思故乡");
        assert_eq!(n.key("白日依山盡"), "白日依山尽");
        assert_eq!(n.key(" 1. 黃河入海流！"), "黄河入海流");
    }

    #[test]
    fn runs_split_on_punctuation_and_layout() {
        assert_eq!(
            han_runs("白日依山尽，黄河入海流。\n欲穷 千里目"),
            vec!["白日依山尽", "黄河入海流", "欲穷", "千里目"]
        );
        assert!(han_runs("abc, 123!").is_empty());
    }

    #[test]
    fn apparatus_is_removed_and_alternative_readings_kept() {
        let (p, v) = strip_apparatus("水急客舟（一作「行」）疾，山花拂面香。");
        assert_eq!(p, "水急客舟疾，山花拂面香。");
        assert_eq!(v.as_deref(), Some("水急客行疾，山花拂面香。"));
        let (p, v) = strip_apparatus("[爽]節在重九（京本作某）");
        assert_eq!(p, "爽節在重九");
        assert_eq!(v, None);
        let (p, _) = strip_apparatus("闌風長雨（一作「東風細雨」）秋紛紛");
        assert_eq!(p, "闌風長雨秋紛紛");
    }

    #[test]
    fn variant_table_is_well_formed() {
        for &(v, s) in VARIANTS {
            assert_ne!(v, s);
            assert!(is_han(v) && is_han(s), "{v} {s}");
            // A target of one mapping must not itself be mapped (folding is idempotent).
            assert_eq!(fold_char(s), s, "{s} is mapped again");
        }
    }
}
