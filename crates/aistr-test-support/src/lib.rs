//! A real HTTP server on loopback that speaks the OpenAI chat-completions protocol (and, on
//! `/v1/messages`, Anthropic's Messages API: [`anthropic`]) and answers from a script, tool calls
//! included, so tests exercise the real client (TCP, HTTP, JSON, SSE) while deciding each answer —
//! including the failures real servers produce: 429 with `Retry-After`, 500s, stalls, malformed JSON
//! and streams cut mid-answer.
//!
//! [`require`] (re-exported from `aistr-test-require`) holds the one rule for tests that need something outside the repository (models,
//! chromium, xmllint): skipped with a note on a developer's machine, a failure under CI.

pub use aistr_test_require as require;
pub use aistr_test_require::{
    PgCluster, find_program, models_dir, require_model_or_skip, require_or_skip, require_program_or_skip,
    under_ci,
};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub mod agents;
pub mod anthropic;
pub mod app;
pub mod legacy;
pub mod mcp_server;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct SeenRequest {
    /// The JSON body.
    pub body: Value,
    /// The last user message's content.
    pub prompt: String,
    /// Whether the client asked for a stream.
    pub stream: bool,
    /// How many times this prompt has been received, this one included (1-based).
    pub nth: usize,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The `x-api-key` header (Anthropic), if any.
    pub x_api_key: Option<String>,
    /// The `anthropic-version` header, if any.
    pub anthropic_version: Option<String>,
}

/// One tool call a scripted reply makes: id, tool name, arguments.
#[derive(Debug, Clone)]
pub struct ScriptedCall {
    /// Call id.
    pub id: String,
    /// Tool name.
    pub name: String,
    /// Arguments object.
    pub arguments: Value,
}

/// What the server does with a request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A normal answer (JSON or SSE, as the client asked).
    Text(String),
    /// An answer that calls tools (with optional text before the calls).
    ToolCalls(String, Vec<ScriptedCall>),
    /// An HTTP error status with an optional `Retry-After` (seconds).
    Status {
        /// Status code.
        code: u16,
        /// `Retry-After` header value.
        retry_after: Option<String>,
    },
    /// A 200 whose body is not valid completion JSON.
    Malformed(String),
    /// A stream that sends these deltas and then drops the connection without `[DONE]`.
    CutStream(Vec<String>),
    /// Waits, then replies.
    Delay(Duration, Box<Reply>),
}

/// Decides the reply for each request.
pub type Script = Arc<dyn Fn(&SeenRequest) -> Reply + Send + Sync>;

#[derive(Clone)]
pub(crate) struct AppState {
    script: Script,
    seen: Arc<Mutex<Vec<SeenRequest>>>,
    counts: Arc<Mutex<HashMap<String, usize>>>,
}

/// A running mock server; it stops when dropped.
pub struct MockServer {
    /// Where it listens.
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<SeenRequest>>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl MockServer {
    /// Starts a server on 127.0.0.1 with an ephemeral port, on the current tokio runtime.
    pub async fn start(script: Script) -> MockServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        Self::serve(listener, script)
    }

    /// Serves on an already bound listener.
    pub fn serve(listener: tokio::net::TcpListener, script: Script) -> MockServer {
        let addr = listener.local_addr().expect("local addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let state = AppState {
            script,
            seen: Arc::clone(&seen),
            counts: Arc::default(),
        };
        let app = Router::new()
            .route("/v1/chat/completions", post(handle_openai))
            .route("/v1/messages", post(anthropic::handle))
            .with_state(state);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        MockServer {
            addr,
            seen,
            shutdown: Some(tx),
        }
    }

    /// The base URL to configure a target with (`http://127.0.0.1:PORT/v1`).
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every request received so far.
    #[must_use]
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.seen.lock().expect("lock").clone()
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

async fn handle_openai(State(state): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let Ok(body) = serde_json::from_str::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "request is not JSON").into_response();
    };
    let prompt = body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_owned();
    let (seen, reply) = scripted(&state, &headers, body, prompt).await;
    render(reply, seen.stream)
}

/// Records a request and resolves its scripted reply (delays included).
async fn scripted(
    state: &AppState,
    headers: &HeaderMap,
    body: Value,
    prompt: String,
) -> (SeenRequest, Reply) {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let nth = {
        let mut counts = state.counts.lock().expect("lock");
        let c = counts.entry(prompt.clone()).or_insert(0);
        *c += 1;
        *c
    };
    let seen = SeenRequest {
        stream: body["stream"].as_bool().unwrap_or(false),
        authorization: header("authorization"),
        x_api_key: header("x-api-key"),
        anthropic_version: header("anthropic-version"),
        body,
        prompt,
        nth,
    };
    state.seen.lock().expect("lock").push(seen.clone());
    let mut reply = (state.script)(&seen);
    loop {
        match reply {
            Reply::Delay(d, next) => {
                tokio::time::sleep(d).await;
                reply = *next;
            }
            other => return (seen, other),
        }
    }
}

