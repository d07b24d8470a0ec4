//! `aistr serve`: the team's window on a shared journal. An HTTP API to submit scan specs (queued
//! for `aistr worker`s), follow runs, fetch reports in every format, compare runs, cancel them and
//! work the human review queue; and a server-rendered dashboard over the same calls.
//!
//! The server never executes a scan itself and never shells out: it plans and queues through the
//! session library (`Session::queue`), reads through the store, and workers do the sending. Every
//! route but `/healthz`, the login page and the static assets needs a token ([`auth`]); every
//! mutating call is audited. Model output is hostile: every page escapes it and is served under a
//! CSP that allows no inline script, no foreign origin and no framing ([`ui`]).

pub mod api;
pub mod auth;
pub mod error;
pub mod openapi;
pub mod ui;

use aistr_session::SharedJournal;
use aistr_store::Journal;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use auth::{Role, issue_token};

/// The largest request body accepted (a ScanSpec is a few kilobytes).
pub const MAX_BODY: usize = 1 << 20;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The journal the server reads and writes.
    pub journal: Arc<Journal>,
    /// Request counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// How often the live progress stream reports.
    pub progress_interval: Duration,
}

impl AppState {
    /// A server over `journal`.
    #[must_use]
    pub fn new(journal: Arc<Journal>) -> Self {
        Self {
            journal,
            metrics: Arc::new(Metrics::default()),
            progress_interval: Duration::from_secs(1),
        }
    }
}

impl AppState {
    /// The journal as the session library takes it.
    #[must_use]
    pub fn shared(&self) -> SharedJournal {
        Arc::clone(&self.journal) as SharedJournal
    }
}

/// Method, route template and status of answered requests.
type RequestKey = (String, String, u16);

/// Requests answered, by method, route and status, with their total time.
#[derive(Debug, Default)]
pub struct Metrics {
    counts: Mutex<BTreeMap<RequestKey, (u64, f64)>>,
}

impl Metrics {
    fn observe(&self, method: &str, route: &str, status: u16, secs: f64) {
        if let Ok(mut m) = self.counts.lock() {
            let e = m
                .entry((method.to_owned(), route.to_owned(), status))
                .or_default();
            e.0 += 1;
            e.1 += secs;
        }
    }

    /// The counters as Prometheus text.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# HELP aistr_http_requests_total Requests answered.\n# TYPE aistr_http_requests_total counter\n",
        );
        let mut secs = String::from(
            "# HELP aistr_http_request_seconds_total Time spent answering.\n# TYPE aistr_http_request_seconds_total counter\n",
        );
        if let Ok(m) = self.counts.lock() {
            for ((method, route, status), (n, s)) in m.iter() {
                let labels = format!(
                    "method=\"{method}\",route=\"{}\",status=\"{status}\"",
                    api::prom_label(route)
                );
                out.push_str(&format!("aistr_http_requests_total{{{labels}}} {n}\n"));
                secs.push_str(&format!("aistr_http_request_seconds_total{{{labels}}} {s:.6}\n"));
            }
        }
        out + &secs
    }
}

/// Counts and logs every request (one structured line each, at `info` under `aistr_server`).
async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    // The route template, never the raw path: a path is user input and unbounded.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let caller = req.extensions().get::<auth::Caller>().map(|c| c.name.clone());
    let resp = next.run(req).await;
    let secs = started.elapsed().as_secs_f64();
    let status = resp.status().as_u16();
    state.metrics.observe(&method, &route, status, secs);
    tracing::info!(target: "aistr_server", %method, %route, status, ms = secs * 1000.0, caller = caller.as_deref().unwrap_or("-"), "request");
    resp
}

/// The handler of API operation `op` (see [`openapi::ROUTES`]).
fn handler(op: &str) -> Option<MethodRouter<AppState>> {
    Some(match op {
        "whoami" => get(api::whoami),
        "openapi" => get(api::openapi),
        "listRuns" => get(api::list_runs),
        "submitRun" => post(api::submit_run),
        "getRun" => get(api::get_run),
        "getReport" => get(api::get_report),
        "runEvents" => get(api::run_events),
        "cancelRun" => post(api::cancel_run),
        "reviewQueue" => get(api::review_queue),
        "postLabel" => post(api::post_label),
        "compareRuns" => get(api::compare_runs),
        "listTokens" => get(api::list_tokens),
        "issueToken" => post(api::post_token),
        "auditLog" => get(api::audit_log),
        "metrics" => get(api::metrics),
        _ => return None,
    })
}

/// The whole server: the API (from the route table), the dashboard, `/healthz`.
///
/// # Panics
/// When the route table names an operation without a handler (a build error, caught by tests).
pub fn router(state: AppState) -> Router {
    let mut authed: Router<AppState> = Router::new();
    let mut by_path: BTreeMap<&str, MethodRouter<AppState>> = BTreeMap::new();
    for r in openapi::ROUTES {
        let h = handler(r.op).unwrap_or_else(|| panic!("no handler for operation {}", r.op));
        let merged = match by_path.remove(r.path) {
            Some(existing) => existing.merge(h),
            None => h,
        };
        by_path.insert(r.path, merged);
    }
    for (path, h) in by_path {
        authed = authed.route(path, h);
    }
    let authed = authed
        .merge(ui::pages())
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::authenticate));
    Router::new()
        .merge(authed)
        .merge(ui::public())
        .route("/healthz", get(healthz))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// `GET /healthz`: 200 when the journal answers, 503 when not. Open, and says nothing else.
async fn healthz(State(state): State<AppState>) -> (axum::http::StatusCode, &'static str) {
    match state.journal.ping().await {
        Ok(()) => (axum::http::StatusCode::OK, "ok\n"),
        Err(_) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "journal unavailable\n",
        ),
    }
}

/// Serves `router(state)` on `listener` until `shutdown` resolves, then lets requests in flight
/// finish.
///
/// # Errors
/// The listener fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
