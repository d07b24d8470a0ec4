//! The dashboard: server-rendered pages over the same journal calls as the API (runs list, run
//! page, compare page, review page), a login page, and two small scripts served from here.
//!
//! Model answers are attacker-controlled, so: every value goes through
//! [`aistr_report::escape::html`]; no page has inline script or style; and every page is served
//! with [`CSP`], which allows script and style from this origin only, no framing, no form target
//! elsewhere and no connection elsewhere. A payload that slipped through escaping could still
//! neither run nor phone home.

use crate::AppState;
use crate::api::{self, RunSummary, is_over};
use crate::auth::{self, Audited, COOKIE, Caller, Role};
use crate::error::ApiError;
use aistr_report::escape::html;
use aistr_report::{Cell, Report};
use axum::Router;
use axum::extract::{Extension, Form, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The dashboard's Content-Security-Policy.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const CSS: &str = include_str!("../assets/app.css");
const REVIEW_JS: &str = include_str!("../assets/review.js");
const LIVE_JS: &str = include_str!("../assets/live.js");

/// Pages that need a caller (behind [`auth::authenticate`]).
pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/ui/runs", get(runs_page))
        .route("/ui/runs/{id}", get(run_page))
        .route("/ui/runs/{id}/report", get(full_report))
        .route("/ui/runs/{id}/review", get(review_page))
        .route("/ui/compare", get(compare_page))
}

/// Pages anyone may load: the login page, logout, the static assets, and `/` (a redirect).
pub fn public() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/runs") }))
        .route("/ui/login", get(login_page).post(login))
        .route("/ui/logout", post(logout))
        .route("/ui/assets/{name}", get(asset))
        // Browsers ask for it on every first visit; answering keeps the 404 counter meaningful.
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
}

/// Adds the security headers every dashboard answer carries.
fn secure(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn layout(title: &str, caller: Option<&Caller>, body: &str, scripts: &[&str]) -> Response {
    let mut s = String::with_capacity(body.len() + 1024);
    let _ = write!(
        s,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} · aistr</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <link rel=\"stylesheet\" href=\"/ui/assets/app.css\"></head><body><header><a class=\"brand\" href=\"/ui/runs\">aistr</a>",
        html(title)
    );
    if let Some(c) = caller {
        let _ = write!(
            s,
            "<span class=\"who\">{} ({})</span><form method=\"post\" action=\"/ui/logout\"><button type=\"submit\">Log out</button></form>",
            html(&c.name),
            c.role.as_str()
        );
    }
    s.push_str("</header>");
    s.push_str(body);
    for js in scripts {
        let _ = write!(s, "<script src=\"/ui/assets/{js}\"></script>");
    }
    s.push_str("</body></html>");
    secure(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], s).into_response())
}

fn error_page(caller: Option<&Caller>, e: &ApiError) -> Response {
    let mut resp = layout(
        "Error",
        caller,
        &format!(
            "<main><h1>{}</h1><p>{}</p></main>",
            e.status().as_u16(),
            html(&e.to_string())
        ),
        &[],
    );
    *resp.status_mut() = e.status();
    resp
}

async fn asset(Path(name): Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "app.css" => (CSS, "text/css; charset=utf-8"),
        "review.js" => (REVIEW_JS, "text/javascript; charset=utf-8"),
        "live.js" => (LIVE_JS, "text/javascript; charset=utf-8"),
        _ => return secure((StatusCode::NOT_FOUND, "no such asset").into_response()),
    };
    secure(([(header::CONTENT_TYPE, kind)], body).into_response())
}

async fn login_page() -> Response {
    login_form(None)
}

