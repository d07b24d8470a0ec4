//! The JSON API's handlers. Each reads or changes the journal through the store and the session
//! library, exactly as the CLI does: a report served here equals `aistr report` of the same run,
//! and a submitted spec is planned by the same `PlannedScan` as `aistr scan --detach`.

use crate::AppState;
use crate::auth::{Audited, Caller, Role, issue_token};
use crate::error::ApiError;
use aistr_core::{AttemptRecord, Label, VerdictSource};
use aistr_report::{Format, Report};
use aistr_session::{PlannedScan, ScanSpec, Session};
use aistr_store::RunRecord;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::time::Duration;

/// How far a run has got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// Attempts planned in all.
    pub total: i64,
    /// Attempts whose result is recorded.
    pub recorded: i64,
    /// Attempts still to send.
    pub planned: i64,
}

/// A run as the API lists it.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// Run id.
    pub id: String,
    /// `queued`, `running`, `finished`, `cancelled`, …
    pub status: String,
    /// When it was planned.
    pub created_at: String,
    /// The target's identity (never a secret).
    pub target: Value,
    /// The judge configuration.
    pub judge: String,
    /// Progress.
    pub progress: Progress,
}

/// Whether a run's status means nothing more will happen to it.
#[must_use]
pub fn is_over(status: &str) -> bool {
    matches!(status, "finished" | "cancelled")
}

pub(crate) async fn progress(state: &AppState, run_id: &str) -> Result<Progress, ApiError> {
    let mut p = Progress::default();
    for (status, n) in state.journal.status_counts(run_id).await? {
        p.total += n;
        match status.as_str() {
            "planned" => p.planned += n,
            _ => p.recorded += n,
        }
    }
    Ok(p)
}

pub(crate) async fn summary(state: &AppState, run: RunRecord) -> Result<RunSummary, ApiError> {
    let progress = progress(state, &run.id).await?;
    Ok(RunSummary {
        target: serde_json::from_str(&run.target_json).unwrap_or(Value::Null),
        id: run.id,
        status: run.status,
        created_at: run.created_at,
        judge: run.judge,
        progress,
    })
}

pub(crate) async fn run_summaries(state: &AppState) -> Result<Vec<RunSummary>, ApiError> {
    let mut runs = state.journal.runs().await?;
    runs.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.id.cmp(&a.id)));
    let mut out = Vec::with_capacity(runs.len());
    for run in runs {
        out.push(summary(state, run).await?);
    }
    Ok(out)
}

/// `GET /api/v1/me`.
pub async fn whoami(Extension(caller): Extension<Caller>) -> Json<Value> {
    Json(json!({"name": caller.name, "role": caller.role}))
}

/// `GET /api/v1/openapi.json`.
pub async fn openapi() -> Json<Value> {
    Json(crate::openapi::document())
}

/// `GET /api/v1/runs`.
pub async fn list_runs(State(state): State<AppState>) -> Result<Json<Vec<RunSummary>>, ApiError> {
    Ok(Json(run_summaries(&state).await?))
}

/// `GET /api/v1/runs/{id}`.
pub async fn get_run(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let run = state.journal.run(&id).await?;
    let spec: Value = serde_json::from_str(&run.config_json).unwrap_or(Value::Null);
    let mut v =
        serde_json::to_value(summary(&state, run).await?).map_err(|e| ApiError::Internal(e.to_string()))?;
    v["spec"] = spec;
    Ok(Json(v))
}

/// What the call reads from its query string or body.
#[derive(Debug, Deserialize)]
pub struct SubmitQuery {
    run_id: Option<String>,
}

