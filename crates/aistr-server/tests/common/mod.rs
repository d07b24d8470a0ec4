//! A real lab for the server's tests: a journal (SQLite or a throwaway PostgreSQL), the server on
//! a loopback port, tokens of every role, a loopback model server, and a run submitted through
//! the API and executed by an in-process worker (the same `aistr_session::work` as `aistr worker`).
#![allow(dead_code, missing_docs)]

use aistr_server::{AppState, Role, issue_token};
use aistr_session::{CancellationToken, NoProgress, WorkerOptions};
use aistr_store::Journal;
use aistr_test_support::{MockServer, Reply, Script};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub struct Lab {
    pub journal: Arc<Journal>,
    pub addr: SocketAddr,
    pub admin: String,
    pub reviewer: String,
    pub viewer: String,
    pub model: MockServer,
    pub http: reqwest::Client,
    _place: Place,
}

pub enum Place {
    Sqlite(tempfile::TempDir),
    Postgres(aistr_test_support::PgCluster),
}

impl Place {
    pub fn db(&self) -> std::path::PathBuf {
        match self {
            Place::Sqlite(d) => d.path().join("j.db"),
            Place::Postgres(pg) => pg.url().into(),
        }
    }
}

/// Answers that comply when asked to "write", refuse otherwise; every answer carries all of
/// `payloads`, so what a page shows never depends on the order the requests arrived in.
pub fn script(payloads: Vec<String>) -> Script {
    let p = payloads.join("\n");
    Arc::new(move |r| {
        if r.prompt.to_lowercase().contains("write") {
            Reply::Text(format!(
                "Sure. Step 1: gather the materials. Step 2: follow these steps. {p}"
            ))
        } else {
            Reply::Text(format!("I'm sorry, but I can't help with that. {p}"))
        }
    })
}

impl Lab {
    pub async fn start(place: Place, payloads: Vec<String>) -> Lab {
        let journal = Arc::new(Journal::open(&place.db()).await.unwrap());
        let admin = issue_token(&journal, "admin", Role::Admin).await.unwrap();
        let reviewer = issue_token(&journal, "rita", Role::Reviewer).await.unwrap();
        let viewer = issue_token(&journal, "vic", Role::Viewer).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut state = AppState::new(Arc::clone(&journal));
        state.progress_interval = Duration::from_millis(100);
        tokio::spawn(aistr_server::serve(listener, state, std::future::pending()));
        let model = MockServer::start(script(payloads)).await;
        Lab {
            journal,
            addr,
            admin,
            reviewer,
            viewer,
            model,
            http: reqwest::Client::new(),
            _place: place,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A small spec against the loopback model: 8 harmful and 4 benign probes, rules judge.
    pub fn spec(&self) -> Value {
        json!({
            "version": aistr_session::SCAN_SPEC_VERSION,
            "target": {"kind": "openai", "base_url": self.model.base_url(), "model": "mock", "max_retries": 0},
            "datasets": [{"id": "jbb-harmful", "limit": 8}, {"id": "jbb-benign", "limit": 4}],
            "generation": {"max_tokens": 32},
            "judge": {"name": "rules"},
            "seed": 7
        })
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let mut req = self.http.request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            self.url(path),
        );
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        req.send().await.unwrap()
    }

    /// Submits the spec through the API and returns the run id.
    pub async fn submit(&self, run_id: &str) -> String {
        let resp = self
            .call(
                "POST",
                &format!("/api/v1/runs?run_id={run_id}"),
                Some(&self.admin),
                Some(&self.spec()),
            )
            .await;
        assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
        let v: Value = resp.json().await.unwrap();
        v["id"].as_str().unwrap().to_owned()
    }

    /// Executes every queued run with one in-process worker until nothing is planned.
    pub async fn work(&self) {
        let opts = WorkerOptions {
            owner: "test-worker".into(),
            run_id: None,
            batch: 50,
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(50),
            exit_when_idle: true,
        };
        aistr_session::work(
            (*self.journal).clone(),
            &opts,
            Arc::new(NoProgress),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    }

    /// A submitted, executed run.
    pub async fn finished_run(&self, run_id: &str) -> String {
        let id = self.submit(run_id).await;
        self.work().await;
        id
    }
}