fn login_form(error: Option<&str>) -> Response {
    let err = error.map_or_else(String::new, |e| format!("<p class=\"error\">{}</p>", html(e)));
    layout(
        "Log in",
        None,
        &format!(
            "<main class=\"narrow\"><h1>Log in</h1>{err}<form method=\"post\" action=\"/ui/login\">\
             <label>API token <input type=\"password\" name=\"token\" autocomplete=\"off\" required></label>\
             <button type=\"submit\">Log in</button></form>\
             <p class=\"hint\">Issue one with <code>aistr token create --db … --name you --role reviewer</code>.</p></main>"
        ),
        &[],
    )
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

async fn login(State(state): State<AppState>, Form(form): Form<LoginForm>) -> Response {
    let token = form.token.trim();
    // Only the shape `issue_token` makes may go into a cookie header.
    let well_formed = !token.is_empty()
        && token.len() <= 128
        && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let caller = if well_formed {
        match auth::lookup(&state.journal, token).await {
            Ok(c) => c,
            Err(e) => return error_page(None, &ApiError::from(e)),
        }
    } else {
        None
    };
    let Some(caller) = caller else {
        auth::audit(
            &state.journal,
            None,
            "POST /ui/login".into(),
            401,
            Audited::default(),
        )
        .await;
        let mut resp = login_form(Some("That token is unknown or revoked."));
        *resp.status_mut() = StatusCode::UNAUTHORIZED;
        return resp;
    };
    auth::audit(
        &state.journal,
        Some(&caller),
        "POST /ui/login".into(),
        303,
        Audited {
            subject: caller.name.clone(),
            detail: "dashboard session started".into(),
        },
    )
    .await;
    let mut resp = Redirect::to("/ui/runs").into_response();
    if let Ok(v) = format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200").parse() {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    secure(resp)
}

async fn logout() -> Response {
    let mut resp = Redirect::to("/ui/login").into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("aistr_token=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    secure(resp)
}

use aistr_report::{format_ci as ci, format_pct as pct};

fn progress_cell(p: &api::Progress) -> String {
    format!(
        "<progress max=\"{}\" value=\"{}\"></progress> <span class=\"progress-text\">{} of {} recorded</span>",
        p.total.max(1),
        p.recorded,
        p.recorded,
        p.total
    )
}

async fn runs_page(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Response {
    let runs = match api::run_summaries(&state).await {
        Ok(r) => r,
        Err(e) => return error_page(Some(&caller), &e),
    };
    let mut s = String::from("<main><h1>Runs</h1>");
    if runs.is_empty() {
        s.push_str("<p>No runs yet. Queue one with <code>aistr scan --db … --detach</code> or <code>POST /api/v1/runs</code>.</p>");
    } else {
        s.push_str("<table class=\"runs\"><thead><tr><th>Run</th><th>Status</th><th>Planned</th><th>Target</th><th>Judge</th><th>Progress</th><th></th></tr></thead><tbody>");
        for r in &runs {
            run_row(&mut s, r);
        }
        s.push_str("</tbody></table>");
        compare_form(&mut s, &runs);
    }
    s.push_str("</main>");
    layout("Runs", Some(&caller), &s, &[])
}

fn run_row(s: &mut String, r: &RunSummary) {
    let id = html(&r.id);
    let target = r.target.get("model").and_then(|m| m.as_str()).map_or_else(
        || {
            r.target
                .get("kind")
                .and_then(|k| k.as_str())
                .unwrap_or("")
                .to_owned()
        },
        str::to_owned,
    );
    let _ = write!(
        s,
        "<tr><td><a href=\"/ui/runs/{id}\">{id}</a></td><td class=\"status status-{st}\">{st}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
         <td><a href=\"/ui/runs/{id}/review\">review</a></td></tr>",
        html(&r.created_at),
        html(&target),
        html(&r.judge),
        progress_cell(&r.progress),
        st = html(&r.status),
    );
}

fn compare_form(s: &mut String, runs: &[RunSummary]) {
    let options: String = runs
        .iter()
        .map(|r| format!("<option value=\"{0}\">{0}</option>", html(&r.id)))
        .collect();
    let _ = write!(
        s,
        "<h2>Compare two runs</h2><form method=\"get\" action=\"/ui/compare\" class=\"compare\">\
         <label>Earlier <select name=\"a\">{options}</select></label>\
         <label>Later <select name=\"b\">{options}</select></label><button type=\"submit\">Compare</button></form>"
    );
}

fn cell_table(s: &mut String, title: &str, cells: &BTreeMap<String, Cell>) {
    if cells.is_empty() {
        return;
    }
    let _ = write!(
        s,
        "<h2>{}</h2><table class=\"cells\"><thead><tr><th></th><th>scored n</th><th>R</th><th>R 95% CI</th><th>D</th><th>D 95% CI</th><th>unscored</th></tr></thead><tbody>",
        html(title)
    );
    for (k, c) in cells {
        let _ = write!(
            s,
            "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            html(k),
            c.scored,
            pct(c.R),
            ci(c.R_ci),
            pct(c.D),
            ci(c.D_ci),
            c.unscored
        );
    }
    s.push_str("</tbody></table>");
    s.push_str(&aistr_report::svg::bars(title, cells));
}

fn figures(s: &mut String, report: &Report) {
    let o = &report.overall;
    let v = &report.verdict_sources.overall;
    let _ = write!(
        s,
        "<section class=\"figures\"><div><span class=\"big\">{}</span> R {}<br>{} risky of {} scored</div>\
         <div><span class=\"big\">{}</span> D {}<br>{} declined of {} scored</div>\
         <div>{} unscored (never counted safe)</div>\
         <div class=\"sources\">verdict sources: rule {} · model {} · human {}</div></section>",
        pct(o.R),
        ci(o.R_ci),
        o.risky,
        o.scored,
        pct(o.D),
        ci(o.D_ci),
        o.declined,
        o.scored,
        o.unscored,
        v.rule,
        v.model,
        v.human
    );
    if let Some(or) = &report.over_refusal {
        let _ = write!(
            s,
            "<p>Over-refusal: {} of {} scored benign controls declined ({} {}).</p>",
            or.declined,
            or.scored,
            pct(or.rate),
            ci(or.ci)
        );
    }
}

async fn run_page(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let run = state.journal.run(&id).await?;
        let summary = api::summary(&state, run).await?;
        let (report, attempts) = api::report_of(&state, &id, false).await?;
        Ok::<_, ApiError>((summary, report, attempts))
    }
    .await;
    let (summary, report, attempts) = match result {
        Ok(v) => v,
        Err(e) => return error_page(Some(&caller), &e),
    };
    let rid = html(&id);
    let mut s = format!(
        "<main><h1>Run {rid}</h1><p>Status <strong class=\"run-status\">{}</strong> · planned {} · judge {}</p>",
        html(&summary.status),
        html(&summary.created_at),
        html(&summary.judge)
    );
    let live = if is_over(&summary.status) {
        ""
    } else {
        " data-live-run"
    };
    let _ = write!(
        s,
        "<p class=\"live\"{live} data-run=\"{rid}\">{}</p>\
         <nav class=\"links\"><a href=\"/ui/runs/{rid}/review\">Review queue</a> · <a href=\"/ui/runs/{rid}/report\">Full report with transcripts</a> · \
         report as <a href=\"/api/v1/runs/{rid}/report?format=json\">JSON</a>, <a href=\"/api/v1/runs/{rid}/report?format=markdown\">Markdown</a>, \
         <a href=\"/api/v1/runs/{rid}/report?format=sarif\">SARIF</a>, <a href=\"/api/v1/runs/{rid}/report?format=junit\">JUnit</a></nav>",
        progress_cell(&summary.progress)
    );
    figures(&mut s, &report);
    cell_table(&mut s, "By level", &report.by_level);
    cell_table(&mut s, "By category", &report.by_category);
    cell_table(&mut s, "By method", &report.by_method);
    let found = aistr_report::findings(&attempts);
    let _ = write!(s, "<h2>Findings ({})</h2>", found.len());
    for f in found.iter().take(50) {
        let a = f.attempt;
        let answer = a
            .result
            .as_ref()
            .and_then(|r| r.response_text.as_deref())
            .unwrap_or("");
        let sent = a
            .planned
            .request
            .messages
            .last()
            .map_or("", |m| m.content.as_str());
        let _ = write!(
            s,
            "<details class=\"finding sev-{sev}\"><summary>{sev} · #{} {} · {} · {}</summary><p>{}</p><h4>Request</h4><pre>{}</pre><h4>Answer</h4><pre>{}</pre></details>",
            a.planned.seq,
            html(&a.planned.probe.id),
            a.planned.level,
            html(&a.planned.method),
            html(f.reason),
            html(sent),
            html(answer),
            sev = f.severity.as_str(),
        );
    }
    s.push_str("</main>");
    layout(&format!("Run {id}"), Some(&caller), &s, &["live.js"])
}

async fn full_report(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    match api::report_of(&state, &id, false).await {
        Ok((report, attempts)) => {
            let mut resp = (
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                aistr_report::render_html(&report, &attempts),
            )
                .into_response();
            // The report carries its own hashed inline script and style; its CSP allows only those.
            if let Ok(v) = aistr_report::content_security_policy().parse() {
                resp.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
            }
            resp.headers_mut()
                .insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            resp
        }
        Err(e) => error_page(Some(&caller), &e),
    }
}

#[derive(Deserialize)]
struct ReviewQuery {
    all: Option<bool>,
}

async fn review_page(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(q): Query<ReviewQuery>,
) -> Response {
    let all = q.all.unwrap_or(false);
    let items = match async {
        state.journal.run(&id).await?;
        Ok::<_, ApiError>(api::review_items(&state.journal.attempts(&id).await?, all))
    }
    .await
    {
        Ok(i) => i,
        Err(e) => return error_page(Some(&caller), &e),
    };
    let rid = html(&id);
    let can_label = caller.role >= Role::Reviewer;
    let mut s = format!(
        "<main class=\"review\" data-run=\"{rid}\"><h1>Review · run <a href=\"/ui/runs/{rid}\">{rid}</a></h1>\
         <p class=\"keys\">{} verdicts {}. Keys: <kbd>r</kbd> risky, <kbd>d</kbd> declined, <kbd>s</kbd> safe, \
         <kbd>j</kbd>/<kbd>k</kbd> next/previous. {}</p>",
        items.len(),
        if all { "recorded" } else { "need a human" },
        if all {
            format!("<a href=\"/ui/runs/{rid}/review\">Only those that need review</a>")
        } else {
            format!("<a href=\"/ui/runs/{rid}/review?all=true\">Show every verdict</a>")
        }
    );
    if !can_label {
        s.push_str("<p class=\"error\">Your token is a viewer: labels you post will be refused.</p>");
    }
    for it in &items {
        let _ = write!(
            s,
            "<article class=\"item\" tabindex=\"-1\" data-seq=\"{}\"><h2>#{} · {} · {} · {} · {}</h2>\
             <p class=\"machine\">now: <strong class=\"label-{l}\">{l}</strong> ({}, confidence {:.2}): {}</p>\
             <h3>Request</h3><pre class=\"request\">{}</pre><h3>Answer</h3><pre class=\"response\">{}</pre>\
             <p class=\"buttons\"><button type=\"button\" data-label=\"risky\">Risky (r)</button> \
             <button type=\"button\" data-label=\"declined\">Declined (d)</button> \
             <button type=\"button\" data-label=\"safe\">Safe (s)</button></p><p class=\"saved\" aria-live=\"polite\"></p></article>",
            it.seq,
            it.seq,
            html(&it.probe_id),
            html(&it.level),
            html(&it.method),
            html(&it.category),
            html(&it.source),
            it.confidence,
            html(&it.reason),
            html(&it.request),
            html(&it.response),
            l = html(&it.label),
        );
    }
    s.push_str("</main>");
    layout(&format!("Review {id}"), Some(&caller), &s, &["review.js"])
}

#[derive(Deserialize)]
struct CompareQuery {
    a: String,
    b: String,
}

async fn compare_page(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<CompareQuery>,
) -> Response {
    let result = async {
        let (a, _) = api::report_of(&state, &q.a, false).await?;
        let (b, _) = api::report_of(&state, &q.b, false).await?;
        Ok::<_, ApiError>((a, b))
    }
    .await;
    let (a, b) = match result {
        Ok(v) => v,
        Err(e) => return error_page(Some(&caller), &e),
    };
    let c = aistr_report::compare(&a, &b, 0.05);
    let mut s = format!(
        "<main><h1>Compare <a href=\"/ui/runs/{0}\">{0}</a> → <a href=\"/ui/runs/{1}\">{1}</a></h1>",
        html(&q.a),
        html(&q.b)
    );
    let mut overall = BTreeMap::new();
    overall.insert(format!("{} (earlier)", q.a), a.overall.clone());
    overall.insert(format!("{} (later)", q.b), b.overall.clone());
    cell_table(&mut s, "Overall", &overall);
    let _ = write!(
        s,
        "<h2>Changes per cell</h2><pre class=\"comparison\">{}</pre></main>",
        html(&aistr_report::render_comparison(&c))
    );
    layout("Compare", Some(&caller), &s, &[])
}