/// `POST /api/v1/runs`: the body is a ScanSpec.
pub async fn submit_run(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<SubmitQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(Role::Admin)?;
    let spec: ScanSpec = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!(
            "request body is not a ScanSpec: line {} column {}: {e}",
            e.line(),
            e.column()
        ))
    })?;
    if let Some(id) = &q.run_id
        && (id.is_empty()
            || id.len() > 100
            || !id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)))
    {
        return Err(ApiError::BadRequest(
            "run_id: 1 to 100 of A-Z a-z 0-9 - _ .".to_owned(),
        ));
    }
    // Planning loads datasets and may build probe sets: CPU work, off the async threads.
    let planned = tokio::task::spawn_blocking(move || PlannedScan::new(spec))
        .await
        .map_err(|e| ApiError::Internal(format!("planning panicked: {e}")))??;
    let warnings = planned.warnings().to_vec();
    let attempts = planned.attempts().len();
    let session = Session::queue(state.shared(), planned, q.run_id).await?;
    let id = session.run_id().to_owned();
    let mut resp = (
        StatusCode::CREATED,
        Json(json!({"id": id, "status": aistr_session::QUEUED, "planned": attempts, "warnings": warnings})),
    )
        .into_response();
    resp.extensions_mut().insert(Audited {
        subject: id,
        detail: format!("planned {attempts} attempts, queued"),
    });
    Ok(resp)
}

/// What the call reads from its query string or body.
#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    format: Option<String>,
    redact: Option<bool>,
}

/// A run's report and the attempts behind it, computed from the journal.
pub(crate) async fn report_of(
    state: &AppState,
    id: &str,
    redact: bool,
) -> Result<(Report, Vec<AttemptRecord>), ApiError> {
    let session = Session::resume(state.shared(), id).await?;
    let report = session.finish().await?;
    let attempts = session.report_attempts(redact).await?;
    Ok((report, attempts))
}

