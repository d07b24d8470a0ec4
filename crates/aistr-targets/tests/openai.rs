//! The OpenAI-compatible client against a real HTTP server on loopback, including the faults real
//! servers produce. Every failure must end as a typed error (the engine records it as unscored) or
//! as a successful retry; nothing may turn into an empty "answer".

use aistr_core::{ChatRequest, Message};
use aistr_targets::{OpenAiConfig, OpenAiTarget, RetryPolicy, Target, TargetErrorKind};
use aistr_test_support::{MockServer, Reply};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn request(prompt: &str) -> ChatRequest {
    ChatRequest {
        messages: vec![Message::user(prompt)],
        max_tokens: 32,
        temperature: 0.0,
        seed: Some(1),
    }
}

fn config(server: &MockServer, stream: bool) -> OpenAiConfig {
    let mut c = OpenAiConfig::new(server.base_url(), "mock-model");
    c.stream = stream;
    c.timeout = Duration::from_millis(800);
    c.retry = RetryPolicy {
        max_retries: 2,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_secs(3),
    };
    c
}

#[tokio::test]
async fn plain_and_streamed_answers_match() {
    let server = MockServer::start(Arc::new(|r| Reply::Text(format!("echo: {}", r.prompt)))).await;
    for stream in [false, true] {
        let t = OpenAiTarget::new(config(&server, stream)).unwrap();
        let r = t.chat(&request("hello there")).await.unwrap();
        assert_eq!(r.text, "echo: hello there", "stream={stream}");
        assert_eq!(r.finish_reason.as_deref(), Some("stop"));
        assert_eq!(r.tries, 1);
        assert!(r.usage.completion_tokens > 0);
        if stream {
            assert!(r.raw.contains("[DONE]"));
        }
    }
    let body = &server.requests()[0].body;
    assert_eq!(body["model"], "mock-model");
    assert_eq!(body["max_tokens"], 32);
    assert_eq!(body["seed"], 1);
}

#[tokio::test]
async fn retry_after_is_honoured_then_answer_scored() {
    let server = MockServer::start(Arc::new(|r| {
        if r.nth == 1 {
            Reply::Status {
                code: 429,
                retry_after: Some("1".into()),
            }
        } else {
            Reply::Text("fine".into())
        }
    }))
    .await;
    let t = OpenAiTarget::new(config(&server, false)).unwrap();
    let started = Instant::now();
    let r = t.chat(&request("x")).await.unwrap();
    assert_eq!(r.text, "fine");
    assert_eq!(r.tries, 2);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After: 1 not honoured: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn persistent_500_ends_as_server_error_after_retries() {
    let server = MockServer::start(Arc::new(|_| Reply::Status {
        code: 500,
        retry_after: None,
    }))
    .await;
    let t = OpenAiTarget::new(config(&server, false)).unwrap();
    let e = t.chat(&request("x")).await.unwrap_err();
    assert_eq!(e.kind, TargetErrorKind::Server);
    assert_eq!(e.tries, 3);
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = MockServer::start(Arc::new(|_| Reply::Status {
        code: 400,
        retry_after: None,
    }))
    .await;
    let t = OpenAiTarget::new(config(&server, false)).unwrap();
    let e = t.chat(&request("x")).await.unwrap_err();
    assert_eq!(e.kind, TargetErrorKind::Client);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn timeouts_malformed_and_cut_streams_are_errors() {
    let server = MockServer::start(Arc::new(|r| match r.prompt.as_str() {
        "slow" => Reply::Delay(Duration::from_secs(5), Box::new(Reply::Text("late".into()))),
        "malformed" => Reply::Malformed("{\"choices\": [".into()),
        "nocontent" => Reply::Malformed("{\"choices\": [{\"message\": {}}]}".into()),
        "cut" => Reply::CutStream(vec!["Sure, ".into(), "here is".into()]),
        _ => Reply::Text("ok".into()),
    }))
    .await;
    let t = OpenAiTarget::new(config(&server, false)).unwrap();
    assert_eq!(
        t.chat(&request("slow")).await.unwrap_err().kind,
        TargetErrorKind::Timeout
    );
    let e = t.chat(&request("malformed")).await.unwrap_err();
    assert_eq!(e.kind, TargetErrorKind::Malformed);
    assert_eq!(e.raw.as_deref(), Some("{\"choices\": ["));
    assert_eq!(
        t.chat(&request("nocontent")).await.unwrap_err().kind,
        TargetErrorKind::Malformed
    );
    let ts = OpenAiTarget::new(config(&server, true)).unwrap();
    let e = ts.chat(&request("cut")).await.unwrap_err();
    assert_eq!(e.kind, TargetErrorKind::CutStream, "{e}");
}

#[tokio::test]
async fn cut_stream_recovers_on_retry() {
    let server = MockServer::start(Arc::new(|r| {
        if r.nth == 1 {
            Reply::CutStream(vec!["partial".into()])
        } else {
            Reply::Text("whole answer".into())
        }
    }))
    .await;
    let t = OpenAiTarget::new(config(&server, true)).unwrap();
    let r = t.chat(&request("q")).await.unwrap();
    assert_eq!(r.text, "whole answer");
    assert_eq!(r.tries, 2);
}

#[tokio::test]
async fn api_key_goes_only_in_the_header() {
    let key = "sk-test-SECRET-123";
    let server = MockServer::start(Arc::new(|_| Reply::Text("ok".into()))).await;
    let mut c = config(&server, false);
    c.api_key_env = Some("MY_KEY".into());
    let missing = OpenAiTarget::with_env(c.clone(), &|_| None).unwrap_err();
    assert_eq!(missing.kind, TargetErrorKind::Config);
    assert!(missing.to_string().contains("MY_KEY"));
    let t = OpenAiTarget::with_env(c, &|name| (name == "MY_KEY").then(|| key.to_owned())).unwrap();
    assert!(!format!("{t:?}").contains(key));
    let r = t.chat(&request("q")).await.unwrap();
    assert!(!r.raw.contains(key));
    let seen = &server.requests()[0];
    assert_eq!(
        seen.authorization.as_deref(),
        Some(format!("Bearer {key}").as_str())
    );
    assert!(!seen.body.to_string().contains(key));
}

#[tokio::test]
async fn concurrency_limit_is_respected() {
    let server = MockServer::start(Arc::new(|_| {
        Reply::Delay(Duration::from_millis(100), Box::new(Reply::Text("ok".into())))
    }))
    .await;
    let mut c = config(&server, false);
    c.concurrency = 2;
    let t = Arc::new(OpenAiTarget::new(c).unwrap());
    let started = Instant::now();
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let t = Arc::clone(&t);
            tokio::spawn(async move { t.chat(&request(&format!("q{i}"))).await.unwrap() })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    // 6 requests, 2 at a time, 100 ms each: at least 3 rounds.
    assert!(
        started.elapsed() >= Duration::from_millis(290),
        "{:?}",
        started.elapsed()
    );
}
