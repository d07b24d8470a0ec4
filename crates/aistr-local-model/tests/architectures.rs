//! Every supported architecture loads from a GGUF the test writes itself (seeded random weights,
//! the family's chat template and tokenizer kind in its metadata), renders conversations with that
//! template, and generates the same tokens for the same seed; unsupported architectures and
//! hostile templates are refused at load with an error naming the file and the problem.

use aistr_local_model::testing::write_tiny_gguf;
use aistr_local_model::{LocalModel, LocalModelError, Message, SUPPORTED_ARCHITECTURES};

fn tiny(arch: &str, template: Option<&str>) -> (tempfile::TempDir, Result<LocalModel, LocalModelError>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("tiny-{arch}.gguf"));
    write_tiny_gguf(&path, arch, template).unwrap();
    let m = LocalModel::load(&path);
    (dir, m)
}

#[test]
fn every_supported_architecture_renders_its_template_and_generates_deterministically() {
    let convo = [Message::system("Be brief."), Message::user("hi there")];
    for &arch in SUPPORTED_ARCHITECTURES {
        let (_d, m) = tiny(arch, None);
        let mut m = m.unwrap_or_else(|e| panic!("{arch}: {e}"));
        assert_eq!(m.architecture(), arch);
        let prompt = m.render_prompt(&convo).unwrap();
        let (opener, user_turn) = match arch {
            "gemma3" => (
                "<bos>",
                "<start_of_turn>user\nBe brief.\n\nhi there<end_of_turn>\n<start_of_turn>model\n",
            ),
            "phi3" => ("<|system|>", "<|user|>\nhi there<|end|>\n<|assistant|>\n"),
            "llama" => (
                "<|begin_of_text|>",
                "<|start_header_id|>user<|end_header_id|>\n\nhi there<|eot_id|>",
            ),
            _ => (
                "<|im_start|>system\nBe brief.",
                "<|im_start|>user\nhi there<|im_end|>\n<|im_start|>assistant\n",
            ),
        };
        assert!(
            prompt.starts_with(opener) && prompt.contains(user_turn),
            "{arch}: {prompt:?}"
        );
        // Control-token strings are single tokens, text round-trips through the tokenizer.
        let ids = m.tokenize(&prompt).unwrap();
        assert!(
            ids.len() < prompt.len(),
            "{arch}: {} ids for {} bytes",
            ids.len(),
            prompt.len()
        );
        let words = m.tokenize("hi there").unwrap();
        assert!(!words.is_empty());

        let greedy = m.chat(&convo, 12, 0.0, 0).unwrap();
        assert!(greedy.prompt_tokens as usize >= ids.len(), "{arch}");
        assert_eq!(
            m.chat(&convo, 12, 0.0, 0).unwrap().text,
            greedy.text,
            "{arch}: greedy repeats"
        );
        let a = m.chat(&convo, 16, 1.0, 11).unwrap();
        let b = m.chat(&convo, 16, 1.0, 11).unwrap();
        assert_eq!(
            (a.text.as_str(), a.completion_tokens),
            (b.text.as_str(), b.completion_tokens),
            "{arch}"
        );
        let other = (12..20).any(|s| m.chat(&convo, 16, 1.0, s).unwrap().text != a.text);
        assert!(other, "{arch}: sampling ignored the seed");
        // Log-likelihood scoring works on every architecture and leaves no state behind.
        let lp = m.continuation_logprob(&convo, "hi").unwrap();
        assert!(lp.tokens >= 1 && lp.logprob < 0.0, "{arch}: {lp:?}");
        assert_eq!(m.continuation_logprob(&convo, "hi").unwrap(), lp, "{arch}");
        let prompt = m.render_prompt(&convo).unwrap();
        let scores = m
            .score_continuations(&prompt, &["hi".into(), "zq".into()])
            .unwrap();
        assert_eq!(scores.len(), 2, "{arch}");
    }
}

#[test]
fn sentencepiece_vocabularies_tokenize_with_spaces_bytes_and_controls() {
    let (_d, m) = tiny("phi3", None);
    let m = m.unwrap();
    let id = |s: &str| m.tokenize(s).unwrap();
    // "▁hi" is one piece: the space prefix is added and merged.
    assert_eq!(id("hi").len(), 1);
    // A character outside the vocabulary falls back to its UTF-8 bytes.
    assert_eq!(id("é").len(), 3, "▁ + two bytes");
    assert_eq!(id("<|user|>").len(), 1);
}

#[test]
fn gemma_templates_refuse_roles_that_do_not_alternate() {
    let (_d, m) = tiny("gemma3", None);
    let mut m = m.unwrap();
    let e = m
        .chat(&[Message::user("a"), Message::user("b")], 4, 0.0, 0)
        .expect_err("the template raises");
    assert!(matches!(e, LocalModelError::ChatTemplate(_)), "{e}");
    assert!(e.to_string().contains("alternate"), "{e}");
}

#[test]
fn unsupported_architectures_and_hostile_templates_are_refused_at_load() {
    let (_d, m) = tiny("mamba", None);
    let e = m.expect_err("mamba is not supported").to_string();
    assert!(
        e.contains("`mamba`") && e.contains("tiny-mamba.gguf") && e.contains("qwen3"),
        "{e}"
    );

    let hostile = [
        (
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            "fuel",
        ),
        (
            "{% for i in range(100000) %}{{ 'x' * 1000000 }}{% endfor %}",
            "longer than",
        ),
        (
            "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
            "recursion",
        ),
    ];
    for (template, want) in hostile {
        let started = std::time::Instant::now();
        let (_d, m) = tiny("qwen2", Some(template));
        let e = m.expect_err(template).to_string();
        assert!(
            e.contains("tiny-qwen2.gguf") && e.contains(want),
            "{template}: {e}"
        );
        assert!(
            started.elapsed().as_secs() < 20,
            "{template}: {:?}",
            started.elapsed()
        );
    }
}
