//! The audit log: one JSON line per decision, appended (the file is opened append-only and each
//! line is one write), never rewritten. A line holds the request id, the client key's *name*, the
//! detectors that fired, the action and the latencies; the prompt and answer only with
//! `--log-content`. Headers are never logged, so neither a client key nor the upstream key can be.

use crate::screen::Fired;
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

/// One decision.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord {
    /// Seconds since the Unix epoch.
    pub ts: f64,
    /// The guard's id for the request (also sent back as `x-request-id`).
    pub request_id: String,
    /// The client key's name (`-` when unauthenticated).
    pub key_id: String,
    /// `/v1/chat/completions`, ...
    pub path: String,
    /// Whether the client asked for a stream.
    pub stream: bool,
    /// `allow`, `flag`, `redact`, `block`, `unauthorized`, `rejected` (bad request) or `upstream-error`.
    pub action: String,
    /// Where it was decided: `input`, `output` or `-`.
    pub stage: String,
    /// The detectors that fired or erred.
    pub detectors: Vec<Fired>,
    /// HTTP status returned to the client.
    pub status: u16,
    /// Total time in the guard, milliseconds.
    pub latency_ms: f64,
    /// Time the guard added on top of the upstream, milliseconds.
    pub added_ms: f64,
    /// The request's messages, only with `--log-content`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// The answer as upstream gave it, only with `--log-content`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
}

/// An append-only JSONL sink (or none).
#[derive(Debug, Default)]
pub struct AuditLog {
    file: Option<Mutex<std::fs::File>>,
    /// Whether prompts and answers are logged.
    pub log_content: bool,
}

impl AuditLog {
    /// Opens (creating) `path` for appending.
    pub fn open(path: &Path, log_content: bool) -> std::io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self {
            file: Some(Mutex::new(file)),
            log_content,
        })
    }

    /// Writes one record (a failed write is reported by tracing, never fatal to the request).
    pub fn write(&self, mut record: AuditRecord) {
        if !self.log_content {
            record.prompt = None;
            record.answer = None;
        }
        let Some(file) = &self.file else { return };
        let Ok(mut line) = serde_json::to_string(&record) else {
            return;
        };
        line.push('\n');
        let mut f = file.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Err(e) = f.write_all(line.as_bytes()) {
            tracing::error!("audit log write failed: {e}");
        }
    }
}
