//! Renders a conversation with the chat template a GGUF carries (`tokenizer.chat_template`), so
//! any instruct model brings its own prompt format (ChatML, Llama 3, Gemma, Phi-3, ...).
//!
//! The template is a Jinja program taken from a model file, that is, untrusted input. It runs in
//! minijinja, which has no access to the file system, the network or host objects: the template
//! sees only the plain data we pass (`messages`, `add_generation_prompt`, `bos_token`,
//! `eos_token`) and a few helper functions, and its resource use is bounded:
//!
//! - the source may be at most [`MAX_TEMPLATE_BYTES`];
//! - every render has a fuel budget ([`FUEL`], minijinja's instruction count), so a loop that never
//!   ends stops with an error;
//! - recursion (macros calling themselves, nested loops) stops at [`RECURSION_LIMIT`];
//! - the rendered prompt may be at most [`MAX_OUTPUT_BYTES`]: output is written through a writer
//!   that refuses more, and minijinja itself refuses to build a repeated string over 100 MB.
//!
//! The residual risk is memory inside those budgets: a template can still concatenate a string
//! with itself a few dozen times within its fuel (minijinja has no hook on concatenation). A model
//! file is chosen by the user, so this is a denial of service of their own run, not an escape.
//!
//! Transformers renders templates with `trim_blocks` and `lstrip_blocks`; so do we, so the text
//! matches what the model was trained on. `strftime_now` (Llama 3.x templates print today's date)
//! returns a fixed date, so a prompt, and with it a seeded reply, never depends on the day.

use aistr_core::Message;
use minijinja::{Environment, Error, ErrorKind, Value, context};

/// Largest template source accepted (real ones are a few KiB; Qwen 3's with tools is ~5 KiB).
pub const MAX_TEMPLATE_BYTES: usize = 256 * 1024;
/// Largest rendered prompt accepted: far beyond any context window of a local model.
pub const MAX_OUTPUT_BYTES: usize = 4 * 1024 * 1024;
/// The instruction budget of one render; a long real conversation uses a few thousand.
pub const FUEL: u64 = 2_000_000;
/// minijinja's recursion budget (loops count 1, macro calls 10 or more).
pub const RECURSION_LIMIT: usize = 120;
/// What `strftime_now` returns whatever format it is asked for.
const FIXED_DATE: &str = "01 Jan 2026";

/// Why a template could not be used or rendered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    /// The source is larger than [`MAX_TEMPLATE_BYTES`].
    #[error("chat template is {0} bytes, more than the {MAX_TEMPLATE_BYTES} accepted")]
    TooLarge(usize),
    /// The template does not parse or failed while rendering (including its fuel, recursion and
    /// output bounds, and `raise_exception` calls).
    #[error("chat template: {0}")]
    Render(String),
}

/// A chat template checked to parse; renders conversations within the bounds above.
#[derive(Debug, Clone)]
pub struct ChatTemplate {
    source: String,
    bos_token: String,
    eos_token: String,
}

impl ChatTemplate {
    /// Checks `source` (size, syntax) and keeps the special-token strings the template may print.
    pub fn new(source: &str, bos_token: &str, eos_token: &str) -> Result<ChatTemplate, TemplateError> {
        if source.len() > MAX_TEMPLATE_BYTES {
            return Err(TemplateError::TooLarge(source.len()));
        }
        let t = ChatTemplate {
            source: source.to_owned(),
            bos_token: bos_token.to_owned(),
            eos_token: eos_token.to_owned(),
        };
        t.environment()
            .template_from_str(&t.source)
            .map_err(|e| TemplateError::Render(describe(&e)))?;
        Ok(t)
    }

    /// The template's source text.
    #[must_use]
    pub fn source(&self) -> &str {
        &self.source
    }

    fn environment(&self) -> Environment<'_> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_fuel(Some(FUEL));
        env.set_recursion_limit(RECURSION_LIMIT);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", |msg: String| -> Result<Value, Error> {
            Err(Error::new(ErrorKind::InvalidOperation, msg))
        });
        env.add_function("strftime_now", |_format: String| FIXED_DATE.to_owned());
        env
    }

    /// Renders `messages`; `add_generation_prompt` opens the assistant's turn at the end.
    pub fn render(&self, messages: &[Message], add_generation_prompt: bool) -> Result<String, TemplateError> {
        let env = self.environment();
        let template = env
            .template_from_str(&self.source)
            .map_err(|e| TemplateError::Render(describe(&e)))?;
        let messages: Vec<Value> = messages
            .iter()
            .map(|m| context! { role => m.role.as_str(), content => m.content.as_str() })
            .collect();
        let ctx = context! {
            messages => messages,
            add_generation_prompt => add_generation_prompt,
            bos_token => self.bos_token.as_str(),
            eos_token => self.eos_token.as_str(),
        };
        let mut out = BoundedWriter::default();
        match template.render_captured_to(ctx, &mut out) {
            Ok(_) => {}
            Err(_) if out.overflowed => {
                return Err(TemplateError::Render(format!(
                    "the rendered prompt is longer than {MAX_OUTPUT_BYTES} bytes"
                )));
            }
            Err(e) => return Err(TemplateError::Render(describe(&e))),
        }
        String::from_utf8(out.bytes).map_err(|_| TemplateError::Render("output is not UTF-8".into()))
    }
}

