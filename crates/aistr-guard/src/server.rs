//! The proxy: axum routes on a hyper HTTP/1 server with limits (header count and size, a header
//! read timeout for slow clients, a body size cap and read timeout, an upstream timeout, a
//! connection cap), bearer-key auth before anything else, input screening before the upstream sees
//! a request, output screening before the client sees an answer (windowed for streams), the audit
//! log and the metrics, and a graceful shutdown that stops accepting and lets in-flight requests
//! (streams included) finish.

use crate::audit::{AuditLog, AuditRecord};
use crate::keys::Keys;
use crate::llm::LlmGuard;
use crate::metrics::Metrics;
use crate::policy::{Action, Policy, Resolved, Side};
use crate::request::{self, ChatBody};
use crate::screen::{Decision, Fired, Screener, StreamScreener, StreamStep};
use aistr_targets::Target;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use futures::StreamExt;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Where answers come from.
pub enum Upstream {
    /// An OpenAI-compatible HTTP API.
    Http {
        /// Base URL up to `/v1`.
        base_url: String,
        /// The upstream's key (read from the named variable; never logged, never in `Debug`).
        key: Option<String>,
    },
    /// A [`Target`] in this process (the embedded model), for `--upstream local`.
    Target {
        /// The target.
        target: Arc<dyn Target>,
        /// The model name `/v1/models` lists.
        model: String,
    },
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Upstream::Http { base_url, key } => f
                .debug_struct("Http")
                .field("base_url", base_url)
                .field("key", &key.as_ref().map(|_| "<redacted>"))
                .finish(),
            Upstream::Target { model, .. } => f.debug_struct("Target").field("model", model).finish(),
        }
    }
}

/// The guard's hardening limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body, bytes (more: 413).
    pub max_body_bytes: usize,
    /// Most request headers (more: 431).
    pub max_headers: usize,
    /// Largest header block, bytes.
    pub max_header_bytes: usize,
    /// A client must send its headers within this.
    pub header_timeout: Duration,
    /// ... and its body within this (else 408).
    pub body_timeout: Duration,
    /// The upstream must answer (a whole non-streamed answer, or each streamed chunk) within this.
    pub upstream_timeout: Duration,
    /// Largest upstream answer, bytes.
    pub max_answer_bytes: usize,
    /// Most connections at once; more wait to be accepted.
    pub max_connections: usize,
    /// How long shutdown waits for in-flight requests.
    pub drain_timeout: Duration,
    /// Most requests running in or waiting for the classifier tier (whose threads score the waiting
    /// ones in batches, see [`crate::batch`]); one more is shed at once with
    /// 503 and `Retry-After: 1` instead of queueing without bound (an overloaded guard answers every
    /// request with a status; none hangs).
    pub classifier_queue: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1 << 20,
            max_headers: 64,
            max_header_bytes: 16 << 10,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            upstream_timeout: Duration::from_secs(120),
            max_answer_bytes: 8 << 20,
            max_connections: 1024,
            drain_timeout: Duration::from_secs(30),
            classifier_queue: 64,
        }
    }
}

/// Everything the guard runs with.
pub struct GuardConfig {
    /// Where answers come from.
    pub upstream: Upstream,
    /// The policy.
    pub policy: Policy,
    /// Client keys.
    pub keys: Keys,
    /// The detectors (rules, plus the classifier or test doubles in their slots).
    pub screener: Screener,
    /// The audit log.
    pub audit: AuditLog,
    /// Hardening limits.
    pub limits: Limits,
}

struct AppState {
    upstream: Upstream,
    client: reqwest::Client,
    policy: Policy,
    keys: Keys,
    screener: Screener,
    llm: Option<LlmGuard>,
    audit: AuditLog,
    metrics: Metrics,
    limits: Limits,
    next_id: AtomicU64,
    id_prefix: String,
    /// Admission to the classifier tier (running or waiting): `Limits::classifier_queue` permits.
    classifier_queue: Arc<tokio::sync::Semaphore>,
}

type Shared = Arc<AppState>;

