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
        tools: Vec::new(),
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

#[tokio::test]
async fn tools_are_offered_and_tool_calls_parsed_plain_and_streamed() {
    use aistr_core::{ToolCall, ToolSpec};
    use aistr_test_support::ScriptedCall;
    use serde_json::json;
    // Turn 1 calls two tools; once their results are in the conversation, a final answer.
    let server = MockServer::start(Arc::new(|r| {
        let results: Vec<String> = r.body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["role"] == "tool")
            .map(|m| {
                format!(
                    "{}={}",
                    m["tool_call_id"].as_str().unwrap(),
                    m["content"].as_str().unwrap()
                )
            })
            .collect();
        if results.is_empty() {
            Reply::ToolCalls(
                String::new(),
                vec![
                    ScriptedCall {
                        id: "call_a".into(),
                        name: "get_balance".into(),
                        arguments: json!({}),
                    },
                    ScriptedCall {
                        id: "call_b".into(),
                        name: "send_money".into(),
                        arguments: json!({"recipient": "US133000000121212121212", "amount": 0.01}),
                    },
                ],
            )
        } else {
            Reply::Text(format!("results: {}", results.join(", ")))
        }
    }))
    .await;
    let tools = vec![ToolSpec {
        name: "send_money".into(),
        description: "Sends money.".into(),
        parameters: json!({"type": "object", "properties": {"amount": {"type": "number"}}}),
    }];
    for stream in [false, true] {
        let t = OpenAiTarget::new(config(&server, stream)).unwrap();
        let mut req = request("pay");
        req.tools = tools.clone();
        let first = t.chat(&req).await.unwrap();
        assert_eq!(
            first.finish_reason.as_deref(),
            Some("tool_calls"),
            "stream={stream}"
        );
        assert_eq!(first.text, "");
        assert_eq!(
            first.tool_calls[1],
            ToolCall {
                id: "call_b".into(),
                name: "send_money".into(),
                arguments: json!({"recipient": "US133000000121212121212", "amount": 0.01}),
            },
            "stream={stream}"
        );
        assert_eq!(first.tool_calls[0].arguments, json!({}));
        req.messages
            .push(Message::assistant_tool_calls("", first.tool_calls.clone()));
        req.messages.push(Message::tool_result("call_a", "1810.0"));
        req.messages.push(Message::tool_result("call_b", "sent"));
        let second = t.chat(&req).await.unwrap();
        assert_eq!(second.text, "results: call_a=1810.0, call_b=sent");
        assert!(second.tool_calls.is_empty());
    }
    let sent = &server.requests()[1].body;
    assert_eq!(sent["tools"][0]["type"], "function");
    assert_eq!(sent["tools"][0]["function"]["name"], "send_money");
    let assistant = &sent["messages"][1];
    assert_eq!(assistant["content"], serde_json::Value::Null);
    assert_eq!(assistant["tool_calls"][1]["function"]["name"], "send_money");
    // Arguments go back as the JSON *string* the API expects.
    let args = assistant["tool_calls"][1]["function"]["arguments"]
        .as_str()
        .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(args).unwrap()["amount"],
        0.01
    );
    // A plain request still carries no `tools` key at all.
    let plain = server.requests().len();
    let t = OpenAiTarget::new(config(&server, false)).unwrap();
    t.chat(&request("plain")).await.unwrap();
    assert!(server.requests()[plain].body.get("tools").is_none());
}

#[tokio::test]
async fn tool_arguments_that_are_not_json_are_kept_not_lost() {
    let server = MockServer::start(Arc::new(|_| {
        Reply::Malformed(
            r#"{"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"send_money","arguments":"{amount: lots"}}]},"finish_reason":"tool_calls"}]}"#
                .into(),
        )
    }))
    .await;
    let t = OpenAiTarget::new(config(&server, false)).unwrap();
    let r = t.chat(&request("x")).await.unwrap();
    assert_eq!(r.tool_calls[0].arguments, serde_json::json!("{amount: lots"));
}