/// `GET /api/v1/runs/{id}/report?format=`.
pub async fn get_report(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let format = Format::parse(q.format.as_deref().unwrap_or("json"))
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let (report, attempts) = report_of(&state, &id, q.redact.unwrap_or(false)).await?;
    let body = format.render(&report, &attempts);
    let content_type = match format {
        Format::Html => "text/html; charset=utf-8",
        Format::Json => "application/json",
        Format::Markdown => "text/markdown; charset=utf-8",
        Format::Sarif => "application/sarif+json",
        Format::Junit => "application/xml",
    };
    let mut resp = ([(header::CONTENT_TYPE, content_type)], body).into_response();
    if format == Format::Html
        && let Ok(csp) = aistr_report::content_security_policy().parse()
    {
        resp.headers_mut().insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    Ok(resp)
}

/// `GET /api/v1/runs/{id}/events`: progress as server-sent events.
pub async fn run_events(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    state.journal.run(&id).await?;
    let every = state.progress_interval;
    let stream = futures::stream::unfold((state, id, false), move |(state, id, ended)| async move {
        if ended {
            return None;
        }
        let (event, over) = match (state.journal.run(&id).await, progress(&state, &id).await) {
            (Ok(run), Ok(p)) => {
                let over = is_over(&run.status);
                let data = json!({"status": run.status, "total": p.total, "recorded": p.recorded, "planned": p.planned});
                (Event::default().event("progress").data(data.to_string()), over)
            }
            _ => (
                Event::default().event("error").data("the journal did not answer"),
                true,
            ),
        };
        if !over {
            tokio::time::sleep(every).await;
        }
        let event = if over {
            vec![event, Event::default().event("end").data("")]
        } else {
            vec![event]
        };
        Some((
            futures::stream::iter(event.into_iter().map(Ok::<_, std::convert::Infallible>)),
            (state, id, over),
        ))
    });
    use futures::StreamExt;
    Ok(Sse::new(stream.flatten())
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

/// `POST /api/v1/runs/{id}/cancel`.
pub async fn cancel_run(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Role::Admin)?;
    let run = state.journal.run(&id).await?;
    if is_over(&run.status) {
        return Err(ApiError::Conflict(format!(
            "run `{id}` is {} already",
            run.status
        )));
    }
    state.journal.set_status(&id, "cancelled").await?;
    let mut resp = Json(json!({"id": id, "status": "cancelled"})).into_response();
    resp.extensions_mut().insert(Audited {
        subject: id,
        detail: format!("status {} → cancelled", run.status),
    });
    Ok(resp)
}

/// One verdict in the review queue.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewItem {
    /// The attempt's sequence number in its run.
    pub seq: i64,
    /// Probe id.
    pub probe_id: String,
    /// Taxonomy category.
    pub category: String,
    /// Attack level.
    pub level: String,
    /// Attack method.
    pub method: String,
    /// What was sent last (the attack as the target saw it).
    pub request: String,
    /// The answer.
    pub response: String,
    /// The current label.
    pub label: String,
    /// Its confidence.
    pub confidence: f64,
    /// Who decided it: rule, model or human.
    pub source: String,
    /// Why.
    pub reason: String,
    /// Whether the judge asked for a human.
    pub needs_review: bool,
}

pub(crate) fn review_items(attempts: &[AttemptRecord], all: bool) -> Vec<ReviewItem> {
    attempts
        .iter()
        .filter_map(|a| {
            let r = a.result.as_ref()?;
            let v = &r.verdict;
            let pending = v.needs_review && v.source != VerdictSource::Human;
            (all || pending).then(|| ReviewItem {
                seq: a.planned.seq,
                probe_id: a.planned.probe.id.clone(),
                category: a.planned.probe.category.clone(),
                level: a.planned.level.to_string(),
                method: a.planned.method.clone(),
                request: a
                    .planned
                    .request
                    .messages
                    .last()
                    .map(|m| m.content.clone())
                    .unwrap_or_default(),
                response: r.response_text.clone().unwrap_or_default(),
                label: v.label.as_str().to_owned(),
                confidence: f64::from(v.confidence),
                source: v.source.as_str().to_owned(),
                reason: v.reason.clone(),
                needs_review: v.needs_review,
            })
        })
        .collect()
}

/// What the call reads from its query string or body.
#[derive(Debug, Deserialize)]
pub struct ReviewQuery {
    all: Option<bool>,
}

/// `GET /api/v1/runs/{id}/review`.
pub async fn review_queue(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ReviewQuery>,
) -> Result<Json<Vec<ReviewItem>>, ApiError> {
    state.journal.run(&id).await?;
    let attempts = state.journal.attempts(&id).await?;
    Ok(Json(review_items(&attempts, q.all.unwrap_or(false))))
}

/// What the call reads from its query string or body.
#[derive(Debug, Deserialize)]
pub struct LabelBody {
    label: String,
    #[serde(default)]
    note: String,
}

/// `POST /api/v1/runs/{id}/review/{seq}`.
pub async fn post_label(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, seq)): Path<(String, i64)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(Role::Reviewer)?;
    let body: LabelBody = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!(
            "request body: line {} column {}: {e}",
            e.line(),
            e.column()
        ))
    })?;
    let label = Label::parse(&body.label)
        .filter(|l| *l != Label::Unscored)
        .ok_or_else(|| {
            ApiError::BadRequest(format!("label `{}`: use risky, declined or safe", body.label))
        })?;
    if body.note.len() > 4000 {
        return Err(ApiError::BadRequest("note: at most 4000 bytes".to_owned()));
    }
    state.journal.run(&id).await?;
    let before = state
        .journal
        .attempts(&id)
        .await?
        .into_iter()
        .find(|a| a.planned.seq == seq)
        .and_then(|a| a.result)
        .map(|r| format!("{} ({})", r.verdict.label.as_str(), r.verdict.source.as_str()));
    let note = if body.note.trim().is_empty() {
        format!("by {}", caller.name)
    } else {
        format!("by {}: {}", caller.name, body.note.trim())
    };
    if !state.journal.apply_human_label(&id, seq, label, &note).await? {
        return Err(ApiError::NotFound(format!(
            "run `{id}` has no recorded attempt {seq}"
        )));
    }
    let mut resp =
        Json(json!({"run": id, "seq": seq, "label": label.as_str(), "source": "human"})).into_response();
    resp.extensions_mut().insert(Audited {
        subject: format!("{id}:{seq}"),
        detail: format!("{} → {} (human)", before.unwrap_or_default(), label.as_str()),
    });
    Ok(resp)
}