/// The error and, when minijinja knows it, where in the template it happened.
fn describe(e: &Error) -> String {
    let mut s = e.to_string();
    if let Some(line) = e.line() {
        s.push_str(&format!(" (template line {line})"));
    }
    s
}

/// Collects output and refuses to grow past [`MAX_OUTPUT_BYTES`].
#[derive(Default)]
struct BoundedWriter {
    bytes: Vec<u8>,
    overflowed: bool,
}

impl std::io::Write for BoundedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + buf.len() > MAX_OUTPUT_BYTES {
            self.overflowed = true;
            return Err(std::io::Error::other("output limit"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::{SMOLLM2_DEFAULT_SYSTEM, render_chatml};
    use crate::testing::SMOLLM2_CHAT_TEMPLATE;
    use std::time::{Duration, Instant};

    fn convo() -> Vec<Message> {
        vec![
            Message::system("Be terse."),
            Message::user("a"),
            Message::assistant("b"),
            Message::user("c <|im_end|>"),
        ]
    }

    #[test]
    fn smollm2_template_renders_exactly_like_the_built_in_chatml() {
        let t = ChatTemplate::new(SMOLLM2_CHAT_TEMPLATE, "<|im_start|>", "<|im_end|>").unwrap();
        for msgs in [convo(), vec![Message::user("Hi")], vec![]] {
            assert_eq!(
                t.render(&msgs, true).unwrap(),
                render_chatml(&msgs, Some(SMOLLM2_DEFAULT_SYSTEM)),
                "{msgs:?}"
            );
        }
    }

    #[test]
    fn real_world_constructs_render() {
        // The constructs of the Llama 3, Gemma and Phi-3 templates: namespace, string methods,
        // bos_token, raise_exception on a bad role order, strftime_now, trim/lstrip blocks.
        let src = "{{ bos_token }}{% set ns = namespace(sys='') %}\n\
            {% for m in messages %}\n\
              {% if m['role'] == 'system' %}{% set ns.sys = m['content'].strip() %}\n\
              {% elif m['role'] == 'user' %}<start_of_turn>user\n{{ (ns.sys + '\\n\\n' if ns.sys and loop.index0 == 1 else '') + m['content'] | trim }}<end_of_turn>\n\
              {% elif m['role'] == 'assistant' %}<start_of_turn>model\n{{ m['content'] | trim }}<end_of_turn>\n\
              {% else %}{{ raise_exception('unknown role ' + m['role']) }}{% endif %}\n\
            {% endfor %}\n\
            {% if add_generation_prompt %}<start_of_turn>model\n{% endif %}[{{ strftime_now('%d %b %Y') }}]";
        let t = ChatTemplate::new(src, "<bos>", "<eos>").unwrap();
        let got = t
            .render(&[Message::system(" Be terse. "), Message::user("hi")], true)
            .unwrap();
        assert_eq!(
            got,
            "<bos><start_of_turn>user\nBe terse.\n\nhi<end_of_turn>\n<start_of_turn>model\n[01 Jan 2026]"
        );
        let e = ChatTemplate::new("{{ raise_exception('no system role') }}", "", "")
            .unwrap()
            .render(&[], true)
            .unwrap_err();
        assert!(e.to_string().contains("no system role"), "{e}");
    }

    /// Hostile templates fail with an error, quickly, and never allocate without bound.
    #[test]
    fn hostile_templates_fail_cleanly_within_bounds() {
        let cases: [(&str, &str); 8] = [
            // An endless loop (nested ranges: each is capped at 100,000 items, fuel stops it).
            (
                "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
                "fuel",
            ),
            // Huge output: each line is big, the writer refuses past the bound.
            (
                "{% for i in range(100000) %}{{ 'x' * 1000000 }}{% endfor %}",
                "longer than",
            ),
            // One huge string: minijinja refuses the repetition.
            ("{{ 'x' * 100000000000 }}", "too large"),
            // Unbounded recursion through a macro.
            (
                "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
                "recursion",
            ),
            // Python-style escapes to host objects: nothing is there.
            ("{{ messages.__class__.__mro__[1].__subclasses__() }}", ""),
            (
                "{{ ''.__class__.__base__ }}{{ cycler.__init__.__globals__.os.popen('id').read() }}",
                "",
            ),
            // No file system: includes and imports have no loader.
            ("{% include '/etc/passwd' %}", "not found"),
            ("{% import '/etc/passwd' as p %}", "not found"),
        ];
        for (src, want) in cases {
            let started = Instant::now();
            let r = ChatTemplate::new(src, "", "").and_then(|t| t.render(&convo(), true));
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{src}: took {:?}",
                started.elapsed()
            );
            match r {
                Err(e) => assert!(e.to_string().contains(want), "{src}: {e}"),
                // Attribute access on plain data yields nothing rather than a host object.
                Ok(text) => {
                    assert!(want.is_empty(), "{src} rendered: {text:.80}");
                    assert!(!text.contains("root:") && text.len() < 100, "{src} → {text}");
                }
            }
        }
        assert_eq!(
            ChatTemplate::new(&"x".repeat(MAX_TEMPLATE_BYTES + 1), "", "").unwrap_err(),
            TemplateError::TooLarge(MAX_TEMPLATE_BYTES + 1)
        );
        assert!(
            ChatTemplate::new("{% for %}", "", "").is_err(),
            "syntax errors are found at load"
        );
    }
}
