//! The API's one route table and the OpenAPI 3.1 description rendered from it. The router is
//! built from the same table ([`crate::router`] looks each operation up by id), so a route cannot
//! exist undescribed or be described without existing; the route-walking test calls each one.

use crate::auth::Role;
use serde_json::{Value, json};

/// One API operation.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// `GET`, `POST`, …
    pub method: &'static str,
    /// The path, with `{param}`s as axum and OpenAPI both write them.
    pub path: &'static str,
    /// Stable operation id (what the router dispatches on).
    pub op: &'static str,
    /// The least role that may call it.
    pub role: Role,
    /// What it does.
    pub summary: &'static str,
    /// The status of success.
    pub ok: u16,
    /// The query parameters it reads: (name, description).
    pub query: &'static [(&'static str, &'static str)],
    /// An example request body, if it takes one.
    pub body: Option<&'static str>,
    /// The content type of its success answer.
    pub produces: &'static str,
}

const JSON: &str = "application/json";

/// Every API route.
pub const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/api/v1/me",
        op: "whoami",
        role: Role::Viewer,
        summary: "The calling token's name and role.",
        ok: 200,
        query: &[],
        body: None,
        produces: JSON,
    },
    Route {
        method: "GET",
        path: "/api/v1/openapi.json",
        op: "openapi",
        role: Role::Viewer,
        summary: "This description.",
        ok: 200,
        query: &[],
        body: None,
        produces: JSON,
    },
    Route {
        method: "GET",
        path: "/api/v1/runs",
        op: "listRuns",
        role: Role::Viewer,
        summary: "Every run with its status and progress, newest first.",
        ok: 200,
        query: &[],
        body: None,
        produces: JSON,
    },
    Route {
        method: "POST",
        path: "/api/v1/runs",
        op: "submitRun",
        role: Role::Admin,
        summary: "Plans a ScanSpec (the JSON body) as a new run and queues it for `aistr worker`s. Admin only: a spec names the files and endpoints the workers will read and call.",
        ok: 201,
        query: &[("run_id", "the new run's id (default: a fresh one)")],
        body: Some(
            r#"{"version":5,"target":{"kind":"openai","base_url":"http://127.0.0.1:8000/v1","model":"m"},"datasets":[{"id":"jbb-harmful","limit":10}],"generation":{"max_tokens":64,"temperature":0.0}}"#,
        ),
        produces: JSON,
    },
    Route {
        method: "GET",
        path: "/api/v1/runs/{id}",
        op: "getRun",
        role: Role::Viewer,
        summary: "One run: status, progress and its stored spec.",
        ok: 200,
        query: &[],
        body: None,
        produces: JSON,
    },
    Route {
        method: "GET",
        path: "/api/v1/runs/{id}/report",
        op: "getReport",
        role: Role::Viewer,
        summary: "The run's report, computed from the journal, in any format.",
        ok: 200,
        query: &[
            ("format", "json (default), html, markdown, sarif or junit"),
            (
                "redact",
                "true: planted canaries and detected PII replaced by their kind",
            ),
        ],
        body: None,
        produces: JSON,
    },
    Route {
        method: "GET",
        path: "/api/v1/runs/{id}/events",
        op: "runEvents",
        role: Role::Viewer,
        summary: "Server-sent events: a `progress` event each second while the run goes on, then `end`.",
        ok: 200,
        query: &[],
        body: None,
        produces: "text/event-stream",
    },
    Route {
        method: "POST",
        path: "/api/v1/runs/{id}/cancel",
        op: "cancelRun",
        role: Role::Admin,
        summary: "Cancels a run that has not finished: workers claim nothing more of it.",
        ok: 200,
        query: &[],
        body: None,
        produces: JSON,
    },
    Route {
        method: "GET",
        path: "/api/v1/runs/{id}/review",
        op: "reviewQueue",
        role: Role::Viewer,
        summary: "The run's verdicts that need a human (flagged by the judge and not labelled yet).",
        ok: 200,
        query: &[("all", "true: every recorded verdict, labelled or not")],
        body: None,
        produces: JSON,
    },
    Route {
        method: "POST",
        path: "/api/v1/runs/{id}/review/{seq}",
        op: "postLabel",
        role: Role::Reviewer,
        summary: "A human label (risky, declined or safe) for one recorded attempt; the machine verdict is kept.",
        ok: 200,
        query: &[],
        body: Some(r#"{"label":"safe","note":"a recipe, not instructions"}"#),
        produces: JSON,
    },
    Route {
        method: "GET",
        path: "/api/v1/compare",
        op: "compareRuns",
        role: Role::Viewer,
        summary: "What changed from run `a` to run `b`, per cell, with a significance test.",
        ok: 200,
        query: &[
            ("a", "the earlier run"),
            ("b", "the later run"),
            ("alpha", "significance level (default 0.05)"),
        ],
        body: None,
        produces: JSON,
    },
    Route {
        method: "GET",
        path: "/api/v1/tokens",
        op: "listTokens",
        role: Role::Admin,
        summary: "Every token's name, role and dates (never a secret).",
        ok: 200,
        query: &[],
        body: None,
        produces: JSON,
    },
    Route {
        method: "POST",
        path: "/api/v1/tokens",
        op: "issueToken",
        role: Role::Admin,
        summary: "Issues a token; its secret is in this answer only.",
        ok: 201,
        query: &[],
        body: Some(r#"{"name":"reviewer-ana","role":"reviewer"}"#),
        produces: JSON,
    },
    Route {
        method: "GET",
        path: "/api/v1/audit",
        op: "auditLog",
        role: Role::Admin,
        summary: "The newest audit rows, newest first.",
        ok: 200,
        query: &[("limit", "how many (default 200, at most 10000)")],
        body: None,
        produces: JSON,
    },
    Route {
        method: "GET",
        path: "/metrics",
        op: "metrics",
        role: Role::Viewer,
        summary: "Prometheus text: runs and attempts by status, requests by route and status.",
        ok: 200,
        query: &[],
        body: None,
        produces: "text/plain; version=0.0.4",
    },
];

/// The path parameters of `path`, in order.
#[must_use]
pub fn path_params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

/// The OpenAPI 3.1 description of [`ROUTES`].
#[must_use]
pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for r in ROUTES {
        let mut params: Vec<Value> = path_params(r.path)
            .into_iter()
            .map(|p| json!({"name": p, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        params.extend(r.query.iter().map(|(name, description)| {
            json!({"name": name, "in": "query", "required": false, "description": description,
                   "schema": {"type": "string"}})
        }));
        let mut op = json!({
            "operationId": r.op,
            "summary": r.summary,
            "x-aistr-role": r.role.as_str(),
            "parameters": params,
            "responses": {
                r.ok.to_string(): {"description": "success", "content": {r.produces: {}}},
                "401": {"description": "no valid token"},
                "403": {"description": format!("the token's role is below {}", r.role.as_str())},
            },
        });
        if let Some(example) = r.body {
            let example: Value = serde_json::from_str(example).unwrap_or(Value::Null);
            op["requestBody"] = json!({
                "required": true,
                "content": {JSON: {"schema": {"type": "object"}, "example": example}},
            });
        }
        let entry = paths
            .entry(r.path.to_owned())
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        entry[r.method.to_ascii_lowercase()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "aistr server",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Runs, reports, comparisons and the human review queue of a team's aistr journal. Every route needs `Authorization: Bearer <token>` (`aistr token create`); `/healthz` alone is open.",
        },
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": paths,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn operation_ids_and_routes_are_unique_and_examples_parse() {
        let ops: BTreeSet<_> = ROUTES.iter().map(|r| r.op).collect();
        assert_eq!(ops.len(), ROUTES.len());
        let routes: BTreeSet<_> = ROUTES.iter().map(|r| (r.method, r.path)).collect();
        assert_eq!(routes.len(), ROUTES.len());
        for r in ROUTES {
            if let Some(b) = r.body {
                serde_json::from_str::<Value>(b).unwrap_or_else(|e| panic!("{}: {e}", r.op));
            }
        }
        let spec = ROUTES
            .iter()
            .find(|r| r.op == "submitRun")
            .and_then(|r| r.body)
            .unwrap();
        serde_json::from_str::<aistr_session::ScanSpec>(spec).expect("the submit example is a ScanSpec");
        let doc = document();
        assert_eq!(doc["paths"]["/api/v1/runs"]["post"]["operationId"], "submitRun");
        assert_eq!(
            doc["paths"]["/api/v1/runs/{id}/review/{seq}"]["post"]["parameters"][1]["name"],
            "seq"
        );
    }
}