/// What the call reads from its query string or body.
#[derive(Debug, Deserialize)]
pub struct CompareQuery {
    a: String,
    b: String,
    alpha: Option<f64>,
}

/// `GET /api/v1/compare?a=&b=`.
pub async fn compare_runs(
    State(state): State<AppState>,
    Query(q): Query<CompareQuery>,
) -> Result<Json<Value>, ApiError> {
    let alpha = q.alpha.unwrap_or(0.05);
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(ApiError::BadRequest("alpha must be between 0 and 1".to_owned()));
    }
    let (a, _) = report_of(&state, &q.a, false).await?;
    let (b, _) = report_of(&state, &q.b, false).await?;
    let c = aistr_report::compare(&a, &b, alpha);
    Ok(Json(
        serde_json::to_value(&c).map_err(|e| ApiError::Internal(e.to_string()))?,
    ))
}

/// `GET /api/v1/tokens`.
pub async fn list_tokens(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Admin)?;
    Ok(Json(json!(state.journal.tokens().await?)))
}

/// What the call reads from its query string or body.
#[derive(Debug, Deserialize)]
pub struct TokenBody {
    name: String,
    role: String,
}

/// `POST /api/v1/tokens`.
pub async fn post_token(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(Role::Admin)?;
    let body: TokenBody = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!(
            "request body: line {} column {}: {e}",
            e.line(),
            e.column()
        ))
    })?;
    let role = Role::parse(&body.role).ok_or_else(|| {
        ApiError::BadRequest(format!("role `{}`: use viewer, reviewer or admin", body.role))
    })?;
    if body.name.trim().is_empty() || body.name.len() > 100 {
        return Err(ApiError::BadRequest("name: 1 to 100 bytes".to_owned()));
    }
    if state.journal.tokens().await?.iter().any(|t| t.name == body.name) {
        return Err(ApiError::Conflict(format!(
            "a token named `{}` exists",
            body.name
        )));
    }
    let secret = issue_token(&state.journal, &body.name, role).await?;
    let mut resp = (
        StatusCode::CREATED,
        Json(json!({"name": body.name, "role": role, "token": secret})),
    )
        .into_response();
    resp.extensions_mut().insert(Audited {
        subject: body.name.clone(),
        detail: format!("issued a {} token", role.as_str()),
    });
    Ok(resp)
}

/// What the call reads from its query string or body.
#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    limit: Option<i64>,
}

/// `GET /api/v1/audit`.
pub async fn audit_log(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Admin)?;
    let limit = q.limit.unwrap_or(200).clamp(1, 10_000);
    Ok(Json(json!(state.journal.audit_log(limit).await?)))
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let mut out = String::new();
    out.push_str("# HELP aistr_attempts Attempts in the journal by run status and attempt status.\n");
    out.push_str("# TYPE aistr_attempts gauge\n");
    for (run, attempt, n) in state.journal.attempt_totals().await? {
        out.push_str(&format!(
            "aistr_attempts{{run_status=\"{}\",status=\"{}\"}} {n}\n",
            prom_label(&run),
            prom_label(&attempt)
        ));
    }
    let mut by_status = std::collections::BTreeMap::<String, u64>::new();
    for r in state.journal.runs().await? {
        *by_status.entry(r.status).or_default() += 1;
    }
    out.push_str("# HELP aistr_runs Runs in the journal by status.\n# TYPE aistr_runs gauge\n");
    for (s, n) in by_status {
        out.push_str(&format!("aistr_runs{{status=\"{}\"}} {n}\n", prom_label(&s)));
    }
    out.push_str(&state.metrics.render());
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response())
}

/// Escapes a Prometheus label value.
#[must_use]
pub fn prom_label(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