fn completion(text: &str) -> Value {
    json!({
        "id": "chatcmpl-mock", "object": "chat.completion", "model": "mock",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": text.split_whitespace().count()}
    })
}

fn openai_calls(calls: &[ScriptedCall]) -> Vec<Value> {
    calls
        .iter()
        .map(|c| {
            json!({"id": c.id, "type": "function",
                   "function": {"name": c.name, "arguments": c.arguments.to_string()}})
        })
        .collect()
}

/// A streamed tool-call answer: the text, then per call a header delta (id, name) and the argument
/// text in two fragments, as real servers split it.
fn openai_tool_stream(text: &str, calls: &[ScriptedCall]) -> String {
    let mut body = String::new();
    if !text.is_empty() {
        body.push_str(&sse_chunk(text));
    }
    for (i, c) in calls.iter().enumerate() {
        let head = json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": i, "id": c.id, "type": "function",
            "function": {"name": c.name, "arguments": ""}}]}, "finish_reason": null}]});
        body.push_str(&format!("data: {head}\n\n"));
        let args = c.arguments.to_string();
        let (a, b) = args.split_at(args.len() / 2);
        for part in [a, b] {
            let frag = json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": i,
                "function": {"arguments": part}}]}, "finish_reason": null}]});
            body.push_str(&format!("data: {frag}\n\n"));
        }
    }
    let end = json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}],
                     "usage": {"prompt_tokens": 10, "completion_tokens": 5}});
    body.push_str(&format!("data: {end}\n\ndata: [DONE]\n\n"));
    body
}

fn sse_chunk(delta: &str) -> String {
    let v = json!({"choices": [{"index": 0, "delta": {"content": delta}, "finish_reason": null}]});
    format!("data: {v}\n\n")
}

fn render(reply: Reply, stream: bool) -> Response {
    match reply {
        Reply::Text(text) if stream => {
            let mut body = String::new();
            for word in text.split_inclusive(' ') {
                body.push_str(&sse_chunk(word));
            }
            let end = json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                             "usage": {"prompt_tokens": 10, "completion_tokens": text.split_whitespace().count()}});
            body.push_str(&format!("data: {end}\n\ndata: [DONE]\n\n"));
            ([("content-type", "text/event-stream")], body).into_response()
        }
        Reply::Text(text) => axum::Json(completion(&text)).into_response(),
        Reply::ToolCalls(text, calls) if stream => (
            [("content-type", "text/event-stream")],
            openai_tool_stream(&text, &calls),
        )
            .into_response(),
        Reply::ToolCalls(text, calls) => axum::Json(json!({
            "id": "chatcmpl-mock", "object": "chat.completion", "model": "mock",
            "choices": [{"index": 0, "message": {"role": "assistant",
                "content": if text.is_empty() { Value::Null } else { json!(text) },
                "tool_calls": openai_calls(&calls)}, "finish_reason": "tool_calls"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5}
        }))
        .into_response(),
        Reply::Status { code, retry_after } => status(code, retry_after, "{\"error\": \"scripted\"}".into()),
        Reply::Malformed(body) => ([("content-type", "application/json")], body).into_response(),
        Reply::CutStream(parts) => cut_stream(parts.iter().map(|p| sse_chunk(p)).collect()),
        Reply::Delay(..) => unreachable!("delays are resolved before rendering"),
    }
}

/// Sends these SSE chunks, lets them reach the client, then fails the body: hyper aborts the
/// connection mid-stream, exactly like a proxy or server dying during generation.
pub(crate) fn cut_stream(chunks: Vec<String>) -> Response {
    let chunks: Vec<bytes::Bytes> = chunks.into_iter().map(bytes::Bytes::from).collect();
    let stream = futures::stream::unfold((chunks.into_iter(), false), |(mut it, failed)| async move {
        if failed {
            return None;
        }
        match it.next() {
            Some(c) => Some((Ok(c), (it, false))),
            None => {
                tokio::time::sleep(Duration::from_millis(30)).await;
                Some((Err(std::io::Error::other("connection cut by script")), (it, true)))
            }
        }
    });
    ([("content-type", "text/event-stream")], Body::from_stream(stream)).into_response()
}

/// An error status with an optional `Retry-After` and this body.
pub(crate) fn status(code: u16, retry_after: Option<String>, body: String) -> Response {
    let mut r = (
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [("content-type", "application/json")],
        body,
    )
        .into_response();
    if let Some(ra) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
        r.headers_mut().insert("retry-after", ra);
    }
    r
}

/// A script that answers every request with the same text after a fixed delay.
#[must_use]
pub fn fixed_delay(text: &str, delay: Duration) -> Script {
    let text = text.to_owned();
    Arc::new(move |_| Reply::Delay(delay, Box::new(Reply::Text(text.clone()))))
}
