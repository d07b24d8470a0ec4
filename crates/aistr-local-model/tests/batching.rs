//! Batched generation gives every conversation exactly the tokens it gets alone: conversations of
//! different lengths, temperatures and seeds, stepped together with some joining late and others
//! leaving early, and served concurrently through a `BatchedModel` at several batch sizes, all
//! match one-at-a-time `chat` token for token. The models are tiny random-weight GGUFs the test
//! writes (so the replies are long and varied); `real_model.rs` repeats the check on SmolLM2.

use std::sync::Arc;

use aistr_local_model::testing::write_tiny_gguf;
use aistr_local_model::{BatchedModel, Generation, LocalModel, Message};

fn tiny_llama() -> (tempfile::TempDir, LocalModel) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny-llama.gguf");
    write_tiny_gguf(&path, "llama", None).unwrap();
    let m = LocalModel::load(&path).unwrap();
    (dir, m)
}

/// (conversation, max_tokens, temperature, seed): greedy and sampled, short and long prompts.
fn requests() -> Vec<(Vec<Message>, u32, f32, u64)> {
    let long = "Tell me a long story about the sea and the ships on it, please. ".repeat(3);
    vec![
        (vec![Message::user("hi")], 20, 0.0, 0),
        (
            vec![Message::system("Be brief."), Message::user(long.as_str())],
            24,
            0.8,
            7,
        ),
        (vec![Message::user("What is 2+2?")], 5, 0.0, 0),
        (vec![Message::user("hi")], 20, 1.0, 1),
        (vec![Message::user("hi")], 20, 1.0, 2),
        (
            vec![
                Message::user("Name a colour."),
                Message::assistant("Blue."),
                Message::user("Another one?"),
            ],
            30,
            0.7,
            42,
        ),
        (vec![Message::user("x")], 0, 0.0, 0),
    ]
}

fn alone(model: &mut LocalModel) -> Vec<Generation> {
    requests()
        .iter()
        .map(|(m, n, t, s)| model.chat(m, *n, *t, *s).unwrap())
        .collect()
}

fn same_reply(a: &Generation, b: &Generation, what: &str) {
    assert_eq!(
        (&a.text, a.prompt_tokens, a.completion_tokens, a.finish_reason),
        (&b.text, b.prompt_tokens, b.completion_tokens, b.finish_reason),
        "{what}"
    );
}

#[test]
fn stepping_sequences_together_gives_each_the_tokens_it_gets_alone() {
    let (_d, mut model) = tiny_llama();
    assert!(model.can_batch());
    let solo = alone(&mut model);
    // The random weights must give replies worth comparing: several tokens, different texts.
    assert!(
        solo.iter().filter(|g| g.completion_tokens >= 5).count() >= 4,
        "{solo:?}"
    );
    assert_ne!(solo[3].text, solo[4].text, "different seeds sample differently");

    let reqs = requests();
    let mut seqs: Vec<_> = reqs
        .iter()
        .map(|(m, n, t, s)| model.begin(m, *n, *t, *s).unwrap())
        .collect();
    // Sequences 0-2 start together; 3 and 4 join after two steps, 5 and 6 after five, so every
    // step mixes prefills with decodes and the batch changes as short replies finish.
    let mut steps = 0;
    while seqs.iter().any(|s| !s.is_finished()) {
        let joined = match steps {
            0 | 1 => 3,
            2..=4 => 5,
            _ => seqs.len(),
        };
        let mut batch: Vec<_> = seqs[..joined].iter_mut().collect();
        model.step(&mut batch).unwrap();
        steps += 1;
    }
    for (i, seq) in seqs.into_iter().enumerate() {
        same_reply(
            &model.finish(seq).unwrap(),
            &solo[i],
            &format!("request {i} stepped in a batch"),
        );
    }
    assert!(
        steps > 5,
        "the longest reply needs more steps than the joins: {steps}"
    );
}

#[test]
fn a_batched_model_serves_concurrent_callers_with_the_tokens_of_one_at_a_time() {
    let (_d, mut model) = tiny_llama();
    let solo = alone(&mut model);
    for max_batch in [1, 3, 8] {
        let served = BatchedModel::spawn(model, max_batch);
        assert_eq!(served.max_batch(), max_batch);
        for (i, reply) in concurrently(&served).iter().enumerate() {
            same_reply(reply, &solo[i], &format!("request {i} at max_batch {max_batch}"));
        }
        // Model work runs between steps and sees the same model.
        let ids = served.with_model(|m| m.tokenize("hi")).unwrap();
        assert!(!ids.is_empty());
        // Errors reach the caller and the server keeps going.
        let bad = served.chat(&[Message::user("hi")], 4, -1.0, 0);
        assert!(bad.is_err());
        model = take_back(served);
    }
}

/// Sends every request at once, each from its own thread; the replies in request order.
fn concurrently(served: &BatchedModel) -> Vec<Generation> {
    let handles: Vec<_> = requests()
        .into_iter()
        .map(|(m, n, t, s)| {
            let served = served.clone();
            std::thread::spawn(move || served.chat(&m, n, t, s).unwrap())
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// Gets the model back from its serving thread (the last handle's drop ends the thread).
fn take_back(served: BatchedModel) -> LocalModel {
    let slot = Arc::new(std::sync::Mutex::new(None));
    let out = Arc::clone(&slot);
    served
        .with_model(move |m| {
            // Swap in a fresh load of the same file so the thread keeps a model until it ends.
            let fresh = LocalModel::load(m.path())?;
            *out.lock().unwrap() = Some(std::mem::replace(m, fresh));
            Ok(())
        })
        .unwrap();
    drop(served);
    slot.lock().unwrap().take().unwrap()
}

#[test]
fn architectures_that_cannot_batch_serve_one_conversation_at_a_time_with_the_same_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny-qwen2.gguf");
    write_tiny_gguf(&path, "qwen2", None).unwrap();
    let mut model = LocalModel::load(&path).unwrap();
    assert!(!model.can_batch());
    let solo = alone(&mut model);
    let served = BatchedModel::spawn(model, 8);
    assert_eq!(served.max_batch(), 1);
    for (i, reply) in concurrently(&served).iter().enumerate() {
        same_reply(reply, &solo[i], &format!("qwen2 request {i}"));
    }
}

#[test]
fn the_prefix_cache_reuses_shared_openings_and_changes_no_token() {
    let (_d, mut cold) = tiny_llama();
    cold.set_prefix_cache_bytes(0);
    let expected = alone(&mut cold);
    assert_eq!(cold.prefix_cache_stats().unwrap().reused_tokens, 0);

    let (_d2, mut warm) = tiny_llama();
    // The first pass shares openings between requests (the template's header, "hi" three
    // times); the second finds every prompt's blocks cached.
    let first = alone(&mut warm);
    let after_first = warm.prefix_cache_stats().unwrap();
    let second = alone(&mut warm);
    let after_second = warm.prefix_cache_stats().unwrap();
    for i in 0..expected.len() {
        same_reply(&first[i], &expected[i], &format!("request {i}, cache filling"));
        same_reply(&second[i], &expected[i], &format!("request {i}, cache warm"));
    }
    assert!(after_first.reused_tokens > 0, "{after_first:?}");
    assert!(after_first.blocks > 0);
    let reused_second = after_second.reused_tokens - after_first.reused_tokens;
    let prefilled_second = after_second.prefilled_tokens - after_first.prefilled_tokens;
    assert!(
        reused_second > prefilled_second,
        "a warm cache serves most of the prompts: {after_second:?}"
    );
}