/// A running guard.
pub struct Guard {
    /// Where it listens.
    pub addr: SocketAddr,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Guard {
    /// Starts serving on `listener` (on the current runtime).
    pub fn start(listener: tokio::net::TcpListener, config: GuardConfig) -> Result<Guard, String> {
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let llm = match &config.policy.llm {
            Some(p) if config.policy.any_enables(Side::Input, "llm-guard") => Some(LlmGuard::new(p)?),
            _ => None,
        };
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(256)
            .build()
            .map_err(|e| e.to_string())?;
        let mut prefix = [0u8; 4];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut prefix);
        let state = Arc::new(AppState {
            upstream: config.upstream,
            client,
            policy: config.policy,
            keys: config.keys,
            screener: config.screener,
            llm,
            audit: config.audit,
            metrics: Metrics::default(),
            classifier_queue: Arc::new(tokio::sync::Semaphore::new(config.limits.classifier_queue.max(1))),
            limits: config.limits,
            next_id: AtomicU64::new(1),
            id_prefix: hex::encode(prefix),
        });
        let cancel = CancellationToken::new();
        let task = tokio::spawn(serve(listener, state, cancel.clone()));
        Ok(Guard { addr, cancel, task })
    }

    /// A token that stops the guard when cancelled.
    #[must_use]
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Stops accepting, lets in-flight requests finish (up to the drain timeout), and returns.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        let _ = self.task.await;
    }

    /// Waits until the guard has stopped (after its token was cancelled).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

