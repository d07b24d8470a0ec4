//! Log-probabilities from an OpenAI-compatible server (`/v1/completions` with echo + logprobs),
//! against a real HTTP server on loopback that scores like a copying model: a word already seen in
//! the prompt costs -0.5 nats, any other word -4.0. So the figures each test expects follow from the
//! prompt alone, and a wrong token window, a lost batch order or an unchecked field changes them.

use aistr_core::Message;
use aistr_targets::{OpenAiConfig, OpenAiTarget, Target, TargetErrorKind, render_transcript};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// The legacy OpenAI format, one choice per prompt, in reverse order (index says which).
    Score,
    /// A chat-only server: 404 on /v1/completions.
    NotFound,
    /// Answers without `logprobs` (the server ignores echo).
    NoLogprobs,
    /// Busy on the first request (429 with `Retry-After: 0`), then scores: the target's retry policy
    /// applies to scoring as it does to chat.
    BusyOnce,
}

/// A request body and its `Authorization` header.
type Seen = (Value, Option<String>);

#[derive(Clone)]
struct Server {
    mode: Mode,
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// Words with their leading space, GPT-style: "a b" → ["a", " b"].
fn words(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    for (i, c) in text.chars().enumerate() {
        if c.is_whitespace() && !current.trim().is_empty() {
            out.push((start, std::mem::take(&mut current)));
            start = i;
        }
        current.push(c);
    }
    if !current.is_empty() {
        out.push((start, current));
    }
    out
}

fn score(prompt: &str) -> Value {
    let tokens = words(prompt);
    let mut seen = std::collections::HashSet::new();
    let mut logprobs = Vec::new();
    for (i, (_, t)) in tokens.iter().enumerate() {
        let w = t.trim().to_owned();
        logprobs.push(if i == 0 {
            Value::Null
        } else if seen.contains(&w) {
            json!(-0.5)
        } else {
            json!(-4.0)
        });
        seen.insert(w);
    }
    json!({
        "tokens": tokens.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>(),
        "token_logprobs": logprobs,
        "text_offset": tokens.iter().map(|(o, _)| *o).collect::<Vec<_>>(),
    })
}

async fn completions(
    State(s): State<Server>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let first = {
        let mut seen = s.seen.lock().unwrap();
        seen.push((body.clone(), auth));
        seen.len() == 1
    };
    if s.mode == Mode::BusyOnce && first {
        return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "0")], "busy").into_response();
    }
    let prompts: Vec<String> = body["prompt"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let choices: Vec<Value> = prompts
        .iter()
        .enumerate()
        .rev()
        .map(|(i, p)| match s.mode {
            Mode::NoLogprobs => json!({"index": i, "text": " ok", "logprobs": null}),
            _ => json!({"index": i, "text": format!("{p} ok"), "logprobs": score(p)}),
        })
        .collect();
    match s.mode {
        Mode::NotFound => StatusCode::NOT_FOUND.into_response(),
        _ => Json(json!({"object": "text_completion", "choices": choices})).into_response(),
    }
}

async fn start(mode: Mode) -> (String, Server) {
    let server = Server {
        mode,
        seen: Arc::default(),
    };
    let app = axum::Router::new()
        .route("/v1/completions", post(completions))
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/v1"), server)
}

fn target(base: &str) -> OpenAiTarget {
    let mut c = OpenAiConfig::new(base, "scorer");
    c.api_key_env = Some("KEY".into());
    OpenAiTarget::with_env(c, &|_| Some("sk-test-123".into())).unwrap()
}

fn context() -> Vec<Message> {
    vec![
        Message::system("Records: HKID Z683291(4) belongs to Chan"),
        Message::user("What is Chan's HKID?"),
    ]
}

