//! Renders a conversation into the ChatML text SmolLM2 was trained on, mirroring the Jinja template
//! stored in the GGUF (`tokenizer.chat_template`) without a template engine.
//!
//! The template inserts a default system turn when the first message is not a system message. We
//! read that default text out of the stored template so a different ChatML GGUF brings its own.
//! Message contents are inserted verbatim: control-token strings such as `<|im_end|>` inside a
//! message are tokenized as control tokens, exactly as the reference `apply_chat_template` +
//! tokenizer pipeline does. That is deliberate for a red-teaming target (special-token injection
//! is one of the attacks) and matches how the model behaves behind common serving stacks.

use aistr_core::{Message, Role};

/// The ChatML turn opener.
pub const IM_START: &str = "<|im_start|>";
/// The ChatML turn terminator; also the end-of-sequence token of SmolLM2.
pub const IM_END: &str = "<|im_end|>";
/// The default system prompt of SmolLM2-135M-Instruct's chat template.
pub const SMOLLM2_DEFAULT_SYSTEM: &str =
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face";

/// Pulls the literal default system text out of a ChatML Jinja template: the text between
/// `<|im_start|>system\n` and the next `<|im_end|>`, provided it is a plain literal (no Jinja
/// expression or string concatenation in it).
#[must_use]
pub fn default_system_from_template(template: &str) -> Option<String> {
    let opener = format!("{IM_START}system\n");
    let start = template.find(&opener)? + opener.len();
    let len = template[start..].find(IM_END)?;
    let text = &template[start..start + len];
    let literal = !text.contains(['\'', '"', '{', '}', '+']);
    (literal && !text.is_empty()).then(|| text.to_owned())
}

/// Renders `messages` as ChatML and opens the assistant turn, like the SmolLM2 template with
/// `add_generation_prompt=True`. `default_system` is inserted before the first message when that
/// message is not a system message (and nothing is inserted for an empty conversation, as in the
/// template).
#[must_use]
pub fn render_chatml(messages: &[Message], default_system: Option<&str>) -> String {
    let mut out = String::new();
    for (i, m) in messages.iter().enumerate() {
        if i == 0
            && m.role != Role::System
            && let Some(sys) = default_system
        {
            push_turn(&mut out, "system", sys);
        }
        push_turn(&mut out, m.role.as_str(), &m.content);
    }
    out.push_str(IM_START);
    out.push_str("assistant\n");
    out
}

fn push_turn(out: &mut String, role: &str, content: &str) {
    out.push_str(IM_START);
    out.push_str(role);
    out.push('\n');
    out.push_str(content);
    out.push_str(IM_END);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMOLLM2_TEMPLATE: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    #[test]
    fn extracts_smollm2_default_system() {
        assert_eq!(
            default_system_from_template(SMOLLM2_TEMPLATE).as_deref(),
            Some(SMOLLM2_DEFAULT_SYSTEM)
        );
    }

    #[test]
    fn ignores_templates_without_a_literal_default() {
        let t = "{{'<|im_start|>system\n' + message['content'] + '<|im_end|>'}}";
        assert_eq!(default_system_from_template(t), None);
        assert_eq!(default_system_from_template("{{ bos_token }}"), None);
    }

    #[test]
    fn inserts_default_system_before_first_non_system_message() {
        let got = render_chatml(&[Message::user("Hi")], Some(SMOLLM2_DEFAULT_SYSTEM));
        assert_eq!(
            got,
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging \
             Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn keeps_given_system_and_multi_turn_order() {
        let msgs = [
            Message::system("Be terse."),
            Message::user("a"),
            Message::assistant("b"),
            Message::user("c"),
        ];
        let got = render_chatml(&msgs, Some("unused"));
        assert_eq!(
            got,
            "<|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\na<|im_end|>\n\
             <|im_start|>assistant\nb<|im_end|>\n<|im_start|>user\nc<|im_end|>\n\
             <|im_start|>assistant\n"
        );
    }

    #[test]
    fn empty_conversation_only_opens_assistant_turn() {
        assert_eq!(render_chatml(&[], Some("x")), "<|im_start|>assistant\n");
    }
}
