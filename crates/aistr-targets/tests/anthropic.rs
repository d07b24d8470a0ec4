//! The Anthropic Messages API client against a real HTTP server on loopback speaking that API:
//! headers, system field, tool use and tool results, streamed events, and the faults (429 with
//! `retry-after`, 529 overloaded, cut streams). A failure must end as a typed error (the engine
//! records it unscored) or as a successful retry, never as an empty answer.

use aistr_core::{ChatRequest, Message, ToolCall, ToolSpec};
use aistr_targets::{
    ANTHROPIC_VERSION, AnthropicConfig, AnthropicTarget, EndpointSpec, RetryPolicy, Target, TargetErrorKind,
};
use aistr_test_support::{MockServer, Reply, ScriptedCall};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn request(prompt: &str) -> ChatRequest {
    ChatRequest {
        messages: vec![
            Message::system("You are a bank assistant."),
            Message::user(prompt),
        ],
        max_tokens: 32,
        temperature: 0.0,
        seed: Some(1),
        tools: Vec::new(),
    }
}

fn tools() -> Vec<ToolSpec> {
    vec![ToolSpec {
        name: "send_money".into(),
        description: "Sends money to an IBAN.".into(),
        parameters: json!({"type": "object", "properties": {"recipient": {"type": "string"}, "amount": {"type": "number"}},
            "required": ["recipient", "amount"]}),
    }]
}

fn config(server: &MockServer, stream: bool) -> AnthropicConfig {
    let mut c = AnthropicConfig::new(server.base_url(), "claude-mock");
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
async fn plain_and_streamed_answers_match_and_the_key_goes_only_in_x_api_key() {
    let key = "sk-ant-SECRET-1";
    let server = MockServer::start(Arc::new(|r| Reply::Text(format!("echo: {}", r.prompt)))).await;
    for stream in [false, true] {
        let mut c = config(&server, stream);
        c.api_key_env = Some("ANTHROPIC_KEY".into());
        let t = AnthropicTarget::with_env(c, &|n| (n == "ANTHROPIC_KEY").then(|| key.to_owned())).unwrap();
        assert!(!format!("{t:?}").contains(key));
        let r = t.chat(&request("hello there")).await.unwrap();
        assert_eq!(r.text, "echo: hello there", "stream={stream}");
        assert_eq!(r.finish_reason.as_deref(), Some("end_turn"));
        assert_eq!((r.tries, r.usage.prompt_tokens), (1, 10));
        assert!(r.usage.completion_tokens > 0);
        assert!(r.tool_calls.is_empty());
        if stream {
            assert!(r.raw.contains("message_stop"));
        }
        assert!(!r.raw.contains(key));
    }
    for seen in server.requests() {
        assert_eq!(seen.x_api_key.as_deref(), Some(key));
        assert_eq!(seen.authorization, None);
        assert_eq!(seen.anthropic_version.as_deref(), Some(ANTHROPIC_VERSION));
        assert!(!seen.body.to_string().contains(key));
        assert_eq!(seen.body["system"], "You are a bank assistant.");
        assert_eq!(seen.body["model"], "claude-mock");
        assert_eq!(
            seen.body["messages"].as_array().unwrap().len(),
            1,
            "system is not a message"
        );
    }
    let missing = AnthropicTarget::with_env(
        AnthropicConfig {
            api_key_env: Some("NOPE".into()),
            ..config(&server, false)
        },
        &|_| None,
    )
    .unwrap_err();
    assert_eq!(missing.kind, TargetErrorKind::Config);
    assert!(missing.message.contains("NOPE"));
}

#[tokio::test]
async fn tool_use_round_trip_plain_and_streamed() {
    // Turn 1 asks for a tool; once the tool result is in the conversation, a final answer.
    let server = MockServer::start(Arc::new(|r| {
        let messages = r.body["messages"].as_array().cloned().unwrap_or_default();
        let result = messages
            .iter()
            .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
            .find(|b| b["type"] == "tool_result");
        match result {
            None => Reply::ToolCalls(
                "I'll send it.".into(),
                vec![ScriptedCall {
                    id: "toolu_01".into(),
                    name: "send_money".into(),
                    arguments: json!({"recipient": "GB29NWBK60161331926819", "amount": 100}),
                }],
            ),
            Some(b) => Reply::Text(format!(
                "done ({} for {})",
                b["content"].as_str().unwrap_or("?"),
                b["tool_use_id"].as_str().unwrap_or("?")
            )),
        }
    }))
    .await;
    for stream in [false, true] {
        let t = AnthropicTarget::new(config(&server, stream)).unwrap();
        let mut req = request("pay my rent");
        req.tools = tools();
        let first = t.chat(&req).await.unwrap();
        assert_eq!(
            first.finish_reason.as_deref(),
            Some("tool_use"),
            "stream={stream}"
        );
        assert_eq!(first.text, "I'll send it.");
        assert_eq!(
            first.tool_calls,
            vec![ToolCall {
                id: "toolu_01".into(),
                name: "send_money".into(),
                arguments: json!({"recipient": "GB29NWBK60161331926819", "amount": 100}),
            }],
            "stream={stream}"
        );
        req.messages.push(Message::assistant_tool_calls(
            first.text.clone(),
            first.tool_calls.clone(),
        ));
        req.messages
            .push(Message::tool_result("toolu_01", "transaction 7 ok"));
        let second = t.chat(&req).await.unwrap();
        assert_eq!(second.text, "done (transaction 7 ok for toolu_01)");
        assert!(second.tool_calls.is_empty());
    }
    let sent = &server.requests()[1].body;
    assert_eq!(sent["tools"][0]["name"], "send_money");
    assert_eq!(sent["tools"][0]["input_schema"]["required"][1], "amount");
    let msgs = sent["messages"].as_array().unwrap();
    assert_eq!(
        msgs.iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["user", "assistant", "user"]
    );
    assert_eq!(msgs[1]["content"][1]["type"], "tool_use");
    assert_eq!(msgs[1]["content"][1]["input"]["amount"], 100);
}

#[tokio::test]
async fn rate_limits_honour_retry_after_and_overload_is_retried() {
    let server = MockServer::start(Arc::new(|r| match (r.prompt.as_str(), r.nth) {
        ("limited", 1) => Reply::Status {
            code: 429,
            retry_after: Some("1".into()),
        },
        ("overloaded", 1 | 2) => Reply::Status {
            code: 529,
            retry_after: None,
        },
        ("always-overloaded", _) => Reply::Status {
            code: 529,
            retry_after: None,
        },
        ("bad-request", _) => Reply::Status {
            code: 400,
            retry_after: None,
        },
        _ => Reply::Text("fine".into()),
    }))
    .await;
    let t = AnthropicTarget::new(config(&server, false)).unwrap();
    let started = Instant::now();
    let r = t.chat(&request("limited")).await.unwrap();
    assert_eq!((r.text.as_str(), r.tries), ("fine", 2));
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "retry-after: 1 not honoured: {:?}",
        started.elapsed()
    );
    let r = t.chat(&request("overloaded")).await.unwrap();
    assert_eq!((r.text.as_str(), r.tries), ("fine", 3));
    let e = t.chat(&request("always-overloaded")).await.unwrap_err();
    assert_eq!((e.kind, e.tries), (TargetErrorKind::Server, 3));
    assert!(e.raw.unwrap_or_default().contains("overloaded_error"));
    let e = t.chat(&request("bad-request")).await.unwrap_err();
    assert_eq!((e.kind, e.tries), (TargetErrorKind::Client, 1));
}