#[tokio::test]
async fn continuations_are_scored_on_their_own_tokens_in_batches_and_order() {
    let (base, server) = start(Mode::Score).await;
    let t = target(&base);
    let lp = t
        .log_probs()
        .expect("an OpenAI-compatible target offers log-probabilities");
    // 20 continuations: two requests (16 + 4), answered in reverse order.
    let mut conts = vec!["The HKID is Z683291(4)".to_owned()];
    conts.extend((0..19).map(|i| format!("The HKID is Q{i:06}(7)")));
    let scores = lp.score_continuations(&context(), &conts).await.unwrap();
    // " The" (-4; it starts at the space the transcript ends with), " HKID" and " is" (seen: -0.5
    // each), then the value: seen in the prompt only for the true one.
    assert_eq!(scores[0], -4.0 - 0.5 - 0.5 - 0.5);
    for s in &scores[1..] {
        assert_eq!(*s, -4.0 - 0.5 - 0.5 - 4.0);
    }
    assert!(scores[0] > scores[1], "the value in context ranks first");

    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "16 per request");
    let (body, auth) = &seen[0];
    assert_eq!(auth.as_deref(), Some("Bearer sk-test-123"));
    assert_eq!(body["echo"], true);
    assert_eq!(body["model"], "scorer");
    assert_eq!(body["prompt"].as_array().unwrap().len(), 16);
    assert_eq!(seen[1].0["prompt"].as_array().unwrap().len(), 4);
    let first = body["prompt"][0].as_str().unwrap();
    assert_eq!(first, format!("{}{}", render_transcript(&context()), conts[0]));
    // No tokenizer over the OpenAI API: token-level extraction cannot run.
    assert!(lp.tokenize("abc").await.unwrap().is_none());
}

#[tokio::test]
async fn a_server_without_log_probabilities_is_an_error_never_a_score() {
    for (mode, kind, says) in [
        (Mode::NotFound, TargetErrorKind::Client, "HTTP 404"),
        (Mode::NoLogprobs, TargetErrorKind::Malformed, "no `logprobs`"),
    ] {
        let (base, _server) = start(mode).await;
        let t = target(&base);
        let e = t
            .log_probs()
            .unwrap()
            .score_continuations(&context(), &["x".into()])
            .await
            .expect_err("no scores");
        assert_eq!(e.kind, kind);
        assert!(e.message.contains(says), "{}", e.message);
    }
}

#[tokio::test]
async fn a_busy_scoring_endpoint_is_retried_like_chat() {
    let (base, server) = start(Mode::BusyOnce).await;
    let t = target(&base);
    let scores = t
        .log_probs()
        .unwrap()
        .score_continuations(&context(), &["x".into()])
        .await
        .expect("scored after the retry");
    assert_eq!(scores.len(), 1);
    assert_eq!(server.seen.lock().unwrap().len(), 2, "one 429, one retry");
}

#[test]
fn only_tokens_covering_the_continuation_count_and_bad_values_are_refused() {
    let choice = json!({"logprobs": {
        "tokens": ["A", " b", "c", " d"],
        "token_logprobs": [null, -1.0, -2.0, -3.0],
        "text_offset": [0, 1, 3, 4],
    }});
    // Characters [3, 6): "c" and " d".
    assert_eq!(aistr_targets::continuation_log_prob(&choice, 3, 6).unwrap(), -5.0);
    // [2, 6): " b" straddles the start and counts.
    assert_eq!(aistr_targets::continuation_log_prob(&choice, 2, 6).unwrap(), -6.0);
    // The echo stops short of the continuation's end.
    assert!(aistr_targets::continuation_log_prob(&choice, 3, 9).is_err());
    // A null or positive log-probability inside the continuation is refused.
    let bad =
        json!({"logprobs": {"tokens": ["A", " b"], "token_logprobs": [null, 0.5], "text_offset": [0, 1]}});
    assert!(aistr_targets::continuation_log_prob(&bad, 1, 3).is_err());
    let null =
        json!({"logprobs": {"tokens": ["A", " b"], "token_logprobs": [-1.0, null], "text_offset": [0, 1]}});
    assert!(aistr_targets::continuation_log_prob(&null, 1, 3).is_err());
}
