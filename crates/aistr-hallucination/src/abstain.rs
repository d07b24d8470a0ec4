//! Abstention: the model says it does not know, cannot find, or that the poet, poem or fact asked
//! about does not exist. Abstaining is the right answer to a trap and never counts as
//! hallucination, so it is detected before any claim is checked. English and Chinese (simplified;
//! callers pass text through the [`Normalizer`](crate::normalize::Normalizer) first, so
//! traditional input works too).

use regex::Regex;
use std::sync::LazyLock;

static EN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        \b(?:i\s+(?:do\s+not|don['’]?t)\s+(?:know|have\s+(?:any\s+)?(?:information|knowledge|a\s+record)|recognize|recall)
        |i(?:\s+am|['’]m)\s+not\s+(?:aware|familiar|sure|certain)
        |i\s+(?:cannot|can['’]t|can\s+not|could\s+not|couldn['’]t)\s+(?:find|verify|confirm|locate|recall|identify)
        |(?:i\s+)?have\s+no\s+(?:comment|information|knowledge|record)
        |no\s+(?:such|known|record\s+of\s+(?:a|any|the))\s+(?:poet|poem|person|work|line|author|record)
        |(?:does|do)\s+not\s+(?:appear\s+to\s+)?exist
        |doesn['’]t\s+(?:appear\s+to\s+)?exist
        |there\s+is\s+no\s+(?:known\s+|such\s+|record\s+of\s+(?:a\s+)?)?(?:poet|poem|work|author|evidence|information)
        |(?:is|are)\s+not\s+(?:a\s+)?(?:known|real|documented|historical)
        |not\s+(?:enough|sufficient)\s+information
        |unable\s+to\s+(?:find|verify|confirm|answer|determine)
        |the\s+(?:context|passage|document)s?\s+(?:does\s+not|doesn['’]t)\s+(?:say|mention|contain|provide|state)
        |(?:it\s+is\s+)?unknown\s+(?:to\s+me)
        )",
    )
    .expect("abstention regex")
});

static ZH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        (?:我)?(?:不知道|不清楚|不太清楚|不确定|不了解|不熟悉|不认识|无从得知|记不清|想不起)
        |(?:没有|未能|无法|不能|找不到|查不到|未)(?:找到|查到|检索到|确认|核实|考证|查证|回答|提供)
        |(?:并)?(?:不存在|没有这(?:位|首|个|篇|句)|查无此(?:人|诗|作)|无此(?:人|诗|作))
        |(?:没有|并无|未见|不见)(?:相关|关于|此|这|该)?(?:的)?(?:记载|资料|信息|记录|作品|诗作|史料)
        |(?:可能|似乎|恐怕)(?:是)?(?:虚构|杜撰|不存在)
        |(?:上下文|文中|材料|资料|文档)(?:中)?(?:没有|未)(?:提到|提及|说明|包含|给出)
        |无可奉告|不予置评|无法判断
        ",
    )
    .expect("abstention regex")
});

/// The first abstention phrase in `text`, if any (its byte span and text).
#[must_use]
pub fn abstention(text: &str) -> Option<(usize, usize, &str)> {
    [&*EN, &*ZH]
        .into_iter()
        .filter_map(|re| re.find(text))
        .min_by_key(regex::Match::start)
        .map(|m| (m.start(), m.end(), m.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_english_and_chinese_abstentions() {
        for t in [
            "I don't know this poem.",
            "I'm not aware of a poet by that name.",
            "I’m not familiar with this poem.",
            "I don’t know.",
            "There is no such poet in the Tang dynasty.",
            "I could not find any record of this poem.",
            "I have no comment.",
            "This poet does not appear to exist.",
            "The context does not mention his birthplace.",
            "抱歉，我不知道这首诗。",
            "唐代并没有这位诗人。",
            "查无此人，可能是虚构的。",
            "我没有找到这首诗的相关记载。",
            "未能查到该作品。",
            "文中没有提到这一点。",
        ] {
            assert!(abstention(t).is_some(), "missed: {t}");
        }
    }

    #[test]
    fn answers_are_not_abstentions() {
        for t in [
            "床前明月光，疑是地上霜。",
            "这首诗是李白写的《静夜思》。",
            "The poem was written by Du Fu in 757.",
            "Nothing happens if you eat watermelon seeds.",
            "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。",
            "I know this one: it is by Wang Wei.",
        ] {
            assert!(abstention(t).is_none(), "false alarm: {t} -> {:?}", abstention(t));
        }
    }
}