#[tokio::test]
async fn cut_streams_are_transport_failures_and_recover_on_retry() {
    let server = MockServer::start(Arc::new(|r| match (r.prompt.as_str(), r.nth) {
        ("cut", _) => Reply::CutStream(vec!["Sure, ".into(), "here is".into()]),
        ("cut-once", 1) => Reply::CutStream(vec!["partial".into()]),
        ("malformed", _) => Reply::Malformed("{\"content\": [".into()),
        _ => Reply::Text("whole answer".into()),
    }))
    .await;
    let t = AnthropicTarget::new(config(&server, true)).unwrap();
    let e = t.chat(&request("cut")).await.unwrap_err();
    assert_eq!(e.kind, TargetErrorKind::CutStream, "{e}");
    assert_eq!(e.tries, 3);
    assert!(
        e.raw.unwrap_or_default().contains("Sure, "),
        "the partial stream is kept for the journal"
    );
    let r = t.chat(&request("cut-once")).await.unwrap();
    assert_eq!((r.text.as_str(), r.tries), ("whole answer", 2));
    let plain = AnthropicTarget::new(config(&server, false)).unwrap();
    assert_eq!(
        plain.chat(&request("malformed")).await.unwrap_err().kind,
        TargetErrorKind::Malformed
    );
}

#[tokio::test]
async fn rpm_and_concurrency_limits_apply() {
    let server = MockServer::start(Arc::new(|_| {
        Reply::Delay(Duration::from_millis(100), Box::new(Reply::Text("ok".into())))
    }))
    .await;
    let mut c = config(&server, false);
    c.concurrency = 2;
    let t = Arc::new(AnthropicTarget::new(c).unwrap());
    assert_eq!(t.concurrency(), 2);
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
    assert!(
        started.elapsed() >= Duration::from_millis(290),
        "{:?}",
        started.elapsed()
    );
    // 60 rpm = a burst of one, then one a second: three requests take at least two seconds.
    let mut c = config(&server, false);
    c.rpm = Some(60);
    let t = AnthropicTarget::new(c).unwrap();
    let started = Instant::now();
    for i in 0..3 {
        t.chat(&request(&format!("r{i}"))).await.unwrap();
    }
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_endpoint_spec_builds_an_anthropic_target() {
    let server = MockServer::start(Arc::new(|_| Reply::Text("via spec".into()))).await;
    let spec = EndpointSpec {
        base_url: Some(server.base_url()),
        ..EndpointSpec::anthropic("claude-mock")
    };
    let t = spec.build().unwrap();
    assert_eq!(t.info().kind, "anthropic");
    assert_eq!(t.chat(&request("x")).await.unwrap().text, "via spec");
    assert_eq!(spec.identity()["base_url"], server.base_url());
    let public = EndpointSpec::anthropic("m").identity();
    assert_eq!(public["base_url"], "https://api.anthropic.com/v1");
    assert!(
        EndpointSpec::of_kind(aistr_targets::EndpointKind::Anthropic)
            .validate()
            .is_err()
    );
}
