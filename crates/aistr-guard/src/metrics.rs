//! `/metrics` in the Prometheus text format: requests by outcome, blocks per detector, and a
//! histogram of the latency the guard adds on top of the upstream.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds of the added-latency histogram, seconds.
pub const BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The counters.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<String, u64>>,
    blocks: Mutex<BTreeMap<String, u64>>,
    buckets: [AtomicU64; 15],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

fn bump(map: &Mutex<BTreeMap<String, u64>>, key: &str) {
    let mut m = map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    *m.entry(key.to_owned()).or_insert(0) += 1;
}

impl Metrics {
    /// Counts a request by its outcome (`allow`, `block`, ...).
    pub fn request(&self, outcome: &str) {
        bump(&self.requests, outcome);
    }

    /// Counts a block by a detector.
    pub fn block(&self, detector: &str) {
        bump(&self.blocks, detector);
    }

    /// Records the latency added to one request.
    pub fn added(&self, seconds: f64) {
        for (b, upper) in self.buckets.iter().zip(BUCKETS) {
            if seconds <= *upper {
                b.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "µs of a latency"
        )]
        self.sum_micros
            .fetch_add((seconds * 1e6).max(0.0) as u64, Ordering::Relaxed);
    }

    /// The exposition text.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP aistr_guard_requests_total Requests by outcome.\n");
        out.push_str("# TYPE aistr_guard_requests_total counter\n");
        for (k, v) in self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(out, "aistr_guard_requests_total{{outcome=\"{k}\"}} {v}");
        }
        out.push_str("# HELP aistr_guard_blocks_total Blocks by detector.\n");
        out.push_str("# TYPE aistr_guard_blocks_total counter\n");
        for (k, v) in self
            .blocks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(out, "aistr_guard_blocks_total{{detector=\"{k}\"}} {v}");
        }
        out.push_str("# HELP aistr_guard_added_latency_seconds Latency the guard adds to a request.\n");
        out.push_str("# TYPE aistr_guard_added_latency_seconds histogram\n");
        for (b, upper) in self.buckets.iter().zip(BUCKETS) {
            let _ = writeln!(
                out,
                "aistr_guard_added_latency_seconds_bucket{{le=\"{upper}\"}} {}",
                b.load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "aistr_guard_added_latency_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        #[expect(clippy::cast_precision_loss, reason = "a sum of microseconds")]
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "aistr_guard_added_latency_seconds_sum {sum}");
        let _ = writeln!(out, "aistr_guard_added_latency_seconds_count {count}");
        out
    }
}