fn router(state: Shared) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/models", get(models))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn serve(listener: tokio::net::TcpListener, state: Shared, cancel: CancellationToken) {
    let limits = state.limits.clone();
    let app = router(state);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    loop {
        let permit = tokio::select! {
            () = cancel.cancelled() => break,
            p = Arc::clone(&permits).acquire_owned() => match p { Ok(p) => p, Err(_) => break },
        };
        let (stream, _) = tokio::select! {
            () = cancel.cancelled() => break,
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .max_headers(limits.max_headers)
            .max_buf_size(limits.max_header_bytes.max(8192));
        let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(limits.drain_timeout, graceful.shutdown()).await;
}

/// `/metrics` counts requests by outcome and detector: it needs a client key like the API does
/// (a Prometheus scrape job sends one as its bearer credentials). `/healthz` says only "ok" and
/// stays open for liveness probes.
async fn metrics(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(denied) = unauthorized(&state, &headers) {
        return denied;
    }
    (
        [("content-type", "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

fn error_json(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"message": message, "type": kind}})),
    )
        .into_response()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The 401 answer when the request carries no valid client key (counted in the metrics).
fn unauthorized(state: &AppState, headers: &HeaderMap) -> Option<Response> {
    if bearer(headers).and_then(|k| state.keys.check(k)).is_some() {
        return None;
    }
    state.metrics.request("unauthorized");
    Some(error_json(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "a valid bearer key is required",
    ))
}

async fn models(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(denied) = unauthorized(&state, &headers) {
        return denied;
    }
    match &state.upstream {
        Upstream::Target { model, .. } => axum::Json(json!({
            "object": "list", "data": [{"id": model, "object": "model", "owned_by": "aistr"}]
        }))
        .into_response(),
        Upstream::Http { base_url, key } => {
            let mut req = state
                .client
                .get(format!("{}/models", base_url.trim_end_matches('/')))
                .timeout(state.limits.upstream_timeout);
            if let Some(k) = key {
                req = req.bearer_auth(k);
            }
            match req.send().await {
                Ok(r) => {
                    let status = StatusCode::from_u16(r.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
                    match r.bytes().await {
                        Ok(b) if b.len() <= state.limits.max_answer_bytes => {
                            (status, [("content-type", "application/json")], b).into_response()
                        }
                        _ => error_json(StatusCode::BAD_GATEWAY, "upstream", "bad upstream answer"),
                    }
                }
                Err(_) => error_json(
                    StatusCode::BAD_GATEWAY,
                    "upstream",
                    "the upstream cannot be reached",
                ),
            }
        }
    }
}

/// One request's bookkeeping, written to the audit log when it ends.
struct Ticket {
    state: Shared,
    record: AuditRecord,
    start: Instant,
    upstream_time: Duration,
}

impl Ticket {
    fn finish(mut self, action: &str, stage: &str, status: StatusCode) {
        let total = self.start.elapsed();
        let added = total.saturating_sub(self.upstream_time);
        self.record.action = action.to_owned();
        self.record.stage = stage.to_owned();
        self.record.status = status.as_u16();
        self.record.latency_ms = total.as_secs_f64() * 1e3;
        self.record.added_ms = added.as_secs_f64() * 1e3;
        let m = &self.state.metrics;
        m.request(action);
        if !matches!(action, "unauthorized" | "rejected" | "shed") {
            m.added(added.as_secs_f64());
        }
        for f in &self.record.detectors {
            if f.action == Action::Block {
                m.block(&f.detector);
            }
        }
        self.state.audit.write(self.record);
    }
}

fn action_word(d: &Decision) -> &'static str {
    d.action.map_or("allow", Action::as_str)
}

async fn chat(State(state): State<Shared>, headers: HeaderMap, body: Body) -> Response {
    let start = Instant::now();
    let n = state.next_id.fetch_add(1, Ordering::Relaxed);
    let request_id = format!("gr-{}-{n}", state.id_prefix);
    let mut ticket = Ticket {
        state: Arc::clone(&state),
        record: AuditRecord {
            ts: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            request_id: request_id.clone(),
            key_id: "-".into(),
            path: "/v1/chat/completions".into(),
            stream: false,
            action: String::new(),
            stage: "-".into(),
            detectors: Vec::new(),
            status: 0,
            latency_ms: 0.0,
            added_ms: 0.0,
            prompt: None,
            answer: None,
        },
        start,
        upstream_time: Duration::ZERO,
    };
    let mut response = chat_inner(&state, &headers, body, &mut ticket).await;
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

/// The refusal as a completion (or a stream of one) with `finish_reason: "content_filter"`.
fn refusal_response(text: &str, stream: bool, model: &str) -> Response {
    if stream {
        let chunk = json!({"id": "guard", "object": "chat.completion.chunk", "model": model,
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": null}]});
        let end = json!({"id": "guard", "object": "chat.completion.chunk", "model": model,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "content_filter"}]});
        let body = format!("data: {chunk}\n\ndata: {end}\n\ndata: [DONE]\n\n");
        (
            [
                ("content-type", "text/event-stream"),
                ("x-aistr-guard", "blocked"),
            ],
            body,
        )
            .into_response()
    } else {
        let v = json!({"id": "guard", "object": "chat.completion", "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "content_filter"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}});
        ([("x-aistr-guard", "blocked")], axum::Json(v)).into_response()
    }
}

async fn read_body(state: &AppState, body: Body) -> Result<Bytes, Response> {
    let limited = http_body_util::Limited::new(body, state.limits.max_body_bytes);
    match tokio::time::timeout(state.limits.body_timeout, limited.collect()).await {
        Err(_) => Err(error_json(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            "the request body did not arrive in time",
        )),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(error_json(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            &format!(
                "the request body is larger than {} bytes",
                state.limits.max_body_bytes
            ),
        )),
        Ok(Err(_)) => Err(error_json(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "cannot read the body",
        )),
        Ok(Ok(c)) => Ok(c.to_bytes()),
    }
}

/// The input decision, or `None` when the classifier tier is full and the request is shed.
async fn screen_input(state: &Shared, policy_key: &str, body: &ChatBody) -> Option<Decision> {
    let policy = state.policy.for_key(policy_key);
    let classifier = state.policy.classifier;
    let text = body.screened_text();
    let mut decision = if classifier {
        // Admission first: a full queue sheds the request now rather than letting waits grow.
        let Ok(_admitted) = Arc::clone(&state.classifier_queue).try_acquire_owned() else {
            return None;
        };
        // The classifier tier blocks on its batch (CPU work in milliseconds): off the async workers.
        let s = Arc::clone(state);
        let key = policy_key.to_owned();
        let text2 = text.clone();
        tokio::task::spawn_blocking(move || s.screener.screen_input(s.policy.for_key(&key), &text2, true))
            .await
            .unwrap_or_else(|e| {
                let mut d = Decision::default();
                d.record(
                    "screen",
                    policy.detector(Side::Input, "harm-intent").expect("registry"),
                    Err(e.to_string()),
                );
                d
            })
    } else {
        state.screener.screen_input(policy, &text, false)
    };
    if let (Some(llm), Some(p)) = (
        &state.llm,
        policy.detector(Side::Input, "llm-guard").filter(|p| p.enabled),
    ) && !decision.blocked()
        && decision.max_score >= state.policy.llm_above
    {
        let outcome = llm.check(&text).await;
        decision.record("llm-guard-v1", p, outcome);
    }
    Some(decision)
}

async fn chat_inner(state: &Shared, headers: &HeaderMap, body: Body, ticket: &mut Ticket) -> Response {
    let Some(key_name) = bearer(headers)
        .and_then(|k| state.keys.check(k))
        .map(str::to_owned)
    else {
        let r = error_json(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid bearer key is required",
        );
        take(ticket).finish("unauthorized", "-", StatusCode::UNAUTHORIZED);
        return r;
    };
    ticket.record.key_id.clone_from(&key_name);
    let bytes = match read_body(state, body).await {
        Ok(b) => b,
        Err(r) => {
            let status = r.status();
            take(ticket).finish("rejected", "-", status);
            return r;
        }
    };
    let mut body = match request::parse(&bytes) {
        Ok(b) => b,
        Err(e) => {
            take(ticket).finish("rejected", "-", StatusCode::BAD_REQUEST);
            return error_json(StatusCode::BAD_REQUEST, "invalid_request_error", &e.0);
        }
    };
    ticket.record.stream = body.stream;
    if state.audit.log_content {
        ticket.record.prompt = Some(body.screened_text());
    }
    let model = body
        .json
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("guarded")
        .to_owned();
    let Some(decision) = screen_input(state, &key_name, &body).await else {
        take(ticket).finish("shed", "input", StatusCode::SERVICE_UNAVAILABLE);
        let mut r = error_json(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "the guard's classifier tier is at capacity; retry shortly",
        );
        r.headers_mut()
            .insert("retry-after", axum::http::HeaderValue::from_static("1"));
        return r;
    };
    ticket.record.detectors.clone_from(&decision.fired);
    if decision.blocked() {
        let refusal = decision
            .refusal
            .clone()
            .unwrap_or_else(|| state.policy.refusal.clone());
        take(ticket).finish("block", "input", StatusCode::OK);
        return refusal_response(&refusal, body.stream, &model);
    }
    if decision.action == Some(Action::Redact) {
        body.map_texts(&crate::detect::redact_pii);
    }
    let input_action = action_word(&decision);
    let harm = decision.harm_intent;
    if body.stream {
        stream_answer(state, body, harm, take(ticket), input_action, &key_name).await
    } else {
        whole_answer(state, body, harm, ticket, input_action, &key_name).await
    }
}

/// Moves the ticket out (the request ends here); leaves an inert one behind.
fn take(ticket: &mut Ticket) -> Ticket {
    Ticket {
        state: Arc::clone(&ticket.state),
        record: ticket.record.clone(),
        start: ticket.start,
        upstream_time: ticket.upstream_time,
    }
}

fn forward_body(body: &ChatBody, stream: bool) -> Value {
    let mut json = body.json.clone();
    if let Some(o) = json.as_object_mut() {
        o.insert("stream".into(), Value::Bool(stream));
    }
    json
}

/// One call to an in-process upstream target within the upstream timeout; a failure becomes the
/// status passed on to the client (504 on timeout, 502 naming the failure kind).
async fn call_target(
    state: &AppState,
    target: &dyn Target,
    body: &ChatBody,
) -> Result<aistr_core::ChatResponse, (StatusCode, String)> {
    tokio::time::timeout(state.limits.upstream_timeout, target.chat(&body.chat_request()))
        .await
        .map_err(|_| (StatusCode::GATEWAY_TIMEOUT, "the upstream timed out".to_owned()))?
        .map_err(|e| {
            (
                StatusCode::BAD_GATEWAY,
                format!("the upstream failed: {}", e.kind.as_str()),
            )
        })
}

/// Calls the upstream for a whole answer: the completion JSON, or a status to pass on.
async fn upstream_whole(state: &AppState, body: &ChatBody) -> Result<Value, (StatusCode, String)> {
    match &state.upstream {
        Upstream::Target { target, model } => {
            let r = call_target(state, target.as_ref(), body).await?;
            Ok(json!({"id": "local", "object": "chat.completion", "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": r.text},
                             "finish_reason": r.finish_reason.unwrap_or_else(|| "stop".into())}],
                "usage": {"prompt_tokens": r.usage.prompt_tokens, "completion_tokens": r.usage.completion_tokens}}))
        }
        Upstream::Http { base_url, key } => {
            let mut req = state
                .client
                .post(format!("{}/chat/completions", base_url.trim_end_matches('/')))
                .timeout(state.limits.upstream_timeout)
                .json(&forward_body(body, false));
            if let Some(k) = key {
                req = req.bearer_auth(k);
            }
            let resp = req.send().await.map_err(|e| {
                if e.is_timeout() {
                    (StatusCode::GATEWAY_TIMEOUT, "the upstream timed out".to_owned())
                } else {
                    (
                        StatusCode::BAD_GATEWAY,
                        "the upstream cannot be reached".to_owned(),
                    )
                }
            })?;
            let status = resp.status().as_u16();
            let bytes = read_capped(resp, state.limits.max_answer_bytes).await?;
            if !(200..300).contains(&status) {
                return Err((
                    StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
                    String::from_utf8_lossy(&bytes).chars().take(2000).collect(),
                ));
            }
            serde_json::from_slice(&bytes).map_err(|_| {
                (
                    StatusCode::BAD_GATEWAY,
                    "the upstream's answer is not JSON".to_owned(),
                )
            })
        }
    }
}

async fn read_capped(resp: reqwest::Response, cap: usize) -> Result<Vec<u8>, (StatusCode, String)> {
    let mut out = Vec::new();
    let mut s = resp.bytes_stream();
    while let Some(chunk) = s.next().await {
        let chunk = chunk.map_err(|_| {
            (
                StatusCode::BAD_GATEWAY,
                "the upstream's answer was cut".to_owned(),
            )
        })?;
        if out.len() + chunk.len() > cap {
            return Err((
                StatusCode::BAD_GATEWAY,
                "the upstream's answer is too large".to_owned(),
            ));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

async fn whole_answer(
    state: &Shared,
    body: ChatBody,
    harm: f32,
    ticket: &mut Ticket,
    input_action: &str,
    key_name: &str,
) -> Response {
    let t = Instant::now();
    let result = upstream_whole(state, &body).await;
    ticket.upstream_time = t.elapsed();
    let mut json = match result {
        Ok(j) => j,
        Err((status, message)) => {
            take(ticket).finish("upstream-error", "-", status);
            return error_json(status, "upstream", &message);
        }
    };
    let answer = json
        .pointer("/choices/0/message/content")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if state.audit.log_content {
        ticket.record.answer = Some(answer.clone());
    }
    let policy: &Resolved = state.policy.for_key(key_name);
    let out = state
        .screener
        .screen_output(policy, body.last_user(), harm, &answer);
    ticket.record.detectors.extend(out.fired.iter().cloned());
    let (action, stage) = match out.action {
        Some(a) => (a.as_str(), "output"),
        None => (input_action, if input_action == "allow" { "-" } else { "input" }),
    };
    if out.blocked() {
        let refusal = out
            .refusal
            .clone()
            .unwrap_or_else(|| state.policy.refusal.clone());
        if let Some(c) = json.pointer_mut("/choices/0/message/content") {
            *c = Value::String(refusal);
        }
        if let Some(f) = json.pointer_mut("/choices/0/finish_reason") {
            *f = Value::String("content_filter".into());
        }
    } else if !out.redact.is_empty()
        && let Some(c) = json.pointer_mut("/choices/0/message/content")
    {
        *c = Value::String(crate::detect::redact(&answer, &out.redact));
    }
    take(ticket).finish(action, stage, StatusCode::OK);
    let mut r = axum::Json(json).into_response();
    if out.blocked() {
        r.headers_mut()
            .insert("x-aistr-guard", HeaderValue::from_static("blocked"));
    }
    r
}

/// One streamed piece from the upstream: text and, at the end, a finish reason.
struct Piece {
    text: String,
    finish: Option<String>,
}

type PieceStream = futures::stream::BoxStream<'static, Result<Piece, String>>;

async fn upstream_stream(state: &AppState, body: &ChatBody) -> Result<PieceStream, (StatusCode, String)> {
    match &state.upstream {
        Upstream::Target { target, .. } => {
            let r = call_target(state, target.as_ref(), body).await?;
            let mut pieces: Vec<Result<Piece, String>> = r
                .text
                .split_inclusive(' ')
                .map(|w| {
                    Ok(Piece {
                        text: w.to_owned(),
                        finish: None,
                    })
                })
                .collect();
            pieces.push(Ok(Piece {
                text: String::new(),
                finish: Some(r.finish_reason.unwrap_or_else(|| "stop".into())),
            }));
            Ok(futures::stream::iter(pieces).boxed())
        }
        Upstream::Http { base_url, key } => {
            let mut req = state
                .client
                .post(format!("{}/chat/completions", base_url.trim_end_matches('/')))
                .json(&forward_body(body, true));
            if let Some(k) = key {
                req = req.bearer_auth(k);
            }
            let resp = tokio::time::timeout(state.limits.upstream_timeout, req.send())
                .await
                .map_err(|_| (StatusCode::GATEWAY_TIMEOUT, "the upstream timed out".to_owned()))?
                .map_err(|_| {
                    (
                        StatusCode::BAD_GATEWAY,
                        "the upstream cannot be reached".to_owned(),
                    )
                })?;
            let status = resp.status().as_u16();
            if !(200..300).contains(&status) {
                let bytes = read_capped(resp, 64 << 10).await.unwrap_or_default();
                return Err((
                    StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
                    String::from_utf8_lossy(&bytes).chars().take(2000).collect(),
                ));
            }
            let cap = state.limits.max_answer_bytes;
            let mut seen = 0usize;
            let bytes = resp.bytes_stream().map(move |c| {
                let c = c.map_err(|_| "the upstream's stream was cut".to_owned())?;
                seen += c.len();
                if seen > cap {
                    return Err("the upstream's answer is too large".to_owned());
                }
                Ok::<Bytes, String>(c)
            });
            let events = eventsource_stream::Eventsource::eventsource(bytes);
            Ok(events
                .filter_map(|e| async move {
                    match e {
                        Err(e) => Some(Err(e.to_string())),
                        Ok(ev) if ev.data.trim() == "[DONE]" => None,
                        Ok(ev) => {
                            let v: Value = match serde_json::from_str(&ev.data) {
                                Ok(v) => v,
                                Err(_) => return Some(Err("the upstream sent a malformed chunk".into())),
                            };
                            Some(Ok(Piece {
                                text: v
                                    .pointer("/choices/0/delta/content")
                                    .and_then(Value::as_str)
                                    .unwrap_or("")
                                    .to_owned(),
                                finish: v
                                    .pointer("/choices/0/finish_reason")
                                    .and_then(Value::as_str)
                                    .map(str::to_owned),
                            }))
                        }
                    }
                })
                .boxed())
        }
    }
}

fn chunk(model: &str, content: Option<&str>, finish: Option<&str>) -> Bytes {
    let delta = content.map_or_else(|| json!({}), |c| json!({"content": c}));
    let v = json!({"id": "guard", "object": "chat.completion.chunk", "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
    Bytes::from(format!("data: {v}\n\n"))
}

async fn stream_answer(
    state: &Shared,
    body: ChatBody,
    harm: f32,
    mut ticket: Ticket,
    input_action: &str,
    key_name: &str,
) -> Response {
    let t = Instant::now();
    let upstream = upstream_stream(state, &body).await;
    ticket.upstream_time = t.elapsed();
    let mut pieces = match upstream {
        Ok(p) => p,
        Err((status, message)) => {
            ticket.finish("upstream-error", "-", status);
            return error_json(status, "upstream", &message);
        }
    };
    let model = body
        .json
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("guarded")
        .to_owned();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(32);
    let state = Arc::clone(state);
    let key_name = key_name.to_owned();
    let input_action = input_action.to_owned();
    tokio::spawn(async move {
        let policy = state.policy.for_key(&key_name);
        let prompt = body.last_user().to_owned();
        let mut screen = StreamScreener::new(
            &state.screener,
            policy,
            &prompt,
            harm,
            state.policy.window_tokens,
            state.policy.overlap_tokens,
        );
        let mut raw = String::new();
        let mut outcome: Option<(&str, Option<Decision>)> = None;
        let timeout = state.limits.upstream_timeout;
        loop {
            let wait = Instant::now();
            let next = tokio::time::timeout(timeout, pieces.next()).await;
            ticket.upstream_time += wait.elapsed();
            let piece = match next {
                Err(_) => Err("the upstream stalled".to_owned()),
                Ok(None) => Err("the upstream's stream ended without a finish reason".to_owned()),
                Ok(Some(p)) => p,
            };
            let piece = match piece {
                Ok(p) => p,
                Err(e) => {
                    // The answer is incomplete: end the stream with an error event, never a clean stop.
                    let ev = json!({"error": {"message": e, "type": "upstream"}});
                    let _ = tx.send(Ok(Bytes::from(format!("data: {ev}\n\n")))).await;
                    outcome = Some(("upstream-error", None));
                    break;
                }
            };
            raw.push_str(&piece.text);
            let step = if piece.text.is_empty() {
                StreamStep::Release(String::new())
            } else {
                screen.push(&piece.text)
            };
            let step = match (step, &piece.finish) {
                (StreamStep::Release(t), Some(_)) => match screen.finish() {
                    StreamStep::Release(rest) => StreamStep::Release(t + &rest),
                    cut => cut,
                },
                (s, _) => s,
            };
            match step {
                StreamStep::Cut(d) => {
                    let _ = tx.send(Ok(chunk(&model, None, Some("content_filter")))).await;
                    let _ = tx.send(Ok(Bytes::from_static(b"data: [DONE]\n\n"))).await;
                    outcome = Some(("block", Some(d)));
                    break;
                }
                StreamStep::Release(text) => {
                    if !text.is_empty()
                        && tx
                            .send(Ok(chunk(&model, Some(text.as_str()), None)))
                            .await
                            .is_err()
                    {
                        outcome = Some(("client-gone", None));
                        break;
                    }
                }
            }
            if let Some(f) = piece.finish {
                let _ = tx.send(Ok(chunk(&model, None, Some(f.as_str())))).await;
                let _ = tx.send(Ok(Bytes::from_static(b"data: [DONE]\n\n"))).await;
                break;
            }
        }
        let fired: Vec<Fired> = screen.fired.clone();
        drop(screen);
        if state.audit.log_content {
            ticket.record.answer = Some(raw);
        }
        ticket.record.detectors.extend(fired.iter().cloned());
        let (action, stage) = match outcome {
            Some((a, _)) => (a.to_owned(), if a == "block" { "output" } else { "-" }),
            None if fired.iter().any(|f| f.action == Action::Redact) => ("redact".to_owned(), "output"),
            None if !fired.is_empty() => ("flag".to_owned(), "output"),
            None => (
                input_action.clone(),
                if input_action == "allow" { "-" } else { "input" },
            ),
        };
        ticket.finish(&action, stage, StatusCode::OK);
    });
    let stream = tokio_stream_from(rx);
    (
        [
            ("content-type", "text/event-stream"),
            ("cache-control", "no-cache"),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
