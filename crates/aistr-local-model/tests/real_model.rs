//! Tests against the real SmolLM2-135M-Instruct weights. They run when the model is installed
//! (`aistr models install`) and are skipped with a note otherwise, so a fresh checkout still
//! passes `cargo test` before the 100 MB download; under CI, which installs it, a missing model
//! is a failure.

use aistr_local_model::{BatchedModel, DEFAULT_PREFIX_CACHE_BYTES, LocalModel, Message, default_model_path};

/// The installed model, where the product looks for it (`AISTR_LOCAL_MODEL`, else the models dir).
fn load() -> Option<LocalModel> {
    aistr_test_require::require_or_skip("the SmolLM2-135M-Instruct GGUF", default_model_path())
        .map(|p| LocalModel::load(&p).expect("load installed model"))
}

#[test]
fn chatml_prompt_tokenizes_like_the_trained_tokenizer() {
    let Some(model) = load() else { return };
    let sys = model.default_system_prompt().expect("default system prompt");
    assert_eq!(
        sys,
        "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
    );
    let prompt = model
        .render_prompt(&[Message::user("What is 12+3?")])
        .expect("render");
    // The GGUF's own template, rendered by minijinja, gives exactly the built-in ChatML.
    assert_eq!(
        prompt,
        aistr_local_model::render_chatml(&[Message::user("What is 12+3?")], Some(sys))
    );
    let ids = model.tokenize(&prompt).expect("tokenize");
    // <|im_start|> system \n You are a ... (ids as produced by llama.cpp's own tokenizer).
    assert_eq!(&ids[..6], &[1, 9690, 198, 2683, 359, 253]);
    // The prompt ends with "<|im_end|>\n<|im_start|>assistant\n" where "assistant" is the
    // trained split "ass" + "istant" (a prefix-space tokenizer would give " assistant" = 11173).
    assert_eq!(&ids[ids.len() - 6..], &[2, 198, 1, 520, 9531, 198]);
    // Digits are split one by one: "12+3?" -> "1" "2" "+" "3" "?".
    let digits = model.tokenize("12+3?").expect("tokenize");
    assert_eq!(digits.len(), 5, "{digits:?}");
    // No prefix-space variants of the role names or of the newline (" system", " \n").
    assert!(!ids.contains(&817) && !ids.contains(&3717), "{ids:?}");
}

#[test]
fn answers_reproducibly_and_respects_max_tokens() {
    let Some(mut model) = load() else { return };
    // (With "?" instead of "." this 135M model rambles in French; with "." it answers.)
    let question = [Message::user("What is the capital of France.")];

    let greedy = model.chat(&question, 32, 0.0, 0).expect("greedy");
    assert!(
        greedy.text.contains("Paris"),
        "unexpected answer {:?}",
        greedy.text
    );
    assert_eq!(greedy.finish_reason, "stop", "{:?}", greedy.text);
    assert!(greedy.completion_tokens > 0 && greedy.completion_tokens <= 32);
    let again = model.chat(&question, 32, 0.0, 99).expect("greedy again");
    assert_eq!(
        greedy.text, again.text,
        "greedy must not depend on the seed or earlier calls"
    );

    let a = model.chat(&question, 24, 0.8, 1234).expect("sampled");
    let b = model.chat(&question, 24, 0.8, 1234).expect("sampled again");
    assert_eq!(a.text, b.text, "same seed, different text");

    let capped = model
        .chat(&[Message::user("Write a long poem about the sea.")], 5, 0.0, 0)
        .expect("capped");
    assert_eq!(capped.finish_reason, "length");
    assert_eq!(capped.completion_tokens, 5);

    let t = greedy.timings;
    eprintln!(
        "SmolLM2 greedy: {:?} | prompt {} tok in {:?} ({:.0} tok/s), {} new tok in {:?} ({:.1} tok/s)",
        greedy.text,
        greedy.prompt_tokens,
        t.prefill,
        f64::from(greedy.prompt_tokens) / t.prefill.as_secs_f64(),
        greedy.completion_tokens,
        t.decode,
        f64::from(greedy.completion_tokens.saturating_sub(1)) / t.decode.as_secs_f64().max(1e-9),
    );
}

/// The quantised kernels SmolLM2 runs on work row by row, so a conversation decoded in a batch
/// of four (joining and leaving at different steps, some prompts sharing cached blocks) gets the
/// tokens it gets alone with the prefix cache off.
#[test]
fn batched_and_cached_replies_equal_one_at_a_time_replies() {
    let Some(mut model) = load() else { return };
    let convos: Vec<(Vec<Message>, u32, f32, u64)> = vec![
        (vec![Message::user("Why is the sky blue?")], 24, 0.0, 0),
        (vec![Message::user("Write a haiku about autumn.")], 16, 0.7, 3),
        (vec![Message::user("Name three prime numbers.")], 8, 0.0, 0),
        (
            vec![
                Message::system("You are a pirate. Answer every question in pirate speech, briefly."),
                Message::user("How do I boil an egg?"),
            ],
            24,
            0.9,
            11,
        ),
        (vec![Message::user("Why is the sky blue?")], 24, 1.0, 5),
    ];
    model.set_prefix_cache_bytes(0);
    let solo: Vec<_> = convos
        .iter()
        .map(|(m, n, t, s)| model.chat(m, *n, *t, *s).unwrap())
        .collect();
    model.set_prefix_cache_bytes(DEFAULT_PREFIX_CACHE_BYTES);
    let served = BatchedModel::spawn(model, 4);
    for round in ["cold", "warm"] {
        let handles: Vec<_> = convos
            .iter()
            .cloned()
            .map(|(m, n, t, s)| {
                let served = served.clone();
                std::thread::spawn(move || served.chat(&m, n, t, s).unwrap())
            })
            .collect();
        for (i, h) in handles.into_iter().enumerate() {
            let got = h.join().unwrap();
            assert_eq!(
                (&got.text, got.completion_tokens, got.finish_reason),
                (&solo[i].text, solo[i].completion_tokens, solo[i].finish_reason),
                "conversation {i}, {round} cache"
            );
        }
    }
    let stats = served
        .with_model(|m| Ok(m.prefix_cache_stats().unwrap()))
        .unwrap();
    assert!(stats.reused_tokens > 0, "{stats:?}");
}
