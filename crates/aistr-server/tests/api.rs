//! The API against a real journal and a real worker: authentication and roles, the audit log,
//! a walk over the OpenAPI description that calls every route, labels flowing into the report's
//! verdict sources, and the progress stream.

mod common;

use aistr_server::openapi::ROUTES;
use common::{Lab, Place};
use serde_json::{Value, json};

fn sqlite() -> Place {
    Place::Sqlite(tempfile::tempdir().unwrap())
}

#[tokio::test]
async fn every_route_refuses_a_caller_without_a_valid_token() {
    let lab = Lab::start(sqlite(), vec![String::new()]).await;
    for r in ROUTES {
        let path = r.path.replace("{id}", "r1").replace("{seq}", "0");
        for token in [None, Some("aistr_00"), Some("not a token at all")] {
            let resp = lab.call(r.method, &path, token, None).await;
            assert_eq!(resp.status(), 401, "{} {path} with {token:?}", r.method);
            assert!(resp.headers().contains_key("www-authenticate"));
        }
    }
    // A revoked token is no token.
    assert!(lab.journal.revoke_token("vic").await.unwrap());
    assert_eq!(
        lab.call("GET", "/api/v1/runs", Some(&lab.viewer), None)
            .await
            .status(),
        401
    );
    // Dashboard pages send the browser to the login page instead.
    let page = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(lab.url("/ui/runs"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 303);
    assert_eq!(page.headers()["location"], "/ui/login");
    // Only /healthz is open, and it says nothing but whether the journal answers.
    let health = lab.call("GET", "/healthz", None, None).await;
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok\n");
    // Every refused mutating call is in the audit log as anonymous.
    let mutating = ROUTES.iter().filter(|r| r.method != "GET").count();
    let log = lab.journal.audit_log(1000).await.unwrap();
    assert_eq!(
        log.iter()
            .filter(|a| a.actor == "anonymous" && a.status == 401)
            .count(),
        mutating * 3
    );
}

#[tokio::test]
async fn roles_limit_what_a_token_may_do_and_every_mutation_is_audited() {
    let lab = Lab::start(sqlite(), vec![String::new()]).await;
    // A viewer and a reviewer may not submit; an admin may.
    for t in [&lab.viewer, &lab.reviewer] {
        let r = lab.call("POST", "/api/v1/runs", Some(t), Some(&lab.spec())).await;
        assert_eq!(r.status(), 403);
    }
    let id = lab.finished_run("r1").await;
    let items: Vec<Value> = lab
        .call(
            "GET",
            &format!("/api/v1/runs/{id}/review?all=true"),
            Some(&lab.viewer),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(items.len(), 12, "every recorded verdict");
    let seq = items[0]["seq"].as_i64().unwrap();
    let label = json!({"label": "safe", "note": "checked by hand"});
    let path = format!("/api/v1/runs/{id}/review/{seq}");
    let viewer = lab.call("POST", &path, Some(&lab.viewer), Some(&label)).await;
    assert_eq!(viewer.status(), 403, "a viewer may not label");
    assert!(viewer.text().await.unwrap().contains("reviewer role"));
    let reviewer = lab.call("POST", &path, Some(&lab.reviewer), Some(&label)).await;
    assert_eq!(reviewer.status(), 200);
    // Bad labels and unknown attempts are said, not stored.
    let bad = lab
        .call(
            "POST",
            &path,
            Some(&lab.reviewer),
            Some(&json!({"label": "unscored"})),
        )
        .await;
    assert_eq!(bad.status(), 400);
    let missing = lab
        .call(
            "POST",
            &format!("/api/v1/runs/{id}/review/99999"),
            Some(&lab.reviewer),
            Some(&label),
        )
        .await;
    assert_eq!(missing.status(), 404);
    // A reviewer may not cancel; cancelling a finished run is a conflict.
    assert_eq!(
        lab.call(
            "POST",
            &format!("/api/v1/runs/{id}/cancel"),
            Some(&lab.reviewer),
            None
        )
        .await
        .status(),
        403
    );
    assert_eq!(
        lab.call(
            "POST",
            &format!("/api/v1/runs/{id}/cancel"),
            Some(&lab.admin),
            None
        )
        .await
        .status(),
        409
    );
    // Viewers cannot read the audit log; admins can, and it holds every mutating call above.
    assert_eq!(
        lab.call("GET", "/api/v1/audit", Some(&lab.viewer), None)
            .await
            .status(),
        403
    );
    let log: Vec<Value> = lab
        .call("GET", "/api/v1/audit", Some(&lab.admin), None)
        .await
        .json()
        .await
        .unwrap();
    let got: Vec<(String, String, i64)> = log
        .iter()
        .rev()
        .map(|a| {
            (
                a["actor"].as_str().unwrap().to_owned(),
                a["action"]
                    .as_str()
                    .unwrap()
                    .split(' ')
                    .next()
                    .unwrap()
                    .to_owned(),
                a["status"].as_i64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, String, i64)> = [
        ("vic", 403),
        ("rita", 403),
        ("admin", 201),
        ("vic", 403),
        ("rita", 200),
        ("rita", 400),
        ("rita", 404),
        ("rita", 403),
        ("admin", 409),
    ]
    .into_iter()
    .map(|(a, s)| (a.to_owned(), "POST".to_owned(), s))
    .collect();
    assert_eq!(got, want);
    let labelled = log.iter().find(|a| a["status"] == 200).unwrap();
    assert_eq!(labelled["subject"], format!("{id}:{seq}"));
    assert!(
        labelled["detail"].as_str().unwrap().ends_with("→ safe (human)"),
        "{labelled}"
    );
    // The label is in the report's verdict sources, and the attempt's source is human.
    let report: Value = lab
        .call(
            "GET",
            &format!("/api/v1/runs/{id}/report"),
            Some(&lab.viewer),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        report["verdict_sources"]["overall"]["human"], 1,
        "{}",
        report["verdict_sources"]
    );
}

/// Calls `route` as the walk does: path parameters from the lab, the documented example body.
async fn call_documented(
    lab: &Lab,
    method: &str,
    path: &str,
    op: &Value,
    id: &str,
    queued: &str,
    seq: i64,
) -> reqwest::Response {
    let id = if op["operationId"] == "cancelRun" {
        queued
    } else {
        id
    };
    let mut url = path.replace("{id}", id).replace("{seq}", &seq.to_string());
    let body = match op["operationId"].as_str().unwrap() {
        "submitRun" => Some(lab.spec()),
        "issueToken" => Some(json!({"name": "walker", "role": "viewer"})),
        _ => op["requestBody"]["content"]["application/json"]["example"]
            .as_object()
            .map(|o| Value::Object(o.clone())),
    };
    if op["operationId"] == "compareRuns" {
        url.push_str(&format!("?a={id}&b={id}"));
    }
    lab.call(&method.to_uppercase(), &url, Some(&lab.admin), body.as_ref())
        .await
}

async fn walk_the_openapi_description(place: Place) {
    let lab = Lab::start(place, vec![String::new()]).await;
    let id = lab.finished_run("walked").await;
    let queued = lab.submit("to-cancel").await;
    let seq = lab.journal.attempts(&id).await.unwrap()[0].planned.seq;
    let doc: Value = lab
        .call("GET", "/api/v1/openapi.json", Some(&lab.viewer), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut called = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let ok: u16 = op["responses"]
                .as_object()
                .unwrap()
                .keys()
                .filter_map(|k| k.parse().ok())
                .find(|s: &u16| *s < 300)
                .unwrap();
            let resp = call_documented(&lab, method, path, op, &id, &queued, seq).await;
            let status = resp.status().as_u16();
            let ctype = resp
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            let text = if op["operationId"] == "runEvents" {
                String::new()
            } else {
                resp.text().await.unwrap()
            };
            assert_eq!(status, ok, "{method} {path}: {text}");
            let produces = op["responses"][ok.to_string()]["content"]
                .as_object()
                .unwrap()
                .keys()
                .next()
                .unwrap();
            assert!(
                ctype.starts_with(produces.split(';').next().unwrap()),
                "{method} {path}: {ctype} vs {produces}"
            );
            called += 1;
        }
    }
    assert_eq!(called, ROUTES.len(), "the description lists every route");
    // The cancelled run is cancelled, and the journal's audit log has a row per mutating call.
    let run: Value = lab
        .call("GET", &format!("/api/v1/runs/{queued}"), Some(&lab.viewer), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(run["status"], "cancelled");
    assert_eq!(
        run["progress"]["planned"], 12,
        "nothing of a cancelled run was sent"
    );
    let posts = ROUTES.iter().filter(|r| r.method == "POST").count() + 2; // + the two setup submits
    assert_eq!(lab.journal.audit_log(100).await.unwrap().len(), posts);
}

#[tokio::test]
async fn a_walk_over_the_openapi_description_calls_every_route_sqlite() {
    walk_the_openapi_description(sqlite()).await;
}

#[tokio::test]
async fn a_walk_over_the_openapi_description_calls_every_route_postgres() {
    if let Some(pg) = aistr_test_support::PgCluster::start_or_skip() {
        walk_the_openapi_description(Place::Postgres(pg)).await;
    }
}

#[tokio::test]
async fn reports_come_in_every_format_and_bad_requests_are_named() {
    let lab = Lab::start(sqlite(), vec!["<script>alert(1)</script>".into()]).await;
    let id = lab.finished_run("fmt").await;
    for (format, ctype, needle) in [
        ("json", "application/json", "\"run_id\""),
        ("html", "text/html", "<!doctype html"),
        ("markdown", "text/markdown", "# "),
        ("sarif", "application/sarif+json", "\"runs\""),
        ("junit", "application/xml", "<testsuites"),
    ] {
        let r = lab
            .call(
                "GET",
                &format!("/api/v1/runs/{id}/report?format={format}"),
                Some(&lab.viewer),
                None,
            )
            .await;
        assert_eq!(r.status(), 200, "{format}");
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with(ctype));
        if format == "html" {
            assert!(r.headers().contains_key("content-security-policy"));
        }
        let body = r.text().await.unwrap();
        assert!(
            body.to_lowercase().contains(&needle.to_lowercase()),
            "{format}: {}",
            &body[..body.len().min(200)]
        );
    }
    let bad = lab
        .call(
            "GET",
            &format!("/api/v1/runs/{id}/report?format=pdf"),
            Some(&lab.viewer),
            None,
        )
        .await;
    assert_eq!(bad.status(), 400);
    assert_eq!(
        lab.call("GET", "/api/v1/runs/nope", Some(&lab.viewer), None)
            .await
            .status(),
        404
    );
    let broken = lab
        .http
        .post(lab.url("/api/v1/runs"))
        .bearer_auth(&lab.admin)
        .body("{\"version\": 5,\n \"target\": 3}")
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), 400);
    let msg = broken.text().await.unwrap();
    assert!(msg.contains("line 2"), "{msg}");
    // Progress of a finished run: one progress event, then the end.
    let events = lab
        .call(
            "GET",
            &format!("/api/v1/runs/{id}/events"),
            Some(&lab.viewer),
            None,
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        events.contains("event: progress") && events.contains("\"recorded\":12"),
        "{events}"
    );
    assert!(
        events.trim_end().ends_with("event: end\ndata:") || events.contains("event: end"),
        "{events}"
    );
    // Metrics are behind a token and count requests by route template.
    let m = lab
        .call("GET", "/metrics", Some(&lab.viewer), None)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        m.contains("aistr_attempts{run_status=\"finished\",status=\"done\"} 12"),
        "{m}"
    );
    assert!(
        m.contains("route=\"/api/v1/runs/{id}/report\",status=\"200\"} 5"),
        "{m}"
    );
}
