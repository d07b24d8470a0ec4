//! The same scripted server on `/v1/messages`, speaking Anthropic's Messages API: JSON messages
//! with `text` and `tool_use` content blocks, the typed SSE event stream (`message_start` …
//! `message_stop`), errors as `{"type": "error", "error": {...}}` with 429 + `retry-after` and
//! 529 `overloaded_error`, and streams cut before `message_stop`. One [`crate::Script`] decides,
//! so a test scripts both protocols the same way; [`crate::SeenRequest::prompt`] is the last user
//! turn's text.

use crate::{AppState, Reply, ScriptedCall, cut_stream, scripted, status};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub(crate) async fn handle(State(state): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let Ok(body) = serde_json::from_str::<Value>(&body) else {
        return status(
            400,
            None,
            error_body("invalid_request_error", "request is not JSON"),
        );
    };
    let (seen, reply) = scripted(&state, &headers, body.clone(), last_user_text(&body)).await;
    render(reply, seen.stream)
}

/// The text of the last user turn that has any (a turn of only tool results is skipped).
fn last_user_text(body: &Value) -> String {
    let Some(messages) = body["messages"].as_array() else {
        return String::new();
    };
    for m in messages.iter().rev().filter(|m| m["role"] == "user") {
        let text = match &m["content"] {
            Value::String(s) => s.clone(),
            Value::Array(blocks) => blocks
                .iter()
                .filter(|b| b["type"] == "text")
                .filter_map(|b| b["text"].as_str())
                .collect::<Vec<_>>()
                .join(""),
            _ => String::new(),
        };
        if !text.is_empty() {
            return text;
        }
    }
    String::new()
}

fn error_body(kind: &str, message: &str) -> String {
    json!({"type": "error", "error": {"type": kind, "message": message}}).to_string()
}

fn event(name: &str, data: &Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

fn blocks(text: &str, calls: &[ScriptedCall]) -> Vec<Value> {
    let mut out = Vec::new();
    if !text.is_empty() {
        out.push(json!({"type": "text", "text": text}));
    }
    for c in calls {
        out.push(json!({"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}));
    }
    out
}

fn message(text: &str, calls: &[ScriptedCall]) -> Value {
    json!({
        "id": "msg_mock", "type": "message", "role": "assistant", "model": "mock",
        "content": blocks(text, calls),
        "stop_reason": if calls.is_empty() { "end_turn" } else { "tool_use" },
        "stop_sequence": null,
        "usage": {"input_tokens": 10, "output_tokens": text.split_whitespace().count() + 5 * calls.len()}
    })
}

/// The events up to (not including) `message_delta`: the start, a ping, and every block streamed
/// (text word by word, tool input JSON in two fragments).
fn stream_events(text: &str, calls: &[ScriptedCall]) -> Vec<String> {
    let mut out = vec![
        event(
            "message_start",
            &json!({"type": "message_start", "message": {"id": "msg_mock", "type": "message", "role": "assistant",
                "model": "mock", "content": [], "stop_reason": null, "usage": {"input_tokens": 10, "output_tokens": 1}}}),
        ),
        event("ping", &json!({"type": "ping"})),
    ];
    let mut index = 0;
    if !text.is_empty() {
        out.push(event(
            "content_block_start",
            &json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}),
        ));
        for word in text.split_inclusive(' ') {
            out.push(event(
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": word}}),
            ));
        }
        out.push(event(
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    }
    for c in calls {
        out.push(event(
            "content_block_start",
            &json!({"type": "content_block_start", "index": index,
                "content_block": {"type": "tool_use", "id": c.id, "name": c.name, "input": {}}}),
        ));
        let args = c.arguments.to_string();
        let (a, b) = args.split_at(args.len() / 2);
        for part in [a, b] {
            out.push(event(
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": part}}),
            ));
        }
        out.push(event(
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    }
    out
}

fn stream(text: &str, calls: &[ScriptedCall]) -> Response {
    let mut body = stream_events(text, calls).concat();
    let stop = if calls.is_empty() { "end_turn" } else { "tool_use" };
    body.push_str(&event(
        "message_delta",
        &json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
            "usage": {"output_tokens": text.split_whitespace().count() + 5 * calls.len()}}),
    ));
    body.push_str(&event("message_stop", &json!({"type": "message_stop"})));
    ([("content-type", "text/event-stream")], body).into_response()
}

fn render(reply: Reply, streamed: bool) -> Response {
    match reply {
        Reply::Text(text) if streamed => stream(&text, &[]),
        Reply::ToolCalls(text, calls) if streamed => stream(&text, &calls),
        Reply::Text(text) => axum::Json(message(&text, &[])).into_response(),
        Reply::ToolCalls(text, calls) => axum::Json(message(&text, &calls)).into_response(),
        Reply::Status { code, retry_after } => {
            let kind = match code {
                429 => "rate_limit_error",
                529 => "overloaded_error",
                500..=599 => "api_error",
                401 => "authentication_error",
                _ => "invalid_request_error",
            };
            status(code, retry_after, error_body(kind, "scripted"))
        }
        Reply::Malformed(body) => ([("content-type", "application/json")], body).into_response(),
        Reply::CutStream(parts) => {
            let text = parts.concat();
            let mut events = stream_events(&text, &[]);
            // Drop the block's stop: the connection dies mid-block, before `message_stop`.
            events.pop();
            cut_stream(events)
        }
        Reply::Delay(..) => (StatusCode::INTERNAL_SERVER_ERROR, "unresolved delay").into_response(),
    }
}
