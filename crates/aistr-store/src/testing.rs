//! Fixtures of the store's tests: journals on both backends, planned attempts and results.

use aistr_core::{
    AttemptResult, ChatRequest, Intent, Label, Level, Message, NewRun, PlannedAttempt, Probe, Verdict,
};
use aistr_test_require::PgCluster;

/// Where a test's journal lives: an SQLite file or a throwaway PostgreSQL cluster. Every test
/// runs on both, so the two backends keep the same promises.
pub(crate) enum Place {
    Sqlite(tempfile::TempDir),
    Postgres(PgCluster),
}

impl Place {
    pub(crate) fn sqlite() -> Option<Self> {
        Some(Self::Sqlite(tempfile::tempdir().unwrap()))
    }
    pub(crate) fn postgres() -> Option<Self> {
        PgCluster::start_or_skip().map(Self::Postgres)
    }
    /// What `Journal::open` is given: a file path or a URL.
    pub(crate) fn db(&self) -> std::path::PathBuf {
        match self {
            Self::Sqlite(dir) => dir.path().join("j.db"),
            Self::Postgres(pg) => pg.url().into(),
        }
    }
}

/// `#[tokio::test]`s running `$body(place)` once on SQLite and once on PostgreSQL.
macro_rules! on_both {
    ($body:ident) => {
        mod $body {
            #[tokio::test]
            async fn sqlite() {
                super::$body($crate::testing::Place::sqlite().unwrap()).await;
            }
            #[tokio::test]
            async fn postgres() {
                if let Some(place) = $crate::testing::Place::postgres() {
                    super::$body(place).await;
                }
            }
        }
    };
}
pub(crate) use on_both;

pub(crate) fn planned(seq: i64) -> PlannedAttempt {
    PlannedAttempt {
        seq,
        probe: Probe {
            id: format!("d/{seq}"),
            dataset: "d".into(),
            prompt: "p".into(),
            category: "content.illegal".into(),
            language: "en".into(),
            source: "s".into(),
            license: "MIT".into(),
            intent: Intent::Harmful,
        },
        level: Level::L1,
        method: "plain".into(),
        chain: vec![],
        request: ChatRequest {
            messages: vec![Message::user("p")],
            max_tokens: 8,
            temperature: 0.0,
            seed: Some(1),
            tools: Vec::new(),
        },
        canary: None,
        decoders: vec![],
    }
}

pub(crate) fn result(seq: i64, label: Label) -> AttemptResult {
    AttemptResult {
        seq,
        response_text: Some("x".into()),
        response_raw: Some("{}".into()),
        finish_reason: Some("stop".into()),
        error_kind: None,
        error_message: None,
        tries: 1,
        prompt_tokens: 3,
        completion_tokens: 1,
        started_at: crate::now_rfc3339(),
        latency_ms: 5,
        verdict: Verdict::new(label, "r", 0.5, "j"),
        conversation: None,
    }
}

pub(crate) fn run(id: &str) -> NewRun {
    NewRun {
        id: id.into(),
        config_json: "{}".into(),
        target_json: "{}".into(),
        datasets_json: "[]".into(),
        judge: "j".into(),
    }
}
